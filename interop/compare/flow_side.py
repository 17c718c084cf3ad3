"""The Prefect side: import a converted flow, run it on the Prefect API, read back what it did.

The executed graph, the task states and the timings come from the API's task runs (their
``task_inputs`` include ``wait_for``); the values from the ``{task_id: result}`` dict the flow
returns, or, for tasks missing from it (a failed flow), from the task runs' persisted results.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from interop.compare.graph import executed_graph
from interop.compare.model import SideRun, TaskSide
from interop.compare.values import normalise

__all__ = ["FlowUnavailable", "import_flow_module", "find_flow", "run_flow", "state_word"]


class FlowUnavailable(Exception):
    """The converted flow cannot be imported or run (the message says why)."""


_MODULES: dict[str, Any] = {}


def import_flow_module(source: str, *, origin: Path, folder: Path | None = None) -> Any:
    """Import converted flow text as a module, with ``origin``'s folder importable (helper modules).

    Raises:
        FlowUnavailable: the text does not import (the exception names the file).
    """
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    name = f"interop_compare_{origin.stem}_{digest}"
    if name in _MODULES:
        return _MODULES[name]
    folder = folder or Path(tempfile.mkdtemp(prefix="interop-compare-flows-"))
    path = folder / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    dag_folder = str(origin.resolve().parent)
    if dag_folder not in sys.path:
        sys.path.insert(0, dag_folder)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except BaseException as exc:  # noqa: BLE001 - the converted module failed to import
        sys.modules.pop(name, None)
        raise FlowUnavailable(f"the flow converted from {origin} failed to import: {type(exc).__name__}: {exc}") from exc
    _MODULES[name] = module
    return module


def find_flow(module: Any, name: str, where: str) -> Any:
    """The flow called ``name`` in ``module``.

    Raises:
        FlowUnavailable: no such flow; the message lists the flows found.
    """
    from prefect import Flow

    flows = {obj.name: obj for obj in vars(module).values() if isinstance(obj, Flow)}
    if name not in flows:
        raise FlowUnavailable(f"no Prefect flow named {name!r} in {where}. Found flows: {sorted(flows)}")
    return flows[name]


def state_word(state: Any) -> str:
    """A Prefect task run state in Airflow's words."""
    if state is None:
        return "none"
    kind = state.type.value if hasattr(state.type, "value") else str(state.type)
    if kind == "COMPLETED":
        return "skipped" if state.name == "Skipped" else "success"
    if kind in ("FAILED", "CRASHED"):
        return "upstream_failed" if state.name in ("UpstreamFailed", "NotReady") else "failed"
    if kind == "CANCELLED":
        return "failed"
    if kind == "PENDING" and state.name in ("NotReady", "UpstreamFailed"):
        return "upstream_failed"
    return "none"


