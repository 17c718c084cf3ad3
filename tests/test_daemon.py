"""``interop daemon``: a warm process serves ``interop run`` with the same results as a cold run.

Every test runs the real console script in subprocesses against a real daemon (real Airflow 3.3
preloaded, workers forked per run), in a private socket directory.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interop.daemon.protocol import Channel, environment_key
from tests.conftest import airflow_example_dag_files

pytestmark = pytest.mark.airflow

INTEROP = str(Path(sys.executable).with_name("interop"))


def _interop(*args: str, env: dict[str, str], cwd: str | Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([INTEROP, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _status(env: dict[str, str]) -> dict | None:
    proc = _interop("daemon", "status", "--json", env=env)
    info = json.loads(proc.stdout)
    return None if info.get("running") is None and "pid" not in info else info


def _start(env: dict[str, str], *extra: str) -> dict:
    proc = _interop("daemon", "start", *extra, env=env)
    assert proc.returncode == 0, proc.stderr
    info = _status(env)
    assert info is not None
    return info


def _stop(env: dict[str, str]) -> None:
    info = _status(env)
    _interop("daemon", "stop", env=env)
    if info is not None:  # never leave a daemon behind, even if stop failed
        try:
            os.kill(info["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass


def _env(tmp: Path) -> dict[str, str]:
    sockets = tmp / "sockets"
    sockets.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ)
    env["INTEROP_DAEMON_DIR"] = str(sockets)
    env.pop("INTEROP_DAEMON", None)
    return env


@pytest.fixture(scope="module")
def daemon_env(tmp_path_factory):
    env = _env(tmp_path_factory.mktemp("daemon"))
    _start(env, "--idle-timeout", "600")
    yield env
    _stop(env)


def _example(name: str) -> Path:
    return next(p for p in airflow_example_dag_files() if p.stem == name)


def _served(env: dict[str, str]) -> int:
    info = _status(env)
    assert info is not None, "the daemon is gone"
    return info["served"]


DAG_READING_ITS_PROCESS = '''
import os
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

with DAG("reads_process", schedule=None):
    PythonOperator(task_id="where", python_callable=lambda: {"cwd": os.getcwd(), "value": os.environ.get("INTEROP_TEST_VALUE")})
'''

FAILING_DAG = '''
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator


def boom():
    raise ValueError("boom")


with DAG("fails", schedule=None):
    PythonOperator(task_id="boom", python_callable=boom)
'''

SLOW_DAG = '''
import time
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

with DAG("slow", schedule=None):
    PythonOperator(task_id="sleep", python_callable=lambda: time.sleep(60))
'''


@pytest.mark.parametrize("dag_id", ["example_xcom", "example_dynamic_task_mapping", "example_branch_labels"])
def test_served_run_equals_cold_run(daemon_env, tmp_path: Path, dag_id: str) -> None:
    path = str(_example(dag_id))
    before = _served(daemon_env)
    served = _interop("run", path, "--dag-id", dag_id, "--logical-date", "2024-01-01", "--json", str(tmp_path / "served.json"), env=daemon_env)
    assert _served(daemon_env) == before + 1
    cold = _interop("run", path, "--dag-id", dag_id, "--logical-date", "2024-01-01", "--json", str(tmp_path / "cold.json"), "--no-daemon", env=daemon_env)
    assert _served(daemon_env) == before + 1  # --no-daemon ran here
    assert served.returncode == cold.returncode == 0
    assert f"{dag_id}: success" in served.stderr and f"{dag_id}: success" in cold.stderr
    assert json.loads((tmp_path / "served.json").read_text()) == json.loads((tmp_path / "cold.json").read_text())


def test_worker_takes_the_clients_directory_environment_and_streams(daemon_env, tmp_path: Path) -> None:
    (tmp_path / "reads.py").write_text(DAG_READING_ITS_PROCESS)
    env = dict(daemon_env, INTEROP_TEST_VALUE="only in this client")  # not an AIRFLOW* variable
    before = _served(daemon_env)
    proc = _interop("run", "reads.py", "--logical-date", "2024-01-01", "--json", "-", env=env, cwd=tmp_path)
    assert _served(daemon_env) == before + 1
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)  # written by the worker to this client's stdout pipe
    assert payload["tasks"]["where"]["xcoms"]["return_value"] == {"cwd": str(tmp_path), "value": "only in this client"}
    assert "reads_process: success" in proc.stderr


def test_exit_codes_and_errors_come_back(daemon_env, tmp_path: Path) -> None:
    (tmp_path / "fails.py").write_text(FAILING_DAG)
    before = _served(daemon_env)
    failed = _interop("run", str(tmp_path / "fails.py"), "--json", str(tmp_path / "out.json"), env=daemon_env)
    assert failed.returncode == 1
    assert json.loads((tmp_path / "out.json").read_text())["tasks"]["boom"]["state"] == "failed"
    unknown = _interop("run", str(tmp_path / "fails.py"), "--dag-id", "nope", env=daemon_env)
    assert unknown.returncode == 2
    assert "DAG with id 'nope' not found" in unknown.stderr and "['fails']" in unknown.stderr
    missing = _interop("run", str(tmp_path / "missing.py"), env=daemon_env)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert _served(daemon_env) == before + 3


def test_another_environment_is_not_served(daemon_env, tmp_path: Path) -> None:
    env = dict(daemon_env, AIRFLOW__CORE__DEFAULT_TIMEZONE="Europe/Amsterdam")  # read at import time
    assert environment_key(env) != environment_key(daemon_env)
    before = _served(daemon_env)
    proc = _interop("run", str(_example("example_xcom")), "--logical-date", "2024-01-01", "--json", "-", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["state"] == "success"
    assert _served(daemon_env) == before
    disabled = _interop("run", str(_example("example_xcom")), "--logical-date", "2024-01-01", env=dict(daemon_env, INTEROP_DAEMON="0"))
    assert disabled.returncode == 0 and _served(daemon_env) == before


def test_runs_at_once_are_served_side_by_side(daemon_env, tmp_path: Path) -> None:
    path = str(_example("example_xcom"))
    procs = [
        subprocess.Popen([INTEROP, "run", path, "--logical-date", "2024-01-01", "--json", str(tmp_path / f"{i}.json")], env=daemon_env, stderr=subprocess.PIPE)
        for i in range(3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    results = [json.loads((tmp_path / f"{i}.json").read_text()) for i in range(3)]
    assert results[0] == results[1] == results[2]
    assert results[0]["tasks"]["bash_pull"]["state"] == "success"


def test_ctrl_c_reaches_the_worker_and_the_daemon_survives(daemon_env, tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(SLOW_DAG)
    client = subprocess.Popen([INTEROP, "run", str(tmp_path / "slow.py")], env=daemon_env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while (_status(daemon_env) or {}).get("running", 0) < 1:
        assert time.monotonic() < deadline, "the run never started in the daemon"
        time.sleep(0.1)
    time.sleep(1.0)  # the worker is inside the task's sleep
    started = time.monotonic()
    client.send_signal(signal.SIGINT)
    code = client.wait(timeout=30)
    assert time.monotonic() - started < 20  # not the task's 60 s
    assert code != 0
    deadline = time.monotonic() + 10
    while (_status(daemon_env) or {}).get("running", 1) != 0:
        assert time.monotonic() < deadline, "the worker outlived its interrupted client"
        time.sleep(0.1)


def test_a_killed_client_takes_its_run_with_it(daemon_env, tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(SLOW_DAG)
    client = subprocess.Popen([INTEROP, "run", str(tmp_path / "slow.py")], env=daemon_env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while (_status(daemon_env) or {}).get("running", 0) < 1:
        assert time.monotonic() < deadline, "the run never started in the daemon"
        time.sleep(0.1)
    client.kill()  # SIGKILL: nothing is passed on; the daemon sees the connection close
    client.wait()
    deadline = time.monotonic() + 15
    while (_status(daemon_env) or {}).get("running", 1) != 0:
        assert time.monotonic() < deadline, "the worker outlived its killed client"
        time.sleep(0.1)


@pytest.mark.prefect
def test_flow_file_served_and_its_temporary_server_stopped(daemon_env, tmp_path: Path, repo_root: Path) -> None:
    """A converted flow runs in a worker; Prefect's temporary server is stopped at the worker's exit
    (else it would hold the client's pipe open and this call would time out)."""
    out = tmp_path / "flows"
    assert _interop("convert", str(repo_root / "sample_dags" / "etl_xcom.py"), "--out", str(out), env=daemon_env).returncode == 0
    flow = next(out.rglob("etl_xcom.py"))
    env = {k: v for k, v in daemon_env.items() if not k.startswith("PREFECT_API")}  # Prefect's own temporary server
    before = _served(daemon_env)
    proc = _interop("run", str(flow), "--json", "-", env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert _served(daemon_env) == before + 1
    payload = json.loads(proc.stdout)  # only the JSON: Prefect's logs went to stderr
    assert payload["state"] == "success"
    assert set(payload["tasks"]) == {"extract", "transform", "load", "report"}
    cold = _interop("run", str(flow), "--json", "-", "--no-daemon", env=env, timeout=180)
    assert cold.returncode == 0, cold.stderr
    assert json.loads(cold.stdout) == payload


def test_stop_and_idle_timeout(tmp_path: Path) -> None:
    env = _env(tmp_path)
    try:
        info = _start(env, "--idle-timeout", "0")
        stopped = _interop("daemon", "stop", env=env)
        assert stopped.returncode == 0 and f"{info['pid']} stopped" in stopped.stderr
        assert _interop("daemon", "status", env=env).returncode == 1
        assert not list((tmp_path / "sockets").glob("*.sock"))

        info = _start(env, "--idle-timeout", "1")
        deadline = time.monotonic() + 30
        while _status(env) is not None:
            assert time.monotonic() < deadline, "the idle daemon did not stop"
            time.sleep(0.2)
        assert not list((tmp_path / "sockets").glob("*.sock"))
    finally:
        _stop(env)


def test_channel_keeps_messages_apart_and_passes_descriptors(tmp_path: Path) -> None:
    left, right = socket.socketpair()
    with left, right:
        sender, receiver = Channel(left), Channel(right)
        with open(tmp_path / "f.txt", "w") as fh:
            sender.send({"op": "run", "blob": "x" * 200_000}, fds=[fh.fileno()])
            sender.send({"pid": 7})
            sender.send({"exit": 3})
            first, fds = receiver.recv(max_fds=3)
        assert first == {"op": "run", "blob": "x" * 200_000} and len(fds) == 1
        with os.fdopen(fds[0], "w") as passed:  # the descriptor writes to the same file
            passed.write("through the socket")
        assert (tmp_path / "f.txt").read_text() == "through the socket"
        assert receiver.recv() == ({"pid": 7}, [])
        assert receiver.recv() == ({"exit": 3}, [])
        left.close()
        assert receiver.recv() == (None, [])


def test_environment_key_follows_import_time_settings_only() -> None:
    env = {"AIRFLOW_HOME": "/a", "HOME": "/h"}
    assert environment_key(env) == environment_key(dict(env, HOME="/other", INTEROP_TEST_VALUE="x"))
    assert environment_key(env) != environment_key(dict(env, AIRFLOW_HOME="/b"))
    assert environment_key(env) != environment_key(dict(env, PYTHONPATH="/src"))
