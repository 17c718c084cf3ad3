"""Rule: ``default_args`` and per-task scheduling arguments -> Prefect task options.

What: ``retries``, ``retry_delay``, ``retry_exponential_backoff``, ``max_retry_delay`` and
``execution_timeout`` (from ``default_args`` or the operator, the operator winning) become
``@task(retries=..., retry_delay_seconds=..., timeout_seconds=...)``; with exponential backoff
the delays are listed (``[300, 600, 1200]``, capped by ``max_retry_delay``).
``on_failure_callback`` / ``on_success_callback`` become ``on_failure=`` / ``on_completion=``
state hooks through ``task_callback(cb)`` / ``flow_callback(cb)``, a small function of the output
file (one per kind) that calls the Airflow callback with a dict of Airflow context keys built in
plain Python from the hook's ``(task, task_run, state)`` and ``prefect.runtime``: ``ds``,
``ds_nodash``, ``ts`` ..., ``logical_date``, ``data_interval_*``, ``params``, ``run_id``,
``dag_run`` (``conf``, ``run_id``, ``logical_date`` ...), ``ti``/``task_instance`` (``task_id``,
``dag_id``, ``run_id``, ``try_number``, ``state`` in Airflow's word: ``failed``, ``success``,
``up_for_retry``), ``task``, ``dag``, ``exception``, ``task_instance_key_str``. A callback of the
file reading only such keys gets just those; any other callback (imported from a helper module,
handing the context on, reading other keys or attributes, a starred list) gets every key
``airflow_interop.runtime.airflow_callback`` gave but ``macros`` and ``var`` (this project's runtime; also
``conf``, the run's conf as the shim gave it, and the hook's ``prefect_task``,
``prefect_task_run``, ``state``), with an IX206 note in the ledger: a read of anything else (``ti.log_url``,
``ti.xcom_pull``) fails when it runs, as a read no adapter can answer. A callback that reads
``macros`` or ``var`` (``context["macros"]``, in the file, or in a function of the file it hands
the context to) keeps ``airflow_interop.runtime.airflow_callback``. An ``on_retry_callback`` becomes the
task's ``retry_condition_fn=task_callback(cb, retry=True)`` (Prefect calls it when a failed run
has retries left, as Airflow calls the callback; the adapter answers True, and logs an error of the
callback as Airflow does, so the task still retries); a list of them, one reading ``macros`` /
``var``, ``on_execute_callback`` and ``sla_miss_callback`` have no Prefect hook (IX402).

Why: Prefect's retry and timeout options are the same guarantees under other names.

Safety: values are computed statically (``timedelta(minutes=5)`` -> ``300``); a constant the
DAG names stays a name (``retries=RETRIES``, ``retry_delay_seconds=RETRY_DELAY.total_seconds()``,
``timedelta(minutes=N).total_seconds()``), its value in the ledger. A value only known at run time
(``default_args`` imported from a helper module, ``{**BASE, ...}``, an imported timeout) is read
by reference and turned into seconds by ``in_seconds``, a two-line function of the output file
(a timedelta, a number of seconds or None, as Airflow accepts): ``retries=DEFAULT_ARGS.get(
'retries', 0)``, ``timeout_seconds=in_seconds(DEFAULT_ARGS.get('execution_timeout', None))``; the
ledger states the expression in place of the number. Arguments with no Prefect
meaning (owner, email, depends_on_past ...) are listed in the report (IX401). A static ``pool``
becomes the task tag ``airflow-pool:NAME``, on which ``interop deploy`` creates a tag-based
concurrency limit of the pool's slots (each task run takes one slot: ``pool_slots`` stays IX401).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import libcst as cst

from converters import names
from converters.analysis import code_of
from converters.model import Const, Dag, Task
from converters.plan import Plan, const_value
from converters.walk import children, find, iter_nodes
from converters.rules import AIRFLOW_HEADER, Rule, converts, marks, refuses, unchanged  # noqa: F401

ORDER = 10

#: the tag of a task that ran in an Airflow pool: ``interop deploy`` creates a Prefect tag-based
#: concurrency limit of the pool's slots on it
POOL_TAG = "airflow-pool:{pool}"


#: the module-level helper for a retry delay or timeout whose type is only known at run time
SECONDS_HELPER = (
    "def {name}(delta):\n"
    '    """An Airflow retry_delay / execution_timeout (a timedelta, a number of seconds or None) in seconds."""\n'
    "    return delta.total_seconds() if isinstance(delta, timedelta) else delta\n"
)
_UNITS = ["days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"]


def in_seconds(plan: Plan, src: str) -> str:
    """``in_seconds(src)``: a value read at run time (a timedelta, a number or None) turned into
    seconds by a small function of the output file (standard library only)."""
    name = plan.seconds_helper
    if name is None:
        name = plan.seconds_helper = plan.unique("in_seconds")
        plan.helpers[name] = SECONDS_HELPER.format(name=name)
        plan.need("datetime", "timedelta")
    return f"{name}({src})"


def _is_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation):
        node = node.expression
    return isinstance(node, (cst.Integer, cst.Float))


def _timedelta_call(plan: Plan, node: cst.BaseExpression | None) -> bool:
    if not isinstance(node, cst.Call):
        return False
    func = plan.analyzer.qualname(node.func) or ""
    keys = {a.keyword.value for a in node.args if a.keyword is not None}
    return func.endswith("timedelta") or (func == "pendulum.duration" and not keys & {"years", "months"})


def static_timedelta(node: cst.Call, task: Task | None, plan: Plan) -> float | None:
    """Seconds of ``timedelta(...)`` with constant arguments (loop constants of ``task`` bound), else None."""
    kwargs: dict[str, Any] = {}
    for i, arg in enumerate(node.args):
        value = const_value(arg.value, task, plan.analyzer)
        if not isinstance(value, Const) or not isinstance(value.value, (int, float)) or (arg.keyword is None and i >= len(_UNITS)):
            return None
        kwargs[arg.keyword.value if arg.keyword else _UNITS[i]] = value.value
    try:
        return _dt.timedelta(**kwargs).total_seconds()
    except (TypeError, ValueError, OverflowError):
        return None


def module_constant(node: cst.BaseExpression, task: Task | None, plan: Plan, line: int | None = None) -> bool:
    """A module-level constant's name, which the output keeps as written (not its value): bound
    above the place Airflow reads it (a decorator there can read it too)."""
    return (
        isinstance(node, cst.Name)
        and not (task is not None and node.value in task.options.get("_env", {}))
        and plan.analyzer._module_assignment(node.value) is not None
        and plan.bound_before(node.value, line if line is not None else (task.line if task is not None else 0))
    )


def option_seconds(
    node: cst.BaseExpression, task: Task | None, plan: Plan, line: int | None = None
) -> tuple[float | None, str | None]:
    """(static seconds or None, the option's source; None for no value).

    ``timedelta(minutes=5)`` -> ``300``; a name stays a name (``RETRY_DELAY.total_seconds()``,
    ``DELAY_SECONDS``); a value only known at run time goes through :func:`in_seconds`."""
    src = code_of(node).strip()
    if _timedelta_call(plan, node):
        static = static_timedelta(node, task, plan)  # type: ignore[arg-type]
        if static is not None and all(_is_literal(a.value) for a in node.args):  # type: ignore[attr-defined]
            return static, repr(_num(static))
        return static, f"{src}.total_seconds()"
    value = const_value(node, task, plan.analyzer)
    named = module_constant(node, task, plan, line)
    if isinstance(value, Const) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
        return float(value.value), (src if named else repr(_num(value.value)))
    if isinstance(value, Const) and value.value is None:
        return None, None
    assigned = plan.analyzer._module_assignment(node.value) if isinstance(node, cst.Name) else None
    if _timedelta_call(plan, assigned):
        static = static_timedelta(assigned, task, plan)  # type: ignore[arg-type]
        if named:
            return static, f"{src}.total_seconds()"
        if static is not None:  # bound only below the place Airflow reads it: its value
            return static, repr(_num(static))
    return None, in_seconds(plan, src)


def _by_reference(refs: list[str], key: str, default: str) -> str:
    """``B.get("retries", A.get("retries", 0))`` for ``default_args={**A, **B}`` (the later wins)."""
    expr = default
    for ref in refs:
        base = ref if ref.isidentifier() or ref.replace(".", "").isidentifier() else f"({ref})"
        expr = f"{base}.get({key!r}, {expr})"
    return expr


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def apply(plan: Plan, dag: Dag) -> None:
    for task in dag.tasks.values():
        merged: dict[str, cst.BaseExpression] = {} if task.options.get("_no_default_args") else dict(dag.default_args)
        merged.update(task.kwargs)
        opts: dict[str, Any] = {}
        src: dict[str, str] = {}
        refs = [] if task.options.get("_no_default_args") else dag.default_args_refs
        if refs and "retries" not in merged:
            # default_args not readable statically (imported from a helper module): read by reference
            src["retries"] = _by_reference(refs, "retries", "0")
            if "retry_delay" not in merged:
                src["retry_delay_seconds"] = in_seconds(plan, _by_reference(refs, "retry_delay", "300"))
        if refs and "execution_timeout" not in merged:
            src["timeout_seconds"] = in_seconds(plan, _by_reference(refs, "execution_timeout", "None"))
        if "retries" in merged:
            value = const_value(merged["retries"], task, plan.analyzer)
            if isinstance(value, Const) and isinstance(value.value, int):
                opts["retries"] = value.value
                src["retries"] = code_of(merged["retries"]).strip() if module_constant(merged["retries"], task, plan) else str(value.value)
            else:
                src["retries"] = code_of(merged["retries"]).strip()
        delay = None
        if "retry_delay" in merged:
            delay, expr = option_seconds(merged["retry_delay"], task, plan)
            if delay is not None:
                opts["retry_delay_seconds"] = _num(delay)
            if expr:
                src["retry_delay_seconds"] = expr
        elif opts.get("retries") and refs:
            src["retry_delay_seconds"] = in_seconds(plan, _by_reference(refs, "retry_delay", "300"))
        elif opts.get("retries"):
            # Airflow's default retry_delay is 300 s
            delay = 300.0
            opts["retry_delay_seconds"] = 300
            src["retry_delay_seconds"] = "300"
        backoff = const_value(merged.get("retry_exponential_backoff"), task, plan.analyzer)
        if isinstance(backoff, Const) and backoff.value and isinstance(opts.get("retries"), int) and opts["retries"] > 0 and delay is not None:
            cap = None
            if "max_retry_delay" in merged and _timedelta_call(plan, merged["max_retry_delay"]):
                cap = static_timedelta(merged["max_retry_delay"], task, plan)  # type: ignore[arg-type]
            delays = [delay * 2**i for i in range(opts["retries"])]
            if cap is not None:
                delays = [min(d, cap) for d in delays]
            opts["retry_delay_seconds"] = [_num(d) for d in delays]
            src["retry_delay_seconds"] = repr([_num(d) for d in delays])
            if backoff.value:
                plan.finding(
                    "IX402",
                    task.line,
                    f"task {task.task_id!r}: exponential retry backoff listed as fixed delays {opts['retry_delay_seconds']} "
                    "(Airflow adds jitter)",
                )
        if "execution_timeout" in merged:
            timeout, expr = option_seconds(merged["execution_timeout"], task, plan)
            if timeout is not None:
                opts["timeout_seconds"] = _num(timeout)
            if expr:
                src["timeout_seconds"] = expr
        for arg, hook in names.CALLBACK_ARGS.items():
            if arg in merged and not (isinstance(merged[arg], cst.Name) and merged[arg].value == "None"):  # type: ignore[attr-defined]
                if arg == "on_retry_callback" and (retry_hook := _retry_hook(plan, merged[arg], task.line)) is not None:
                    task.hooks["retry_condition_fn"] = retry_hook
                    continue
                if hook is None:
                    plan.finding("IX402", task.line, f"task {task.task_id!r}: `{arg}` has no Prefect hook; dropped")
                    continue
                task.hooks[hook] = state_hooks(plan, merged[arg], "task", task.line)
        pool = const_value(merged.get("pool"), task, plan.analyzer) if "pool" in merged else None
        if isinstance(pool, Const) and isinstance(pool.value, str) and pool.value:
            # a pool is a tag-based concurrency limit that ``interop deploy`` creates
            task.options["_pool"] = pool.value
            task.option_sources["tags"] = repr([POOL_TAG.format(pool=pool.value)])
        # provide_context: the converted callable gets the context values it reads as parameters
        carried = {"provide_context"} | ({"pool"} if "_pool" in task.options else set())
        if "outlets" in task.kwargs and plan.asset_outlets(task):
            carried.add("outlets")  # materialized: ``converters.assets``
        dropped = sorted(a for a in merged if a in names.LEDGER_ONLY_ARGS and a in task.kwargs and a not in carried)
        if dropped:
            plan.finding(
                "IX401",
                task.line,
                f"task {task.task_id!r}: arguments with no Prefect meaning not carried over: {', '.join(dropped)}",
            )
        if "trigger_rule" in merged:
            trigger = const_value(merged.get("trigger_rule"), task, plan.analyzer)
            rule = trigger.value if isinstance(trigger, Const) else code_of(merged["trigger_rule"]).strip()
            task.options["_trigger_rule"] = str(rule).rsplit(".", 1)[-1].lower()
        task.options.update(opts)
        task.option_sources.update(src)
    # start_date is the deployment's anchor and timezone; a static pool is its tasks' tag
    carried_defaults = {"start_date", "provide_context"} | ({"pool"} if any("_pool" in t.options for t in dag.tasks.values()) else set())
    unused_defaults = sorted(a for a in dag.default_args if a in names.LEDGER_ONLY_ARGS and a not in carried_defaults)
    if unused_defaults:
        plan.finding(
            "IX401",
            dag.line,
            f"DAG {dag.dag_id!r}: default_args with no Prefect meaning not carried over: {', '.join(unused_defaults)}",
        )


#: Airflow context keys a generated adapter gives a callback, by hook kind, with the attributes
#: a callback of the file may read of each (None: a plain value, any use); a callback of the file
#: reading only these gets an adapter with just the keys it reads. Values as Airflow gives them
#: for a manual run (``ti.state``: Airflow's word, ``failed`` / ``success`` / ``up_for_retry``).
_TI = frozenset({"task_id", "dag_id", "run_id", "try_number", "state"})
_DAG_RUN = frozenset({
    "dag_id", "run_id", "conf", "logical_date", "execution_date", "run_after", "run_type", "external_trigger",
    "data_interval_start", "data_interval_end", "partition_key", "partition_date",
})
_DATES = dict.fromkeys((
    "ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz", "logical_date", "execution_date", "data_interval_start",
    "data_interval_end", "yesterday_ds", "tomorrow_ds", "yesterday_ds_nodash", "tomorrow_ds_nodash",
))
CALLBACK_KEYS: dict[str, dict[str, frozenset[str] | None]] = {
    "task": {
        "task_instance": _TI, "ti": _TI, "task": frozenset({"task_id", "dag_id"}), "dag": frozenset({"dag_id"}),
        "dag_run": _DAG_RUN, "exception": None, "run_id": None, "params": None, "task_instance_key_str": None, **_DATES,
    },
    "flow": {"dag": frozenset({"dag_id"}), "dag_run": _DAG_RUN, "run_id": None, "params": None, **_DATES},
}
#: the keys the adapter gives a callback whose reads the converter cannot see (imported, handing the
#: context on, reading other keys or attributes): every key ``airflow_interop.runtime.airflow_callback`` gives
#: but ``macros`` and ``var`` (this project's runtime): ``conf`` (the run's conf, as the shim), the
#: Prefect hook's objects (``prefect_task``, ``prefect_task_run``, ``state``) and, in a DAG
#: callback, ``exception`` and a ``ti`` with no ``task_id`` / ``try_number`` (Airflow's is the last
#: failed task's, which a flow hook does not know)
ALL_CALLBACK_KEYS = {
    "task": frozenset(CALLBACK_KEYS["task"]) | {"conf", "prefect_task", "prefect_task_run", "state"},
    "flow": frozenset(CALLBACK_KEYS["flow"]) | {"conf", "exception", "ti", "task_instance", "prefect_task", "prefect_task_run", "state"},
}
#: context keys only this project's runtime gives (``airflow_interop.runtime.airflow_callback``)
RUNTIME_CALLBACK_KEYS = frozenset({"macros", "var"})
#: every key of an Airflow (2 or 3) callback context: a key outside it is absent in Airflow too
_AIRFLOW_CONTEXT = frozenset(names.CONTEXT_KEYS) | names.AIRFLOW_ONLY_CONTEXT_KEYS | {
    "conf", "conn", "dag_run", "exception", "execution_date", "macros", "partition_date", "partition_key", "reason",
    "task_reschedule_count", "templates_dict", "test_mode", "var", "next_execution_date", "prev_execution_date",
}
_DAY = "timedelta(days=1)"
#: the source of each key in the adapter's dict
_KEY_SOURCE = {
    "task_instance": "ti",
    "ti": "ti",
    "task": "types.SimpleNamespace(task_id=task.name, dag_id=dag_id)",
    "dag": "types.SimpleNamespace(dag_id=dag_id)",
    "dag_run": "dag_run",
    "exception": "state.result(raise_on_failure=False) if state.is_failed() else None",
    "run_id": "run_id",
    "conf": "conf",
    "params": "parameters",
    "ds": "logical_date.strftime('%Y-%m-%d')",
    "ds_nodash": "logical_date.strftime('%Y%m%d')",
    "ts": "logical_date.isoformat()",
    "ts_nodash": "logical_date.strftime('%Y%m%dT%H%M%S')",
    "ts_nodash_with_tz": "logical_date.isoformat().replace('-', '').replace(':', '')",
    "logical_date": "logical_date",
    "execution_date": "logical_date",
    "data_interval_start": "logical_date",
    "data_interval_end": "logical_date",
    "yesterday_ds": f"(logical_date - {_DAY}).strftime('%Y-%m-%d')",
    "tomorrow_ds": f"(logical_date + {_DAY}).strftime('%Y-%m-%d')",
    "yesterday_ds_nodash": f"(logical_date - {_DAY}).strftime('%Y%m%d')",
    "tomorrow_ds_nodash": f"(logical_date + {_DAY}).strftime('%Y%m%d')",
    "task_instance_key_str": "f'{dag_id}__{task.name}__{logical_date:%Y%m%d}'",
    "state": "state",
}
#: keys that need the run's values (the flow run's parameters and logical date) / the DAG id /
#: the run id / the task instance
_NEEDS_RUN = frozenset(_DATES) | {"params", "conf", "run_id", "dag_run", "ti", "task_instance", "task_instance_key_str"}
_NEEDS_DAG_ID = frozenset({"task_instance", "ti", "task", "dag", "dag_run", "task_instance_key_str"})
_NEEDS_RUN_ID = frozenset({"run_id", "dag_run", "task_instance", "ti"})
_NEEDS_TYPES = frozenset({"task_instance", "ti", "task", "dag", "dag_run"})


def _parents(root: cst.CSTNode) -> dict[int, cst.CSTNode]:
    out: dict[int, cst.CSTNode] = {}
    for node in iter_nodes(root):
        for child in children(node):
            out[id(child)] = node
    return out


def _string(node: cst.BaseExpression) -> str | None:
    return node.evaluated_value if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str) else None


def _attribute_use(node: cst.CSTNode, parents: dict[int, cst.CSTNode], attrs: frozenset[str]) -> bool:
    """Is ``node`` (a context value) used only as ``node.attr`` / ``getattr(node, "attr", ...)`` with
    ``attr`` in ``attrs``, or tested for truth?"""
    parent = parents.get(id(node))
    if isinstance(parent, cst.Attribute) and parent.value is node:
        return parent.attr.value in attrs
    if isinstance(parent, cst.Arg) and parent.value is node:
        call = parents.get(id(parent))
        return (
            isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == "getattr"
            and len(call.args) >= 2 and call.args[0] is parent and _string(call.args[1].value) in attrs
        )
    if isinstance(parent, (cst.If, cst.While)) and parent.test is node:
        return True
    if isinstance(parent, cst.IfExp) and parent.test is node:
        return True
    return isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not)


def callback_reads(fn: cst.FunctionDef, kind: str) -> set[str] | None:
    """The context keys callback ``fn(context)`` reads, when an adapter can give every one of them
    (known keys; of objects only known attributes); None when it reads others, or hands the
    context on (``notify(context)``), or a value of it (``ti.xcom_pull``)."""
    params = fn.params
    if not params.params or any(p.default is None for p in params.params[1:]) or params.kwonly_params:
        return None
    ctx = params.params[0].name.value
    allowed = CALLBACK_KEYS[kind]
    parents = _parents(fn.body)
    keys: set[str] = set()
    for node in walk_names(fn.body):
        if node.value != ctx:
            continue
        parent = parents.get(id(node))
        value: cst.CSTNode
        if isinstance(parent, cst.Subscript) and parent.value is node and len(parent.slice) == 1 and isinstance(parent.slice[0].slice, cst.Index):
            key, value = _string(parent.slice[0].slice.value), parent
        elif isinstance(parent, cst.Attribute) and parent.value is node and parent.attr.value == "get":
            call = parents.get(id(parent))
            if not isinstance(call, cst.Call) or not call.args or call.args[0].keyword is not None:
                return None
            key, value = _string(call.args[0].value), call
        else:
            return None
        if key is not None and key not in allowed and isinstance(value, cst.Call) and key not in _AIRFLOW_CONTEXT:
            continue  # ``context.get("task_id")``: no such key in Airflow's context either (None, or the default)
        if key is None or key not in allowed:
            return None
        keys.add(key)
        attrs = allowed[key]
        if attrs is None:
            continue
        holder = parents.get(id(value))
        if isinstance(holder, cst.AssignTarget) or (isinstance(holder, cst.Assign) and holder.value is value):
            assign = holder if isinstance(holder, cst.Assign) else parents.get(id(holder))
            if not isinstance(assign, cst.Assign) or len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
                return None
            alias = assign.targets[0].target.value
            uses = [n for n in walk_names(fn.body) if n.value == alias and n is not assign.targets[0].target]
            if not all(_attribute_use(n, parents, attrs) for n in uses):
                return None
        elif not _attribute_use(value, parents, attrs):
            return None
    return keys


def walk_names(root: cst.CSTNode) -> list[cst.Name]:
    """Every ``Name`` under ``root`` (cached by subtree: callbacks are asked about once a task)."""
    return find(root, cst.Name)


def _adapter(plan: Plan, kind: str, keys: set[str] | frozenset[str], retry: bool = False) -> str:
    """The file's adapter of ``kind`` (``task`` / ``flow``): ``task_callback(cb)`` is a Prefect
    state hook that calls the Airflow callback ``cb`` with a dict of the context keys the file's
    callbacks read (every key of :data:`ALL_CALLBACK_KEYS` when one of them reads what the
    converter cannot see), built from the hook's arguments (and ``prefect.runtime`` for a task).
    One adapter per kind and file: it gives the union of the keys its callbacks need."""
    adapters = plan.callback_adapters
    name, wanted = adapters.get(kind) or (plan.unique(f"{kind}_callback"), set())
    wanted |= keys | ({"<retry>"} if retry else set())
    adapters[kind] = (name, wanted)
    retry = "<retry>" in wanted
    wanted = wanted - {"<retry>"}
    hook_args = ("task", "task_run") if kind == "task" else ("flow", "flow_run")
    what = "task" if kind == "task" else "DAG"
    full = wanted >= ALL_CALLBACK_KEYS[kind]
    doc = (
        [
            f'    """An Airflow {what} callback as a Prefect {kind} state hook: it gets the run\'s Airflow context',
            "    (what this file's callbacks may read, from the hook's arguments; not `macros` and `var`).",
        ]
        if full
        else [
            f'    """An Airflow {what} callback as a Prefect {kind} state hook: it gets the context keys this',
            "    file's callbacks read, from the hook's arguments.",
        ]
    )
    if retry:
        doc.append("    As a task's retry_condition_fn (retry=True) it answers True: the task retries, as in Airflow.")
    lines = [f"def {name}(callback{', retry=False' if retry else ''}):", *doc, '    """', "", f"    def hook({', '.join(hook_args)}, state):"]
    if kind == "task":
        plan.need("prefect.runtime", "flow_run")
        start, dag_id = "flow_run.scheduled_start_time", "flow_run.flow_name"
    else:
        start, dag_id = "flow_run.expected_start_time", "flow.name"
    if wanted & _NEEDS_RUN:
        plan.need("datetime", "datetime", "timezone")
        lines += [
            "        parameters = dict(flow_run.parameters or {})",
            f"        logical_date = datetime.fromisoformat(str(parameters.pop('logical_date', None) or {start}))",
            "        if logical_date.tzinfo is None:",
            "            logical_date = logical_date.replace(tzinfo=timezone.utc)",
        ]
        if wanted & {"dag_run", "conf"}:
            lines.append("        conf = parameters.pop('conf', None) or {}")
        elif "params" in wanted:
            lines.append("        parameters.pop('conf', None)")
    if wanted & {"yesterday_ds", "tomorrow_ds", "yesterday_ds_nodash", "tomorrow_ds_nodash"}:
        plan.need("datetime", "timedelta")
    if wanted & _NEEDS_DAG_ID:
        lines.append(f"        dag_id = {dag_id}")
    if wanted & _NEEDS_RUN_ID:
        lines.append("        run_id = f'manual__{logical_date.isoformat()}'")
    if wanted & {"task_instance", "ti"}:
        word = "'failed' if state.is_failed() else 'success' if state.is_completed() else state.name.lower()"
        if retry:
            word = f"'up_for_retry' if retry else {word}"
        task_id, try_number = ("task.name", "task_run.run_count") if kind == "task" else ("None", "None")
        lines += [
            f"        ti_state = {word}",
            f"        ti = types.SimpleNamespace(task_id={task_id}, dag_id=dag_id, run_id=run_id, try_number={try_number}, state=ti_state)",
        ]
    if "dag_run" in wanted:
        lines += [
            "        dag_run = types.SimpleNamespace(",
            "            dag_id=dag_id, run_id=run_id, conf=conf, logical_date=logical_date, execution_date=logical_date,",
            "            run_after=logical_date, run_type='manual', external_trigger=True, data_interval_start=logical_date,",
            "            data_interval_end=logical_date, partition_key=None, partition_date=None,",
            "        )",
        ]
    if wanted & _NEEDS_TYPES:
        plan.need("", "types")
    source = {**_KEY_SOURCE, "prefect_task": hook_args[0], "prefect_task_run": hook_args[1]}
    call = ["callback({", *(f"    {key!r}: {source[key]}," for key in sorted(wanted)), "})"]
    if retry:  # Airflow logs a callback's error, and the task still retries
        plan.need("", "logging")
        lines += ["        try:", *(f"            {line}" for line in call), "        except Exception:"]
        lines += [
            "            if not retry:",
            "                raise",
            "            logging.getLogger(__name__).exception('on_retry_callback %s failed', hook.__name__)",
            "        return True",
        ]
    else:
        lines += [f"        {line}" for line in call]
    lines += ["", f"    hook.__name__ = getattr(callback, '__name__', {name!r})", "    return hook"]
    plan.helpers[name] = "\n".join(lines) + "\n"
    return name


