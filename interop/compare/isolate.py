"""A worker process that compares one DAG file at a time, stopped when a file takes too long.

Used by :func:`interop.compare.engine.compare_paths` when a ``timeout`` is set (big batches,
DAGs that wait on sensors or external systems). The parent sends one JSON job per line on the
worker's stdin; the worker writes each file's comparisons to a result file and prints a marker
line. A file that runs past its time gets its DAGs reported as errors ("timed out after N s")
and the worker is killed (its whole process group) and restarted for the next file.

The worker talks to the same Prefect API as the parent (``PREFECT_API_URL`` is passed on).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from interop.compare.model import DagComparison

__all__ = ["Worker"]

MARKER = "@@interop-compare-done@@"
READY = "@@interop-compare-ready@@"
#: seconds a new worker may take to import Airflow and Prefect and reach the API (not counted
#: in a file's time limit)
STARTUP_SECONDS = 180.0


class Worker:
    """A restartable ``python -m interop.compare.isolate`` child process."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="interop-compare-worker-"))
        self.jobs = 0

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        from prefect.settings import PREFECT_API_URL

        url = PREFECT_API_URL.value()
        if not url:
            # ephemeral mode: share this process's local server rather than start one per worker
            from prefect.server.api.server import SubprocessASGIServer

            server = SubprocessASGIServer()
            server.start()
            url = server.api_url
        env["PREFECT_API_URL"] = url
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
            if not self._wait_for(READY, STARTUP_SECONDS):
                self._kill()
                raise RuntimeError(f"the compare worker did not start in {STARTUP_SECONDS:g} s (log: {self.folder / 'worker.log'})")
        return self.proc

    def _wait_for(self, marker: str, seconds: float) -> bool:
        """Read the worker's stdout until ``marker`` (True) or time/EOF (False)."""
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + seconds
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(timeout=left):
                    return False
                line = self.proc.stdout.readline()
                if not line:
                    return False
                if line.strip() == marker:
                    return True
        finally:
            sel.close()

    def compare_file(self, path: Path, *, timeout: float, **kwargs: Any) -> list[DagComparison]:
        """Compare one file in the worker; errors (timeout, crash) become error comparisons."""
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
        done = self._wait_for(MARKER, timeout)
        got = _read(result_file)
        if done:
            return got
        reason = (f"timed out after {timeout:g} s (the worker was stopped)" if proc.poll() is None
                  else f"the worker process died (exit code {proc.returncode})")
        self._kill()
        return got + _pending(path, got, reason)

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
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        with open(job["result"], "w", encoding="utf-8") as fh:

            def record(c: DagComparison) -> None:
                fh.write(c.model_dump_json() + "\n")
                fh.flush()

            try:
                compare_file(job["path"], on_dag=record, **job["kwargs"])
            except Exception as exc:  # noqa: BLE001
                record(DagComparison(dag_id=Path(job["path"]).stem, file=job["path"], error=f"internal error: {type(exc).__name__}: {exc}"))
        out.write(MARKER + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
