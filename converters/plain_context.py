"""Rule: the run context as plain values computed in the flow (no context object crosses a task).

What: where every use of the flow's ``ctx = airflow_context(logical_date, params=..., ...)`` is
one of its plain values (``ctx.ds``, ``ctx.params``, ``ctx.run_id`` ...), in the flow body or in
a generated task that takes ``ctx``, the flow computes those values itself with the standard
library and ``prefect.runtime``:

    logical_date = datetime.fromisoformat(str(logical_date or flow_run.scheduled_start_time))
    if logical_date.tzinfo is None:
        logical_date = logical_date.replace(tzinfo=timezone.utc)
    ds = logical_date.strftime('%Y-%m-%d')
    load_future = load.submit(ds=ds)

and each task takes the values it reads as parameters (``def load(ds): ... f"echo {ds}"``).

Why: a team leaving Airflow keeps plain Prefect code; ``airflow_context`` was this project's
runtime in every converted file.

Safety: the values are those ``airflow_interop.runtime.airflow_context`` derives (a manual run: the data
interval starts and ends at the logical date, ``run_id`` is ``manual__<logical date>``, a naive
date is UTC). A template rendered at run time that reads only such values is first written as
``render_jinja('...', ds=ctx.ds)`` over them (``plain_templates``). Where the context is used as
a whole (a template rendered at run time that reads ``ti``, ``var`` ..., an operator run through
the shim, ``macros`` or ``var`` read by a callable), or where a value's name is taken in the flow
or the task, the DAG keeps ``airflow_context`` unchanged. The whole ``dag_run`` is
``types.SimpleNamespace(...)`` of the same values (``airflow_interop.runtime.RunContext.dag_run``).
"""

from __future__ import annotations

import re

import libcst as cst

from converters import plain_templates
from converters.model import Dag
from converters.plan import Plan
from converters.walk import Pruned, children, iter_nodes

#: the run context's plain values: attribute -> the flow's source for it (``{D}``: the parsed date)
VALUES = {
    "logical_date": "logical_date",
    "data_interval_start": "logical_date",
    "data_interval_end": "logical_date",
    "ds": "logical_date.strftime('%Y-%m-%d')",
    "ds_nodash": "logical_date.strftime('%Y%m%d')",
    "ts": "logical_date.isoformat()",
    "ts_nodash": "logical_date.strftime('%Y%m%dT%H%M%S')",
    "ts_nodash_with_tz": "logical_date.isoformat().replace('-', '').replace(':', '')",
    "run_id": "f'manual__{logical_date.isoformat()}'",
    # a manual run's neighbours (Airflow 1.10/2.x names): the day before and after the date
    "yesterday_ds": "logical_date.fromordinal(logical_date.toordinal() - 1).strftime('%Y-%m-%d')",
    "tomorrow_ds": "logical_date.fromordinal(logical_date.toordinal() + 1).strftime('%Y-%m-%d')",
    "yesterday_ds_nodash": "logical_date.fromordinal(logical_date.toordinal() - 1).strftime('%Y%m%d')",
    "tomorrow_ds_nodash": "logical_date.fromordinal(logical_date.toordinal() + 1).strftime('%Y%m%d')",
    "params": None,  # the DAG's params dict, as the flow received them
    "conf": None,  # dag_run.conf
    "dag_id": None,  # the literal id
    # the run object as ``airflow_interop.runtime.RunContext.dag_run`` shows a manual run (CONF, DAG_ID: the flow's)
    "dag_run": (
        "types.SimpleNamespace(\n"
        "    conf=CONF, run_id=f'manual__{logical_date.isoformat()}', dag_id=DAG_ID, run_type='manual',\n"
        "    logical_date=logical_date, execution_date=logical_date, run_after=logical_date, external_trigger=True,\n"
        "    data_interval_start=logical_date, data_interval_end=logical_date, partition_key=None, partition_date=None,\n"
        ")"
    ),
}
#: values written where they are used rather than bound to a flow variable: a string made once
#: and passed to several tasks is one object, and Prefect links an object a task returned (a
#: dict holding ``ds``) to that task run, so a later task given the same object would wait for it
_INLINE = set(VALUES) - {"params", "dag_run"}


