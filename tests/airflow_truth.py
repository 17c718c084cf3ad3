"""Ground truth from real Airflow: run a DAG with ``airflow dags test`` and read back what happened.

The equivalence tests hold converted Prefect flows against what Airflow itself does with the
original DAG. This module produces that truth, never a hand-written expectation:

* **Airflow 3** (the project's ``.venv``) for DAGs that import under Airflow 3;
* **Airflow 2.11** (``.venv-airflow2``, created by ``.ci/run``) for 1.10/2.x DAGs that do not.
  Airflow 2 cannot share an environment with Prefect 3, hence the second interpreter.

For each version a temporary ``AIRFLOW_HOME`` (SQLite metadata DB) is created once per session,
``airflow db migrate`` runs once, then one worker process per DAGs folder runs the Airflow CLI's
own ``dags test DAG_ID DATE`` command for every requested DAG, one after another, in-process (so
Airflow is imported once, not once per DAG). After each run the worker reads the task states and
XComs from the metadata DB and the DAG's edges and operator classes from a ``DagBag``.

Results are cached for the session in a temporary folder, keyed by the Airflow version, the
DAG id, the logical date and the content hash of the DAGs folder (DAG file plus helper modules
and data). Set ``INTEROP_TRUTH_CACHE=/some/dir`` to keep the cache between sessions. The
session's folder (Airflow homes, logs) is removed at exit unless ``INTEROP_TRUTH_KEEP`` is set.

Example:
    >>> truth = dag_truth("sample_dags/diamond.py", "customer_diamond")  # doctest: +SKIP
    >>> truth["tasks"]["merge"]["state"], truth["edges"][0]  # doctest: +SKIP
    ('success', ['add_scores', 'merge'])

This file is also the worker script: ``python airflow_truth.py --worker JOBS.json OUT.json`` is
run by the Airflow interpreter, so it imports nothing but the standard library at module level.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

REPO = Path(__file__).resolve().parent.parent
AIRFLOW2_VENV = REPO / ".venv-airflow2"

#: Operator classes that do nothing; a converter removes them and keeps the edges through them.
EMPTY_OPERATORS = frozenset({"EmptyOperator", "DummyOperator"})

_HASHED_SUFFIXES = (".py", ".csv", ".json", ".yaml", ".yml", ".sql", ".txt", ".airflowignore")


class AirflowTruthError(RuntimeError):
    """Airflow could not produce a ground truth for a DAG (import error, failed run, no venv)."""


# ----------------------------------------------------------------------------- parent side
def airflow_python(airflow: str) -> Path:
    """The interpreter that has the requested Airflow major version installed.

    Args:
        airflow: ``"3"`` (the interpreter running the tests) or ``"2"`` (``.venv-airflow2``).

    Raises:
        AirflowTruthError: the version is unknown or its virtual environment is missing.
    """
    if airflow == "3":
        return Path(sys.executable)
    if airflow == "2":
        exe = AIRFLOW2_VENV / "bin" / "python"
        if not exe.exists():
            raise AirflowTruthError(
                f"Airflow 2 ground truth needs {AIRFLOW2_VENV} (created by .ci/run: "
                f"python3 -m venv .venv-airflow2 && .venv-airflow2/bin/pip install 'apache-airflow==2.11.*'); "
                f"{exe} does not exist"
            )
        return exe
    raise AirflowTruthError(f"unknown Airflow version {airflow!r}; expected '2' or '3'")


def folder_hash(folder: Path) -> str:
    """Content hash of every DAG, helper module and data file under ``folder``."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        if not path.name.endswith(_HASHED_SUFFIXES):
            continue
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


