"""Serve the supervisor protocol to a task's Python subprocess (virtualenv / external Python).

``ExternalPythonOperator``, ``PythonVirtualenvOperator`` and their ``@task.external_python`` /
``@task.virtualenv`` / branch variants run the callable in another interpreter. When Airflow is
installed there, Airflow's script reconnects to the supervisor (``reinit_supervisor_comms``)
through the socket whose file descriptor is in ``__AIRFLOW_SUPERVISOR_FD`` (fd 0 by default, the
worker's stdin), so the callable can use Variables, Connections and XComs.

In-process there is no such socket: :class:`SupervisorBridge` opens a socket pair, lets the
subprocess inherit one end, and answers the length-prefixed msgpack frames arriving on the other
end with the run's :class:`airflow_interop.comms.InMemorySupervisor`, using Airflow's own frame classes.
The subprocess's log stream (``ResendLoggingFD``) is read into the task's log.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from typing import Any

__all__ = ["SupervisorBridge", "needs_bridge"]

_ENV = "__AIRFLOW_SUPERVISOR_FD"
_ENV_LOCK = threading.Lock()


def needs_bridge(task: Any) -> bool:
    """True for operators that run their callable in another Python interpreter."""
    cls = getattr(task, "operator_class", None) if getattr(task, "is_mapped", False) else type(task)
    if not isinstance(cls, type):
        return False
    return "_BasePythonVirtualenvOperator" in {c.__name__ for c in cls.__mro__}


class SupervisorBridge:
    """A socket the task's subprocesses can use as their supervisor connection.

    Use as a context manager around the task's execution; sets ``__AIRFLOW_SUPERVISOR_FD`` for
    the block (subprocesses inherit it with ``close_fds=False``, as Airflow starts them).
    """

    def __init__(self, supervisor: Any, log_sink: Any = None) -> None:
        self.supervisor = supervisor
        self.log_sink = log_sink
        self._server, self._client = socket.socketpair()
        os.set_inheritable(self._client.fileno(), True)
        self._thread = threading.Thread(target=self._serve, name="interop-supervisor-bridge", daemon=True)
        self._previous_env: str | None = None

    def __enter__(self) -> "SupervisorBridge":
        with _ENV_LOCK:
            self._previous_env = os.environ.get(_ENV)
            os.environ[_ENV] = str(self._client.fileno())
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        with _ENV_LOCK:
            if self._previous_env is None:
                os.environ.pop(_ENV, None)
            else:
                os.environ[_ENV] = self._previous_env
        try:
            self._client.close()
        finally:
            try:
                self._server.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._server.close()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ serving
    def _recv_exact(self, n: int) -> bytes | None:
        buf = bytearray()
        while len(buf) < n:
            try:
                chunk = self._server.recv(n - len(buf))
            except OSError:
                return None
            if not chunk:
                return None
            buf.extend(chunk)
        return bytes(buf)

    def _serve(self) -> None:
        import msgspec
        from pydantic import TypeAdapter

        from airflow.sdk.execution_time.comms import (
            ErrorResponse,
            ResendLoggingFD,
            SentFDs,
            ToSupervisor,
            _RequestFrame,
            _ResponseFrame,
        )
        from airflow.sdk.exceptions import ErrorType

        decoder = msgspec.msgpack.Decoder(_RequestFrame)
        requests = TypeAdapter(ToSupervisor)
        while True:
            header = self._recv_exact(4)
            if header is None:
                return
            body = self._recv_exact(int.from_bytes(header, "big"))
            if body is None:
                return
            frame = decoder.decode(body)
            try:
                msg = requests.validate_python(frame.body)
                if isinstance(msg, ResendLoggingFD):
                    self._send_log_fd(frame.id, SentFDs(fds=[]), _ResponseFrame)
                    continue
                resp = self.supervisor.send(msg)
                out = _ResponseFrame(id=frame.id, body=resp.model_dump() if resp is not None else None)
            except Exception as exc:  # noqa: BLE001 - reported to the subprocess, as Airflow does
                err = ErrorResponse(
                    error=ErrorType.API_SERVER_ERROR,
                    detail={"status_code": None, "message": str(exc), "exception_type": type(exc).__name__},
                )
                out = _ResponseFrame(id=frame.id, error=err.model_dump())
            try:
                self._server.sendall(out.as_bytes())
            except OSError:
                return

    def _send_log_fd(self, request_id: int, sent: Any, frame_cls: Any) -> None:
        read_end, write_end = socket.socketpair()
        frame = frame_cls(id=request_id, body=sent.model_dump())
        socket.send_fds(self._server, [bytes(frame.as_bytes())], [write_end.fileno()])
        write_end.close()
        threading.Thread(target=self._drain_logs, args=(read_end,), daemon=True).start()

    def _drain_logs(self, sock: socket.socket) -> None:
        with sock, sock.makefile("rb") as stream:
            for raw in stream:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                try:
                    record = json.loads(line)
                    line = f"[{record.get('level', 'info')}] {record.get('event', '')} [{record.get('logger', 'subprocess')}]"
                except (ValueError, AttributeError):
                    pass
                if self.log_sink is not None:
                    self.log_sink(line + "\n")
