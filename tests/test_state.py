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