class TruthSession:
    """One set of Airflow homes and one result cache, shared by every request of a session.

    Args:
        root: folder for the Airflow homes, worker logs and the cache; a new temporary folder
            by default.
        cache_dir: where results are cached; ``$INTEROP_TRUTH_CACHE`` or ``root/cache``.
    """

    def __init__(self, root: Path | None = None, cache_dir: Path | None = None) -> None:
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="interop-airflow-truth-"))
            if not os.environ.get("INTEROP_TRUTH_KEEP"):
                atexit.register(shutil.rmtree, root, True)
        self.root = Path(root)
        env_cache = os.environ.get("INTEROP_TRUTH_CACHE")
        self.cache_dir = Path(cache_dir or env_cache or self.root / "cache")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._failed: dict[str, dict] = {}
        #: One entry per worker run: Airflow version, folder, number of DAGs, wall seconds, and
        #: the worker's own import and ``db migrate`` seconds.
        self.timings: list[dict[str, Any]] = []

    # -- cache
    def _key(self, airflow: str, dag_file: Path, dag_id: str, logical_date: str) -> str:
        raw = f"{airflow}|{dag_file.name}|{dag_id}|{logical_date}|{folder_hash(dag_file.parent)}"
        return hashlib.sha256(raw.encode()).hexdigest()[:24]

    def _cached(self, key: str) -> dict | None:
        path = self.cache_dir / f"{key}.json"
        if path.exists():
            return json.loads(path.read_text())
        return None

    # -- running
    def truths(self, requests: Iterable[Sequence[Any]]) -> list[dict]:
        """Ground truths for several DAGs, computed in as few Airflow processes as possible.

        Args:
            requests: ``(dag_file, dag_id, logical_date, airflow)`` tuples.

        Returns:
            One truth dict per request, in order (see :func:`dag_truth`).

        Raises:
            AirflowTruthError: a DAG failed to import or to run, or its worker crashed; the
                message names the DAG and file and shows the end of the worker's log.
        """
        reqs = [(Path(f).resolve(), d, str(ld), str(af)) for f, d, ld, af in requests]
        keys = [self._key(af, f, d, ld) for f, d, ld, af in reqs]
        groups: dict[tuple[str, Path], list[dict]] = {}
        for (dag_file, dag_id, logical_date, airflow), key in zip(reqs, keys):
            if self._cached(key) is not None:
                continue
            job = {"dag_file": str(dag_file), "dag_id": dag_id, "logical_date": logical_date, "key": key}
            group = groups.setdefault((airflow, dag_file.parent), [])
            if not any(j["key"] == key for j in group):
                group.append(job)

        errors: list[str] = []
        threads = [
            threading.Thread(target=self._run_group, args=(airflow, folder, jobs, errors))
            for (airflow, folder), jobs in groups.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise AirflowTruthError("\n\n".join(errors))

        results = []
        for (dag_file, dag_id, _, airflow), key in zip(reqs, keys):
            truth = self._failed.pop(key, None) or self._cached(key)
            if truth is None:  # pragma: no cover - _run_group reports every missing result
                raise AirflowTruthError(f"no ground truth produced for DAG {dag_id!r} in {dag_file}")
            if truth.get("error"):
                raise AirflowTruthError(
                    f"Airflow {airflow} could not run DAG {dag_id!r} from {dag_file}:\n{truth['error']}"
                )
            results.append(truth)
        return results

    def _home(self, airflow: str, folder: Path) -> Path:
        tag = hashlib.sha256(str(folder).encode()).hexdigest()[:8]
        home = self.root / f"airflow{airflow}-home-{tag}"
        home.mkdir(parents=True, exist_ok=True)
        return home

    def _run_group(self, airflow: str, folder: Path, jobs: list[dict], errors: list[str]) -> None:
        try:
            self._run_worker(airflow, folder, jobs, errors)
        except Exception as exc:  # noqa: BLE001 - a thread must report, not die silently
            with self._lock:
                errors.append(
                    f"Airflow {airflow} truth for {[job['dag_id'] for job in jobs]} in {folder} failed: "
                    f"{type(exc).__name__}: {exc}"
                )

    def _run_worker(self, airflow: str, folder: Path, jobs: list[dict], errors: list[str]) -> None:
        exe = airflow_python(airflow)
        home = self._home(airflow, folder)
        jobs_file = home / f"jobs-{os.getpid()}-{time.monotonic_ns()}.json"
        out_file = jobs_file.with_suffix(".out.json")
        log_file = jobs_file.with_suffix(".log")
        jobs_file.write_text(json.dumps(jobs))
        env = dict(os.environ)
        for name in list(env):
            if name.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")) or name in ("PYTHONPATH",):
                env.pop(name)
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
                "PYTHONWARNINGS": "ignore",
                "TZ": "UTC",
            }
        )
        started = time.perf_counter()
        with log_file.open("w") as log:
            proc = subprocess.run(
                [str(exe), str(Path(__file__).resolve()), "--worker", str(jobs_file), str(out_file)],
                env=env,
                cwd=str(home),
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=900,
            )
        elapsed = time.perf_counter() - started
        results = json.loads(out_file.read_text()) if out_file.exists() else {}
        worker = results.pop("_worker", {})
        with self._lock:
            self.timings.append(
                {"airflow": airflow, "folder": str(folder), "dags": len(jobs), "seconds": round(elapsed, 3), **worker}
            )
        missing = [job for job in jobs if job["key"] not in results]
        for key, truth in results.items():
            if truth.get("error"):  # failures are reported now, never cached
                with self._lock:
                    self._failed[key] = truth
                continue
            target = self.cache_dir / f"{key}.json"
            partial = target.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(truth, indent=1, sort_keys=True))
            os.replace(partial, target)  # atomic: a shared cache never shows half a file
        if proc.returncode != 0 or missing:
            tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-40:])
            with self._lock:
                errors.append(
                    f"Airflow {airflow} worker for {folder} exited with {proc.returncode}; "
                    f"no result for {[job['dag_id'] for job in missing]}. Log {log_file}, last lines:\n{tail}"
                )


