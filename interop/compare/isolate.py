"""Worker processes that compare one DAG file at a time, each DAG under a time limit.

Used by :func:`interop.compare.engine.compare_paths` when a ``timeout`` or several ``jobs`` are
set (big batches, DAGs that wait on sensors or external systems). The parent sends one JSON job
per line on a worker's stdin; the worker writes each DAG's comparison to a result file as soon
as it is done, and prints marker lines on a private copy of its stdout:

* ``@@interop-compare-progress@@ {"dag_id": ..., "doing": ...}`` whenever it starts a DAG, a
  task of the Airflow side, a retry wait or the flow run (what the reason of a time-out names);
* ``@@interop-compare-done@@`` when the file is finished.

The time limit applies to each DAG (the file's conversion and loading count in its first DAG's
time): it starts again when the worker starts the next DAG. A DAG that runs past its time is
reported as an error naming what it was doing ("timed out after 30 s (the worker was stopped)
while the Airflow side ran task 'wait_for_file' (FileSensor) ..."); the worker is killed (its
whole process group) and a new one compares the file's other DAGs, without that one.

Every worker talks to the same Prefect API as the parent (``PREFECT_API_URL`` is passed on; in
ephemeral mode one local server is started for all of them).
"""

from __future__ import annotations

import json
import os
import queue
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from interop.compare.engine import FLOW_RUNS
from interop.compare.model import DagComparison

__all__ = ["Worker", "run_batch"]

MARKER = "@@interop-compare-done@@"
READY = "@@interop-compare-ready@@"
PROGRESS = "@@interop-compare-progress@@"
#: seconds a new worker may take to import Airflow and Prefect and reach the API (not counted
#: in a DAG's time limit)
STARTUP_SECONDS = 180.0

_SERVER_LOCK = threading.Lock()
_SHARED_API_URL: str | None = None


def _api_url() -> str:
    """The Prefect API every worker uses: the configured one, or one local server for all."""
    global _SHARED_API_URL
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if url:
        return url
    with _SERVER_LOCK:
        if _SHARED_API_URL is None:
            # ephemeral mode: share one local server rather than start one per worker
            from prefect.server.api.server import SubprocessASGIServer

            from interop.supervise import quiet_temporary_server

            quiet_temporary_server()

            server = SubprocessASGIServer()
            server.start()
            _SHARED_API_URL = server.api_url
        return _SHARED_API_URL


