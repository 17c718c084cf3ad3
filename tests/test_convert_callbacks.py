"""Callbacks and retry/timeout options of converted flows, held against Airflow 3.3.

Ground truth is Airflow itself: ``airflow dags test`` in a temporary ``AIRFLOW_HOME`` runs the
DAG, its task callbacks (failure after a retry, retry, success) and its DAG callback, which write what they received to a file; the
converted flow runs on the session's Prefect server with the same callbacks. The retry and
timeout values are read from the DAG Airflow builds and from the converted module's Prefect tasks.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from converters import convert_file
from test_runner_conformance import _airflow_cli, _env

CALLBACK_DAG = '''
import json
from datetime import timedelta

import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from team_alerts import ALERTS, broken_retry, dag_failed, handed_on, task_failed, task_retried

LOG = {log!r}


def _write(row):
    with open(LOG, "a") as fh:
        fh.write(json.dumps(row, default=str) + "\\n")


def on_task_failure(context):
    ti = context["task_instance"]
    _write({{
        "kind": "task_failure", "task_id": ti.task_id, "dag_id": ti.dag_id, "try_number": ti.try_number,
        "exception": repr(context["exception"]), "ds": context["ds"], "params": dict(context["params"]),
        "same_run": ti.run_id == context["dag_run"].run_id == context["run_id"],
        "run_id_kind": context["run_id"].split("__")[0], "conf": context["dag_run"].conf,
    }})


def on_task_retry(context):
    ti = context["ti"]
    _write({{"kind": "task_retry", "task_id": ti.task_id, "try_number": ti.try_number,
             "exception": repr(context["exception"])}})


def on_task_success(context):
    ti = context.get("ti")
    _write({{"kind": "task_success", "task_id": ti.task_id if ti else None, "try_number": getattr(ti, "try_number", None),
             "exception": context.get("exception"), "task": context["task"].task_id}})


def notify(context):
    handed_on(context)


def with_log_url(context):
    _write({{"kind": "log_url", "url": context["ti"].log_url}})


def with_macros(context):
    _next_ds(context)


def _next_ds(context):
    _write({{"kind": "macros", "next_ds": context["macros"].ds_add(context["ds"], 1)}})


def on_dag_failure(context):
    dag_run = context["dag_run"]
    _write({{"kind": "dag_failure", "dag_id": context["dag"].dag_id, "run_dag_id": dag_run.dag_id,
             "ds": context["ds"], "logical_date": str(context["logical_date"]), "params": dict(context["params"])}})


def fine():
    return 1


def boom():
    raise ValueError("boom")


with DAG("callbacks_dag", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), params={{"x": 1}},
         on_failure_callback=[on_dag_failure, dag_failed]):
    ok = PythonOperator(task_id="ok", python_callable=fine, on_success_callback=[
        on_task_success, notify, with_macros,
        lambda context: _write({{"kind": "lambda", "ds_nodash": context["ds_nodash"], "key": context["task_instance_key_str"]}}),
    ])
    bad = PythonOperator(task_id="bad", python_callable=boom, on_failure_callback=[on_task_failure, task_failed, with_log_url],
                         on_retry_callback=on_task_retry, retries=1, retry_delay=timedelta(seconds=1))
    again = PythonOperator(task_id="again", python_callable=boom, on_retry_callback=task_retried, retries=1,
                           retry_delay=timedelta(seconds=1), on_failure_callback=[*ALERTS])
    # an on_retry_callback that raises: Airflow logs it and still retries (the failure callback sees try 2)
    again_broken = PythonOperator(task_id="again_broken", python_callable=boom, on_retry_callback=broken_retry, retries=1,
                                  retry_delay=timedelta(seconds=1), on_failure_callback=[*ALERTS])
    ok >> bad
'''

#: callbacks of another module: what they read is unknown to the converter (the adapter gives the
#: whole context it can build)
TEAM_ALERTS = '''
import json

LOG = {log!r}
STATES = ("success", "failed", "up_for_retry")


def _write(row):
    with open(LOG, "a") as fh:
        fh.write(json.dumps(row, default=str) + "\\n")


def task_failed(context):
    ti = context["ti"]
    _write({{"kind": "shim_task_failure", "task_id": ti.task_id, "dag_id": ti.dag_id, "try_number": ti.try_number,
             "state": [s for s in STATES if ti.state == s], "task": context["task"].task_id, "dag": context["dag"].dag_id,
             "run_dag_id": context["dag_run"].dag_id, "same_run": ti.run_id == context["dag_run"].run_id == context["run_id"],
             "exception": repr(context["exception"]), "ds": context["ds"], "ds_nodash": context["ds_nodash"],
             "ts": context["ts"], "ts_nodash": context["ts_nodash"], "logical_date": str(context["logical_date"]),
             "key": context["task_instance_key_str"], "params": dict(context["params"]),
             "conf": context["dag_run"].conf, "run_logical_date": str(context["dag_run"].logical_date)}})


def task_retried(context):
    ti = context["ti"]
    _write({{"kind": "shim_task_retry", "task_id": ti.task_id, "try_number": ti.try_number, "state": [s for s in STATES if ti.state == s],
             "exception": repr(context["exception"]), "ds": context["ds"]}})


def listed(context):
    _write({{"kind": "listed", "task_id": context["ti"].task_id, "try_number": context["ti"].try_number,
             "exception": repr(context["exception"]), "ds": context["ds"], "dag": context["dag"].dag_id}})


ALERTS = [listed]


def broken_retry(context):
    raise RuntimeError("the retry callback broke")


def handed_on(context):
    _write({{"kind": "handed_on", "task_id": context["task_instance"].task_id, "state": [s for s in STATES if context["ti"].state == s],
             "exception": context.get("exception"), "ds": context["ds"], "run_id_kind": context["run_id"].split("__")[0]}})


def dag_failed(context):
    _write({{"kind": "shim_dag_failure", "dag": context["dag"].dag_id, "run_dag_id": context["dag_run"].dag_id,
             "run_id_kind": context["run_id"].split("__")[0], "ds": context["ds"], "params": dict(context["params"])}})
'''

LOGICAL_DATE = "2024-01-15T00:00:00+00:00"


def _load(path: Path, name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    before = set(sys.modules)
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    finally:
        sys.path.remove(str(path.parent))
        # the test's own helper modules (team_config) are not left for other tests to import
        for name in set(sys.modules) - before:
            if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(path.parent)):
                del sys.modules[name]
    return module


def _rows(log: Path) -> list[dict]:
    rows = (json.loads(line) for line in log.read_text().splitlines())
    return sorted(rows, key=lambda r: (r["kind"], json.dumps(r, sort_keys=True)))


def test_callbacks_receive_what_airflow_gives_them(tmp_path, prefect_server):
    dags, home = tmp_path / "dags", tmp_path / "home"
    dags.mkdir()
    home.mkdir()
    airflow_log, prefect_log = tmp_path / "airflow.jsonl", tmp_path / "prefect.jsonl"
    (dags / "callbacks_dag.py").write_text(CALLBACK_DAG.format(log=str(airflow_log)))
    (dags / "team_alerts.py").write_text(TEAM_ALERTS.format(log=str(airflow_log)))
    airflow = _airflow_cli()
    env = _env(home, dags)  # the same temporary AIRFLOW_HOME as the runner's conformance test
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    subprocess.run([airflow, "dags", "test", "callbacks_dag", LOGICAL_DATE], env=env, capture_output=True, timeout=300)
    truth = _rows(airflow_log)
    kinds = [
        "dag_failure", "handed_on", "lambda", "listed", "listed", "log_url", "macros", "shim_dag_failure", "shim_task_failure",
        "shim_task_retry", "task_failure", "task_retry", "task_success",
    ]
    assert [r["kind"] for r in truth] == kinds, truth

    source = tmp_path / "flow_src" / "callbacks_dag.py"
    source.parent.mkdir()
    source.write_text(CALLBACK_DAG.format(log=str(prefect_log)))
    (source.parent / "team_alerts.py").write_text(TEAM_ALERTS.format(log=str(prefect_log)))
    converted = convert_file(str(source))
    assert converted.status in ("converted", "partial"), converted.findings
    out = converted.output
    # plain Prefect: the adapter is a function of the file, for the imported callbacks too (the whole
    # context it can build); only the callback reading `macros` goes through the runtime's airflow_callback
    imports = [line for line in out.splitlines() if "shims" in line or "airflow" in line.lower().replace("airflow callback", "")]
    assert [line for line in imports if line.startswith(("from", "import"))] == ["from airflow_interop.runtime import airflow_callback"], imports
    assert out.count("airflow_callback(") == 1
    assert "on_failure=[task_callback(on_task_failure), task_callback(task_failed), task_callback(with_log_url)]" in out
    assert "on_completion=[task_callback(on_task_success), task_callback(notify), airflow_callback(with_macros), task_callback(lambda context:" in out
    assert "on_failure=[task_callback(cb) for cb in [*ALERTS]]" in out
    assert "on_failure=[flow_callback(on_dag_failure), flow_callback(dag_failed)]" in out
    assert "retry_condition_fn=task_callback(on_task_retry, retry=True)" in out  # called when a failed run retries
    assert "retry_condition_fn=task_callback(task_retried, retry=True)" in out
    assert "retry_condition_fn=task_callback(broken_retry, retry=True)" in out
    # the ledger names each callback whose reads are not checked (with_log_url: an attribute the adapter cannot give)
    unchecked = sorted(f.message.split("`")[1][:15] for f in converted.findings if f.code == "IX206")
    assert unchecked == ["[*ALERTS]", "broken_retry", "dag_failed", "lambda context:", "notify", "task_failed", "task_retried", "with_log_url"], converted.findings
    target = source.parent / "converted_callbacks_dag.py"  # beside team_alerts.py
    target.write_text(out)
    compile(out, str(target), "exec", flags=0, dont_inherit=True)
    module = _load(target, "converted_callbacks_dag")
    state = module.callbacks_dag(logical_date=LOGICAL_DATE, return_state=True)
    assert state.is_failed()
    # `ti.log_url` is none of the adapter's: the callback fails when it runs (the ledger says so), it
    # does not read a made-up value
    assert _rows(prefect_log) == [row for row in truth if row["kind"] != "log_url"]


RETRIES_DAG = '''
from datetime import timedelta

import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from team_config import DEFAULT_ARGS, SHARED_TIMEOUT

RETRIES = 4
RETRY_DELAY = timedelta(seconds=45)
DELAY_SECONDS = 12
TIMEOUT_MINUTES = 3


def by_name():
    return 1


def by_number_name():
    return 2


def by_default_args():
    return 3


def by_imported_timeout():
    return 4


def by_computed_timedelta():
    return 5


with DAG("retry_options", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
         default_args={{**DEFAULT_ARGS, "owner": "data"}}) as dag:
    PythonOperator(task_id="by_name", python_callable=by_name, retries=RETRIES, retry_delay=RETRY_DELAY,
                   execution_timeout=RETRY_DELAY)
    PythonOperator(task_id="by_number_name", python_callable=by_number_name, retries=1, retry_delay=DELAY_SECONDS)
    PythonOperator(task_id="by_default_args", python_callable=by_default_args)
    PythonOperator(task_id="by_imported_timeout", python_callable=by_imported_timeout, retries=2,
                   retry_delay=timedelta(seconds=5), execution_timeout=SHARED_TIMEOUT)
    PythonOperator(task_id="by_computed_timedelta", python_callable=by_computed_timedelta, retries=1,
                   retry_delay=timedelta(minutes=TIMEOUT_MINUTES), execution_timeout=timedelta(minutes=TIMEOUT_MINUTES))
'''

TEAM_CONFIG = '''
from datetime import timedelta

DEFAULT_ARGS = {"retries": 3, "retry_delay": timedelta(seconds=7), "execution_timeout": timedelta(minutes=2)}
SHARED_TIMEOUT = timedelta(seconds=90)
'''


def test_retry_and_timeout_values_are_airflows(tmp_path):
    """The converted Prefect tasks' retries, retry_delay_seconds and timeout_seconds equal the
    retries, retry_delay and execution_timeout (in seconds) of the tasks Airflow builds: names,
    imported values and default_args read by reference, without this project's runtime."""
    (tmp_path / "team_config.py").write_text(textwrap.dedent(TEAM_CONFIG))
    dag_file = tmp_path / "retry_options.py"
    dag_file.write_text(RETRIES_DAG.format())
    airflow_module = _load(dag_file, "retry_options_airflow")
    dag = airflow_module.dag
    truth = {
        t.task_id: (
            t.retries,
            t.retry_delay.total_seconds(),
            t.execution_timeout.total_seconds() if t.execution_timeout else None,
        )
        for t in dag.tasks
    }

    converted = convert_file(str(dag_file))
    assert converted.status in ("converted", "partial"), converted.findings
    out = converted.output
    assert "airflow_interop" not in out, out
    assert "retries=RETRIES" in out and "retry_delay_seconds=RETRY_DELAY.total_seconds()" in out
    assert "retry_delay_seconds=DELAY_SECONDS" in out
    assert "timedelta(minutes=TIMEOUT_MINUTES).total_seconds()" in out
    target = tmp_path / "converted_retry_options.py"
    target.write_text(out)
    module = _load(target, "converted_retry_options")
    from prefect import Task

    tasks = {v.name: v for v in vars(module).values() if isinstance(v, Task)}
    got = {
        task_id: (
            tasks[task_id].retries,
            float(tasks[task_id].retry_delay_seconds),
            tasks[task_id].timeout_seconds,
        )
        for task_id in truth
    }
    assert got == truth