_SESSION: TruthSession | None = None


def session() -> TruthSession:
    """The process-wide :class:`TruthSession` (created on first use)."""
    global _SESSION
    if _SESSION is None:
        _SESSION = TruthSession()
    return _SESSION


def dag_truths(requests: Iterable[Sequence[Any]]) -> list[dict]:
    """Batch form of :func:`dag_truth`: ``(dag_file, dag_id, logical_date, airflow)`` tuples."""
    return session().truths(requests)


def dag_truth(dag_file: str | Path, dag_id: str, logical_date: str = "2024-01-15", airflow: str = "3") -> dict:
    """What real Airflow does with one DAG run.

    Args:
        dag_file: the DAG file; its folder is used as Airflow's DAGs folder.
        dag_id: the DAG to run.
        logical_date: the run's logical date (``YYYY-MM-DD`` or ISO timestamp).
        airflow: ``"3"`` or ``"2"`` (Airflow 2.11 from ``.venv-airflow2``).

    Returns:
        ``{"dag_id", "logical_date", "run_id", "dag_run_state", "airflow_version",
        "tasks": {task_id: {"state", "xcoms": {key: value}, "try_number"}},
        "edges": [[up, down], ...], "task_operators": {task_id: operator class name}}``.
        Edges and operators cover every task of the DAG; ``tasks`` every task instance run.
    """
    return dag_truths([(dag_file, dag_id, logical_date, airflow)])[0]


def contracted_edges(edges: Iterable[Sequence[str]], removed: Iterable[str]) -> set[tuple[str, str]]:
    """The edges left when ``removed`` nodes are taken out and their neighbours joined.

    ``a -> empty -> b`` becomes ``a -> b``; chains of removed nodes contract transitively.
    """
    removed = set(removed)
    succ: dict[str, set[str]] = {}
    for up, down in edges:
        succ.setdefault(up, set()).add(down)

    def kept_successors(node: str, seen: set[str]) -> set[str]:
        out: set[str] = set()
        for nxt in succ.get(node, ()):
            if nxt in removed:
                if nxt not in seen:
                    seen.add(nxt)
                    out |= kept_successors(nxt, seen)
            else:
                out.add(nxt)
        return out

    nodes = {n for edge in edges for n in edge}
    return {(up, down) for up in nodes - removed for down in kept_successors(up, set())}


# ----------------------------------------------------------------------------- the sample corpus
# Which DAG lives in which sample file and which Airflow gives its truth; shared by
# test_samples_truth.py and test_samples_equivalence.py.
SAMPLE_DAGS = Path(__file__).resolve().parent.parent / "sample_dags"

#: The logical date every sample runs at (unless its start date moves with the calendar).
LOGICAL_DATE = "2024-01-15"


