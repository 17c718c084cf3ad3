"""Rule: ``default_args`` and per-task scheduling arguments -> Prefect task options.

What: ``retries``, ``retry_delay``, ``retry_exponential_backoff``, ``max_retry_delay`` and
``execution_timeout`` (from ``default_args`` or the operator, the operator winning) become
``@task(retries=..., retry_delay_seconds=..., timeout_seconds=...)``; with exponential backoff
the delays are listed (``[300, 600, 1200]``, capped by ``max_retry_delay``).
``on_failure_callback`` / ``on_success_callback`` become ``on_failure=`` / ``on_completion=``
state hooks through ``shims.runtime.airflow_callback`` (the callback still gets a context dict).

Why: Prefect's retry and timeout options are the same guarantees under other names.

Safety: values are computed statically (``timedelta(minutes=5)`` -> ``300``); a value only
known at run time is passed as an expression (``.total_seconds()``). ``default_args`` that cannot
be read statically (imported from a helper module, ``{**BASE, ...}``) are read by reference:
``retries=DEFAULT_ARGS.get('retries', 0)``, ``timeout_seconds=seconds(DEFAULT_ARGS.get(
'execution_timeout', None))``; the ledger states the expression in place of the number. Arguments with no Prefect
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
from converters.rules import AIRFLOW_HEADER, Rule, converts, marks, refuses, unchanged  # noqa: F401

ORDER = 10

#: the tag of a task that ran in an Airflow pool: ``interop deploy`` creates a Prefect tag-based
#: concurrency limit of the pool's slots on it
POOL_TAG = "airflow-pool:{pool}"


def _seconds(node: cst.BaseExpression, task: Task, plan: Plan) -> tuple[float | None, str | None]:
    """(static seconds, or None with the source of a run-time expression)."""
    src = code_of(node).strip()
    if isinstance(node, cst.Call):
        func = plan.analyzer.qualname(node.func) or ""
        keys = {a.keyword.value for a in node.args if a.keyword is not None}
        if func.endswith("timedelta") or (func == "pendulum.duration" and not keys & {"years", "months"}):
            kwargs: dict[str, Any] = {}
            ok = True
            for i, arg in enumerate(node.args):
                value = const_value(arg.value, task, plan.analyzer)
                if not isinstance(value, Const) or not isinstance(value.value, (int, float)):
                    ok = False
                    break
                key = arg.keyword.value if arg.keyword else ["days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"][i]
                kwargs[key] = value.value
            if ok:
                return _dt.timedelta(**kwargs).total_seconds(), None
        plan.need("shims.runtime", "seconds")
        return None, f"seconds({src})"
    value = const_value(node, task, plan.analyzer)
    if isinstance(value, Const) and isinstance(value.value, (int, float)):
        return float(value.value), None
    if isinstance(value, Const) and value.value is None:
        return None, None
    plan.need("shims.runtime", "seconds")
    return None, f"seconds({src})"


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
                plan.need("shims.runtime", "seconds")
                src["retry_delay_seconds"] = f"seconds({_by_reference(refs, 'retry_delay', '300')})"
        if refs and "execution_timeout" not in merged:
            plan.need("shims.runtime", "seconds")
            src["timeout_seconds"] = f"seconds({_by_reference(refs, 'execution_timeout', 'None')})"
        if "retries" in merged:
            value = const_value(merged["retries"], task, plan.analyzer)
            if isinstance(value, Const) and isinstance(value.value, int):
                opts["retries"] = value.value
                src["retries"] = str(value.value)
            else:
                src["retries"] = code_of(merged["retries"]).strip()
        delay = None
        if "retry_delay" in merged:
            delay, expr = _seconds(merged["retry_delay"], task, plan)
            if delay is not None:
                opts["retry_delay_seconds"] = _num(delay)
                src["retry_delay_seconds"] = repr(_num(delay))
            elif expr:
                src["retry_delay_seconds"] = expr
        elif opts.get("retries") and refs:
            plan.need("shims.runtime", "seconds")
            src["retry_delay_seconds"] = f"seconds({_by_reference(refs, 'retry_delay', '300')})"
        elif opts.get("retries"):
            # Airflow's default retry_delay is 300 s
            delay = 300.0
            opts["retry_delay_seconds"] = 300
            src["retry_delay_seconds"] = "300"
        backoff = const_value(merged.get("retry_exponential_backoff"), task, plan.analyzer)
        if isinstance(backoff, Const) and backoff.value and isinstance(opts.get("retries"), int) and delay is not None:
            cap = None
            if "max_retry_delay" in merged:
                cap, _ = _seconds(merged["max_retry_delay"], task, plan)
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
            timeout, expr = _seconds(merged["execution_timeout"], task, plan)
            if timeout is not None:
                opts["timeout_seconds"] = _num(timeout)
                src["timeout_seconds"] = repr(_num(timeout))
            elif expr:
                src["timeout_seconds"] = expr
        for arg, hook in names.CALLBACK_ARGS.items():
            if arg in merged:
                if hook is None:
                    plan.finding("IX402", task.line, f"task {task.task_id!r}: `{arg}` has no Prefect hook; dropped")
                    continue
                plan.need("shims.runtime", "airflow_callback")
                task.hooks[hook] = f"[airflow_callback({code_of(merged[arg]).strip()})]"
        pool = const_value(merged.get("pool"), task, plan.analyzer) if "pool" in merged else None
        if isinstance(pool, Const) and isinstance(pool.value, str) and pool.value:
            # a pool is a tag-based concurrency limit that ``interop deploy`` creates
            task.options["_pool"] = pool.value
            task.option_sources["tags"] = repr([POOL_TAG.format(pool=pool.value)])
        # provide_context: the converted callable gets the context values it reads as parameters
        carried = {"provide_context"} | ({"pool"} if "_pool" in task.options else set())
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

    CONSTRUCT = "`default_args`, `retries`, `retry_delay`, `retry_exponential_backoff`, `execution_timeout`"
    RESULT = "`@task(retries=..., retry_delay_seconds=..., timeout_seconds=...)`"
    CODES = ("IX401", "IX402")
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
            """, "retries=DEFAULT_ARGS.get('retries', 0)", "seconds(DEFAULT_ARGS.get('retry_delay', 300))",
            title="default_args imported from a helper module: read by reference"),
    ]
