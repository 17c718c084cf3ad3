"""DAG-level run settings the converter puts on the flow, run on real Prefect.

``max_active_tasks`` -> the flow's ``ThreadPoolTaskRunner(max_workers=N)``, ``dagrun_timeout`` ->
``timeout_seconds``, DAG-level ``on_failure_callback`` / ``on_success_callback`` -> flow hooks.
Each DAG is converted with ``converters.convert_source``, imported from a temporary folder and
its flow called on the session's Prefect server (``prefect_server`` in conftest.py).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest

from converters import convert_source

pytestmark = pytest.mark.prefect


def _flow(tmp_path: Path, source: str, name: str):
    result = convert_source(textwrap.dedent(source), "settings.py")
    assert result.status == "converted", result.findings
    path = tmp_path / f"{name}.py"
    path.write_text(result.output)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module, result


def test_max_active_tasks_one_runs_independent_tasks_one_at_a_time(prefect_server, tmp_path):
    module, result = _flow(tmp_path, '''
        import time
        import pendulum
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator

        def work():
            start = time.time()
            time.sleep(0.5)
            return [start, time.time()]

        with DAG("one_at_a_time", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), max_active_tasks=1):
            PythonOperator(task_id="a", python_callable=work)
            PythonOperator(task_id="b", python_callable=work)
    ''', "max_active_tasks_flow")
    assert "task_runner=task_runners.ThreadPoolTaskRunner(max_workers=1)" in result.output
    assert not any(f.code == "IX401" for f in result.findings)
    out = module.one_at_a_time(logical_date="2024-01-15")
    first, second = sorted(out.values())
    assert second[0] >= first[1], f"tasks overlapped: {out}"


def test_dagrun_timeout_times_the_flow_out(prefect_server, tmp_path):
    module, result = _flow(tmp_path, '''
        import time
        from datetime import timedelta
        import pendulum
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator

        def slow():
            time.sleep(8)

        with DAG("timed_out", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
                 dagrun_timeout=timedelta(seconds=2)):
            PythonOperator(task_id="slow", python_callable=slow)
    ''', "dagrun_timeout_flow")
    assert "timeout_seconds=2" in result.output
    state = module.timed_out(logical_date="2024-01-15", return_state=True)
    assert state.is_failed() and state.name == "TimedOut", state


def test_dag_level_callbacks_become_flow_hooks(prefect_server, tmp_path):
    log = tmp_path / "callbacks.jsonl"
    module, result = _flow(tmp_path, f'''
        import json
        import pendulum
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator

        LOG = {str(log)!r}

        def note(context):
            with open(LOG, "a") as fh:
                fh.write(json.dumps({{"ds": context["ds"], "failed": context["exception"] is not None}}) + "\\n")

        def boom(**context):
            if context["params"]["fail"]:
                raise ValueError("boom")
            return "ok"

        with DAG("with_callbacks", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
                 params={{"fail": False}}, on_failure_callback=note, on_success_callback=note):
            PythonOperator(task_id="boom", python_callable=boom, retries=0)
    ''', "callbacks_flow")
    assert "on_failure=[flow_callback(note)]" in result.output  # reads `exception`: the whole context, plain Python
    assert "on_completion=[flow_callback(note)]" in result.output
    assert "airflow_interop" not in result.output
    assert module.with_callbacks(logical_date="2024-01-15") == {"boom": "ok"}
    state = module.with_callbacks(logical_date="2024-01-16", fail=True, return_state=True)
    assert state.is_failed()
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls == [{"ds": "2024-01-15", "failed": False}, {"ds": "2024-01-16", "failed": True}]
