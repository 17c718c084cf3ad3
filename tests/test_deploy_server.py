"""interop deploy / backfill / import-variables against a REAL Prefect server and worker.

``live_prefect`` (session scope: started once, stopped when the session ends): ``prefect server
start`` on 127.0.0.1 from ``.venv-prefect-server`` (scripts/setup-dev: the client's Prefect
version with SQLAlchemy < 2.1 and FastAPI < 0.137), a private PREFECT_HOME, analytics off, no
UI; a process work pool and ``prefect worker start`` from this interpreter's environment (the
one the converted flows import ``airflow_interop.runtime`` from). Every command under test runs as the
user runs it: ``interop ...`` and ``prefect ...`` in subprocesses against that server. Nothing
is mocked; times are only compared with each other (which run or task ran first).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = pytest.mark.prefect

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DAGS = REPO / "sample_dags"
SERVER_PYTHON = REPO / ".venv-prefect-server" / "bin" / "python"
CLIENT_BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = float(os.environ.get("LIVE_PREFECT_STARTUP_TIMEOUT", "120"))
RUN_TIMEOUT = float(os.environ.get("LIVE_PREFECT_RUN_TIMEOUT", "240"))
WORK_POOL = "interop-test-process"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass
class LivePrefect:
    url: str  # the API URL (http://127.0.0.1:PORT/api)
    home: Path
    env: dict[str, str]
    logs: dict[str, Path] = field(default_factory=dict)

    def run(self, *cmd: str | Path, cwd: Path | None = None, timeout: float = 600, extra: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(c) for c in cmd], env={**self.env, **(extra or {})}, cwd=cwd, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def client(self):
        """A sync Prefect client on this server (settings scoped to the ``with``)."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings

        @contextlib.contextmanager
        def scoped():
            with temporary_settings({PREFECT_API_URL: self.url, PREFECT_LOCAL_STORAGE_PATH: self.env["PREFECT_LOCAL_STORAGE_PATH"]}):
                with get_client(sync_client=True) as client:
                    yield client

        return scoped()

    def log_tails(self, chars: int = 3000) -> str:
        return "\n".join(f"----- {n} -----\n{p.read_text(errors='replace')[-chars:] if p.exists() else '<no log>'}"
                         for n, p in self.logs.items())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def live_prefect(tmp_path_factory):
    if not SERVER_PYTHON.exists():
        pytest.fail(f"{SERVER_PYTHON} not found: run scripts/setup-dev (it installs the Prefect server there)")
    home = tmp_path_factory.mktemp("live-prefect-home")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AIRFLOW_API"))}
    env = {
        **base,
        "PATH": os.pathsep.join([str(CLIENT_BIN), base.get("PATH", "")]),
        "PREFECT_HOME": str(home / "prefect-home"),
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "results"),
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_WORKER_PREFETCH_SECONDS": "5",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    server_env = {
        **env,
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_SERVER_TASKS_TAG_CONCURRENCY_SLOT_WAIT_SECONDS": "1",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
    }
    server = LivePrefect(url=url, home=home, env=env)
    procs: list[subprocess.Popen] = []
    try:
        server.logs["server"] = home / "server.log"
        with open(server.logs["server"], "w") as out:
            procs.append(subprocess.Popen(
                [str(SERVER_PYTHON), "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port),
                 "--no-ui", "--analytics-off"],
                env=server_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=home,
            ))
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if procs[0].poll() is not None:
                raise RuntimeError(f"prefect server exited ({procs[0].returncode})")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"prefect server not healthy within {STARTUP_TIMEOUT:g} s")
            time.sleep(0.5)
        created = server.run(CLIENT_BIN / "prefect", "work-pool", "create", WORK_POOL, "--type", "process", timeout=120)
        if created.returncode != 0:
            raise RuntimeError(f"work-pool create failed: {created.stdout}{created.stderr}")
        server.logs["worker"] = home / "worker.log"
        with open(server.logs["worker"], "w") as out:
            procs.append(subprocess.Popen(
                [str(CLIENT_BIN / "prefect"), "worker", "start", "--pool", WORK_POOL, "--type", "process", "--name", "interop-test-worker"],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=home,
            ))
        while True:
            with server.client() as client:
                if client.read_workers_for_work_pool(WORK_POOL):
                    break
            if procs[1].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the process worker did not register")
            time.sleep(0.5)
    except Exception as exc:
        _stop(procs)
        pytest.fail(f"live Prefect did not start: {exc}\n{server.log_tails()}")
    try:
        yield server
    finally:
        _stop(procs)


# ----------------------------------------------------------------------------- helpers


