"""Processes and signals, as a careless user or a scheduler would treat them (issue 13).

Every case runs the real console script in a subprocess on real Airflow (and Prefect, for
flows): SIGTERM stops a run and everything it started (exit 143, no orphans), a task that leaks
a thread, forks or calls ``os._exit`` gets a clear outcome, no temporary folder is left behind,
Prefect's temporary server keeps to its own home and its logs off stdout, the sidecar keeps
the team's connections, and a converter-only install gets a one-line hint.

No timing assertions: timeouts only guard against hangs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow

INTEROP = str(Path(sys.executable).with_name("interop"))
REPO = Path(__file__).resolve().parent.parent
AIRFLOW2_PYTHON = REPO / ".venv-airflow2" / "bin" / "python"
#: guards against hangs only
HANG = 400


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["INTEROP_DAEMON"] = "0"
    env.update(extra)
    return env


def _interop(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = HANG) -> subprocess.CompletedProcess:
    return subprocess.run([INTEROP, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _marked(marker: str) -> list[int]:
    """Processes whose command line carries ``marker`` (a task's subprocess)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read()
            with open(f"/proc/{entry}/stat", "rb") as fh:
                zombie = fh.read().rsplit(b")", 1)[-1].split()[0] == b"Z"
        except OSError:
            continue
        if marker.encode() in cmd and not zombie:
            found.append(int(entry))
    return found


def _wait_for(predicate, what: str, timeout: float = HANG) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def _sleepy_dag(folder: Path, marker: str) -> Path:
    """A DAG whose first task starts a subprocess in its own session (as BashOperator does) that
    starts another in the background: both must go when the run is stopped."""
    path = folder / "sleepy.py"
    sleep = f"exec -a sleep-{marker} sleep 600"
    path.write_text(textwrap.dedent(f'''
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator
        from airflow.providers.standard.operators.python import PythonOperator

        with DAG("sleepy", schedule=None):
            wait = BashOperator(task_id="wait", bash_command="({sleep}) & {sleep}")
            after = PythonOperator(task_id="after", python_callable=lambda: 1)
            wait >> after
    '''))
    return path


# --------------------------------------------------------------------------- SIGTERM
def _terminate_when_running(proc: subprocess.Popen, marker: str) -> None:
    _wait_for(lambda: len(_marked(marker)) >= 2 or proc.poll() is not None, "the task's subprocesses")
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)


