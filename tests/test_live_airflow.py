"""airflow_interop.live against REAL Airflow servers started by this test session.

``live_airflow`` (defined here so that it starts only when these tests run; module scope, so
the servers stop as soon as these tests are done instead of idling through the rest of the
suite):
Airflow 3.3 -- ``airflow api-server``, ``airflow scheduler`` and ``airflow dag-processor`` on
127.0.0.1, SQLite and LocalExecutor, an AIRFLOW_HOME in a temporary folder,
``tests/live_dags/`` as the dags folder, SimpleAuthManager with one admin user whose password
is written to the passwords file before start-up. REST API v2, JWT from ``/auth/token``.

``live_airflow2``: Airflow 2.11 from ``.venv-airflow2`` (installed by scripts/setup-dev) --
``airflow webserver`` and ``airflow scheduler``, SQLite and SequentialExecutor, the same DAGs,
a FAB user and basic auth. REST API v1. It boots in the background while the Airflow 3 tests
run.

If a server is not up with all test DAGs parsed within ``LIVE_AIRFLOW_STARTUP_TIMEOUT``
seconds (120), the tests fail with the tail of each component's log. Everything listens on
loopback only (the schedulers run with ``--skip-serve-logs``: their log server would bind
0.0.0.0:8793) and is stopped when this module's tests end.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from installed_layout import installed_layout

from airflow_interop.live import (
    ENV_PASSWORD,
    ENV_TOKEN,
    ENV_URL,
    ENV_USERNAME,
    PREFECT_STATE_NAMES,
    AirflowAuthError,
    AirflowClient,
    AirflowCredentials,
    DagNotFoundError,
    DagPausedError,
    DagRunFailedError,
    DagRunTimeoutError,
    LiveAirflowError,
    TaskNotFoundError,
    prefect_state_name,
)

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parent.parent
LIVE_DAGS = REPO / "tests" / "live_dags"
LIVE_DAG_IDS = {
    "interop_live_xcom",
    "interop_live_fail",
    "interop_live_paused",
    "interop_live_unpause",
    "interop_live_mapped",
    "interop_live_reverse",
}
STARTUP_TIMEOUT = float(os.environ.get("LIVE_AIRFLOW_STARTUP_TIMEOUT", "120"))
USERNAME = "interop-test"
PASSWORD = "pw-" + os.urandom(8).hex()


# ----------------------------------------------------------------------------- fixture


@dataclass
class LiveAirflow:
    url: str
    username: str
    password: str
    home: Path
    logs: dict[str, Path] = field(default_factory=dict)
    startup_seconds: float = 0.0

    def client(self, **kwargs) -> AirflowClient:
        creds = AirflowCredentials(username=self.username, password=self.password)
        return AirflowClient(self.url, credentials=kwargs.pop("credentials", creds), **kwargs)

    def log_tails(self, chars: int = 3000) -> str:
        parts = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace") if path.exists() else "<no log>"
            parts.append(f"----- {name} ({path}) -----\n{text[-chars:]}")
        return "\n".join(parts)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _airflow_env(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    base = f"http://127.0.0.1:{port}"
    env.update(
        {
            # interop_live_reverse runs a Prefect flow from tests/ (the Prefect API URL comes
            # in the run's conf: the Prefect test server may start after Airflow).
            "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)]),
            "PREFECT_HOME": str(home / "prefect-home"),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(LIVE_DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": base,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": os.urandom(16).hex(),
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
    )
    return env


class _Launch:
    """Start one Airflow: set-up commands, then services in their own process groups.

    ``start()`` may run in a background thread (so that a second Airflow starts while the
    first one serves tests); ``ready()`` waits until the API serves all test DAGs or fails
    the tests with every component's log; ``stop()`` ends the process groups it started.
    """

    def __init__(
        self,
        server: LiveAirflow,
        env: dict[str, str],
        setup: dict[str, list[str]],
        services: dict[str, list[str]],
    ) -> None:
        self.server = server
        self.env = env
        self.setup = setup
        self.services = services
        self.procs: dict[str, subprocess.Popen] = {}
        self.error: str | None = None
        self.started = time.monotonic()
        self.deadline = self.started + STARTUP_TIMEOUT
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            for name, cmd in self.setup.items():
                self.server.logs[name] = self.server.home / f"{name.replace(' ', '-')}.log"
                with open(self.server.logs[name], "w") as out:
                    done = subprocess.run(
                        cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                        cwd=self.server.home, timeout=STARTUP_TIMEOUT, check=False,
                    )
                if done.returncode != 0:
                    self.error = f"`{' '.join(cmd[1:])}` failed ({done.returncode})"
                    return
            for name, cmd in self.services.items():
                self.server.logs[name] = self.server.home / f"{name}.log"
                with open(self.server.logs[name], "w") as out:
                    self.procs[name] = subprocess.Popen(
                        cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                        start_new_session=True, cwd=self.server.home,
                    )
        except Exception as exc:  # reported by ready()
            self.error = f"{type(exc).__name__}: {exc}"

    def start_in_background(self) -> None:
        self._thread = threading.Thread(target=self.start, name="live-airflow-start", daemon=True)
        self._thread.start()

    def ready(self) -> LiveAirflow:
        if self._thread is not None:
            self._thread.join(timeout=max(self.deadline - time.monotonic(), 1))
        else:
            self.start()
        try:
            if self.error:
                raise RuntimeError(self.error)
            _wait_until_ready(self.server, self.procs, self.deadline)
        except Exception as exc:
            self.stop()
            pytest.fail(f"Live Airflow did not start: {exc}\n{self.server.log_tails()}")
        self.server.startup_seconds = time.monotonic() - self.started
        print(f"\nlive Airflow ready at {self.server.url} in {self.server.startup_seconds:.1f} s")
        return self.server

    def stop(self) -> None:
        procs = self.procs.values()
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        for proc in procs:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _wait_until_ready(server: LiveAirflow, procs: dict[str, subprocess.Popen], deadline: float) -> None:
    client = server.client(timeout=5.0)
    try:
        while True:
            dead = {n: p.returncode for n, p in procs.items() if p.poll() is not None}
            if dead:
                raise RuntimeError(f"Airflow component(s) exited during start-up: {dead}")
            try:
                if LIVE_DAG_IDS <= set(client.list_dag_ids()):
                    return
            except LiveAirflowError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Airflow not ready within {STARTUP_TIMEOUT:g} s (API up with all test DAGs parsed)"
                )
            time.sleep(0.5)
    finally:
        client.close()


def _airflow3_launch(home: Path) -> _Launch:
    (home / "passwords.json").write_text(json.dumps({USERNAME: PASSWORD}))
    port = _free_port()
    server = LiveAirflow(url=f"http://127.0.0.1:{port}", username=USERNAME, password=PASSWORD, home=home)
    airflow = [sys.executable, "-m", "airflow"]
    return _Launch(
        server,
        _airflow_env(home, port),
        setup={"db migrate": [*airflow, "db", "migrate"]},
        services={
            "api-server": [*airflow, "api-server", "--host", "127.0.0.1", "--port", str(port)],
            "scheduler": [*airflow, "scheduler", "--skip-serve-logs"],
            "dag-processor": [*airflow, "dag-processor"],
        },
    )


AIRFLOW2_VENV = REPO / ".venv-airflow2"
AIRFLOW2_PYTHON = AIRFLOW2_VENV / "bin" / "python"


def _airflow2_env(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            # airflow_interop.airflow_operator must import on Airflow 2 (interop_live_reverse),
            # where the project is not installed: the repository in its installed layout.
            "PYTHONPATH": os.pathsep.join([str(REPO), str(installed_layout(home))]),
            # The SequentialExecutor runs `airflow tasks run` from PATH.
            "PATH": os.pathsep.join([str(AIRFLOW2_VENV / "bin"), env.get("PATH", "")]),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(LIVE_DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__API__AUTH_BACKENDS": "airflow.api.auth.backend.basic_auth",
            "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(port),
            "AIRFLOW__WEBSERVER__WORKERS": "1",
            "AIRFLOW__WEBSERVER__SECRET_KEY": os.urandom(16).hex(),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "5",
        }
    )
    return env


def _airflow2_launch(home: Path) -> _Launch:
    if not AIRFLOW2_PYTHON.exists():
        pytest.fail(f"{AIRFLOW2_PYTHON} not found: run scripts/setup-dev (it installs Airflow 2.11 there)")
    port = _free_port()
    server = LiveAirflow(url=f"http://127.0.0.1:{port}", username=USERNAME, password=PASSWORD, home=home)
    airflow = [str(AIRFLOW2_PYTHON), "-m", "airflow"]
    return _Launch(
        server,
        _airflow2_env(home, port),
        setup={
            "db migrate": [*airflow, "db", "migrate"],
            "users create": [
                *airflow, "users", "create", "--username", USERNAME, "--password", PASSWORD,
                "--role", "Admin", "--firstname", "interop", "--lastname", "test",
                "--email", "interop@example.invalid",
            ],
        },
        services={
            "webserver": [*airflow, "webserver", "--hostname", "127.0.0.1", "--port", str(port)],
            "scheduler": [*airflow, "scheduler", "--skip-serve-logs"],
        },
    )


@pytest.fixture(scope="module")
def _airflow2_prestart(request, tmp_path_factory):
    """Starts Airflow 2 in the background when any selected test needs it, so that it boots
    while the Airflow 3 tests run; yields the launch (or None)."""
    wanted = any("live_airflow2" in getattr(item, "fixturenames", ()) for item in request.session.items)
    if not wanted:
        yield None
        return
    launch = _airflow2_launch(tmp_path_factory.mktemp("live-airflow2-home"))
    launch.start_in_background()
    try:
        yield launch
    finally:
        if launch._thread is not None:
            launch._thread.join(timeout=STARTUP_TIMEOUT)
        launch.stop()


@pytest.fixture(scope="module")
def live_airflow(request, tmp_path_factory, _airflow2_prestart) -> LiveAirflow:
    """A real Airflow 3 (api-server + scheduler + dag-processor) on 127.0.0.1.

    While it boots, the session's Prefect test server starts too if a selected test here
    needs it (the two start-ups overlap instead of running one after the other)."""
    launch = _airflow3_launch(tmp_path_factory.mktemp("live-airflow-home"))
    launch.start_in_background()
    try:
        if any(
            "prefect_server" in getattr(item, "fixturenames", ()) and item.module is request.module
            for item in request.session.items
        ):
            request.getfixturevalue("prefect_server")
        yield launch.ready()
    finally:
        if launch._thread is not None:
            launch._thread.join(timeout=STARTUP_TIMEOUT)
        launch.stop()


@pytest.fixture(scope="module")
def live_airflow2(_airflow2_prestart) -> LiveAirflow:
    """A real Airflow 2.11 (webserver + scheduler, basic auth, from .venv-airflow2) on 127.0.0.1."""
    return _airflow2_prestart.ready()


@pytest.fixture()
def client(live_airflow: LiveAirflow):
    with live_airflow.client() as c:
        yield c


# --------------------------------------------------------------------- version and auth


def test_detects_api_v2_and_server_version(client: AirflowClient):
    """The client finds /api/v2 on Airflow 3 and reports the server's real version."""
    from airflow import __version__ as installed

    assert client.detect_version() == "v2"
    assert client.api_prefix == "/api/v2"
    assert client.airflow_version == installed


