"""The migration state file and ``interop status``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

pytestmark = pytest.mark.airflow

DAG_SOURCE = '''
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("orders", schedule=None):
    EmptyOperator(task_id="extract") >> EmptyOperator(task_id="load")
'''


def _status(*args: str):
    from interop.cli import main

    return CliRunner().invoke(main, ["status", *args], catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "orders.py").write_text(textwrap.dedent(DAG_SOURCE))
    return tmp_path


def test_init_set_and_show(project: Path) -> None:
    state_file = project / "interop-state.yaml"
    created = _status("--state", str(state_file), "--init", str(project / "dags" / "orders.py"))
    assert created.exit_code == 0, created.output
    data = yaml.safe_load(state_file.read_text())
    assert data["version"] == 1
    assert data["dags"]["orders"]["file"] == "dags/orders.py"
    assert data["dags"]["orders"]["tasks"] == {"extract": "airflow", "load": "airflow"}

    flow = project / "flows" / "orders.py"
    flow.parent.mkdir()
    flow.write_text("# converted\n")
    changed = _status(
        "--state", str(state_file), "--set", "orders.extract=prefect", "--set", "orders=shim",
        "--flow", f"orders={flow}", "--json",
    )
    assert changed.exit_code == 0, changed.output
    report = json.loads(changed.output)
    (dag,) = report["dags"]
    assert dag["status"] == "shim"
    assert dag["tasks"] == {"extract": "prefect", "load": "airflow"}
    assert dag["counts"] == {"airflow": 1, "shim": 0, "prefect": 1}
    assert dag["flow"] == "flows/orders.py"
    assert dag["drift"] == []

    text = _status("--state", str(state_file))
    assert text.exit_code == 0
    assert "orders" in text.output and "extract" in text.output and "prefect" in text.output


def test_drift_against_the_code(project: Path) -> None:
    from interop.state import MigrationState, check

    state_file = project / "interop-state.yaml"
    assert _status("--state", str(state_file), "--init", str(project / "dags" / "orders.py")).exit_code == 0
    # the DAG changes after the state was written: a task is added, one renamed
    (project / "dags" / "orders.py").write_text(
        textwrap.dedent(DAG_SOURCE).replace('task_id="load"', 'task_id="store"') + "    EmptyOperator(task_id='audit')\n"
    )
    state = MigrationState.load(state_file)
    state.set_status("orders", "prefect")
    state.save()
    (report,) = check(MigrationState.load(state_file))
    kinds = sorted((d.kind, d.task_id) for d in report.drift)
    assert kinds == [
        ("dag_file_changed", None),
        ("flow_missing", None),
        ("status_mismatch", None),
        ("task_added", "audit"),
        ("task_added", "store"),
        ("task_removed", "load"),
    ]
    shown = _status("--state", str(state_file))
    assert shown.exit_code == 1
    assert "task_removed" in shown.output and "'load'" in shown.output


def test_errors_name_the_object_and_list_what_exists(project: Path) -> None:
    from interop.state import MigrationState, StateError

    state_file = project / "interop-state.yaml"
    assert _status("--state", str(state_file), "--init", str(project / "dags" / "orders.py")).exit_code == 0
    state = MigrationState.load(state_file)
    with pytest.raises(StateError, match=r"Task with id 'nope' not found in dag 'orders'. Found tasks: \['extract', 'load'\]"):
        state.set_status("orders", "prefect", "nope")
    with pytest.raises(StateError, match=r"DAG 'other' is not in .*Found DAGs: \['orders'\]"):
        state.set_status("other", "prefect")
    with pytest.raises(StateError, match=r"status 'done' is not one of \['airflow', 'shim', 'prefect'\]"):
        state.set_status("orders", "done")

    bad = _status("--state", str(state_file), "--set", "orders.nope=prefect")
    assert bad.exit_code == 2 and "Found tasks" in bad.output
    missing = _status("--state", str(project / "absent.yaml"))
    assert missing.exit_code == 2 and "absent.yaml" in missing.output

    (project / "broken.yaml").write_text("version: 1\ndags:\n  orders:\n    status: sideways\n")
    with pytest.raises(StateError, match=r"broken.yaml.*'sideways'"):
        MigrationState.load(project / "broken.yaml")


BROKEN_PROVIDER = """
from airflow.sdk import DAG
from airflow.providers.no_such_provider.operators.thing import ThingOperator

with DAG("needs_provider", schedule=None):
    ThingOperator(task_id="thing")
"""


def test_init_takes_folders_and_keeps_going(project: Path) -> None:
    """--init over a folder and several files: helper modules are skipped, a DAG whose provider
    is missing is recorded from the converter's reading (and said so), a file that cannot be read
    at all is reported and the others are recorded all the same (exit 2 for that file)."""
    dags = project / "dags"
    (dags / "sub").mkdir()
    (dags / "sub" / "provider.py").write_text(textwrap.dedent(BROKEN_PROVIDER))
    (dags / "helpers.py").write_text("RETRIES = 2\n")
    (dags / "raises.py").write_text("import airflow\nraise RuntimeError('boom at import')\n")
    other = project / "other.py"
    other.write_text(textwrap.dedent(DAG_SOURCE).replace('"orders"', '"billing"'))
    state_file = project / "interop-state.yaml"
    result = CliRunner().invoke(
        __import__("interop.cli", fromlist=["main"]).main,
        ["status", "--state", str(state_file), "--init", str(dags), "--init", str(other), "--no-load"],
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    data = yaml.safe_load(state_file.read_text())
    assert set(data["dags"]) == {"orders", "billing", "needs_provider"}
    assert data["dags"]["needs_provider"]["tasks"] == {"thing": "airflow"}
    assert "recorded from the converter's reading" in result.output
    assert "raises.py does not load under Airflow" in result.output and "boom at import" in result.output


def test_from_report_records_converted_flows(project: Path) -> None:
    """--from-report reads convert's --report JSON: tasks by disposition, the flow written under
    --flows DIR recorded for each DAG."""
    from interop.cli import main

    flows = project / "flows"
    report = project / "report.json"
    converted = CliRunner().invoke(main, ["convert", str(project / "dags"), "--out", str(flows), "--report", str(report)])
    assert converted.exit_code in (0, 1), converted.output
    state_file = project / "interop-state.yaml"
    result = _status("--state", str(state_file), "--from-report", str(report), "--flows", str(flows), "--json", "--no-load")
    assert result.exit_code == 0, result.output
    (dag,) = json.loads(result.output)["dags"]
    assert dag["dag_id"] == "orders" and dag["flow"] == "flows/orders.py"
    assert dag["tasks"] == {"extract": "prefect", "load": "prefect"}
    bad = _status("--state", str(state_file), "--from-report", str(project / "dags" / "orders.py"))
    assert bad.exit_code == 2 and "cannot be read as JSON" in bad.output
