"""The mixed-pipeline example: native Prefect steps around an unconverted DAG, on a real server."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from airflow_interop.prefect_runs import edges, subflow_runs, task_runs

pytestmark = [pytest.mark.prefect, pytest.mark.airflow]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mixed_pipeline"


def _pipeline_module():
    spec = importlib.util.spec_from_file_location("mixed_pipeline_example", EXAMPLE / "pipeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("eu", {"region": "eu", "large_orders": 2, "total": 530, "report": "eu 2024-01-01: 2 large orders, total 530"}),
        # the native step's threshold (40) reaches the DAG: its own default (100) would give 1 order
        ("us", {"region": "us", "large_orders": 2, "total": 345, "report": "us 2024-01-01: 2 large orders, total 345"}),
    ],
)
def test_mixed_pipeline_passes_xcoms_both_ways(prefect_server, region: str, expected: dict) -> None:
    from airflow_interop.runner import run_dag

    module = _pipeline_module()
    state = module.mixed_orders(region=region, return_state=True)
    assert state.is_completed()
    assert state.result() == expected

    # the DAG's values are the ones the DAG gives when run on its own with the same params
    alone = run_dag(EXAMPLE / "legacy_orders_dag.py", logical_date="2024-01-01",
                    params={"region": region, "min_amount": 100 if region == "eu" else 40}, echo=False)
    transform = alone.xcoms()["transform"]
    assert (transform["count"], transform["total"]) == (expected["large_orders"], expected["total"])

    outer = {r.name.rsplit("-", 1)[0]: r for r in task_runs(state.state_details.flow_run_id)}
    assert {"choose_threshold", "publish"} <= set(outer)
    (sub,) = subflow_runs(state.state_details.flow_run_id)
    inner = task_runs(sub.id)
    assert sorted(r.name for r in inner) == ["extract", "report", "transform"]
    assert edges(inner) == {("extract", "transform"), ("transform", "report")}
