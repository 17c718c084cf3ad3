"""Templates rendered at run time with plain values: jinja2 and a small function of the output.

What: a template the ``templates`` rule could not write as an f-string (a filter, a macro, a
``{% if %}``) is rendered at run time. Where it reads only names a flow computes in plain Python
(``ds``, ``ts``, ``logical_date``, ``params``, ``dag_run``, ``yesterday_ds`` ..., the DAG's
``user_defined_macros``, Airflow's date filters, ``macros.ds_add``/``ds_format``/``datetime``/
``timedelta``, ``dag.dag_id``, and in a generated task ``task.task_id``, ``ti.task_id`` /
``ti.dag_id`` and ``task_instance_key_str``), the call ``render_template('{{ ds | ds_nodash }}', ctx,
upstream={})`` becomes ``render_jinja('{{ ds | ds_nodash }}', ds=ctx.ds)``: ``plain_context`` then turns ``ctx.ds`` into
the flow's plain value, and ``render_jinja`` is a function of the output file (jinja2, a Prefect
dependency, with ``StrictUndefined`` as Airflow's default and Airflow's filters and macros the
templates use), so the file imports neither ``airflow_interop.runtime`` nor ``airflow``.

A template whose text is known only at run time (``bash_command=COMMAND``, ``env={"HOST":
Variable.get("host")}``, ``env=ENV``: Airflow renders a templated field's value whatever it holds)
is rendered by the same function with every plain value: ``render_jinja(text,
logical_date=ctx.logical_date, params=ctx.params, dag_run=ctx.dag_run, dag=..., task=...)``; the
function derives the other date values from the logical date as the flow does, renders a dict's
values and a list's, tuple's or set's items, and returns any other value that is not a string as it
is (Airflow's templater). Its IX301 note says what it cannot: text reading ``ti``, ``var``,
``conn`` or another ``macros.*`` fails (UndefinedError) where Airflow rendered it.

A pull ``{{ ti.xcom_pull(task_ids='t'[, key='k']) }}`` (literal strings) in a template rendered
at run time reads the upstream value the flow already passes: the pull is written as a name,
``render_jinja('{{ xcom_t | upper }}', xcom_t=t_future.result())``; under native rendering the
value alone is Jinja's native value, as Airflow's (a dict as it is, text that is a literal read
by ``literal_eval``).

Why: the values are computed the same way (``airflow_interop.runtime.RunContext.template_context``);
jinja2 renders the same text with the same names.

Safety: a template that reads anything else (``ti``, ``var``, ``conn``, ``task`` in the flow,
``conf`` (Airflow's configuration, not ``dag_run.conf``), another ``macros.*``), that includes
or imports templates, that cannot be parsed, or a DAG with ``jinja_environment_kwargs``,
``template_undefined`` or ``user_defined_filters``: every template of the DAG keeps ``airflow_interop.runtime.render_template`` (and its IX301 finding), as before.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import jinja2
import jinja2.meta
import jinja2.nodes
import libcst as cst

from converters.model import Dag
from converters.names import CONTEXT_KEYS
from converters.plan import Plan
from converters.walk import Pruned

#: template name -> the run-context source the flow passes for it (``plain_context`` makes it
#: plain): the context keys with a plain value, Airflow 1.10/2.x's neighbours of the date, and
#: ``dag_run`` (the run object as the runtime shows a manual run)
CONTEXT = {
    **{key: source for key, source in CONTEXT_KEYS.items() if source.startswith("ctx.") and key not in ("dag_run", "macros", "var")},
    **{key: f"ctx.{key}" for key in ("yesterday_ds", "tomorrow_ds", "yesterday_ds_nodash", "tomorrow_ds_nodash")},
    "dag_run": "ctx.dag_run",
}
#: Airflow's template filters (``airflow.sdk.definitions._internal.templater.FILTERS``)
FILTERS = {
    "ds": "value.strftime('%Y-%m-%d')",
    "ds_nodash": "value.strftime('%Y%m%d')",
    "ts": "value.isoformat()",
    "ts_nodash": "value.strftime('%Y%m%dT%H%M%S')",
    "ts_nodash_with_tz": "value.isoformat().replace('-', '').replace(':', '')",
}
#: the ``macros.*`` written in plain Python (``airflow.sdk.execution_time.macros``): functions of
#: the output file (``{name}``), or the classes; ``{dt}``/``{td}``: the module's names of
#: ``datetime.datetime`` and ``datetime.timedelta``
MACROS = {
    "ds_add": (
        "def {name}(ds, days):\n"
        '    """Airflow\'s ``macros.ds_add``: ``days`` added to a ``YYYY-MM-DD`` date."""\n'
        "    if not days:\n"
        "        return str(ds)\n"
        "    return ({dt}.strptime(str(ds), '%Y-%m-%d') + {td}(days=days)).strftime('%Y-%m-%d')\n"
    ),
    "ds_format": (
        "def {name}(ds, input_format, output_format):\n"
        '    """Airflow\'s ``macros.ds_format``: a date string in another format."""\n'
        "    return {dt}.strptime(str(ds), input_format).strftime(output_format)\n"
    ),
    "datetime": None,
    "timedelta": None,
}
#: Jinja's own globals (``range``, ``dict`` ...), in every environment
_GLOBALS = frozenset(jinja2.Environment().globals)
#: the DAG settings of Airflow's Jinja environment that the plain rendering does not follow
_ENV_SETTINGS = ("jinja_environment_kwargs", "template_undefined", "user_defined_filters")
_PARSER = jinja2.Environment()
_PARSER.filters.update(dict.fromkeys(FILTERS, str))  # known to the compiler (only names are read)


