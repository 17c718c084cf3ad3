"""Run both sides of every DAG and hold them against each other.

:func:`compare_file` handles one DAG file (every DAG in it); :func:`compare_paths` walks files
and folders, optionally isolating each file in a worker process with a time limit
(:mod:`interop.compare.isolate`). Nothing here raises for a bad DAG: each DAG ends as a
:class:`~interop.compare.model.DagComparison`, equivalent, different, or an error with its reason.
"""

from __future__ import annotations

import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from interop.compare.model import DagComparison, StateDiff, TaskTiming

__all__ = ["discover", "compare_file", "compare_paths", "default_logical_date"]

#: what the progress says while the converted flow runs (a time-out then names its running task runs)
FLOW_RUNS = "the converted flow ran on Prefect"


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Python files under ``paths`` (folders walked; hidden folders and ``__pycache__`` skipped).

    Raises:
        FileNotFoundError: a path does not exist.
    """
    found: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise FileNotFoundError(f"{str(p)!r} does not exist")
        if p.is_dir():
            for f in sorted(p.rglob("*.py")):
                rel = f.relative_to(p).parts
                if any(part.startswith(".") or part == "__pycache__" for part in rel):
                    continue
                found.append(f)
        else:
            found.append(p)
    return found


def flow_in_folder(dag_file: Path, folder: Path) -> Path | None:
    """The converted flow of ``dag_file`` in a folder written by ``interop convert --out``: the
    file of the same name; among several, the one whose folders match the DAG file's most."""
    candidates = [f for f in sorted(folder.rglob(dag_file.name)) if f.is_file()
                  and not any(part.startswith(".") or part == "__pycache__" for part in f.relative_to(folder).parts)]
    if not candidates:
        return None
    dag_parts = dag_file.resolve().parts

    def shared_tail(candidate: Path) -> int:
        parts = candidate.resolve().parts
        n = 0
        while n < min(len(parts), len(dag_parts)) and parts[-1 - n] == dag_parts[-1 - n]:
            n += 1
        return n

    return max(candidates, key=lambda f: (shared_tail(f), -len(f.parts)))


