"""Live-Airflow test DAG: a DAG still in Airflow calls a migrated Prefect flow.

``enrich`` runs the flow ``test_reverse_operator_flows:enrich`` in the Airflow worker through
``PrefectFlowOperator`` (the servers get ``tests/`` on PYTHONPATH; the Prefect API URL comes
in the run's conf); ``consume`` uses its result like any upstream XCom. On Airflow 2 the DAG
only has to import (the operator's Airflow 2 import path).
"""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

from airflow_interop.airflow_operator import PrefectFlowOperator


@dag(
    dag_id="interop_live_reverse",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    is_paused_upon_creation=False,
    render_template_as_native_obj=True,
    default_args={"retries": 0},
    tags=["interop-live-test"],
)
def interop_live_reverse():
    enrich = PrefectFlowOperator(
        task_id="enrich",
        flow="test_reverse_operator_flows:enrich",
        parameters={"values": "{{ dag_run.conf['values'] }}", "factor": 10, "day": "{{ run_id }}"},
        prefect_api_url="{{ dag_run.conf.get('prefect_api_url', '') }}",
    )

    @task
    def consume(enriched: dict) -> int:
        return enriched["total"] + 1

    consume(enrich.output)


interop_live_reverse()
