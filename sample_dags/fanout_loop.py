"""Per-region exports fanned out in a loop, gathered by one publish step.

Shows: tasks created in a ``for`` loop over a module-level list, ``op_kwargs`` per task,
``start >> task >> end`` wired inside the loop, and a pull with a list of ``task_ids``.
"""

from __future__ import annotations

import pendulum

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

REGIONS = ["emea", "amer", "apac"]
SHARDS = {"emea": 4, "amer": 6, "apac": 3}


def export_region(region: str, shards: int, ds: str | None = None):
    """Write one region's export (simulated) and return what was written."""
    rows = shards * 250
    return {"region": region, "file": f"exports/{ds}/{region}.parquet", "rows": rows}


def publish(ti=None, **_):
    """Gather every region's export into one manifest."""
    exports = ti.xcom_pull(task_ids=[f"export_{region}" for region in REGIONS])
    files = sorted(item["file"] for item in exports)
    return {"files": files, "total_rows": sum(item["rows"] for item in exports)}


with DAG(
    dag_id="regional_exports_fanout",
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["exports"],
) as dag:
    start = EmptyOperator(task_id="start")
    end = PythonOperator(task_id="publish_manifest", python_callable=publish)

    for region in REGIONS:
        export = PythonOperator(
            task_id=f"export_{region}",
            python_callable=export_region,
            op_kwargs={"region": region, "shards": SHARDS[region]},
        )
        start >> export >> end
