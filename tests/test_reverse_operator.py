"""PrefectFlowOperator: a DAG still in Airflow runs a migrated Prefect flow and uses its result.

The DAGs run with Airflow's own ``airflow dags test`` (tasks run in the Airflow process, so
the flow runs in-process there) in a subprocess with its own AIRFLOW_HOME, against the real
Prefect test server of the session (``prefect_server``). Task states and XComs are read back
from that Airflow's metadata database; flow runs from the Prefect API.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
pytestmark = [pytest.mark.airflow, pytest.mark.prefect]

DAG_ID = "reverse_interop"
DAG_FILE = '''
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator
from airflow_interop.airflow_operator import PrefectFlowOperator


def consume(ti):
    enriched = ti.xcom_pull(task_ids="enrich")
    return {
        "total_plus_one": enriched["total"] + 1,
        "flow_run_id": ti.xcom_pull(task_ids="enrich", key="prefect_flow_run_id"),
    }


def consume_deployed(ti):
    return ti.xcom_pull(task_ids="deployed")["total"] * 10


with DAG(
    "reverse_interop",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    params={"factor": 5},
    render_template_as_native_obj=True,
    default_args={"retries": 0},
):
    # A migrated flow by import path, run in this (Airflow) process; templated parameters.
    enrich = PrefectFlowOperator(
        task_id="enrich",
        flow="test_reverse_operator_flows:enrich",
        parameters={"values": [1, 2, 3], "factor": "{{ params.factor }}", "day": "{{ ds }}"},
        flow_run_name="from-airflow-{{ ds_nodash }}",
    )
    enrich >> PythonOperator(task_id="consume", python_callable=consume)
    # A flow that raises.
    PrefectFlowOperator(
        task_id="broken",
        flow="test_reverse_operator_flows:broken",
        parameters={"reason": "on purpose"},
    )
    # A deployment by name (served by flow.serve in the test), and one that does not exist.
    deployed = PrefectFlowOperator(
        task_id="deployed",
        deployment="enrich_orders_deployed/reverse-test",
        parameters={"values": [4, 5]},
        timeout=120,
        poll_interval=0.5,
    )
    deployed >> PythonOperator(task_id="consume_deployed", python_callable=consume_deployed)
    PrefectFlowOperator(task_id="missing", deployment="enrich_orders_deployed/no-such-deployment")
'''


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def prefect_api_url(prefect_server) -> str:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()


@pytest.fixture(scope="module")
def reverse_env(tmp_path_factory, prefect_api_url) -> dict[str, str]:
    """An Airflow home (migrated SQLite DB, a dags folder) and Prefect env for subprocesses."""
    home = tmp_path_factory.mktemp("reverse-airflow-home")
    dags = home / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO)]),
            "PREFECT_API_URL": prefect_api_url,
            "PREFECT_HOME": str(home / "prefect-home"),
            "PREFECT_LOCAL_STORAGE_PATH": str(home / "prefect-results"),
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
    )
    return env


@pytest.fixture(scope="module")
def migrating(reverse_env):
    """``airflow db migrate`` started in the background (it overlaps the deployment start-up)."""
    log_path = Path(reverse_env["AIRFLOW_HOME"]) / "db-migrate.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=reverse_env, stdout=log, stderr=subprocess.STDOUT,
        )
    yield proc, log_path
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _dags_test(env: dict[str, str], dag_id: str, logical_date: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", dag_id, logical_date],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )


def _airflow_db(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")


def _task_states(env: dict[str, str], dag_id: str) -> dict[str, str]:
    with _airflow_db(env) as db:
        rows = db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (dag_id,))
        return dict(rows.fetchall())


def _xcoms(env: dict[str, str], dag_id: str) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    with _airflow_db(env) as db:
        rows = db.execute("SELECT task_id, key, value FROM xcom WHERE dag_id = ?", (dag_id,))
        for task_id, key, value in rows.fetchall():
            if isinstance(value, (bytes, str)):
                value = json.loads(value)
            out.setdefault(task_id, {})[key] = value
    return out


def _read_flow_run(flow_run_id: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        flow = client.read_flow(run.flow_id)
    return run, flow


# ------------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def served_deployment(reverse_env):
    """``enrich_deployed.serve(...)`` in a subprocess, until its deployment is registered."""
    from prefect.client.orchestration import get_client

    log_path = Path(reverse_env["AIRFLOW_HOME"]) / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(TESTS / "test_reverse_operator_flows.py")],
            env=reverse_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        with get_client(sync_client=True) as client:
            while True:
                try:
                    client.read_deployment_by_name("enrich_orders_deployed/reverse-test")
                    break
                except Exception:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"flow.serve did not register its deployment:\n{log_path.read_text()[-3000:]}")
                    time.sleep(0.5)
        yield log_path
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def dag_run(reverse_env, migrating, served_deployment) -> dict:
    """One ``airflow dags test`` of the DAG: its output, task states and XComs."""
    migrate, migrate_log = migrating
    assert migrate.wait(timeout=180) == 0, migrate_log.read_text()[-3000:]
    proc = _dags_test(reverse_env, DAG_ID, "2025-02-03")
    output = proc.stdout + proc.stderr
    return {
        "output": output,
        "log_tail": output[-4000:] + served_deployment.read_text()[-2000:],
        "states": _task_states(reverse_env, DAG_ID),
        "xcoms": _xcoms(reverse_env, DAG_ID),
    }


def test_dag_runs_flow_by_import_path_and_downstream_uses_its_result(dag_run):
    """enrich (a migrated flow, templated params) -> consume (an Airflow task pulling it);
    broken (a flow that raises) fails its Airflow task with the flow's error."""
    states, xcoms, output = dag_run["states"], dag_run["xcoms"], dag_run["output"]
    assert {t: states.get(t) for t in ("enrich", "consume", "broken")} == {
        "enrich": "success",
        "consume": "success",
        "broken": "failed",
    }, dag_run["log_tail"]

    enriched = xcoms["enrich"]["return_value"]
    assert enriched == {"day": "2025-02-03", "scaled": [v * 5 for v in (1, 2, 3)], "total": 30}
    flow_run_id = xcoms["enrich"]["prefect_flow_run_id"]
    assert xcoms["consume"]["return_value"] == {"total_plus_one": 31, "flow_run_id": flow_run_id}

    # The flow ran on the Prefect server, with the rendered parameters.
    run, flow = _read_flow_run(flow_run_id)
    assert flow.name == "enrich_orders"
    assert run.name == "from-airflow-20250203"
    assert run.parameters == {"values": [1, 2, 3], "factor": 5, "day": "2025-02-03"}
    assert run.state.is_completed()

    # The failing flow: its run failed on Prefect too, and the Airflow log names the error.
    broken_run, broken_flow = _read_flow_run(xcoms["broken"]["prefect_flow_run_id"])
    assert broken_flow.name == "broken_piece"
    assert broken_run.state.is_failed()
    assert "PrefectFlowRunError" in output
    assert "migrated piece failed: on purpose" in output