class Needs:
    """What the plain templates and macros of one file use (kept on the plan across its DAGs)."""

    def __init__(self) -> None:
        self.filters: set[str] = set()
        #: ``macros.*`` used anywhere (f-strings too), and those a rendered template reads
        self.macros: set[str] = set()
        self.render_macros: set[str] = set()
        self.native = False
        self.render = False  # a template is rendered by the helper
        self.types = False  # ``types.SimpleNamespace`` for ``dag`` / ``task``
        #: a template known only at run time: the helper renders a dict's values and a list's
        #: items and returns any other value that is not a string as it is (as Airflow does)
        self.values = False
        #: the output's names: ``render_jinja`` and each macro (``ds_add`` ..., the classes' sources)
        self.names: dict[str, str] = {}

    def copy(self) -> Needs:
        out = Needs()
        out.filters, out.macros, out.render_macros = set(self.filters), set(self.macros), set(self.render_macros)
        out.native, out.render, out.names, out.types = self.native, self.render, dict(self.names), self.types
        out.values = self.values
        return out


def template_names(template: str, extras: set[str], needs: Needs, static: dict[str, str] | None = None) -> list[str] | None:
    """The run-context names ``template`` reads (in the order of :data:`CONTEXT`, then those of
    ``static``: names whose value the converter knows, ``dag``, ``task`` ...), the filters and
    macros it uses added to ``needs``; None when it reads anything else (see module doc)."""
    static = static or {}
    try:
        tree = _PARSER.parse(template)
        names = jinja2.meta.find_undeclared_variables(tree)  # compiles: an unknown filter fails
    except jinja2.TemplateError:
        return None
    if any(True for _ in tree.find_all((jinja2.nodes.Include, jinja2.nodes.Import, jinja2.nodes.FromImport, jinja2.nodes.Extends))):
        return None
    if names - set(CONTEXT) - set(static) - extras - _GLOBALS - {"macros"}:
        return None
    for ti in set(_TI) & names - extras:  # the task instance: its task and DAG ids only
        reads = sum(1 for n in tree.find_all(jinja2.nodes.Name) if n.name == ti and n.ctx == "load")
        known = [g for g in tree.find_all(jinja2.nodes.Getattr) if isinstance(g.node, jinja2.nodes.Name) and g.node.name == ti]
        if reads != len(known) or any(g.attr not in _TI_ATTRS for g in known):
            return None
    reads = [n.name for n in tree.find_all(jinja2.nodes.Name) if n.ctx == "load"]
    attrs = [(g.node.name, g.attr) for g in tree.find_all(jinja2.nodes.Getattr) if isinstance(g.node, jinja2.nodes.Name)]
    if "macros" in names and "macros" not in extras:
        used = [attr for name, attr in attrs if name == "macros"]
        if len(used) != reads.count("macros") or set(used) - set(MACROS):
            return None  # read whole, by item, or a macro with no plain version
        needs.macros |= set(used)
        needs.render_macros |= set(used)
    needs.filters |= {f.name for f in tree.find_all(jinja2.nodes.Filter) if f.name in FILTERS}
    return [n for n in (*CONTEXT, *static) if n in names and n not in extras]