def _file_functions(plan: Plan, node: cst.CSTNode) -> list[cst.FunctionDef]:
    """The functions of the file a callback expression reaches: a name of one, and the file's
    functions those call by name (a callback handing its context on to a helper of the file)."""
    seen: dict[str, cst.FunctionDef] = {}
    todo = [n.value for n in ([node] if isinstance(node, cst.Name) else walk_names(node))]
    while todo:
        name = todo.pop()
        fn = plan.model.functions.get(name)
        if fn is None or name in seen:
            continue
        seen[name] = fn
        todo.extend(n.value for n in walk_names(fn.body))
    return list(seen.values())


def _reads_runtime_keys(plan: Plan, node: cst.CSTNode) -> bool:
    """Does a callback (or a function of the file it reaches) read a context key only this
    project's runtime gives (``context["macros"]``, ``context.get("var")``)?"""
    memo = plan.runtime_key_reads
    hit = memo.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    found = False
    for root in [node, *(fn.body for fn in _file_functions(plan, node))]:
        for item in find(root, cst.Subscript):
            if len(item.slice) == 1 and isinstance(item.slice[0].slice, cst.Index) and _string(item.slice[0].slice.value) in RUNTIME_CALLBACK_KEYS:
                found = True
        for item in find(root, cst.Call):
            if isinstance(item.func, cst.Attribute) and item.func.attr.value == "get" and item.args and _string(item.args[0].value) in RUNTIME_CALLBACK_KEYS:
                found = True
        if found:
            break
    memo[id(node)] = (node, found)
    return found


