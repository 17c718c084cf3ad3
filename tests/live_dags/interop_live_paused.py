"""Live-Airflow test DAGs created paused.

``interop_live_paused`` stays paused (a trigger without unpause must fail fast);
``interop_live_unpause`` is unpaused by the client (``unpause=True``) and then runs.
"""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x (the v1 API tests run these DAGs on Airflow 2.11 too)
    from airflow.decorators import dag, task


def _make(dag_id: str):
    @dag(
        dag_id=dag_id,
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
        is_paused_upon_creation=True,
        tags=["interop-live-test"],
    )
    def _paused():
        @task
        def hello():
            return f"hello from {dag_id}"

        hello()

    return _paused()


paused = _make("interop_live_paused")
unpause = _make("interop_live_unpause")
