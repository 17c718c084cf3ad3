"""The project's migration state: which DAGs and tasks run where.

A team moves a DAG to Prefect task by task and must be able to see, and roll back, where each
piece runs. The state file (YAML, default ``interop-state.yaml`` at the project root) records,
for each DAG and each of its tasks, one of:

* ``airflow``: still runs in Airflow (not converted);
* ``shim``: runs under Prefect through the runtime shims (the real Airflow operator, or the
  whole DAG through ``airflow_dag``);
* ``prefect``: converted to native Prefect code.

Example file::

    version: 1
    airflow_python: .venv-airflow2/bin/python   # optional: run DAGs in this Airflow (sidecar)
    dags:
      example_xcom:
        file: dags/example_xcom.py
        flow: flows/example_xcom.py
        status: shim
        source_sha256: 9f2c...
        tasks:
          push: prefect
          puller: shim
          bash_push: airflow

:func:`check` holds the file against the code and reports drift: a DAG file or flow file that
is missing, tasks added to or removed from the DAG since the state was written, a DAG file
edited since (its hash changed), a DAG marked ``prefect`` whose tasks are not all ``prefect``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

__all__ = [
    "STATUSES",
    "DEFAULT_STATE_FILE",
    "StateError",
    "DagState",
    "MigrationState",
    "Drift",
    "DagReport",
    "check",
]

#: where a DAG or task runs
STATUSES = ("airflow", "shim", "prefect")
DEFAULT_STATE_FILE = "interop-state.yaml"
_VERSION = 1


class StateError(ValueError):
    """The state file is malformed, or a change names an unknown DAG, task or status."""


#: limits on a state file: a real one is a few kilobytes, a few levels deep, with no aliases
MAX_STATE_BYTES = 8 * 1024 * 1024
MAX_STATE_DEPTH = 32
MAX_STATE_NODES = 1_000_000


def _short(value: Any, limit: int = 60) -> str:
    """``repr`` of a value from the file, cut short: an error never prints a huge value."""
    if isinstance(value, (dict, list)):
        return f"<a {'mapping' if isinstance(value, dict) else 'list'} of {len(value)} item(s)>"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_status(value: Any, where: str) -> str:
    if not isinstance(value, str) or value not in STATUSES:
        raise StateError(f"{where}: status {_short(value)} is not one of {list(STATUSES)}")
    return str(value)


def _optional_text(data: dict[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise StateError(f"{where}: {key!r} must be a string, got {_short(value)}")
    return value


def _check_shape(text: str, name: str) -> None:
    """Refuse YAML whose expansion is huge (aliases of aliases: "billion laughs") or too deep,
    from the parser's events, before anything is built.

    Raises:
        StateError: naming the file and the limit.
    """
    sizes: dict[str, int] = {}  # anchor -> how many values it expands to
    stack: list[list[Any]] = []  # [anchor, values so far] per open collection

    def add(n: int) -> None:
        if stack:
            stack[-1][1] += n
            n = stack[-1][1]
        if n > MAX_STATE_NODES:
            raise StateError(
                f"state file {name!r} expands to more than {MAX_STATE_NODES:,} values (aliases of aliases?); "
                "refusing to read it"
            )

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack.append([event.anchor, 1])
            if len(stack) > MAX_STATE_DEPTH:
                raise StateError(f"state file {name!r} nests deeper than {MAX_STATE_DEPTH} levels; refusing to read it")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, size = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
            add(size)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            add(1)
        elif isinstance(event, yaml.AliasEvent):
            add(sizes.get(event.anchor, 1))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class DagState:
    """One DAG's entry in the state file."""

    dag_id: str
    file: str | None = None
    flow: str | None = None
    status: str = "airflow"
    tasks: dict[str, str] = field(default_factory=dict)
    source_sha256: str | None = None
    #: this DAG runs in that interpreter's Airflow (sidecar), overriding the file's setting
    airflow_python: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.file is not None:
            out["file"] = self.file
        if self.flow is not None:
            out["flow"] = self.flow
        out["status"] = self.status
        if self.source_sha256:
            out["source_sha256"] = self.source_sha256
        out["tasks"] = dict(sorted(self.tasks.items()))
        if self.airflow_python:
            out["airflow_python"] = self.airflow_python
        return out

    @classmethod
    def from_dict(cls, dag_id: str, data: Any) -> "DagState":
        if not isinstance(data, dict):
            raise StateError(f"dag {dag_id!r}: expected a mapping, got {type(data).__name__}")
        where = f"dag {_short(dag_id)}"
        unknown = set(data) - {"file", "flow", "status", "tasks", "source_sha256", "airflow_python"}
        if unknown:
            raise StateError(f"{where}: unknown keys {sorted(_short(k) for k in unknown)[:10]}")
        tasks_raw = data.get("tasks") or {}
        if not isinstance(tasks_raw, dict):
            raise StateError(f"{where}: 'tasks' must map task ids to a status, got {_short(tasks_raw)}")
        tasks = {str(t): _check_status(s, f"{where}, task {_short(t)}") for t, s in tasks_raw.items()}
        return cls(
            dag_id=dag_id,
            file=_optional_text(data, "file", where),
            flow=_optional_text(data, "flow", where),
            status=_check_status(data.get("status", "airflow"), where),
            tasks=tasks,
            source_sha256=_optional_text(data, "source_sha256", where),
            airflow_python=_optional_text(data, "airflow_python", where),
        )

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for v in self.tasks.values() if v == s) for s in STATUSES}


