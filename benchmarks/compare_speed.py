"""Where ``interop compare`` spends its time, on the sample DAGs.

Runs every sample DAG through :func:`interop.compare.compare_file` against a local Prefect
server and prints, summed over the DAGs: importing the converted flow, running the DAG
in-process, running the flow on Prefect and reading its task runs back, and the comparison
itself; then the time to write every report (HTML, JSON, Markdown, index). The comparison's own
overhead is the ``compare`` and report columns: everything else is the two runs.

    python benchmarks/compare_speed.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="interop-bench-airflow-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")


def main() -> int:
    from prefect.testing.utilities import prefect_test_harness

    from interop.compare import compare_file, write_reports
    from interop.compare.engine import discover

    with prefect_test_harness(server_startup_timeout=120):
        comparisons = []
        started = time.perf_counter()
        for f in discover([ROOT / "sample_dags"]):
            comparisons += compare_file(f, logical_date="2024-01-15")
        total = time.perf_counter() - started
        t0 = time.perf_counter()
        write_reports(comparisons, tempfile.mkdtemp(prefix="interop-bench-reports-"))
        reports = time.perf_counter() - t0
    phases: dict[str, float] = {}
    for c in comparisons:
        for k, v in c.phases.items():
            phases[k] = phases.get(k, 0.0) + v
    n = len(comparisons)
    print(f"{n} DAGs in {total:.1f} s ({total / n:.2f} s per DAG, conversion and DAG loading included)")
    for k in ("import_flow", "airflow", "prefect", "compare"):
        print(f"  {k:<12} {phases.get(k, 0.0):7.2f} s  ({phases.get(k, 0.0) / n * 1000:7.1f} ms per DAG)")
    print(f"  {'reports':<12} {reports:7.2f} s  ({reports / n * 1000:7.1f} ms per DAG)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
