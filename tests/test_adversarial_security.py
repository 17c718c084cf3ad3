"""Hardening, as an attacker would try it (issue 13): the daemon's socket, secrets in errors, the
state file, the Markdown report.

Real processes, real sockets, a real HTTP server; nothing of Airflow or Prefect is mocked. Each
case asserts a clear message and the documented exit code, never a traceback.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

INTEROP = str(Path(sys.executable).with_name("interop"))
REPO = Path(__file__).resolve().parent.parent
#: guards against hangs only
HANG = 300


def _interop(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = HANG) -> subprocess.CompletedProcess:
    return subprocess.run([INTEROP, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=HANG, cwd=REPO)


# --------------------------------------------------------------------------- daemon socket
def _fallback_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """No ``XDG_RUNTIME_DIR``: the daemon's directory falls back under the temp folder."""
    shared = tmp_path / "shared-tmp"
    shared.mkdir(mode=0o1777)
    os.chmod(shared, 0o1777)
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "INTEROP_DAEMON_DIR")}
    env["TMPDIR"] = str(shared)
    return env, shared / f"interop-{os.getuid()}"


@pytest.mark.parametrize("attack", ["symlink", "open_mode", "a_file"], ids=["symlink-planted", "mode-755", "plain-file"])
def test_a_planted_daemon_directory_is_refused(tmp_path: Path, attack: str) -> None:
    """Another local user who creates the daemon's directory first (a link to their own folder,
    a folder others can enter, a file) never gets the daemon's socket or a client's request."""
    env, planted = _fallback_env(tmp_path)
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    if attack == "symlink":
        planted.symlink_to(theirs)
    elif attack == "open_mode":
        planted.mkdir()
        os.chmod(planted, 0o755)
    else:
        planted.write_text("")
    check = _python("from interop.daemon.protocol import runtime_dir\nruntime_dir()", env)
    assert check.returncode != 0 and "PermissionError" in check.stderr
    started = _interop("daemon", "start", env=env)
    assert started.returncode == 2, started.stderr
    assert "Traceback" not in started.stderr and str(planted) in started.stderr
    assert list(theirs.iterdir()) == []  # nothing was created through the link
    status = _interop("daemon", "status", env=env)
    assert status.returncode == 1 and "Traceback" not in status.stderr


def test_the_daemon_directory_is_created_private(tmp_path: Path) -> None:
    env, made = _fallback_env(tmp_path)
    check = _python("from interop.daemon.protocol import runtime_dir\nprint(runtime_dir())", env)
    assert check.returncode == 0, check.stderr
    assert Path(check.stdout.strip()) == made
    info = os.lstat(made)
    assert info.st_mode & 0o777 == 0o700 and info.st_uid == os.getuid()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a process as another user")
def test_someone_elses_directory_is_refused(tmp_path: Path) -> None:
    env, planted = _fallback_env(tmp_path)
    planted.mkdir(mode=0o700)
    os.chown(planted, 65534, 65534)
    check = _python("from interop.daemon.protocol import runtime_dir\nruntime_dir()", env)
    assert check.returncode != 0 and "belongs to user id 65534" in check.stderr


@pytest.mark.skipif(os.getuid() != 0 or not hasattr(socket, "SO_PEERCRED"), reason="needs root and SO_PEERCRED")
def test_the_client_sends_nothing_to_a_daemon_run_by_another_user(tmp_path: Path, monkeypatch) -> None:
    """A socket file of ours in our private folder, but the process listening on it runs as
    another user: the client checks SO_PEERCRED before sending its request (which carries the
    environment, secrets included) and runs the command itself instead."""
    from interop.daemon import client
    from interop.daemon.protocol import socket_path

    folder = tmp_path / "sockets"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("INTEROP_DAEMON_DIR", str(folder))
    monkeypatch.delenv("INTEROP_DAEMON", raising=False)
    monkeypatch.setenv("INTEROP_SECRET_TOKEN", "s3cr3t-value")
    path = socket_path()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))  # the file is ours, as a real daemon's would be
    ready_r, ready_w = os.pipe()
    data_r, data_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the impostor: another user listens on it and keeps what it is sent
        try:
            os.setgid(65534)
            os.setuid(65534)
            listener.listen(8)
            os.write(ready_w, b"x")
            listener.settimeout(60)
            got = b""
            try:
                while True:
                    conn, _ = listener.accept()
                    conn.settimeout(5)
                    try:
                        while chunk := conn.recv(65536):
                            got += chunk
                    except OSError:
                        pass
                    conn.close()
            except OSError:
                pass
            os.write(data_w, got[:60000] or b"-")
        finally:
            os._exit(0)
    listener.close()
    os.close(ready_w)
    os.close(data_w)
    try:
        assert os.read(ready_r, 1) == b"x"
        assert client._connect() is None, "the client connected to another user's daemon"
        assert client.forward("run", {"path": "x"}) is None  # runs the command in its own process instead
        assert client.request("status") is None
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    got = os.read(data_r, 65536)
    assert b"s3cr3t" not in got and got in (b"", b"-")  # not a byte reached the impostor


