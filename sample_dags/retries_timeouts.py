"""Billing sync with a team's usual default_args: retries, backoff, timeouts, ownership.

Shows: ``default_args`` with ``retries``, ``retry_delay``, ``retry_exponential_backoff``,
``max_retry_delay``, ``execution_timeout`` and an ``on_failure_callback``; per-task overrides of
those and an ``on_success_callback``; and arguments that mean nothing to Prefect (``owner``,
``email``, ``email_on_failure``, ``depends_on_past``), which a converter must list rather than
drop silently. Every task succeeds on its first try.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

log = logging.getLogger(__name__)

INVOICES = [("INV-1", 250), ("INV-2", 990), ("INV-3", 15)]


def page_oncall(context):
    """Failure callback: the real one pages the billing on-call; here it only logs."""
    log.error("billing sync task %s failed", context["task_instance"].task_id)


def record_success(context):
    """Success callback: the real one updates a status board; here it only logs."""
    log.info("billing sync step %s finished", context["ti"].task_id)


default_args = {
    "owner": "billing",
    "email": ["billing-oncall@example.com"],
    "email_on_failure": True,
    "email_on_retry": False,
    "depends_on_past": False,
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(minutes=5),
    "on_failure_callback": page_oncall,
}


def fetch_invoices(ds=None):
    """Invoices issued on the run's date."""
    return [{"id": inv, "cents": cents, "issued": ds} for inv, cents in INVOICES]


def sync_ledger(ti=None):
    """Post invoices to the ledger; idempotent, so it may retry freely."""
    invoices = ti.xcom_pull(task_ids="fetch_invoices")
    return {"posted": [inv["id"] for inv in invoices], "cents": sum(inv["cents"] for inv in invoices)}


with DAG(
    dag_id="billing_sync_retries",
    default_args=default_args,
    schedule=timedelta(hours=6),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["billing"],
) as dag:
    fetch = PythonOperator(
        task_id="fetch_invoices",
        python_callable=fetch_invoices,
        retries=5,
        retry_delay=timedelta(seconds=10),
    )
    sync = PythonOperator(
        task_id="sync_ledger",
        python_callable=sync_ledger,
        execution_timeout=timedelta(seconds=90),
        retry_exponential_backoff=False,
        owner="ledger-team",
    )
    notify = BashOperator(
        task_id="notify",
        bash_command="echo billing sync done for {{ ds }}",
        retries=0,
        execution_timeout=timedelta(seconds=20),
        depends_on_past=True,
        on_success_callback=record_success,
    )

    fetch >> sync >> notify