PARITY_DAG = '''
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from team_parity import by_adapter, by_shim


def fine():
    return 1


def boom():
    raise ValueError("boom")


with DAG("parity_dag", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), params={"x": 1},
         on_failure_callback=[by_adapter, by_shim]):
    ok = PythonOperator(task_id="ok", python_callable=fine, on_success_callback=[by_adapter, by_shim])
    bad = PythonOperator(task_id="bad", python_callable=boom, on_failure_callback=[by_adapter, by_shim])
    ok >> bad
'''

#: two callbacks recording every key of the context they get, as plain values
TEAM_PARITY = '''
import json
import types
from datetime import datetime

LOG = {log!r}


def _plain(value):
    if isinstance(value, types.SimpleNamespace):
        return {{k: _plain(v) for k, v in vars(value).items()}}
    if isinstance(value, dict):
        return {{k: _plain(v) for k, v in value.items()}}
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, BaseException):
        return repr(value)
    return type(value).__name__ + ":" + str(getattr(value, "name", None) or getattr(value, "type", None))


def _record(via, context):
    row = {{"via": via, "hook": "task" if "task" in context else "flow", "state": context["state"].type.value}}
    # macros and var (the shim's): only that they are there (a read of var.value.x looks a Variable up)
    row["context"] = {{k: "<runtime>" if k in ("macros", "var") else _plain(v) for k, v in context.items()}}
    with open(LOG, "a") as fh:
        fh.write(json.dumps(row) + "\\n")


def by_adapter(context):
    _record("adapter", context)


def by_shim(context):
    _record("shim", context)
'''


