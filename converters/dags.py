"""Rule: ``DAG(...)``, ``with DAG(...)``, ``@dag`` -> ``@flow(name=dag_id)``.

What: the DAG becomes a flow function named after the dag_id. Its params become flow
parameters (``Param(5, ...)`` -> ``5``), plus ``logical_date`` (default: the flow run's
scheduled start) from which ``ds``, ``ts`` and the data interval are derived as Airflow does.
The body submits the tasks in dependency order and returns ``{task_id: result}``. The schedule
is kept for deployment: ``if __name__ == "__main__": flow.serve(name=..., cron=...)`` (cron
strings and presets) or ``interval=`` (``timedelta``).

Why: a Prefect flow is the unit that is scheduled, parameterised and observed, like a DAG.

Scheduler settings go where Prefect keeps them: ``max_active_tasks`` (``concurrency``) becomes
the flow's ``ThreadPoolTaskRunner(max_workers=...)``, ``dagrun_timeout`` its ``timeout_seconds``,
DAG-level ``on_failure_callback`` / ``on_success_callback`` its ``on_failure=`` /
``on_completion=`` hooks (``flow_callback(cb)``, a function of the file that hands a callback of
the file the keys it reads, ``dag``, ``dag_run``, ``run_id``, ``ds``, ``logical_date``, ``params``,
from the hook's ``(flow, flow_run, state)``; other callbacks the whole context it builds, without
``macros`` and ``var``: ``converters.task_options``); ``start_date`` (anchor and timezone), ``catchup``, ``max_active_runs``,
``is_paused_upon_creation``, ``doc_md``, the params' defaults and the tasks' pools are written to
the ledger's ``deployment`` entry, from which ``interop deploy`` writes ``prefect.yaml``.

Safety: settings that have no Prefect equivalent (``end_date``, ``sla_miss_callback``,
``default_view`` ...) are listed in the report (IX401). Asset/dataset schedules and timetables
other than cron and delta ones are reported (IX403) and not deployed.
"""

from __future__ import annotations

import ast
import datetime as _dt
import keyword
from typing import Any

import libcst as cst

from converters import names
from converters.analysis import code_of
from converters.callables import MARKER, ident
from converters.model import Const, Dag
from converters.plan import Plan, const_value
from converters.task_options import option_seconds, state_hooks, static_timedelta
from converters.walk import bound_names, is_docstring

ORDER = 70

