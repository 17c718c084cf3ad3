"""A small DAG the daemon runs once at start so that the code a DAG run needs is imported.

Airflow imports much of a run's machinery on first use (the task runner's pieces, operator
modules, template rendering); running this once before forking means every worker starts with
it loaded. It is not a user DAG and is never shown.
"""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator
from airflow.sdk import DAG, task

with DAG("interop_daemon_warmup", schedule=None, params={"n": 1}) as dag:

    @task
    def produce(n: int) -> list[int]:
        return list(range(n + 1))

    @task
    def add_one(x: int) -> int:
        return x + 1

    bash = BashOperator(task_id="bash", bash_command="echo {{ ds }} {{ params.n }}")
    pull = PythonOperator(task_id="pull", python_callable=lambda ti: ti.xcom_pull(task_ids="bash"))
    branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "joined")
    joined = EmptyOperator(task_id="joined", trigger_rule="none_failed_min_one_success")
    skipped = EmptyOperator(task_id="skipped")
    mapped = add_one.expand(x=produce(n=1))
    bash >> pull >> branch >> [joined, skipped]
    mapped >> joined