def _unchecked(plan: Plan, node: cst.BaseExpression, kind: str, line: int) -> None:
    """The ledger's note (IX206, once per callback and kind) for a callback whose reads the
    converter cannot see: what the adapter gives it, and what it does not."""
    code = code_of(node).strip()
    reported = plan.callback_notes
    if (code, kind) in reported:
        return
    reported.add((code, kind))
    plan.finding(
        "IX206",
        plan.model.line_of(node) or line,
        f"{'DAG' if kind == 'flow' else 'task'} callback `{code}`: its reads of the context are not checked (defined "
        "elsewhere, handing the context on, or reading other keys or attributes); it gets the run's Airflow context in "
        "plain Python, without `macros` and `var` (a read of another key or attribute fails when it runs; "
        "`context.get(key)` gives None)",
    )


def _callback_hook(plan: Plan, node: cst.BaseExpression, kind: str, line: int, retry: bool = False) -> str:
    """The hook of one Airflow callback expression: the file's adapter with the keys it reads (a
    function of the file reading known keys), else with every key it can build; a callback that
    reads ``macros`` / ``var`` keeps ``airflow_interop.runtime.airflow_callback``."""
    code = code_of(node).strip()
    fn = plan.model.functions.get(node.value) if isinstance(node, cst.Name) and node.value not in plan.model.taskflow_functions else None  # type: ignore[attr-defined]
    keys = None
    if fn is not None:  # asked once per task that has the callback: read once per function
        memo = plan.callback_key_reads
        if (id(fn), kind) not in memo:
            memo[(id(fn), kind)] = (fn, callback_reads(fn, kind))
        keys = memo[(id(fn), kind)][1]
    if keys is None and _reads_runtime_keys(plan, node):
        plan.need("airflow_interop.runtime", "airflow_callback")
        return f"airflow_callback({code})"
    if keys is None:
        _unchecked(plan, node, kind, line)
    adapter = _adapter(plan, kind, ALL_CALLBACK_KEYS[kind] if keys is None else keys, retry)
    return f"{adapter}({code}, retry=True)" if retry else f"{adapter}({code})"