#: DAG arguments with no Prefect equivalent: listed in the ledger (IX401)
_DROPPED_DAG_ARGS = (
    "end_date",
    "default_view",
    "orientation",
    "render_template_as_native_obj",
    "template_searchpath",
    "user_defined_macros",
    "user_defined_filters",
    "access_control",
    "sla_miss_callback",
    "owner_links",
    "jinja_environment_kwargs",
    "fail_stop",
    "fail_fast",
    "dag_display_name",
)
#: DAG arguments carried to the flow or its deployment (see the module docstring), with where
_CARRIED_DAG_ARGS = {
    "start_date": "deployment schedule anchor and timezone",
    "catchup": "`interop backfill`",
    "max_active_runs": "deployment concurrency_limit",
    "max_active_tasks": "flow task runner max_workers",
    "concurrency": "flow task runner max_workers",
    "dagrun_timeout": "flow timeout_seconds",
    "is_paused_upon_creation": "deployment schedule active: false",
    "on_success_callback": "flow on_completion hook",
    "on_failure_callback": "flow on_failure hook",
    "doc_md": "deployment description",
}
#: Airflow 3 timetables (and their Airflow 2 names) read as a Prefect schedule
_CRON_TIMETABLES = ("CronTriggerTimetable", "CronDataIntervalTimetable", "CronPartitionTimetable")
_DELTA_TIMETABLES = ("DeltaTriggerTimetable", "DeltaDataIntervalTimetable")
_MULTI_CRON_TIMETABLES = ("MultipleCronTriggerTimetable",)


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
    """``serve`` keyword arguments for the DAG's schedule; the ledger's ``deployment.schedules``."""
    node = None
    source = None
    for key in names.DAG_SCHEDULE_ARGS:
        if key in dag.kwargs:
            node = dag.kwargs[key]
            source = key
            break
    out: dict[str, str] = {}
    tags = const_value(dag.kwargs.get("tags"), None, plan.analyzer)
    if isinstance(tags, Const) and isinstance(tags.value, (list, tuple, set)) and tags.value:
        out["tags"] = repr(sorted(str(t) for t in tags.value))
    facts = dag.deployment
    if node is None:
        # no schedule argument: Airflow 2 runs the DAG daily (timedelta(days=1)), Airflow 3 never
        major = plan.airflow_major()
        facts["schedule_source"] = f"absent (Airflow {major} default)"
        facts["schedules"] = [{"interval": 86400}] if major == 2 else []
        if major == 2:
            out["interval"] = "86400"
        return out
    facts["schedule_source"] = source
    facts["airflow_schedule"] = code_of(node).strip()
    value = const_value(node, None, plan.analyzer)
    if isinstance(value, Const) and (value.value is None or isinstance(value.value, str)):
        if value.value is None:
            facts["schedules"] = []
            return out
        cron = names.CRON_PRESETS.get(value.value, value.value)
        if cron.startswith("@"):
            facts["schedules"] = None
            plan.finding("IX403", dag.line, f"DAG {dag.dag_id!r}: schedule {value.value!r} not deployed{_ONCE_HINT.get(cron, '')}")
        else:
            facts["schedules"] = [{"cron": cron}]
            out["cron"] = repr(cron)
        return out
    qualname = (plan.analyzer.qualname(node.func) or "") if isinstance(node, cst.Call) else ""
    if isinstance(node, cst.Call) and qualname.endswith("timedelta"):
        secs = _timedelta_seconds(plan, node)
        if secs is not None:
            facts["schedules"] = [{"interval": _num(secs)}]
            out["interval"] = repr(_num(secs))
            return out
    if isinstance(node, cst.Call) and qualname.rsplit(".", 1)[-1] in (*_CRON_TIMETABLES, *_DELTA_TIMETABLES, *_MULTI_CRON_TIMETABLES):
        schedules = _timetable(plan, node, qualname.rsplit(".", 1)[-1])
        if schedules is not None:
            facts["schedules"] = schedules
            if len(schedules) == 1:
                out.update({k: repr(v) for k, v in schedules[0].items() if k in ("cron", "interval")})
            return out
    trigger = plan.asset_trigger(dag, node)
    if trigger is not None:
        out["triggers"] = trigger
        return out
    facts["schedules"] = None
    plan.finding(
        "IX403",
        dag.line,
        f"DAG {dag.dag_id!r}: schedule `{code_of(node).strip()[:60]}` (timetable or assets) not converted; "
        "deploy it by hand (assets: a Prefect deployment trigger on an event, see docs/deploy.md)",
    )
    return out


_ONCE_HINT = {
    "@once": " (Prefect has no run-once schedule: `interop deploy --apply` creates its one run)",
    "@continuous": " (Prefect has no continuous schedule: an automation that runs the deployment when a run completes)",
}


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def _is_timedelta(qualname: str) -> bool:
    """``timedelta`` or ``pendulum.duration`` (a timedelta; its ``years``/``months`` fail below)."""
    return qualname.endswith("timedelta") or qualname == "pendulum.duration"


def _timedelta_seconds(plan: Plan, node: cst.BaseExpression) -> float | None:
    if not isinstance(node, cst.Call) or not _is_timedelta(plan.analyzer.qualname(node.func) or ""):
        return None
    return static_timedelta(node, None, plan)


def _timetable(plan: Plan, node: cst.Call, kind: str) -> list[dict[str, Any]] | None:
    """Prefect schedules for a cron or delta timetable with static arguments; None otherwise."""
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    tz = _tz_name(plan, keywords.get("timezone") or (positional[1] if len(positional) > 1 and kind in _CRON_TIMETABLES else None))
    if kind in _CRON_TIMETABLES:
        cron_node = keywords.get("cron") or (positional[0] if positional else None)
        cron = const_value(cron_node, None, plan.analyzer)
        if not isinstance(cron, Const) or not isinstance(cron.value, str):
            return None
        entry: dict[str, Any] = {"cron": names.CRON_PRESETS.get(cron.value, cron.value)}
        if entry["cron"].startswith("@"):
            return None
        return [{**entry, **({"timezone": tz} if tz else {})}]
    if kind in _MULTI_CRON_TIMETABLES:
        crons = [const_value(n, None, plan.analyzer) for n in positional]
        if not crons or not all(isinstance(c, Const) and isinstance(c.value, str) for c in crons):
            return None
        return [{"cron": names.CRON_PRESETS.get(c.value, c.value), **({"timezone": tz} if tz else {})} for c in crons]
    delta = keywords.get("delta") or (positional[0] if positional else None)
    secs = _timedelta_seconds(plan, delta) if delta is not None else None
    return None if secs is None else [{"interval": _num(secs)}]


