"""Rule: Jinja in templated fields -> f-strings (or rendering at run time).

What: ``"echo {{ ds }} {{ params.region }} {{ ti.xcom_pull(task_ids='t') }}"`` becomes
``f"echo {ctx.ds} {ctx.params['region']} {t_result}"`` where ``t_result`` is a task parameter
bound to the upstream task's result.

Why: a converted flow has no Jinja environment; values are passed in at run time.

Safety: only expressions whose meaning is certain are translated (context names, params,
``var``, ``macros``, ``dag_run.conf/run_id/logical_date``, Airflow's date filters on the run's
dates, literal ``xcom_pull``). Anything else (other filters, control blocks, unknown names)
keeps the original template, rendered at run time by ``airflow_interop.runtime.render_template`` with
Airflow's names (and the user macros it names). A DAG with ``render_template_as_native_obj=True``
is rendered as Jinja's native environment renders: only a template whose native value is
certain is translated, the rest is rendered with ``native=True``. Templates are parsed with
Jinja's own parser.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

import jinja2
import libcst as cst
from jinja2 import nodes

from converters.callables import DAG_RUN_VALUES
from converters.model import Dag
from converters.names import CONTEXT_KEYS
from converters.rules import AIRFLOW_HEADER, Rule, converts

_ENV = jinja2.Environment()


@dataclass
class Pull:
    """An ``xcom_pull`` found in a template."""

    task_ids: str | list[str]
    key: str


@dataclass
class Translation:
    """The result of translating one template string."""

    fstring: str | None  # python source of an f-string (or plain string) when translatable
    pulls: list[Pull] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # context names used
    has_jinja: bool = False
    pushes: bool = False  # the template calls ti.xcom_push
    native: bool = False  # the DAG renders native objects: a run-time rendering must too
    macros: dict[str, str] = field(default_factory=dict)  # user macros the template names -> source


class _NotTranslatable(Exception):
    pass


def has_jinja(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def find_pulls(text: str) -> list[Pull]:
    """Every literal ``ti.xcom_pull(...)`` / ``task_instance.xcom_pull(...)`` in a template."""
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return []
    out = []
    for call in tree.find_all(nodes.Call):
        pull = _as_pull(call)
        if pull is not None:
            out.append(pull)
    return out


def find_pushes(text: str) -> list[str | None]:
    """The key of every ``ti.xcom_push(...)`` / ``task_instance.xcom_push(...)`` in a template
    (``None`` for a key that is not a literal)."""
    if "xcom_push" not in text:
        return []
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return []
    keys: list[str | None] = []
    for call in tree.find_all(nodes.Call):
        func = call.node
        if isinstance(func, nodes.Getattr) and func.attr == "xcom_push":
            key = _const(call.args[0]) if call.args else None
            for kw in call.kwargs:
                if kw.key == "key":
                    key = _const(kw.value)
            keys.append(key if isinstance(key, str) else None)
    return keys


#: ``ti.xcom_pull(key='k')`` and nothing else (a key-only pull, as found by :func:`keyed_pulls`)
_KEYED_PULL = re.compile(r"""\b(?:ti|task_instance)\s*\.\s*xcom_pull\s*\(\s*key\s*=\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*\)""")


def keyed_pulls(text: str, resolve: Callable[[str], str | None]) -> tuple[str, list[str]]:
    """``text`` with each ``ti.xcom_pull(key='k')`` (no task ids) written as the Jinja
    expression ``resolve(k)`` gives (a pull with the task ids that answer it, or ``None``), and
    the keys of the key-only pulls left as they are (``resolve`` gave None, or a pull of another
    shape: ``'?'``)."""
    if "xcom_pull" not in text:
        return text, []
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return text, []
    keyless = [c for c in tree.find_all(nodes.Call) if _is_ti_call(c, "xcom_pull") and not c.args and all(kw.key != "task_ids" for kw in c.kwargs)]
    if not keyless:
        return text, []
    simple = [c for c in keyless if len(c.kwargs) == 1 and isinstance(c.kwargs[0].value, nodes.Const) and isinstance(c.kwargs[0].value.value, str)]
    left = ["?"] * (len(keyless) - len(simple))
    matches = list(_KEYED_PULL.finditer(text))
    if len(matches) != len(simple):  # one inside a string, or a shape the pattern does not see
        return text, left + [c.kwargs[0].value.value for c in simple]
    parts, end = [], 0
    for match in matches:
        key = match.group(1) if match.group(1) is not None else match.group(2)
        source = resolve(key)
        if source is None:
            left.append(key)
            source = match.group()
        parts += [text[end:match.start()], source]
        end = match.end()
    return "".join(parts) + text[end:], left


#: ``ti.xcom_push(...)`` with arguments of no parentheses (each read as Jinja by :func:`literal_pushes`)
_PUSH = re.compile(r"\b(?:ti|task_instance)\s*\.\s*xcom_push\s*\([^()]*\)")


def literal_pushes(text: str) -> tuple[str, list[tuple[str, object]]] | None:
    """``text`` with each ``{{ ti.xcom_push(key='k', value=<literal>) }}`` written as ``None``
    (what the call renders: it returns None) and the pushes in order; None when a push has a key
    or value that is not a literal (or a shape the pattern does not see). Airflow pushes while
    it renders the field, before the command runs."""
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return None
    calls = [c for c in tree.find_all(nodes.Call) if _is_ti_call(c, "xcom_push")]
    matches = list(_PUSH.finditer(text))
    if not calls or len(matches) != len(calls):
        return None
    pushes: list[tuple[str, object]] = []
    parts, end = [], 0
    for match in matches:
        (call,) = list(_ENV.parse("{{ " + match.group() + " }}").find_all(nodes.Call)) or [None]
        if call is None or call.dyn_args is not None or call.dyn_kwargs is not None or len(call.args) > 2:
            return None
        given = dict(zip(("key", "value"), call.args))
        for kw in call.kwargs:
            if kw.key not in ("key", "value") or kw.key in given:
                return None
            given[kw.key] = kw.value
        if set(given) != {"key", "value"} or not all(isinstance(v, nodes.Const) for v in given.values()):
            return None
        key, value = given["key"].value, given["value"].value  # type: ignore[attr-defined]
        if not isinstance(key, str) or not isinstance(value, (str, int, float, bool, type(None))):
            return None
        pushes.append((key, value))
        parts += [text[end:match.start()], "None"]
        end = match.end()
    return "".join(parts) + text[end:], pushes


def _is_ti_call(call: nodes.Call, method: str) -> bool:
    func = call.node
    return isinstance(func, nodes.Getattr) and func.attr == method and isinstance(func.node, nodes.Name) and func.node.name in ("ti", "task_instance")


def _as_pull(call: nodes.Call) -> Pull | None:
    func = call.node
    if not (
        isinstance(func, nodes.Getattr)
        and func.attr == "xcom_pull"
        and isinstance(func.node, nodes.Name)
        and func.node.name in ("ti", "task_instance")
    ):
        return None
    task_ids = None
    key = "return_value"
    if call.args:
        task_ids = _const(call.args[0])
    for kw in call.kwargs:
        if kw.key == "task_ids":
            task_ids = _const(kw.value)
        elif kw.key == "key":
            key = _const(kw.value)
    if isinstance(task_ids, (str, list)) and isinstance(key, str):
        return Pull(task_ids, key)
    return None


def _const(node: nodes.Node) -> object:
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.List) and all(isinstance(i, nodes.Const) for i in node.items):
        return [i.value for i in node.items]
    return None


def native_mode(dag: Dag) -> bool:
    """Does the DAG render its templates as native objects (``render_template_as_native_obj``)?
    A value that is not a literal ``False`` counts as native: only what renders the same either
    way is then translated."""
    node = dag.kwargs.get("render_template_as_native_obj")
    return node is not None and not (isinstance(node, cst.Name) and node.value in ("False", "None"))


def translate(
    text: str,
    pull_expr: Callable[[Pull], str | None],
    macros: Mapping[str, str] | None = None,
    native: bool = False,
    text_macros: frozenset[str] = frozenset(),
) -> Translation:
    """Translate a template into f-string source.

    Args:
        text: the template.
        pull_expr: gives the Python expression of an XCom pull's value, or None when the
            pull cannot be resolved (then the template is not translated).
        macros: the DAG's ``user_defined_macros``: macro name -> the module-level Python name
            it stands for (``{{ week_start(ds) }}`` -> ``week_start(ctx.ds)``).
        native: the DAG has ``render_template_as_native_obj=True``: Jinja's native concat
            (a single value as it is, else the joined text through ``ast.literal_eval``) is
            followed; a template whose native value is not certain is not translated.
        text_macros: user macros known to return text ``literal_eval`` leaves text (see
            :func:`text_macros`): one called alone renders the same under ``native``.
    """
    if not has_jinja(text):
        return Translation(fstring=None)
    token = _MACROS.set(MappingProxyType(dict(macros or {})))
    try:
        result = _translate(text, pull_expr)
    finally:
        _MACROS.reset(token)
    if native:
        result.native = True
        if result.fstring is not None:
            result.fstring = _native_source(text, result.fstring, text_macros)
    return result


def render_args(tr: Translation) -> str:
    """The keyword arguments a run-time ``render_template`` call needs beyond the context: the
    DAG's native rendering and the user macros the template names (``, native=True,
    week_of=week_of``)."""
    out = ", native=True" if tr.native else ""
    return out + "".join(f", {name}={source}" for name, source in tr.macros.items() if name.isidentifier())


#: ``strftime`` formats whose text ``ast.literal_eval`` never reads (``2024-01-15``: a leading
#: zero or a subtraction of ints, never a literal)
_TEXT_FORMATS = frozenset({"%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"})


def text_macros(module: cst.Module, macros: Mapping[str, str]) -> frozenset[str]:
    """The user macros (name -> ``fn`` or ``Class.fn`` of the module) whose function ends in a
    ``return`` and returns only ``<date>.strftime("%Y-%m-%d")`` (or with the time),
    ``.isoformat()`` or pendulum's ``.to_date_string()``: text that Jinja's native rendering
    leaves text."""
    out = set()
    for name, source in macros.items():
        fdef = _module_function(module, source)
        if fdef is not None and _returns_date_text(fdef):
            out.add(name)
    return frozenset(out)


def _module_function(module: cst.Module, source: str) -> cst.FunctionDef | None:
    parts = source.split(".")
    if len(parts) > 2:
        return None
    found: cst.FunctionDef | None = None
    for stmt in module.body:
        if len(parts) == 1 and isinstance(stmt, cst.FunctionDef) and stmt.name.value == parts[0]:
            found = stmt
        elif len(parts) == 2 and isinstance(stmt, cst.ClassDef) and stmt.name.value == parts[0]:
            found = None
            for inner in stmt.body.body:
                if isinstance(inner, cst.FunctionDef) and inner.name.value == parts[1]:
                    static = any(isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in inner.decorators)
                    found = inner if static else None
        elif len(parts) == 1 and isinstance(stmt, (cst.ClassDef, cst.SimpleStatementLine)) and parts[0] in _bound(stmt):
            found = None  # bound again after: not that function
    return found


def _bound(stmt: cst.CSTNode) -> set[str]:
    if isinstance(stmt, cst.ClassDef):
        return {stmt.name.value}
    out = set()
    for small in getattr(stmt, "body", ()):
        if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            out |= {t.value for t in targets if isinstance(t, cst.Name)}
        elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
            out |= {(a.asname.name if a.asname else a.name).value for a in small.names if isinstance((a.asname.name if a.asname else a.name), cst.Name)}
    return out


def _returns_date_text(fdef: cst.FunctionDef) -> bool:
    body = fdef.body.body if isinstance(fdef.body, cst.IndentedBlock) else ()
    last = body[-1] if body else None
    if not (isinstance(last, cst.SimpleStatementLine) and any(isinstance(s, cst.Return) for s in last.body)):
        return False  # may fall off the end: None
    returns: list[cst.Return] = []
    bad = False

    class Visit(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            returns.append(node)

        def visit_Yield(self, node: cst.Yield) -> None:
            nonlocal bad
            bad = True

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False  # a nested function's returns are its own

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    fdef.body.visit(Visit())
    if bad or not returns:
        return False
    for ret in returns:
        value = ret.value
        if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)):
            return False
        method, args = value.func.attr.value, value.args
        if method in _DATE_TEXT_METHODS and not args:
            continue
        if not (
            method == "strftime"
            and len(args) == 1
            and args[0].keyword is None
            and isinstance(args[0].value, cst.SimpleString)
            and args[0].value.evaluated_value in _TEXT_FORMATS
        ):
            return False
    return True


#: methods of dates whose text is ``2024-01-15`` or longer ISO forms (pendulum's
#: ``to_date_string``, ``isoformat``): never read by ``literal_eval``
_DATE_TEXT_METHODS = frozenset({"to_date_string", "to_datetime_string", "isoformat"})


#: context values that render as text Jinja's native concat leaves text (``ast.literal_eval``
#: fails on ``2024-01-15``, ``2024-01-15T00:00:00+00:00``, ``manual__...``); ``ds_nodash`` is
#: not among them: ``20240115`` is read as an int
_NATIVE_TEXT_NAMES = frozenset({"ds", "ts", "ts_nodash", "ts_nodash_with_tz", "run_id"})
#: context values that are dates: a template of that value alone renders the date object
_NATIVE_DATE_NAMES = frozenset({"logical_date", "execution_date", "data_interval_start", "data_interval_end"})
#: leading words after which text is never a Python literal, except these: literals, ``set()``,
#: and string prefixes (``r'...'``)
_LITERAL_WORDS = frozenset({"True", "False", "None", "set"})
_STRING_PREFIXES = frozenset({"r", "u", "b", "f", "br", "rb", "fr", "rf"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?=[^A-Za-z0-9_])")


def _native_source(text: str, fstring: str, text_macros: frozenset[str] = frozenset()) -> str | None:
    """The source of a translated template's value under Jinja's native rendering, or None.

    Text whose first characters are a word followed by a non-word character (``echo ...``),
    or spaces (an indented first line), is never a Python literal, so ``literal_eval`` leaves
    it text: the f-string is exact. A
    template of one date value alone renders the date itself; of ``ds`` / ``ts`` / ``run_id``
    alone, the text. Anything else (an XCom pull alone, ``{{ ds_nodash }}``, text starting
    with a digit or a bracket) may become a number, list or dict: rendered at run time.
    """
    tree = _ENV.parse(text)
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output) or not tree.body[0].nodes:
        return None
    chunks = tree.body[0].nodes
    first = chunks[0]
    if isinstance(first, nodes.TemplateData):
        data = first.data.lstrip("\n")  # blank lines first: Python reads the next line
        if data[:1] in (" ", "\t"):
            return fstring  # an indented first line: never parsed (IndentationError)
        match = _WORD.match(data)
        if match and match.group() not in _LITERAL_WORDS and match.group().lower() not in _STRING_PREFIXES:
            return fstring
        return None
    if len(chunks) == 1 and isinstance(first, nodes.Call) and isinstance(first.node, nodes.Name) and first.node.name in text_macros:
        return fstring  # a user macro that returns date text
    if len(chunks) == 1 and isinstance(first, nodes.Name):
        if first.name in _NATIVE_TEXT_NAMES:
            return fstring
        if first.name in _NATIVE_DATE_NAMES:
            return CONTEXT_KEYS[first.name]
    return None


#: the user-defined macros of the template being translated
_MACROS: ContextVar[Mapping[str, str]] = ContextVar("interop_user_macros", default=MappingProxyType({}))


def _translate(text: str, pull_expr: Callable[[Pull], str | None]) -> Translation:
    result = Translation(fstring=None, has_jinja=True)
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return result
    result.pulls = find_pulls(text)
    macros = _MACROS.get()
    result.macros = {n.name: macros[n.name] for n in tree.find_all(nodes.Name) if n.name in macros}
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Getattr) and call.node.attr == "xcom_push":
            result.pushes = True
    parts: list[str] = []
    try:
        for node in tree.body:
            if not isinstance(node, nodes.Output):
                raise _NotTranslatable
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    parts.append(_escape(child.data))
                else:
                    parts.append("{" + _expr(child, pull_expr, result.names) + "}")
    except _NotTranslatable:
        return result
    body = "".join(parts)
    quote = '"""' if "\n" in text else '"'
    result.fstring = f"f{quote}{body}{quote}"
    return result


