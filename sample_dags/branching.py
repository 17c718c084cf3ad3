"""Warehouse load that does a full reload on Mondays and an incremental load otherwise.

Shows: ``BranchPythonOperator`` choosing a path from the run's date (2024-01-15 is a Monday), so
the other path is *skipped*; the classic ``EmptyOperator`` join with
``trigger_rule="none_failed_min_one_success"`` after the branches; a step after the join that
must run although one branch was skipped; and a ``trigger_rule="all_done"`` cleanup.
"""

from __future__ import annotations

from datetime import date

import pendulum

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator
from airflow.sdk import DAG

TABLES = {"orders": 1200, "customers": 310, "products": 95}


def choose_load(ds):
    """Full reload at the start of the week, incremental otherwise."""
    return "full_load" if date.fromisoformat(ds).weekday() == 0 else "incremental_load"


def full_load(ds):
    return {"mode": "full", "ds": ds, "rows": sum(TABLES.values())}


def incremental_load(ds):
    return {"mode": "incremental", "ds": ds, "rows": TABLES["orders"] // 10}


def refresh_marts(ti):
    """Runs after whichever load ran; reads both (the skipped one gives nothing)."""
    full = ti.xcom_pull(task_ids="full_load")
    incremental = ti.xcom_pull(task_ids="incremental_load")
    loaded = full or incremental
    return {"mode": loaded["mode"], "marts": sorted(TABLES), "rows": loaded["rows"]}


def cleanup(ds):
    return f"staging cleared for {ds}"


with DAG(
    dag_id="warehouse_branching",
    schedule="0 3 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["warehouse"],
) as dag:
    branch = BranchPythonOperator(task_id="choose_load", python_callable=choose_load)
    full = PythonOperator(task_id="full_load", python_callable=full_load)
    incremental = PythonOperator(task_id="incremental_load", python_callable=incremental_load)
    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    marts = PythonOperator(task_id="refresh_marts", python_callable=refresh_marts)
    clean = PythonOperator(task_id="cleanup_staging", python_callable=cleanup, trigger_rule="all_done")

    branch >> [full, incremental] >> join >> marts >> clean
