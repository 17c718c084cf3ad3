"""Every bundled example DAG of Airflow 3.3 and Airflow 2.11 against its converted flow.

All of them, in CI: the 3.3 examples (``airflow/example_dags`` and
``airflow/providers/standard/example_dags`` in ``.venv``, found by :mod:`interop.corpus`) run
with the in-process runner; the 2.11 examples (``.venv-airflow2``) run in Airflow 2.11 through
the sidecar (``--airflow-python``). Each batch runs in two worker processes side by side, every
DAG under a time limit.

Every DAG must be equivalent, except those listed below with the reason: a DAG that cannot run
offline in a test's time (it gets a short limit, and the error must say what it waited on), or
a difference the conversion does not close yet, each in ``docs/not-supported.md`` (where the
ledger has no finding for it yet, the list says so). A listed DAG that becomes equivalent fails
the test too: its entry must go, so the lists stay true.
"""

from __future__ import annotations

import json
import re
import time
from html import unescape
from pathlib import Path

import pytest

from conftest import REPO, airflow_example_dag_files

pytestmark = [pytest.mark.airflow, pytest.mark.prefect]

#: after every bundled start_date (3.3's state-store examples start on 2026-01-01); a Monday
LOGICAL_DATE = "2026-06-15"
#: seconds a DAG may take (the slowest offline ones, virtualenv creation, take about 30 s)
DAG_TIMEOUT = 120.0
#: seconds for a DAG that cannot run offline in a test's time: it is stopped, and says why
SHORT = 15.0
JOBS = 4

AIRFLOW2_PYTHON = REPO / ".venv-airflow2" / "bin" / "python"

#: Airflow 3.3: DAG id -> (what the time-out names, why it cannot run to its end offline in a
#: test's time); each gets :data:`SHORT` seconds
NOT_OFFLINE_3: dict[str, tuple[str, str]] = {
    "example_sensors": (
        # the sensor it is stopped in depends on how fast the tasks before it ran: TimeSensor on
        # an idle machine, an earlier BashSensor on a loaded one (CI, 2026-12-07)
        "Sensor)",
        "its sensors poke every 60 s until their time-outs (a TimeSensor an hour ahead with timeout=1 soft-fails only "
        "after its first 60 s poke interval), and wait_for_file waits for a file that a task running beside it creates, "
        "while the in-process runner runs one task at a time",
    ),
    "example_retry_policy": (
        "waited 60 s (a retry delay or a sensor's reschedule) in task 'call_external_api'",
        "its task fails on purpose and waits retry delays of 60 s and more",
    ),
    "example_external_task": (
        "'trigger_child_task'",  # among the flow's task runs still running
        "TriggerDagRunOperator(wait_for_completion=True) waits for a run of child_dag, which only a scheduler starts: "
        "the in-process runner fails it at once (it runs only this DAG), the converted flow's operator shim waits",
    ),
}

#: the `outlet_events` / `inlet_events` context parameter of a task function (``def f(*, outlet_events=None)``)
_ASSET_EVENTS = (
    "different", "'NoneType' object is not subscriptable",
    "the task function's asset-event context parameter (outlet_events / inlet_events, default None) is left None in "
    "the flow (asset events have no flow equivalent); the task is marked IX202 (manual)",
)
_CURRENT_CONTEXT = (
    "different", "Current context was requested but no context was found",
    "get_current_context() stays Airflow's and finds no Airflow context in a Prefect task (markers IX204/IX202)",
)
_ASSET_DAG = (
    "error", "the converter did not convert DAG",
    "an @asset function (one DAG per asset, with its partitions) is not converted; the rest of the file is",
)
_DAG_ID_FROM_PATH = (
    "error", "IX003",
    "the file is refused (IX003): its dag_id is Path(__file__).stem, which depends on where Airflow loads the file",
)
_MAPPED_CUSTOM_OPERATOR = (
    "different", "'NoneType' object is not iterable",
    "a mapped custom operator (AddOneOperator.partial().expand()) is left to a hand (IX105); sum_it reads its result "
    "as None (IX107)",
)
_YIELDS_METADATA = (
    "different", "Airflow pushed no such XCom",
    "the task yields Metadata (asset event extras): Airflow turns the yields into asset events and keeps no return "
    "value, the converted task returns the yielded objects; the task is marked IX211 (manual)",
)
_BASH_CONTEXT_PARAMS = (
    "different", "missing 1 required positional argument: 'task_instance_key_str'",
    "@task.bash functions that take a context value as a parameter (task_instance_key_str) are called without it "
    "(IX202), and @task.bash env/output_processor/multiple_outputs are not carried over",
)
_SENSOR_DECORATOR = (
    "different", "wait_for_upstream.return_value: values differ",
    "@task.sensor runs once as a plain task (IX208) and returns the PokeReturnValue itself, not its xcom_value",
)