def _retry_hook(plan: Plan, node: cst.BaseExpression, line: int) -> str | None:
    """``task_callback(cb, retry=True)`` as the task's ``retry_condition_fn`` for an
    ``on_retry_callback``: Prefect calls it when a failed run has retries left (when Airflow calls
    ``on_retry_callback``), and it answers True, an error of the callback logged as Airflow logs
    it. None for a list of callbacks (one ``retry_condition_fn``) or one that reads ``macros`` /
    ``var`` (``airflow_callback``'s hook answers None: the task would not retry)."""
    if isinstance(node, (cst.List, cst.Tuple)) or _reads_runtime_keys(plan, node):
        return None
    return _callback_hook(plan, node, "task", line, retry=True)


def state_hooks(plan: Plan, node: cst.BaseExpression, kind: str, line: int = 0) -> str:
    """``[hook, ...]`` for an Airflow ``on_*_callback`` value (a callback or a list of them).

    Each callback is called by the file's adapter ``task_callback(cb)`` / ``flow_callback(cb)``
    (plain Python: the hook's arguments and ``prefect.runtime``), with the keys it reads when it
    is a function of this file reading known keys, else with the whole context the adapter can
    build; only a callback reading ``macros`` / ``var`` goes through ``airflow_interop.runtime.airflow_callback``."""
    listed = isinstance(node, (cst.List, cst.Tuple))
    if listed and any(isinstance(e, cst.StarredElement) for e in node.elements):  # type: ignore[union-attr]
        # ``[*ALERTS]``: each callback of the list (a StarredElement's value is the list it unpacks)
        if _reads_runtime_keys(plan, node):
            plan.need("airflow_interop.runtime", "airflow_callback")
            return f"[airflow_callback(cb) for cb in {code_of(node).strip()}]"
        _unchecked(plan, node, kind, line)
        return f"[{_adapter(plan, kind, ALL_CALLBACK_KEYS[kind])}(cb) for cb in {code_of(node).strip()}]"
    elements = [e.value for e in node.elements] if listed else [node]  # type: ignore[union-attr]
    return f"[{', '.join(_callback_hook(plan, element, kind, line) for element in elements)}]"


