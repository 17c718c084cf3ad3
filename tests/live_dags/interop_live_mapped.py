"""Live-Airflow test DAG: a mapped task (``.expand``) whose instances each push an XCom."""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x (the v1 API tests run these DAGs on Airflow 2.11 too)
    from airflow.decorators import dag, task


@dag(
    dag_id="interop_live_mapped",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    is_paused_upon_creation=False,
    tags=["interop-live-test"],
)
def interop_live_mapped():
    @task
    def square(x: int) -> int:
        return x * x

    square.expand(x=[1, 2, 3])


interop_live_mapped()
