"""Daily KPI report, written for Airflow 1.10 (``airflow.operators.*_operator`` modules).

Shows: 1.10 import paths (``bash_operator``, ``python_operator``, ``dummy_operator``),
``airflow.utils.dates.days_ago``, ``provide_context=True`` on every ``PythonOperator`` and on a
``ShortCircuitOperator``, ``schedule_interval`` as a cron preset, callables that read
``kwargs['execution_date']`` and ``kwargs['ds']``, a template calling ``execution_date.strftime``
and pulling an XCom, and ``set_upstream``/``set_downstream`` instead of ``>>``. Under Airflow 3 it
only imports through the compat loader.
"""

from airflow.models import DAG
from airflow.operators.bash_operator import BashOperator
from airflow.operators.dummy_operator import DummyOperator
from airflow.operators.python_operator import PythonOperator, ShortCircuitOperator
from airflow.utils.dates import days_ago

KPIS = {"signups": [14, 9, 21], "churned": [2, 1], "tickets": [33, 41, 12, 7]}

args = {"owner": "analytics", "start_date": days_ago(2)}

dag = DAG(
    dag_id="legacy_reports_110",
    default_args=args,
    schedule_interval="@daily",
    catchup=False,
)


def compute(**kwargs):
    """Total each KPI for the day."""
    totals = {name: sum(values) for name, values in sorted(KPIS.items())}
    kwargs["ti"].xcom_push(key="day", value=kwargs["ds"])
    return totals


def has_data(**kwargs):
    """Only report when there were tickets (a 1.10 short circuit)."""
    totals = kwargs["ti"].xcom_pull(task_ids="compute")
    return totals["tickets"] > 0


def render(**kwargs):
    """The report's title line."""
    totals = kwargs["ti"].xcom_pull(task_ids="compute")
    day = kwargs["execution_date"].strftime("%d %b %Y")
    return "KPIs for %s: %d signups, %d churned" % (day, totals["signups"], totals["churned"])


begin = DummyOperator(task_id="begin", dag=dag)
compute_task = PythonOperator(task_id="compute", python_callable=compute, provide_context=True, dag=dag)
check = ShortCircuitOperator(task_id="has_data", python_callable=has_data, provide_context=True, dag=dag)
render_task = PythonOperator(task_id="render", python_callable=render, provide_context=True, dag=dag)
send = BashOperator(
    task_id="send",
    bash_command="echo \"{{ ti.xcom_pull(task_ids='render') }} (file kpi_{{ execution_date.strftime('%Y%m%d') }}.txt)\"",
    dag=dag,
)

compute_task.set_upstream(begin)
compute_task.set_downstream(check)
check.set_downstream(render_task)
render_task.set_downstream(send)
