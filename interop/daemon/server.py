"""The run daemon: import Airflow once, then fork a fresh worker for each ``interop run``.

``interop run`` in a new process spends most of its time importing Airflow (about 1.5 s here)
before a DAG run that often takes a tenth of that. The daemon pays the imports once, runs a
small warm-up DAG (:mod:`interop.daemon.warmup_dag`) so that what Airflow imports lazily is loaded
too, and then, for each request, forks a worker that takes on the client's working directory,
environment, ``sys.path``, umask and standard streams, runs the command, and exits. Workers start
from the same warmed state and share nothing with each other; the parent sends each worker's
exit status back to its client.

Started by ``interop daemon start`` as ``python -P -m interop.daemon.server --socket PATH``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from interop.daemon.protocol import Channel, changed_files, peer_uid, project_files

__all__ = ["main", "preload"]

#: command name -> "module:function(**arguments) -> exit code", run in a worker
COMMANDS = {"run": "interop.commands.run:serve"}

#: seconds between SIGTERM and SIGKILL for a worker whose client went away
KILL_GRACE_SECONDS = 5.0
#: seconds a new connection has to send its whole request (a client sends it at once)
REQUEST_SECONDS = 10.0
#: connections whose request is still arriving, at most
MAX_PENDING = 64
_MAX_REQUEST = 16 * 1024 * 1024


class _Pending:
    """A connection whose first message has not all arrived yet."""

    def __init__(self, conn: socket.socket, deadline: float) -> None:
        self.conn = conn
        self.deadline = deadline
        self.buf = b""
        self.fds: list[int] = []


def preload(warmup: bool = True) -> dict[str, Any]:
    """Import what a run needs and (by default) run the warm-up DAG; what was done, and how long."""
    start = time.perf_counter()
    import airflow
    import airflow.sdk  # noqa: F401
    from airflow.dag_processing.dagbag import DagBag  # noqa: F401

    import interop.commands.run  # noqa: F401
    import airflow_interop.compat.report  # noqa: F401
    import airflow_interop.runner as runner

    imported = time.perf_counter() - start
    warmup_state = None
    if warmup:
        result = runner.run_dag(Path(__file__).with_name("warmup_dag.py"), "interop_daemon_warmup", echo=False)
        warmup_state = result.state
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    return {
        "airflow": airflow.__version__,
        "import_seconds": round(imported, 3),
        "preload_seconds": round(time.perf_counter() - start, 3),
        "warmup": warmup_state,
        "threads": [t.name for t in threading.enumerate() if t is not threading.main_thread()],
    }


class _Daemon:
    def __init__(self, path: Path, idle_timeout: float, info: dict[str, Any]) -> None:
        self.path = path
        self.idle_timeout = idle_timeout
        self.info = info
        self.started = _dt.datetime.now(_dt.timezone.utc)
        self.served = 0
        self.workers: dict[int, Channel] = {}
        self.kill_at: dict[int, float] = {}  # worker -> when SIGKILL follows the SIGTERM
        self.stopping = False
        self.last_activity = time.monotonic()
        self.selector = selectors.DefaultSelector()
        self.pending: dict[int, _Pending] = {}  # connections whose request has not all arrived
        self.listener = self._bind(path)
        self.listener.setblocking(False)
        self.loaded = project_files()  # this project's preloaded code: an edit retires the daemon
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _bind(path: Path) -> socket.socket:
        """Listen on ``path``; the socket appears there only once it accepts (bind, then rename)."""
        if path.exists():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(path))
            except OSError:
                pass  # stale: its daemon is gone
            else:
                probe.close()
                raise SystemExit(f"a daemon already listens on {path}")
        temp = path.with_name(f".{path.name}.{os.getpid()}")
        temp.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(temp))
        os.chmod(temp, 0o600)
        listener.listen(64)
        os.replace(temp, path)
        return listener

    # ------------------------------------------------------------------ loop
    def serve(self) -> None:
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.set_wakeup_fd(self.wake_w.fileno(), warn_on_full_buffer=False)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        try:
            while True:
                timeout = None
                if self.idle_timeout > 0 and not self.workers:
                    timeout = max(0.0, self.idle_timeout - (time.monotonic() - self.last_activity))
                if self.kill_at:
                    timeout = max(0.0, min(self.kill_at.values()) - time.monotonic())
                if self.pending:
                    soonest = max(0.0, min(p.deadline for p in self.pending.values()) - time.monotonic())
                    timeout = soonest if timeout is None else min(timeout, soonest)
                for key, _ in self.selector.select(timeout):
                    if key.data == "accept":
                        self._accept()
                    elif isinstance(key.data, _Pending):
                        if key.data.conn.fileno() >= 0:
                            self._read_request(key.data)
                    elif isinstance(key.data, int):
                        self._client_left(key.data)
                    else:
                        try:
                            while self.wake_r.recv(512):
                                pass
                        except BlockingIOError:
                            pass
                self._reap()
                self._kill_overdue()
                self._expire_pending()
                if self.stopping:
                    self._stop()
                idle = time.monotonic() - self.last_activity
                if not self.workers and (self.stopping or (self.idle_timeout > 0 and idle >= self.idle_timeout)):
                    break
        finally:
            self._close()

    def _on_signal(self, _signum: int, _frame: Any) -> None:
        self.stopping = True  # acted on by the loop, not inside the handler

    def _stop(self) -> None:
        """Accept no more requests; the loop ends when the running workers have."""
        self.stopping = True
        if self.listener.fileno() >= 0:
            self.selector.unregister(self.listener)
            self.listener.close()
            self._unlink()

    def _accept(self) -> None:
        """Take a new connection without waiting for its request: a client that connects and
        says nothing must not hold up anyone else (its request is read as it arrives)."""
        try:
            conn, _ = self.listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        except OSError:
            return
        if not _same_user(conn):
            conn.close()
            return
        conn.setblocking(False)
        if len(self.pending) >= MAX_PENDING:  # the oldest silent one makes room
            self._drop(min(self.pending.values(), key=lambda p: p.deadline))
        pending = _Pending(conn, time.monotonic() + REQUEST_SECONDS)
        self.pending[conn.fileno()] = pending
        self.selector.register(conn, selectors.EVENT_READ, pending)

    def _read_request(self, pending: "_Pending") -> None:
        """More bytes (and descriptors) of a new connection's request; acted on once complete."""
        try:
            data, fds, _flags, _addr = socket.recv_fds(pending.conn, 65536, 3)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(pending)
            return
        pending.fds.extend(fds)
        if not data:
            self._drop(pending)
            return
        pending.buf += data
        if len(pending.buf) < 4:
            return
        (length,) = struct.unpack(">I", pending.buf[:4])
        if length > _MAX_REQUEST or len(pending.fds) > 3:
            self._drop(pending)
            return
        if len(pending.buf) < 4 + length:
            return
        try:
            request = json.loads(pending.buf[4 : 4 + length])
        except ValueError:
            self._drop(pending)
            return
        self._forget(pending)
        conn, fds = pending.conn, pending.fds
        conn.setblocking(True)
        channel = Channel(conn)
        op = request.get("op") if isinstance(request, dict) else None
        stale = changed_files(self.loaded)
        if op == "run" and len(fds) == 3 and request.get("command") in COMMANDS and not stale:
            self.last_activity = time.monotonic()  # only runs keep the daemon up, not status polls
            self._fork(channel, request, fds)
            return
        if op == "run" and stale:  # the client runs it itself; this daemon retires
            for fd in fds:
                os.close(fd)
            try:
                conn.settimeout(REQUEST_SECONDS)
                channel.send({"stale": sorted(stale)[:5]})
            except OSError:
                pass
            conn.close()
            self._stop()
            return
        for fd in fds:
            os.close(fd)
        conn.settimeout(REQUEST_SECONDS)  # a reply never waits long on a client that does not read
        try:
            if op == "status":
                channel.send(self.status())
            elif op == "stop":
                channel.send({"stopping": True, "pid": os.getpid(), "running": len(self.workers)})
                self._stop()
            else:
                channel.send({"error": f"unknown request {op!r}"})
        except OSError:
            pass
        conn.close()

    def _forget(self, pending: "_Pending") -> None:
        self.pending.pop(pending.conn.fileno(), None)
        try:
            self.selector.unregister(pending.conn)
        except (KeyError, ValueError):
            pass

    def _drop(self, pending: "_Pending") -> None:
        self._forget(pending)
        for fd in pending.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        pending.conn.close()

    def _expire_pending(self) -> None:
        now = time.monotonic()
        for pending in [p for p in self.pending.values() if p.deadline <= now]:
            self._drop(pending)

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "socket": str(self.path),
            "python": sys.executable,
            "started": self.started.isoformat(),
            "served": self.served,
            "running": len(self.workers),
            "idle_timeout": self.idle_timeout,
            "stale": sorted(changed_files(self.loaded))[:5],
            **self.info,
        }

    def _fork(self, channel: Channel, request: dict[str, Any], fds: list[int]) -> None:
        try:
            pid = os.fork()
        except OSError as exc:  # no process to spare: the client runs the command itself
            for fd in fds:
                os.close(fd)
            try:
                channel.send({"error": f"cannot fork a worker: {exc}"})
            except OSError:
                pass
            channel.sock.close()
            return
        if pid == 0:  # the worker
            self.selector.close()
            self.listener.close()
            self.wake_r.close()
            self.wake_w.close()
            for other in self.workers.values():
                other.sock.close()
            for waiting in self.pending.values():
                waiting.conn.close()
                for fd in waiting.fds:
                    os.close(fd)
            channel.sock.close()
            _work(request, fds)  # never returns
        try:
            os.setpgid(pid, pid)  # as the worker does: no window where a signal finds no group
        except OSError:
            pass  # the worker already did it, or has already exited
        for fd in fds:
            os.close(fd)
        self.served += 1
        self.workers[pid] = channel
        try:
            channel.send({"pid": pid})
        except OSError:
            pass  # the client already left: noticed by the selector below
        # the client sends nothing more: the connection becomes readable only when it closes
        self.selector.register(channel.sock, selectors.EVENT_READ, pid)

    def _client_left(self, pid: int) -> None:
        """``interop run`` went away (killed, or its terminal closed): so does its run, as it
        would have if it had run in its own process."""
        channel = self.workers.get(pid)
        if channel is None:
            return
        try:
            still_there = channel.sock.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            still_there = False
        self.selector.unregister(channel.sock)
        if not still_there:
            # as Airflow's supervisor does: SIGTERM (the task's on_kill runs), SIGKILL after a grace
            _signal_group(pid, signal.SIGTERM)
            self.kill_at[pid] = time.monotonic() + KILL_GRACE_SECONDS

    def _kill_overdue(self) -> None:
        now = time.monotonic()
        for pid, deadline in list(self.kill_at.items()):
            if pid not in self.workers:
                del self.kill_at[pid]
            elif now >= deadline:
                _signal_group(pid, signal.SIGKILL)
                del self.kill_at[pid]

    def _reap(self) -> None:
        while self.workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            channel = self.workers.pop(pid, None)
            self.last_activity = time.monotonic()
            if channel is None:
                continue
            try:
                self.selector.unregister(channel.sock)
            except (KeyError, ValueError):
                pass  # already unregistered when its client left
            code = os.waitstatus_to_exitcode(status)
            try:
                channel.send({"exit": code if code >= 0 else 128 - code})
            except OSError:
                pass
            channel.sock.close()

    def _unlink(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def _close(self) -> None:
        signal.set_wakeup_fd(-1)
        if self.listener.fileno() >= 0:
            self.listener.close()
            self._unlink()
        self.selector.close()


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _same_user(conn: socket.socket) -> bool:
    """Only the daemon's own user may use it (the socket's directory is private too)."""
    try:
        uid = peer_uid(conn)
    except OSError:
        return False
    return uid is None or uid == os.getuid()


def _work(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked worker: become the client's process, run the command, exit with its code."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setpgid(0, 0)  # the client signals the worker's whole group (its subprocesses too)
        from interop.supervise import die_with_parent

        die_with_parent(signal.SIGTERM)  # a daemon killed with SIGKILL takes its runs with it
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            if fd > 2:
                os.close(fd)
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(line_buffering=stream.isatty())
        os.umask(int(request.get("umask", 0o022)))
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        sys.path[:] = request["sys_path"]
        sys.argv[:] = request["argv"]
        _fresh_database_connections()
        module_name, func_name = COMMANDS[request["command"]].split(":")
        import importlib

        code = int(getattr(importlib.import_module(module_name), func_name)(**request["arguments"]) or 0)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # noqa: BLE001 - report any failure to the client, then exit
        traceback.print_exc()
        code = 1
    finally:
        _exit_like_an_interpreter(code)


def _exit_like_an_interpreter(code: int) -> None:
    """What a normal interpreter exit does, without unwinding into the daemon's own frames: wait
    for non-daemon threads, run ``atexit`` handlers (Prefect stops its temporary server there),
    flush the streams; then leave."""
    try:
        # the interpreter's own first step at exit: threading's atexit callbacks (executors
        # drain there), then non-daemon threads are joined
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()
        else:  # pragma: no cover - other Pythons
            for thread in threading.enumerate():
                if thread is not threading.current_thread() and not thread.daemon:
                    thread.join()
        import atexit

        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        code = code or 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(code)


def _fresh_database_connections() -> None:
    """Connections pooled before the fork must not be shared with it (SQLAlchemy's advice)."""
    settings = sys.modules.get("airflow.settings")
    engine = getattr(settings, "engine", None) if settings else None
    if engine is not None:
        engine.dispose(close=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m interop.daemon.server")
    parser.add_argument("--socket", required=True, type=Path)
    parser.add_argument("--idle-timeout", type=float, default=900.0)
    parser.add_argument("--no-warmup", action="store_true")
    args = parser.parse_args(argv)
    info = preload(warmup=not args.no_warmup)
    print(f"interop daemon {os.getpid()}: preloaded Airflow {info['airflow']} in {info['preload_seconds']} s", flush=True)
    if info["threads"]:  # forking with other threads alive risks a lock held forever in a worker
        print(f"warning: threads alive after preloading: {info['threads']}", flush=True)
    daemon = _Daemon(args.socket, args.idle_timeout, info)
    print(f"interop daemon {os.getpid()}: listening on {args.socket}", flush=True)
    daemon.serve()
    print(f"interop daemon {os.getpid()}: stopped after {daemon.served} run(s)", flush=True)


if __name__ == "__main__":
    main()
