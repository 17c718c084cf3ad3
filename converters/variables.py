"""Rule: Airflow Variables read and written as Prefect Variables where the code calls them.

``Variable.get("key", default_var=..., deserialize_json=...)`` in the code the flow file keeps
(module statements, task callables, helpers, statements of a DAG body kept in the flow) becomes
``prefect.variables.Variable.get("<prefect name>", default=...)``; ``Variable.set`` becomes
``Variable.set(name, value, overwrite=True)`` and ``Variable.delete`` ``Variable.unset``. The
Airflow import goes (it is scheduled: ``from prefect.variables import Variable`` is added when the
module reads ``Variable``); a ``from airflow... import Variable`` inside a function is rewritten in
place.

The pair with ``interop import-variables``: it stores each Airflow Variable under the Prefect name
``airflow_interop.runtime.variable_name`` gives (``MY_KEY`` -> ``my_key``), as the string Airflow stores; the
converted call reads that name, and decodes the string with ``json.loads`` where Airflow's
``deserialize_json=True`` did. A key known only at run time (an f-string, a name) is named by the
same rule inline, with the standard library (``re.sub('[^a-z0-9_-]', '_', key.lower())``).

What a file keeps on the runtime stand-in ``airflow_interop.runtime.Variable`` (IX113, one finding a file,
the uses listed): a use that is not a ``get``/``set``/``delete`` call (``setdefault``, ``update``,
``keys``, ``Variable`` passed on as an object or rebound), arguments not known statically
(``deserialize_json=flag``, ``**kwargs``, a non-literal default of a JSON read), an ``async
def`` in the file (Prefect's ``Variable.get`` returns a coroutine there), a module-level ``import
... as`` alias, and a use the flow copies into generated code (operator arguments,
``default_args``, the DAG's own arguments) unless Prefect's call is the very text (a literal key
that already is a Prefect name, no JSON decoding, ``default=`` as Airflow 3 spells it): such a
copy reads Prefect's ``Variable`` in the flow as it is.
The choice is one per file: a module never reads two different ``Variable`` objects.

A read without a default inside a ``try`` (its ``except`` may expect the exception Airflow raises
for a missing Variable) calls ``variable_or_key_error(name)``, a function of the output that reads
the Prefect Variable and raises ``KeyError`` where it is not set (Airflow 2's exception and the
stand-in's; Airflow 3 raises ``AirflowRuntimeError``, which an ``except Exception`` takes too).

Safety: elsewhere, ``Variable.get("key")`` without a default reads ``None`` for a missing Prefect
Variable where Airflow raised ``KeyError``: IX112 (one finding a file, the keys listed). A read with
``deserialize_json=True`` and no default still raises (``json.loads(None)``: ``TypeError``).
Airflow's ``AIRFLOW_VAR_<KEY>`` environment variables are not read by Prefect's ``Variable``: import
them with ``interop import-variables``. ``Variable.set(..., description=...)``: Prefect Variables
have no description, it is not written. A call with none of the shapes above is left as written.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import libcst as cst

from converters.names import AIRFLOW_VARIABLES, PREFECT_VARIABLE
from converters.rules import AIRFLOW_HEADER, Rule, converts
from converters.walk import Pruned, bound_names, children, dotted, iter_nodes, names_in
from airflow_interop.runtime import VARIABLE_NAME_PATTERN, variable_name

if TYPE_CHECKING:
    from converters.plan import Plan

__all__ = ["Survey", "rewrite_variables", "survey"]

ORDER = 85

_PREFECT_MODULE, _, _PREFECT_NAME = PREFECT_VARIABLE.rpartition(".")
#: a local name ``import ... Variable as V`` binds (a superset: checked against the imports)
_ALIAS = re.compile(r"\bVariable\s+as\s+(\w+)")
#: Airflow's ``Variable`` methods written with Prefect's (``delete`` -> ``unset``)
_METHODS = ("get", "set", "delete")


class PrefectVariables(Rule):
    """Airflow Variables read and written as Prefect Variables at the call site: the key as
    ``interop import-variables`` names it, ``default_var=`` as ``default=``, a JSON read decoded
    with ``json.loads``; ``set`` with ``overwrite=True``, ``delete`` as ``unset``. Where a file uses
    ``Variable`` in a way that has no static equivalent, the whole file keeps the runtime stand-in
    ``airflow_interop.runtime.Variable`` (IX113). Implemented in ``variables.py``.
    """

    CONSTRUCT = "`Variable.get(\"MY_KEY\", default_var=..., deserialize_json=True)`, `Variable.set`, `Variable.delete`"
    RESULT = "`json.loads(Variable.get(\"my_key\", default=...))` with `from prefect.variables import Variable`"
    CODES = ("IX112", "IX113")
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            from airflow.models import Variable
            BUCKET = Variable.get("DATA_BUCKET", default_var="raw")
            @task
            def load():
                return Variable.get("warehouse")
            with DAG("variables_read", schedule=None):
                load()
            """,
            "from prefect.variables import Variable",
            'BUCKET = Variable.get("data_bucket", default="raw")',
            'return Variable.get("warehouse")',
            title="the key as import-variables names it; `default_var` as `default`"),
        converts(AIRFLOW_HEADER + """
            from airflow.models import Variable
            @task
            def settings():
                return Variable.get("config", deserialize_json=True), Variable.get("extra", default_var={}, deserialize_json=True)
            with DAG("variables_json", schedule=None):
                settings()
            """,
            'json.loads(Variable.get("config")), json.loads(Variable.get("extra", default=\'{}\'))',
            "import json",
            title="a JSON read decoded; a literal default given back as Airflow gives it"),
        converts(AIRFLOW_HEADER + """
            @task
            def remember(name, value):
                from airflow.sdk import Variable
                Variable.set(f"seen_{name}", value, serialize_json=True)
                Variable.delete("Old.Key")
            with DAG("variables_write", schedule=None):
                remember("a", 1)
            """,
            "from prefect.variables import Variable",
            "Variable.set(re.sub('[^a-z0-9_-]', '_', f\"seen_{name}\".lower()), json.dumps(value, indent=2), overwrite=True)",
            'Variable.unset("old_key")',
            title="a key known at run time named by the same rule inline; set and delete"),
        converts(AIRFLOW_HEADER + """
            from airflow.models import Variable
            @task
            def ensure():
                return Variable.setdefault("mode", "full"), Variable.get("MY_KEY", default_var=1)
            with DAG("variables_standin", schedule=None):
                ensure()
            """,
            "from airflow_interop.runtime import Variable",
            'return Variable.setdefault("mode", "full"), Variable.get("MY_KEY", default_var=1)',
            title="no Prefect equivalent: the whole file keeps airflow_interop.runtime.Variable (IX113)"),
        converts(AIRFLOW_HEADER + """
            from airflow.sdk import Variable
            from airflow.providers.standard.operators.python import PythonOperator
            def load(bucket):
                return bucket
            with DAG("variables_copied", schedule=None):
                PythonOperator(task_id="load", python_callable=load, op_kwargs={"bucket": Variable.get("data_bucket", default="raw")})
            """,
            "from prefect.variables import Variable",
            'load.submit(bucket=Variable.get("data_bucket", default="raw"))',
            title="an operator argument the flow copies: Prefect's call is the same text"),
        converts(AIRFLOW_HEADER + """
            from airflow.models import Variable
            @task
            def mode():
                def shout(text):
                    return text.upper()
                try:
                    return shout(Variable.get("mode"))
                except KeyError:
                    return "full"
            with DAG("variables_try", schedule=None):
                mode()
            """,
            "def variable_or_key_error(name):",
            "value = prefect.variables.Variable.get(name)",
            "raise KeyError(f'Variable {name} does not exist')",
            'return shout(variable_or_key_error("mode"))',
            "import prefect.variables",
            title="a read whose `except` may expect Airflow's KeyError: a function of the output raises it"),
    ]


