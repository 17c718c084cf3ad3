"""Nightly sales rollup, written for Airflow 1.10 and never touched since.

Shows the 1.10 idioms a migration meets: ``airflow.operators.python_operator`` and
``airflow.operators.dummy_operator`` imports, ``provide_context=True``, ``schedule_interval``,
``days_ago``, callables reading ``kwargs["ti"]`` and ``kwargs["ds"]``, pushes through
``kwargs["task_instance"]``, and a bash template with ``{{ ds_nodash }}`` and
``{{ execution_date }}``. It does not import under Airflow 3.
"""

from datetime import timedelta

from airflow import DAG
from airflow.operators.bash_operator import BashOperator
from airflow.operators.dummy_operator import DummyOperator
from airflow.operators.python_operator import PythonOperator
from airflow.utils.dates import days_ago

STORES = {"berlin": [120, 80, 45], "lisbon": [60, 75], "oslo": [210]}

default_args = {
    "owner": "sales-eng",
    "depends_on_past": False,
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}


def pull_sales(**kwargs):
    """Collect the day's receipts per store."""
    ds = kwargs["ds"]
    receipts = {store: list(amounts) for store, amounts in sorted(STORES.items())}
    kwargs["ti"].xcom_push(key="receipts", value=receipts)
    return {"ds": ds, "stores": len(receipts)}


def rollup(**kwargs):
    """Total each store and the whole chain for the day."""
    ti = kwargs["ti"]
    receipts = ti.xcom_pull(task_ids="pull_sales", key="receipts")
    meta = ti.xcom_pull(task_ids="pull_sales")
    totals = {store: sum(amounts) for store, amounts in receipts.items()}
    kwargs["task_instance"].xcom_push(key="grand_total", value=sum(totals.values()))
    return {"ds": meta["ds"], "totals": totals}


def publish(**kwargs):
    """Build the file name the finance team expects and return it."""
    ti = kwargs["ti"]
    grand_total = ti.xcom_pull(task_ids="rollup", key="grand_total")
    return "sales_%s_%d.csv" % (kwargs["ds_nodash"], grand_total)


dag = DAG(
    "legacy_sales_rollup",
    default_args=default_args,
    description="1.10-style nightly rollup",
    schedule_interval="@daily",
    start_date=days_ago(2),
    catchup=False,
)

start = DummyOperator(task_id="start", dag=dag)

pull = PythonOperator(
    task_id="pull_sales",
    python_callable=pull_sales,
    provide_context=True,
    dag=dag,
)

roll = PythonOperator(
    task_id="rollup",
    python_callable=rollup,
    provide_context=True,
    dag=dag,
)

pub = PythonOperator(
    task_id="publish",
    python_callable=publish,
    provide_context=True,
    dag=dag,
)

archive = BashOperator(
    task_id="archive",
    bash_command="echo archived sales for {{ ds_nodash }} run {{ execution_date }} as {{ ti.xcom_pull(task_ids='publish') }}",
    dag=dag,
)

done = DummyOperator(task_id="done", dag=dag)

start >> pull >> roll >> pub >> archive >> done