def test_dag_runs_a_deployment_by_name(dag_run):
    """deployed (a served deployment) -> consume_deployed; an unknown deployment fails
    listing the deployments found."""
    states, xcoms, output = dag_run["states"], dag_run["xcoms"], dag_run["output"]
    assert {t: states.get(t) for t in ("deployed", "consume_deployed", "missing")} == {
        "deployed": "success",
        "consume_deployed": "success",
        "missing": "failed",
    }, dag_run["log_tail"]
    assert xcoms["deployed"]["return_value"] == {"scaled": [12, 15], "total": 27}
    assert xcoms["consume_deployed"]["return_value"] == 270

    run, flow = _read_flow_run(xcoms["deployed"]["prefect_flow_run_id"])
    assert flow.name == "enrich_orders_deployed"
    assert run.parameters == {"values": [4, 5]}
    assert run.state.is_completed()
    assert "deployment `enrich_orders_deployed/no-such-deployment` not found" in output
    assert "Found deployments: ['enrich_orders_deployed/reverse-test']" in output


# ------------------------------------------------------------------- in-process checks


def test_operator_needs_exactly_one_target():
    from airflow_interop.airflow_operator import PrefectFlowOperator

    with pytest.raises(ValueError, match="exactly one of flow= .* or deployment="):
        PrefectFlowOperator(task_id="neither")
    with pytest.raises(ValueError, match="`both`"):
        PrefectFlowOperator(task_id="both", flow="m:f", deployment="f/d")
    op = PrefectFlowOperator(task_id="ok", flow="m:f", parameters={"x": "{{ ds }}"})
    assert set(op.template_fields) >= {"flow", "deployment", "parameters", "flow_run_name"}


def test_load_flow_errors_name_what_was_found(monkeypatch):
    from airflow_interop.airflow_operator import load_flow

    monkeypatch.syspath_prepend(str(TESTS))
    found = re.escape("Found flows: ['broken', 'enrich', 'enrich_deployed']")
    assert load_flow("test_reverse_operator_flows:enrich").name == "enrich_orders"
    assert load_flow("test_reverse_operator_flows.broken").name == "broken_piece"
    with pytest.raises(AttributeError, match=rf"Flow `nope` not found in module `test_reverse_operator_flows`\. {found}"):
        load_flow("test_reverse_operator_flows:nope")
    with pytest.raises(TypeError, match=rf"is a function, not a Prefect flow.*{found}"):
        load_flow("test_reverse_operator_flows:not_a_flow")
    with pytest.raises(ImportError, match="no_such_module"):
        load_flow("no_such_module:f")
    with pytest.raises(ValueError, match="package.module:flow_name"):
        load_flow("justaname")


BLOCK_PREFECT = textwrap.dedent(
    """
    import importlib.abc, sys

    class BlockPrefect(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "prefect" or name.startswith("prefect."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
            return None

    sys.meta_path.insert(0, BlockPrefect())

    import pendulum
    from airflow.sdk import DAG
    import airflow_interop.airflow_operator as mod
    from airflow_interop.airflow_operator import PrefectFlowOperator

    with DAG("no_prefect", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
        op = PrefectFlowOperator(task_id="t", flow="some.module:some_flow")
    assert not [m for m in sys.modules if m == "prefect" or m.startswith("prefect.")]
    try:
        op.execute({})
    except ImportError as exc:
        print("EXECUTE-ERROR:", exc)
    print("IMPORTED-OK")
    """
)


def test_module_imports_without_prefect(tmp_path):
    """The DAG processor may lack Prefect: the module and a DAG using it import without it,
    and execute() says what is missing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="False", PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_PREFECT], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "IMPORTED-OK" in proc.stdout
    assert "EXECUTE-ERROR: PrefectFlowOperator needs the `prefect` package" in proc.stdout