#: the output's function for a read without a default inside ``try``: Airflow raises for a
#: missing Variable there (``KeyError`` in Airflow 2, with this message, as the runtime stand-in;
#: Airflow 3's ``AirflowRuntimeError``), Prefect's ``Variable.get`` returns ``None``
RAISING_HELPER = (
    "def {name}(name):\n"
    '    """A Prefect Variable; KeyError where it is not set, as Airflow 2\'s `Variable.get` without a default."""\n'
    "    value = {module}.{cls}.get(name)\n"
    "    if value is None:\n"
    "        raise KeyError(f'Variable {{name}} does not exist')\n"
    "    return value\n"
)


# --------------------------------------------------------------------------- the file's survey
@dataclass
class Survey:
    """What one file does with Airflow's ``Variable``, read once from the original module."""

    #: every use can be written with Prefect's ``Variable``
    prefect: bool = False
    #: the module-level name bound to Airflow's ``Variable`` (``None``: imported in functions only)
    module_name: str | None = None
    #: (line, why) of each use that keeps the file on the stand-in
    reasons: list[tuple[int, str]] = field(default_factory=list)
    #: (line, key source) of each read without a default (``None`` when missing, not ``KeyError``)
    undefaulted: list[tuple[int, str]] = field(default_factory=list)
    #: every name bound to Airflow's ``Variable`` (module level and in functions)
    names: set[str] = field(default_factory=set)
    #: module constants bound once to a string (``KEY = "my_key"``; none rebound by ``global``)
    constants: dict[str, str] = field(default_factory=dict)
    #: the output's function that reads a Prefect Variable or raises ``KeyError`` as Airflow does
    #: (for reads without a default inside a ``try``), when one is needed
    raising: str | None = None


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _literal(node: cst.BaseExpression) -> tuple[bool, Any]:
    """(is a plain literal, its value)."""
    try:
        return True, ast.literal_eval(cst.Module(body=[]).code_for_node(node).strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


@dataclass
class _Call:
    """An Airflow ``Variable`` call in one of the shapes the rule writes with Prefect's."""

    method: str
    key: cst.BaseExpression
    value: cst.BaseExpression | None = None
    default: cst.BaseExpression | None = None
    has_default: bool = False
    as_json: bool = False


def _read_call(call: cst.Call, method: str) -> _Call | str:
    """The call's parts, or why it cannot be written with Prefect's ``Variable``."""
    if method not in _METHODS:
        return f"`Variable.{method}` has no Prefect equivalent"
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    if any(a.star for a in call.args):
        return f"`Variable.{method}(*...)`/`(**...)`: arguments not known statically"
    named = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    order = {"get": ("key", "default", "deserialize_json"), "set": ("key", "value", "description", "serialize_json"), "delete": ("key",)}[method]
    if method == "get" and "default_var" in named:
        if "default" in named:
            return "`Variable.get` with both `default` and `default_var`"
        named["default"] = named.pop("default_var")
    if len(positional) > len(order):
        return f"`Variable.{method}` with more arguments than Airflow takes"
    for name, value in zip(order, positional):
        if name in named:
            return f"`Variable.{method}` given `{name}` twice"
        named[name] = value
    unknown = sorted(set(named) - set(order))
    if unknown or "key" not in named:
        return f"`Variable.{method}` with {', '.join(f'`{u}=`' for u in unknown) or 'no key'}"
    flag_name = {"get": "deserialize_json", "set": "serialize_json"}.get(method)
    as_json = False
    if flag_name and flag_name in named:
        ok, flag = _literal(named[flag_name])
        if not ok or not isinstance(flag, bool):
            return f"`{flag_name}=` not a literal `True`/`False`"
        as_json = flag
    out = _Call(method, named["key"], value=named.get("value"), default=named.get("default"), as_json=as_json)
    out.has_default = out.default is not None
    if method == "get" and as_json and out.default is not None:
        ok, value = _literal(out.default)
        if not ok or _json_text(value) is None:
            return "a JSON read with a default that is not a JSON literal (Airflow returns it undecoded)"
    return out


def _json_text(value: Any) -> str | None:
    """``json.dumps(value)`` when decoding it gives ``value`` back exactly, else None."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return None
    return text if repr(json.loads(text)) == repr(value) else None


class _Uses:
    """Every use of Airflow's ``Variable`` in the original module, each checked (a plain walk of
    the statements that name it: libcst's visitor costs more than the rest of the rule)."""

    def __init__(self, plan: Plan, survey: Survey, module_names: set[str], copied: set[int], kept: set[int]) -> None:
        self.plan = plan
        self.survey = survey
        self.scopes: list[set[str]] = [set(module_names)]
        self.stack: list[cst.CSTNode] = []
        self.tries = 0  # depth of ``try`` bodies with an ``except``
        self.copied = copied  # id(top statement) -> its code is copied into generated text
        self.kept = kept  # ids of the nodes under the parts of those statements kept as they are
        self.needs: set[str] = set()  # stdlib modules the rewritten calls read
        self.seen = False
        self.raising = False  # a read without a default inside ``try``

    def walk(self, node: cst.CSTNode) -> None:
        self.stack.append(node)
        kind = type(node)
        if kind is cst.Name:
            if node.value in self.scopes[-1]:  # type: ignore[attr-defined]
                self._name(node)  # type: ignore[arg-type]
        elif kind is cst.FunctionDef:
            local = _bound_locally(node)  # type: ignore[arg-type]
            self.survey.names |= local
            self.scopes.append(self.scopes[-1] | local)
            for child in children(node):
                self.walk(child)
            self.scopes.pop()
        elif kind is cst.Try and node.handlers:  # type: ignore[attr-defined]
            for child in children(node):
                self.tries += child is node.body  # type: ignore[attr-defined]
                self.walk(child)
                self.tries -= child is node.body  # type: ignore[attr-defined]
        else:
            for child in children(node):
                self.walk(child)
        self.stack.pop()

    def _why(self, why: str) -> None:
        self.survey.reasons.append((self._line(), why))

    def _line(self) -> int:
        for node in reversed(self.stack):
            if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return self.plan.analyzer.positions.line(node) or 0
        return 0

    def _name(self, node: cst.Name) -> None:
        parent = self.stack[-2] if len(self.stack) > 1 else None
        if isinstance(parent, (cst.ImportAlias, cst.AsName)) or (isinstance(parent, cst.Attribute) and parent.attr is node):
            return
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            return
        call = self.stack[-3] if len(self.stack) > 2 else None
        if not (isinstance(parent, cst.Attribute) and parent.value is node and isinstance(call, cst.Call) and call.func is parent):
            self._why(f"`{node.value}` used other than as `{node.value}.get/set/delete(...)`")
            return
        method = parent.attr.value
        read = _read_call(call, method)
        if isinstance(read, str):
            self._why(read)
            return
        top = self.stack[1] if len(self.stack) > 1 else node
        if id(top) in self.copied and id(node) not in self.kept and not self._same_copied(node, call, read):
            self._why(f"`{node.value}.{method}` in code the flow copies into generated code (operator or DAG arguments, default_args)")
            return
        if read.method == "get" and not read.has_default and self.tries:
            self.raising = True  # read by the output's function that raises KeyError, as Airflow
        self.seen = True
        for module in ("re",) * (_string(read.key) is None) + ("json",) * read.as_json:
            self.needs.add(module)
            if any(isinstance(n, cst.FunctionDef) and module in _locals(n) for n in self.stack):
                self._why(f"`{module}` is a local name where `{node.value}.{method}` is called")
        if read.method == "get" and not read.has_default and not read.as_json and not self.tries:
            key = _string(read.key)
            self.survey.undefaulted.append((self._line(), repr(key) if key is not None else _code(read.key)))


    def _same_copied(self, node: cst.Name, call: cst.Call, read: _Call) -> bool:
        """A call the flow copies as text reads the same under Prefect's ``Variable``: the module's
        import (the copy lands in generated code that sees only module names), outside ``try``
        (no ``KeyError`` helper), and Prefect's call is the very text (a literal key that already is
        a Prefect name, ``default=`` as Airflow 3 spells it, no JSON decoding)."""
        if node.value not in self.scopes[0] or self.tries:
            return False
        return _code(_rewritten(call, read, {})) == _code(call)


def _bound_locally(func: cst.FunctionDef) -> set[str]:
    """Names a function's own ``from airflow... import Variable`` binds."""
    return {
        a.asname.name.value if a.asname else dotted(a.name) or ""  # type: ignore[union-attr]
        for imp in _local_imports(func) for a in imp.names  # type: ignore[union-attr]
        if _qualified(imp, a) in AIRFLOW_VARIABLES
    }


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node).strip()


