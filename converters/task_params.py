"""Rule: task-level ``params={...}`` -> the task's run context carries them.

What: ``BashOperator(task_id="t", bash_command="echo {{ params.b }}", params={"b": 2})`` (or a
PythonOperator whose callable reads ``context["params"]``) becomes a task called with

    t.submit(ctx=airflow_context(ctx.logical_date, params={**ctx.params, **{"b": 2}}, ...))

or, for a callable that takes ``params``, ``params={**ctx.params, **{"b": 2}}``.

Why: Airflow merges a task's ``params`` over the DAG's for that task's context; the flow's
``ctx`` has the DAG's only, so ``params.b`` would be missing at run time.

Safety: runs after the rules that set the call arguments; only the ``ctx`` / ``params``
arguments those rules chose are rewritten.
"""

from __future__ import annotations

from converters.model import Dag
from converters.plan import Plan

ORDER = 55


def apply(plan: Plan, dag: Dag) -> None:
    for task in dag.tasks.values():
        node = task.kwargs.get("params")
        if node is None or task.kind in ("empty", "unsupported"):
            continue
        merged = f"{{**ctx.params, **{plan.substitute(node, task, dag)}}}"
        if task.call_kwargs.get("params") == "ctx.params":
            task.call_kwargs["params"] = merged
        if task.call_kwargs.get("ctx") == "ctx":
            task.call_kwargs["ctx"] = (
                f"airflow_context(ctx.logical_date, params={merged}, conf=ctx.conf, dag_id=ctx.dag_id, run_id=ctx.run_id)"
            )
            plan.need("airflow_interop.runtime", "airflow_context")
