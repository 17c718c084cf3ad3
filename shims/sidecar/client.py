"""The parent side of the sidecar: start the worker in another interpreter and talk JSON to it.

Example:
    >>> with Sidecar(".venv-airflow2/bin/python") as sidecar:  # doctest: +SKIP
    ...     result = sidecar.run("dags/legacy.py", logical_date="2024-01-15")
    ...     result.airflow_version, result.states()
    ('2.11.2', {'start': 'success', ...})
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from airflow_interop.runner import DagLoadError, DagRunResult, TaskInstanceResult, TaskResult

__all__ = ["Sidecar", "SidecarError", "SidecarRunResult", "WORKER", "run_dag_sidecar", "default_cache_dir"]

#: the script the other interpreter runs (standard library and Airflow only)
WORKER = Path(__file__).resolve().with_name("worker.py")


class SidecarError(RuntimeError):
    """The sidecar could not start, crashed, or a run failed outside any task.

    Attributes:
        kind: ``start``, ``load``, ``run``, ``request`` or ``crash``.
        stderr: the end of the worker's output (Airflow's logs).
    """

    def __init__(self, message: str, kind: str = "crash", stderr: str = "") -> None:
        self.kind = kind
        self.stderr = stderr
        super().__init__(message)


@dataclass
class SidecarRunResult(DagRunResult):
    """A :class:`~airflow_interop.runner.DagRunResult` from the sidecar, with which Airflow ran it.

    Attributes:
        airflow_version: the sidecar's Airflow version.
        python: the sidecar's interpreter.
        edges: the DAG's ``[upstream, downstream]`` task edges, as that Airflow loaded them.
        operators: each task's operator class name, as that Airflow loaded it.
    """

    airflow_version: str = ""
    python: str = ""
    edges: list[list[str]] = field(default_factory=list)
    operators: dict[str, str] = field(default_factory=dict)
    no_xcom_push: list[str] = field(default_factory=list)
    mode: str = "sidecar"

    def airflow_info(self) -> dict[str, Any]:
        """``{"version", "mode", "python"}`` for reports."""
        return {"version": self.airflow_version, "mode": self.mode, "python": self.python, "renames": []}


def _inside(path: str, folder: str) -> bool:
    """Is ``path`` ``folder`` or under it (both resolved)?"""
    try:
        return Path(path).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, ValueError):
        return False


def default_cache_dir() -> Path:
    """Where migrated template databases are kept between runs (``$INTEROP_SIDECAR_CACHE``)."""
    env = os.environ.get("INTEROP_SIDECAR_CACHE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "airflow-interop" / "sidecar"


def _parse_dt(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    return datetime.fromisoformat(str(value))


class Sidecar:
    """One worker process in another interpreter; several runs go through it one at a time.

    Args:
        airflow_python: the interpreter of the team's Airflow environment (Airflow 1.10/2.x).
        home: the worker's ``AIRFLOW_HOME`` (a new temporary folder, removed on close, by default).
        cache_dir: where the migrated template database is kept (:func:`default_cache_dir`).
        echo: copy the worker's Airflow logs to this process's stderr.
        start_timeout: seconds to wait for the worker to import Airflow and prepare its database.
    """

    def __init__(
        self,
        airflow_python: str | Path,
        *,
        home: str | Path | None = None,
        cache_dir: str | Path | None = None,
        echo: bool = False,
        start_timeout: float = 300.0,
    ) -> None:
        self.airflow_python = Path(airflow_python).absolute()  # not resolve(): a venv python is a symlink
        self._own_home = home is None
        self.home = Path(home) if home else Path(tempfile.mkdtemp(prefix="interop-sidecar-home-"))
        digest = hashlib.sha256(str(self.airflow_python.absolute()).encode()).hexdigest()[:12]
        self.template_dir = Path(cache_dir or default_cache_dir()) / digest
        self.echo = echo
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen | None = None
        self.info: dict[str, Any] = {}
        self._stderr: list[str] = []
        self._next_id = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "Sidecar":
        """Start the worker and wait until its Airflow is imported and its database ready.

        Raises:
            SidecarError: the interpreter is missing, has no Airflow 2, or the worker died.
        """
        if self.proc is not None:
            return self
        if not self.airflow_python.exists():
            raise SidecarError(f"--airflow-python {str(self.airflow_python)!r} does not exist", kind="start")
        # Airflow's settings (AIRFLOW__*) are the sidecar's own (its home, its database); the
        # team's connections and variables (AIRFLOW_CONN_*, AIRFLOW_VAR_*) are kept: shimmed
        # operators find them through Airflow's environment secrets backend
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        # the team's PYTHONPATH (its DAGs import their own modules: ``from lib import ...``) is
        # kept, less this interpreter's own folders (its packages would shadow Airflow 2's)
        kept_path = [p for p in env.pop("PYTHONPATH", "").split(os.pathsep) if p and not _inside(p, sys.prefix)]
        if kept_path:
            env["PYTHONPATH"] = os.pathsep.join(kept_path)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.home / "dags"),
                "INTEROP_SIDECAR_TEMPLATE": str(self.template_dir),
                "PYTHONWARNINGS": "ignore",
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.proc = subprocess.Popen(
            [str(self.airflow_python), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=str(self.home),
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        event = self._read_event(timeout=self.start_timeout)
        if event.get("event") != "ready":
            self.close()
            raise SidecarError(f"sidecar {self.airflow_python} did not start: {event.get('message', event)}", kind="start", stderr=self.stderr_tail())
        self.info = event
        return self

    def close(self) -> None:
        """Stop the worker and remove its temporary home."""
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                if proc.poll() is None and proc.stdin:
                    proc.stdin.write(json.dumps({"op": "exit"}) + "\n")
                    proc.stdin.flush()
                proc.wait(timeout=10)
            except Exception:  # noqa: BLE001 - stop it the hard way
                proc.kill()
                proc.wait()
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def _discard(self) -> None:
        """Forget a killed or dead worker (its home stays; the next request starts a new one)."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def __enter__(self) -> "Sidecar":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def airflow_version(self) -> str:
        return str(self.info.get("airflow_version", ""))

    # ------------------------------------------------------------------ pipe
    def _drain_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)
            if len(self._stderr) > 4000:
                del self._stderr[:1000]
            if self.echo:
                sys.stderr.write(line)

    def stderr_tail(self, lines: int = 40) -> str:
        return "".join(self._stderr[-lines:])

    def _read_event(self, timeout: float | None = None) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        box: list[str] = []
        if timeout is None:
            box.append(self.proc.stdout.readline())
        else:
            reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
            reader.start()
            reader.join(timeout)
            if reader.is_alive():
                self.proc.kill()
                raise SidecarError(f"sidecar {self.airflow_python} sent nothing for {timeout:.0f} s", stderr=self.stderr_tail())
        line = box[0] if box else ""
        if not line:
            code = self.proc.wait()
            raise SidecarError(f"sidecar {self.airflow_python} exited with code {code}", stderr=self.stderr_tail())
        return json.loads(line)

    def _request(self, payload: dict[str, Any]) -> int:
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        self._next_id += 1
        payload = {"id": self._next_id, **payload}
        self.proc.stdin.write(json.dumps(payload, default=str) + "\n")
        self.proc.stdin.flush()
        return self._next_id

    # ------------------------------------------------------------------ API
    def list_dags(self, dag_file: str | Path, *, with_files: bool = False) -> Any:
        """The DAG ids the sidecar's Airflow finds in a file (or a folder).

        Args:
            dag_file: a DAG file, or a folder (import errors are then returned, not raised).
            with_files: return ``{"files": {dag_id: file}, "import_errors": {file: error}}``.

        Raises:
            DagLoadError: the file fails to import there.
        """
        with self._lock:
            self._request({"op": "list", "dag_file": str(Path(dag_file).resolve())})
            event = self._read_event()
        if event.get("event") == "error":
            raise DagLoadError(event["message"], path=str(dag_file))
        if with_files:
            return {"files": event["files"], "import_errors": event["import_errors"]}
        if event.get("import_errors"):
            details = "\n".join(event["import_errors"].values())
            raise DagLoadError(f"DAG file {str(dag_file)!r} failed to import under Airflow {self.airflow_version}:\n{details}", path=str(dag_file))
        return list(event["dag_ids"])

    def run(
        self,
        dag_file: str | Path,
        dag_id: str | None = None,
        *,
        logical_date: Any = None,
        params: Mapping[str, Any] | None = None,
        conf: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        connections: Mapping[str, Mapping[str, Any]] | None = None,
        on_task_end: Callable[[dict[str, Any]], None] | None = None,
        timeout: float | None = None,
    ) -> SidecarRunResult:
        """Run one DAG run in the sidecar's Airflow and return its result.

        Args:
            dag_file: the DAG file (read by the sidecar's Airflow, unchanged).
            dag_id: which DAG of the file (needed when it defines several).
            logical_date: ISO date/datetime, ``date``/``datetime``, or ``None`` (now).
            params: DAG param values (passed as run conf, as ``airflow dags test -c`` does).
            conf: ``dag_run.conf``.
            variables: Airflow Variables for the run (``AIRFLOW_VAR_*`` in the sidecar).
            connections: Airflow Connections by id (``AIRFLOW_CONN_*`` as JSON).
            on_task_end: called with each ``task`` event as it arrives (task id, map index,
                state, try number, error).
            timeout: seconds the whole run may take; past it the worker is killed (the next
                request starts a new one) and :class:`SidecarError` is raised.

        Raises:
            DagLoadError: the file, or the DAG id in it, cannot be loaded there (the message
                names the file and lists the DAG ids found).
            SidecarError: the worker crashed or the run broke outside any task.
        """
        if hasattr(logical_date, "isoformat"):
            logical_date = logical_date.isoformat()
        with self._lock:
            rid = self._request(
                {
                    "op": "run",
                    "dag_file": str(Path(dag_file).resolve()),
                    "dag_id": dag_id,
                    "logical_date": logical_date,
                    "params": dict(params or {}),
                    "conf": dict(conf or {}),
                    "variables": dict(variables or {}),
                    "connections": {k: dict(v) for k, v in (connections or {}).items()},
                }
            )
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                remaining = None if deadline is None else max(deadline - time.monotonic(), 0.1)
                try:
                    event = self._read_event(timeout=remaining)
                except SidecarError as exc:
                    self._discard()
                    if deadline is not None and time.monotonic() >= deadline:
                        raise SidecarError(
                            f"sidecar run of {dag_id or dag_file} did not finish within {timeout:.0f} s; worker stopped",
                            kind="timeout",
                            stderr=exc.stderr,
                        ) from exc
                    raise
                if event.get("id") not in (rid, None):
                    continue
                kind = event.get("event")
                if kind == "task":
                    if on_task_end:
                        on_task_end(event)
                    continue
                if kind == "error":
                    if event.get("kind") == "load":
                        raise DagLoadError(event["message"], path=str(dag_file))
                    raise SidecarError(
                        f"sidecar run of {dag_id or dag_file} failed: {event['message']}\n{event.get('traceback', '')}",
                        kind=event.get("kind", "run"),
                        stderr=self.stderr_tail(),
                    )
                if kind == "result":
                    return self._result(event)

    def _result(self, event: dict[str, Any]) -> SidecarRunResult:
        by_task: dict[str, list[TaskInstanceResult]] = {}
        for inst in sorted(event["instances"], key=lambda i: (i["task_id"], i["map_index"])):
            by_task.setdefault(inst["task_id"], []).append(
                TaskInstanceResult(
                    task_id=inst["task_id"],
                    map_index=inst["map_index"],
                    state=inst["state"],
                    try_number=inst["try_number"] or 0,
                    xcoms=inst["xcoms"],
                    start_date=_parse_dt(inst.get("start_date")),
                    end_date=_parse_dt(inst.get("end_date")),
                    log=inst.get("log") or "",
                    error=inst.get("error"),
                )
            )
        tasks: dict[str, TaskResult] = {}
        for task in event["tasks"]:
            tid = task["task_id"]
            instances = by_task.get(tid, [])
            mapped = bool(task["mapped"]) or any(i.map_index >= 0 for i in instances)
            if mapped:
                instances = [i for i in instances if i.map_index >= 0]
            tasks[tid] = TaskResult(task_id=tid, state=_summary(instances, mapped), instances=instances, mapped=mapped)
        return SidecarRunResult(
            dag_id=event["dag_id"],
            run_id=event["run_id"],
            logical_date=datetime.fromisoformat(event["logical_date"]),
            state=event["state"],
            tasks=tasks,
            start_date=_parse_dt(event.get("started")),
            end_date=_parse_dt(event.get("ended")),
            airflow_version=self.airflow_version,
            python=str(self.info.get("python", self.airflow_python)),
            edges=event.get("edges", []),
            operators={t["task_id"]: t.get("operator", "") for t in event["tasks"]},
            no_xcom_push=[t["task_id"] for t in event["tasks"] if t.get("xcom_push") is False],
        )


def _summary(instances: list[TaskInstanceResult], mapped: bool) -> str:
    if not instances:
        return "skipped" if mapped else "none"
    states = [i.state for i in instances]
    if not mapped:
        return states[0]
    for word in ("failed", "upstream_failed"):
        if word in states:
            return word
    return "skipped" if all(s == "skipped" for s in states) else "success"


def run_dag_sidecar(
    dag_file: str | Path,
    dag_id: str | None = None,
    *,
    airflow_python: str | Path,
    echo: bool = False,
    **run_options: Any,
) -> SidecarRunResult:
    """Start a sidecar, run one DAG in it, stop it (see :meth:`Sidecar.run` for the options)."""
    with Sidecar(airflow_python, echo=echo) as sidecar:
        return sidecar.run(dag_file, dag_id, **run_options)
