"""A mixed pipeline: native Prefect steps around an Airflow DAG that is not converted yet.

``choose_threshold`` (native) decides a parameter of the DAG, the unconverted DAG
``legacy_orders`` runs unchanged as a Prefect subflow through ``airflow_dag`` (its Airflow tasks
show up as Prefect task runs), and ``publish`` (native) consumes the DAG's XComs.

Run it::

    interop run examples/mixed_pipeline/pipeline.py --param region=eu --json -

or ``python examples/mixed_pipeline/pipeline.py``.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from airflow_interop.prefect_dag import airflow_dag

LEGACY_DAG = Path(__file__).with_name("legacy_orders_dag.py")


@task
def choose_threshold(region: str) -> int:
    """Native step: the minimum amount of a large order in a region."""
    return 100 if region == "eu" else 40


@task
def publish(region: str, count: int, total: int, report_line: str) -> dict:
    """Native step: the summary built from the Airflow DAG's XComs."""
    return {"region": region, "large_orders": count, "total": total, "report": report_line}


@flow(name="mixed_orders")
def mixed_orders(region: str = "eu", logical_date: str = "2024-01-01") -> dict:
    threshold = choose_threshold(region)
    xcoms = airflow_dag(
        LEGACY_DAG,
        logical_date=logical_date,
        params={"region": region, "min_amount": threshold},
        echo=False,
    )
    transform = xcoms["transform"]
    return publish(region, transform["count"], transform["total"], xcoms["report"]["return_value"])


if __name__ == "__main__":
    print(mixed_orders())