def test_a_silent_connection_does_not_hold_up_the_daemon(tmp_path: Path) -> None:
    """Connections that never send their request: another client is answered while they are
    still open (the daemon did not wait out their 10 s)."""
    env = {**os.environ, "INTEROP_DAEMON_DIR": str(tmp_path / "sockets")}
    (tmp_path / "sockets").mkdir(mode=0o700)
    env.pop("INTEROP_DAEMON", None)
    # the daemon's loop, without preloading Airflow (status requests need none of it)
    code = (
        "from interop.daemon.protocol import socket_path\n"
        "from interop.daemon.server import _Daemon\n"
        "d = _Daemon(socket_path(), 120.0, {'airflow': 'not preloaded'})\n"
        "print('listening', flush=True)\n"
        "d.serve()\n"
    )
    daemon = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert daemon.stdout.readline().strip() == "listening"
        path = Path(_python("from interop.daemon.protocol import socket_path\nprint(socket_path())", env).stdout.strip())
        silent = []
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(path))
            silent.append(s)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(path))
        s.sendall(b"\x00\x00")  # half a length prefix, then nothing
        silent.append(s)
        status = _interop("daemon", "status", "--json", env=env)
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["pid"] == daemon.pid
        for s in silent:  # still open: the daemon answered without waiting them out
            s.setblocking(False)
            with pytest.raises(BlockingIOError):
                s.recv(1)
            s.close()
    finally:
        daemon.terminate()
        daemon.wait(timeout=HANG)


# --------------------------------------------------------------------------- live Airflow secrets
PASSWORD = 'pa"ss\\w:rd/&?é 1'
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


class _Echo(BaseHTTPRequestHandler):
    """An Airflow-like server that echoes what it got in its errors, in every encoding."""

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.path.endswith("/version") or self.path.endswith("/monitor/health"):
            self._send(200, {"version": "2.10.5"})
            return
        if self.path == "/auth/token":
            self._send(404, {"detail": "not here"})
            return
        auth = self.headers.get("Authorization", "")
        detail = {
            "detail": f"bad credentials: got header Authorization: {auth}",
            "echo": body,
            "query": urllib.parse.quote(PASSWORD),
            "plus": urllib.parse.quote_plus(PASSWORD),
            "headers": {"Authorization": auth},
        }
        self._send(401, {"detail": json.dumps(detail), "title": "Unauthorized"})

    def _send(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = _answer


@pytest.fixture
def echo_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _secret_forms(*secrets: str) -> list[str]:
    forms = []
    for s in secrets:
        once = json.dumps(s)[1:-1]
        forms += [s, once, json.dumps(once)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1], urllib.parse.quote(s, safe=""),
                  urllib.parse.quote_plus(s), base64.b64encode(s.encode()).decode(), repr(s)[1:-1]]
    return [f for f in forms if len(f) >= 3]


@pytest.mark.parametrize("mode", ["basic", "bearer", "in-url"])
def test_secrets_never_shown_in_any_encoding(echo_server: str, mode: str) -> None:
    """An Airflow 2 server that echoes the Authorization header and the request: the error shows
    neither the password (raw, JSON-escaped, URL-encoded, base64 in ``Basic user:password``)
    nor the token."""
    from airflow_interop.live.client import AirflowAPIError, AirflowClient, AirflowCredentials

    if mode == "basic":
        client = AirflowClient(echo_server, credentials=AirflowCredentials(username="alice", password=PASSWORD), api_version="v1")
    elif mode == "bearer":
        client = AirflowClient(echo_server, credentials=AirflowCredentials(token=TOKEN), api_version="v1")
    else:
        url = echo_server.replace("http://", f"http://alice:{urllib.parse.quote(PASSWORD, safe='')}@")
        client = AirflowClient(url, credentials=AirflowCredentials(), api_version="v1")
    with client, pytest.raises(AirflowAPIError) as info:
        client.trigger("etl", conf={"password": PASSWORD})
    text = f"{info.value}\n{info.value.detail}\n{info.value!r}\n{client!r}"
    assert "Authorization" in text  # the echo is there, with the secret taken out
    secrets = [TOKEN] if mode == "bearer" else [PASSWORD, f"alice:{PASSWORD}"]
    for form in _secret_forms(*secrets):
        assert form not in text, f"secret shown as {form!r}"
    assert "Basic ***" in text or "Bearer ***" in text