def default_logical_date() -> str:
    """Now (UTC, whole seconds): both sides get the same logical date."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _error(dag_id: str, file: Path, reason: str, **extra: Any) -> DagComparison:
    return DagComparison(dag_id=dag_id, file=str(file), equivalent=False, error=reason, **extra)


def compare_file(
    path: str | Path,
    *,
    flow_file: str | Path | None = None,
    airflow_test: bool = False,
    airflow_python: str | Path | None = None,
    logical_date: str | None = None,
    params: dict[str, Any] | None = None,
    on_dag: Callable[[DagComparison], None] | None = None,
    on_progress: Callable[[str | None, str], None] | None = None,
    skip_dags: Iterable[str] = (),
) -> list[DagComparison]:
    """Compare every DAG of one file with its converted flow (or the flow in ``flow_file``).

    ``on_dag`` is called with each DAG's comparison as soon as it is done; ``on_progress`` with
    ``(dag_id, what is being done)`` as each DAG starts and as its sides run (the Airflow side
    task by task). DAGs in ``skip_dags`` are not compared (a worker resuming a file). With
    ``airflow_python`` (the team's Airflow 1.10/2.x interpreter) the DAGs are loaded and run
    there, through the sidecar (:mod:`airflow_interop.sidecar`), instead of in this process.

    Returns:
        One comparison per DAG; empty for a file with no DAG (a helper module).
    """
    from converters import convert_file

    path = Path(path)
    progress = on_progress or (lambda dag_id, doing: None)
    logical_date = logical_date or default_logical_date()
    params = dict(params or {})
    conversion = convert_file(str(path))
    report = conversion.report()
    static_ids = [d.get("dag_id") for d in report.get("dags", []) if d.get("dag_id")]
    findings = [f"{f['code']} line {f.get('line')}: {f['message']}" for f in report.get("findings", [])]
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    if not static_ids and "airflow" not in text.lower():
        return []  # not a DAG file

    from interop.compare.dag_side import DagUnavailable, load_file_dags, run_airflow_test, run_in_process

    def finish(errors: list[DagComparison]) -> list[DagComparison]:
        for c in _dated(errors, logical_date):
            if on_dag is not None:
                on_dag(c)
        return errors

    sidecar = None
    if airflow_python is None and not airflow_test:  # as `interop run` does: the state file's setting
        from airflow_interop.sidecar.cli import airflow_python_from_state

        airflow_python = airflow_python_from_state(path)
    if airflow_python is not None:
        from airflow_interop.runner import DagLoadError
        from airflow_interop.sidecar.client import SidecarError

        try:
            sidecar = _sidecar(airflow_python)
            dag_ids = sidecar.list_dags(path)
        except (DagLoadError, SidecarError, OSError) as exc:
            if sidecar is not None and not isinstance(exc, DagLoadError):
                _drop_sidecar(airflow_python)
            where = f"Airflow at {airflow_python}"
            return finish([_error(d, path, f"the DAG file does not load under {where}: {exc}", findings=findings) for d in static_ids or [path.stem]])
        runners: dict[str, Callable[[], Any]] = {
            d: (lambda d=d: _sidecar_run(airflow_python, path, d, logical_date=logical_date, params=params, progress=progress))
            for d in dag_ids
        }
        start_dates: dict[str, Any] = {}
    else:
        try:
            dags = load_file_dags(path)
        except DagUnavailable as exc:
            ids = static_ids or [path.stem]
            return finish([_error(d, path, f"the DAG file does not load under Airflow 3: {exc}", findings=findings) for d in ids])
        if airflow_test:
            runners = {d: (lambda d=d: run_airflow_test(path, d, logical_date=logical_date, params=params)) for d in dags}
        else:
            runners = {d: (lambda dag=dag: run_in_process(dag, logical_date=logical_date, params=params, progress=progress))
                       for d, dag in dags.items()}
        start_dates = {d: getattr(dag, "start_date", None) for d, dag in dags.items()}
    if not runners:
        if static_ids:
            return finish([_error(d, path, "Airflow found no DAG in the file", findings=findings) for d in static_ids])
        return []

    if flow_file is not None and Path(flow_file).is_dir():
        found = flow_in_folder(path, Path(flow_file))
        if found is None:
            reason = (f"no converted flow for {str(path)!r} in the folder {str(flow_file)!r} "
                      f"(looked for {path.name!r}, as `interop convert --out` names it)")
            return finish([_error(d, path, reason, findings=findings, logical_date=logical_date) for d in sorted(runners)])
        flow_file = found
    if flow_file is not None:
        flow_path = Path(flow_file)
        flow_source, flow_origin = flow_path.read_text(encoding="utf-8"), flow_path
    else:
        flow_source, flow_origin = conversion.output, path

    out: list[DagComparison] = []
    skip = set(skip_dags)
    for dag_id in sorted(d for d in runners if d not in skip):
        started = time.perf_counter()
        progress(dag_id, f"starting DAG {dag_id!r}")
        try:
            comparison = compare_dag(
                path, dag_id, runners[dag_id], start_date=start_dates.get(dag_id), report=report,
                conversion_status=conversion.status, findings=findings, flow_source=flow_source,
                flow_origin=flow_origin, flow_file=flow_file, logical_date=logical_date, params=params,
                progress=lambda doing, d=dag_id: progress(d, doing),
            )
        except Exception as exc:  # noqa: BLE001 - one DAG never stops the batch
            tb = traceback.format_exc(limit=-3)
            comparison = _error(dag_id, path, f"internal error: {type(exc).__name__}: {exc}\n{tb}", findings=findings)
        comparison.seconds = round(time.perf_counter() - started, 3)
        _dated([comparison], logical_date)
        out.append(comparison)
        if on_dag is not None:
            on_dag(comparison)
    return out


#: one sidecar per Airflow interpreter, kept for the process's later files (starting Airflow
#: 1.10/2.x takes seconds); a sidecar that broke is dropped and started again, and so is one
#: asked to run a DAG it has run before (a second run of a DAG in one Airflow 2 database fails)
_SIDECARS: dict[str, Any] = {}
_SIDECAR_RAN: dict[str, set[str]] = {}


def _sidecar(airflow_python: str | Path) -> Any:
    from airflow_interop.sidecar.client import Sidecar

    key = str(airflow_python)
    sidecar = _SIDECARS.get(key)
    if sidecar is None or sidecar.proc is None or sidecar.proc.poll() is not None:
        sidecar = _SIDECARS[key] = Sidecar(airflow_python).start()
        _SIDECAR_RAN[key] = set()
        if len(_SIDECARS) == 1:
            import atexit

            atexit.register(close_sidecars)
    return sidecar


def _drop_sidecar(airflow_python: str | Path) -> None:
    sidecar = _SIDECARS.pop(str(airflow_python), None)
    if sidecar is not None:
        sidecar.close()


def _sidecar_run(airflow_python: str | Path, path: Path, dag_id: str, **kwargs: Any) -> Any:
    from interop.compare.dag_side import DagUnavailable, run_sidecar

    if dag_id in _SIDECAR_RAN.get(str(airflow_python), set()):
        _drop_sidecar(airflow_python)
    sidecar = _sidecar(airflow_python)  # the live one: new when dropped or dead
    _SIDECAR_RAN[str(airflow_python)].add(dag_id)
    try:
        return run_sidecar(sidecar, path, dag_id, **kwargs)
    except DagUnavailable:
        if sidecar.proc is None or sidecar.proc.poll() is not None:
            _drop_sidecar(airflow_python)
        raise


def close_sidecars() -> None:
    """Stop the sidecars this process started."""
    for key in list(_SIDECARS):
        _drop_sidecar(key)


def compare_dag(
    path: Path,
    dag_id: str,
    run_airflow: Callable[[], Any],
    *,
    start_date: Any = None,
    report: dict[str, Any],
    conversion_status: str,
    findings: list[str],
    flow_source: str,
    flow_origin: Path,
    flow_file: Any,
    logical_date: str,
    params: dict[str, Any],
    progress: Callable[[str], None] | None = None,
) -> DagComparison:
    """Both sides of one DAG and the comparison (graph, values, states, timings).

    ``run_airflow`` runs the Airflow side (in-process, sidecar or ``airflow dags test``) and
    returns its :class:`~interop.compare.model.SideRun`; ``progress`` hears what is being done.
    """
    progress = progress or (lambda doing: None)
    from interop.compare.dag_side import DagUnavailable
    from interop.compare.flow_side import FlowUnavailable, find_flow, import_flow_module, run_flow
    from interop.compare.graph import compare_graphs, dag_graph
    from interop.compare.values import compare_task_values, is_internal_xcom

    base = dict(
        flow_file=str(flow_file) if flow_file else None,
        logical_date=logical_date,
        params=params,
        conversion_status=conversion_status,
        findings=findings,
    )
    ledger = next((d for d in report.get("dags", []) if d.get("dag_id") == dag_id), None)
    if flow_file is None and (ledger is None or not flow_source.strip()):
        found = [d.get("dag_id") for d in report.get("dags", [])]
        return _error(dag_id, path, f"the converter did not convert DAG {dag_id!r} (status {conversion_status}; "
                      f"DAGs it converted: {found}; findings: {findings[:5]})", **base)
    returns = {t["task_id"]: t.get("returns") for t in (ledger or {}).get("tasks", [])}
    mapped = {t["task_id"] for t in (ledger or {}).get("tasks", []) if t.get("mapped")}

    phases: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        phases[name] = round(now - clock, 4)
        clock = now

    # the flow must import before anything runs
    try:
        module = import_flow_module(flow_source, origin=flow_origin)
        flow = find_flow(module, dag_id, str(flow_file or f"the flow converted from {path}"))
    except FlowUnavailable as exc:
        return _error(dag_id, path, str(exc), **base)
    lap("import_flow")

    progress("the Airflow side ran the DAG")
    began = time.time()
    try:
        airflow = run_airflow()
    except DagUnavailable as exc:
        return _error(dag_id, path, f"the DAG cannot run: {exc}", **base)
    except Exception as exc:  # noqa: BLE001 - the runner failed on this DAG
        return _error(dag_id, path, f"the DAG cannot run: {type(exc).__name__}: {exc}", **base)

    lap("airflow")
    airflow.wall_clock = (began, time.time())
    if airflow.tasks and all(t.state == "none" for t in airflow.tasks.values()):
        return _error(dag_id, path, f"Airflow ran no task of DAG {dag_id!r} at logical date {logical_date}"
                      + (f" (the DAG's start_date is {start_date.isoformat()})" if start_date else "")
                      + "; choose another --logical-date", airflow=airflow, **base)
    removed = set(airflow.removed)
    if ledger is not None:
        removed |= {t for t, r in returns.items() if r is None and t in airflow.tasks}
    airflow.removed = sorted(removed)
    task_ids = set(airflow.tasks)
    progress(FLOW_RUNS)
    began = time.time()
    try:
        prefect, executed = run_flow(flow, task_ids=task_ids, logical_date=logical_date, params=params)
    except FlowUnavailable as exc:
        return _error(dag_id, path, str(exc), airflow=airflow, **base)
    prefect.wall_clock = (began, time.time())

    lap("prefect")
    expected = dag_graph(task_ids, airflow.edges, removed)
    graph = compare_graphs(expected, executed)

    value_diffs, compared, ignored = [], 0, {}
    state_diffs = []
    timings = []
    for task_id in sorted(task_ids - removed, key=_order(expected)):
        a = airflow.tasks[task_id]
        p = prefect.tasks.get(task_id)
        if p is not None and p.state != a.state:
            failing = p.error if p.state == "failed" else a.error if a.state == "failed" else None
            detail = failing.strip().splitlines()[-1][:300] if failing and failing.strip() else None
            state_diffs.append(StateDiff(task_id=task_id, airflow=a.state, prefect=p.state, detail=detail))
        if p is not None:
            diffs, n, ign = compare_task_values(task_id, returns.get(task_id, "value"), a.values, p.values, bool(p.values),
                                                return_kept=task_id not in airflow.no_xcom_push,
                                                windows=(airflow.wall_clock, prefect.wall_clock), mapped=task_id in mapped)
            value_diffs += diffs
            compared += n
            if ign:
                ignored[task_id] = ign
        else:
            ign = sorted(k for k in a.values if is_internal_xcom(k))
            if ign:
                ignored[task_id] = ign
        timings.append(TaskTiming(
            task_id=task_id,
            airflow_start=a.start,
            airflow_seconds=None if a.start is None or a.end is None else round(a.end - a.start, 4),
            prefect_start=p.start if p else None,
            prefect_seconds=None if p is None or p.start is None or p.end is None else round(p.end - p.start, 4),
        ))
    run_state = None
    if airflow.state != prefect.state:
        why = prefect.message if prefect.state == "failed" else None
        run_state = StateDiff(task_id=dag_id, airflow=airflow.state, prefect=prefect.state,
                              detail=why.strip().splitlines()[-1][:300] if why and why.strip() else None)
    equivalent = graph.equal and not value_diffs and not state_diffs and run_state is None
    lap("compare")
    return DagComparison(
        dag_id=dag_id, file=str(path), equivalent=equivalent, airflow=airflow, prefect=prefect, graph=graph,
        values=value_diffs, values_compared=compared, states=state_diffs, run_state=run_state, timings=timings,
        ignored_xcoms=ignored, phases=phases, **base,
    )


def _order(graph: Any) -> Callable[[str], tuple[int, str]]:
    import networkx as nx

    try:
        position = {n: i for i, n in enumerate(nx.lexicographical_topological_sort(graph))}
    except Exception:  # noqa: BLE001 - a cycle: order by name
        position = {}
    return lambda n: (position.get(n, 10**9), n)


def compare_paths(
    paths: Iterable[str | Path],
    *,
    flow_file: str | Path | None = None,
    airflow_test: bool = False,
    airflow_python: str | Path | None = None,
    logical_date: str | None = None,
    params: dict[str, Any] | None = None,
    timeout: float | None = None,
    dag_timeouts: Mapping[str, float] | None = None,
    jobs: int = 1,
    on_file: Callable[[Path, list[DagComparison]], None] | None = None,
) -> list[DagComparison]:
    """Compare every DAG under ``paths``.

    Args:
        timeout: seconds each DAG may take; when set, the files run in worker processes, and a
            DAG past its time is stopped and reported as an error naming what it was doing.
        dag_timeouts: seconds for particular DAG ids, instead of ``timeout``.
        jobs: worker processes running files side by side (more than 1 implies workers, with
            no time limit unless ``timeout`` is set).
        on_file: called after each file (progress).

    Returns:
        The comparisons, in the order of the files.
    """
    files = discover(paths)
    logical_date = logical_date or default_logical_date()
    kwargs = dict(flow_file=flow_file, airflow_test=airflow_test, airflow_python=airflow_python, logical_date=logical_date, params=params)
    if timeout is not None or dag_timeouts or jobs > 1:
        from interop.compare.isolate import run_batch

        return _dated(run_batch(files, jobs=jobs, timeout=timeout, dag_timeouts=dag_timeouts, on_file=on_file, **kwargs), logical_date)
    results: list[DagComparison] = []
    for f in files:
        try:
            got = compare_file(f, **kwargs)
        except Exception as exc:  # noqa: BLE001
            got = [_error(f.stem, f, f"internal error: {type(exc).__name__}: {exc}")]
        results.extend(_dated(got, logical_date))
        if on_file is not None:
            on_file(f, got)
    return results


def _dated(comparisons: list[DagComparison], logical_date: str) -> list[DagComparison]:
    """Every comparison carries the logical date it was asked for (errors included)."""
    for c in comparisons:
        if c.logical_date is None:
            c.logical_date = logical_date
    return comparisons
