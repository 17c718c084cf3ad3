"""Rule: ``DAG(...)``, ``with DAG(...)``, ``@dag`` -> ``@flow(name=dag_id)``.

What: the DAG becomes a flow function named after the dag_id. Its params become flow
parameters (``Param(5, ...)`` -> ``5``), plus ``logical_date`` (default: the flow run's
scheduled start) from which ``ds``, ``ts`` and the data interval are derived as Airflow does.
The body submits the tasks in dependency order and returns ``{task_id: result}``. The schedule
is kept for deployment: ``if __name__ == "__main__": flow.serve(name=..., cron=...)`` (cron
strings and presets) or ``interval=`` (``timedelta``).

Why: a Prefect flow is the unit that is scheduled, parameterised and observed, like a DAG.

Safety: ``start_date``, ``catchup``, ``max_active_runs`` and other scheduler settings have no
flow-level equivalent; they are listed in the report (IX401). Asset/dataset schedules are
reported (IX403) and not deployed.
"""

from __future__ import annotations

import datetime as _dt
import keyword

import libcst as cst

from converters import names
from converters.analysis import code_of
from converters.callables import MARKER, ident
from converters.model import Const, Dag
from converters.plan import Plan, const_value
from converters.walk import is_docstring

ORDER = 70

_DROPPED_DAG_ARGS = (
    "start_date",
    "end_date",
    "catchup",
    "max_active_runs",
    "max_active_tasks",
    "concurrency",
    "dagrun_timeout",
    "default_view",
    "orientation",
    "is_paused_upon_creation",
    "render_template_as_native_obj",
    "template_searchpath",
    "user_defined_macros",
    "user_defined_filters",
    "access_control",
    "sla_miss_callback",
    "on_success_callback",
    "on_failure_callback",
    "doc_md",
    "owner_links",
    "jinja_environment_kwargs",
    "fail_stop",
    "fail_fast",
    "dag_display_name",
)


def _param_default(value: cst.BaseExpression, plan: Plan) -> str:
    if isinstance(value, cst.Call) and (plan.analyzer.qualname(value.func) or "") in names.PARAM_CLASSES:
        for arg in value.args:
            if arg.keyword is not None and arg.keyword.value == "default":
                return code_of(arg.value).strip()
        if value.args and value.args[0].keyword is None:
            return code_of(value.args[0].value).strip()
        return "None"
    return code_of(value).strip()


def schedule(plan: Plan, dag: Dag) -> dict[str, str]:
    """``serve`` keyword arguments for the DAG's schedule."""
    node = None
    for key in names.DAG_SCHEDULE_ARGS:
        if key in dag.kwargs:
            node = dag.kwargs[key]
            if key != "schedule":
                plan.finding("IX401", dag.line, f"DAG {dag.dag_id!r}: `{key}` read as the schedule")
            break
    out: dict[str, str] = {}
    tags = const_value(dag.kwargs.get("tags"), None, plan.analyzer)
    if isinstance(tags, Const) and isinstance(tags.value, (list, tuple, set)) and tags.value:
        out["tags"] = repr(sorted(str(t) for t in tags.value))
    if node is None:
        return out
    value = const_value(node, None, plan.analyzer)
    if isinstance(value, Const):
        if isinstance(value.value, str):
            cron = names.CRON_PRESETS.get(value.value, value.value)
            if cron.startswith("@"):
                plan.finding("IX403", dag.line, f"DAG {dag.dag_id!r}: schedule {value.value!r} not deployed")
            else:
                out["cron"] = repr(cron)
        return out
    if isinstance(node, cst.Call) and (plan.analyzer.qualname(node.func) or "").endswith("timedelta"):
        try:
            kwargs = {a.keyword.value: const_value(a.value, None, plan.analyzer).value for a in node.args if a.keyword}  # type: ignore[union-attr]
            secs = _dt.timedelta(**kwargs).total_seconds()
            out["interval"] = repr(int(secs) if secs.is_integer() else secs)
            return out
        except Exception:  # noqa: BLE001
            pass
    plan.finding(
        "IX403",
        dag.line,
        f"DAG {dag.dag_id!r}: schedule `{code_of(node).strip()[:60]}` (timetable or assets) not converted; deploy it by hand",
    )
    return out