def _datetime_names(plan: Plan, module_binds) -> tuple[str, str] | None:  # noqa: ANN001
    """The module's sources for ``datetime.datetime`` and ``datetime.timedelta`` (imported when
    the module binds neither name), or None when a name is taken by something else."""
    imports = plan.model.imports
    if imports.get("datetime") == "datetime":
        return "datetime.datetime", "datetime.timedelta"
    for cls in ("datetime", "timedelta"):
        if imports.get(cls) != f"datetime.{cls}" and module_binds(plan, cls):
            return None
    return "datetime", "timedelta"


def render_helper(needs: Needs) -> str:
    """The output file's ``render_jinja`` for what its templates use."""
    native = ", native=False" if needs.native else ""
    if needs.values:  # the date values derived from the logical date (``_run_values``)
        native += ", logical_date=None"
    env = "(jinja2.nativetypes.NativeEnvironment if native else jinja2.Environment)" if needs.native else "jinja2.Environment"
    lines = [
        f"def {needs.names['render']}(template{native}, **values):",
        '    """Render an Airflow Jinja template with the run\'s values, as Airflow does (an undefined name fails)."""',
    ]
    if needs.values:
        again = f"{needs.names['render']}({{}}{', native' if needs.native else ''}, logical_date=logical_date, **values)"
        lines += [
            "    if isinstance(template, dict):  # Airflow renders a dict's values, a collection's items",
            f"        return {{key: {again.format('value')} for key, value in template.items()}}",
            "    if isinstance(template, (list, tuple, set)):",
            f"        return type(template)({again.format('item')} for item in template)",
            "    if not isinstance(template, str):",
            "        return template  # any other value as it is",
        ]
        lines += _run_values()
    lines += [
        f"    env = {env}(undefined=jinja2.StrictUndefined)",
    ]
    if needs.filters:
        lines.append("    env.filters.update(")
        lines += [f"        {f}=lambda value: None if value is None else {FILTERS[f]}," for f in FILTERS if f in needs.filters]
        lines.append("    )")
    if not needs.render_macros:
        lines.append("    return env.from_string(template).render(**values)")
        return "\n".join(lines) + "\n"
    lines.append("    macros = {")
    lines += [f"        {m!r}: {needs.names[m]}," for m in MACROS if m in needs.render_macros]
    lines.append("    }")
    lines.append("    return env.from_string(template).render(**values, macros=macros)")
    return "\n".join(lines) + "\n"


def _run_values() -> list[str]:
    """The helper's lines deriving every date value of the template context from the logical
    date it is given (a template known only at run time may read any), as the flow computes them
    (``plain_context.VALUES``: a manual run, its data interval at the logical date)."""
    from converters.plain_context import VALUES  # plain_context applies this module

    lines = [
        "    if logical_date is not None:  # the run's date values, derived as the flow derives them",
        "        values = {",
    ]
    for name in CONTEXT:
        source = VALUES.get(CONTEXT[name].removeprefix("ctx."))
        if name not in ("logical_date", "dag_run") and isinstance(source, str) and "logical_date" in source:
            lines.append(f"            {name!r}: {source},")
    lines += [
        "            **values,",
        "            'logical_date': logical_date,",
        "        }",
    ]
    return lines