@dataclass
class MigrationState:
    """The whole state file. Paths inside it are relative to the file's folder."""

    path: Path
    dags: dict[str, DagState] = field(default_factory=dict)
    #: the team's Airflow 1.10/2.x interpreter: ``interop run`` runs the DAGs there (sidecar)
    airflow_python: str | None = None

    @classmethod
    def load(cls, path: str | Path = DEFAULT_STATE_FILE, *, missing_ok: bool = False) -> "MigrationState":
        """Read a state file.

        Raises:
            StateError: the file is missing (unless ``missing_ok``) or malformed; the message names
                the file.
        """
        path = Path(path)
        if not path.exists():
            if missing_ok:
                return cls(path=path)
            raise StateError(f"state file {str(path)!r} does not exist (create it with `interop status --init DAG_FILE...`)")
        try:
            if path.stat().st_size > MAX_STATE_BYTES:
                raise StateError(f"state file {str(path)!r} is larger than {MAX_STATE_BYTES // (1024 * 1024)} MB; refusing to read it")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StateError(f"state file {str(path)!r} cannot be read: {exc}") from exc
        try:
            _check_shape(text, str(path))
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise StateError(f"state file {str(path)!r} is not valid YAML: {exc}") from exc
        except RecursionError as exc:
            raise StateError(f"state file {str(path)!r} nests too deeply; refusing to read it") from exc
        if not isinstance(data, dict):
            raise StateError(f"state file {str(path)!r}: expected a mapping at the top, got {_short(data)}")
        version = data.get("version", _VERSION)
        if version != _VERSION:
            raise StateError(f"state file {str(path)!r}: unsupported version {_short(version)} (this tool writes {_VERSION})")
        dags_raw = data.get("dags") or {}
        if not isinstance(dags_raw, dict):
            raise StateError(f"state file {str(path)!r}: 'dags' must map DAG ids to entries, got {_short(dags_raw)}")
        try:
            dags = {str(d): DagState.from_dict(str(d), v) for d, v in dags_raw.items()}
        except StateError as exc:
            raise StateError(f"state file {str(path)!r}: {exc}") from exc
        airflow_python = data.get("airflow_python")
        if airflow_python is not None and not isinstance(airflow_python, str):
            raise StateError(f"state file {str(path)!r}: 'airflow_python' must be a path to a Python interpreter")
        return cls(path=path, dags=dags, airflow_python=airflow_python)

    def save(self) -> None:
        data: dict[str, Any] = {"version": _VERSION}
        if self.airflow_python:
            data["airflow_python"] = self.airflow_python
        data["dags"] = {d: s.to_dict() for d, s in sorted(self.dags.items())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(
            "# interop migration state: where each DAG and task runs (airflow | shim | prefect)\n"
            + yaml.safe_dump(data, sort_keys=False)
        )

    def resolve(self, relative: str | None) -> Path | None:
        """A path from the file, made absolute against the state file's folder."""
        if relative is None:
            return None
        p = Path(relative)
        return p if p.is_absolute() else (self.path.parent / p)

    def airflow_python_for(self, dag_id: str | None = None) -> Path | None:
        """The interpreter a DAG runs in (its own setting, else the file's), absolute; ``None``: this one."""
        entry = self.dags.get(dag_id) if dag_id else None
        value = (entry.airflow_python if entry else None) or self.airflow_python
        return self.resolve(value) if value else None

    def _relative(self, path: Path) -> str:
        try:
            return str(Path(path).resolve().relative_to(self.path.parent.resolve()))
        except ValueError:
            return str(Path(path).resolve())

    # ------------------------------------------------------------------ changes
    def add_dag(self, dag_id: str, file: str | Path, task_ids: Iterable[str], status: str = "airflow") -> DagState:
        """Record a DAG (all its tasks at ``status``); existing task statuses are kept."""
        _check_status(status, f"dag {dag_id!r}")
        entry = self.dags.get(dag_id) or DagState(dag_id=dag_id, status=status)
        entry.file = self._relative(Path(file))
        src = Path(file)
        entry.source_sha256 = file_sha256(src) if src.exists() else None
        for task_id in task_ids:
            entry.tasks.setdefault(task_id, status)
        self.dags[dag_id] = entry
        return entry

    def set_status(self, dag_id: str, status: str, task_id: str | None = None) -> None:
        """Set a DAG's status, or one task's.

        Raises:
            StateError: unknown DAG, task or status (the message lists what exists).
        """
        _check_status(status, f"dag {dag_id!r}" + (f", task {task_id!r}" if task_id else ""))
        if dag_id not in self.dags:
            raise StateError(f"DAG {dag_id!r} is not in {str(self.path)!r}. Found DAGs: {sorted(self.dags)}")
        entry = self.dags[dag_id]
        if task_id is None:
            entry.status = status
            return
        if task_id not in entry.tasks:
            raise StateError(
                f"Task with id {task_id!r} not found in dag {dag_id!r}. Found tasks: {sorted(entry.tasks)}"
            )
        entry.tasks[task_id] = status

    def set_flow(self, dag_id: str, flow_file: str | Path) -> None:
        if dag_id not in self.dags:
            raise StateError(f"DAG {dag_id!r} is not in {str(self.path)!r}. Found DAGs: {sorted(self.dags)}")
        self.dags[dag_id].flow = self._relative(Path(flow_file))


# --------------------------------------------------------------------------- drift
@dataclass
class Drift:
    """One difference between the state file and the code."""

    dag_id: str
    kind: str
    message: str
    task_id: str | None = None


@dataclass
class DagReport:
    """One DAG: its recorded state, its task ids in the code (when they could be read), drift."""

    state: DagState
    code_task_ids: list[str] | None
    drift: list[Drift]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dag_id": self.state.dag_id,
            "status": self.state.status,
            "file": self.state.file,
            "flow": self.state.flow,
            "tasks": dict(sorted(self.state.tasks.items())),
            "counts": self.state.counts(),
            "drift": [{"kind": d.kind, "task_id": d.task_id, "message": d.message} for d in self.drift],
        }


