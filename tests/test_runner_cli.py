"""``interop run``: DAG files in-process, converted flow files on Prefect, JSON shape, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from tests.conftest import airflow_example_dag_files

RESULT_SCHEMA = {
    "type": "object",
    "required": ["dag_id", "state", "tasks"],
    "additionalProperties": False,
    "properties": {
        "dag_id": {"type": "string"},
        "state": {"enum": ["success", "failed"]},
        "tasks": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["state", "xcoms"],
                "additionalProperties": False,
                "properties": {
                    "state": {"enum": ["success", "failed", "skipped", "upstream_failed"]},
                    "xcoms": {"type": "object"},
                },
            },
        },
    },
}


def _example(name: str) -> Path:
    return next(p for p in airflow_example_dag_files() if p.stem == name)


def _invoke(*args: str):
    from interop.cli import main

    return CliRunner().invoke(main, ["run", *args], catch_exceptions=False)


@pytest.mark.airflow
def test_run_dag_writes_json_with_mapped_xcoms(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    result = _invoke(
        str(_example("example_dynamic_task_mapping")),
        "--dag-id", "example_dynamic_task_mapping",
        "--logical-date", "2024-01-01",
        "--json", str(out),
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    jsonschema.validate(payload, RESULT_SCHEMA)
    assert payload == {
        "dag_id": "example_dynamic_task_mapping",
        "state": "success",
        "tasks": {
            "add_one": {"state": "success", "xcoms": {"return_value[0]": 2, "return_value[1]": 3, "return_value[2]": 4}},
            "sum_it": {"state": "success", "xcoms": {}},
        },
    }


FAILING_DAG = '''
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator


def check(params):
    if params["limit"] > 5:
        raise ValueError("limit too high")
    return params["limit"]


with DAG("params_check", schedule=None, params={"limit": 1}):
    first = PythonOperator(task_id="check", python_callable=check)
    PythonOperator(task_id="after", python_callable=lambda: "done") << first
'''


@pytest.mark.airflow
def test_run_params_and_exit_code_of_a_failed_run(tmp_path: Path) -> None:
    dag = tmp_path / "params_check.py"
    dag.write_text(textwrap.dedent(FAILING_DAG))
    ok = _invoke(str(dag), "--param", "limit=3", "--json", str(tmp_path / "ok.json"))
    assert ok.exit_code == 0
    assert json.loads((tmp_path / "ok.json").read_text())["tasks"]["check"]["xcoms"] == {"return_value": 3}
    failed = _invoke(str(dag), "--param", "limit=9", "--json", str(tmp_path / "failed.json"))
    assert failed.exit_code == 1
    payload = json.loads((tmp_path / "failed.json").read_text())
    jsonschema.validate(payload, RESULT_SCHEMA)
    assert payload["state"] == "failed"
    assert payload["tasks"] == {
        "check": {"state": "failed", "xcoms": {}},
        "after": {"state": "upstream_failed", "xcoms": {}},
    }


@pytest.mark.airflow
def test_run_bad_input_exits_2_and_names_the_file(tmp_path: Path) -> None:
    missing = _invoke(str(tmp_path / "nope.py"))
    assert missing.exit_code == 2 and "nope.py" in missing.output and "does not exist" in missing.output

    broken = tmp_path / "broken.py"
    broken.write_text("from airflow.sdk import DAG\nwith DAG('x' schedule=None):\n    pass\n")
    syntax = _invoke(str(broken))
    assert syntax.exit_code == 2 and "broken.py" in syntax.output and "syntax error at line 2" in syntax.output

    empty = tmp_path / "empty.py"
    empty.write_text("import airflow\nx = 1\n")
    nodag = _invoke(str(empty))
    assert nodag.exit_code == 2 and "empty.py" in nodag.output and "Found DAGs: []" in nodag.output

    unknown = _invoke(str(_example("example_dynamic_task_mapping")), "--dag-id", "nope")
    assert unknown.exit_code == 2
    assert "'nope' not found" in unknown.output
    assert "example_task_group_mapping" in unknown.output and "example_dynamic_task_mapping.py" in unknown.output

    bad_date = _invoke(str(_example("example_xcom")), "--logical-date", "yesterday")
    assert bad_date.exit_code == 2 and "yesterday" in bad_date.output


FLOW_FILE = '''
from prefect import flow, task
from prefect.states import Completed


@task
def extract(n: int):
    return list(range(n))


@task
def double(x):
    return x * 2


@task
def maybe_skip():
    return Completed(name="Skipped", message="nothing to do")


@task
def explode(values):
    raise ValueError(f"cannot load {values}")


@flow(name="converted_etl")
def etl(n: int = 3, fail: bool = False):
    values = double.map(extract(n)).result()
    maybe_skip()
    if fail:
        explode(values)
    return values
'''


@pytest.mark.prefect
def test_run_converted_flow_file_on_prefect(prefect_server, tmp_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    flow_file = tmp_path / "converted_etl.py"
    flow_file.write_text(textwrap.dedent(FLOW_FILE))
    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_LOGGING_LEVEL="WARNING")
    cli = [sys.executable, "-m", "interop.cli", "run", str(flow_file)]

    ok = subprocess.run([*cli, "--param", "n=4", "--json", str(tmp_path / "ok.json")], env=env, capture_output=True, text=True, timeout=180)
    assert ok.returncode == 0, ok.stderr[-2000:]
    payload = json.loads((tmp_path / "ok.json").read_text())
    jsonschema.validate(payload, RESULT_SCHEMA)
    assert payload == {
        "dag_id": "converted_etl",
        "state": "success",
        "tasks": {
            "extract": {"state": "success", "xcoms": {"return_value": [0, 1, 2, 3]}},
            "double": {
                "state": "success",
                "xcoms": {"return_value[0]": 0, "return_value[1]": 2, "return_value[2]": 4, "return_value[3]": 6},
            },
            "maybe_skip": {"state": "skipped", "xcoms": {}},
        },
    }

    failed = subprocess.run([*cli, "--param", "fail=true", "--json", str(tmp_path / "failed.json")], env=env, capture_output=True, text=True, timeout=180)
    assert failed.returncode == 1, failed.stderr[-2000:]
    payload = json.loads((tmp_path / "failed.json").read_text())
    assert payload["state"] == "failed"
    assert payload["tasks"]["explode"] == {"state": "failed", "xcoms": {}}

    unknown = subprocess.run([*cli, "--dag-id", "other"], env=env, capture_output=True, text=True, timeout=180)
    assert unknown.returncode == 2 and "Found flows: ['converted_etl']" in unknown.stderr


def test_run_import_failure_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """An Airflow 3 file whose provider is missing: exit 2, one line naming file, line and package."""
    dag_file = tmp_path / "needs_postgres.py"
    dag_file.write_text("from airflow.sdk import DAG\nfrom airflow.providers.postgres.hooks.postgres import PostgresHook\n")
    result = _invoke(str(dag_file))
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "Failed to import" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {dag_file}:2: `from airflow.providers.postgres.hooks.postgres import PostgresHook`: needs the provider "
        "package apache-airflow-providers-postgres (No module named 'airflow.providers.postgres'); install it, or run the "
        "DAG in the team's own Airflow with --airflow-python PATH [failed to import]"
    ]


WAITS_FOR_OTHER_DAG = '''
from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

with DAG("waits", schedule=None, start_date=datetime(2023, 1, 1)):
    wait = ExternalTaskSensor(task_id="wait", external_dag_id="upstream_dag", external_task_id="load", poke_interval=5)
    soft = ExternalTaskSensor(task_id="soft", external_dag_id="upstream_dag", soft_fail=True)
    fire = TriggerDagRunOperator(task_id="fire", trigger_dag_id="downstream_dag")
    fire_and_wait = TriggerDagRunOperator(task_id="fire_and_wait", trigger_dag_id="downstream_dag", wait_for_completion=True)
    wait >> EmptyOperator(task_id="after")
'''


def test_run_ends_waits_for_another_dag_at_once_with_the_reason(tmp_path: Path) -> None:
    """ExternalTaskSensor / TriggerDagRunOperator(wait_for_completion=True) fail at once (no hang), saying why."""
    dag_file = tmp_path / "waits.py"
    dag_file.write_text(WAITS_FOR_OTHER_DAG)
    out = tmp_path / "out.json"
    result = _invoke(str(dag_file), "--logical-date", "2024-01-01", "--json", str(out))
    assert result.exit_code == 1
    states = {t: v["state"] for t, v in json.loads(out.read_text())["tasks"].items()}
    assert states == {"wait": "failed", "after": "upstream_failed", "soft": "skipped", "fire": "success", "fire_and_wait": "failed"}
    assert "error in task 'wait': ExternalTaskSensor 'wait' waits for a run of DAG 'upstream_dag'" in result.output
    assert "error in task 'fire_and_wait': TriggerDagRunOperator 'fire_and_wait' waits for a run of DAG 'downstream_dag'" in result.output


def test_run_says_why_tasks_did_not_run_and_why_a_task_failed(tmp_path: Path) -> None:
    """Tasks starting after the logical date are left out as in Airflow, with a note; a failed task's error is printed."""
    dag_file = tmp_path / "late.py"
    dag_file.write_text(textwrap.dedent('''
        from datetime import datetime
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator

        def boom():
            raise ValueError("no rows for this day")

        with DAG("late", schedule=None, start_date=datetime(2024, 1, 1)):
            PythonOperator(task_id="early", python_callable=boom)
            PythonOperator(task_id="later", python_callable=print, start_date=datetime(2025, 6, 1))
    '''))
    out = tmp_path / "out.json"
    result = _invoke(str(dag_file), "--logical-date", "2024-01-01", "--json", str(out))
    assert result.exit_code == 1
    assert json.loads(out.read_text())["tasks"] == {"early": {"state": "failed", "xcoms": {}}}
    assert "error in task 'early': ValueError: no rows for this day" in result.output
    assert "note: 1 task(s) did not run on this logical date" in result.output
    assert "'later': its start_date 2025-06-01T00:00:00+00:00 is after the logical date 2024-01-01T00:00:00+00:00" in result.output


