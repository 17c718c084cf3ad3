"""Airflow 2-style DAG mixing classic operators with ``.output`` / ``XComArg`` data passing.

Shows: the Airflow 2 import paths (``airflow.operators.python``, ``airflow.operators.bash``,
``airflow.operators.empty``) still accepted by Airflow 3, ``op_args`` fed by another task's
``.output``, an ``XComArg`` pulled by key, a ``templates_dict`` entry rendered from a pull,
and ``get_current_context()`` inside a classic callable.
"""

from __future__ import annotations

import pendulum

from airflow.models.xcom_arg import XComArg
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.operators.python import PythonOperator, get_current_context
from airflow.sdk import DAG

PAGES = {"home": 900, "pricing": 310, "docs": 1250, "blog": 95}


def crawl_stats(ti):
    """Page views for the day, plus the busiest page under its own key."""
    ti.xcom_push(key="busiest", value=max(PAGES, key=PAGES.get))
    return dict(sorted(PAGES.items()))


def threshold_pages(stats, busiest, minimum):
    """Pages above ``minimum`` views; the busiest page is always kept first."""
    keep = [page for page, views in stats.items() if views >= minimum and page != busiest]
    return [busiest] + keep


def describe(pages, **context):
    """One line for the digest, using the run's date from the current context."""
    ds = get_current_context()["ds"]
    label = context["templates_dict"]["label"]
    return f"{label} {ds}: {', '.join(pages)}"


with DAG(
    dag_id="web_digest_xcomarg",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["web"],
) as dag:
    begin = EmptyOperator(task_id="begin")
    stats = PythonOperator(task_id="crawl_stats", python_callable=crawl_stats)
    pages = PythonOperator(
        task_id="threshold_pages",
        python_callable=threshold_pages,
        op_args=[stats.output, XComArg(stats, key="busiest"), 300],
    )
    digest = PythonOperator(
        task_id="describe",
        python_callable=describe,
        op_args=[pages.output],
        templates_dict={"label": "top pages ({{ ti.xcom_pull(task_ids='crawl_stats', key='busiest') }})"},
    )
    send = BashOperator(
        task_id="send_digest",
        bash_command="echo \"{{ ti.xcom_pull(task_ids='describe') }}\"",
    )

    begin >> stats
    digest >> send
