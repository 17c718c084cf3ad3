"""Marketing attribution with EmptyOperator start and join nodes between the real work.

Shows: ``EmptyOperator`` as a start node, as a join between two parallel loads and the step
that needs both, and as an end node. A converter removes them and keeps the edges through them.
"""

from __future__ import annotations

import pendulum

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

CLICKS = {"search": 120, "social": 80, "email": 40}
ORDERS = {"search": 12, "social": 4, "email": 6}


def load_clicks(ds):
    return {"ds": ds, "clicks": CLICKS}


def load_orders(ds):
    return {"ds": ds, "orders": ORDERS}


def attribute(ti):
    clicks = ti.xcom_pull(task_ids="load_clicks")["clicks"]
    orders = ti.xcom_pull(task_ids="load_orders")["orders"]
    rates = {channel: round(orders[channel] / clicks[channel], 4) for channel in sorted(clicks)}
    best = max(rates, key=rates.get)
    return {"conversion": rates, "best_channel": best}


def report(ti, ds):
    result = ti.xcom_pull(task_ids="attribute")
    return f"{ds}: best channel {result['best_channel']}"


with DAG(
    dag_id="attribution_empty_join",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["marketing"],
) as dag:
    start = EmptyOperator(task_id="start")
    clicks = PythonOperator(task_id="load_clicks", python_callable=load_clicks)
    orders = PythonOperator(task_id="load_orders", python_callable=load_orders)
    loaded = EmptyOperator(task_id="all_loaded")
    attribution = PythonOperator(task_id="attribute", python_callable=attribute)
    write_report = PythonOperator(task_id="report", python_callable=report)
    end = EmptyOperator(task_id="end")

    start >> [clicks, orders] >> loaded >> attribution >> write_report >> end
