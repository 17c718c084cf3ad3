"""The conversion ledger: per-file reports and their summary."""

from __future__ import annotations

from collections import Counter
from typing import Any


def summarize(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of file statuses, task dispositions and finding codes over a batch."""
    statuses = Counter(r["status"] for r in reports)
    tasks = Counter(t["disposition"] for r in reports for d in r["dags"] for t in d["tasks"])
    codes = Counter(f["code"] for r in reports for f in r["findings"])
    return {
        "files": len(reports),
        "converted": statuses.get("converted", 0),
        "partial": statuses.get("partial", 0),
        "skipped": statuses.get("skipped", 0),
        "failed": statuses.get("failed", 0),
        "dags": sum(len(r["dags"]) for r in reports),
        "tasks": {k: tasks.get(k, 0) for k in ("converted", "shimmed", "manual")},
        "findings": dict(sorted(codes.items())),
    }
