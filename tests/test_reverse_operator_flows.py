"""Prefect flows called from Airflow by ``PrefectFlowOperator`` in test_reverse_operator.py.

Imported by path (``test_reverse_operator_flows:enrich``) inside an Airflow task process and
served as a deployment by a ``flow.serve`` subprocess. Holds no tests.
"""

from __future__ import annotations

from prefect import flow, task


@task
def scale(values: list[int], factor: int) -> list[int]:
    return [v * factor for v in values]


@flow(name="enrich_orders")
def enrich(values: list[int], factor: int = 2, day: str = "") -> dict:
    """A 'migrated piece': scales the values and sums them."""
    scaled = scale(values, factor)
    return {"day": day, "scaled": scaled, "total": sum(scaled)}


@flow(name="enrich_orders_deployed", persist_result=True)
def enrich_deployed(values: list[int], factor: int = 3) -> dict:
    """The same piece run as a deployment (its result is persisted so Airflow can read it)."""
    scaled = scale(values, factor)
    return {"scaled": scaled, "total": sum(scaled)}


@flow(name="broken_piece")
def broken(reason: str = "no reason") -> None:
    raise ValueError(f"migrated piece failed: {reason}")


def not_a_flow() -> int:
    return 1


if __name__ == "__main__":  # served as a deployment by the tests
    enrich_deployed.serve(name="reverse-test", limit=2)
