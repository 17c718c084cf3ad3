"""A Prefect 3 flow runs an Airflow 2 DAG through the sidecar and uses its XComs (real Prefect, real Airflow 2.11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_interop.prefect_runs import edges, subflow_runs, task_runs
from tests.conftest import REPO, SAMPLE_DAGS

AIRFLOW2_PYTHON = REPO / ".venv-airflow2" / "bin" / "python"
pytestmark = [
    pytest.mark.prefect,
    pytest.mark.skipif(not AIRFLOW2_PYTHON.exists(), reason="needs .venv-airflow2 (created by .ci/run and scripts/setup-dev)"),
]


def test_prefect_flow_uses_xcoms_of_an_airflow2_dag(prefect_server) -> None:
    """The docs' example: a 2.x DAG runs unconverted in Airflow 2.11; the flow uses its XComs."""
    from prefect import flow, task

    from airflow_interop.prefect_dag import airflow_dag

    @task
    def archive_name(rows: int, mode: str) -> str:
        return f"warehouse_{mode}_{rows}.parquet"

    @flow
    def nightly(day: str) -> str:
        xcoms = airflow_dag(
            SAMPLE_DAGS / "legacy_warehouse_2x.py",
            logical_date=day,
            airflow_python=AIRFLOW2_PYTHON,
            echo=False,
        )
        loaded = xcoms["incremental_load"]["return_value"]
        return archive_name(loaded["rows"], loaded["mode"])

    state = nightly("2024-01-17", return_state=True)
    assert state.is_completed()
    assert state.result() == "warehouse_incremental_1527.parquet"

    (sub,) = subflow_runs(state.state_details.flow_run_id)
    assert sub.state.is_completed()
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert client.read_flow(sub.flow_id).name == "legacy_warehouse_2x"
    runs = {r.name: r for r in task_runs(sub.id)}
    assert set(runs) == {"start", "extract", "choose_load", "full_reload", "incremental_load", "join", "report"}
    assert runs["full_reload"].state.name == "Skipped"
    assert runs["incremental_load"].state.is_completed()
    assert edges(list(runs.values())) == {
        ("start", "extract"),
        ("extract", "choose_load"),
        ("choose_load", "full_reload"),
        ("choose_load", "incremental_load"),
        ("full_reload", "join"),
        ("incremental_load", "join"),
        ("join", "report"),
    }


def test_failed_airflow2_task_fails_the_flow_with_task_id_and_error(prefect_server, tmp_path: Path) -> None:
    from prefect import flow

    from airflow_interop.prefect_dag import AirflowDagFailed, airflow_dag

    dag_file = tmp_path / "fails.py"
    dag_file.write_text(
        "from datetime import datetime\n"
        "from airflow import DAG\n"
        "from airflow.operators.python_operator import PythonOperator\n"
        "def boom(**kwargs):\n"
        "    raise KeyError('customer_id')\n"
        "dag = DAG('fails_in_airflow2', schedule_interval=None, start_date=datetime(2024, 1, 1))\n"
        "PythonOperator(task_id='load', python_callable=boom, provide_context=True, dag=dag)\n"
    )

    @flow
    def outer() -> dict:
        return airflow_dag(dag_file, logical_date="2024-01-01", airflow_python=AIRFLOW2_PYTHON, echo=False)

    state = outer(return_state=True)
    assert state.is_failed()
    with pytest.raises(AirflowDagFailed, match=r"task 'load' failed: KeyError: 'customer_id'"):
        state.result()
