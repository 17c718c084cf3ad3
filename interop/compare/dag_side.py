"""The Airflow side: run a DAG and record states, XComs, edges and timings.

Three ways: the in-process runner (:mod:`airflow_interop.runner`, Airflow's own task runner without a
scheduler or database; the default), the team's own Airflow 1.10/2.x interpreter through the
sidecar (:mod:`airflow_interop.sidecar`, with ``--airflow-python``), or ``airflow dags test`` as ground
truth (``tests/airflow_truth.py``, with ``--airflow-test``).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from interop.compare.model import SideRun, TaskSide
from interop.compare.values import normalise

__all__ = ["DagUnavailable", "load_file_dags", "run_in_process", "run_sidecar", "run_airflow_test", "EMPTY_OPERATORS"]

#: operators the converter removes (edges through them kept)
EMPTY_OPERATORS = frozenset({"EmptyOperator", "DummyOperator"})

REPO = Path(__file__).resolve().parents[2]


class DagUnavailable(Exception):
    """The DAG file cannot be loaded, or the DAG cannot be run (the message says why)."""


def load_file_dags(path: Path) -> dict[str, Any]:
    """``{dag_id: DAG}`` of a DAG file, loaded with Airflow 3 (``airflow_interop.runner.load_dags``).

    Raises:
        DagUnavailable: the file does not import under Airflow 3 (Airflow's import error).
    """
    from airflow_interop.runner import DagLoadError, load_dags

    try:
        return load_dags(path)
    except DagLoadError as exc:
        raise DagUnavailable(_short_import_error(str(exc))) from exc


def _short_import_error(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) <= 3:
        return " ".join(lines)
    return f"{lines[0]} ... {lines[-1].strip()}"


def _seconds(t: datetime | None, origin: datetime | None) -> float | None:
    if t is None or origin is None:
        return None
    return round((t - origin).total_seconds(), 4)


def structure(dag: Any) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The DAG's edges and operator class names (``_PythonDecoratedOperator`` for ``@task``)."""
    edges = sorted((t.task_id, d) for t in dag.tasks for d in t.downstream_task_ids)
    operators = {t.task_id: type(t).__name__ for t in dag.tasks}
    return edges, operators


def run_in_process(dag: Any, *, logical_date: str, params: dict[str, Any], progress: Any = None) -> SideRun:
    """Run ``dag`` with the in-process runner and record what it did.

    ``progress(dag_id, doing)`` hears each task start and each wait (retry delay, reschedule).
    """
    import time

    from airflow_interop.runner import run_dag

    known = set(getattr(dag, "params", {}) or {})
    unknown = sorted(set(params) - known)
    if unknown:
        raise DagUnavailable(f"DAG {dag.dag_id!r} has no param(s) {unknown}. Params: {sorted(known)}")
    hooks: dict[str, Any] = {}
    if progress is not None:
        current: dict[str, str] = {}

        def on_task_start(task: Any, map_index: int) -> None:
            index = f"[{map_index}]" if map_index >= 0 else ""
            current["task"] = f"task {task.task_id + index!r} ({type(task).__name__})"
            progress(dag.dag_id, f"the Airflow side ran {current['task']}")

        def sleep(seconds: float) -> None:
            progress(dag.dag_id, f"the Airflow side waited {seconds:.0f} s (a retry delay or a sensor's reschedule) in {current.get('task', 'a task')}")
            time.sleep(seconds)

        hooks = {"on_task_start": on_task_start, "sleep": sleep}
    result = run_dag(dag, logical_date=logical_date, params=params or None, echo=False, **hooks)
    edges, operators = structure(dag)
    quiet = [t.task_id for t in dag.tasks if getattr(t, "do_xcom_push", True) is False]
    return _side_run(result, edges, operators, how="in-process runner (airflow_interop.runner)", no_xcom_push=quiet)


def run_sidecar(sidecar: Any, path: Path, dag_id: str, *, logical_date: str, params: dict[str, Any], progress: Any = None) -> SideRun:
    """Run the DAG in the team's own Airflow (a :class:`airflow_interop.sidecar.Sidecar`) and record what it did.

    ``progress(dag_id, doing)`` hears each task the sidecar finishes.

    Raises:
        DagUnavailable: the DAG cannot be loaded there, or the run broke outside any task.
    """
    from airflow_interop.runner import DagLoadError
    from airflow_interop.sidecar.client import SidecarError

    def finished(event: dict[str, Any]) -> None:
        if progress is not None:
            progress(dag_id, f"the Airflow {sidecar.airflow_version} sidecar ran the DAG (the last task it finished: "
                             f"{event.get('task_id')!r}, {event.get('state')})")

    try:
        result = sidecar.run(path, dag_id, logical_date=logical_date, params=params or None, on_task_end=finished)
    except (DagLoadError, SidecarError) as exc:
        raise DagUnavailable(f"Airflow {sidecar.airflow_version} ({sidecar.airflow_python}): {_short_import_error(str(exc))}") from exc
    edges = sorted((a, b) for a, b in result.edges)
    return _side_run(result, edges, result.operators, how=f"Airflow {result.airflow_version} sidecar ({result.python})",
                     no_xcom_push=list(getattr(result, "no_xcom_push", [])))


def _side_run(result: Any, edges: list[tuple[str, str]], operators: dict[str, str], *, how: str,
              no_xcom_push: list[str] | None = None) -> SideRun:
    """A run result (in-process or sidecar) as one side of a comparison."""
    starts = [t.start_date for t in result.tasks.values() if t.start_date]
    origin = min(starts) if starts else result.start_date
    tasks: dict[str, TaskSide] = {}
    for task_id, t in result.tasks.items():
        tasks[task_id] = TaskSide(
            state=t.state,
            values={k: normalise(v) for k, v in t.xcoms.items()},
            start=_seconds(t.start_date, origin),
            end=_seconds(t.end_date, origin),
            operator=operators.get(task_id),
            error=(t.error or None) and t.error[-2000:],
        )
    for task_id in operators:  # tasks the run created no instance for
        tasks.setdefault(task_id, TaskSide(state="none", operator=operators.get(task_id)))
    ends = [t.end_date for t in result.tasks.values() if t.end_date]
    duration = _seconds(max(ends), origin) if ends and origin else None
    return SideRun(
        kind="airflow",
        how=how,
        state=result.state,
        run_id=result.run_id,
        duration=duration,
        tasks=tasks,
        edges=edges,
        removed=sorted(t for t, op in operators.items() if op in EMPTY_OPERATORS),
        no_xcom_push=sorted(no_xcom_push or []),
    )


def _truth_module() -> Any:
    path = REPO / "tests" / "airflow_truth.py"
    if not path.exists():
        raise DagUnavailable(f"--airflow-test needs {path} (the ground-truth harness); it does not exist")
    name = "interop_compare_airflow_truth"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_MAPPED = re.compile(r"^(?P<task>.*)\[(?P<index>\d+)\]$")


def run_airflow_test(path: Path, dag_id: str, *, logical_date: str, params: dict[str, Any]) -> SideRun:
    """Run the DAG with ``airflow dags test`` (ground truth) and record what it did.

    ``airflow dags test`` takes no params, so DAG params must be left at their defaults; the
    truth has no task timings.
    """
    if params:
        raise DagUnavailable("--airflow-test runs `airflow dags test`, which takes no --param values")
    truth_mod = _truth_module()
    try:
        truth = truth_mod.dag_truth(path, dag_id, logical_date)
    except truth_mod.AirflowTruthError as exc:
        # a 1.10/2.x DAG that does not import under Airflow 3: Airflow 2.11's own `dags test`
        # when its interpreter (.venv-airflow2) is there
        try:
            truth_mod.airflow_python("2")
        except truth_mod.AirflowTruthError:
            raise DagUnavailable(f"airflow dags test failed: {exc}") from exc
        try:
            truth = truth_mod.dag_truth(path, dag_id, logical_date, airflow="2")
        except truth_mod.AirflowTruthError as exc2:
            raise DagUnavailable(f"airflow dags test failed under Airflow 3 ({exc}) and Airflow 2 ({exc2})") from exc2
    operators = truth["task_operators"]
    tasks: dict[str, TaskSide] = {t: TaskSide(operator=op) for t, op in operators.items()}
    mapped_states: dict[str, list[str]] = {}
    for key, entry in truth["tasks"].items():
        m = _MAPPED.match(key)
        if m and m.group("task") in operators:
            task_id, index = m.group("task"), m.group("index")
            side = tasks[task_id]
            mapped_states.setdefault(task_id, []).append(entry.get("state") or "none")
            for k, v in entry["xcoms"].items():
                side.values[f"{k}[{index}]"] = normalise(v)
        elif key in tasks:
            tasks[key].state = entry.get("state") or "none"
            tasks[key].values.update({k: normalise(v) for k, v in entry["xcoms"].items()})
    for task_id, states in mapped_states.items():
        tasks[task_id].state = (
            "failed" if "failed" in states else "upstream_failed" if "upstream_failed" in states
            else "skipped" if all(s == "skipped" for s in states) else "success"
        )
    return SideRun(
        kind="airflow",
        how=f"airflow dags test (Airflow {truth.get('airflow_version', '?')})",
        state=truth.get("dag_run_state") or "none",
        run_id=truth.get("run_id"),
        tasks=tasks,
        edges=[tuple(e) for e in truth["edges"]],
        removed=sorted(t for t, op in operators.items() if op in EMPTY_OPERATORS),
    )
