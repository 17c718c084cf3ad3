"""Live-Airflow test DAG: pushes XComs (return value, an explicit key, and conf echoed back)."""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x (the v1 API tests run these DAGs on Airflow 2.11 too)
    from airflow.decorators import dag, task


@dag(
    dag_id="interop_live_xcom",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    is_paused_upon_creation=False,
    tags=["interop-live-test"],
)
def interop_live_xcom():
    @task
    def produce(**context):
        conf = context["dag_run"].conf or {}
        context["ti"].xcom_push(key="extra", value={"letters": ["a", "b"]})
        logical_date = context.get("logical_date")
        return {
            "n": conf.get("n", 1),
            "logical_date": logical_date.isoformat() if logical_date else None,
        }

    @task
    def double(payload: dict):
        return payload["n"] * 2

    double(produce())


interop_live_xcom()
