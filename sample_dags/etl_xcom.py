"""Daily orders ETL: extract, transform and load with XCom keys, then a templated report step.

Shows: several ``xcom_push(key=..., value=...)`` calls through ``context["ti"]``, pulls by
``task_ids`` and ``key``, a return value pulled without a key, and a ``BashOperator`` whose
command uses ``{{ ds }}``, ``{{ params.region }}`` and ``{{ ti.xcom_pull(task_ids='load') }}``; a callable
reading ``context["params"]``.
"""

from __future__ import annotations

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

# A day's worth of orders as the upstream system would hand them over.
RAW_ORDERS = [
    {"order_id": 1001, "customer": "acme", "amount": 120.50, "currency": "EUR"},
    {"order_id": 1002, "customer": "globex", "amount": 75.00, "currency": "USD"},
    {"order_id": 1003, "customer": "acme", "amount": 42.10, "currency": "GBP"},
    {"order_id": 1004, "customer": "initech", "amount": 310.00, "currency": "USD"},
]

# Fixed conversion rates to USD (a real job would read a rates table for the day).
FX_TO_USD = {"EUR": 1.10, "GBP": 1.25, "USD": 1.00}


def extract(**context):
    """Stamp the raw orders with the run's date and publish them with some metadata."""
    ti = context["ti"]
    ds = context["ds"]
    orders = [dict(order, order_date=ds) for order in RAW_ORDERS]
    ti.xcom_push(key="orders", value=orders)
    ti.xcom_push(key="row_count", value=len(orders))
    ti.xcom_push(key="currencies", value=sorted({order["currency"] for order in orders}))


def transform(**context):
    """Convert every order to USD and total it per customer."""
    ti = context["ti"]
    orders = ti.xcom_pull(task_ids="extract", key="orders")
    currencies = ti.xcom_pull(task_ids="extract", key="currencies")
    missing = [c for c in currencies if c not in FX_TO_USD]
    if missing:
        raise ValueError(f"no FX rate for {missing}")
    by_customer: dict[str, float] = {}
    for order in orders:
        usd = round(order["amount"] * FX_TO_USD[order["currency"]], 2)
        by_customer[order["customer"]] = round(by_customer.get(order["customer"], 0.0) + usd, 2)
    return {
        "region": context["params"]["region"],
        "order_date": orders[0]["order_date"],
        "total_usd": round(sum(by_customer.values()), 2),
        "by_customer": dict(sorted(by_customer.items())),
    }


def load(**context):
    """Pretend to upsert the summary into the warehouse; return the number of rows loaded."""
    ti = context["ti"]
    summary = ti.xcom_pull(task_ids="transform")
    row_count = ti.xcom_pull(task_ids="extract", key="row_count")
    if summary["order_date"] != context["ds"]:
        raise ValueError(f"summary is for {summary['order_date']}, run is for {context['ds']}")
    return row_count + len(summary["by_customer"])


with DAG(
    dag_id="etl_orders_xcom",
    description="Daily orders ETL with XCom keys and a templated report",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    params={"region": "emea"},
    tags=["etl", "orders"],
) as dag:
    extract_task = PythonOperator(task_id="extract", python_callable=extract)
    transform_task = PythonOperator(task_id="transform", python_callable=transform)
    load_task = PythonOperator(task_id="load", python_callable=load)
    report = BashOperator(
        task_id="report",
        bash_command=(
            "echo \"orders report {{ ds }} region={{ params.region }} "
            "rows_loaded={{ ti.xcom_pull(task_ids='load') }}\""
        ),
    )

    extract_task >> transform_task >> load_task >> report