def _resolve(plan: Plan, node: cst.BaseExpression | None) -> cst.BaseExpression | None:
    """A module-level name's assigned expression (``local_tz = pendulum.timezone(...)``), else ``node``."""
    seen = 0
    while isinstance(node, cst.Name) and seen < 5:
        assigned = plan.analyzer._module_assignment(node.value)
        if assigned is None:
            break
        node = assigned
        seen += 1
    return node


_TZ_FUNCTIONS = ("timezone", "ZoneInfo", "gettz", "Timezone")


def _tz_name(plan: Plan, node: cst.BaseExpression | None) -> str | None:
    """An IANA name from ``"Europe/Paris"``, ``pendulum.timezone("...")``, ``ZoneInfo("...")``."""
    node = _resolve(plan, node)
    if node is None:
        return None
    value = const_value(node, None, plan.analyzer)
    if isinstance(value, Const) and isinstance(value.value, str):
        return value.value
    if isinstance(node, cst.Call) and node.args and (plan.analyzer.qualname(node.func) or code_of(node.func)).rsplit(".", 1)[-1] in _TZ_FUNCTIONS:
        arg = const_value(node.args[0].value, None, plan.analyzer)
        if isinstance(arg, Const) and isinstance(arg.value, str):
            return arg.value
    if isinstance(node, cst.Attribute) and code_of(node).strip() in ("timezone.utc", "datetime.timezone.utc", "pendulum.UTC"):
        return "UTC"
    return None


_DATETIME_FUNCTIONS = ("datetime.datetime", "pendulum.datetime", "pendulum.DateTime", "airflow.utils.dates.datetime")


def _start_date(plan: Plan, node: cst.BaseExpression | None) -> tuple[str | None, str | None]:
    """(ISO start date or None, timezone or None) of a ``start_date`` argument.

    A naive ``datetime(...)`` and ``days_ago(n)`` are in Airflow's default timezone (UTC)."""
    node = _resolve(plan, node)
    if not isinstance(node, cst.Call):
        return None, None
    qualname = plan.analyzer.qualname(node.func) or code_of(node.func).strip()
    if qualname.endswith("days_ago"):
        return None, "UTC"
    if qualname not in _DATETIME_FUNCTIONS and not qualname.endswith(("datetime.datetime", "pendulum.datetime")):
        return None, None
    positional = [a.value for a in node.args if a.keyword is None and not a.star]
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    parts = []
    for i, unit in enumerate(("year", "month", "day", "hour", "minute", "second")):
        n = keywords.get(unit) or (positional[i] if i < len(positional) else None)
        value = const_value(n, None, plan.analyzer) if n is not None else Const(1 if i < 3 else 0)
        if not isinstance(value, Const) or not isinstance(value.value, int):
            parts = []
            break
        parts.append(value.value)
    tz_node = keywords.get("tz") or keywords.get("tzinfo")
    if tz_node is None and qualname.startswith("pendulum") and len(positional) > 6:
        tz_node = positional[-1]
    tz = _tz_name(plan, tz_node) if tz_node is not None else "UTC"
    when = None
    if len(parts) == 6:
        try:
            when = _dt.datetime(*parts).isoformat()
        except ValueError:
            when = None
    return when, tz


def _json_literal(src: str) -> tuple[bool, Any]:
    try:
        value = ast.literal_eval(src)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None
    if isinstance(value, (tuple, set)):
        value = list(value)
    return (True, value) if isinstance(value, (str, int, float, bool, list, dict)) or value is None else (False, None)