def _convert_and_deploy(server: LivePrefect, dags: Path, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    report = out.parent / f"{out.name}-report.json"
    converted = server.run(CLIENT_BIN / "interop", "convert", dags, "--out", out, "--report", report)
    assert converted.returncode == 0, converted.stderr[-3000:]
    deployed = server.run(CLIENT_BIN / "interop", "deploy", out, "--report", report, "--work-pool", WORK_POOL, "--apply", *extra)
    return deployed, json.loads(report.read_text())


def _trigger(server: LivePrefect, name: str, parameters: dict | None = None):
    with server.client() as client:
        deployment = client.read_deployment_by_name(name)
        return client.create_flow_run_from_deployment(deployment.id, parameters=parameters or {})


def _wait(server: LivePrefect, run_ids: list, timeout: float = RUN_TIMEOUT) -> list:
    deadline = time.monotonic() + timeout
    while True:
        with server.client() as client:
            runs = [client.read_flow_run(i) for i in run_ids]
        if all(r.state and r.state.type.value in FINAL for r in runs):
            return runs
        if time.monotonic() > deadline:
            pytest.fail(f"flow runs not finished within {timeout:g} s: {[(r.name, r.state.name if r.state else None) for r in runs]}\n"
                        f"{server.log_tails()}")
        time.sleep(1)


def _result(server: LivePrefect, run) -> object:
    from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings

    with temporary_settings({PREFECT_API_URL: server.url, PREFECT_LOCAL_STORAGE_PATH: server.env["PREFECT_LOCAL_STORAGE_PATH"]}):
        return run.state.result()


def _task_runs(server: LivePrefect, run_id) -> list:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with server.client() as client:
        return client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))


# ----------------------------------------------------------------------------- sample_dags


@pytest.fixture(scope="session")
def deployed_samples(live_prefect, tmp_path_factory):
    out = tmp_path_factory.mktemp("deploy-samples") / "flows"
    deployed, ledger = _convert_and_deploy(live_prefect, SAMPLE_DAGS, out)
    return out, deployed, ledger


def test_sample_dags_deploy_with_prefect_deploy_all(live_prefect, deployed_samples):
    out, deployed, ledger = deployed_samples
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    document = yaml.safe_load((out / "prefect.yaml").read_text())
    dag_ids = [d["dag_id"] for f in ledger["files"] for d in f["dags"]]
    assert sorted(d["name"] for d in document["deployments"]) == sorted(dag_ids)
    with live_prefect.client() as client:
        for dag_id in dag_ids:
            deployment = client.read_deployment_by_name(f"{dag_id}/{dag_id}")
            assert deployment.work_pool_name == WORK_POOL
            facts = next(d["deployment"] for f in ledger["files"] for d in f["dags"] if d["dag_id"] == dag_id)
            crons = [s.schedule.cron for s in deployment.schedules if hasattr(s.schedule, "cron")]
            intervals = [s.schedule.interval.total_seconds() for s in deployment.schedules if hasattr(s.schedule, "interval")]
            assert crons + intervals == [s.get("cron") or s.get("interval") for s in facts["schedules"]], dag_id
            assert sorted(deployment.tags) == sorted(facts["tags"])


def test_triggered_runs_complete_on_the_worker_with_the_dags_results(live_prefect, deployed_samples):
    from airflow_truth import LOGICAL_DATE, dag_truths

    samples = [("etl_xcom.py", "etl_orders_xcom"), ("diamond.py", "customer_diamond")]
    truths = dag_truths([(SAMPLE_DAGS / f, d, LOGICAL_DATE, "3") for f, d in samples])
    runs = [_trigger(live_prefect, f"{d}/{d}", {"logical_date": LOGICAL_DATE}) for _, d in samples]
    finished = _wait(live_prefect, [r.id for r in runs])
    _, _, ledger = deployed_samples
    for (_, dag_id), run, truth in zip(samples, finished, truths):
        assert run.state.type.value == "COMPLETED", f"{dag_id}: {run.state.message}\n{live_prefect.log_tails()}"
        assert run.work_pool_name == WORK_POOL
        results = _result(live_prefect, run)
        dag = next(d for f in ledger["files"] for d in f["dags"] if d["dag_id"] == dag_id)
        compared = 0
        for task in dag["tasks"]:
            xcoms = truth["tasks"].get(task["task_id"], {}).get("xcoms", {})
            if task["returns"] == "value" and "return_value" in xcoms:
                assert results[task["task_id"]] == xcoms["return_value"], (dag_id, task["task_id"])
                compared += 1
            elif task["returns"] == "xcoms" and xcoms:
                assert results[task["task_id"]] == xcoms, (dag_id, task["task_id"])
                compared += 1
        assert compared >= 2, f"{dag_id}: too few task results to compare"


