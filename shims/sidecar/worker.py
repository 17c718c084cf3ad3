"""The sidecar worker: runs Airflow DAGs inside the team's own Airflow interpreter.

Run by that interpreter as a script (``/path/to/airflow2/bin/python worker.py``); it imports
nothing but the standard library and Airflow, so it needs nothing of this project installed
there. It speaks JSON lines over a pipe:

* requests on stdin, one JSON object a line: ``{"id": 1, "op": "run", "dag_file": ...,
  "dag_id": ..., "logical_date": ..., "conf": {...}, "variables": {...}, "connections": {...}}``,
  ``{"id": 2, "op": "list", "dag_file": ...}`` or ``{"op": "exit"}``;
* events on stdout: ``ready`` (Airflow version, Python), then per request one ``task`` event per
  finished task instance (task id, map index, state, try number, XComs, log text, error) and a
  final ``result`` or ``error`` (kind ``load`` | ``run`` | ``request``, message, traceback).

Anything Airflow or the tasks print goes to stderr, never into the protocol stream.

The run itself is Airflow's own ``DAG.test()`` (the engine of ``airflow dags test``): tasks run
in this process in dependency order, with Airflow's trigger rules, retries, branching, mapping,
sensors and XCom. It needs a metadata database, so the worker uses a private SQLite database
under ``$AIRFLOW_HOME`` (set by the parent, never the team's own database), migrated once and
copied from ``$INTEROP_SIDECAR_TEMPLATE`` afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import io
import json
import logging
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

PROTOCOL_VERSION = 1


class _Proto:
    """The JSON-lines event stream (the original stdout)."""

    def __init__(self) -> None:
        self.stream = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
        os.dup2(2, 1)  # prints from Airflow and the tasks go to stderr from now on

    def send(self, event: str, **fields: Any) -> None:
        self.stream.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        self.stream.flush()


# --------------------------------------------------------------------------- database
def _prepare_db(version: str) -> float:
    """Copy the migrated template database into this home, migrating it once if needed."""
    home = Path(os.environ["AIRFLOW_HOME"])
    db = home / "airflow.db"
    if _has_tables(db):
        return 0.0
    started = time.perf_counter()
    template = os.environ.get("INTEROP_SIDECAR_TEMPLATE")
    template_db = Path(template) / f"airflow-{version}.db" if template else None
    if template_db is not None:
        template_db.parent.mkdir(parents=True, exist_ok=True)
        with open(template_db.parent / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if _has_tables(template_db):
                shutil.copyfile(template_db, db)
                return time.perf_counter() - started
            _migrate()
            shutil.copyfile(db, template_db)
    else:
        _migrate()
    return time.perf_counter() - started


def _has_tables(db: Path) -> bool:
    """Whether ``db`` is an Airflow metadata database (importing Airflow may create an empty file)."""
    import sqlite3

    if not db.exists():
        return False
    con = sqlite3.connect(str(db))
    try:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        con.close()
    return {"dag_run", "task_instance", "xcom"} <= tables


def _migrate() -> None:
    """``airflow db migrate``, run by this Airflow's own CLI code; checked before it is reused."""
    from airflow.cli.cli_parser import get_parser

    with contextlib.redirect_stdout(sys.stderr):
        args = get_parser().parse_args(["db", "migrate"])
        args.func(args)
    db = Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"
    if not _has_tables(db):
        raise RuntimeError(f"`airflow db migrate` left {db} without Airflow's tables")


# --------------------------------------------------------------------------- loading
def _dagbag(dag_file: str) -> Any:
    import inspect

    try:
        from airflow.models.dagbag import DagBag
    except ImportError:  # Airflow 3
        from airflow.dag_processing.dagbag import DagBag
    kwargs: dict[str, Any] = {"dag_folder": dag_file, "safe_mode": False}
    if "include_examples" in inspect.signature(DagBag.__init__).parameters:
        kwargs["include_examples"] = False
    with contextlib.redirect_stdout(sys.stderr):
        return DagBag(**kwargs)


class LoadError(Exception):
    pass


