"""The process around a run: signals, orphans, abrupt ends, and Prefect's temporary server.

``interop run`` and ``interop compare`` run user code (DAG tasks, flows) that may start
subprocesses, leak threads, fork, or end the interpreter with ``os._exit``. So the command's work
runs in a forked child while this process watches it (:func:`supervised`):

* SIGTERM, SIGINT or SIGHUP: the child gets SIGTERM (Airflow's task runner calls the running
  task's ``on_kill``), then, after :data:`GRACE_SECONDS`, SIGKILL, and so does every process it
  started, including those in their own session (this process is a *child subreaper*, so
  orphaned descendants are re-parented to it and found). The exit code is ``128 + signal``
  (143 for SIGTERM).
* The child reports when the command's work returned; a child still alive :data:`EXIT_SECONDS`
  after that (a task left a non-daemon thread running) is stopped, and the command's exit code
  stands.
* A child that ends before its work returned (``os._exit`` in a task, killed by another process)
  is reported in one line, with exit code 1.
* Whatever the child left running is stopped once it has ended, and the run's temporary folder
  (:envvar:`INTEROP_RUN_DIR`: Prefect's results and its temporary server's home) is removed.

Without ``fork`` (or when the standard streams are not real descriptors, as under a test
runner's capture) the work runs in this process, as before.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

__all__ = [
    "EXIT_SECONDS",
    "GRACE_SECONDS",
    "RUN_DIR_ENV",
    "prefect_environment",
    "quiet_temporary_server",
    "run_dir",
    "supervised",
]

#: seconds between SIGTERM and SIGKILL (Airflow gives a killed task time to clean up too)
GRACE_SECONDS = 10.0
#: seconds a child may take to exit once its work returned (atexit handlers, a server to stop)
EXIT_SECONDS = 15.0
#: the run's temporary folder, made by the supervisor and removed when the run has ended
RUN_DIR_ENV = "INTEROP_RUN_DIR"

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent dies (Linux)."""
    parent = os.getppid()
    _prctl(_PR_SET_PDEATHSIG, int(signum))
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signum)


def _real_streams() -> bool:
    for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
        try:
            if stream.fileno() != fd:
                return False
        except (AttributeError, OSError, ValueError):
            return False
    return True


def descendants(root: int | None = None) -> list[int]:
    """Every process below ``root`` (this process by default), from ``/proc``; children first."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[-1].split()
        if len(fields) > 1 and fields[0] != b"Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    out: list[int] = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def _signal_all(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _reap_orphans(keep: int | None = None) -> None:
    """Collect the exit status of re-parented orphans (this process is their subreaper), but not
    of ``keep`` (the child whose status the caller reads itself)."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except (ChildProcessError, OSError):
            return
        if info is None or info.si_pid == keep:
            return
        try:
            os.waitpid(info.si_pid, os.WNOHANG)
        except ChildProcessError:
            return


def stop_descendants(grace: float = 5.0) -> int:
    """SIGTERM every descendant, SIGKILL those still there after ``grace`` s; how many there were."""
    pids = descendants()
    if not pids:
        return 0
    _signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap_orphans()
        if not descendants():
            return len(pids)
        time.sleep(0.05)
    _signal_all(descendants(), signal.SIGKILL)
    for _ in range(100):
        _reap_orphans()
        if not descendants():
            break
        time.sleep(0.02)
    return len(pids)


_OWN_RUN_DIR: list[Path] = []


def run_dir() -> Path:
    """The run's temporary folder (the supervisor's, else one of this process's, removed at exit)."""
    given = os.environ.get(RUN_DIR_ENV)
    if given and Path(given).is_dir():
        return Path(given)
    if not _OWN_RUN_DIR:
        path = Path(tempfile.mkdtemp(prefix="interop-run-"))
        atexit.register(shutil.rmtree, path, True)
        _OWN_RUN_DIR.append(path)
    return _OWN_RUN_DIR[0]


