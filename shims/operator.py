"""Run one real Airflow operator in-process, as a function or as a Prefect task.

This is the shim the converter falls back to for operators it cannot turn into plain Python
(provider operators, custom operators): the converted flow builds the operator with its
original arguments (no DAG) and calls :func:`run_operator`, or wraps it with
:func:`airflow_task` to get a Prefect task.

The operator runs through Airflow's own task runner (``task_runner.run``): templated fields are
rendered by ``render_template_fields`` with the DAG's Jinja environment, ``pre_execute``,
``execute``, ``post_execute`` and ``execution_timeout`` are Airflow's, and XComs go through
Airflow's XCom serialization. Only the supervisor is replaced by an in-memory one
(:mod:`airflow_interop.comms`).

Example:
    >>> from airflow.providers.standard.operators.bash import BashOperator
    >>> from airflow_interop.runtime import airflow_context
    >>> run_operator(BashOperator(task_id="hello", bash_command="echo {{ ds }}"),
    ...              ctx=airflow_context("2024-01-31"))
    {'return_value': '2024-01-31'}
"""

from __future__ import annotations

import copy
import logging
from datetime import timedelta
from typing import Any, Mapping

__all__ = ["run_operator", "airflow_task", "TaskSkipped", "OperatorFailed"]

log = logging.getLogger(__name__)

_SHIM_DAG_ID = "interop_shim"


class TaskSkipped(Exception):
    """The operator skipped itself (it raised Airflow's ``AirflowSkipException``).

    Attributes:
        task_id: the operator's task id.
        reason: the skip message, if any.
        xcoms: XComs the operator pushed before skipping.
    """

    def __init__(self, task_id: str, reason: str = "", xcoms: dict[str, Any] | None = None) -> None:
        self.task_id = task_id
        self.reason = reason
        self.xcoms = dict(xcoms or {})
        super().__init__(f"Airflow task {task_id!r} skipped" + (f": {reason}" if reason else ""))


class OperatorFailed(RuntimeError):
    """The operator ended ``failed`` without a Python exception to re-raise."""


def _default_ctx(ctx: Any) -> Any:
    if ctx is not None:
        return ctx
    from airflow_interop.runtime import airflow_context

    return airflow_context()


def _attach_to_dag(operator: Any, ctx: Any, downstream: list[str] | None = None) -> Any:
    """A copy of ``operator`` attached to a DAG (its own, or a throwaway one with ctx's params).

    ``downstream``: task ids placed below it in the throwaway DAG (as placeholders), so that a
    branch operator may choose among them as it does in its own DAG.
    """
    from airflow.sdk import DAG

    op = copy.copy(operator)
    if getattr(operator, "has_dag", lambda: False)():
        return op
    dag = DAG(
        dag_id=getattr(ctx, "dag_id", None) or _SHIM_DAG_ID,
        schedule=None,
        params=dict(getattr(ctx, "params", None) or {}),
    )
    op.__dict__["_dag"] = None
    op.upstream_task_ids = set()
    op.downstream_task_ids = set()
    op.dag = dag
    if downstream:
        from airflow.providers.standard.operators.empty import EmptyOperator

        for task_id in downstream:
            if task_id != op.task_id and task_id not in dag.task_dict:
                op.set_downstream(EmptyOperator(task_id=task_id, dag=dag))
    return op


def _ctx_values(ctx: Any) -> dict[str, Any]:
    from airflow_interop.context import coerce_logical_date

    logical_date = coerce_logical_date(getattr(ctx, "logical_date", None))
    start = getattr(ctx, "data_interval_start", None) or logical_date
    end = getattr(ctx, "data_interval_end", None) or logical_date
    return {
        "logical_date": logical_date,
        "data_interval": (coerce_logical_date(start), coerce_logical_date(end)),
        "run_id": getattr(ctx, "run_id", None) or None,
        "conf": dict(getattr(ctx, "conf", None) or {}),
    }