def _read_task_runs(client: Any, flow_run_id: Any) -> list[Any]:
    """Every task run of one flow run (paged: a mapped task may have hundreds)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs: list[Any] = []
    while True:
        page = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                                     limit=200, offset=len(runs))
        runs.extend(page)
        if len(page) < 200:
            return runs


def _all_task_runs(flow_run_id: Any, timeout: float, expect: set[str] = frozenset()) -> tuple[list[Any], dict[Any, list[Any]], dict[Any, Any], Any]:
    """Task runs of the flow run and of its subflow runs: ``(runs, {subflow call's task run id:
    the subflow's task runs}, {subflow run id: its call's task run id}, the flow run)``.

    Task runs and their states reach the API through events, shortly after the flow returns:
    read until every run is final, every task in ``expect`` has a run, and two reads agree.
    """
    from prefect import get_client

    from interop.compare.graph import run_label

    deadline = time.monotonic() + timeout
    previous = None
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        while True:
            all_runs = _read_task_runs(client, flow_run_id)
            children: dict[Any, list[Any]] = {}
            subflow_of: dict[Any, Any] = {}
            queue = list(all_runs)
            while queue:
                run = queue.pop()
                child = getattr(run.state.state_details, "child_flow_run_id", None) if run.state else None
                if child:
                    inner = _read_task_runs(client, child)
                    children[run.id] = inner
                    subflow_of[child] = run.id
                    all_runs.extend(inner)
                    queue.extend(inner)
            snapshot = sorted((str(r.id), r.state_type.value if r.state_type else None, r.state_name) for r in all_runs)
            final = all(r.state is not None and (r.state.is_final() or r.state.name == "NotReady") for r in all_runs)
            names = {r.name for r in all_runs} | {run_label(r.name) for r in all_runs}
            if (final and expect <= names and snapshot == previous) or time.monotonic() > deadline:
                return all_runs, children, subflow_of, flow_run
            previous = snapshot
            time.sleep(0.15)


def _persisted_result(run: Any) -> tuple[bool, Any]:
    if run.state is None or not run.state.is_completed() or run.state.name == "Skipped":
        return False, None
    try:
        return True, run.state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - result not persisted
        return False, None


def _airflow_variables_to_prefect() -> None:
    """The Variables the Airflow side reads from ``AIRFLOW_VAR_<KEY>`` (Airflow's environment
    backend) are the Prefect Variables the converted flow reads (``interop import-variables``'s
    names), so both runs read the same values."""
    values = {key[len("AIRFLOW_VAR_"):]: value for key, value in os.environ.items() if key.startswith("AIRFLOW_VAR_")}
    if values:
        from interop.deploy.variables import import_variables

        import_variables(values, overwrite=True)


def run_flow(flow: Any, *, task_ids: set[str], logical_date: str, params: dict[str, Any], read_timeout: float = 60.0) -> tuple[SideRun, Any]:
    """Run a flow on the configured Prefect API and read back its task runs.

    Returns:
        ``(the side, the executed graph over task ids)``.

    Raises:
        FlowUnavailable: the flow does not take the given params.
    """
    from prefect.settings import PREFECT_RESULTS_PERSIST_BY_DEFAULT, temporary_settings

    accepted = inspect.signature(flow.fn).parameters
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    kwargs = dict(params)
    unknown = sorted(k for k in kwargs if k not in accepted)
    if unknown and not var_kw:
        raise FlowUnavailable(f"flow {flow.name!r} has no parameter(s) {unknown}. Parameters: {sorted(accepted)}")
    if "logical_date" in accepted or var_kw:
        kwargs["logical_date"] = logical_date
    from interop.supervise import quiet_temporary_server

    quiet_temporary_server()
    _airflow_variables_to_prefect()
    with temporary_settings({PREFECT_RESULTS_PERSIST_BY_DEFAULT: True}):
        state = flow(**kwargs, return_state=True)
        flow_run_id = state.state_details.flow_run_id
        try:
            returned = state.result(raise_on_failure=False)
        except Exception as exc:  # noqa: BLE001 - result unreadable
            returned = exc
        # every task the flow returned a result for must have its runs read back
        expect = set(returned) & task_ids if isinstance(returned, dict) else set()
        runs, children, subflow_of, flow_run = _all_task_runs(flow_run_id, read_timeout, expect)
        graph, named, extra = executed_graph(runs, task_ids, children, subflow_of)
        persisted = {tid: _persisted_result(rs[-1]) for tid, rs in named.items() if not isinstance(returned, dict) or tid not in returned}

    origin_candidates = [r.start_time for rs in named.values() for r in rs if r.start_time]
    origin = min(origin_candidates) if origin_candidates else flow_run.start_time
    tasks: dict[str, TaskSide] = {}
    for tid, rs in named.items():
        last = rs[-1]
        words = [state_word(r.state) for r in rs]
        word = words[0] if len(rs) == 1 else (
            "failed" if "failed" in words else "upstream_failed" if "upstream_failed" in words
            else "skipped" if all(w == "skipped" for w in words) else "success"
        )
        values: dict[str, Any] = {}
        if word in ("failed", "upstream_failed"):
            pass  # a failed task has no value (Airflow pushes no XCom); the flow read it without raising
        elif isinstance(returned, dict) and tid in returned:
            values["return_value"] = normalise(returned[tid])
        elif persisted.get(tid, (False, None))[0]:
            values["return_value"] = normalise(persisted[tid][1])
        starts = [r.start_time for r in rs if r.start_time]
        ends = [r.end_time for r in rs if r.end_time]
        error = None
        if last.state is not None and word == "failed":
            error = (last.state.message or "")[-2000:] or None
        tasks[tid] = TaskSide(
            state=word,
            values=values,
            start=round((min(starts) - origin).total_seconds(), 4) if starts and origin else None,
            end=round((max(ends) - origin).total_seconds(), 4) if ends and origin else None,
            error=error,
        )
    ends = [r.end_time for rs in named.values() for r in rs if r.end_time]
    side = SideRun(
        kind="prefect",
        how=f"Prefect flow {flow.name!r} on the Prefect API",
        state="success" if state.is_completed() else "failed",
        run_id=str(flow_run_id),
        message=None if state.is_completed() else (state.message or state.name or "")[-2000:],
        duration=round((max(ends) - origin).total_seconds(), 4) if ends and origin else None,
        tasks=tasks,
        edges=sorted(graph.edges),
        extra_tasks=extra,
    )
    return side, graph