def dag_task_ids(path: Path) -> dict[str, list[str]]:
    """``{dag_id: [task ids]}`` defined by a DAG file, loaded with Airflow (``DagBag``)."""
    from airflow_interop.runner import load_dags

    return {dag_id: list(dag.task_dict) for dag_id, dag in load_dags(path).items()}


def check(state: MigrationState, *, load_code: bool = True) -> list[DagReport]:
    """Hold the state file against the code and list the drift of every DAG.

    Args:
        state: the loaded state.
        load_code: load each DAG file with Airflow to compare task ids (needs Airflow).
    """
    reports: list[DagReport] = []
    cache: dict[Path, dict[str, list[str]] | Exception] = {}
    for dag_id, entry in sorted(state.dags.items()):
        drift: list[Drift] = []
        code_ids: list[str] | None = None
        dag_file = state.resolve(entry.file)
        if dag_file is None:
            drift.append(Drift(dag_id, "no_file", "no DAG file recorded"))
        elif not dag_file.exists():
            kind = "dag_file_removed" if entry.status == "prefect" else "dag_file_missing"
            drift.append(Drift(dag_id, kind, f"DAG file {entry.file!r} does not exist"))
        else:
            if entry.source_sha256 and file_sha256(dag_file) != entry.source_sha256:
                drift.append(Drift(dag_id, "dag_file_changed", f"DAG file {entry.file!r} changed since the state was recorded"))
            if load_code:
                if dag_file not in cache:
                    try:
                        cache[dag_file] = dag_task_ids(dag_file)
                    except Exception as exc:  # noqa: BLE001 - reported as drift
                        cache[dag_file] = exc
                loaded = cache[dag_file]
                if isinstance(loaded, Exception):
                    drift.append(Drift(dag_id, "dag_file_error", f"DAG file {entry.file!r} does not load: {loaded}"))
                elif dag_id not in loaded:
                    drift.append(Drift(dag_id, "dag_missing", f"DAG {dag_id!r} not found in {entry.file!r}. Found DAGs: {sorted(loaded)}"))
                else:
                    code_ids = loaded[dag_id]
                    for task_id in code_ids:
                        if task_id not in entry.tasks:
                            drift.append(Drift(dag_id, "task_added", f"task {task_id!r} is in the DAG but not in the state file", task_id))
                    for task_id in entry.tasks:
                        if task_id not in code_ids:
                            drift.append(Drift(dag_id, "task_removed", f"task {task_id!r} is in the state file but not in the DAG", task_id))
        if entry.flow is not None:
            flow_file = state.resolve(entry.flow)
            if flow_file is None or not flow_file.exists():
                drift.append(Drift(dag_id, "flow_missing", f"converted flow {entry.flow!r} does not exist"))
        elif entry.status == "prefect" or any(s == "prefect" for s in entry.tasks.values()):
            drift.append(Drift(dag_id, "flow_missing", "tasks are marked prefect but no converted flow file is recorded"))
        if entry.status == "prefect":
            lagging = sorted(t for t, s in entry.tasks.items() if s != "prefect")
            if lagging:
                drift.append(Drift(dag_id, "status_mismatch", f"DAG is marked prefect but these tasks are not: {lagging}"))
        reports.append(DagReport(state=entry, code_task_ids=code_ids, drift=drift))
    return reports