def test_sigterm_stops_run_and_everything_it_started(tmp_path: Path) -> None:
    marker = f"m{uuid.uuid4().hex[:10]}"
    dag = _sleepy_dag(tmp_path, marker)
    proc = subprocess.Popen([INTEROP, "run", str(dag), "--json", str(tmp_path / "out.json")], env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _terminate_when_running(proc, marker)
        _out, err = proc.communicate(timeout=HANG)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    _wait_for(lambda: not _marked(marker), "the task's subprocesses to end", timeout=60)


def test_sigterm_stops_compare(tmp_path: Path) -> None:
    marker = f"m{uuid.uuid4().hex[:10]}"
    dag = _sleepy_dag(tmp_path, marker)
    proc = subprocess.Popen([INTEROP, "compare", str(dag)], env=_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _terminate_when_running(proc, marker)
        _out, err = proc.communicate(timeout=HANG)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    _wait_for(lambda: not _marked(marker), "the task's subprocesses to end", timeout=60)


def _bare_daemon(tmp_path: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    """The daemon's serving loop without preloading (each worker imports what it needs)."""
    sockets = tmp_path / "sockets"
    sockets.mkdir(mode=0o700)
    env = _env(tmp_path, INTEROP_DAEMON_DIR=str(sockets))
    env.pop("INTEROP_DAEMON")
    code = (
        "from interop.daemon.protocol import socket_path\n"
        "from interop.daemon.server import _Daemon\n"
        "d = _Daemon(socket_path(), 300.0, {'airflow': 'not preloaded'})\n"
        "print('listening', flush=True)\n"
        "d.serve()\n"
    )
    daemon = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert daemon.stdout.readline().strip() == "listening"
    return daemon, env


def _served_run(dag: Path, env: dict[str, str], daemon: subprocess.Popen, marker: str) -> subprocess.Popen:
    proc = subprocess.Popen([INTEROP, "run", str(dag)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: len(_marked(marker)) >= 2 or proc.poll() is not None, "the served run's subprocesses")
    assert proc.poll() is None, proc.communicate()
    return proc


def test_sigterm_through_the_daemon_ends_the_run(tmp_path: Path) -> None:
    """``interop run`` served by a daemon passes SIGTERM on: the run ends (143), not exit 0."""
    marker = f"m{uuid.uuid4().hex[:10]}"
    dag = _sleepy_dag(tmp_path, marker)
    daemon, env = _bare_daemon(tmp_path)
    try:
        proc = _served_run(dag, env, daemon, marker)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=HANG)
        assert proc.returncode == 143, err
        _wait_for(lambda: not _marked(marker), "the task's subprocesses to end", timeout=60)
    finally:
        daemon.terminate()
        daemon.wait(timeout=HANG)


def test_a_sigkilled_daemon_takes_its_runs_with_it(tmp_path: Path) -> None:
    marker = f"m{uuid.uuid4().hex[:10]}"
    dag = _sleepy_dag(tmp_path, marker)
    daemon, env = _bare_daemon(tmp_path)
    try:
        proc = _served_run(dag, env, daemon, marker)
        daemon.kill()
        daemon.wait(timeout=HANG)
        _out, err = proc.communicate(timeout=HANG)
        assert proc.returncode != 0 and "daemon ended" in err
        _wait_for(lambda: not _marked(marker), "the worker and its subprocesses to end", timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()


# --------------------------------------------------------------------------- tasks that misbehave
def _dag(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_a_leaked_thread_does_not_hang_the_run(tmp_path: Path) -> None:
    dag = _dag(tmp_path, "thread_leak", '''
        import threading, time
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator

        def leak():
            threading.Thread(target=time.sleep, args=(3600,), name="leaky-thread").start()
            return 1

        with DAG("thread_leak", schedule=None):
            PythonOperator(task_id="leak", python_callable=leak)
    ''')
    proc = _interop("run", str(dag), env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "thread_leak: success" in proc.stderr and "leaky-thread" in proc.stderr


def test_a_fork_in_a_task_does_not_run_the_rest(tmp_path: Path) -> None:
    log = tmp_path / "ran.log"
    dag = _dag(tmp_path, "forker", f'''
        import os
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator

        def fork():
            return "child" if os.fork() == 0 else "parent"

        def down():
            with open({str(log)!r}, "a") as fh:
                fh.write(f"{{os.getpid()}}\\n")
            return "down"

        with DAG("forker", schedule=None):
            PythonOperator(task_id="fork", python_callable=fork) >> PythonOperator(task_id="down", python_callable=down)
    ''')
    out = tmp_path / "out.json"
    proc = _interop("run", str(dag), "--json", str(out), env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(out.read_text())
    assert payload["tasks"]["fork"]["xcoms"]["return_value"] == "parent"
    assert len(log.read_text().split()) == 1  # the downstream task ran once, in the run's process
    assert "forked a process" in proc.stderr


@pytest.mark.prefect
def test_a_fork_in_a_flow_task_does_not_run_the_rest(tmp_path: Path) -> None:
    log = tmp_path / "ran.log"
    flow = _dag(tmp_path, "forkflow", f'''
        import os
        from prefect import flow, task

        @task
        def fork():
            return "child" if os.fork() == 0 else "parent"

        @task
        def down(x):
            with open({str(log)!r}, "a") as fh:
                fh.write(f"{{os.getpid()}}\\n")
            return x

        @flow(name="forkflow")
        def forkflow():
            return down(fork())
    ''')
    proc = _interop("run", str(flow), "--json", "-", env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["tasks"]["fork"]["xcoms"]["return_value"] == "parent"
    assert len(log.read_text().split()) == 1
    assert "forked a process" in proc.stderr


def test_os_exit_in_a_task_is_reported(tmp_path: Path) -> None:
    dag = _dag(tmp_path, "exiter", '''
        import os
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator

        with DAG("exiter", schedule=None):
            PythonOperator(task_id="bye", python_callable=lambda: os._exit(7))
    ''')
    out = tmp_path / "out.json"
    proc = _interop("run", str(dag), "--json", str(out), env=_env(tmp_path))
    assert proc.returncode == 1
    assert "exited with code 7 before the run finished" in proc.stderr and "Traceback" not in proc.stderr
    payload = json.loads(out.read_text())
    assert payload["state"] == "failed" and "code 7" in payload["error"]


def test_no_temporary_folder_left_behind(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    dag = _dag(tmp_path, "plain", '''
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator

        with DAG("plain", schedule=None):
            PythonOperator(task_id="one", python_callable=lambda: 1)
    ''')
    for _ in range(2):
        proc = _interop("run", str(dag), env=_env(tmp_path, TMPDIR=str(scratch)))
        assert proc.returncode == 0, proc.stderr
    assert [p.name for p in scratch.iterdir() if p.name.startswith("interop-")] == []


# --------------------------------------------------------------------------- Prefect's temporary server
@pytest.mark.prefect
@pytest.mark.parametrize("command", ["run", "compare"])
def test_temporary_server_has_a_private_home_and_quiet_logs(tmp_path: Path, command: str) -> None:
    """Prefect's temporary server (no PREFECT_API_URL) keeps to a home of its own, sends no
    telemetry, and nothing it logs reaches stdout; nothing is left in the temp folder."""
    home = tmp_path / "home"
    home.mkdir()
    if command == "run":
        flow = tmp_path / "flow_one.py"
        flow.write_text(textwrap.dedent('''
            from prefect import flow, task

            @task
            def one():
                return 1

            @flow(name="flow_one")
            def flow_one():
                return one()
        '''))
    else:
        flow = _dag(tmp_path, "flow_one", '''
            from airflow.sdk import DAG
            from airflow.providers.standard.operators.python import PythonOperator

            with DAG("flow_one", schedule=None):
                PythonOperator(task_id="one", python_callable=lambda: 1)
        ''')
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")  # the migrated template database
    env = _env(tmp_path, HOME=str(home), XDG_CACHE_HOME=cache, TMPDIR=str(tmp_path))
    env.pop("PREFECT_SERVER_ANALYTICS_ENABLED", None)
    env.pop("DO_NOT_TRACK", None)
    env.pop("PREFECT_HOME", None)
    proc = _interop(command, str(flow), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""  # the server's logs and Prefect's never reach stdout
    assert ("flow_one: success" if command == "run" else "equivalent") in proc.stderr
    assert "telemetry" not in proc.stderr.lower()
    assert not (home / ".prefect" / "prefect.db").exists()  # not the user's shared database
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("interop-run-")] == []


# --------------------------------------------------------------------------- sidecar
@pytest.mark.skipif(not AIRFLOW2_PYTHON.exists(), reason="needs .venv-airflow2 (Airflow 2.x)")
def test_sidecar_keeps_connections_and_prints_task_errors(tmp_path: Path) -> None:
    dag = _dag(tmp_path, "uses_conn", '''
        from airflow import DAG
        from airflow.hooks.base import BaseHook
        from airflow.operators.python import PythonOperator
        from datetime import datetime

        def host():
            return BaseHook.get_connection("partner_api").host

        def boom():
            raise ValueError("the partner API said no")

        with DAG("uses_conn", start_date=datetime(2024, 1, 1), schedule_interval=None) as dag:
            PythonOperator(task_id="host", python_callable=host) >> PythonOperator(task_id="boom", python_callable=boom)
    ''')
    env = _env(tmp_path, AIRFLOW_CONN_PARTNER_API="http://partner.example.com:8080", AIRFLOW_VAR_REGION="eu")
    out = tmp_path / "out.json"
    proc = _interop("run", str(dag), "--airflow-python", str(AIRFLOW2_PYTHON), "--json", str(out), env=env)
    assert proc.returncode == 1, proc.stderr
    payload = json.loads(out.read_text())
    assert payload["tasks"]["host"]["state"] == "success"
    assert payload["tasks"]["host"]["xcoms"]["return_value"] == "partner.example.com"
    assert "error in task 'boom'" in proc.stderr and "the partner API said no" in proc.stderr


# --------------------------------------------------------------------------- converter-only install
BLOCK_RUNTIME = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("airflow", "prefect"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
from interop.cli import main
sys.argv[0] = "interop"
main()
"""


@pytest.mark.parametrize("command", ["run", "compare"])
def test_converter_only_install_gets_a_hint(tmp_path: Path, command: str) -> None:
    """Without Airflow and Prefect (only the converter installed), run and compare say how to
    install the runtime, in one line."""
    dag = _dag(tmp_path, "plain", '''
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.empty import EmptyOperator

        with DAG("plain", schedule=None):
            EmptyOperator(task_id="one")
    ''')
    proc = subprocess.run([sys.executable, "-c", BLOCK_RUNTIME, command, str(dag)], env=_env(tmp_path), cwd=REPO,
                          capture_output=True, text=True, timeout=HANG)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert 'pip install "airflow-interop[runtime]"' in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