def run_operator(
    operator: Any,
    *,
    ctx: Any = None,
    upstream: Mapping[str, Mapping[str, Any]] | None = None,
    downstream: list[str] | None = None,
) -> dict[str, Any]:
    """Run a real Airflow operator in this process and return the XComs it pushed.

    Args:
        operator: an Airflow ``BaseOperator`` instance, built with its original arguments
            (it need not belong to a DAG; the caller's object is not modified).
        ctx: a :class:`airflow_interop.runtime.RunContext` (logical date, params, ``dag_run.conf``, ids);
            ``None`` builds one for now (UTC) with :func:`airflow_interop.runtime.airflow_context`.
        upstream: upstream task id -> ``{xcom key: value}``; ``ti.xcom_pull(task_ids=t, key=k)``
            in templates and in ``execute()`` answers from it (``None`` when missing, as in
            Airflow).
        downstream: the task ids directly below it in its DAG. A branch operator
            (``BranchDateTimeOperator``, ``LatestOnlyOperator`` ...) chooses among them: its
            choice is the ``skipmixin_key`` XCom (``{"followed": [...]}``), which
            :func:`airflow_interop.runtime.branch_targets` reads.

    Returns:
        Every XCom the operator pushed, ``{key: value}``, with ``execute()``'s return value under
        ``"return_value"`` when it is not ``None`` (and ``do_xcom_push`` is on).

    Raises:
        TaskSkipped: the operator raised ``AirflowSkipException`` (or skipped itself).
        Exception: whatever the operator raised when it failed, unchanged (Airflow's own
            exceptions included, e.g. ``AirflowTaskTimeout`` on ``execution_timeout``).
    """
    from airflow.sdk.bases.xcom import BaseXCom
    from airflow.sdk.execution_time import task_runner

    from airflow_interop.comms import InMemorySupervisor, XComStore, bound
    from airflow_interop.context import make_dag_run, make_task_instance
    from airflow_interop.tasklog import TaskLogCapture

    ctx = _default_ctx(ctx)
    values = _ctx_values(ctx)
    op = _attach_to_dag(operator, ctx, downstream)
    dag = op.dag
    dag_run = make_dag_run(
        dag.dag_id,
        logical_date=values["logical_date"],
        run_id=values["run_id"],
        conf=values["conf"],
        data_interval=values["data_interval"],
    )
    store = XComStore()
    for task_id, pushed in (upstream or {}).items():
        for key, value in (pushed or {}).items():
            store.set(task_id, -1, key, BaseXCom.serialize_value(value, key=key, task_id=task_id))
    supervisor = InMemorySupervisor(dag.dag_id, dag_run.run_id, xcoms=store)
    # Retries belong to the caller (Prefect's task retries): one try here.
    resume: tuple[str, Any] | None = None
    with bound(supervisor), TaskLogCapture(op.task_id) as capture:
        from airflow_interop.runner import _bridge_for, _run_trigger

        while True:
            ti = make_task_instance(op, dag_run, try_number=1, next_method=resume and resume[0], next_kwargs=resume and resume[1])
            ti._ti_context_from_server.should_retry = False
            supervisor.ti_keys[ti.id] = (op.task_id, -1)
            supervisor.terminal = None
            context = ti.get_template_context()
            with _bridge_for(op, supervisor, capture):
                state, _msg, error = task_runner.run(ti, context, capture.logger)
            if getattr(state, "value", str(state)) != "deferred":
                break
            # a deferrable operator: its trigger runs here until its first event, then the
            # operator resumes with it (as the in-process runner and ``airflow dags test`` do)
            resume = _run_trigger(supervisor.terminal)
    xcoms = store.deserialized(op.task_id, -1)
    state_name = getattr(state, "value", str(state))
    if state_name == "success":
        return xcoms
    if state_name == "skipped":
        raise TaskSkipped(op.task_id, _skip_reason(capture.text), xcoms)
    if error is not None:
        raise error
    raise OperatorFailed(f"Airflow task {op.task_id!r} ended {state_name}. Log:\n{capture.text[-2000:]}")


def _skip_reason(text: str) -> str:
    """The reason Airflow's task runner logged with "Skipping task." (empty when none)."""
    import re

    for line in text.splitlines():
        if "Skipping task" in line:
            found = re.search(r"reason=(.*?)(?:\s+task_id=\S+)?\s*$", line)
            return found.group(1).strip() if found else ""
    return ""


def airflow_task(
    operator: Any,
    *,
    name: str | None = None,
    retries: int | None = None,
    retry_delay_seconds: float | None = None,
    timeout_seconds: float | None = None,
    tags: list[str] | None = None,
) -> Any:
    """One Airflow operator as a Prefect task (the converter's fallback for unknown operators).

    The task's options default to the operator's: ``retries``, ``retry_delay`` (seconds) and
    ``execution_timeout`` (``timeout_seconds``); the task and its runs are named after the
    operator's task id.

    The returned Prefect task takes ``ctx=None, upstream=None`` (see :func:`run_operator`) and
    returns the XCom dict. When the operator skips, the task ends in a ``Completed`` state named
    ``"Skipped"`` whose result is ``None``, so the flow goes on and the run shows the skip.

    Example:
        >>> extract = airflow_task(SimpleHttpOperator(task_id="extract", endpoint="/x"))
        >>> @flow
        ... def pipeline():
        ...     xcoms = extract(ctx=airflow_context(), upstream={})
    """
    from prefect import task
    from prefect.states import Completed

    task_id = operator.task_id
    op_retries = retries if retries is not None else int(getattr(operator, "retries", 0) or 0)
    delay = retry_delay_seconds
    if delay is None:
        rd = getattr(operator, "retry_delay", None)
        delay = rd.total_seconds() if isinstance(rd, timedelta) else float(rd or 0)
    timeout = timeout_seconds
    if timeout is None:
        et = getattr(operator, "execution_timeout", None)
        timeout = et.total_seconds() if isinstance(et, timedelta) else None

    def _run(ctx: Any = None, upstream: Mapping[str, Mapping[str, Any]] | None = None) -> Any:
        try:
            return run_operator(operator, ctx=ctx, upstream=upstream)
        except TaskSkipped as skipped:
            return Completed(name="Skipped", message=str(skipped), data=None)

    _run.__name__ = _run.__qualname__ = f"airflow_task_{task_id}".replace(".", "_")
    return task(
        _run,
        name=name or task_id,
        task_run_name=name or task_id,
        retries=op_retries,
        retry_delay_seconds=delay,
        timeout_seconds=timeout,
        tags=list(tags or []) + ["airflow-shim"],
    )