class Worker:
    """A restartable ``python -m interop.compare.isolate`` child process."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        # in the run's folder (removed with it) when there is one
        self.folder = Path(tempfile.mkdtemp(prefix="interop-compare-worker-", dir=os.environ.get("INTEROP_RUN_DIR") or None))
        self.jobs = 0
        #: bytes read from the worker's stdout that do not end a line yet
        self._pending_output = b""

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PREFECT_API_URL"] = _api_url()
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def _start(self) -> subprocess.Popen:
        """The running worker, or a new one once it says it is ready.

        Raises:
            RuntimeError: a new worker did not get ready in :data:`STARTUP_SECONDS`.
        """
        if self.proc is None or self.proc.poll() is not None:
            self.log = open(self.folder / "worker.log", "a", encoding="utf-8")  # noqa: SIM115
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "interop.compare.isolate"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                env=self._env(), start_new_session=True, bufsize=0,
            )
            self._pending_output = b""
            if self._read_until(READY, lambda: time.monotonic() + STARTUP_SECONDS) is not True:
                self._kill()
                raise RuntimeError(f"the compare worker did not start in {STARTUP_SECONDS:g} s (log: {self.folder / 'worker.log'})")
        return self.proc

    def _read_until(self, marker: str, deadline: Callable[[], float], on_progress: Callable[[dict], None] | None = None) -> bool | None:
        """Read the worker's stdout until ``marker`` (True), EOF (False) or the deadline (None).

        ``deadline()`` is asked again after every progress line (a new DAG gets a new limit).
        The pipe is read unbuffered (``os.read``): lines already read never wait behind ``select``.
        """
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        try:
            while True:
                while b"\n" in self._pending_output:
                    raw, self._pending_output = self._pending_output.split(b"\n", 1)
                    line = raw.decode("utf-8", errors="replace").strip()
                    if line == marker:
                        return True
                    if line.startswith(PROGRESS) and on_progress is not None:
                        try:
                            on_progress(json.loads(line[len(PROGRESS):]))
                        except ValueError:
                            pass
                left = deadline() - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    return False
                self._pending_output += chunk
        finally:
            sel.close()

    def compare_file(
        self,
        path: Path,
        *,
        timeout: float | None,
        dag_timeouts: Mapping[str, float] | None = None,
        **kwargs: Any,
    ) -> list[DagComparison]:
        """Compare one file in the worker; errors (time-out, crash) become error comparisons.

        A DAG stopped (past its time, or the worker died on it) is an error; the file's other
        DAGs are then compared in a new worker, without it.

        Args:
            timeout: seconds each DAG may take (``None``: no limit).
            dag_timeouts: seconds for particular DAG ids, instead of ``timeout``.
        """
        results: list[DagComparison] = []
        while True:
            got, stopped_on, reason = self._job(path, timeout, dag_timeouts, [c.dag_id for c in results], kwargs)
            results += got
            if reason is None:
                return results
            if stopped_on is None or stopped_on in {c.dag_id for c in results}:
                # stopped before any DAG started (conversion, loading): nothing to resume
                return results + _pending(path, results, reason)
            results.append(DagComparison(dag_id=stopped_on, file=str(path), equivalent=False, error=reason))

    def _job(
        self, path: Path, timeout: float | None, dag_timeouts: Mapping[str, float] | None, skip: list[str], kwargs: dict[str, Any],
    ) -> tuple[list[DagComparison], str | None, str | None]:
        """One run of ``compare_file`` in the worker, without the DAGs in ``skip``.

        Returns:
            ``(the comparisons written, the DAG it was stopped on, why)``; ``why`` is None when
            the file was finished.
        """
        self.jobs += 1
        result_file = self.folder / f"job-{self.jobs}.jsonl"
        try:
            proc = self._start()
        except RuntimeError as exc:
            return [], None, str(exc)
        job = {"path": str(path), "result": str(result_file), "kwargs": {**kwargs, "skip_dags": skip}}
        assert proc.stdin is not None
        proc.stdin.write((json.dumps(job, default=str) + "\n").encode("utf-8"))
        proc.stdin.flush()
        limits = dict(dag_timeouts or {})
        state: dict[str, Any] = {"dag_id": None, "doing": "converting and loading the file", "limit": timeout,
                                 "deadline": time.monotonic() + timeout if timeout is not None else float("inf")}

        def progress(event: dict) -> None:
            dag_id = event.get("dag_id")
            if dag_id and dag_id != state["dag_id"]:
                state["dag_id"] = dag_id
                state["limit"] = limits.get(dag_id, timeout)
                state["deadline"] = time.monotonic() + state["limit"] if state["limit"] is not None else float("inf")
            state["doing"] = event.get("doing") or state["doing"]

        done = self._read_until(MARKER, lambda: state["deadline"], progress)
        got = _read(result_file)
        if done:
            return got, None, None
        if done is None:
            where = f" on DAG {state['dag_id']!r}" if state["dag_id"] else ""
            doing = state["doing"]
            if state["dag_id"] and doing == FLOW_RUNS:
                doing += _running_task_runs(state["dag_id"])
            reason = f"timed out after {state['limit']:g} s{where} (the worker was stopped) while {doing}"
        else:
            reason = f"the worker process died (exit code {proc.poll()}) while {state['doing']}"
        self._kill()
        return got, state["dag_id"], reason

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc = None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001
                self._kill()
        self.proc = None


def _running_task_runs(flow_name: str) -> str:
    """`` (task runs still running: 'a', 'b')`` in the newest flow run named ``flow_name``."""
    try:
        from prefect import get_client
        from prefect.client.schemas.filters import (
            FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId, TaskRunFilter, TaskRunFilterState,
            TaskRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.client.schemas.sorting import FlowRunSort

        from interop.compare.graph import run_label

        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
                sort=FlowRunSort.START_TIME_DESC, limit=1,
            )
            if not runs:
                return ""
            tasks = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[runs[0].id])),
                task_run_filter=TaskRunFilter(state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.RUNNING]), name=None)),
            )
    except Exception:  # noqa: BLE001 - the reason stays without the names
        return ""
    names = sorted({run_label(t.name) for t in tasks})
    return f" (task runs still running: {', '.join(map(repr, names))})" if names else ""


def run_batch(
    files: Iterable[Path],
    *,
    jobs: int = 1,
    timeout: float | None = None,
    dag_timeouts: Mapping[str, float] | None = None,
    on_file: Callable[[Path, list[DagComparison]], None] | None = None,
    **kwargs: Any,
) -> list[DagComparison]:
    """Compare ``files`` in ``jobs`` worker processes side by side; results in the files' order.

    ``on_file`` is called (from one thread at a time) as each file finishes.
    """
    files = list(files)
    todo: queue.Queue[tuple[int, Path]] = queue.Queue()
    # files with many DAGs first, so that the last ones to finish are short ones
    for item in sorted(enumerate(files), key=lambda item: -_dag_count(item[1])):
        todo.put(item)
    results: dict[int, list[DagComparison]] = {}
    lock = threading.Lock()

    def serve() -> None:
        worker = Worker()
        try:
            while True:
                try:
                    index, path = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    got = worker.compare_file(path, timeout=timeout, dag_timeouts=dag_timeouts, **kwargs)
                except Exception as exc:  # noqa: BLE001 - one file never stops the batch
                    got = _pending(path, [], f"internal error: {type(exc).__name__}: {exc}")
                with lock:
                    results[index] = got
                    if on_file is not None:
                        on_file(path, got)
        finally:
            worker.close()

    threads = [threading.Thread(target=serve, name=f"interop-compare-{i}", daemon=True) for i in range(max(1, min(jobs, len(files))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [c for i in range(len(files)) for c in results.get(i, [])]


def _dag_count(path: Path) -> int:
    """About how many DAGs a file defines (``DAG(``, ``@dag``, ``@asset``), for the order of work."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    return len(re.findall(r"\bDAG\(|@dag\b|@asset\b", text))


def _read(result_file: Path) -> list[DagComparison]:
    if not result_file.exists():
        return []
    out = []
    for line in result_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(DagComparison.model_validate_json(line))
    return out


def _pending(path: Path, done: list[DagComparison], reason: str) -> list[DagComparison]:
    """Error entries for the DAGs of ``path`` that have no result (names from the static converter)."""
    try:
        from converters import convert_file

        ids = [d["dag_id"] for d in convert_file(str(path)).report().get("dags", []) if d.get("dag_id")]
    except Exception:  # noqa: BLE001
        ids = []
    finished = {c.dag_id for c in done}
    ids = [d for d in ids if d not in finished] or ([] if done else [path.stem])
    return [DagComparison(dag_id=d, file=str(path), equivalent=False, error=reason) for d in ids]


def _serve() -> int:
    """The worker loop: one JSON job per stdin line."""
    from interop.compare.engine import compare_file

    # pay for Airflow, Prefect and the API connection before the first file's clock starts
    import airflow.sdk  # noqa: F401
    from prefect import get_client

    with get_client(sync_client=True) as client:
        client.api_healthcheck()
    # DAG code and its subprocesses may print: keep a private copy of stdout for the markers
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    out.write(READY + "\n")
    out.flush()

    def progress(dag_id: str | None, doing: str) -> None:
        out.write(PROGRESS + json.dumps({"dag_id": dag_id, "doing": doing}) + "\n")
        out.flush()

    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        with open(job["result"], "w", encoding="utf-8") as fh:

            def record(c: DagComparison) -> None:
                fh.write(c.model_dump_json() + "\n")
                fh.flush()

            try:
                compare_file(job["path"], on_dag=record, on_progress=progress, **job["kwargs"])
            except Exception as exc:  # noqa: BLE001
                record(DagComparison(dag_id=Path(job["path"]).stem, file=job["path"], error=f"internal error: {type(exc).__name__}: {exc}"))
        out.write(MARKER + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
