"""End-of-day market data pull, mostly Bash, with date macros and a holiday skip.

Shows: ``BashOperator`` templates using ``{{ macros.ds_add(ds, -7) }}``, ``{{ ts }}``,
``{{ ds_nodash }}``, ``{{ params.x }}`` with a Jinja filter, ``{{ var.value.get(..., default) }}``
and ``{{ dag_run.conf.get(...) }}``; ``env`` (templated) with ``append_env`` and ``cwd``; a step
that exits 99 on a market holiday, which Airflow records as *skipped* and which skips the step
downstream of it; and ``a << b`` dependencies.
"""

from __future__ import annotations

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def summarise_window(ti, params):
    """Combine the computed window and the run stamp into one record."""
    window = ti.xcom_pull(task_ids="compute_window")
    stamp = ti.xcom_pull(task_ids="stamp_run")
    start, _, end = window.partition("..")
    return {"exchange": params["exchange"], "start": start, "end": end, "stamp": stamp}


with DAG(
    dag_id="market_data_bash",
    schedule="0 22 * * 1-5",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    params={"exchange": "NYSE", "holidays": ["2024-01-01", "2024-01-15", "2024-02-19"]},
    tags=["market"],
) as dag:
    window = BashOperator(
        task_id="compute_window",
        bash_command="echo {{ macros.ds_add(ds, -7) }}..{{ ds }}",
    )
    stamp = BashOperator(
        task_id="stamp_run",
        bash_command=(
            'echo "{{ ts }} {{ ds_nodash }} {{ params.exchange | lower }} '
            "schema={{ var.value.get('market_schema', 'raw_market') }} "
            "full_refresh={{ dag_run.conf.get('full_refresh', False) }}\""
        ),
    )
    holiday_check = BashOperator(
        task_id="holiday_check",
        bash_command=(
            "for day in {{ params.holidays | join(' ') }}; do "
            'if [ "$day" = "{{ ds }}" ]; then echo "market closed on {{ ds }}"; exit 99; fi; '
            "done; echo open"
        ),
    )
    fetch_prices = BashOperator(
        task_id="fetch_prices",
        bash_command='echo "fetched $MARKET close prices in $(pwd)"',
        env={"MARKET": "{{ params.exchange }}"},
        append_env=True,
        cwd="/tmp",
    )
    summary = PythonOperator(task_id="summarise_window", python_callable=summarise_window)

    fetch_prices << holiday_check
    summary << [window, stamp]
