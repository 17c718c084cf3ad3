"""A batch over Airflow's own bundled example DAGs: ``index.html`` gives a verdict or a stated
reason for every DAG.

The whole corpus (67 files, over 100 DAGs, many waiting on sensors, deferrable operators or
retries with long delays) takes about 10 minutes with a 30 s limit per file, so the default
suite runs a fixed subset of files chosen to cover each outcome: equivalent DAGs, different ones,
DAGs the converter does not convert (errors with the converter's reason), and a sensor DAG that
runs past its time limit (an error saying so). ``INTEROP_COMPARE_ALL_EXAMPLES=1`` runs them all.
Each file runs in a worker process stopped after ``TIMEOUT`` seconds.
"""

from __future__ import annotations

import json
import os
import re
from html import unescape
from pathlib import Path

import pytest

from conftest import airflow_example_dag_files

pytestmark = [pytest.mark.airflow, pytest.mark.prefect]

SUBSET = [
    "example_complex.py",
    "example_xcomargs.py",
    "example_task_group.py",
    "example_xcom.py",
    "example_skip_dag.py",
    "example_dynamic_task_mapping.py",
    "example_asset_decorator.py",
    "example_params_trigger_ui.py",
    "tutorial_dag.py",
    "example_sensors.py",
]
TIMEOUT = 20.0


def _files() -> list[Path]:
    files = airflow_example_dag_files()
    if os.environ.get("INTEROP_COMPARE_ALL_EXAMPLES"):
        return files
    chosen = [f for f in files if f.name in SUBSET]
    assert sorted(f.name for f in chosen) == sorted(SUBSET), "an example file of the subset is not installed"
    return chosen


def _dag_ids(files: list[Path]) -> set[tuple[str, str]]:
    """(file, dag_id) for every DAG Airflow's DagBag finds in the files."""
    from shims.runner import DagLoadError, load_dags

    found = set()
    for f in files:
        try:
            found |= {(str(f), d) for d in load_dags(f)}
        except DagLoadError:
            pass
    return found


def test_example_dags_batch_has_a_verdict_or_reason_per_dag(prefect_server, tmp_path) -> None:
    from interop.compare import compare_paths, write_reports

    files = _files()
    # a DAG file that does not import goes through the same worker: an error row with the reason
    broken = tmp_path / "dags" / "broken_example.py"
    broken.parent.mkdir()
    broken.write_text("from airflow.sdk import DAG\nimport interop_no_such_module\n\nwith DAG(dag_id='cannot_import', schedule=None):\n    pass\n")
    files.append(broken)
    without: list[str] = []
    comparisons = compare_paths(files, logical_date="2024-01-15", timeout=TIMEOUT,
                                on_file=lambda f, got: without.append(str(f)) if not got else None)
    out = tmp_path / "out"
    write_reports(comparisons, out, files_without_dags=without)

    summary = json.loads((out / "summary.json").read_text())
    rows = summary["dags"]
    assert set(summary) == {"dags"}
    listed = {(r["file"], r["dag_id"]) for r in rows}
    assert len(listed) == len(rows), "a DAG is listed twice"
    missing = _dag_ids(files[:-1]) - listed
    assert not missing, f"DAGs Airflow finds but the batch does not list: {sorted(missing)}"
    for r in rows:
        assert r["verdict"] in ("equivalent", "different", "error")
        assert r["equivalent"] is (r["verdict"] == "equivalent")
        if r["verdict"] == "error":
            assert r["error"] and r["error"].strip(), r
        if r["verdict"] == "different":
            assert r["differences"], r

    index = unescape((out / "index.html").read_text())
    for r in rows:
        row = re.search(rf'<tr [^>]*data-dag="{re.escape(r["dag_id"])}" data-verdict="{r["verdict"]}">(.*?)</tr>', index, re.S)
        assert row, f"no row for {r['dag_id']} in index.html"
        if r["verdict"] == "error":
            assert r["error"].strip()[:60] in row.group(1)
        assert (out / r["report"]).exists()

    verdicts = {r["dag_id"]: r for r in rows}
    assert verdicts["cannot_import"]["verdict"] == "error"
    assert "does not load under Airflow 3" in verdicts["cannot_import"]["error"] and "interop_no_such_module" in verdicts["cannot_import"]["error"]
    if not os.environ.get("INTEROP_COMPARE_ALL_EXAMPLES"):
        # the sensors wait far longer than the limit: stopped, and said so
        assert verdicts["example_sensors"]["error"] == f"timed out after {TIMEOUT:g} s (the worker was stopped)"
        assert "equivalent" in {r["verdict"] for r in rows}
    counts = {k: sum(r["verdict"] == k for r in rows) for k in ("equivalent", "different", "error")}
    print(f"\n[compare examples] {len(files)} files, {len(rows)} DAGs: {counts}")
