"""Read flow and task runs back from the Prefect API: subflows, task runs, recorded edges."""

from __future__ import annotations

from typing import Any
from uuid import UUID


def subflow_runs(parent_flow_run_id: UUID) -> list[Any]:
    """The subflow runs started by a flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    with get_client(sync_client=True) as client:
        return list(
            client.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_flow_run_id]))
            )
        )


def task_runs(flow_run_id: UUID) -> list[Any]:
    """The task runs of one flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

    with get_client(sync_client=True) as client:
        return list(client.read_task_runs(task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]))))


def edges(runs: list[Any]) -> set[tuple[str, str]]:
    """``(upstream name, downstream name)`` for every ``wait_for`` and data input of the runs."""
    by_id = {run.id: run.name for run in runs}
    out: set[tuple[str, str]] = set()
    for run in runs:
        for inputs in run.task_inputs.values():
            for item in inputs:
                upstream = getattr(item, "id", None)
                if upstream in by_id:
                    out.add((by_id[upstream], run.name))
    return out
