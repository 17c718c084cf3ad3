"""Airflow task contexts built by Airflow's own task SDK, without an API server.

In a real Airflow 3 worker, the API server sends a ``TIRunContext`` (the DAG run, max tries,
retry eligibility) and the task runner wraps the task in a
:class:`airflow.sdk.execution_time.task_runner.RuntimeTaskInstance`, whose
``get_template_context()`` builds the context every operator sees (``ti``, ``ds``, ``ts``,
``logical_date``, ``data_interval_*``, ``params`` validated against the DAG's params with
``dag_run.conf`` applied, ``macros``, ``var``, ``conn`` ...).

This module builds the same two objects in memory, so the context is Airflow's, not a copy of
it. XCom and Variable calls made through that context are answered by
:mod:`airflow_interop.comms`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

__all__ = ["coerce_logical_date", "make_dag_run", "make_task_instance", "manual_run_id", "infer_data_interval"]


def coerce_logical_date(value: Any) -> datetime:
    """A timezone-aware datetime from a datetime, a date or an ISO string (UTC when naive)."""
    from datetime import date

    if value is None:
        return datetime.now(timezone.utc)
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"logical date {value!r} is not an ISO 8601 date or datetime") from exc
    else:
        raise TypeError(f"logical_date must be a datetime, a date or an ISO string, not {type(value).__name__}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def manual_run_id(run_after: datetime) -> str:
    """The run id Airflow gives a manual run: ``manual__<ISO run-after time>``.

    ``airflow dags test`` and a manual trigger both name the run after *when* it was
    triggered (``run_after``), not after its logical date.
    """
    return f"manual__{run_after.isoformat()}"


def infer_data_interval(dag: Any, logical_date: datetime) -> tuple[datetime, datetime]:
    """The data interval Airflow infers for a manual run of ``dag`` at ``logical_date``.

    Uses the DAG's own timetable (``infer_manual_data_interval``), as ``dag.test()`` does.
    """
    try:
        from airflow.serialization.encoders import coerce_to_core_timetable

        timetable = coerce_to_core_timetable(dag.timetable)
        interval = timetable.infer_manual_data_interval(run_after=logical_date)
        return interval.start, interval.end
    except Exception:  # noqa: BLE001 - timetables needing a DB or an unknown type: Airflow's default
        return logical_date, logical_date


def make_dag_run(
    dag_id: str,
    *,
    logical_date: datetime,
    run_id: str | None = None,
    conf: dict[str, Any] | None = None,
    data_interval: tuple[datetime, datetime] | None = None,
    start_date: datetime | None = None,
) -> Any:
    """The task SDK's ``DagRun`` model for a manual run."""
    from airflow.sdk.api.datamodels._generated import DagRun, DagRunState, DagRunType

    start, end = data_interval or (logical_date, logical_date)
    return DagRun(
        dag_id=dag_id,
        run_id=run_id or manual_run_id(datetime.now(timezone.utc)),
        logical_date=logical_date,
        data_interval_start=start,
        data_interval_end=end,
        run_after=logical_date,
        start_date=start_date or datetime.now(timezone.utc),
        end_date=None,
        run_type=DagRunType.MANUAL,
        state=DagRunState.RUNNING,
        conf=dict(conf or {}),
        consumed_asset_events=[],
        partition_key=None,
    )


def make_task_instance(
    task: Any,
    dag_run: Any,
    *,
    map_index: int = -1,
    try_number: int = 1,
    task_reschedule_count: int = 0,
    next_method: str | None = None,
    next_kwargs: Any = None,
) -> Any:
    """A ``RuntimeTaskInstance`` of ``task`` in ``dag_run``, as the task runner's ``parse()`` makes.

    Args:
        task: the operator (a ``BaseOperator`` or ``MappedOperator`` attached to a DAG).
        dag_run: from :func:`make_dag_run`.
        map_index: -1 for an unmapped task, else the mapped instance's index.
        try_number: 1 for the first try.
        task_reschedule_count: how many times a reschedule-mode sensor was rescheduled.
        next_method: resume a deferred task with this method.
        next_kwargs: serialized keyword arguments for ``next_method``.

    Returns:
        The runtime task instance; ``should_retry`` is set from the task's ``retries``, so the
        SDK itself decides between ``up_for_retry`` and ``failed``.
    """
    from airflow.sdk.api.datamodels._generated import TIRunContext
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    retries = int(getattr(task, "retries", 0) or 0)
    max_tries = retries
    run_context = TIRunContext(
        dag_run=dag_run,
        max_tries=max_tries,
        task_reschedule_count=task_reschedule_count,
        should_retry=try_number <= max_tries,
        next_method=next_method,
        next_kwargs=next_kwargs,
    )
    ti = RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(),
        task_id=task.task_id,
        dag_id=dag_run.dag_id,
        run_id=dag_run.run_id,
        try_number=try_number,
        dag_version_id=uuid.uuid4(),
        map_index=map_index,
        hostname=None,
        context_carrier=None,
        queue="default",
        task=task,
        bundle_instance=None,
        max_tries=max_tries,
        start_date=datetime.now(timezone.utc),
        end_date=None,
        state=None,
        is_mapped=bool(getattr(task, "is_mapped", False)),
        rendered_map_index=None,
        sentry_integration="",
    )
    ti._ti_context_from_server = run_context
    return ti
