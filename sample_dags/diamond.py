"""Diamond: one extract feeding two independent enrichments that join in a final merge.

Shows: ``a >> [b, c] >> d``. The two middle tasks each take about a second, so a run that
executes them one after the other takes visibly longer than one that runs them side by side.
"""

from __future__ import annotations

import time

import pendulum

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

CUSTOMERS = ["acme", "globex", "initech", "umbrella"]
SEGMENTS = {"acme": "enterprise", "globex": "smb", "initech": "smb", "umbrella": "enterprise"}
SCORES = {"acme": 0.91, "globex": 0.42, "initech": 0.67, "umbrella": 0.15}


def load_customers(ds):
    """Return the customer keys for the day."""
    return {"ds": ds, "customers": CUSTOMERS}


def add_segments(ti):
    """Look up each customer's segment (slow service, about one second)."""
    batch = ti.xcom_pull(task_ids="load_customers")
    time.sleep(1.0)
    return {name: SEGMENTS[name] for name in batch["customers"]}


def add_scores(ti):
    """Score each customer (slow model, about one second)."""
    batch = ti.xcom_pull(task_ids="load_customers")
    time.sleep(1.0)
    return {name: SCORES[name] for name in batch["customers"]}


def merge(ti, ds):
    """Join both enrichments into one record per customer."""
    segments = ti.xcom_pull(task_ids="add_segments")
    scores = ti.xcom_pull(task_ids="add_scores")
    rows = [
        {"customer": name, "segment": segments[name], "score": scores[name], "ds": ds}
        for name in sorted(segments)
    ]
    return {"rows": rows, "high_value": [r["customer"] for r in rows if r["score"] > 0.5]}


with DAG(
    dag_id="customer_diamond",
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["customers"],
) as dag:
    a = PythonOperator(task_id="load_customers", python_callable=load_customers)
    b = PythonOperator(task_id="add_segments", python_callable=add_segments)
    c = PythonOperator(task_id="add_scores", python_callable=add_scores)
    d = PythonOperator(task_id="merge", python_callable=merge)

    a >> [b, c] >> d