def test_url_suffix_pins_api_version_and_env_supplies_credentials(live_airflow: LiveAirflow):
    """AIRFLOW_API_URL with /api/v2 pins the version; username/password come from the env."""
    environ = {
        ENV_URL: f"{live_airflow.url}/api/v2/",
        ENV_USERNAME: live_airflow.username,
        ENV_PASSWORD: live_airflow.password,
    }
    with AirflowClient(environ=environ) as c:
        assert c.base_url == live_airflow.url
        assert c.api_version == "v2"
        assert "interop_live_xcom" in c.list_dag_ids()


def test_token_from_env_is_used_as_bearer(live_airflow: LiveAirflow):
    """A JWT in AIRFLOW_API_TOKEN (got from /auth/token) authenticates without a password."""
    token = httpx.post(
        f"{live_airflow.url}/auth/token",
        json={"username": live_airflow.username, "password": live_airflow.password},
    ).json()["access_token"]
    with AirflowClient(environ={ENV_URL: live_airflow.url, ENV_TOKEN: token}) as c:
        assert c.get_dag("interop_live_xcom")["dag_id"] == "interop_live_xcom"
        assert token not in repr(c)


def test_missing_url_names_the_variable():
    with pytest.raises(LiveAirflowError, match=ENV_URL):
        AirflowClient(environ={})


