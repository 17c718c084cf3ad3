"""Per-task log text for in-process runs.

Airflow writes a task's log to a file through its supervisor. In-process, a task's output goes
to this process's standard streams; :class:`TaskLogCapture` collects what one task writes
(``print``, Airflow's structlog task logger, standard ``logging``) while still passing it on,
unless ``echo=False``. Capture is bound to the current context, so tasks running at once in
different threads each get their own text.
"""

from __future__ import annotations

import contextvars
import io
import logging
import sys
import threading
from typing import Any

__all__ = ["TaskLogCapture"]

_CAPTURE: contextvars.ContextVar["TaskLogCapture | None"] = contextvars.ContextVar(
    "interop_task_log", default=None
)
_LOCK = threading.Lock()
_INSTALLED = False


class _Tee(io.TextIOBase):
    """A stand-in for ``sys.stdout``/``sys.stderr`` that copies writes to the bound capture."""

    def __init__(self, original: Any) -> None:
        self._original = original

    def write(self, s: str) -> int:  # type: ignore[override]
        capture = _CAPTURE.get()
        if capture is not None:
            capture._parts.append(s)
            if not capture.echo:
                return len(s)
        return self._original.write(s)

    def flush(self) -> None:
        self._original.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._original, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self._original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._original, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class _Handler(logging.Handler):
    """Copies standard-logging records (that do not already go to our streams) to the capture."""

    def emit(self, record: logging.LogRecord) -> None:
        capture = _CAPTURE.get()
        if capture is None:
            return
        try:
            capture._parts.append(f"[{record.levelname.lower()}] {record.getMessage()} [{record.name}]\n")
        except Exception:  # noqa: BLE001 - logging must never break a task
            pass


def _install() -> None:
    global _INSTALLED
    with _LOCK:
        # Streams may have been swapped since (click's CliRunner, pytest's capture): re-wrap.
        if not isinstance(sys.stdout, _Tee):
            sys.stdout = _Tee(sys.stdout)  # type: ignore[assignment]
        if not isinstance(sys.stderr, _Tee):
            sys.stderr = _Tee(sys.stderr)  # type: ignore[assignment]
        if _INSTALLED:
            return
        root = logging.getLogger()
        # Only handlers that do not write to our streams need a copy.
        root.addHandler(_Handler())
        _INSTALLED = True


class TaskLogCapture:
    """Collect the log text of one task while it runs.

    Args:
        task_id: the task the text belongs to (used in the logger's name).
        echo: also pass the text to the real standard streams.

    Attributes:
        logger: a structlog logger to hand to Airflow's task runner.
        text: everything captured so far.
    """

    def __init__(self, task_id: str, echo: bool = True) -> None:
        self.task_id = task_id
        self.echo = echo
        self._parts: list[str] = []
        self._token: Any = None
        self.logger: Any = None

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def __enter__(self) -> "TaskLogCapture":
        import structlog

        _install()
        self._token = _CAPTURE.set(self)
        self.logger = structlog.get_logger("task", task_id=self.task_id)
        return self

    def __exit__(self, *exc: Any) -> None:
        _CAPTURE.reset(self._token)