def _escape(data: str) -> str:
    out = data.replace("\\", "\\\\").replace("{", "{{").replace("}", "}}")
    if "\n" in data:
        out = out.replace('"""', '\\"\\"\\"')
        if out.endswith('"'):
            out = out[:-1] + '\\"'
    else:
        out = out.replace('"', '\\"')
    return out


#: Airflow's date filters (``airflow.sdk.definitions._internal.templater.FILTERS``) as Python,
#: for a value that is never None (the run's dates)
_DATE_FILTERS = {
    "ds": ".strftime('%Y-%m-%d')",
    "ds_nodash": ".strftime('%Y%m%d')",
    "ts": ".isoformat()",
    "ts_nodash": ".strftime('%Y%m%dT%H%M%S')",
    "ts_nodash_with_tz": ".isoformat().replace('-', '').replace(':', '')",
}
#: ``dag_run``'s attributes that are plain values of the run (as ``RunContext.dag_run`` shows them)
_DAG_RUN_VALUES = DAG_RUN_VALUES


def _date_value(node: nodes.Node) -> str | None:
    """``data_interval_start`` / ``dag_run.logical_date`` ...: a date of the run, else None."""
    if isinstance(node, nodes.Name) and node.name in _NATIVE_DATE_NAMES:
        return node.name
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name == "dag_run":
        value = _DAG_RUN_VALUES.get(node.attr, "")
        return node.attr if value.startswith(("ctx.logical_date", "ctx.data_interval")) else None
    return None