def decorator_kwargs(task: Task, name: str | None) -> list[str]:
    """``name=..., retries=...`` source fragments for ``@task(...)`` or ``.with_options(...)``."""
    parts = []
    if name is not None:
        parts.append(f"name={name!r}")
    for key in ("retries", "retry_delay_seconds", "timeout_seconds", "tags"):
        if key in task.option_sources:
            parts.append(f"{key}={task.option_sources[key]}")
    for hook, src in task.hooks.items():
        parts.append(f"{hook}={src}")
    return parts


class TaskOptions(Rule):
    """``default_args`` and per-task retries and timeouts become Prefect task options.

    Values known statically are written as numbers; ``default_args`` that cannot be read
    statically (imported from a helper module, ``{**BASE, ...}``) are read by reference, so a
    task never has fewer retries than Airflow gives it.
    """

    CONSTRUCT = "`default_args`, `retries`, `retry_delay`, `retry_exponential_backoff`, `execution_timeout`, `on_failure_callback`, `on_success_callback`"
    RESULT = "`@task(retries=..., retry_delay_seconds=..., timeout_seconds=..., on_failure=[task_callback(cb)])`"
    CODES = ("IX206", "IX401", "IX402")
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            from datetime import timedelta
            with DAG("opts", schedule=None, default_args={"retries": 2, "retry_delay": timedelta(minutes=1)}):
                a = BashOperator(task_id="a", bash_command="echo a", execution_timeout=timedelta(seconds=30))
            """, "retries=2", "retry_delay_seconds=60", "timeout_seconds=30", title="static values"),
        converts(AIRFLOW_HEADER + """
            from team.config import DEFAULT_ARGS
            with DAG("by_reference", schedule=None, default_args={**DEFAULT_ARGS, "owner": "data"}):
                a = BashOperator(task_id="a", bash_command="echo a")
            """, "retries=DEFAULT_ARGS.get('retries', 0)", "retry_delay_seconds=in_seconds(DEFAULT_ARGS.get('retry_delay', 300))",
            "def in_seconds(delta):", "return delta.total_seconds() if isinstance(delta, timedelta) else delta",
            title="default_args imported from a helper module: read by reference, in seconds by a function of the file"),
        converts(AIRFLOW_HEADER + """
            from datetime import timedelta
            RETRIES = 3
            RETRY_DELAY = timedelta(minutes=2)
            with DAG("named", schedule=None):
                a = BashOperator(task_id="a", bash_command="echo a", retries=RETRIES, retry_delay=RETRY_DELAY)
            """, "retries=RETRIES", "retry_delay_seconds=RETRY_DELAY.total_seconds()",
            title="constants stay names"),
        converts(AIRFLOW_HEADER + """
            def page_oncall(context):
                print("failed:", context["task_instance"].task_id, context["exception"])

            with DAG("alerts", schedule=None, default_args={"on_failure_callback": page_oncall}):
                a = BashOperator(task_id="a", bash_command="exit 1")
            """, "on_failure=[task_callback(page_oncall)]", "def task_callback(callback):",
            "def hook(task, task_run, state):", "'exception': state.result(raise_on_failure=False) if state.is_failed() else None,",
            title="a callback of the file: called by a small adapter with the context keys it reads"),
        converts(AIRFLOW_HEADER + """
            def warn(context):
                print("retrying", context["ti"].task_id, context["ti"].try_number)

            with DAG("retrying", schedule=None):
                a = BashOperator(task_id="a", bash_command="exit 1", retries=2, on_retry_callback=warn)
            """, "retry_condition_fn=task_callback(warn, retry=True)", "def task_callback(callback, retry=False):",
            "ti_state = 'up_for_retry' if retry else", "return True",
            title="on_retry_callback: the task's retry_condition_fn, called when a failed run retries"),
        converts(AIRFLOW_HEADER + """
            from team.alerts import notify_slack
            with DAG("alerts", schedule=None, default_args={"on_failure_callback": notify_slack}):
                a = BashOperator(task_id="a", bash_command="exit 1")
            """, "on_failure=[task_callback(notify_slack)]", "'dag_run': dag_run,", "'ts_nodash': logical_date.strftime('%Y%m%dT%H%M%S'),",
            "ti = types.SimpleNamespace(task_id=task.name, dag_id=dag_id, run_id=run_id, try_number=task_run.run_count, state=ti_state)",
            title="a callback from another module (what it reads is unknown): the whole context the adapter builds, IX206 in the ledger"),
        converts(AIRFLOW_HEADER + """
            def tell(context):
                print("failed, tomorrow is", context["macros"].ds_add(context["ds"], 1))

            with DAG("alerts", schedule=None, on_failure_callback=tell):
                a = BashOperator(task_id="a", bash_command="exit 1")
            """, "on_failure=[airflow_callback(tell)]", "from airflow_interop.runtime import airflow_callback",
            title="a callback reading `macros` or `var`: the runtime's airflow_callback, which gives them"),
    ]