def _qualified(imp: cst.ImportFrom, alias: cst.ImportAlias) -> str:
    return f"{dotted(imp.module) if imp.module is not None else ''}.{dotted(alias.name)}"


def _local_imports(func: cst.FunctionDef) -> list[cst.ImportFrom]:
    """``from airflow... import ...`` statements in a function's own body (nested blocks included,
    nested functions not)."""
    out = []
    for node in iter_nodes(func.body, prune=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        if (
            isinstance(node, cst.ImportFrom)
            and node.module is not None
            and not node.relative
            and not isinstance(node.names, cst.ImportStar)
            and (dotted(node.module) or "").split(".")[0] == "airflow"
        ):
            out.append(node)
    return out


def _locals(func: cst.FunctionDef) -> set[str]:
    """Names a function binds in its own scope (its parameters included)."""
    params = func.params
    out = {p.name.value for p in (*params.params, *params.posonly_params, *params.kwonly_params)}
    out |= {p.name.value for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)}
    for stmt in func.body.body if isinstance(func.body, cst.IndentedBlock) else ():
        out |= bound_names(stmt)
    return out


def _stdlib_clash(plan: Plan, module: str) -> bool:
    """``module`` (``json``, ``re``) is bound at module level to something else than the module."""
    if plan.model.imports.get(module, module) != module:
        return True
    return any(
        module in bound_names(stmt)
        for stmt in plan.model.module.body
        if not (isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, cst.Import) for s in stmt.body))
    )