def _expr(node: nodes.Node, pull_expr: Callable[[Pull], str | None], used: set[str]) -> str:  # noqa: C901
    if isinstance(node, nodes.Name):
        if node.name in CONTEXT_KEYS and node.name != "templates_dict":
            used.add(node.name)
            return CONTEXT_KEYS[node.name]
        if node.name in _MACROS.get():
            return _MACROS.get()[node.name]
        raise _NotTranslatable
    if isinstance(node, nodes.Const):
        value = node.value
        if isinstance(value, str) and ("'" in value or "\\" in value or "\n" in value or "{" in value or "}" in value):
            raise _NotTranslatable
        if isinstance(value, str):
            return "'" + value + "'"
        if isinstance(value, (int, float, bool)) or value is None:
            return repr(value)
        raise _NotTranslatable
    if isinstance(node, nodes.Filter):
        # Airflow's date filters on a date of the run: ``{{ data_interval_start | ds }}``
        if node.name not in _DATE_FILTERS or node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise _NotTranslatable
        if node.node is None or _date_value(node.node) is None:
            raise _NotTranslatable
        return _expr(node.node, pull_expr, used) + _DATE_FILTERS[node.name]
    if isinstance(node, nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "dag_run" and node.attr in _DAG_RUN_VALUES:
            used.add("dag_run")
            if node.attr == "conf":
                used.add("conf")  # the flow takes the run's conf
            return _DAG_RUN_VALUES[node.attr]
        base = _expr(node.node, pull_expr, used)
        if base.startswith(("ctx.params", "ctx.conf")):  # dicts: Jinja's getattr falls back to items
            if node.attr in ("get", "keys", "items", "values"):
                return f"{base}.{node.attr}"
            return f"{base}['{node.attr}']"
        return f"{base}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_expr(node.node, pull_expr, used)}[{_expr(node.arg, pull_expr, used)}]"
    if isinstance(node, nodes.Call):
        pull = _as_pull(node)
        if pull is not None:
            expr = pull_expr(pull)
            if expr is None:
                raise _NotTranslatable
            return expr
        if node.dyn_args or node.dyn_kwargs:
            raise _NotTranslatable
        func = node.node
        # only macros.* and dag_run.conf.get(...) calls are known to be pure
        allowed = (isinstance(func, nodes.Name) and func.name in _MACROS.get()) or (
            isinstance(func, nodes.Getattr)
            and (
                (isinstance(func.node, nodes.Name) and func.node.name == "macros")
                or (isinstance(func.node, nodes.Getattr) and func.node.attr == "conf" and func.attr == "get")
                or (isinstance(func.node, nodes.Getattr) and isinstance(func.node.node, nodes.Name) and func.node.node.name == "macros")
            )
        )
        if not allowed:
            raise _NotTranslatable
        args = [_expr(a, pull_expr, used) for a in node.args]
        args += [f"{kw.key}={_expr(kw.value, pull_expr, used)}" for kw in node.kwargs]
        return f"{_expr(func, pull_expr, used)}({', '.join(args)})"
    raise _NotTranslatable


class TemplateValues(Rule):
    """Jinja templates whose every expression is a known value of the run become Python over
    plain values, byte for byte what Airflow renders: context names, ``params``,
    ``dag_run.conf/run_id/logical_date``, Airflow's date filters on the run's dates
    (``{{ data_interval_start | ds }}``), a DAG's ``user_defined_macros`` and literal
    ``ti.xcom_pull`` (in the flow: the upstream's result, as Jinja's ``str()`` of it).

    A DAG with ``render_template_as_native_obj=True`` renders native objects: a template alone
    gives its value itself (``{{ ti.xcom_pull(...) }}`` a dict, ``{{ ds_nodash }}`` an int read
    by ``ast.literal_eval``). There only templates whose text ``literal_eval`` never reads
    (``echo {{ ds }}``, ``{{ ds }}``, a date alone, a macro returning ``strftime('%Y-%m-%d')``)
    become Python; the rest is rendered at run time with Jinja's native rendering
    (``render_jinja(..., native=True)`` of ``plain_templates`` where it reads plain values and
    literal pulls, else ``airflow_interop.runtime.render_template(..., native=True)``).
    Implemented in ``templates.py``; the callers are ``bash.py`` and ``python_operator.py``.
    """

    CONSTRUCT = "`{{ data_interval_start | ds }}`, `{{ ti.xcom_pull(task_ids='t') }}` in op_args, `render_template_as_native_obj=True`"
    RESULT = "f-strings over plain values; the upstream's `.result()` in the flow; native rendering where the value is not certain"
    CODES = ("IX301",)
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            with DAG("filters", schedule=None):
                BashOperator(task_id="t", bash_command="echo {{ data_interval_start | ds }} {{ dag_run.logical_date | ts_nodash }}")
            """,
            "def t(data_interval_start, logical_date):",
            "f\"echo {data_interval_start.strftime('%Y-%m-%d')} {logical_date.strftime('%Y%m%dT%H%M%S')}\"",
            "t.submit(data_interval_start=logical_date, logical_date=logical_date)",
            title="Airflow's date filters on the run's dates"),
        converts(AIRFLOW_HEADER + """
            from airflow.providers.standard.operators.python import PythonOperator
            def make():
                return {"rows": 3}
            def use(value):
                return value
            with DAG("flow_pull", schedule=None):
                made = PythonOperator(task_id="make", python_callable=make)
                made >> PythonOperator(task_id="use", python_callable=use, op_args=["{{ ti.xcom_pull(task_ids='make') }}"])
            """,
            "use.submit(f\"{make_future.result()}\", wait_for=[make_future])",
            title="a pull in an argument the flow evaluates: the upstream's result as text"),
        converts(AIRFLOW_HEADER + """
            from airflow.providers.standard.operators.python import PythonOperator
            def make():
                return {"rows": 3}
            def use(value, day):
                return value
            with DAG("native", schedule=None, render_template_as_native_obj=True):
                made = PythonOperator(task_id="make", python_callable=make)
                made >> PythonOperator(task_id="use", python_callable=use, op_args=["{{ ti.xcom_pull(task_ids='make') }}", "{{ ds_nodash }}"])
                BashOperator(task_id="echo", bash_command="echo {{ ds }}")
            """,
            "quote(render_jinja('{{ xcom_make }}', native=True, xcom_make=make_future.result()))",
            "render_jinja('{{ ds_nodash }}', native=True, ds_nodash=logical_date.strftime('%Y%m%d'))",
            "f\"echo {ds}\"",
            title="native rendering: values kept where the text could be read as a literal"),
    ]