def _const(plan: Plan, node: cst.BaseExpression | None) -> Any:
    value = const_value(_resolve(plan, node), None, plan.analyzer)
    return value.value if isinstance(value, Const) else None


def deployment_facts(plan: Plan, dag: Dag) -> dict[str, Any]:
    """What a Prefect deployment of ``dag`` needs, for the ledger (``schedules`` added by :func:`schedule`)."""
    kw = dag.kwargs
    start_node = kw.get("start_date", dag.default_args.get("start_date"))
    start, tz = _start_date(plan, start_node) if start_node is not None else (None, None)
    facts: dict[str, Any] = {"flow_function": dag.function_name, "airflow_major": plan.airflow_major()}
    facts["start_date"] = start
    facts["timezone"] = tz
    for key in ("catchup", "max_active_runs", "is_paused_upon_creation"):
        value = _const(plan, kw.get(key))
        facts[key] = value if isinstance(value, (bool, int)) else None
    facts["description"] = next((v for v in [_const(plan, kw.get("description"))] if isinstance(v, str)), None)
    doc_node = kw.get("doc_md")
    doc = _const(plan, doc_node)
    if doc is None and isinstance(doc_node, cst.Name) and doc_node.value == "__doc__":
        doc = _module_docstring(plan)
    facts["doc_md"] = doc if isinstance(doc, str) else None
    tags = _const(plan, kw.get("tags"))
    facts["tags"] = sorted(str(t) for t in tags) if isinstance(tags, (list, tuple, set)) else []
    params: dict[str, Any] = {}
    for key, value in dag.params_dict.items():
        ok, literal = _json_literal(_param_default(value, plan))
        if ok:
            params[key] = literal
    facts["parameters"] = params
    pools: dict[str, list[str]] = {}
    for task in dag.tasks.values():
        pool = task.options.get("_pool")
        if pool:
            pools.setdefault(pool, []).append(task.task_id)
    facts["pools"] = pools
    # what the worker needs installed: the modules of the operators run through the shim
    facts["shimmed_modules"] = sorted({t.qualname.rsplit(".", 1)[0] for t in dag.tasks.values() if t.disposition == "shimmed" and "." in t.qualname})
    return facts


def _module_docstring(plan: Plan) -> str | None:
    body = plan.model.module.body
    if body and is_docstring(body[0]):
        expr = body[0].body[0].value  # type: ignore[attr-defined]
        try:
            return ast.literal_eval(code_of(expr).strip())
        except (ValueError, SyntaxError):
            return None
    return None


#: names the generated flow body reads (its run-date lines, submits, futures' annotations): a DAG
#: param by one of these names would shadow it
_GENERATED_READS = frozenset({"datetime", "timezone", "timedelta", "flow_run", "flow", "task", "quote", "unmapped", "allow_failure"})