@dataclass(frozen=True)
class Sample:
    """One DAG of the corpus.

    Attributes:
        file: file name under ``sample_dags/``.
        dag_id: the DAG's id (also the converted flow's name).
        airflow: Airflow major version that gives its ground truth (``"2"``: does not import
            under Airflow 3).
        rolling_start: the DAG's ``start_date`` is ``days_ago(n)``, so Airflow runs nothing at
            a fixed past date; such a sample runs at yesterday's date (UTC) instead.
    """

    file: str
    dag_id: str
    airflow: str = "3"
    rolling_start: bool = False

    @property
    def path(self) -> Path:
        return SAMPLE_DAGS / self.file

    @property
    def id(self) -> str:
        return f"{Path(self.file).stem}::{self.dag_id}"

    @property
    def logical_date(self) -> str:
        if self.rolling_start:
            return (datetime.now(timezone.utc).date() - timedelta(days=1)).isoformat()
        return LOGICAL_DATE

    def request(self) -> tuple[Path, str, str, str]:
        """The ``(dag_file, dag_id, logical_date, airflow)`` tuple the truth harness takes."""
        return (self.path, self.dag_id, self.logical_date, self.airflow)


SAMPLES: list[Sample] = [
    Sample("etl_xcom.py", "etl_orders_xcom"),
    Sample("diamond.py", "customer_diamond"),
    Sample("legacy_provide_context.py", "legacy_sales_rollup", airflow="2", rolling_start=True),
    Sample("taskflow.py", "weather_taskflow"),
    Sample("fanout_loop.py", "regional_exports_fanout"),
    Sample("retries_timeouts.py", "billing_sync_retries"),
    Sample("provider_shimmed.py", "shipments_inhouse_operator"),
    Sample("dag_assign_style.py", "catalogue_mart_assign_style"),
    Sample("multi_dag.py", "inventory_snapshot"),
    Sample("multi_dag.py", "inventory_alerts"),
    Sample("empty_join.py", "attribution_empty_join"),
    Sample("xcomarg_output.py", "web_digest_xcomarg"),
    Sample("bash_templating.py", "market_data_bash"),
    Sample("taskflow_mixed.py", "ticket_triage_mixed"),
    Sample("branching.py", "warehouse_branching"),
    # Added by the compat work (1.10 and 2.x idioms); Airflow 3 imports them only via compat.
    Sample("legacy_reports_110.py", "legacy_reports_110", airflow="2", rolling_start=True),
    Sample("legacy_warehouse_2x.py", "legacy_warehouse_2x", airflow="2"),
]

def sample_truths() -> dict[str, dict]:
    """Ground truth of every sample in :data:`SAMPLES`, by :attr:`Sample.id` (one batch, cached)."""
    return {s.id: t for s, t in zip(SAMPLES, dag_truths([s.request() for s in SAMPLES]))}


#: Task pairs the DAG lets run side by side and that each take about a second: a conversion
#: that runs them one after the other (even without an edge between them) is caught here.
CONCURRENT_PAIRS: dict[str, list[tuple[str, str]]] = {
    "customer_diamond": [("add_segments", "add_scores")],
}


# ----------------------------------------------------------------------------- worker side
def _decode(raw: Any) -> Any:
    """An XCom value as stored in SQLite: JSON text (Airflow 3), JSON bytes (Airflow 2), or a number."""
    if raw is None:
        return None
    if isinstance(raw, (bytes, memoryview)):
        raw = bytes(raw).decode()
    if isinstance(raw, str):
        value = json.loads(raw)
    else:
        value = raw
    if isinstance(value, (dict, list)) and "__classname__" in json.dumps(value):
        try:  # Airflow's serde encoding (tuples, datetimes ...): decode as Airflow would
            from airflow.models.xcom import XCom

            return XCom.deserialize_value(type("Row", (), {"value": json.dumps(value)})())
        except Exception:  # noqa: BLE001 - keep the stored form
            return value
    return value


def _read_run(db: Path, dag_id: str) -> dict:
    """States and XComs of the latest run of ``dag_id`` from the SQLite metadata DB."""
    con = sqlite3.connect(str(db))
    try:
        row = con.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
        ).fetchone()
        if row is None:
            return {"run_id": None, "dag_run_state": None, "tasks": {}}
        run_id, run_state = row
        tasks: dict[str, dict] = {}
        for task_id, state, try_number, map_index in con.execute(
            "SELECT task_id, state, try_number, map_index FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (dag_id, run_id),
        ):
            if map_index not in (-1, None):
                task_id = f"{task_id}[{map_index}]"
            tasks[task_id] = {"state": state, "try_number": try_number, "xcoms": {}}
        for task_id, key, value, map_index in con.execute(
            "SELECT task_id, key, value, map_index FROM xcom WHERE dag_id = ? AND run_id = ?",
            (dag_id, run_id),
        ):
            if map_index not in (-1, None):
                task_id = f"{task_id}[{map_index}]"
            tasks.setdefault(task_id, {"state": None, "try_number": None, "xcoms": {}})
            tasks[task_id]["xcoms"][key] = _decode(value)
        return {"run_id": run_id, "dag_run_state": run_state, "tasks": tasks, "asset_events": _asset_events(con, dag_id, run_id)}
    finally:
        con.close()