def _collect_names(node: cst.CSTNode, out: set[str]) -> None:
    """Every name read or bound under ``node``, except keyword names of calls, attribute names
    and the parameters of functions defined inside (local to them). A read-only walk (a libcst
    visitor rebuilds every node it passes)."""
    if isinstance(node, cst.Name):
        out.add(node.value)
        return
    if isinstance(node, cst.FunctionDef):
        out.add(node.name.value)
        for dec in node.decorators:
            _collect_names(dec, out)
        inner: set[str] = set()
        _collect_names(node.body, inner)
        ps = node.params
        own = {p.name.value for p in (*ps.params, *ps.kwonly_params, *ps.posonly_params)}
        for star in (ps.star_arg, ps.star_kwarg):
            if isinstance(star, cst.Param):
                own.add(star.name.value)
        out |= inner - own
        return
    if isinstance(node, (cst.Attribute, cst.Arg)):
        _collect_names(node.value, out)
        return
    for child in children(node):
        _collect_names(child, out)


def _names(node: cst.CSTNode) -> set[str]:
    out: set[str] = set()
    _collect_names(node, out)
    return out


def _ctx_attrs(node: cst.CSTNode, skip_ctx_args: bool = False) -> list[str] | None:
    """The context attributes ``node`` reads (``ctx.ds`` ...) in order, or None when ``ctx`` is
    read otherwise (whole, or an attribute with no plain value); ``ctx=`` arguments left out
    with ``skip_ctx_args`` (checked on their own)."""
    found: list[str] = []

    def walk(node: cst.CSTNode) -> bool:  # False: ``ctx`` is read whole
        if isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value == "ctx" and node.attr.value in VALUES:
                if node.attr.value not in found:
                    found.append(node.attr.value)
                return True
        elif isinstance(node, cst.Name):
            return node.value != "ctx"
        elif isinstance(node, cst.Param):
            return node.default is None or walk(node.default)
        elif isinstance(node, cst.Arg):
            if skip_ctx_args and node.keyword is not None and node.keyword.value == "ctx":
                return True
            return walk(node.value)
        return all([walk(child) for child in children(node)])  # every child: the order of ``found``

    return found if walk(node) else None