def test_adapter_gives_what_airflow_callback_gave(tmp_path, prefect_server):
    """A callback whose reads are unknown (imported) gets, from the file's plain adapter, every key
    and value airflow_interop.runtime.airflow_callback gave it on the same Prefect run, but `macros` and
    `var` (this project's runtime), and `ti.state` in Airflow's word (the shim gave Prefect's
    state name; Airflow's, proven against Airflow above: `failed`, `success`)."""
    log = tmp_path / "parity.jsonl"
    (tmp_path / "team_parity.py").write_text(TEAM_PARITY.format(log=str(log)))
    source = tmp_path / "parity_dag.py"
    source.write_text(PARITY_DAG)
    converted = convert_file(str(source))
    out = converted.output
    assert "airflow_interop" not in out and "airflow" not in out.replace("Airflow", ""), out
    assert "on_failure=[task_callback(by_adapter), task_callback(by_shim)]" in out
    # the control: the same callback position through the shim's hook, as the converter wrote it before
    control = "from airflow_interop.runtime import airflow_callback\n" + re.sub(r"\b(task|flow)_callback\(by_shim\)", "airflow_callback(by_shim)", out)
    assert control.count("airflow_callback(by_shim)") == 3, control
    target = tmp_path / "converted_parity_dag.py"
    target.write_text(control)
    module = _load(target, "converted_parity_dag")
    assert module.parity_dag(logical_date=LOGICAL_DATE, return_state=True).is_failed()

    rows = [json.loads(line) for line in log.read_text().splitlines()]
    by = {(r["via"], r["hook"], r["state"]): r["context"] for r in rows}
    assert sorted(by) == sorted((via, hook, state) for via in ("adapter", "shim")
                                for hook, state in (("task", "COMPLETED"), ("task", "FAILED"), ("flow", "FAILED")))
    words = {"COMPLETED": "success", "FAILED": "failed"}
    names = {"COMPLETED": "Completed", "FAILED": "Failed"}
    for hook, state in (("task", "COMPLETED"), ("task", "FAILED"), ("flow", "FAILED")):
        shim, adapter = dict(by["shim", hook, state]), by["adapter", hook, state]
        assert set(shim) - set(adapter) == {"macros", "var"}
        assert set(adapter) <= set(shim)
        for context in (shim, adapter):
            context.pop("macros", None), context.pop("var", None)
        assert shim["ti"]["state"] == shim["task_instance"]["state"] == names[state]
        assert adapter["ti"]["state"] == adapter["task_instance"]["state"] == words[state]
        for context in (shim, adapter):
            context["ti"].pop("state"), context["task_instance"].pop("state")
        assert adapter == shim
        assert adapter["ds"] == "2024-01-15" and adapter["params"] == {"x": 1} and adapter["dag_run"]["conf"] == {}