def _asset_events(con: sqlite3.Connection, dag_id: str, run_id: str) -> list[list[str]]:
    """``[task_id, uri]`` of each asset (Airflow 2: dataset) event the run's tasks recorded."""
    for events, assets, key in (("asset_event", "asset", "asset_id"), ("dataset_event", "dataset", "dataset_id")):
        try:
            rows = con.execute(
                f"SELECT e.source_task_id, a.uri FROM {events} e JOIN {assets} a ON a.id = e.{key} "  # noqa: S608 - table names above
                "WHERE e.source_dag_id = ? AND e.source_run_id = ? ORDER BY e.id",
                (dag_id, run_id),
            ).fetchall()
        except sqlite3.OperationalError:  # not this Airflow's tables
            continue
        return [list(r) for r in rows]
    return []


def _dag_structure(dag_file: str, dag_id: str) -> dict:
    """Edges and operator class names of ``dag_id`` as Airflow's own DagBag loads it."""
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3
    except ImportError:
        from airflow.models.dagbag import DagBag  # Airflow 2
    import inspect

    kwargs: dict[str, Any] = {"dag_folder": dag_file}
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        kwargs["include_examples"] = False
    bag = DagBag(**kwargs)
    dag = bag.dags.get(dag_id)
    if dag is None:
        raise RuntimeError(
            f"DAG {dag_id!r} not found in {dag_file}; found {sorted(bag.dags)}; import errors: {bag.import_errors}"
        )
    edges = sorted([t.task_id, d] for t in dag.tasks for d in t.downstream_task_ids)
    operators = {t.task_id: type(t).__name__ for t in dag.tasks}
    return {"edges": edges, "task_operators": dict(sorted(operators.items()))}


def _worker(jobs_file: str, out_file: str) -> int:
    import traceback

    t0 = time.perf_counter()
    import airflow
    from airflow.cli.cli_parser import get_parser

    jobs = json.loads(Path(jobs_file).read_text())
    home = Path(os.environ["AIRFLOW_HOME"])
    db = home / "airflow.db"
    parser = get_parser()
    major = airflow.__version__.split(".")[0]

    t1 = time.perf_counter()
    marker = home / ".migrated"
    if not marker.exists():
        args = parser.parse_args(["db", "migrate"])
        args.func(args)
        marker.write_text(airflow.__version__)
    t2 = time.perf_counter()

    results: dict[str, dict] = {
        "_worker": {"import_seconds": round(t1 - t0, 3), "migrate_seconds": round(t2 - t1, 3)}
    }
    for job in jobs:
        dag_id, dag_file, logical_date = job["dag_id"], job["dag_file"], job["logical_date"]
        truth: dict[str, Any] = {
            "dag_id": dag_id,
            "dag_file": dag_file,
            "logical_date": logical_date,
            "airflow_version": airflow.__version__,
        }
        started = time.perf_counter()
        try:
            argv = ["dags", "test", dag_id, logical_date]
            argv += ["--dagfile-path", dag_file] if major == "3" else ["--subdir", dag_file]
            args = parser.parse_args(argv)
            try:
                args.func(args)
            except SystemExit as exc:  # the CLI exits non-zero on a failed run; states tell why
                truth["exit_code"] = exc.code
            truth.update(_read_run(db, dag_id))
            truth.update(_dag_structure(dag_file, dag_id))
            if not truth["tasks"]:
                truth["error"] = f"`airflow dags test {dag_id} {logical_date}` ran no task (run {truth['run_id']})"
        except Exception:  # noqa: BLE001 - reported to the parent, which raises with context
            truth["error"] = traceback.format_exc()
        truth["seconds"] = round(time.perf_counter() - started, 3)
        results[job["key"]] = truth
        Path(out_file).write_text(json.dumps(results, default=str))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        sys.exit(_worker(sys.argv[2], sys.argv[3]))
    print("usage: airflow_truth.py --worker JOBS.json OUT.json", file=sys.stderr)
    sys.exit(2)