def _load(dag_file: str, dag_id: str | None) -> Any:
    if not Path(dag_file).is_file():
        raise LoadError(f"DAG file {dag_file!r} does not exist")
    bag = _dagbag(dag_file)
    if bag.import_errors:
        details = "\n".join(str(v) for v in bag.import_errors.values())
        raise LoadError(f"DAG file {dag_file!r} failed to import:\n{details}")
    found = sorted(bag.dags)
    if not found:
        raise LoadError(f"No Airflow DAG found in {dag_file!r}. Found DAGs: []")
    if dag_id is None:
        if len(found) > 1:
            raise LoadError(f"{dag_file!r} defines several DAGs; choose one with dag_id. Found DAGs: {found}")
        return bag.dags[found[0]]
    if dag_id not in bag.dags:
        raise LoadError(f"DAG with id {dag_id!r} not found in {dag_file!r}. Found DAGs: {found}")
    return bag.dags[dag_id]


# --------------------------------------------------------------------------- running
class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - a log line never breaks a task
            pass


class _Tee(io.TextIOBase):
    def __init__(self, *streams: Any) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            with contextlib.suppress(Exception):
                stream.flush()


def _xcoms(dag_id: str, run_id: str) -> dict[tuple[str, int], dict[str, Any]]:
    """The run's XComs as Airflow stored them: JSON values as such, others in Airflow's serde
    JSON form (``{"__classname__", "__version__", "__data__"}``), which crosses the pipe intact."""
    from airflow.models.xcom import XCom
    from airflow.utils.session import create_session

    out: dict[tuple[str, int], dict[str, Any]] = {}
    with create_session() as session:
        rows = session.query(XCom.task_id, XCom.map_index, XCom.key, XCom.value).filter(
            XCom.dag_id == dag_id, XCom.run_id == run_id
        )
        for task_id, map_index, key, raw in rows:
            try:
                if isinstance(raw, (bytes, bytearray, memoryview)):
                    raw = bytes(raw).decode("utf-8")
                value = json.loads(raw) if isinstance(raw, str) else raw
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:  # pickled XComs
                value = f"<XCom not stored as JSON: {type(exc).__name__}>"
            out.setdefault((task_id, map_index), {})[key] = value
    return out


def _is_mapped(task: Any) -> bool:
    try:
        from airflow.models.mappedoperator import MappedOperator
    except ImportError:  # pragma: no cover
        return False
    return isinstance(task, MappedOperator)


def _coerce_date(value: str | None) -> Any:
    from airflow.utils import timezone

    if not value:
        return timezone.utcnow()
    return timezone.parse(value)