# --------------------------------------------------------------------------- state file
def _laughs() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\nversion: 1\ndags:\n  x:\n    file: dags/x.py\n    tasks: {t: *a9}\n"


STATE_FILES = {
    "billion-laughs": (_laughs(), "expands to more than"),
    "deep-sequence": ("dags: " + "[" * 100_000 + "]" * 100_000 + "\n", "nests deeper than"),
    "deep-mapping": ("dags:\n  x:\n    file: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n", "nests deeper than"),
    "list-as-file": ("dags:\n  x:\n    file: [a, b]\n", "'file' must be a string"),
    "list-at-top": ("- a\n- b\n", "expected a mapping at the top"),
    "list-as-dags": ("dags: [a, b]\n", "'dags' must map DAG ids"),
    "huge-status": ("dags:\n  x:\n    tasks:\n      t: " + "x" * 200_000 + "\n", "is not one of"),
    "mixed-keys": ("dags:\n  x:\n    1: a\n    zz: b\n", "unknown keys"),
    "not-utf8": (b"dags: \xff\xfe\n", "cannot be read"),
}


@pytest.mark.parametrize("name", sorted(STATE_FILES))
def test_hostile_state_files_are_refused_clearly(tmp_path: Path, name: str) -> None:
    content, message = STATE_FILES[name]
    state = tmp_path / "interop-state.yaml"
    if isinstance(content, bytes):
        state.write_bytes(content)
    else:
        state.write_text(content)
    proc = _interop("status", "--state", str(state), "--no-load")
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and str(state) in proc.stderr and message in proc.stderr
    assert len(proc.stderr) < 1000  # never the file's own huge values


def test_a_huge_state_file_is_refused(tmp_path: Path) -> None:
    from interop.state import MAX_STATE_BYTES

    state = tmp_path / "interop-state.yaml"
    with open(state, "w") as fh:
        fh.write("version: 1\n# " + "x" * (MAX_STATE_BYTES + 10) + "\n")
    proc = _interop("status", "--state", str(state), "--no-load")
    assert proc.returncode == 2 and "larger than" in proc.stderr and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- Markdown report
def test_markdown_report_escapes_html(tmp_path: Path) -> None:
    """Task ids, values and errors from a DAG are shown as text in the Markdown report, never as
    HTML (a pull-request comment would run it): as the HTML report already does."""
    from interop.compare.model import DagComparison, SideRun, TaskSide, ValueDiff
    from interop.compare.report import to_markdown, write_reports

    evil = "<script>alert(1)</script>"
    airflow = SideRun(kind="airflow", state="success", tasks={evil: TaskSide(state="success", values={"return_value": evil})})
    prefect = SideRun(kind="prefect", state="success", tasks={evil: TaskSide(state="success", values={"return_value": "x"})})
    different = DagComparison(
        dag_id=f"d{evil}", file=f"dags/{evil}.py", equivalent=False, airflow=airflow, prefect=prefect,
        values=[ValueDiff(task_id=evil, key=f"k`|{evil}", airflow=evil, prefect="x", reason=f"why {evil}")],
        logical_date="2024-01-01T00:00:00+00:00",
    )
    errored = DagComparison(dag_id=evil, file="dags/x.py", equivalent=False, error=f"boom {evil}\n```\n<img src=x onerror=alert(1)>")
    for c in (different, errored):
        md = to_markdown(c)
        assert "<script" not in md and "<img" not in md, md
        assert "&lt;script&gt;" in md
    write_reports([different, errored], tmp_path)
    for page in tmp_path.glob("*.md"):
        assert "<script" not in page.read_text()