# --------------------------------------------------------------------------- Prefect
def _api_url_configured() -> bool:
    """Whether Prefect is pointed at a server (env, the active profile, prefect.toml, pyproject)."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            return False
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    try:
        data = tomllib.loads(profiles.read_text(encoding="utf-8"))
        active = os.environ.get("PREFECT_PROFILE") or data.get("active") or "ephemeral"
        if data.get("profiles", {}).get(active, {}).get("PREFECT_API_URL"):
            return True
    except (OSError, ValueError, AttributeError):
        pass
    for name, keys in (("prefect.toml", ("api",)), ("pyproject.toml", ("tool", "prefect", "api"))):
        try:
            node: Any = tomllib.loads(Path(name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for key in keys:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict) and node.get("url"):
            return True
    return False


def prefect_environment(folder: Path | None = None) -> Path:
    """Prefect's settings for this process, set before Prefect is imported; the run's folder.

    Flow results are persisted under the run's folder (read back, then removed with it). When no
    Prefect server is configured, Prefect starts a temporary one: it gets a private home in the
    run's folder (its own SQLite database: no "database is locked" from other Prefect work on
    the machine, nothing left behind) and sends no telemetry. A setting given in the
    environment is kept.

    Called in another program's process (the command's work run by a test runner, not under
    :func:`supervised`), only the results are set: that program's Prefect settings are its own.
    """
    watched = folder is not None or bool(os.environ.get(RUN_DIR_ENV))
    folder = folder or run_dir()
    env = os.environ
    env.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "true")
    env.setdefault("PREFECT_LOCAL_STORAGE_PATH", str(folder / "results"))
    if not watched:
        return folder
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not _api_url_configured():
        user_home = Path(env.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
        env.setdefault("PREFECT_PROFILES_PATH", str(user_home / "profiles.toml"))  # the user's profile still applies
        env["PREFECT_HOME"] = str(folder / "prefect")
        env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
        # a server with a fresh database: block types are registered by the blocks a flow
        # saves, not all at start; a loaded machine may need more than Prefect's 20 s to start it
        env.setdefault("PREFECT_SERVER_REGISTER_BLOCKS_ON_START", "false")
        env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    return folder


def _template_database() -> Path | None:
    """A Prefect database with every migration applied, kept per Prefect version in the user's
    cache (built once, in a subprocess); each temporary server starts from a copy of it instead
    of migrating an empty database (many seconds)."""
    try:
        import prefect
    except ImportError:
        return None
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "airflow-interop"
    template = cache / f"prefect-{prefect.__version__}" / "prefect.db"
    if template.is_file():
        return template
    import subprocess

    build = Path(tempfile.mkdtemp(prefix="interop-prefect-template-"))
    # Prefect's defaults only (no profile, no database URL of the user's): a SQLite file in `build`
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"PREFECT_HOME": str(build), "PREFECT_PROFILES_PATH": str(build / "profiles.toml"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"})
    code = (
        "import asyncio\n"
        "from prefect.server.database import provide_database_interface\n"
        "asyncio.run(provide_database_interface().create_db())\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", code], env=env, cwd=build, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=600, check=False)
        if done.returncode != 0 or not (build / "prefect.db").is_file():
            return None
        template.parent.mkdir(parents=True, exist_ok=True)
        os.replace(build / "prefect.db", template)  # several builders: the last one wins, each whole
        return template
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        shutil.rmtree(build, ignore_errors=True)


class _QuietSubprocess:
    """``subprocess`` for Prefect's server module: the temporary server's output goes to a log file."""

    def __init__(self, module: Any, log_path: Path) -> None:
        self._module = module
        self._log_path = log_path

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def Popen(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - subprocess's name
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._log_path, "ab") as log:
            kwargs.setdefault("stdin", self._module.DEVNULL)
            kwargs.setdefault("stdout", log)
            kwargs.setdefault("stderr", self._module.STDOUT)
            return self._module.Popen(*args, **kwargs)


def quiet_temporary_server() -> Path | None:
    """Before a flow runs: if Prefect will start its temporary server, send that server's output
    (its logs, any traceback) to ``server.log`` in its home instead of this process's stdout and
    stderr; the log's path, or ``None`` when a server is configured."""
    if _api_url_configured():
        return None
    try:
        import subprocess

        from prefect.server.api import server as server_module
        from prefect.settings import get_current_settings
    except ImportError:
        return None
    home = Path(get_current_settings().home)
    log_path = home / "server.log"
    if not isinstance(server_module.__dict__.get("subprocess"), _QuietSubprocess):
        server_module.subprocess = _QuietSubprocess(subprocess, log_path)  # type: ignore[assignment]
    private = os.environ.get(RUN_DIR_ENV) and str(home).startswith(os.environ[RUN_DIR_ENV])
    database = home / "prefect.db"
    if private and not database.exists() and not os.environ.get("PREFECT_SERVER_DATABASE_CONNECTION_URL"):
        template = _template_database()
        if template is not None:
            home.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(template, database)
            except OSError:
                database.unlink(missing_ok=True)
    return log_path