def test_run_no_dag_says_dag_factory_or_helper_module(tmp_path: Path) -> None:
    """A file whose DAG is only built inside an uncalled function, or a helper module: exit 2 saying which."""
    factory = tmp_path / "factory.py"
    factory.write_text(textwrap.dedent('''
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.bash_operator import BashOperator

        def subdag(parent, child, args):
            dag = DAG(f"{parent}.{child}", schedule_interval="@daily", start_date=datetime(2024, 1, 1))
            BashOperator(task_id="t", bash_command="echo", dag=dag)
            return dag
    '''))
    result = _invoke(str(factory))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Found DAGs: [] (DAG(...) is only created inside subdag() (a DAG factory); nothing calls it" in result.output

    helper = tmp_path / "hooks_helper.py"
    helper.write_text("from airflow.hooks.base import BaseHook\n\ndef url(conn_id):\n    return BaseHook.get_connection(conn_id).host\n")
    result = _invoke(str(helper))
    assert result.exit_code == 2
    assert "Found DAGs: [] (the file creates no DAG at all: a helper module" in result.output


def test_retry_wait_is_announced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A failed try waits its retry_delay as in Airflow, and says so on stderr (the run would look hung)."""
    from airflow_interop.runner import run_dag

    dag_file = tmp_path / "retrying.py"
    dag_file.write_text(textwrap.dedent('''
        from datetime import datetime, timedelta
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator

        def flaky():
            raise ConnectionError("warehouse unreachable")

        with DAG("retrying", schedule=None, start_date=datetime(2024, 1, 1),
                 default_args={"retries": 1, "retry_delay": timedelta(minutes=5)}):
            PythonOperator(task_id="load", python_callable=flaky)
    '''))
    waits: list[float] = []
    result = run_dag(dag_file, logical_date="2024-01-01", echo=False, sleep=waits.append)
    assert result.states() == {"load": "failed"} and waits == [300.0]
    err = capsys.readouterr().err
    assert "note: task 'load' failed on try 1 (ConnectionError: warehouse unreachable); waiting its retry_delay of 300 s before try 2" in err
