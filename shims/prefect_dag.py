"""Run an unconverted Airflow DAG inside a Prefect flow.

:func:`airflow_dag` runs the DAG with the in-process runner (:mod:`airflow_interop.runner`) as a Prefect
subflow named after the DAG. Each Airflow task becomes one Prefect task run named by its task
id, and its upstream Airflow tasks are passed as ``wait_for``, so Prefect records the DAG's
edges in the task runs' ``task_inputs``. Airflow decides what runs (trigger rules, branches,
retries); Prefect records it:

========================  =========================================================
Airflow task state        Prefect task run state
========================  =========================================================
``success``               ``Completed`` (result: the task's XComs ``{key: value}``)
``skipped``               ``Completed`` named ``Skipped`` (result ``None``)
``failed``                ``Failed`` with the task id and the error in the message
``upstream_failed``       ``Failed`` named ``UpstreamFailed``
========================  =========================================================

The subflow returns the run's XComs ``{task_id: {key: value}}`` (mapped instances under
``"key[i]"``). When the DAG run fails (Airflow's rule: a leaf task failed or is
upstream_failed), the subflow raises :class:`AirflowDagFailed` naming the failed tasks and their
errors, which fails the Prefect run.

Example:
    >>> from prefect import flow
    >>> @flow
    ... def nightly():
    ...     xcoms = airflow_dag("dags/legacy_etl.py", logical_date="2024-01-01")
    ...     publish(xcoms["load"]["return_value"])
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["airflow_dag", "AirflowDagFailed"]


class AirflowDagFailed(RuntimeError):
    """The Airflow DAG run failed.

    Attributes:
        dag_id: the DAG.
        failed: ``{task_id: error text}`` of the tasks that failed.
        result: the full :class:`airflow_interop.runner.DagRunResult`.
    """

    def __init__(self, dag_id: str, failed: dict[str, str | None], result: Any) -> None:
        self.dag_id = dag_id
        self.failed = failed
        self.result = result
        details = "; ".join(f"task {tid!r} failed: {err or 'no error recorded'}" for tid, err in failed.items())
        super().__init__(f"Airflow DAG {dag_id!r} run failed: {details or 'a leaf task is upstream_failed'}")


def airflow_dag(
    path_or_module: Any,
    dag_id: str | None = None,
    logical_date: Any = None,
    params: Mapping[str, Any] | None = None,
    conf: Mapping[str, Any] | None = None,
    *,
    variables: Mapping[str, Any] | None = None,
    connections: Mapping[str, Mapping[str, Any]] | None = None,
    echo: bool = True,
    airflow_python: Any = None,
) -> dict[str, dict[str, Any]]:
    """Run an Airflow DAG as a Prefect subflow whose tasks are Prefect task runs.

    Args:
        path_or_module: the DAG file, an imported module, or a ``DAG`` object.
        dag_id: which DAG of the file (needed when it defines several).
        logical_date: the run's logical date (datetime, date or ISO string); ``None`` is the
            enclosing flow run's scheduled time, else now (UTC).
        params: DAG param values.
        conf: ``dag_run.conf``.
        variables: Airflow Variables visible to the tasks.
        connections: Airflow Connections visible to the tasks.
        echo: also print the Airflow task logs.
        airflow_python: run the DAG in this interpreter's Airflow (1.10/2.x) through the
            sidecar instead of in this process (:func:`airflow_interop.sidecar.prefect.airflow_dag_sidecar`).

    Returns:
        ``{task_id: {xcom key: value}}`` of the run.

    Raises:
        AirflowDagFailed: the DAG run failed; the message names each failed task and its error.
        airflow_interop.runner.DagLoadError: the file cannot be loaded or the DAG id is not in it.
    """
    if airflow_python is not None:  # the team's own Airflow 2 interpreter (shims/sidecar)
        from airflow_interop.sidecar.prefect import airflow_dag_sidecar

        return airflow_dag_sidecar(
            path_or_module, dag_id, logical_date, params, conf,
            airflow_python=airflow_python, variables=variables, connections=connections, echo=echo,
        )
    from prefect import flow

    from airflow_interop.runner import load_dag

    dag = load_dag(path_or_module, dag_id)
    when = _logical_date(logical_date)

    def _run_dag(logical_date: str, params: dict[str, Any], conf: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return _run_in_flow(dag, logical_date, params, conf, variables, connections, echo)

    subflow = flow(name=dag.dag_id, log_prints=False, validate_parameters=False)(_run_dag)
    return subflow(logical_date=when.isoformat(), params=dict(params or {}), conf=dict(conf or {}))


def _logical_date(value: Any) -> Any:
    from airflow_interop.context import coerce_logical_date

    if value is not None:
        return coerce_logical_date(value)
    try:
        from prefect.runtime import flow_run

        scheduled = flow_run.scheduled_start_time
        if scheduled is not None:
            return coerce_logical_date(str(scheduled))
    except Exception:  # noqa: BLE001 - outside a flow run
        pass
    return coerce_logical_date(None)


def _finished(state: Any) -> Any:
    """A Prefect future for a task run that already ended in ``state``.

    Passing the future (not the state) as ``wait_for`` records exactly that edge: Prefect looks
    inside a ``State`` and would also link any earlier task whose result happens to be the same
    (interned) object, such as the string ``"1"``.
    """
    from prefect.futures import PrefectTaskRunFuture

    class _FinishedTaskRun(PrefectTaskRunFuture):
        def __init__(self, final: Any) -> None:
            super().__init__(task_run_id=final.state_details.task_run_id)
            self._final_state = final

        def wait(self, timeout: float | None = None) -> None:
            return None

        def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> Any:
            return self._final_state.result(raise_on_failure=raise_on_failure)

        def add_done_callback(self, fn: Any) -> None:
            fn(self)

    return _FinishedTaskRun(state)


def _run_in_flow(
    dag: Any,
    logical_date: str,
    params: dict[str, Any],
    conf: dict[str, Any],
    variables: Mapping[str, Any] | None,
    connections: Mapping[str, Mapping[str, Any]] | None,
    echo: bool,
) -> dict[str, dict[str, Any]]:
    from prefect import allow_failure, task
    from prefect.cache_policies import NO_CACHE
    from prefect.states import Completed, Failed

    from airflow_interop.comms import bound
    from airflow_interop.runner import DagRunner, TaskResult, _summary_state

    runner = DagRunner(
        dag,
        logical_date=logical_date,
        params=params,
        conf=conf,
        variables=variables,
        connections=connections,
        echo=echo,
    )

    def _airflow_task(task_id: str) -> Any:
        with bound(runner.supervisor):
            runner._run_task(dag.task_dict[task_id])
        instances = runner.instances.get(task_id, [])
        mapped = runner.mapped.get(task_id, False)
        result = TaskResult(task_id, _summary_state(instances, mapped), instances, mapped)
        if result.state == "success":
            return result.xcoms
        if result.state == "skipped":
            return Completed(name="Skipped", message=f"Airflow task {task_id!r} skipped", data=None)
        if result.state == "upstream_failed":
            return Failed(name="UpstreamFailed", message=f"Airflow task {task_id!r} upstream_failed")
        return Failed(message=f"Airflow task {task_id!r} failed: {result.error or 'no error recorded'}")

    states: dict[str, Any] = {}
    for task_id in runner.task_order():
        if not runner.creates_instance(task_id):  # outside the task's start/end dates
            continue
        task_def = dag.task_dict[task_id]
        prefect_task = task(
            _airflow_task,
            name=task_id,
            task_run_name=task_id,
            retries=0,
            cache_policy=NO_CACHE,
        )
        upstream = [allow_failure(_finished(states[u])) for u in sorted(task_def.upstream_task_ids) if u in states]
        states[task_id] = prefect_task(task_id, wait_for=upstream, return_state=True)

    result = runner.result()
    if result.state != "success":
        failed = {t.task_id: t.error for t in result.tasks.values() if t.state == "failed"}
        raise AirflowDagFailed(dag.dag_id, failed, result)
    return result.xcoms()