class _Replace(Pruned, cst.CSTTransformer):
    """``ctx.X`` -> the source given for ``X`` (its quotes the other kind inside an f-string)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.quotes: list[tuple[int, str]] = []  # (id, quote) of the f-strings entered

    def targets(self, root: cst.CSTNode) -> object:
        return {
            id(n) for n in iter_nodes(root)
            if isinstance(n, cst.Attribute) and isinstance(n.value, cst.Name) and n.value.value == "ctx" and n.attr.value in self.values
        }

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self.quotes.append((id(node), node.quote))

    def leave_FormattedString(self, original: cst.FormattedString, updated: cst.FormattedString) -> cst.FormattedString:
        if self.quotes and self.quotes[-1][0] == id(original):  # not entered (pruned): never pushed
            self.quotes.pop()
        return updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if isinstance(original.value, cst.Name) and original.value.value == "ctx" and original.attr.value in self.values:
            source = self.values[original.attr.value]
            if self.quotes and self.quotes[-1][1][0] == "'":
                source = source.replace("'", '"')
            if self.quotes and source.startswith("{"):
                source = f"({source})"  # ``{{`` would be a brace of the f-string's text
            return cst.parse_expression(source)
        return updated


def _called(func: cst.BaseExpression) -> str | None:
    """``load.submit`` / ``load.with_options(...).submit`` -> ``load``."""
    if not isinstance(func, cst.Attribute) or func.attr.value != "submit":
        return None
    base = func.value
    if isinstance(base, cst.Call) and isinstance(base.func, cst.Attribute) and base.func.attr.value == "with_options":
        base = base.func.value
    return base.value if isinstance(base, cst.Name) else None


def _override(value: cst.BaseExpression) -> dict[str, cst.BaseExpression] | None:
    """``airflow_context(ctx.logical_date, params=P, conf=ctx.conf, dag_id=ctx.dag_id,
    run_id=ctx.run_id)`` (task-level params): {"params": P}; None for any other shape."""
    if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "airflow_context"):
        return None
    out: dict[str, cst.BaseExpression] = {}
    for i, arg in enumerate(value.args):
        key = arg.keyword.value if arg.keyword is not None else ("logical_date" if i == 0 else "")
        same = isinstance(arg.value, cst.Attribute) and isinstance(arg.value.value, cst.Name) and arg.value.value.value == "ctx" and arg.value.attr.value == key
        if key == "params":
            out["params"] = arg.value
        elif not same:
            return None
    return out


def module_binds(plan: Plan, name: str) -> bool:
    """Does a statement of the DAG file bind ``name`` at module level (an import, an assignment,
    a def)? (``from datetime import date`` reads the module ``datetime`` but binds only ``date``.)"""
    if name in plan.model.imports:
        return True
    plan.bound_before(name, 0)  # builds the table of module-level bindings once
    return name in (plan._first_bound or {})


def _date_names(plan: Plan, taken: set[str]) -> tuple[str, str, dict[str, set[str]]] | None:
    """(``fromisoformat`` source, UTC source, imports needed), from what the module binds."""
    imports = plan.model.imports
    bound = {n for n in ("datetime", "timezone") if module_binds(plan, n)} | taken
    need: dict[str, set[str]] = {}
    if imports.get("datetime") == "datetime":
        return "datetime.datetime.fromisoformat", "datetime.timezone.utc", need
    if imports.get("datetime") == "datetime.datetime":
        parse = "datetime.fromisoformat"
    elif "datetime" not in bound:
        parse = "datetime.fromisoformat"
        need.setdefault("datetime", set()).add("datetime")
    else:
        return None
    if imports.get("timezone") == "datetime.timezone":
        return parse, "timezone.utc", need
    if "timezone" in bound:
        return None
    need.setdefault("datetime", set()).add("timezone")
    return parse, "timezone.utc", need


def apply(plan: Plan, dag: Dag, generated: str, flow_text: str) -> tuple[str, str]:
    """The DAG's generated tasks and flow with the run context as plain values (see module
    docstring); unchanged when the context is needed as a whole. Templates rendered at run time
    over plain values only are rendered by a function of the output (``plain_templates``)."""
    if dag.uses_ctx and ("render_template(" in flow_text or "render_template(" in generated):
        rewritten = plain_templates.rewrite(plan, dag, generated, flow_text, module_binds)
        if rewritten is None:
            return generated, flow_text
        new_gen, new_flow = rewritten.generated, rewritten.flow
        out = _apply(plan, dag, new_gen, new_flow, rewritten.generated_module, rewritten.flow_module)
        if out == (new_gen, new_flow):
            return generated, flow_text
        plain_templates.commit(plan, rewritten.needs)
        return out
    return _apply(plan, dag, generated, flow_text)


def _apply(
    plan: Plan, dag: Dag, generated: str, flow_text: str,
    gen_mod: cst.Module | None = None, flow_mod: cst.Module | None = None,
) -> tuple[str, str]:
    """``gen_mod``/``flow_mod``: the texts already parsed (``plain_templates.rewrite``), or None."""
    if not dag.uses_ctx or "airflow_context(" not in flow_text or not _may_be_plain(flow_text, generated):
        return generated, flow_text
    try:
        flow_mod = flow_mod or cst.parse_module(flow_text)
        gen_mod = (gen_mod or cst.parse_module(generated)) if generated and "ctx" in generated else None
    except cst.ParserSyntaxError:
        return generated, flow_text
    func = flow_mod.body[0]
    if not isinstance(func, cst.FunctionDef) or not isinstance(func.body, cst.IndentedBlock):
        return generated, flow_text
    # the context line: ``ctx = airflow_context(logical_date, params=P[, conf=conf], dag_id=D)``
    head = [
        i for i, s in enumerate(func.body.body)
        if isinstance(s, cst.SimpleStatementLine) and len(s.body) == 1 and isinstance(s.body[0], cst.Assign)
        and len(s.body[0].targets) == 1 and isinstance(s.body[0].targets[0].target, cst.Name)
        and s.body[0].targets[0].target.value == "ctx"
    ]
    if len(head) != 1:
        return generated, flow_text
    ctx_stmt = func.body.body[head[0]]
    call = ctx_stmt.body[0].value  # type: ignore[union-attr]
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Name) or call.func.value != "airflow_context":
        return generated, flow_text
    args = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    if not (call.args and call.args[0].keyword is None and isinstance(call.args[0].value, cst.Name)
            and call.args[0].value.value == "logical_date") or set(args) - {"params", "conf", "dag_id"}:
        return generated, flow_text
    params_src = plan.model.module.code_for_node(args["params"]) if "params" in args else "{}"
    conf_src = "(conf or {})" if "conf" in args else "{}"
    dag_id_src = plan.model.module.code_for_node(args["dag_id"]) if "dag_id" in args else "None"

    # the generated tasks that take ``ctx``: each must read only plain values of it
    task_attrs: dict[str, list[str]] = {}
    if gen_mod is not None:
        for stmt in gen_mod.body:
            if not isinstance(stmt, cst.FunctionDef):
                continue
            all_params = [*stmt.params.params, *stmt.params.kwonly_params]
            if not any(p.name.value == "ctx" for p in all_params):
                continue
            attrs = _ctx_attrs(stmt.body)
            if attrs is None:
                return generated, flow_text
            if (set(attrs) & {p.name.value for p in all_params}) or (set(attrs) & (_names(stmt.body) - {"ctx"})):
                return generated, flow_text
            task_attrs[stmt.name.value] = attrs

    # the flow: ``ctx.X`` of plain values, or ``ctx=ctx`` / ``ctx=airflow_context(...)`` to such a task
    rest = [s for i, s in enumerate(func.body.body) if i != head[0]]
    used: list[str] = []
    problem = False

    body_block = func.body.with_changes(body=rest)
    for node in iter_nodes(body_block):
        if not isinstance(node, cst.Call):
            continue
        for arg in node.args:
            if arg.keyword is None or arg.keyword.value != "ctx":
                continue
            name = _called(node.func)
            if name is None or name not in task_attrs:
                problem = True
                continue
            override = {} if isinstance(arg.value, cst.Name) and arg.value.value == "ctx" else _override(arg.value)
            if override is None:
                problem = True
                continue
            for attr in task_attrs[name]:
                if attr not in override and attr not in used:
                    used.append(attr)
    if problem:
        return generated, flow_text
    # every other ``ctx`` read in the flow is ``ctx.X``; a ``ctx=`` argument is checked above
    stripped = body_block
    flow_attrs = _ctx_attrs(body_block, skip_ctx_args=True)
    if flow_attrs is None:
        return generated, flow_text
    used += [a for a in flow_attrs if a not in used]
    for overrides in _overrides(body_block):
        for attr in _ctx_attrs(overrides) or []:
            if attr not in used:
                used.append(attr)

    # the flow's own names: a value bound to a variable must not take one
    flow_params = {p.name.value for p in [*func.params.params, *func.params.kwonly_params]}
    body_names = _names(stripped)
    flow_names = body_names | flow_params
    variables = [a for a in used if a not in _INLINE]
    for attr in variables:
        if attr in flow_names and not (attr in ("params", "conf") and attr in flow_params and attr not in body_names):
            return generated, flow_text
    dates = any(VALUES[a] and "logical_date" in VALUES[a] for a in used)  # type: ignore[operator]
    imports: dict[str, set[str]] = {}
    lines: list[str] = []
    if dates:
        names = _date_names(plan, flow_names | _names(gen_mod) if gen_mod is not None else flow_names)
        if names is None or "flow_run" in flow_names or (module_binds(plan, "flow_run") and plan.model.imports.get("flow_run") != "prefect.runtime.flow_run"):
            return generated, flow_text
        parse, utc, imports = names
        imports.setdefault("prefect.runtime", set()).add("flow_run")
        lines += [
            f"logical_date = {parse}(str(logical_date or flow_run.scheduled_start_time))",
            "if logical_date.tzinfo is None:",
            f"    logical_date = logical_date.replace(tzinfo={utc})",
        ]
    if "dag_run" in used:
        if "types" in flow_names or (module_binds(plan, "types") and plan.model.imports.get("types") != "types"):
            return generated, flow_text
        imports.setdefault("", set()).add("types")
    source = {
        "params": params_src,
        "conf": conf_src,
        "dag_id": dag_id_src,
        "dag_run": VALUES["dag_run"].replace("CONF", conf_src).replace("DAG_ID", dag_id_src),  # type: ignore[union-attr]
    }
    values: dict[str, str] = {}
    for attr in used:
        expr = source.get(attr) or VALUES[attr]
        if attr in _INLINE:
            values[attr] = expr  # type: ignore[assignment]
        else:
            lines.append(f"{attr} = {expr}")
            values[attr] = attr

    # rewrite: the tasks take the values as parameters, the flow passes them
    new_gen = generated
    if gen_mod is not None and task_attrs:
        new_gen = gen_mod.visit(_TaskParams(task_attrs)).code
    new_body = body_block.visit(_CallArgs(task_attrs, values)).visit(_Replace(values))
    block = cst.parse_module("\n".join(lines) + "\n").body if lines else []
    body = list(new_body.body)
    body[head[0]:head[0]] = [s.with_changes(leading_lines=ctx_stmt.leading_lines) if i == 0 else s for i, s in enumerate(block)]
    new_flow = flow_mod.with_changes(body=[func.with_changes(body=func.body.with_changes(body=body))]).code
    for module, names in imports.items():
        plan.need(module, *names)
    return new_gen, new_flow


_CTX = re.compile(r"\bctx\b(\.\w+|\s*=\s*airflow_context\(|=|\)|,)?")


def _may_be_plain(flow_text: str, generated: str) -> bool:
    """A quick look before parsing: is every ``ctx`` a plain value, a ``ctx=`` argument or a
    task's ``ctx`` parameter? (The parsed check decides; this only spares parsing what fails.)"""
    for text in (flow_text, generated):
        if "render_template(" in text or "run_operator(" in text:
            return False  # the context as a whole
        for match in _CTX.finditer(text):
            tail = match.group(1)
            if tail is None or (tail.startswith(".") and tail[1:] not in VALUES):
                return False
    return True


