"""Two inventory DAGs kept in one file, as teams often do for closely related jobs.

Shows: two ``with DAG(...)`` blocks in one module sharing helper functions and constants;
one uses ``op_args``, ``templates_dict`` and a Bash step with ``env``; the other pulls through
``{{ task_instance.xcom_pull(...) }}`` in a Bash template.
"""

from __future__ import annotations

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

STOCK = {"widget": 40, "gadget": 3, "gizmo": 0, "doohickey": 12}
REORDER_LEVEL = 5


def snapshot(warehouse, **context):
    """Stock levels of one warehouse, tagged with the run's date from ``templates_dict``."""
    day = context["templates_dict"]["day"]
    return {"warehouse": warehouse, "day": day, "stock": dict(sorted(STOCK.items()))}


def low_stock(threshold):
    """Items at or below the reorder level."""
    return sorted(item for item, qty in STOCK.items() if qty <= threshold)


def count_alerts(ti):
    items = ti.xcom_pull(task_ids="find_low_stock")
    return len(items)


with DAG(
    dag_id="inventory_snapshot",
    schedule="0 * * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["inventory"],
) as snapshot_dag:
    take = PythonOperator(
        task_id="take_snapshot",
        python_callable=snapshot,
        op_args=["berlin-1"],
        templates_dict={"day": "{{ ds }}"},
    )
    archive = BashOperator(
        task_id="archive_snapshot",
        bash_command='echo "archived $WAREHOUSE snapshot {{ ds_nodash }}"',
        env={"WAREHOUSE": "berlin-1"},
        append_env=True,
    )
    take >> archive


with DAG(
    dag_id="inventory_alerts",
    schedule="15 * * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["inventory", "alerts"],
) as alerts_dag:
    find = PythonOperator(task_id="find_low_stock", python_callable=low_stock, op_args=[REORDER_LEVEL])
    count = PythonOperator(task_id="count_alerts", python_callable=count_alerts)
    page = BashOperator(
        task_id="page_buyers",
        bash_command="echo {{ task_instance.xcom_pull(task_ids='count_alerts') }} items to reorder",
    )
    find >> count >> page
