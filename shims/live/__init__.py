"""Trigger DAGs on a live Airflow through its REST API and wait for them.

Two layers:

* :class:`AirflowClient` (plain Python, only ``httpx``): detects the API version of the
  server (``/api/v2`` on Airflow 3, ``/api/v1`` on Airflow 2.x), authenticates from the
  environment, triggers a DAG run, waits with exponential backoff and a timeout, and reads
  back task states and XComs.
* :func:`trigger_dag_run` (a Prefect task): the same, inside a Prefect flow; the Airflow
  run's terminal state becomes the Prefect task run's state.

Environment variables (see ``docs/live-airflow.md``): ``AIRFLOW_API_URL``,
``AIRFLOW_API_TOKEN``, ``AIRFLOW_API_USERNAME``, ``AIRFLOW_API_PASSWORD``,
``AIRFLOW_API_VERIFY_SSL``.

Examples:
    >>> from airflow_interop.live import AirflowClient
    >>> with AirflowClient() as client:  # doctest: +SKIP
    ...     result = client.run("my_dag", conf={"n": 3}, xcom_task_ids=["load"])
    ...     result.state, result.xcoms["load"]["return_value"]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_interop.live.client import (
    ENV_PASSWORD,
    ENV_TOKEN,
    ENV_URL,
    ENV_USERNAME,
    ENV_VERIFY_SSL,
    AirflowAPIError,
    AirflowAuthError,
    AirflowClient,
    AirflowCredentials,
    DagNotFoundError,
    DagPausedError,
    DagRunFailedError,
    DagRunResult,
    DagRunTimeoutError,
    LiveAirflowError,
    TaskNotFoundError,
)
from airflow_interop.live.states import (
    DAG_RUN_TERMINAL_STATES,
    PREFECT_STATE_NAMES,
    prefect_state_name,
    to_prefect_state,
)

if TYPE_CHECKING:
    from airflow_interop.live.prefect_task import trigger_dag_run

__all__ = [
    "DAG_RUN_TERMINAL_STATES",
    "ENV_PASSWORD",
    "ENV_TOKEN",
    "ENV_URL",
    "ENV_USERNAME",
    "ENV_VERIFY_SSL",
    "PREFECT_STATE_NAMES",
    "AirflowAPIError",
    "AirflowAuthError",
    "AirflowClient",
    "AirflowCredentials",
    "DagNotFoundError",
    "DagPausedError",
    "DagRunFailedError",
    "DagRunResult",
    "DagRunTimeoutError",
    "LiveAirflowError",
    "TaskNotFoundError",
    "prefect_state_name",
    "to_prefect_state",
    "trigger_dag_run",
]


def __getattr__(name: str) -> Any:
    # The Prefect task imports Prefect; load it only when asked for so that the plain
    # client works where Prefect is not installed (for example inside Airflow).
    if name == "trigger_dag_run":
        from airflow_interop.live.prefect_task import trigger_dag_run

        return trigger_dag_run
    raise AttributeError(f"module 'airflow_interop.live' has no attribute {name!r}")