#: Airflow 3.3: DAG id -> (verdict, text its error or one of its differences contains, why)
KNOWN_3: dict[str, tuple[str, str, str]] = {
    "asset_alias_example_alias_producer": _ASSET_EVENTS,
    "asset_alias_example_alias_producer_with_no_taskflow": _ASSET_EVENTS,
    "asset_with_extra_by_context": _ASSET_EVENTS,
    "ingest_regional_sales": _ASSET_EVENTS,
    "example_asset_state_store_producer": (
        "different", "'NoneType' object is not subscriptable",
        "the asset_state_store context parameter (AIP-103) is left None in the flow; the task is marked IX202 (manual)",
    ),
    "example_asset_state_store_consumer": (
        "different", "'NoneType' object is not subscriptable",
        "the asset_state_store context parameter (AIP-103) is left None in the flow; the task is marked IX202 (manual)",
    ),
    "example_task_state_store": (
        "different", "'NoneType' object has no attribute 'get'",
        "the task_state_store context parameter (AIP-103) is left None in the flow; its ti is marked IX203",
    ),
    "example_task_state_store_mapped": (
        "different", "'NoneType' object has no attribute 'map_index'",
        "ti used for more than XCom (ti.map_index) is marked IX203 and is None in the flow",
    ),
    "ingest_region_stats": _CURRENT_CONTEXT,
    "tutorial_taskflow_templates": _CURRENT_CONTEXT,
    "example_dag_decorator": (
        "different", "task missing in the flow: prepare_command",
        "get_ip calls httpbin.org: offline it fails, Airflow marks the tasks below it upstream_failed, and the flow "
        "stops before submitting them (it waits for get_ip's result to read one key, IX207)",
    ),
    "example_dynamic_task_mapping_with_no_taskflow_operators": _MAPPED_CUSTOM_OPERATOR,
    "asset_with_extra_by_yield": _YIELDS_METADATA,
    "example_bash_decorator": _BASH_CONTEXT_PARAMS,
    "example_branch_operator": (
        "different", "'branch_task_ids' must contain only valid task_ids",
        "BranchPythonVirtualenvOperator and BranchExternalPythonOperator are not in the converter's table of branch "
        "operators: they are shimmed without the task ids below them, so Airflow's own branch check fails (IX103)",
    ),
    "example_branch_python_operator_decorator": (
        "different", "No module named 'numpy'",
        "@task.branch_virtualenv / @task.branch_external_python run in the flow's own interpreter (IX208), which has "
        "not got the virtualenv's packages",
    ),
    "example_sensor_decorator": _SENSOR_DECORATOR,
    "asset1_producer": _ASSET_DAG,
    "asset2_producer": _ASSET_DAG,
    "compute_player_odds": _ASSET_DAG,
    "live_region_player_stats": _ASSET_DAG,
    "multi_region_player_stats": _ASSET_DAG,
    "regional_stats_breakdown": _ASSET_DAG,
    "team_b_player_stats": _ASSET_DAG,
    "team_c_player_stats": _ASSET_DAG,
    "example_params_trigger_ui": _DAG_ID_FROM_PATH,
    "example_params_ui_tutorial": _DAG_ID_FROM_PATH,
    "example_setup_teardown_taskflow": (
        "error", "IX109",
        "the file is refused (IX109): setup/teardown tasks made by context managers cannot be listed statically",
    ),
}

#: Airflow 2.11 (sidecar): as :data:`NOT_OFFLINE_3` (the sidecar's progress names the last task it finished)
NOT_OFFLINE_2: dict[str, tuple[str, str]] = {
    "example_sensors": (
        "ran the DAG",
        "its sensors poke every 60 s until their time-outs, and wait_for_file waits for a file that a task running "
        "beside it creates",
    ),
    "example_external_task_marker_child": (
        "ran the DAG",
        "its ExternalTaskSensor waits for a run of example_external_task_marker_parent, which only a scheduler starts",
    ),
}