def flow_function(plan: Plan, dag: Dag, order: list[str]) -> tuple[str, str]:
    """The generated task functions and the flow function for ``dag`` (tasks already planned)."""
    for key in _DROPPED_DAG_ARGS:
        if key in dag.kwargs:
            plan.finding("IX401", dag.line, f"DAG {dag.dag_id!r}: `{key}` has no Prefect equivalent; not carried over")
    flow_kwargs = [f"name={dag.dag_id!r}"]
    desc = const_value(dag.kwargs.get("description"), None, plan.analyzer)
    if isinstance(desc, Const) and isinstance(desc.value, str):
        flow_kwargs.append(f"description={desc.value!r}")
    flow_kwargs += _flow_settings(plan, dag)
    plan.need("prefect", "flow")

    # parameters
    param_names: list[str] = []
    param_src: list[str] = []
    if dag.style == "decorator":
        param_names = list(dag.params_dict)
    else:
        # a param named like a name the module binds (an imported or DAG-body function the tasks
        # call: ``spark_jar=spark_jar()``) would shadow it inside the flow: the params come as a dict
        shadowed = {n for stmt in plan.model.module.body for n in bound_names(stmt)}
        shadowed |= {n for names_ in plan.imports.values() for n in names_} | _GENERATED_READS
        ok = all(
            k.isidentifier() and not keyword.iskeyword(k) and k not in ("logical_date", "ctx", "conf") and k not in shadowed
            for k in dag.params_dict
        )
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
        plan.need("airflow_interop.runtime", "airflow_context")
        conf = ", conf=conf" if dag.uses_conf else ""
        lines.append(f"    ctx = airflow_context(logical_date, params={params_expr}{conf}, dag_id={dag.dag_id!r})\n")
    head_count = len(lines)
    results: list[tuple[str, str]] = []
    #: tasks a trigger rule lets fail (``all_done``, ``one_success`` ... below them): as in Airflow,
    #: their failure fails the run only through the tasks below them, so their result is read
    #: without raising (the run's state is its last tasks')
    tolerated: set[str] = set()
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
                    follow = dag.tasks[branch_tid].options.get("_follow_source")  # converters.branching
                    lines.extend(f"    {ln}\n" for ln in (follow(var, fut) if follow else [f"{var} = branch_targets({fut}.result())"]))
        for other in dag.tasks.values():
            runtime = other.options.get("_runtime_flag")
            if runtime and runtime in expr and runtime not in emitted:
                emitted.add(runtime)
                plain = other.options.get("_was_skipped_source")  # converters.branching
                up = plan.future(dag, other.task_id)
                lines.extend(f"    {ln}\n" for ln in (plain(runtime, up) if plain else [f"{runtime} = was_skipped({up})"]))
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
                tolerated.update(wait)
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
            plain = task.options.get("_skip_source")  # converters.branching
            lines.append(f"    {fut} = {plain(tid, ups) if plain else f'skip_task({skip_args})'} if {flag} else {submit}\n")
        else:
            lines.append(f"    {fut} = {submit}\n")
        results.append((tid, fut))
    # a task the flow does not run (left to a hand: SubDAG, mapped group ...) keeps its marker in
    # the flow body, where its call would go: never a finding in the ledger alone
    unrun = [
        f"    {marker} [task {t.task_id!r}, line {t.line}]\n"
        for t in dag.tasks.values()
        if t.task_id not in order and t.disposition == "manual"
        for marker in dict.fromkeys(t.options.get("_markers", []))
    ]
    lines[head_count:head_count] = unrun
    returned = [
        f"        {tid!r}: {fut}.result({'raise_on_failure=False' if tid in tolerated else ''}),\n" for tid, fut in results
    ]
    lines.append("    return {\n" + "".join(returned) + "    }\n" if returned else "    return {}\n")

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
    dag.deployment = deployment_facts(plan, dag)
    generated = "\n\n".join(plan.generated.get(dag.dag_id, []))
    flow_text = header + doc + "".join(lines[:head_count]) + preamble_text + "".join(lines[head_count:])
    return generated, flow_text


def _flow_settings(plan: Plan, dag: Dag) -> list[str]:
    """``@flow`` keyword fragments for the DAG's run-level settings: ``max_active_tasks`` ->
    ``task_runner=task_runners.ThreadPoolTaskRunner(max_workers=N)``, ``dagrun_timeout`` -> ``timeout_seconds``,
    DAG-level callbacks -> flow state hooks."""
    out: list[str] = []
    for key in ("max_active_tasks", "concurrency"):
        if key in dag.kwargs:
            value = _const(plan, dag.kwargs[key])
            src = str(value) if isinstance(value, int) and not isinstance(value, bool) else code_of(dag.kwargs[key]).strip()
            plan.need("prefect", "task_runners")
            out.append(f"task_runner=task_runners.ThreadPoolTaskRunner(max_workers={src})")
            break
    if "dagrun_timeout" in dag.kwargs:
        _, src = option_seconds(dag.kwargs["dagrun_timeout"], None, plan, dag.line)
        if src is not None:
            out.append(f"timeout_seconds={src}")
    for arg, hook in (("on_failure_callback", "on_failure"), ("on_success_callback", "on_completion")):
        node = dag.kwargs.get(arg)
        if node is None or _const(plan, node) is not None or (isinstance(node, cst.Name) and node.value == "None"):
            continue
        out.append(f"{hook}={state_hooks(plan, node, 'flow', dag.line)}")
    return out


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


__all__ = ["flow_function", "schedule", "deployment_facts", "main_guard", "MARKER"]
