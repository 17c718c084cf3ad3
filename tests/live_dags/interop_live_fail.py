"""Live-Airflow test DAG: its only task fails, with no retries."""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x (the v1 API tests run these DAGs on Airflow 2.11 too)
    from airflow.decorators import dag, task


@dag(
    dag_id="interop_live_fail",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    is_paused_upon_creation=False,
    default_args={"retries": 0},
    tags=["interop-live-test"],
)
def interop_live_fail():
    @task
    def boom():
        raise ValueError("interop live test: this task fails on purpose")

    boom()


interop_live_fail()
