"""Where Airflow 3 itself gives other XComs than Airflow 2 for the same DAG run (measured on
Airflow 2.11's example DAGs against Airflow 3.3; see docs/compat-and-sidecar.md).

A comparison of a run under Airflow 2 (truth, sidecar) with a run under Airflow 3 (compat
loader) puts both sides through :func:`airflow3_comparable`, so that only differences the
migration caused remain. ``compare`` can use the same function.
"""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["AIRFLOW3_DIFFERENCES", "LINEAGE_KEYS", "airflow3_comparable"]

#: XCom keys Airflow 2's lineage pushes for tasks with inlets/outlets; Airflow 3 has no lineage XComs
LINEAGE_KEYS = frozenset({"pipeline_inlets", "pipeline_outlets"})

#: the differences, in words (the docs show these)
AIRFLOW3_DIFFERENCES: list[str] = [
    "Branch and short-circuit tasks (those that push `skipmixin_key`): Airflow 2 and 3 differ on which of them "
    "also push their decision as `return_value` (2.11's BranchPythonOperator and ShortCircuitOperator do, 3.3's "
    "do not; 3.3's @task.branch does, 2.11's does not), so that `return_value` is not compared; `skipmixin_key` is.",
    "Airflow 2's lineage pushes `pipeline_inlets`/`pipeline_outlets` XComs for tasks with inlets or outlets; "
    "Airflow 3 has no lineage XComs.",
]


def airflow3_comparable(tasks: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{task: {"state", "xcoms"}}`` without the values Airflow 2 and 3 differ on by design."""
    out: dict[str, dict[str, Any]] = {}
    for key, task in tasks.items():
        xcoms = {k: v for k, v in task["xcoms"].items() if k not in LINEAGE_KEYS}
        if "skipmixin_key" in xcoms:
            xcoms.pop("return_value", None)
        out[key] = {"state": task["state"], "xcoms": xcoms}
    return out