def test_client_imports_without_prefect_or_airflow():
    """The plain client needs only httpx (it can run inside an Airflow 2 environment)."""
    code = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('prefect', 'airflow'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from airflow_interop.live import AirflowClient\n"
        "AirflowClient('http://127.0.0.1:9').close()\n"
        "print('OK')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "OK", proc.stderr[-2000:]


def test_secrets_never_in_logs_repr_or_errors(live_airflow: LiveAirflow, caplog):
    """Passwords and tokens appear in no log record, repr or exception text."""
    caplog.set_level(logging.DEBUG)
    good = AirflowCredentials(username=live_airflow.username, password=live_airflow.password)
    with AirflowClient(live_airflow.url, credentials=good) as c:
        result = c.run("interop_live_xcom", conf={"n": 2}, xcom_task_ids=["double"], poll_interval=0.5)
        login_token = c._login_token
        texts = [repr(c), repr(good), str(result), json.dumps(result.to_dict())]
    assert result.state == "success"
    assert login_token

    wrong_password = "wrong-" + os.urandom(6).hex()
    bad = AirflowCredentials(username=live_airflow.username, password=wrong_password)
    with AirflowClient(live_airflow.url, credentials=bad) as c, pytest.raises(AirflowAuthError) as bad_login:
        c.get_dag("interop_live_xcom")
    texts += [str(bad_login.value), repr(bad_login.value), str(bad_login.value.detail)]
    assert bad_login.value.status_code == 401
    assert live_airflow.username in str(bad_login.value)

    bad_token = "not-a-jwt-" + os.urandom(6).hex()
    with AirflowClient(live_airflow.url, credentials=AirflowCredentials(token=bad_token)) as c:
        with pytest.raises(AirflowAuthError) as bad_bearer:
            c.get_dag("interop_live_xcom")
    texts += [str(bad_bearer.value), repr(bad_bearer.value)]

    in_url = AirflowClient(f"http://{live_airflow.username}:{live_airflow.password}@127.0.0.1:9/")
    texts.append(repr(in_url))
    with pytest.raises(LiveAirflowError) as unreachable:
        in_url.detect_version()
    texts.append(str(unreachable.value))
    in_url.close()

    everything = "\n".join([caplog.text, *texts])
    assert "Triggered DAG run" in caplog.text  # the client's own log records were captured
    for secret in (live_airflow.password, wrong_password, bad_token, login_token):
        assert secret not in everything


# ------------------------------------------------------------------------------ runs


@pytest.fixture(scope="module")
def xcom_run(live_airflow: LiveAirflow):
    """One run of the XCom DAG with conf and a logical date (shared by the tests below)."""
    with live_airflow.client() as c:
        return c.run(
            "interop_live_xcom",
            conf={"n": 21},
            logical_date="2025-03-04T05:06:07Z",
            xcom_task_ids=["produce", "double"],
            poll_interval=0.5,
        )


@pytest.fixture(scope="module")
def failed_run(live_airflow: LiveAirflow) -> DagRunFailedError:
    """One run of the failing DAG (a failed run takes ~8 s in Airflow: shared by the tests)."""
    with live_airflow.client() as c, pytest.raises(DagRunFailedError) as caught:
        c.run("interop_live_fail", poll_interval=0.5, raise_on_failure=True)
    return caught.value


def test_run_returns_real_states_and_xcoms(client: AirflowClient, xcom_run):
    """conf and logical_date reach the DAG; the XComs it pushed come back."""
    result = xcom_run
    assert result.state == "success"
    assert result.prefect_state_name == "Completed"
    assert result.task_states == {"produce": "success", "double": "success"}
    assert result.conf == {"n": 21}
    assert result.logical_date.startswith("2025-03-04T05:06:07")
    produced = result.xcoms["produce"]
    assert produced["return_value"] == {"n": 21, "logical_date": "2025-03-04T05:06:07+00:00"}
    assert produced["extra"] == {"letters": ["a", "b"]}
    assert result.xcoms["double"] == {"return_value": 42}
    # The run as Airflow itself lists it.
    runs = {r["dag_run_id"]: r for r in client.list_dag_runs("interop_live_xcom")}
    assert runs[result.run_id]["state"] == "success"


def test_xcom_keys_filter(client: AirflowClient, xcom_run):
    run_id = xcom_run.run_id
    assert client.xcoms("interop_live_xcom", run_id, "produce", keys=["extra"]) == {
        "extra": {"letters": ["a", "b"]}
    }
    assert client.xcoms("interop_live_xcom", run_id, "double", keys=["extra"]) == {}


def test_mapped_task_instances_and_xcoms(client: AirflowClient):
    """Mapped task instances come back as ``task[i]``, their XComs as ``key[i]``."""
    result = client.run("interop_live_mapped", xcom_task_ids=["square"], poll_interval=0.5)
    assert result.state == "success"
    assert result.task_states == {"square[0]": "success", "square[1]": "success", "square[2]": "success"}
    assert result.xcoms == {"square": {f"return_value[{i}]": x * x for i, x in enumerate([1, 2, 3])}}


def test_failed_run_maps_to_failed(failed_run: DagRunFailedError):
    result = failed_run.result
    assert "boom" in str(failed_run) and "interop_live_fail" in str(failed_run)
    assert result.state == "failed"
    assert result.task_states == {"boom": "failed"}
    assert result.failed_tasks == ["boom"]
    assert result.prefect_state_name == "Failed"
    state = result.to_prefect_state()
    assert state.is_failed() and state.name == "Failed"


def test_failed_error_survives_pickling(failed_run: DagRunFailedError):
    """Prefect persists a failed state's exception; the error and its result pickle."""
    error = failed_run.result.to_prefect_state().data
    assert isinstance(error, DagRunFailedError)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
    assert copy.result.failed_tasks == ["boom"]


def test_paused_dag_fails_fast_without_unpause(client: AirflowClient):
    """run() refuses a paused DAG before creating a run; wait() on a queued run of it fails
    at once with DagPausedError (not after the timeout)."""
    runs_before = len(client.list_dag_runs("interop_live_paused"))
    with pytest.raises(DagPausedError, match="interop_live_paused.*paused.*unpause=True"):
        client.run("interop_live_paused", timeout=300)
    assert len(client.list_dag_runs("interop_live_paused")) == runs_before

    queued = client.run("interop_live_paused", wait=False)
    assert queued.state == "queued"
    with pytest.raises(DagPausedError, match=queued.run_id.replace("+", r"\+")):
        client.wait("interop_live_paused", queued.run_id, timeout=300)
    assert client.get_dag("interop_live_paused")["is_paused"] is True
    assert client.get_dag_run("interop_live_paused", queued.run_id)["state"] == "queued"


def test_unpause_lets_a_paused_dag_run(client: AirflowClient):
    assert client.get_dag("interop_live_unpause")["is_paused"] is True
    result = client.run("interop_live_unpause", unpause=True, xcom_task_ids=["hello"], poll_interval=0.5)
    assert result.state == "success"
    assert result.xcoms == {"hello": {"return_value": "hello from interop_live_unpause"}}
    assert client.get_dag("interop_live_unpause")["is_paused"] is False


def test_timeout_raises_with_last_state(client: AirflowClient):
    with pytest.raises(DagRunTimeoutError) as caught:
        client.run("interop_live_xcom", timeout=0)
    assert caught.value.last_state in ("queued", "running")
    assert caught.value.run_id in str(caught.value)
    # The run is left to go on in Airflow.
    assert client.get_dag_run("interop_live_xcom", caught.value.run_id)["state"] in (
        "queued",
        "running",
        "success",
    )


def test_unknown_dag_lists_dags_found(client: AirflowClient):
    with pytest.raises(DagNotFoundError) as caught:
        client.run("no_such_dag")
    for dag_id in LIVE_DAG_IDS:
        assert dag_id in str(caught.value)


def test_unknown_xcom_task_lists_tasks(client: AirflowClient):
    with pytest.raises(TaskNotFoundError, match=r"\['nope'\].*Found tasks: \['double', 'produce'\]"):
        client.run("interop_live_xcom", xcom_task_ids=["nope"])


# ------------------------------------------------------------ Airflow 2.x (REST API v1)


def _airflow2_installed_version() -> str:
    dist = sorted(AIRFLOW2_VENV.glob("lib/python*/site-packages/apache_airflow-*.dist-info"))
    assert dist, f"no apache_airflow dist-info in {AIRFLOW2_VENV}"
    return dist[0].name.removeprefix("apache_airflow-").removesuffix(".dist-info")


@pytest.fixture()
def client2(live_airflow2: LiveAirflow):
    with live_airflow2.client() as c:
        yield c


def test_v1_detected_on_airflow2_and_run_returns_xcoms(client2: AirflowClient):
    """The same DAGs on Airflow 2.11: /api/v1, basic auth, conf, logical_date and XComs."""
    assert client2.detect_version() == "v1"
    assert client2.airflow_version == _airflow2_installed_version()
    result = client2.run(
        "interop_live_xcom",
        conf={"n": 21},
        logical_date="2025-03-04T05:06:07Z",
        xcom_task_ids=["produce", "double"],
        poll_interval=0.5,
        timeout=180,
    )
    assert result.api_version == "v1"
    assert result.state == "success"
    assert result.task_states == {"produce": "success", "double": "success"}
    assert result.logical_date.startswith("2025-03-04T05:06:07")
    assert result.xcoms["produce"] == {
        "return_value": {"n": 21, "logical_date": "2025-03-04T05:06:07+00:00"},
        "extra": {"letters": ["a", "b"]},
    }
    assert result.xcoms["double"] == {"return_value": 42}


def test_v1_paused_and_unpause_on_airflow2(client2: AirflowClient):
    """Pause handling on Airflow 2 (PATCH with update_mask on /api/v1)."""
    with pytest.raises(DagPausedError):
        client2.run("interop_live_paused")
    queued = client2.run("interop_live_paused", wait=False)
    with pytest.raises(DagPausedError, match="stays queued"):
        client2.wait("interop_live_paused", queued.run_id, timeout=300)

    result = client2.run("interop_live_unpause", unpause=True, xcom_task_ids=["hello"], poll_interval=0.5)
    assert result.state == "success"
    assert result.xcoms == {"hello": {"return_value": "hello from interop_live_unpause"}}
    assert client2.get_dag("interop_live_unpause")["is_paused"] is False


def test_v1_basic_auth_rejected_without_leaking(live_airflow2: LiveAirflow, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + os.urandom(6).hex()
    creds = AirflowCredentials(username=live_airflow2.username, password=wrong)
    with AirflowClient(live_airflow2.url, credentials=creds) as c, pytest.raises(AirflowAuthError) as caught:
        c.get_dag("interop_live_xcom")
    assert caught.value.status_code in (401, 403)
    assert c.api_version == "v1"
    for text in (caplog.text, str(caught.value), repr(caught.value), repr(c)):
        assert wrong not in text
        assert live_airflow2.password not in text


# ---------------------------------------------------------------------- state mapping


def test_every_airflow_state_maps_to_a_prefect_state():
    """Each state Airflow defines (read from Airflow) has a Prefect state type and name."""
    from airflow.utils.state import DagRunState, TaskInstanceState
    from prefect.client.schemas.objects import StateType

    for state in [*DagRunState, *TaskInstanceState, None]:
        state_type, name = prefect_state_name(state.value if state is not None else None)
        assert state_type in StateType.__members__
        assert name
    assert prefect_state_name("success") == ("COMPLETED", "Completed")
    assert prefect_state_name("failed") == ("FAILED", "Failed")
    assert prefect_state_name("skipped") == ("COMPLETED", "Skipped")
    with pytest.raises(ValueError, match="Known states"):
        prefect_state_name("exploded")
    assert set(PREFECT_STATE_NAMES) >= {s.value for s in TaskInstanceState}



# ---------------------------------------------------------------------- Prefect wrapper


@pytest.mark.prefect
def test_trigger_dag_run_inside_a_prefect_flow(live_airflow: LiveAirflow, prefect_server, monkeypatch):
    """Success returns the result; a failed Airflow run fails the Prefect task run with
    DagRunFailedError; a paused DAG fails it with DagPausedError."""
    from prefect import flow

    from airflow_interop.live import trigger_dag_run

    monkeypatch.setenv(ENV_URL, live_airflow.url)
    monkeypatch.setenv(ENV_USERNAME, live_airflow.username)
    monkeypatch.setenv(ENV_PASSWORD, live_airflow.password)

    @flow
    def mixed(n: int) -> dict:
        result = trigger_dag_run(
            "interop_live_xcom", conf={"n": n}, xcom_task_ids=["double"], poll_interval=0.5
        )
        failed = trigger_dag_run("interop_live_fail", poll_interval=0.5, return_state=True)
        paused = trigger_dag_run("interop_live_paused", return_state=True)
        seen = {"result": result, "failed": (failed.type.value, failed.name), "paused": paused.type.value}
        for name, state in (("failed_error", failed), ("paused_error", paused)):
            try:
                state.result()
            except Exception as exc:  # the exception the Prefect state carries
                seen[name] = exc
        return seen

    seen = mixed(5)
    assert seen["result"].state == "success"
    assert seen["result"].xcoms["double"]["return_value"] == 10
    assert seen["failed"] == ("FAILED", "Failed")
    assert isinstance(seen["failed_error"], DagRunFailedError)
    assert seen["failed_error"].result.failed_tasks == ["boom"]
    assert seen["paused"] == "FAILED"
    assert isinstance(seen["paused_error"], DagPausedError)

    # A flow that does not catch the error fails with it.
    @flow
    def strict():
        return trigger_dag_run("interop_live_paused")

    state = strict(return_state=True)
    assert state.is_failed()
    with pytest.raises(DagPausedError, match="interop_live_paused"):
        state.result()


@pytest.mark.prefect
def test_both_ways_prefect_triggers_airflow_which_runs_a_prefect_flow(
    live_airflow: LiveAirflow, prefect_server, monkeypatch
):
    """A Prefect flow triggers a DAG on the live Airflow; in the Airflow worker, the DAG's
    PrefectFlowOperator runs a migrated flow on the same Prefect server; its result flows to
    the DAG's next task and back to the Prefect flow as XComs."""
    from prefect import flow
    from prefect.client.orchestration import get_client

    from airflow_interop.live import trigger_dag_run

    monkeypatch.setenv(ENV_URL, live_airflow.url)
    monkeypatch.setenv(ENV_USERNAME, live_airflow.username)
    monkeypatch.setenv(ENV_PASSWORD, live_airflow.password)

    from prefect.settings import PREFECT_API_URL

    @flow
    def outer(values: list[int]):
        return trigger_dag_run(
            "interop_live_reverse",
            conf={"values": values, "prefect_api_url": PREFECT_API_URL.value()},
            xcom_task_ids=["enrich", "consume"],
            poll_interval=0.5,
            timeout=180,
        )

    result = outer([1, 2, 3])
    assert result.state == "success", result.describe()
    enriched = result.xcoms["enrich"]["return_value"]
    assert enriched == {"day": result.run_id, "scaled": [10, 20, 30], "total": 60}
    assert result.xcoms["consume"] == {"return_value": 61}

    with get_client(sync_client=True) as client:
        inner = client.read_flow_run(result.xcoms["enrich"]["prefect_flow_run_id"])
        assert client.read_flow(inner.flow_id).name == "enrich_orders"
    assert inner.parameters == {"values": [1, 2, 3], "factor": 10, "day": result.run_id}
    assert inner.state.is_completed()