def flow_function(plan: Plan, dag: Dag, order: list[str]) -> tuple[str, str]:
    """The generated task functions and the flow function for ``dag`` (tasks already planned)."""
    for key in _DROPPED_DAG_ARGS:
        if key in dag.kwargs:
            plan.finding("IX401", dag.line, f"DAG {dag.dag_id!r}: `{key}` has no flow-level equivalent; not carried over")
    flow_kwargs = [f"name={dag.dag_id!r}"]
    desc = const_value(dag.kwargs.get("description"), None, plan.analyzer)
    if isinstance(desc, Const) and isinstance(desc.value, str):
        flow_kwargs.append(f"description={desc.value!r}")
    plan.need("prefect", "flow")

    # parameters
    param_names: list[str] = []
    param_src: list[str] = []
    if dag.style == "decorator":
        param_names = list(dag.params_dict)
    else:
        ok = all(k.isidentifier() and not keyword.iskeyword(k) and k not in ("logical_date", "ctx", "conf") for k in dag.params_dict)
        if ok:
            for key, value in dag.params_dict.items():
                param_names.append(key)
                param_src.append(f"{key}={_param_default(value, plan)}")
        elif dag.params_dict:
            items = ", ".join(f"{k!r}: {_param_default(v, plan)}" for k, v in dag.params_dict.items())
            param_src.append("params=None")
            dag.options_params_dict = "{" + items + "}"  # type: ignore[attr-defined]
    if dag.style == "decorator" and dag.decorator_func is not None:
        fn_params = {p.name.value for p in dag.decorator_func.params.params + dag.decorator_func.params.kwonly_params}
        items = [f"{k!r}: {k}" if k in fn_params else f"{k!r}: {_param_default(v, plan)}" for k, v in dag.params_dict.items()]
        params_expr = "{" + ", ".join(items) + "}"
    elif getattr(dag, "options_params_dict", None):
        params_expr = f"{{**{dag.options_params_dict}, **(params or {{}})}}"  # type: ignore[attr-defined]
    else:
        params_expr = "{" + ", ".join(f"{n!r}: {n}" for n in param_names) + "}"

    # Everything generated for this DAG is parsed in one go: its generated tasks, the flow's
    # header and the flow body; the kept DAG-body statements are spliced in as nodes.
    lines: list[str] = []
    if dag.uses_ctx:
        plan.need("shims.runtime", "airflow_context")
        conf = ", conf=conf" if dag.uses_conf else ""
        lines.append(f"    ctx = airflow_context(logical_date, params={params_expr}{conf}, dag_id={dag.dag_id!r})\n")
    head_count = len(lines)
    results: list[str] = []
    emitted: set[str] = set()
    branch_vars = {t.options["_branch_var"]: t.task_id for t in dag.tasks.values() if "_branch_var" in t.options}

    def need_flags(expr: str) -> None:
        for var, branch_tid in branch_vars.items():
            if var in expr and var not in emitted:
                emitted.add(var)
                fut = plan.future(dag, branch_tid)
                if var.endswith("_go") or "_go_" in var:
                    lines.append(f"    {var} = bool({fut}.result())\n")
                else:
                    lines.append(f"    {var} = branch_targets({fut}.result())\n")
        for other in dag.tasks.values():
            runtime = other.options.get("_runtime_flag")
            if runtime and runtime in expr and runtime not in emitted:
                emitted.add(runtime)
                lines.append(f"    {runtime} = was_skipped({plan.future(dag, other.task_id)})\n")
            flag = other.options.get("_skip_flag")
            if flag and flag in expr and flag not in emitted and other.task_id not in order:
                need_flags(other.options["_skip_expr"])
                emitted.add(flag)
                lines.append(f"    {flag} = {other.options['_skip_expr']}\n")

    for tid in order:
        task = dag.tasks[tid]
        fut = plan.future(dag, tid)
        fn = task.function_name or "None"
        if task.with_options:
            fn = f"{fn}.with_options({', '.join(f'{k}={v}' for k, v in task.with_options.items())})"
        args = list(task.call_args)
        for key, value in task.call_kwargs.items():
            args.append(f"**{value}" if key == "**" else f"{key}={value}")
        wait = task.options.get("_wait_for", [])
        if wait:
            if task.options.get("_allow_failure"):
                plan.need("prefect", "allow_failure")
                args.append("wait_for=[" + ", ".join(f"allow_failure({plan.future(dag, u)})" for u in wait) + "]")
            else:
                args.append("wait_for=[" + ", ".join(plan.future(dag, u) for u in wait) + "]")
        for marker in dict.fromkeys(task.options.get("_markers", [])):
            lines.append(f"    {marker}\n")
        submit = f"{fn}.{'map' if task.options.get('_mapped') else 'submit'}({', '.join(args)})"
        flag = task.options.get("_skip_flag")
        if flag:
            need_flags(task.options["_skip_expr"])
            emitted.add(flag)
            lines.append(f"    {flag} = {task.options['_skip_expr']}\n")
            ups = list(dict.fromkeys([*task.data_inputs, *(plan.future(dag, u) for u in wait)]))
            skip_args = f"{tid!r}, wait_for=[{', '.join(ups)}]" if ups else repr(tid)
            lines.append(f"    {fut} = skip_task({skip_args}) if {flag} else {submit}\n")
        else:
            lines.append(f"    {fut} = {submit}\n")
        results.append(f"        {tid!r}: {fut}.result(),\n")
    # a task the flow does not run (left to a hand: SubDAG, mapped group ...) keeps its marker in
    # the flow body, where its call would go: never a finding in the ledger alone
    unrun = [
        f"    {marker} [task {t.task_id!r}, line {t.line}]\n"
        for t in dag.tasks.values()
        if t.task_id not in order and t.disposition == "manual"
        for marker in dict.fromkeys(t.options.get("_markers", []))
    ]
    lines[head_count:head_count] = unrun
    lines.append("    return {\n" + "".join(results) + "    }\n" if results else "    return {}\n")

    decorator_style = dag.style == "decorator" and dag.decorator_func is not None
    code = plan.model.module.code_for_node
    preamble = [plan.kept(st) for st in dag.preamble]
    preamble_text = code(cst.IndentedBlock(body=preamble, indent="    "))[1:] if preamble else ""
    if decorator_style:
        func = dag.decorator_func
        assert func is not None
        fname = func.name.value
        decorators = "".join(code(d) for d in func.decorators if not _is_airflow(plan, d))
        extra = [cst.Param(cst.Name("logical_date"), default=cst.Name("None"), equal=_EQ)]
        if dag.uses_conf:
            extra.append(cst.Param(cst.Name("conf"), default=cst.Name("None"), equal=_EQ))
        params = func.params
        if params.star_kwarg is None and not params.kwonly_params and not isinstance(params.star_arg, cst.Param):
            params = params.with_changes(params=[*params.params, *extra])
        else:
            params = params.with_changes(kwonly_params=[*params.kwonly_params, *extra])
        # the @dag function's return annotation is not kept: it does not describe the generated body
        header = f"@flow({', '.join(flow_kwargs)})\n{decorators}def {fname}({code(params)}):\n"
        body = list(func.body.body) if isinstance(func.body, cst.IndentedBlock) else []
        doc = code(cst.IndentedBlock(body=[body[0]], indent="    "))[1:] if body and is_docstring(body[0]) else ""
        if doc and preamble and preamble[0] is body[0]:
            preamble_text = code(cst.IndentedBlock(body=preamble[1:], indent="    "))[1:] if preamble[1:] else ""
    else:
        fname = plan.unique(ident(dag.dag_id))
        sig = ["logical_date=None", *param_src]
        if dag.uses_conf:
            sig.append("conf=None")
        header = f"@flow({', '.join(flow_kwargs)})\ndef {fname}({', '.join(sig)}):\n"
        doc = ""
    dag.function_name = fname
    generated = "\n\n".join(plan.generated.get(dag.dag_id, []))
    flow_text = header + doc + "".join(lines[:head_count]) + preamble_text + "".join(lines[head_count:])
    return generated, flow_text


_EQ = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def _is_airflow(plan: Plan, dec: cst.Decorator) -> bool:
    target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
    return (plan.analyzer.qualname(target) or "").startswith("airflow.")


def main_guard(plan: Plan) -> str | None:
    """``if __name__ == "__main__":`` serving every converted flow with its schedule."""
    if not plan.serve:
        return None
    if len(plan.serve) == 1:
        dag, kw = plan.serve[0]
        args = ", ".join([f"name={dag.dag_id!r}", *[f"{k}={v}" for k, v in kw.items()]])
        src = f'if __name__ == "__main__":\n    {dag.function_name}.serve({args})\n'
    else:
        plan.need("prefect", "serve")
        parts = []
        for dag, kw in plan.serve:
            args = ", ".join([f"name={dag.dag_id!r}", *[f"{k}={v}" for k, v in kw.items()]])
            parts.append(f"        {dag.function_name}.to_deployment({args}),\n")
        src = 'if __name__ == "__main__":\n    serve(\n' + "".join(parts) + "    )\n"
    return src


__all__ = ["flow_function", "schedule", "main_guard", "MARKER"]