def survey(plan: Plan) -> Survey:
    """The file's uses of Airflow's ``Variable``, read once a file (kept on the plan)."""
    if plan.variables is not None:
        return plan.variables
    result = plan.variables = Survey()
    if "Variable" not in plan.analyzer.source:
        return result
    model = plan.model
    module_names = {local for local, qn in model.imports.items() if qn in AIRFLOW_VARIABLES}
    result.module_name = _PREFECT_NAME if _PREFECT_NAME in module_names else None
    result.names = set(module_names)
    # the names that may stand for it: the module's, and any a function's import binds
    candidates = module_names | {"Variable"} | set(_ALIAS.findall(plan.analyzer.source))
    statements = [s for s in model.module.body if names_in(s) & candidates]
    # the DAG's statements are printed by the rules: only the parts of them kept as they are (a
    # DAG body's preamble) reach the output through ``plan.kept``; arguments are copied as text
    copied: set[int] = set()
    kept: set[int] = set()
    arguments: set[int] = set()
    for dag in model.dags:
        copied.add(id(dag.node))
        copied.update(id(s) for s in dag.owned_statements)
        for stmt in dag.preamble:
            if names_in(stmt) & candidates:
                kept.update(id(n) for n in iter_nodes(stmt))
        for value in (*dag.default_args.values(), *dag.kwargs.values()):
            if names_in(value) & candidates:
                arguments.update(id(n) for n in iter_nodes(value))
    kept -= arguments
    if arguments:
        copied.update(id(s) for s in statements if any(id(n) in arguments for n in iter_nodes(s)))
    uses = _Uses(plan, result, module_names, copied, kept)
    uses.stack.append(model.module)
    for stmt in statements:
        uses.walk(stmt)
    if not uses.seen and not result.reasons:
        return result
    for local in sorted(module_names - {_PREFECT_NAME}):
        result.reasons.append((0, f"`Variable` imported as `{local}` at module level"))
    if "async def" in plan.analyzer.source:
        result.reasons.append((0, "an `async def` in the file: Prefect's `Variable.get` returns a coroutine there"))
    for module in sorted(uses.needs):
        if _stdlib_clash(plan, module):
            result.reasons.append((0, f"`{module}` is bound to something else in the file"))
    if result.reasons:
        result.reasons = list(dict.fromkeys(result.reasons))
        listed = "; ".join(f"line {line}: {why}" if line else why for line, why in result.reasons[:4])
        more = f" (+{len(result.reasons) - 4} more)" if len(result.reasons) > 4 else ""
        plan.finding(
            "IX113", next((line for line, _ in result.reasons if line), 1),
            f"Airflow Variables kept on the runtime stand-in airflow_interop.runtime.Variable: {listed}{more}",
        )
        return result
    result.prefect = True
    source = plan.analyzer.source
    result.constants = {
        k: v for k, v in model.constants.items()
        if isinstance(v, str) and not re.search(rf"\bglobal\b[^\n]*\b{re.escape(k)}\b", source)
    }
    if result.module_name is not None:
        plan.need(_PREFECT_MODULE, _PREFECT_NAME)
    if uses.raising:
        result.raising = plan.unique("variable_or_key_error")
        plan.helpers[result.raising] = RAISING_HELPER.format(name=result.raising, module=_PREFECT_MODULE, cls=_PREFECT_NAME)
        plan.need("", _PREFECT_MODULE)
    for module in sorted(uses.needs):
        plan.need("", module)
    if result.undefaulted:
        keys = ", ".join(dict.fromkeys(k for _, k in result.undefaulted[:6]))
        more = ", ..." if len(result.undefaulted) > 6 else ""
        plan.finding(
            "IX112", result.undefaulted[0][0],
            f"Variable(s) {keys}{more} read without a default: a missing Prefect Variable reads as None "
            "where Airflow raised KeyError (import them with `interop import-variables`)",
        )
    return result


