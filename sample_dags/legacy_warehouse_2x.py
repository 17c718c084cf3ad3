"""Warehouse load, written for Airflow 2.2 and kept running on 2.x since.

Shows the 2.x idioms that stop Airflow 3 from importing a DAG: ``schedule_interval`` and
``concurrency`` on the DAG, ``DummyOperator`` from ``airflow.operators.dummy``,
``task_concurrency`` on an operator, a callable taking ``execution_date`` as a parameter,
``context["execution_date"]`` and ``kwargs.get("execution_date")`` lookups, templates using
``{{ execution_date }}``, ``{{ yesterday_ds }}`` and ``{{ tomorrow_ds_nodash }}``, and a
``BranchPythonOperator`` whose branch joins with ``none_failed_min_one_success``.
"""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.dummy import DummyOperator
from airflow.operators.python import BranchPythonOperator, PythonOperator

TABLES = {"orders": 1200, "customers": 310, "refunds": 17}


def extract(execution_date, **context):
    """Count the rows of each table for the day; a callable reading the 2.x context."""
    day = execution_date.strftime("%Y-%m-%d")
    context["ti"].xcom_push(key="day", value=day)
    return {table: rows for table, rows in sorted(TABLES.items())}


def choose_load(**kwargs):
    """Full reload on Mondays, incremental otherwise."""
    when = kwargs.get("execution_date")
    return "full_reload" if when.weekday() == 0 else "incremental_load"


def load(mode, **context):
    """Load the extracted counts and say how."""
    counts = context["ti"].xcom_pull(task_ids="extract")
    stamp = context["execution_date"].isoformat()
    return {"mode": mode, "rows": sum(counts.values()), "at": stamp}


default_args = {
    "owner": "warehouse",
    "retries": 0,
    "retry_delay": timedelta(minutes=2),
}

with DAG(
    "legacy_warehouse_2x",
    default_args=default_args,
    schedule_interval=timedelta(days=1),
    start_date=datetime(2024, 1, 1),
    concurrency=4,
    catchup=False,
    tags=["legacy", "airflow2"],
) as dag:
    start = DummyOperator(task_id="start")
    pull = PythonOperator(task_id="extract", python_callable=extract, task_concurrency=1)
    branch = BranchPythonOperator(task_id="choose_load", python_callable=choose_load)
    full = PythonOperator(task_id="full_reload", python_callable=load, op_kwargs={"mode": "full"})
    incremental = PythonOperator(task_id="incremental_load", python_callable=load, op_kwargs={"mode": "incremental"})
    join = DummyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    report = BashOperator(
        task_id="report",
        bash_command=(
            "echo 'run {{ execution_date }} window {{ yesterday_ds }}..{{ ds }} next {{ tomorrow_ds_nodash }}'"
        ),
    )

    start >> pull >> branch >> [full, incremental] >> join >> report
