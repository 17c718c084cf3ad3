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
while the Airflow side ran task 'wait_for_file' (FileSensor) ..."); the file's other DAGs
without a result are reported as not run, and the worker is killed (its whole process group)
and restarted for the next file.

Every worker talks to the same Prefect API as the parent (``PREFECT_API_URL`` is passed on; in
ephemeral mode one local server is started for all of them).
"""

from __future__ import annotations

import json
import os
import queue
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

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

            server = SubprocessASGIServer()
            server.start()
            _SHARED_API_URL = server.api_url
        return _SHARED_API_URL


class Worker:
    """A restartable ``python -m interop.compare.isolate`` child process."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="interop-compare-worker-"))
        self.jobs = 0

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
                text=True, env=self._env(), start_new_session=True, bufsize=1,
            )
            if self._read_until(READY, lambda: time.monotonic() + STARTUP_SECONDS) is not True:
                self._kill()
                raise RuntimeError(f"the compare worker did not start in {STARTUP_SECONDS:g} s (log: {self.folder / 'worker.log'})")
        return self.proc

    def _read_until(self, marker: str, deadline: Callable[[], float], on_progress: Callable[[dict], None] | None = None) -> bool | None:
        """Read the worker's stdout until ``marker`` (True), EOF (False) or the deadline (None).

        ``deadline()`` is asked again after every progress line (a new DAG gets a new limit).
        """
        assert self.proc is not None and self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while True:
                left = deadline() - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    return None
                line = self.proc.stdout.readline()
                if not line:
                    return False
                line = line.strip()
                if line == marker:
                    return True
                if line.startswith(PROGRESS) and on_progress is not None:
                    try:
                        on_progress(json.loads(line[len(PROGRESS):]))
                    except ValueError:
                        pass
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

        Args:
            timeout: seconds each DAG may take (``None``: no limit).
            dag_timeouts: seconds for particular DAG ids, instead of ``timeout``.
        """
        self.jobs += 1
        result_file = self.folder / f"job-{self.jobs}.jsonl"
        try:
            proc = self._start()
        except RuntimeError as exc:
            return _pending(path, [], str(exc))
        job = {"path": str(path), "result": str(result_file), "kwargs": kwargs}
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(job, default=str) + "\n")
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
            return got
        if done is None:
            where = f" on DAG {state['dag_id']!r}" if state["dag_id"] else ""
            reason = f"timed out after {state['limit']:g} s{where} (the worker was stopped) while {state['doing']}"
        else:
            reason = f"the worker process died (exit code {proc.poll()}) while {state['doing']}"
        self._kill()
        return got + _pending(path, got, reason, current=state["dag_id"])

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
    for item in enumerate(files):
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


def _read(result_file: Path) -> list[DagComparison]:
    if not result_file.exists():
        return []
    out = []
    for line in result_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(DagComparison.model_validate_json(line))
    return out


def _pending(path: Path, done: list[DagComparison], reason: str, current: str | None = None) -> list[DagComparison]:
    """Error entries for the DAGs of ``path`` that have no result (names from the static converter).

    The DAG that was running (``current``) gets ``reason``; the file's DAGs after it were not run.
    """
    try:
        from converters import convert_file

        ids = [d["dag_id"] for d in convert_file(str(path)).report().get("dags", []) if d.get("dag_id")]
    except Exception:  # noqa: BLE001
        ids = []
    finished = {c.dag_id for c in done}
    if current and current not in ids:
        ids.append(current)
    ids = [d for d in ids if d not in finished] or ([] if done else [current or path.stem])
    out = []
    for d in ids:
        why = reason if current is None or d == current else f"not run: the worker was stopped on DAG {current!r} of the same file ({reason})"
        out.append(DagComparison(dag_id=d, file=str(path), equivalent=False, error=why))
    return out


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
