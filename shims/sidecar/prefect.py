"""Run an Airflow 1.10/2.x DAG through the sidecar inside a Prefect flow.

:func:`airflow_dag_sidecar` (also reached as ``airflow_dag(..., airflow_python=PATH)``) runs the
DAG in the team's Airflow interpreter (:class:`airflow_interop.sidecar.Sidecar`) as a Prefect subflow
named after the DAG. When the run is over, each Airflow task instance becomes one Prefect task
run named by its task id, in dependency order, with its upstream tasks as ``wait_for`` (so
Prefect records the DAG's edges) and the same state mapping as :func:`airflow_interop.prefect_dag.airflow_dag`:
``success`` -> ``Completed`` (result: its XComs), ``skipped`` -> ``Completed`` named ``Skipped``,
``failed`` -> ``Failed`` with the task id and error, ``upstream_failed`` -> ``Failed`` named
``UpstreamFailed``. The subflow returns ``{task_id: {key: value}}`` or raises
:class:`airflow_interop.prefect_dag.AirflowDagFailed`.

Example:
    >>> from prefect import flow
    >>> @flow
    ... def nightly():
    ...     xcoms = airflow_dag("dags/legacy.py", airflow_python="/opt/airflow2/bin/python")
    ...     return xcoms["publish"]["return_value"]
"""

from __future__ import annotations

import graphlib
from pathlib import Path
from typing import Any, Mapping

__all__ = ["airflow_dag_sidecar"]


def airflow_dag_sidecar(
    dag_file: str | Path,
    dag_id: str | None = None,
    logical_date: Any = None,
    params: Mapping[str, Any] | None = None,
    conf: Mapping[str, Any] | None = None,
    *,
    airflow_python: str | Path,
    variables: Mapping[str, Any] | None = None,
    connections: Mapping[str, Mapping[str, Any]] | None = None,
    echo: bool = False,
    sidecar: Any = None,
) -> dict[str, dict[str, Any]]:
    """Run an Airflow DAG in another interpreter as a Prefect subflow (see the module docs).

    Args:
        dag_file: the DAG file, read by the sidecar's Airflow unchanged.
        dag_id: which DAG of the file (needed when it defines several).
        logical_date: datetime, date or ISO string; ``None`` is the enclosing flow run's
            scheduled time, else now (UTC).
        params: DAG param values.
        conf: ``dag_run.conf``.
        airflow_python: the interpreter of the team's Airflow 2.x environment.
        variables: Airflow Variables for the run.
        connections: Airflow Connections for the run.
        echo: copy the sidecar's Airflow logs to stderr.
        sidecar: an already started :class:`airflow_interop.sidecar.Sidecar` to reuse (else one is
            started and stopped for this run).

    Returns:
        ``{task_id: {xcom key: value}}`` of the run (mapped instances under ``"key[i]"``).

    Raises:
        airflow_interop.prefect_dag.AirflowDagFailed: the DAG run failed (failed tasks and errors named).
        airflow_interop.runner.DagLoadError: the file or DAG id cannot be loaded by the sidecar's Airflow.
        airflow_interop.sidecar.SidecarError: the sidecar could not start or crashed.
    """
    from prefect import flow

    from airflow_interop.prefect_dag import _logical_date
    from airflow_interop.runner import DagLoadError
    from airflow_interop.sidecar.client import Sidecar

    when = _logical_date(logical_date)
    own = sidecar is None
    worker = Sidecar(airflow_python, echo=echo).start() if own else sidecar
    try:
        if dag_id is None:  # name the subflow after the DAG, as the in-process airflow_dag does
            found = worker.list_dags(dag_file)
            if len(found) != 1:
                raise DagLoadError(
                    f"{str(dag_file)!r} defines {'several DAGs' if found else 'no DAG'}; choose one with dag_id. "
                    f"Found DAGs: {found}",
                    path=str(dag_file),
                    dag_ids=found,
                )
            dag_id = found[0]

        def _run_dag(logical_date: str, params: dict[str, Any], conf: dict[str, Any]) -> dict[str, dict[str, Any]]:
            result = worker.run(
                dag_file, dag_id, logical_date=logical_date, params=params, conf=conf,
                variables=variables, connections=connections,
            )
            return _record(result)

        subflow = flow(name=dag_id, log_prints=False, validate_parameters=False)(_run_dag)
        return subflow(logical_date=when.isoformat(), params=dict(params or {}), conf=dict(conf or {}))
    finally:
        if own:
            worker.close()


def _record(result: Any) -> dict[str, dict[str, Any]]:
    """One Prefect task run per Airflow task of a finished sidecar run, edges as ``wait_for``."""
    from prefect import allow_failure, task
    from prefect.cache_policies import NO_CACHE
    from prefect.states import Completed, Failed

    from airflow_interop.prefect_dag import AirflowDagFailed, _finished

    upstream: dict[str, set[str]] = {tid: set() for tid in result.tasks}
    for up, down in result.edges:
        upstream.setdefault(down, set()).add(up)
    order = list(graphlib.TopologicalSorter(upstream).static_order())

    def _airflow_task(task_id: str) -> Any:
        tr = result.tasks[task_id]
        if tr.state == "success":
            return tr.xcoms
        if tr.state == "skipped":
            return Completed(name="Skipped", message=f"Airflow task {task_id!r} skipped", data=None)
        if tr.state == "upstream_failed":
            return Failed(name="UpstreamFailed", message=f"Airflow task {task_id!r} upstream_failed")
        return Failed(message=f"Airflow task {task_id!r} {tr.state}: {tr.error or 'no error recorded'}")

    states: dict[str, Any] = {}
    for task_id in order:
        if task_id not in result.tasks:
            continue
        prefect_task = task(_airflow_task, name=task_id, task_run_name=task_id, retries=0, cache_policy=NO_CACHE)
        waits = [allow_failure(_finished(states[u])) for u in sorted(upstream.get(task_id, ())) if u in states]
        states[task_id] = prefect_task(task_id, wait_for=waits, return_state=True)
    if result.state != "success":
        failed = {t.task_id: t.error for t in result.tasks.values() if t.state == "failed"}
        raise AirflowDagFailed(result.dag_id, failed, result)
    return result.xcoms()
