"""Product catalogue mart, wired the long way round.

Shows: ``dag = DAG(...)`` with ``dag=dag`` on every operator (no ``with`` block), and every
other way Airflow spells a dependency: ``cross_downstream()``, ``chain()`` with a list,
``set_downstream()`` and ``set_upstream()``.
"""

from __future__ import annotations

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, chain, cross_downstream

CUSTOMERS = [{"id": 1, "name": "acme"}, {"id": 2, "name": "globex"}]
PRODUCTS = [{"sku": "A-1", "price": 9.5}, {"sku": "B-2", "price": 20.0}, {"sku": "C-3", "price": 4.25}]


def fetch_customers():
    return CUSTOMERS


def fetch_products():
    return PRODUCTS


def check_schema(ti):
    customers = ti.xcom_pull(task_ids="fetch_customers")
    products = ti.xcom_pull(task_ids="fetch_products")
    return all("id" in c for c in customers) and all("sku" in p for p in products)


def check_counts(ti):
    customers = ti.xcom_pull(task_ids="fetch_customers")
    products = ti.xcom_pull(task_ids="fetch_products")
    return {"customers": len(customers), "products": len(products)}


def build_mart(ti, ds):
    counts = ti.xcom_pull(task_ids="check_counts")
    products = ti.xcom_pull(task_ids="fetch_products")
    return {
        "ds": ds,
        "pairs": counts["customers"] * counts["products"],
        "catalogue_value": round(sum(p["price"] for p in products), 2),
    }


def publish(ti):
    mart = ti.xcom_pull(task_ids="build_mart")
    return f"mart_{mart['ds']}_{mart['pairs']}"


dag = DAG(
    dag_id="catalogue_mart_assign_style",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["mart"],
)

customers = PythonOperator(task_id="fetch_customers", python_callable=fetch_customers, dag=dag)
products = PythonOperator(task_id="fetch_products", python_callable=fetch_products, dag=dag)
schema = PythonOperator(task_id="check_schema", python_callable=check_schema, dag=dag)
counts = PythonOperator(task_id="check_counts", python_callable=check_counts, dag=dag)
mart = PythonOperator(task_id="build_mart", python_callable=build_mart, dag=dag)
publish_task = PythonOperator(task_id="publish", python_callable=publish, dag=dag)
notify = BashOperator(task_id="notify", bash_command="echo catalogue mart ready for {{ ds }}", dag=dag)
vacuum = BashOperator(task_id="vacuum", bash_command="echo vacuum done", dag=dag)

cross_downstream([customers, products], [schema, counts])
chain([schema, counts], mart, publish_task)
publish_task.set_downstream(notify)
vacuum.set_upstream(publish_task)
