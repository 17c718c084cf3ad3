"""An Airflow DAG that has not been converted yet (Airflow 3 style).

It filters the day's orders of one region and reports the total of the large ones. The mixed
pipeline (``pipeline.py``) runs it unchanged through ``airflow_interop.prefect_dag.airflow_dag``.
"""

from __future__ import annotations

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

ORDERS = [
    {"id": 1, "region": "eu", "amount": 120},
    {"id": 2, "region": "eu", "amount": 80},
    {"id": 3, "region": "us", "amount": 300},
    {"id": 4, "region": "eu", "amount": 410},
    {"id": 5, "region": "us", "amount": 45},
]

with DAG("legacy_orders", schedule="@daily", catchup=False, params={"region": "eu", "min_amount": 100}):

    @task
    def extract(params=None):
        return [order for order in ORDERS if order["region"] == params["region"]]

    @task(multiple_outputs=True)
    def transform(orders, params=None):
        large = [order for order in orders if order["amount"] >= params["min_amount"]]
        return {"count": len(large), "total": sum(order["amount"] for order in large)}

    report = BashOperator(
        task_id="report",
        bash_command=(
            "echo \"{{ params.region }} {{ ds }}: "
            "{{ ti.xcom_pull(task_ids='transform', key='count') }} large orders, "
            "total {{ ti.xcom_pull(task_ids='transform', key='total') }}\""
        ),
    )

    transform(extract()) >> report