@contextlib.contextmanager
def _environment(variables: dict[str, Any], connections: dict[str, Any]):
    """Variables and connections for one run, through Airflow's environment secrets backend."""
    added = {}
    for key, value in variables.items():
        added[f"AIRFLOW_VAR_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    for key, value in connections.items():
        added[f"AIRFLOW_CONN_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    old = {k: os.environ.get(k) for k in added}
    os.environ.update(added)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _run(proto: _Proto, req: dict[str, Any]) -> None:
    import airflow.models.dag as dag_module

    rid = req.get("id")
    try:
        dag = _load(req["dag_file"], req.get("dag_id"))
    except LoadError as exc:
        proto.send("error", id=rid, kind="load", message=str(exc), traceback="")
        return
    except Exception as exc:  # noqa: BLE001
        proto.send("error", id=rid, kind="load", message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return

    logs: dict[tuple[str, int], list[str]] = {}
    errors: dict[tuple[str, int], str] = {}
    # `dag.test()` in 2.x leaves start_date unset on its task instances: the first try's start
    starts: dict[tuple[str, int], str] = {}
    original = dag_module._run_task

    def run_task(*, ti: Any, **kwargs: Any) -> Any:
        key = (ti.task_id, ti.map_index)
        starts.setdefault(key, _dt.datetime.now(_dt.timezone.utc).isoformat())
        capture = _Capture()
        task_logger = logging.getLogger("airflow.task")
        task_logger.addHandler(capture)
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(_Tee(buffer, sys.stderr)):
                return original(ti=ti, **kwargs)
        except BaseException as exc:
            errors[key] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            task_logger.removeHandler(capture)
            logs.setdefault(key, []).append("".join(capture.lines) + buffer.getvalue())
            proto.send(
                "task",
                id=rid,
                task_id=ti.task_id,
                map_index=ti.map_index,
                state=str(getattr(ti.state, "value", ti.state)),
                try_number=ti.try_number,
                error=errors.get(key),
            )

    run_conf = {**(req.get("params") or {}), **(req.get("conf") or {})} or None
    started = time.time()
    dag_module._run_task = run_task
    try:
        with _environment(req.get("variables") or {}, req.get("connections") or {}):
            dag_run = dag.test(execution_date=_coerce_date(req.get("logical_date")), run_conf=run_conf)
    except Exception as exc:  # noqa: BLE001 - reported to the parent with the traceback
        proto.send("error", id=rid, kind="run", message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return
    finally:
        dag_module._run_task = original

    from airflow.utils.session import create_session

    xcoms = _xcoms(dag.dag_id, dag_run.run_id)
    instances = []
    with create_session() as session:
        for ti in dag_run.get_task_instances(session=session):
            key = (ti.task_id, ti.map_index)
            instances.append(
                {
                    "task_id": ti.task_id,
                    "map_index": ti.map_index,
                    "state": str(getattr(ti.state, "value", ti.state)) if ti.state is not None else "none",
                    "try_number": ti.try_number,
                    "xcoms": xcoms.get(key, {}),
                    "start_date": ti.start_date.isoformat() if ti.start_date else starts.get(key),
                    "end_date": ti.end_date.isoformat() if ti.end_date else None,
                    "log": "".join(logs.get(key, [])),
                    "error": errors.get(key),
                }
            )
    proto.send(
        "result",
        id=rid,
        dag_id=dag.dag_id,
        run_id=dag_run.run_id,
        logical_date=dag_run.execution_date.isoformat(),
        state=str(getattr(dag_run.state, "value", dag_run.state)),
        tasks=[
            {"task_id": t.task_id, "mapped": _is_mapped(t), "operator": type(t).__name__, "xcom_push": bool(getattr(t, "do_xcom_push", True))}
            for t in dag.tasks
        ],
        edges=sorted([t.task_id, d] for t in dag.tasks for d in t.downstream_task_ids),
        instances=instances,
        started=started,
        ended=time.time(),
    )


def _list(proto: _Proto, req: dict[str, Any]) -> None:
    rid = req.get("id")
    try:
        bag = _dagbag(req["dag_file"])
    except Exception as exc:  # noqa: BLE001
        proto.send("error", id=rid, kind="load", message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return
    proto.send(
        "dags",
        id=rid,
        dag_ids=sorted(bag.dags),
        files={dag_id: str(dag.fileloc) for dag_id, dag in sorted(bag.dags.items())},
        import_errors={str(k): str(v) for k, v in bag.import_errors.items()},
    )


def main() -> int:
    proto = _Proto()
    started = time.perf_counter()
    try:
        import airflow
    except Exception as exc:  # noqa: BLE001
        proto.send("error", id=None, kind="start", message=f"Airflow does not import here: {type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return 1
    version = airflow.__version__
    if int(version.split(".")[0]) >= 3:
        proto.send(
            "error",
            id=None,
            kind="start",
            message=f"the sidecar worker runs Airflow 1.10/2.x; this interpreter has Airflow {version}, "
            "which the in-process runner (with the compat loader) runs directly",
            traceback="",
        )
        return 1
    imported = time.perf_counter()
    try:
        migrate_seconds = _prepare_db(version)
    except Exception as exc:  # noqa: BLE001
        proto.send("error", id=None, kind="start", message=f"could not prepare the sidecar database: {exc}", traceback=traceback.format_exc())
        return 1
    proto.send(
        "ready",
        protocol=PROTOCOL_VERSION,
        airflow_version=version,
        python=sys.executable,
        python_version=sys.version.split()[0],
        import_seconds=round(imported - started, 3),
        migrate_seconds=round(migrate_seconds, 3),
    )
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except json.JSONDecodeError as exc:
            proto.send("error", id=None, kind="request", message=f"not JSON: {exc}", traceback="")
            continue
        op = req.get("op")
        if op == "exit":
            break
        if op == "run":
            _run(proto, req)
        elif op == "list":
            _list(proto, req)
        else:
            proto.send("error", id=req.get("id"), kind="request", message=f"unknown op {op!r}; expected run, list or exit", traceback="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