def test_a_schedule_creates_scheduled_runs(live_prefect, deployed_samples):
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType

    deadline = time.monotonic() + 60
    while True:
        with live_prefect.client() as client:
            deployment = client.read_deployment_by_name("market_data_bash/market_data_bash")
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["SCHEDULED"]))),
            )
        if runs or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert runs, "the scheduler made no run for market_data_bash (cron 0 22 * * 1-5)"
    from croniter import croniter

    for run in runs:
        when = run.expected_start_time.astimezone(dt.timezone.utc)
        assert when.weekday() < 5 and (when.hour, when.minute) == (22, 0)
        assert croniter.match("0 22 * * 1-5", when.replace(tzinfo=None))


# ----------------------------------------------------------------------------- platform settings

LIMITS_DAG = textwrap.dedent('''
    """DAGs for the deploy tests: max_active_runs, a pool, a Variable, catchup."""
    import time

    import pendulum
    from airflow.models import Variable
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG


    def hold():
        time.sleep(3)
        return "held"


    def in_pool():
        time.sleep(2)
        return "pooled"


    def read_region():
        return Variable.get("interop_deploy_region")


    with DAG("interop_deploy_serial", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), max_active_runs=1):
        PythonOperator(task_id="hold", python_callable=hold)

    with DAG("interop_deploy_pool", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), max_active_tasks=4):
        PythonOperator(task_id="first", python_callable=in_pool, pool="interop_serial")
        PythonOperator(task_id="second", python_callable=in_pool, pool="interop_serial")

    with DAG("interop_deploy_variable", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
        PythonOperator(task_id="read_region", python_callable=read_region)

    with DAG("interop_deploy_once", schedule="@once", start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
        PythonOperator(task_id="in_pool", python_callable=in_pool)

    with DAG("interop_deploy_catchup", schedule="0 6 * * *", catchup=True,
             start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Paris")):
        PythonOperator(task_id="hold", python_callable=hold)
''')


@pytest.fixture(scope="session")
def deployed_limits(live_prefect, tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy-limits")
    (root / "dags").mkdir()
    (root / "dags" / "limits.py").write_text(LIMITS_DAG)
    deployed, ledger = _convert_and_deploy(live_prefect, root / "dags", root / "flows", "--pool", "interop_serial=1")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    return root / "flows", ledger


def test_max_active_runs_holds_a_second_run_back(live_prefect, deployed_limits):
    first = _trigger(live_prefect, "interop_deploy_serial/interop_deploy_serial")
    second = _trigger(live_prefect, "interop_deploy_serial/interop_deploy_serial")
    runs = _wait(live_prefect, [first.id, second.id])
    assert [r.state.type.value for r in runs] == ["COMPLETED", "COMPLETED"], live_prefect.log_tails()
    earlier, later = sorted(runs, key=lambda r: r.start_time)
    assert later.start_time >= earlier.end_time, "the second run started while the first was running"
    with live_prefect.client() as client:
        history = client.read_flow_run_states(later.id)
    assert any(s.name == "AwaitingConcurrencySlot" for s in history), [s.name for s in history]


def test_a_pool_of_one_slot_keeps_two_pool_tasks_from_overlapping(live_prefect, deployed_limits):
    with live_prefect.client() as client:
        limit = client.read_concurrency_limit_by_tag("airflow-pool:interop_serial")
    assert limit.concurrency_limit == 1
    run = _trigger(live_prefect, "interop_deploy_pool/interop_deploy_pool")
    (finished,) = _wait(live_prefect, [run.id])
    assert finished.state.type.value == "COMPLETED", live_prefect.log_tails()
    tasks = [t for t in _task_runs(live_prefect, run.id) if t.task_key and "airflow-pool:interop_serial" in t.tags]
    assert len(tasks) == 2
    a, b = sorted(tasks, key=lambda t: t.start_time)
    assert b.start_time >= a.end_time, f"pool tasks overlapped: {a.start_time}-{a.end_time} and {b.start_time}-{b.end_time}"


def test_backfill_creates_the_runs_of_the_missed_intervals(live_prefect, deployed_limits):
    from airflow.timetables.base import TimeRestriction
    from airflow.timetables.trigger import CronTriggerTimetable

    name = "interop_deploy_catchup/interop_deploy_catchup"
    done = live_prefect.run(CLIENT_BIN / "interop", "backfill", name, "--start", "2024-01-01", "--end", "2024-01-05T23:00", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    created = [dt.datetime.fromisoformat(t) for t in json.loads(done.stdout)["created"]]
    # what Airflow itself runs with catchup for this schedule and timezone
    import pendulum

    timetable = CronTriggerTimetable("0 6 * * *", timezone="Europe/Paris")
    restriction = TimeRestriction(earliest=pendulum.datetime(2024, 1, 1, tz="UTC"), latest=pendulum.datetime(2024, 1, 5, 23, tz="UTC"), catchup=True)
    expected, last = [], None
    while True:
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None:
            break
        expected.append(info.run_after)
        last = info.data_interval
    assert [t.astimezone(dt.timezone.utc) for t in created] == [t.astimezone(dt.timezone.utc) for t in expected]
    assert len(created) == 5
    with live_prefect.client() as client:
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

        deployment = client.read_deployment_by_name(name)
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])))
    times = sorted(r.expected_start_time for r in runs if "backfill" in r.tags)
    assert times == sorted(created)
    again = live_prefect.run(CLIENT_BIN / "interop", "backfill", name, "--start", "2024-01-01", "--end", "2024-01-05T23:00", "--json")
    assert json.loads(again.stdout)["created"] == []