# --------------------------------------------------------------------------- supervision
def supervised(work: Callable[[], int], *, name: str, on_abrupt: Callable[[str], None] | None = None) -> int:
    """Run ``work`` (returns an exit code) in a watched child process; its exit code.

    Args:
        work: the command's work; may raise ``SystemExit``.
        name: the command, for messages (``interop run``).
        on_abrupt: called with the message when the child ended before ``work`` returned.
    """
    if not hasattr(os, "fork") or not _real_streams() or os.environ.get("INTEROP_SUPERVISE", "1") == "0":
        return _call(work)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    folder = Path(tempfile.mkdtemp(prefix="interop-run-"))
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    received: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in _SIGNALS}
    try:
        pid = os.fork()
    except OSError:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(read_end)
        os.close(write_end)
        shutil.rmtree(folder, ignore_errors=True)
        return _call(work)
    if pid == 0:
        os.close(read_end)
        _child(work, write_end, folder, previous)
    os.close(write_end)
    os.set_blocking(read_end, False)
    try:
        return _watch(pid, read_end, received, name, on_abrupt)
    finally:
        os.close(read_end)
        stop_descendants()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(folder, ignore_errors=True)


def _call(work: Callable[[], int]) -> int:
    try:
        return int(work() or 0)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def _child(work: Callable[[], int], done_fd: int, folder: Path, handlers: dict[int, Any]) -> None:
    """In the child: do the work, say it returned, exit without waiting for leaked threads."""
    code = 1
    try:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        die_with_parent(signal.SIGKILL)
        os.environ[RUN_DIR_ENV] = str(folder)
        code = _call(work)
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # noqa: BLE001 - report any failure, then exit
        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    try:
        os.write(done_fd, f"done {code}\n".encode())
    except OSError:
        pass
    try:
        # what the interpreter does at exit, except waiting for every non-daemon thread forever:
        # threading's exit callbacks (executors drain there), a short wait for the threads, then
        # the atexit handlers (Prefect flushes its logs and stops its temporary server there)
        for call in reversed(list(getattr(threading, "_threading_atexits", []))):
            call()
        deadline = time.monotonic() + 2.0
        others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
        for thread in others:
            thread.join(max(0.0, deadline - time.monotonic()))
        leaked = [t.name for t in others if t.is_alive()]
        if leaked:
            print(f"note: thread(s) a task started are still running after the run: {leaked}; not waited for", file=sys.stderr)
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(code)


def _watch(pid: int, done_fd: int, received: list[int], name: str, on_abrupt: Callable[[str], None] | None) -> int:
    reported: int | None = None
    buffer = b""
    done_at: float | None = None
    kill_at: float | None = None
    handled = 0
    status: int | None = None
    while status is None:
        if len(received) > handled:  # a signal: SIGTERM to the child, SIGKILL after the grace
            for signum in received[handled:]:
                if signum == signal.SIGINT and _shares_terminal():
                    continue  # Ctrl-C reached the child too
                _signal_all([pid], signal.SIGTERM)
            handled = len(received)
            if kill_at is None:
                kill_at = time.monotonic() + GRACE_SECONDS
        try:
            chunk = os.read(done_fd, 64)
            buffer += chunk
        except BlockingIOError:
            pass
        except OSError:
            pass
        if reported is None and buffer.startswith(b"done ") and buffer.endswith(b"\n"):
            reported = int(buffer.split()[1])
            done_at = time.monotonic()
        now = time.monotonic()
        if kill_at is not None and now >= kill_at:
            _signal_all([pid, *descendants(pid)], signal.SIGKILL)
            kill_at = now + 3600
        if done_at is not None and now - done_at >= EXIT_SECONDS:
            print(
                f"note: {name} finished, but its process did not exit within {EXIT_SECONDS:g} s "
                "(a task left a thread or process running); stopped it",
                file=sys.stderr,
            )
            _signal_all([pid, *descendants(pid)], signal.SIGKILL)
            done_at = now + 3600
        try:
            got, raw = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            got, raw = pid, 0
        if got == pid:
            status = raw
            break
        _reap_orphans(keep=pid)
        time.sleep(0.02)
    if received:
        signum = received[0]
        print(f"{name}: stopped by {signal.Signals(signum).name}", file=sys.stderr)
        return 128 + signum
    if reported is not None:
        return reported
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        message = f"{name}: the run's process was killed by {signal.Signals(-code).name} before the run finished; no result"
    else:
        message = (
            f"{name}: the run's process exited with code {code} before the run finished "
            "(a task called os._exit() or ended the interpreter); no result"
        )
    print(f"error: {message}", file=sys.stderr)
    if on_abrupt is not None:
        try:
            on_abrupt(message)
        except Exception as exc:  # noqa: BLE001 - the message is printed already
            print(f"error: cannot record it: {exc}", file=sys.stderr)
    return 1


def _shares_terminal() -> bool:
    """Whether this process is in the terminal's foreground group (so Ctrl-C reached the child)."""
    for fd in (0, 1, 2):
        try:
            return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False
