"""Conformance: the in-process runner against ``airflow dags test`` on Airflow's own examples.

Ground truth is produced in this session by Airflow itself: a temporary ``AIRFLOW_HOME``,
``airflow db migrate`` once, then one ``airflow dags test DAG_ID DATE`` subprocess per DAG
(two at a time, each worker on its own copy of the migrated SQLite database). Task states and
XComs are read back from those databases and compared with :func:`shims.runner.run_dag` for
the same DAG and logical date. Nothing here is written by hand except the lists of DAG ids.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import airflow_example_dag_files

pytestmark = pytest.mark.airflow

LOGICAL_DATE = "2024-01-01T00:00:00+00:00"

#: compared with ``airflow dags test`` in every run (the issue's required list first)
CONFORMANCE_DAGS: list[str] = [
    "example_xcom",
    "tutorial_dag",
    "example_task_group",
    "example_skip_dag",
    "example_dynamic_task_mapping",
    "example_branch_labels",
    "example_short_circuit_operator",
    "example_trigger_target_dag",
    "example_task_mapping_second_order",
    "example_short_circuit_decorator",
    "example_nested_branch_dag",
    "example_setup_teardown_taskflow",
]

#: bundled example DAGs that cannot run offline (no network, no API server, no extra
#: services), with the reason. Kept in step with docs/shims.md.
NOT_OFFLINE: dict[str, str] = {}

#: bundled examples that run offline but whose results are not reproducible run to run, so
#: no two runs (not even two ``airflow dags test`` runs) can be compared value for value.
NOT_DETERMINISTIC: dict[str, str] = {}


# --------------------------------------------------------------------------- ground truth
def _example_files_by_dag(dag_ids: list[str]) -> dict[str, Path]:
    """dag_id -> bundled example file defining it (the file whose text names the id)."""
    files = airflow_example_dag_files()
    found: dict[str, Path] = {}
    for dag_id in dag_ids:
        by_stem = [p for p in files if p.stem == dag_id]
        named = by_stem or [p for p in files if f'"{dag_id}"' in p.read_text() or f"def {dag_id}(" in p.read_text()]
        if named:
            found[dag_id] = named[0]
    return found


def _airflow_cli() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _env(home: Path, dags: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
    )
    return env


def _read_run(db: Path, dag_id: str) -> dict[str, Any]:
    """States and XComs of the (single) run of ``dag_id`` in an Airflow SQLite database."""
    from airflow.sdk.serde import deserialize

    con = sqlite3.connect(str(db))
    try:
        tis = con.execute(
            "select task_id, map_index, state from task_instance where dag_id = ?", (dag_id,)
        ).fetchall()
        xcoms = con.execute(
            "select task_id, map_index, key, value from xcom where dag_id = ?", (dag_id,)
        ).fetchall()
        run_state = con.execute("select state from dag_run where dag_id = ?", (dag_id,)).fetchone()
    finally:
        con.close()
    by_task: dict[str, list[tuple[int, str]]] = {}
    for task_id, map_index, state in tis:
        by_task.setdefault(task_id, []).append((map_index, state))
    states: dict[str, str] = {}
    mapped: set[str] = set()
    for task_id, rows in by_task.items():
        if any(mi >= 0 for mi, _ in rows):
            mapped.add(task_id)
            st = [s for mi, s in rows if mi >= 0]
            states[task_id] = (
                "failed" if "failed" in st else "upstream_failed" if "upstream_failed" in st
                else "skipped" if all(s == "skipped" for s in st) else "success"
            )
        else:
            states[task_id] = rows[0][1]
    values: dict[str, dict[str, Any]] = {task_id: {} for task_id in states}
    for task_id, map_index, key, raw in xcoms:
        if isinstance(raw, (str, bytes)):
            raw = json.loads(raw)
        value = deserialize(raw) if raw is not None else None
        name = f"{key}[{map_index}]" if task_id in mapped else key
        values.setdefault(task_id, {})[name] = value
    return {"state": run_state[0] if run_state else None, "states": states, "xcoms": values}


@pytest.fixture(scope="session")
def airflow_truth(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """``airflow dags test`` results for every DAG in CONFORMANCE_DAGS, computed once."""
    files = _example_files_by_dag(CONFORMANCE_DAGS)
    missing = [d for d in CONFORMANCE_DAGS if d not in files]
    assert not missing, f"example DAGs not found in the installed Airflow: {missing}"
    root = tmp_path_factory.mktemp("airflow-truth")
    dags = root / "dags"
    dags.mkdir()
    for dag_id in CONFORMANCE_DAGS:
        shutil.copy(files[dag_id], dags / files[dag_id].name)
    base = root / "base"
    base.mkdir()
    subprocess.run(
        [_airflow_cli(), "db", "migrate"], env=_env(base, dags), check=True, capture_output=True, timeout=300
    )
    workers = 2
    homes = []
    for i in range(workers):
        home = root / f"worker{i}"
        home.mkdir()
        shutil.copy(base / "airflow.db", home / "airflow.db")
        homes.append(home)

    def run_worker(i: int) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for dag_id in CONFORMANCE_DAGS[i::workers]:
            proc = subprocess.run(
                [_airflow_cli(), "dags", "test", dag_id, LOGICAL_DATE],
                env=_env(homes[i], dags),
                capture_output=True,
                text=True,
                timeout=300,
            )
            result = _read_run(homes[i] / "airflow.db", dag_id)
            result["returncode"] = proc.returncode
            result["output_tail"] = (proc.stdout + proc.stderr)[-3000:]
            out[dag_id] = result
        return out

    truth: dict[str, dict[str, Any]] = {}
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for part in pool.map(run_worker, range(workers)):
            truth.update(part)
    return truth


def _normalized(xcoms: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Airflow's ``skipmixin_key`` lists the skipped tasks in set order (random per process)."""
    out: dict[str, dict[str, Any]] = {}
    for task_id, values in xcoms.items():
        out[task_id] = dict(values)
        for key, value in values.items():
            if key.startswith("skipmixin_key") and isinstance(value, dict):
                out[task_id][key] = {k: sorted(v) if isinstance(v, list) else v for k, v in value.items()}
    return out


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("dag_id", CONFORMANCE_DAGS)
def test_runner_matches_airflow_dags_test(dag_id: str, airflow_truth: dict[str, dict[str, Any]]) -> None:
    """Same task states and same XComs as ``airflow dags test`` for the same DAG and date."""
    from shims.runner import run_dag

    truth = airflow_truth[dag_id]
    assert truth["states"], f"airflow dags test produced no task instances for {dag_id}:\n{truth['output_tail']}"
    files = _example_files_by_dag([dag_id])
    result = run_dag(files[dag_id], dag_id, logical_date=LOGICAL_DATE, echo=False)
    assert result.states() == truth["states"]
    assert _normalized(result.xcoms()) == _normalized(truth["xcoms"])
    assert result.state == truth["state"]


def test_every_bundled_example_is_classified() -> None:
    """Each bundled example DAG is compared, or listed with the reason it is not."""
    from shims.runner import load_dags

    all_ids: set[str] = set()
    for path in airflow_example_dag_files():
        try:
            all_ids.update(load_dags(path))
        except Exception:  # noqa: BLE001
            all_ids.add(f"<file {path.name}>")
    classified = set(CONFORMANCE_DAGS) | set(NOT_OFFLINE) | set(NOT_DETERMINISTIC) | set(RUNS_OFFLINE_NOT_COMPARED)
    assert sorted(all_ids - classified) == []
    assert sorted(classified - all_ids) == []


#: examples that run offline with the runner but are not in the per-session comparison, to
#: keep the suite's time down (each ``airflow dags test`` costs 5-10 s).
RUNS_OFFLINE_NOT_COMPARED: dict[str, str] = {}