#: Airflow 2.11 (sidecar): as :data:`KNOWN_3`
KNOWN_2: dict[str, tuple[str, str, str]] = {
    "dataset_alias_example_alias_consumer": _ASSET_EVENTS,
    "dataset_alias_example_alias_consumer_with_no_taskflow": _ASSET_EVENTS,
    "read_dataset_event": _ASSET_EVENTS,
    "dataset_with_extra_by_context": _ASSET_EVENTS,
    "dataset_alias_example_alias_producer": (
        "error", "PendingRollbackError",
        "Airflow 2.11's own run fails writing the dataset alias event (SQLAlchemy PendingRollbackError on SQLite)",
    ),
    "dataset_alias_example_alias_producer_with_no_taskflow": (
        "error", "PendingRollbackError",
        "Airflow 2.11's own run fails writing the dataset alias event (SQLAlchemy PendingRollbackError on SQLite)",
    ),
    "example_dag_decorator": (
        "different", "task missing in the flow: prepare_email",
        "get_ip calls httpbin.org: offline it fails, Airflow marks the tasks below it upstream_failed, and the flow "
        "stops before submitting them (it waits for get_ip's result to read one key, IX207)",
    ),
    "example_dynamic_task_mapping_with_no_taskflow_operators": _MAPPED_CUSTOM_OPERATOR,
    "dataset_with_extra_by_yield": _YIELDS_METADATA,
    "example_bash_decorator": _BASH_CONTEXT_PARAMS,
    "example_sensor_decorator": _SENSOR_DECORATOR,
    "latest_only": (
        "different", "branch: the flow chose {'followed': ['task1']}, Airflow {'followed': []}",
        "Airflow 2.11's LatestOnlyOperator skips what is below it in a run that is neither the latest nor externally "
        "triggered (a dags test run); the flow's operator shim runs Airflow 3's, which lets every manual run through",
    ),
    "latest_only_with_trigger": (
        "different", "branch: the flow chose {'followed': ['task1']}, Airflow {'followed': []}",
        "Airflow 2.11's LatestOnlyOperator skips what is below it in a run that is neither the latest nor externally "
        "triggered (a dags test run); the flow's operator shim runs Airflow 3's, which lets every manual run through",
    ),
    "example_trigger_controller_dag": (
        "different", "run state: airflow failed, prefect success",
        "Airflow 2.11's TriggerDagRunOperator needs the target DAG in the metadata database (DagNotFound without a "
        "scheduler's DAG processor); the flow's operator shim runs Airflow 3's, which triggers in memory",
    ),
    "example_params_trigger_ui": _DAG_ID_FROM_PATH,
    "example_params_ui_tutorial": _DAG_ID_FROM_PATH,
    "example_python_decorator": (
        "error", "IX109",
        "the file is refused (IX109): its DAG is defined under `if is_venv_installed()` (tasks Airflow builds that "
        "cannot be listed statically)",
    ),
    "example_python_operator": (
        "error", "IX109",
        "the file is refused (IX109): its DAG is defined under `if is_venv_installed()` (tasks Airflow builds that "
        "cannot be listed statically)",
    ),
    "example_setup_teardown_taskflow": (
        "error", "IX109",
        "the file is refused (IX109): setup/teardown tasks made by context managers cannot be listed statically",
    ),
    "example_subdag_operator": (
        "error", "IX002",
        "SubDagOperator was removed in Airflow 3; the converter finds no DAG it can convert in the file",
    ),
    "example_subdag_operator.section-1": (
        "error", "IX002",
        "SubDagOperator was removed in Airflow 3; the converter finds no DAG it can convert in the file",
    ),
    "example_subdag_operator.section-2": (
        "error", "IX002",
        "SubDagOperator was removed in Airflow 3; the converter finds no DAG it can convert in the file",
    ),
}


def _airflow2_files() -> list[Path]:
    found = sorted(REPO.glob(".venv-airflow2/lib/python3*/site-packages/airflow/example_dags"))
    return sorted(p for p in found[0].glob("*.py") if p.name != "__init__.py") if found else []


def _dag_ids_3(files: list[Path]) -> set[tuple[str, str]]:
    """(file, dag_id) for every DAG Airflow 3's DagBag finds in the files."""
    from airflow_interop.runner import DagLoadError, load_dags

    found = set()
    for f in files:
        try:
            found |= {(str(f), d) for d in load_dags(f)}
        except DagLoadError:
            pass
    return found


def _dag_ids_2(files: list[Path]) -> set[tuple[str, str]]:
    """(file, dag_id) for every DAG Airflow 2.11 finds in the example folder."""
    from airflow_interop.sidecar import Sidecar

    with Sidecar(AIRFLOW2_PYTHON) as sidecar:
        listing = sidecar.list_dags(files[0].parent, with_files=True)
    names = {str(f) for f in files}
    return {(file, dag_id) for dag_id, file in listing["files"].items() if file in names}


def _batch(files: list[Path], out: Path, not_offline: dict, **kwargs) -> tuple[list[dict], float]:
    from interop.compare import compare_paths, write_reports

    without: list[str] = []
    started = time.perf_counter()
    comparisons = compare_paths(
        files, logical_date=LOGICAL_DATE, timeout=DAG_TIMEOUT, jobs=JOBS,
        dag_timeouts={dag_id: SHORT for dag_id in not_offline},
        on_file=lambda f, got: without.append(str(f)) if not got else None, **kwargs,
    )
    seconds = time.perf_counter() - started
    write_reports(comparisons, out, files_without_dags=without)
    return json.loads((out / "summary.json").read_text())["dags"], seconds