# ----------------------------------------------------------------------------- variables


@pytest.fixture(scope="module")
def airflow3_api(tmp_path_factory):
    """An Airflow 3.3 API server on loopback (as tests/test_live_airflow.py starts it; no scheduler:
    only its Variables are read)."""
    from test_live_airflow import PASSWORD, USERNAME, _airflow_env

    home = tmp_path_factory.mktemp("deploy-airflow3-home")
    (home / "passwords.json").write_text(json.dumps({USERNAME: PASSWORD}))
    port = _free_port()
    env = _airflow_env(home, port)
    airflow = [sys.executable, "-m", "airflow"]
    migrated = subprocess.run([*airflow, "db", "migrate"], env=env, cwd=home, capture_output=True, text=True, timeout=STARTUP_TIMEOUT)
    assert migrated.returncode == 0, migrated.stdout[-2000:] + migrated.stderr[-2000:]
    log = home / "api-server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([*airflow, "api-server", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=home)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Airflow API server did not start\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield url, USERNAME, PASSWORD
    finally:
        _stop([proc])


def test_a_variable_imported_from_airflow_3_is_read_by_a_converted_flow(live_prefect, deployed_limits, airflow3_api):
    from airflow_interop.live import AirflowClient, AirflowCredentials

    url, username, password = airflow3_api
    region = "eu-west-" + os.urandom(3).hex()
    secret = "s3cr3t-" + os.urandom(6).hex()
    with AirflowClient(url, credentials=AirflowCredentials(username=username, password=password)) as client:
        for key, value in (("interop_deploy_region", region), ("interop_api_password", secret)):
            client._request("POST", "/variables", json={"key": key, "value": value}, ok=(200, 201))
    done = live_prefect.run(CLIENT_BIN / "interop", "import-variables", "--from-api", url,
                            extra={"AIRFLOW_API_USERNAME": username, "AIRFLOW_API_PASSWORD": password})
    output = done.stdout + done.stderr
    assert secret not in output and password not in output
    assert "imported interop_deploy_region -> Prefect Variable interop_deploy_region" in output
    # Airflow's API masks a sensitive value: it is skipped (exit 1), never imported as "***"
    assert "skipped interop_api_password: masked by Airflow's API" in output
    assert done.returncode == 1, output
    run = _trigger(live_prefect, "interop_deploy_variable/interop_deploy_variable")
    (finished,) = _wait(live_prefect, [run.id])
    assert finished.state.type.value == "COMPLETED", live_prefect.log_tails()
    assert _result(live_prefect, finished) == {"read_region": region}


def test_import_variables_from_an_export_file(live_prefect, tmp_path):
    export = tmp_path / "variables.json"
    export.write_text(json.dumps({"Team.Config": {"retries": 3}, "db_password": "hunter2-secret", "plain": "x"}))
    done = live_prefect.run(CLIENT_BIN / "interop", "import-variables", "--from-file", export, "--sensitive", "secret-block")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "hunter2-secret" not in output
    assert "imported Team.Config -> Prefect Variable team_config" in output
    assert "db_password -> Prefect Secret block db-password (sensitive)" in output
    from prefect.blocks.system import Secret
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.variables import Variable

    with temporary_settings({PREFECT_API_URL: live_prefect.url}):
        assert json.loads(Variable.get("team_config")) == {"retries": 3}
        assert Variable.get("plain") == "x"
        assert Secret.load("db-password").get() == "hunter2-secret"


def test_an_once_dag_gets_its_one_run(live_prefect, deployed_limits):
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with live_prefect.client() as client:
        deployment = client.read_deployment_by_name("interop_deploy_once/interop_deploy_once")
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])))
    assert deployment.schedules == []
    assert len(runs) == 1
    (finished,) = _wait(live_prefect, [runs[0].id])
    assert finished.state.type.value == "COMPLETED", live_prefect.log_tails()
    assert _result(live_prefect, finished) == {"in_pool": "pooled"}