class _Calls(Pruned, cst.CSTTransformer):
    """``render_template('t', ctx, upstream={}[, native=True][, macro=fn])`` ->
    ``render_jinja('t'[, native=True], ds=ctx.ds, ..., macro=fn)``; ``ctx.macros.ds_add`` ->
    ``ds_add`` (a function of the output); ``failed`` when a call or macro cannot."""

    def __init__(self, needs: Needs, dag_id: str, names: Callable[[str], str | None]) -> None:
        self.needs = needs
        self.names = names  # the output's name of ``render`` / a macro (None: none can be given)
        self.failed = False
        self.dag_id = dag_id
        self.tasks: list[str | None] = []  # the task id of each generated function entered

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.tasks.append(_task_id(node))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.tasks.pop()
        return updated

    def _static(self) -> dict[str, str]:
        """The names of the template context whose values are known here: ``dag`` (the DAG's
        id), and in a task ``task`` and ``task_instance_key_str`` (as the runtime gives them)."""
        out = {"dag": f"types.SimpleNamespace(dag_id={self.dag_id!r})"}
        task_id = self.tasks[-1] if self.tasks else None
        if task_id is not None:
            out["task"] = f"types.SimpleNamespace(task_id={task_id!r}, dag_id={self.dag_id!r})"
            for ti in _TI:  # read only as ``ti.task_id`` / ``ti.dag_id`` (``template_names``)
                out[ti] = out["task"]
            out["task_instance_key_str"] = f"{self.dag_id + '__' + task_id + '__'!r} + ctx.ds_nodash"
        return out

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        base = updated.value
        if isinstance(base, cst.Attribute) and isinstance(base.value, cst.Name) and base.value.value == "ctx" and base.attr.value == "macros":
            if updated.attr.value not in MACROS:
                self.failed = True
                return updated
            self.needs.macros.add(updated.attr.value)
            name = self.names(updated.attr.value)
            if name is None:
                self.failed = True
                return updated
            return _source_node(name)
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not (isinstance(updated.func, cst.Name) and updated.func.value == "render_template"):
            return updated
        args = list(updated.args)
        if (
            len(args) >= 3 and isinstance(args[0].value, cst.Name) and args[0].keyword is None
            and isinstance(args[1].value, cst.Name) and args[1].value.value == "ctx" and _upstream_of(args[2:]) == "xcoms"
        ):
            # a template known only at run time (a Variable's value, a name, a call's result):
            # rendered with every plain value, as Airflow renders it with its whole context
            return self._run_time_text(updated, args)
        if (
            len(args) >= 3 and isinstance(args[0].value, cst.Name) and args[0].keyword is None
            and isinstance(args[1].value, cst.Name) and args[1].value.value == "ctx" and _upstream_of(args[2:]) == "none"
        ):
            # a template built from values known at run time, whose own text has no Jinja
            # (``converters.bash``): rendered with no values, a Jinja expression in them fails
            self.needs.render = True
            native = [a for a in args[2:] if a.keyword is not None and a.keyword.value == "native"]
            self.needs.native |= bool(native)
            new_args = [args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
            if native:
                new_args = [args[0], native[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
            return updated.with_changes(func=cst.Name(self.names("render")), args=new_args)
        if len(args) < 2 or not isinstance(args[0].value, cst.SimpleString) or args[0].keyword is not None:
            self.failed = True
            return updated
        if args[1].keyword is not None or not (isinstance(args[1].value, cst.Name) and args[1].value.value == "ctx"):
            self.failed = True
            return updated
        native: list[cst.Arg] = []
        extras: list[cst.Arg] = []
        upstream: dict[str, cst.BaseExpression] | None = None
        for arg in args[2:]:
            key = arg.keyword.value if arg.keyword is not None else None
            if key == "upstream" and isinstance(arg.value, cst.Dict):
                upstream = _upstream_values(arg.value)
                if upstream is None:
                    self.failed = True
                    return updated
                continue
            if key == "native":
                native.append(arg)
                self.needs.native = True
            elif key is not None and key not in ("upstream", "pushed", "template"):
                extras.append(arg)
            else:
                self.failed = True
                return updated
        template = args[0].value.evaluated_value
        if not isinstance(template, str):
            self.failed = True
            return updated
        template_node = args[0].value
        if upstream:  # ``{{ ti.xcom_pull(task_ids='t') }}``: the value the flow passes, by a name
            pulled = _pulled(template, upstream)
            if pulled is None:
                self.failed = True
                return updated
            template, pulls = pulled
            template_node = cst.SimpleString(repr(template))
            extras = [*extras, *(cst.Arg(keyword=cst.Name(n), value=v, equal=_EQ) for n, v in pulls.items())]
        static = self._static()
        names = template_names(template, {a.keyword.value for a in extras if a.keyword is not None}, self.needs, static)
        if names is None:
            self.failed = True
            return updated
        self.needs.render = True
        self.needs.types |= any(n in ("dag", "task", *_TI) for n in names)
        sources = {**CONTEXT, **static}
        values = [cst.Arg(keyword=cst.Name(n), value=_source_node(sources[n]), equal=_EQ) for n in names]
        first = args[0].with_changes(value=template_node)
        return updated.with_changes(func=cst.Name(self.names("render")), args=_commas([first, *native, *values, *extras]))

    def _run_time_text(self, updated: cst.Call, args: list[cst.Arg]) -> cst.Call:
        """``render_template(text, ctx, upstream=upstream_xcoms[, native=True][, macro=fn])`` ->
        ``render_jinja(text[, native=True], ds=ctx.ds, ..., macro=fn)`` with every plain value,
        filter and macro (the text is not known here: it may read any of them)."""
        self.needs.render = self.needs.values = self.needs.types = True
        self.needs.filters |= set(FILTERS)
        self.needs.macros |= set(MACROS)
        self.needs.render_macros |= set(MACROS)
        native = [a for a in args[2:] if a.keyword is not None and a.keyword.value == "native"]
        self.needs.native |= bool(native)
        extras = [a for a in args[2:] if a.keyword is not None and a.keyword.value not in ("upstream", "native")]
        taken = {a.keyword.value for a in extras if a.keyword is not None}
        # the date values are derived by the helper from the logical date (``RUN_VALUES``)
        sources = {**{n: CONTEXT[n] for n in ("logical_date", "params", "dag_run")}, **self._static()}
        for name in _TI:
            sources.pop(name, None)
        values = [cst.Arg(keyword=cst.Name(n), value=_source_node(src), equal=_EQ) for n, src in sources.items() if n not in taken]
        return updated.with_changes(func=cst.Name(self.names("render")), args=_commas([args[0], *native, *values, *extras]))


#: ``ti.xcom_pull(...)`` with arguments of no parentheses (each checked as Jinja below)
_PULL = re.compile(r"\b(?:ti|task_instance)\s*\.\s*xcom_pull\s*\([^()]*\)")
_TI = ("ti", "task_instance")
#: the task instance's attributes a template may read as plain values (known in a task)
_TI_ATTRS = frozenset({"task_id", "dag_id"})


def _upstream_values(node: cst.Dict) -> dict[str, cst.BaseExpression] | None:
    """``upstream={'t': {'return_value': v}, 'u': w}`` -> task id -> its XComs' source (a dict
    literal of one task's XComs, or a dict of several); None for any other shape."""
    out: dict[str, cst.BaseExpression] = {}
    for el in node.elements:
        if not isinstance(el, cst.DictElement) or not isinstance(el.key, cst.SimpleString):
            return None
        key = el.key.evaluated_value
        if not isinstance(key, str):
            return None
        out[key] = el.value
    return out


def _pull_args(text: str) -> tuple[str, str] | None:
    """``ti.xcom_pull('t', key='k')`` (literal strings, nothing else) -> ``('t', 'k')``."""
    try:
        tree = _PARSER.parse("{{ " + text + " }}")
    except jinja2.TemplateError:
        return None
    calls = list(tree.find_all(jinja2.nodes.Call))
    if len(calls) != 1 or calls[0].dyn_args is not None or calls[0].dyn_kwargs is not None or len(calls[0].args) > 1:
        return None
    call = calls[0]
    given = {"task_ids": call.args[0]} if call.args else {}
    for kw in call.kwargs:
        if kw.key not in ("task_ids", "key") or kw.key in given:
            return None
        given[kw.key] = kw.value
    values = {k: v.value for k, v in given.items() if isinstance(v, jinja2.nodes.Const) and isinstance(v.value, str)}
    if len(values) != len(given) or "task_ids" not in values:
        return None  # no task_ids: not the upstream (see the ``templates`` rule's IX201)
    return values["task_ids"], values.get("key", "return_value")


def _pulled(template: str, upstream: dict[str, cst.BaseExpression]) -> tuple[str, dict[str, cst.BaseExpression]] | None:
    """The template with each ``ti.xcom_pull(task_ids='t'[, key='k'])`` written as a name, and
    name -> the value's source: what ``airflow_interop.runtime.render_template`` answers from
    ``upstream`` (``t``'s XCom ``k``; None where ``t`` is not in it, as for a task the flow does
    not run); None when ``ti`` is read otherwise (a list of task ids, a computed key ...)."""
    try:
        tree = _PARSER.parse(template)
    except jinja2.TemplateError:
        return None
    taken = jinja2.meta.find_undeclared_variables(tree) | set(CONTEXT)
    matches = list(_PULL.finditer(template))
    reads = sum(1 for g in tree.find_all(jinja2.nodes.Getattr) if g.attr == "xcom_pull" and isinstance(g.node, jinja2.nodes.Name) and g.node.name in _TI)
    if not matches or len(matches) != reads:
        return None  # a pull the pattern does not see, or one inside a string: rendered by the runtime
    pulls: dict[str, cst.BaseExpression] = {}
    names: dict[tuple[str, str], str] = {}
    parts, end = [], 0
    for match in matches:
        args = _pull_args(match.group())
        if args is None:
            return None
        tid, key = args
        if args not in names:
            base = "xcom_" + re.sub(r"\W", "_", tid) + ("" if key == "return_value" else "_" + re.sub(r"\W", "_", key))
            name, n = base, 2
            while name in taken or name in pulls:
                name, n = f"{base}_{n}", n + 1
            names[args] = name
            pulls[name] = _xcom_source(upstream.get(tid), key)
        parts += [template[end:match.start()], names[args]]
        end = match.end()
    return "".join(parts) + template[end:], pulls


def _xcom_source(value: cst.BaseExpression | None, key: str) -> cst.BaseExpression:
    """The XCom ``key`` of an upstream entry: ``{'return_value': v}`` gives ``v`` (another key
    None), a dict of several XComs ``value.get(key)``; a task not in ``upstream``: None."""
    if value is None:
        return cst.Name("None")
    if isinstance(value, cst.Dict):
        for el in value.elements:
            if isinstance(el, cst.DictElement) and isinstance(el.key, cst.SimpleString) and el.key.evaluated_value == key:
                return el.value
        return cst.Name("None")
    return cst.Call(
        func=cst.Attribute(value=value, attr=cst.Name("get")),
        args=[cst.Arg(cst.SimpleString(repr(key)))],
    )


def _commas(args: list[cst.Arg]) -> list[cst.Arg]:
    """``args`` separated by ``, `` (none after the last)."""
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return [a.with_changes(comma=comma) for a in args[:-1]] + [args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)]


@functools.lru_cache(maxsize=None)
def _source_node(source: str) -> cst.BaseExpression:
    """The expression node of a value's source (``ctx.ds``: built, others parsed once; nodes are
    immutable, so one node serves every call)."""
    head, _, attr = source.partition(".")
    if head == "ctx" and attr.isidentifier():
        return cst.Attribute(value=cst.Name("ctx"), attr=cst.Name(attr))
    return cst.parse_expression(source)


def _upstream_of(args: list[cst.Arg]) -> str | None:
    """``upstream={}`` (``"none"``: the call renders without upstream XComs) or
    ``upstream=upstream_xcoms`` (``"xcoms"``: every upstream task's), with nothing else but
    ``native=`` and user macros (``name=fn``) after it; None otherwise."""
    upstream = [a for a in args if a.keyword is not None and a.keyword.value == "upstream"]
    if any(a.keyword is None or a.keyword.value in ("pushed", "template") for a in args) or len(upstream) != 1:
        return None
    value = upstream[0].value
    if isinstance(value, cst.Dict) and not value.elements:
        return "none" if all(a.keyword.value in ("upstream", "native") for a in args) else None  # type: ignore[union-attr]
    return "xcoms" if isinstance(value, cst.Name) and value.value == "upstream_xcoms" else None


def _task_id(node: cst.FunctionDef) -> str | None:
    """The task id of a generated ``@task`` function: its ``name=``, else its name (None: not a task)."""
    for deco in node.decorators:
        call = deco.decorator
        func = call.func if isinstance(call, cst.Call) else call
        if not (isinstance(func, cst.Name) and func.value == "task"):
            continue
        for arg in call.args if isinstance(call, cst.Call) else ():
            if arg.keyword is not None and arg.keyword.value == "name":
                value = arg.value.evaluated_value if isinstance(arg.value, cst.SimpleString) else None
                return value if isinstance(value, str) else None
        return node.name.value
    return None


_EQ = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def rewrite(plan: Plan, dag: Dag, generated: str, flow_text: str, module_binds) -> Rewritten | None:  # noqa: ANN001
    """The DAG's generated tasks and flow with every run-time ``render_template`` call written
    as ``render_jinja`` over context values and every ``ctx.macros.X`` as the output's own, and
    what the file's helpers must then have; None when one keeps the shim (see module docstring).
    The new calls are nodes of the parsed text (the modules are returned for ``plain_context``,
    which would parse the texts again), named as the output's names will be."""
    if any(key in dag.kwargs for key in _ENV_SETTINGS):
        return None
    needs = (plan.render_needs or Needs()).copy()
    dt = _datetime_names(plan, module_binds)

    def name_of(key: str) -> str | None:
        """The name the output will give ``render`` or a macro (reserved once the DAG converts)."""
        if key in needs.names:
            return needs.names[key]
        if key == "render":
            return _free_name(plan, "render_jinja")
        if dt is None:
            return None
        return {"datetime": dt[0], "timedelta": dt[1]}.get(key) or _free_name(plan, key)

    out = Rewritten(generated, flow_text, needs)
    for which, text in (("generated", generated), ("flow", flow_text)):
        if "render_template(" not in text and "ctx.macros." not in text:
            continue
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError:
            return None
        calls = _Calls(needs, dag.dag_id, name_of)
        new = module.visit(calls)
        if calls.failed:
            return None
        setattr(out, which, new.code)
        setattr(out, f"{which}_module", new)
    if needs.render and module_binds(plan, "jinja2") and plan.model.imports.get("jinja2") != "jinja2":
        return None
    if needs.types and module_binds(plan, "types") and plan.model.imports.get("types") != "types":
        return None
    if needs.macros:
        if dt is None:
            return None
        needs.names.setdefault("datetime", dt[0])
        needs.names.setdefault("timedelta", dt[1])
        for macro in sorted(needs.macros):
            if macro not in needs.names:
                needs.names[macro] = plan.unique(macro)
    if needs.render and "render" not in needs.names:
        needs.names["render"] = plan.unique("render_jinja")
    return out


class Rewritten:
    """What :func:`rewrite` gives: the new texts, their parsed modules (None: the text was not
    changed, not parsed) and the helpers' needs."""

    def __init__(self, generated: str, flow: str, needs: Needs) -> None:
        self.generated, self.flow, self.needs = generated, flow, needs
        self.generated_module: cst.Module | None = None
        self.flow_module: cst.Module | None = None


def _free_name(plan: Plan, base: str) -> str:
    """The name ``plan.unique(base)`` will give (not reserved: the DAG may keep the shim)."""
    name, n = base, 2
    while name in plan.taken_names:
        name, n = f"{base}_{n}", n + 1
    return name


def commit(plan: Plan, needs: Needs) -> None:
    """Record the file's helpers once the flow has taken plain values (a later DAG of the file
    may add to what they need)."""
    plan.render_needs = needs
    dt = needs.names.get("datetime", "datetime"), needs.names.get("timedelta", "timedelta")
    for macro in sorted(needs.macros):
        if MACROS[macro] is not None:
            plan.helpers[needs.names[macro]] = MACROS[macro].format(name=needs.names[macro], dt=dt[0], td=dt[1])
    if needs.macros and dt == ("datetime", "timedelta"):
        plan.need("datetime", "datetime", "timedelta")  # imported where read (and not imported already)
    if needs.types:
        plan.need("", "types")
    if needs.render:
        plan.helpers[needs.names["render"]] = render_helper(needs)
        plan.need("", "jinja2")
        if needs.native:
            plan.need("", "jinja2.nativetypes")