def _check(rows: list[dict], out: Path, expected_dags: set[tuple[str, str]], known: dict, not_offline: dict, label: str) -> None:
    listed = {(r["file"], r["dag_id"]) for r in rows}
    assert len(listed) == len(rows), "a DAG is listed twice"
    missing = expected_dags - listed
    assert not missing, f"DAGs Airflow finds but the batch does not list: {sorted(missing)}"

    index = unescape((out / "index.html").read_text())
    problems: list[str] = []
    verdicts = {r["dag_id"]: r for r in rows}
    for r in rows:
        assert r["verdict"] in ("equivalent", "different", "error")
        assert r["equivalent"] is (r["verdict"] == "equivalent")
        row = re.search(rf'<tr [^>]*data-dag="{re.escape(r["dag_id"])}" data-verdict="{r["verdict"]}">(.*?)</tr>', index, re.S)
        assert row, f"no row for {r['dag_id']} in index.html"
        assert (out / r["report"]).exists()
        said = r["error"] or "\n".join(r["differences"])
        if r["verdict"] == "error":
            assert r["error"].strip() and r["error"].strip()[:60] in row.group(1), r
        if r["verdict"] == "different":
            assert r["differences"], r
        dag_id = r["dag_id"]
        if dag_id in not_offline:
            text, why = not_offline[dag_id]
            if r["verdict"] != "error" or f"timed out after {SHORT:g} s" not in said or text not in said:
                problems.append(f"{dag_id}: cannot run offline ({why}), so it must time out saying {text!r}; got {r['verdict']}: {said[:300]}")
        elif dag_id in known:
            verdict, text, why = known[dag_id]
            if r["verdict"] != verdict or text not in said:
                problems.append(f"{dag_id}: expected {verdict} with {text!r} ({why}); got {r['verdict']}: {said[:300]}"
                                + (" -- it is equivalent now: remove its entry" if r["equivalent"] else ""))
        elif not r["equivalent"]:
            problems.append(f"{dag_id}: {r['verdict']}: {said[:400]}")
    for dag_id in set(known) | set(not_offline):
        if dag_id not in verdicts:
            problems.append(f"{dag_id}: listed as known, but the batch has no such DAG: remove its entry")
    counts = {k: sum(r["verdict"] == k for r in rows) for k in ("equivalent", "different", "error")}
    print(f"\n[compare examples, {label}] {len(rows)} DAGs: {counts}")
    assert not problems, f"{len(problems)} example DAG(s) not as expected ({label}):\n" + "\n".join(problems)


def test_airflow3_examples_all_equivalent_or_stated(prefect_server, tmp_path) -> None:
    """Every 3.3 example DAG: equivalent, or listed with its reason (and a file that does not import: an error saying so)."""
    files = airflow_example_dag_files()
    assert len(files) > 50, "Airflow 3's example DAGs are not installed"
    # a DAG file that does not import goes through the same workers: an error row with the reason
    broken = tmp_path / "dags" / "broken_example.py"
    broken.parent.mkdir()
    broken.write_text("from airflow.sdk import DAG\nimport interop_no_such_module\n\nwith DAG(dag_id='cannot_import', schedule=None):\n    pass\n")
    out = tmp_path / "out"
    rows, seconds = _batch([*files, broken], out, NOT_OFFLINE_3)
    print(f"\n[compare examples, Airflow 3] {len(files)} files in {seconds:.0f} s")
    broken_row = next(r for r in rows if r["dag_id"] == "cannot_import")
    assert broken_row["verdict"] == "error"
    assert "does not load under Airflow 3" in broken_row["error"] and "interop_no_such_module" in broken_row["error"]
    rows = [r for r in rows if r["dag_id"] != "cannot_import"]
    _check(rows, out, _dag_ids_3(files), KNOWN_3, NOT_OFFLINE_3, "Airflow 3")


@pytest.mark.skipif(not AIRFLOW2_PYTHON.exists(), reason="needs .venv-airflow2 (created by .ci/run and scripts/setup-dev)")
def test_airflow2_examples_all_equivalent_or_stated(prefect_server, tmp_path) -> None:
    """Every 2.11 example DAG, run by Airflow 2.11 through the sidecar: equivalent, or listed with its reason."""
    files = _airflow2_files()
    assert len(files) > 40, "Airflow 2.11's example DAGs are not installed in .venv-airflow2"
    out = tmp_path / "out"
    rows, seconds = _batch(files, out, NOT_OFFLINE_2, airflow_python=str(AIRFLOW2_PYTHON))
    print(f"\n[compare examples, Airflow 2.11] {len(files)} files in {seconds:.0f} s")
    _check(rows, out, _dag_ids_2(files), KNOWN_2, NOT_OFFLINE_2, "Airflow 2.11")