def _overrides(node: cst.CSTNode) -> list[cst.BaseExpression]:
    """The ``params=`` values of ``ctx=airflow_context(...)`` arguments."""
    out: list[cst.BaseExpression] = []
    for arg in iter_nodes(node):
        if isinstance(arg, cst.Arg) and arg.keyword is not None and arg.keyword.value == "ctx":
            override = _override(arg.value)
            if override and "params" in override:
                out.append(override["params"])
    return out


class _TaskParams(Pruned, cst.CSTTransformer):
    """A generated task's ``ctx`` parameter -> one parameter per value it reads."""

    def __init__(self, task_attrs: dict[str, list[str]]) -> None:
        self.task_attrs = task_attrs

    def targets(self, root: cst.CSTNode) -> object:
        body = root.body if isinstance(root, cst.Module) else []
        return {id(s) for s in body if isinstance(s, cst.FunctionDef) and s.name.value in self.task_attrs}

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a task's own function is rewritten whole when left (below)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        attrs = self.task_attrs.get(original.name.value)
        if attrs is None:
            return updated

        def swap(params: list[cst.Param] | tuple[cst.Param, ...]) -> list[cst.Param]:
            out: list[cst.Param] = []
            for p in params:
                if p.name.value == "ctx":
                    out += [p.with_changes(name=cst.Name(a)) for a in attrs]
                else:
                    out.append(p)
            return [p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in out]

        params = updated.params.with_changes(
            params=swap(updated.params.params), kwonly_params=swap(updated.params.kwonly_params)
        )
        if not params.params and not params.kwonly_params and isinstance(params.star_arg, cst.ParamStar):
            params = params.with_changes(star_arg=cst.MaybeSentinel.DEFAULT)
        body = updated.body.visit(_Replace({a: a for a in attrs}))
        return updated.with_changes(params=params, body=body)


class _CallArgs(Pruned, cst.CSTTransformer):
    """``load.submit(ctx=ctx)`` -> ``load.submit(ds=ds)``."""

    def __init__(self, task_attrs: dict[str, list[str]], values: dict[str, str]) -> None:
        self.task_attrs = task_attrs
        self.values = values

    def targets(self, root: cst.CSTNode) -> object:
        return {id(n) for n in iter_nodes(root) if isinstance(n, cst.Call) and _called(n.func) in self.task_attrs}

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        name = _called(original.func)
        if name is None or name not in self.task_attrs:
            return updated
        args: list[cst.Arg] = []
        for arg in updated.args:
            if arg.keyword is None or arg.keyword.value != "ctx":
                args.append(arg)
                continue
            override = _override(arg.value) or {}
            for attr in self.task_attrs[name]:
                value = override.get(attr) or cst.parse_expression(self.values[attr])
                args.append(cst.Arg(keyword=cst.Name(attr), value=value, equal=_EQ, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))))
        if args:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(args=args)


_EQ = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