# --------------------------------------------------------------------------- the rewrite
def _key(node: cst.BaseExpression, constants: dict[str, str]) -> cst.BaseExpression:
    """The Prefect name of an Airflow key: a literal renamed now, a module constant that already
    is a Prefect name kept, any other value named at run time."""
    known = constants.get(node.value) if isinstance(node, cst.Name) else None
    if known is not None and variable_name(known) == known:
        return node
    value = _string(node)
    if value is not None:
        name = variable_name(value)
        if name == value:
            return node
        quote = node.quote if isinstance(node, cst.SimpleString) and not node.prefix and len(node.quote) == 1 else '"'
        return cst.SimpleString(f"{quote}{name}{quote}")
    simple = isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.FormattedString, cst.SimpleString))
    inner = _code(node) if simple and not node.lpar else f"({_code(node).strip('()') if node.lpar else _code(node)})"
    return cst.parse_expression(f"re.sub({VARIABLE_NAME_PATTERN!r}, '_', {inner}.lower())")


def _arg(value: cst.BaseExpression, keyword: str | None = None) -> cst.Arg:
    if keyword is None:
        return cst.Arg(value=value)
    return cst.Arg(
        value=value,
        keyword=cst.Name(keyword),
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )


def _rewritten(call: cst.Call, read: _Call, constants: dict[str, str]) -> cst.BaseExpression:
    func = call.func
    assert isinstance(func, cst.Attribute)
    key = _key(read.key, constants)
    if read.method == "delete":
        return call.with_changes(func=func.with_changes(attr=cst.Name("unset")), args=[_arg(key)])
    if read.method == "set":
        value = read.value
        assert value is not None
        if read.as_json:
            value = cst.parse_expression(f"json.dumps({_code(value)}, indent=2)")
        elif _string(value) is None and not isinstance(value, cst.FormattedString):  # Airflow stores str(value)
            ok, literal = _literal(value)
            value = cst.SimpleString(repr(str(literal))) if ok else cst.parse_expression(f"str({_code(value)})")
        return call.with_changes(args=[_arg(key), _arg(value), _arg(cst.Name("True"), "overwrite")])
    args = [_arg(key)]
    if read.default is not None:
        default = read.default
        if read.as_json:
            _, literal = _literal(default)
            default = cst.SimpleString(repr(_json_text(literal)))
        args.append(_arg(default, "default"))
    get = call.with_changes(args=args)
    if read.as_json:
        return cst.Call(func=cst.parse_expression("json.loads"), args=[cst.Arg(value=get)])
    return get


