"""Shipment reconciliation using the team's in-house ``CsvRowCountOperator``.

Shows: an operator that is neither Python, Bash nor Empty (imported from the team's own
``plugins`` package next to the DAGs), with templated fields; its explicit XCom key and return
value consumed by a ``PythonOperator`` downstream. A converter shims such an operator.
"""

from __future__ import annotations

import pendulum

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from plugins.operators import CsvRowCountOperator

EXPECTED_COLUMNS = ["shipment_id", "date", "carrier", "parcels"]


def reconcile(**context):
    """Compare the counted shipments with what the carrier API reported (fixed here)."""
    ti = context["ti"]
    counted = ti.xcom_pull(task_ids="count_shipments")
    columns = ti.xcom_pull(task_ids="count_shipments", key="columns")
    reported = {"2024-01-15": 3}.get(context["ds"], 0)
    return {
        "ds": context["ds"],
        "counted": counted,
        "reported": reported,
        "schema_ok": columns == EXPECTED_COLUMNS,
        "match": counted == reported,
    }


with DAG(
    dag_id="shipments_inhouse_operator",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["logistics"],
) as dag:
    count = CsvRowCountOperator(
        task_id="count_shipments",
        filename="shipments.csv",
        date="{{ ds }}",
    )
    check = PythonOperator(task_id="reconcile", python_callable=reconcile)

    count >> check