class _Rewrite(Pruned, cst.CSTTransformer):
    def targets(self, root: cst.CSTNode) -> set[int]:
        # what it changes: a call on a name that may stand for Variable (the module's, or one a
        # function's import binds), and a function's Airflow import line
        nodes = list(iter_nodes(root))
        names = set(self.scopes[0]) | {
            (n.asname.name.value if n.asname and isinstance(n.asname.name, cst.Name) else dotted(n.name) or "")
            for n in nodes if type(n) is cst.ImportAlias
        }
        return {
            id(n) for n in nodes
            if type(n) is cst.ImportFrom
            or (
                type(n) is cst.Call and type(n.func) is cst.Attribute
                and type(n.func.value) is cst.Name and n.func.value.value in names
            )
        }

    def __init__(self, module_name: str | None, constants: dict[str, str], raising: str | None = None) -> None:
        self.raising = raising
        self.in_try: set[int] = set()  # ids of the calls inside a ``try`` body with an ``except``
        self.entered: list[int] = []  # ids of the functions visited (scopes pushed)
        self.scopes: list[set[str]] = [{module_name} if module_name else set()]
        #: module constants a key may name, less the names a function being visited binds
        self.constants: list[dict[str, str]] = [constants]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.entered.append(id(node))
        self.scopes.append(self.scopes[-1] | _bound_locally(node))
        local = _locals(node)
        self.constants.append({k: v for k, v in self.constants[-1].items() if k not in local})

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        if self.entered and self.entered[-1] == id(original_node):  # a pruned function is left, never visited
            self.entered.pop()
            self.scopes.pop()
            self.constants.pop()
        return updated_node

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = updated_node.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in self.scopes[-1]):
            return updated_node
        read = _read_call(updated_node, func.attr.value)
        if isinstance(read, str):
            return updated_node
        if self.raising and read.method == "get" and not read.has_default and id(original_node) in self.in_try:
            get = cst.Call(func=cst.Name(self.raising), args=[_arg(_key(read.key, self.constants[-1]))])
            return cst.Call(func=cst.parse_expression("json.loads"), args=[cst.Arg(value=get)]) if read.as_json else get
        return _rewritten(updated_node, read, self.constants[-1])

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine]:
        if len(self.scopes) == 1:
            return updated_node  # module-level imports are scheduled by the emitter
        lines: list[cst.SimpleStatementLine] = []
        body: list[cst.BaseSmallStatement] = []
        for small in updated_node.body:
            if not (isinstance(small, cst.ImportFrom) and _airflow_from(small)):
                body.append(small)
                continue
            ours = [a for a in small.names if _qualified(small, a) in AIRFLOW_VARIABLES]  # type: ignore[union-attr]
            if not ours:
                body.append(small)
                continue
            rest = [a for a in small.names if a not in ours]  # type: ignore[union-attr]
            prefect = cst.ImportFrom(
                module=cst.parse_expression(_PREFECT_MODULE),  # type: ignore[arg-type]
                names=[cst.ImportAlias(cst.Name(_PREFECT_NAME), asname=_alias(a)) for a in ours],
            )
            if rest:
                body.append(small.with_changes(names=[*rest[:-1], rest[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]))
                lines.append(cst.SimpleStatementLine(body=[prefect]))
            else:
                body.append(prefect.with_changes(semicolon=small.semicolon))
        if not lines:
            return updated_node.with_changes(body=body)
        return cst.FlattenSentinel([updated_node.with_changes(body=body), *lines])


def _alias(alias: cst.ImportAlias) -> cst.AsName | None:
    local = alias.asname.name.value if alias.asname else dotted(alias.name)  # type: ignore[union-attr]
    return None if local == _PREFECT_NAME else cst.AsName(cst.Name(local or _PREFECT_NAME))


def _airflow_from(small: cst.ImportFrom) -> bool:
    """An Airflow ``from ... import`` of names (the form the rule rewrites)."""
    ok = small.module is not None and not small.relative and not isinstance(small.names, cst.ImportStar)
    return ok and (dotted(small.module) or "").split(".")[0] == "airflow"


def rewrite_variables(plan: Plan, node: cst.BaseStatement) -> cst.BaseStatement:
    """``node`` (a statement the output keeps) with its Airflow ``Variable`` calls written with
    Prefect's, when the file's survey allows it; else ``node`` itself."""
    found = survey(plan)
    if not found.prefect or not names_in(node) & found.names:
        return node
    rewrite = _Rewrite(found.module_name, found.constants, found.raising)
    if found.raising:
        rewrite.in_try = {id(n) for t in iter_nodes(node) if type(t) is cst.Try and t.handlers for n in iter_nodes(t.body)}
    return node.visit(rewrite)  # type: ignore[return-value]
