"""End to end: every sample DAG, converted, does on real Prefect what real Airflow did with it.

For each DAG of ``sample_dags/`` (see ``airflow_truth.SAMPLES``):

1. Airflow runs the original DAG (``airflow dags test``, Airflow 3.3, or 2.11 for DAGs that do
   not import under 3) and gives states, XComs and edges (``airflow_truth``). No expected value
   in this file was written by hand.
2. ``converters.convert_source`` converts the file; the ledger must list the DAG's tasks and
   edges, remove exactly the Empty/Dummy operators, and leave nothing to a hand.
3. The converted module is imported from a temporary folder (with ``sample_dags/`` importable,
   for the team's helper modules) and the flow named like the DAG is called with
   ``logical_date`` on the session's Prefect server. It returns ``{task_id: result}``.
4. Compared with Airflow: each task's result against its XComs (``returns`` in the ledger says
   whether the result is the return value or a dict of every pushed key), each task's final
   state, and the executed graph read back from Prefect's task runs (``task_inputs``, including
   ``wait_for``) against the DAG's edges with Empty/Dummy nodes contracted. Graphs are compared
   by their transitive reductions: the same orderings, no missing edge, and no ordering between
   tasks the DAG lets run side by side. Pairs of slow independent tasks must also overlap in
   time (a flow calling them one after the other has no edge between them, but serialises them).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from airflow_truth import (
    CONCURRENT_PAIRS,
    EMPTY_OPERATORS,
    SAMPLE_DAGS,
    SAMPLES,
    Sample,
    contracted_edges,
    dag_truths,
)

pytestmark = [pytest.mark.airflow]

#: Operator classes the conversion contract turns into plain Prefect code (docs/ and DESIGN:
#: Python, Bash, Empty/Dummy, TaskFlow, branch and short-circuit); anything else is shimmed.
NATIVE_OPERATORS = frozenset(
    {
        "PythonOperator",
        "BashOperator",
        "_PythonDecoratedOperator",
        "BranchPythonOperator",
        "ShortCircuitOperator",
        *EMPTY_OPERATORS,
    }
)

#: Airflow task state -> (Prefect state type, Prefect state name).
STATE_MAP = {
    "success": ("COMPLETED", "Completed"),
    "skipped": ("COMPLETED", "Skipped"),
    "failed": ("FAILED", None),  # any name of a FAILED state
}

SAMPLE_PARAMS = [pytest.param(s, id=s.id) for s in SAMPLES]


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def truths(request) -> dict[str, dict]:
    """Airflow's ground truth for every sample, computed in one batch (both Airflow versions).

    When the session also runs flows, the Prefect server starts while Airflow works.
    """
    outcome: dict[str, Any] = {}

    def compute() -> None:
        started = time.perf_counter()
        try:
            outcome["results"] = dag_truths([s.request() for s in SAMPLES])
        except BaseException as exc:  # re-raised in the test thread
            outcome["error"] = exc
        outcome["seconds"] = time.perf_counter() - started

    worker = threading.Thread(target=compute, name="airflow-truth")
    worker.start()
    if any("prefect_server" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("prefect_server")
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    sys.stderr.write(f"\n[airflow truth] {len(SAMPLES)} DAGs in {outcome['seconds']:.1f} s\n")
    return {s.id: truth for s, truth in zip(SAMPLES, outcome["results"])}


_CONVERSIONS: dict[str, Any] = {}


def convert(sample: Sample) -> Any:
    """Convert a sample file once per session with the converter's Python API."""
    if sample.file not in _CONVERSIONS:
        import converters

        _CONVERSIONS[sample.file] = converters.convert_source(sample.path.read_text(), str(sample.path))
    return _CONVERSIONS[sample.file]


def ledger_dag(sample: Sample) -> dict:
    """The ledger entry of the sample's DAG, from the conversion report."""
    report = convert(sample).report()
    found = [d.get("dag_id") for d in report.get("dags", [])]
    for entry in report.get("dags", []):
        if entry.get("dag_id") == sample.dag_id:
            return entry
    raise AssertionError(
        f"DAG {sample.dag_id!r} not in the conversion report of {sample.file}; found dags {found}; "
        f"findings: {report.get('findings')}"
    )


@dataclass
class FlowRunOutcome:
    """What a converted flow did on Prefect."""

    result: Any
    state_type: str
    state_name: str
    #: task id -> the task run (Prefect ``TaskRun``) named by it
    runs: dict[str, Any]
    #: task runs whose name is no task id (helper tasks of the conversion)
    other_runs: list[Any] = field(default_factory=list)
    #: the executed graph over task ids, from task_inputs (helper task runs contracted)
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    module_path: Path | None = None


_OUTCOMES: dict[str, FlowRunOutcome] = {}


@pytest.fixture(scope="session")
def converted_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("converted_samples")
    # Converted modules import the team's helper modules (sample_dags/plugins) like the DAGs did.
    if str(SAMPLE_DAGS) not in sys.path:
        sys.path.insert(0, str(SAMPLE_DAGS))
    return folder


def import_converted(sample: Sample, folder: Path) -> Any:
    """Write the converted source next to nothing else and import it under a unique name."""
    result = convert(sample)
    module_name = f"interop_converted_{Path(sample.file).stem}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = folder / f"{module_name}.py"
    path.write_text(result.output)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def find_flow(module: Any, name: str) -> Any:
    from prefect.flows import Flow

    flows = {obj.name: obj for obj in vars(module).values() if isinstance(obj, Flow)}
    if name not in flows:
        raise AssertionError(
            f"no Prefect flow named {name!r} in converted module {module.__file__}; found flows {sorted(flows)}"
        )
    return flows[name]


def read_task_runs(flow_run_id: Any, timeout: float = 60.0) -> list[Any]:
    """Task runs of a flow run, once the server has recorded a final state for each of them.

    Prefect 3 records task run states from events, shortly after the flow returns; poll until
    every task run is final and two reads in a row agree.
    """
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    previous: list[tuple] | None = None
    runs: list[Any] = []
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200
            )
            snapshot = sorted((str(r.id), r.state_type.value if r.state_type else None) for r in runs)
            final = all(r.state is not None and r.state.is_final() for r in runs)
            if final and snapshot == previous:
                return runs
            if time.monotonic() > deadline:
                return runs
            previous = snapshot
            time.sleep(0.5)


def task_id_of(run_name: str, task_ids: set[str]) -> str | None:
    """The Airflow task id a Prefect task run stands for: its name, or its name without the
    ``-<key>`` suffix Prefect appends by default; ``None`` for helper task runs."""
    if run_name in task_ids:
        return run_name
    base, sep, _ = run_name.rpartition("-")
    if sep and base in task_ids:
        return base
    return None


def executed_graph(runs: list[Any], task_ids: set[str]) -> tuple[nx.DiGraph, dict[str, Any], list[Any]]:
    """The graph of task runs from ``task_inputs`` (data inputs and ``wait_for``), with task runs
    that stand for no DAG task contracted away."""
    by_id = {r.id: r for r in runs}
    full = nx.DiGraph()
    named: dict[str, Any] = {}
    others: list[Any] = []
    duplicates: list[str] = []
    for run in runs:
        tid = task_id_of(run.name, task_ids)
        if tid is None:
            others.append(run)
        elif tid in named:
            duplicates.append(tid)
        else:
            named[tid] = run
        full.add_node(run.id)
    if duplicates:
        raise AssertionError(f"tasks run more than once in the flow run: {sorted(set(duplicates))}")
    for run in runs:
        for inputs in (run.task_inputs or {}).values():
            for item in inputs:
                if getattr(item, "input_type", None) == "task_run" and item.id in by_id:
                    full.add_edge(item.id, run.id)
    node_name = {r.id: task_id_of(r.name, task_ids) for r in runs}
    removed = {str(r.id) for r in others}
    edges = [(str(u), str(v)) for u, v in full.edges]
    kept = contracted_edges(edges, removed)
    graph = nx.DiGraph()
    graph.add_nodes_from(named)
    id_to_name = {str(k): v for k, v in node_name.items()}
    graph.add_edges_from((id_to_name[u], id_to_name[v]) for u, v in kept)
    return graph, named, others


def run_converted(sample: Sample, folder: Path, truth: dict) -> FlowRunOutcome:
    """Run the sample's converted flow once per session and read back what it did."""
    if sample.id in _OUTCOMES:
        return _OUTCOMES[sample.id]
    module = import_converted(sample, folder)
    flow = find_flow(module, sample.dag_id)
    state = flow(logical_date=sample.logical_date, return_state=True)
    flow_run_id = state.state_details.flow_run_id
    result = state.result(raise_on_failure=False)
    runs = read_task_runs(flow_run_id)
    task_ids = set(truth["task_operators"])
    graph, named, others = executed_graph(runs, task_ids)
    outcome = FlowRunOutcome(
        result=result,
        state_type=state.type.value,
        state_name=state.name,
        runs=named,
        other_runs=others,
        graph=graph,
        module_path=Path(module.__file__),
    )
    _OUTCOMES[sample.id] = outcome
    return outcome


def jsonish(value: Any) -> Any:
    """A value as it would look after an XCom round trip (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value, default=str))


def kept_tasks(sample: Sample) -> dict[str, dict]:
    """Ledger tasks the converted flow keeps (``returns`` not null), by task id."""
    return {t["task_id"]: t for t in ledger_dag(sample)["tasks"] if t.get("returns") is not None}


# ----------------------------------------------------------------------------- the ledger
@pytest.mark.parametrize("sample", SAMPLE_PARAMS)
def test_ledger_lists_the_dags_tasks_and_edges(sample: Sample, truths: dict[str, dict]) -> None:
    """The report names every Airflow task once, with Airflow's edges, and leaves nothing manual."""
    truth = truths[sample.id]
    result = convert(sample)
    entry = ledger_dag(sample)
    tasks = {t["task_id"]: t for t in entry["tasks"]}
    assert len(tasks) == len(entry["tasks"]), f"duplicate task ids in the ledger: {entry['tasks']}"
    assert sorted(tasks) == sorted(truth["task_operators"]), "ledger tasks differ from the DAG's tasks"
    assert sorted(map(list, entry["edges"])) == truth["edges"], "ledger edges differ from Airflow's"

    removed = {tid for tid, t in tasks.items() if t.get("returns") is None}
    empties = {tid for tid, op in truth["task_operators"].items() if op in EMPTY_OPERATORS}
    assert removed == empties, f"removed tasks {sorted(removed)} are not the Empty/Dummy tasks {sorted(empties)}"

    dispositions = {tid: t["disposition"] for tid, t in tasks.items()}
    manual = sorted(tid for tid, d in dispositions.items() if d == "manual")
    assert not manual, f"tasks left to a hand: {manual}; findings: {result.report().get('findings')}"
    shimmed_expected = {tid for tid, op in truth["task_operators"].items() if op not in NATIVE_OPERATORS}
    shimmed = {tid for tid, d in dispositions.items() if d == "shimmed"}
    assert shimmed == shimmed_expected, f"shimmed {sorted(shimmed)}, operators not native: {sorted(shimmed_expected)}"
    assert result.status == "converted", f"status {result.status!r}; findings: {result.report().get('findings')}"


# ----------------------------------------------------------------------------- the run
@pytest.mark.prefect
@pytest.mark.parametrize("sample", SAMPLE_PARAMS)
def test_task_results_equal_airflow_xcoms(sample, truths, prefect_server, converted_dir) -> None:
    """Each task's result in the flow's returned dict equals the XComs Airflow stored."""
    truth = truths[sample.id]
    outcome = run_converted(sample, converted_dir, truths[sample.id])
    want_flow_state = "COMPLETED" if truth["dag_run_state"] == "success" else "FAILED"
    assert outcome.state_type == want_flow_state, (
        f"flow run ended {outcome.state_name} (DAG run {truth['dag_run_state']}): {outcome.result!r}"
    )
    assert isinstance(outcome.result, dict), f"flow returned {type(outcome.result).__name__}, not a dict"
    kept = kept_tasks(sample)
    assert sorted(outcome.result) == sorted(kept), "flow result keys differ from the converted tasks"

    differences = []
    for task_id, entry in sorted(kept.items()):
        xcoms = truth["tasks"][task_id]["xcoms"]
        actual = jsonish(outcome.result[task_id])
        if "skipmixin_key" in xcoms:
            # A branch task: Airflow records its decision under the internal key skipmixin_key
            # ({"followed": [task ids]}) and (Airflow 3) stores no return value. The flow's
            # result for it must be that decision: the task id followed, or the list of them.
            followed = xcoms["skipmixin_key"].get("followed")
            others = {k: v for k, v in xcoms.items() if k not in ("skipmixin_key", "return_value")}
            decision = actual.get("return_value") if entry["returns"] == "xcoms" and isinstance(actual, dict) else actual
            if not (decision == followed or [decision] == followed or sorted(decision or []) == sorted(followed or [])):
                differences.append(f"{task_id} (branch): flow chose {decision!r}, Airflow followed {followed!r}")
            if others:
                differences.append(f"{task_id} (branch): Airflow also pushed {sorted(others)}, not compared by this rule")
            continue
        if entry["returns"] == "value":
            expected = xcoms.get("return_value")
            # Keys other than return_value are only allowed when Airflow split a dict return
            # into keys (multiple_outputs): then each equals the returned dict's entry.
            extra = {k: v for k, v in xcoms.items() if k != "return_value"}
            if extra and not (isinstance(expected, dict) and all(expected.get(k) == v for k, v in extra.items())):
                differences.append(f"{task_id}: returns 'value' but Airflow pushed keys {sorted(extra)}")
        elif entry["returns"] == "xcoms":
            expected = xcoms
            if isinstance(actual, dict) and actual.get("return_value", 0) is None and "return_value" not in xcoms:
                actual = {k: v for k, v in actual.items() if k != "return_value"}  # Airflow keeps no None
        else:
            differences.append(f"{task_id}: unknown returns {entry['returns']!r}")
            continue
        if actual != expected:
            differences.append(f"{task_id} ({entry['returns']}): flow {actual!r} != airflow {expected!r}")
    assert not differences, "\n".join(differences)


@pytest.mark.prefect
@pytest.mark.parametrize("sample", SAMPLE_PARAMS)
def test_task_states_equal_airflow_states(sample, truths, prefect_server, converted_dir) -> None:
    """Each converted task ends in the state its Airflow task instance ended in."""
    truth = truths[sample.id]
    outcome = run_converted(sample, converted_dir, truths[sample.id])
    differences = []
    for task_id in sorted(kept_tasks(sample)):
        airflow_state = truth["tasks"][task_id]["state"]
        if airflow_state not in STATE_MAP:
            differences.append(f"{task_id}: Airflow state {airflow_state!r} has no Prefect mapping here")
            continue
        want_type, want_name = STATE_MAP[airflow_state]
        run = outcome.runs.get(task_id)
        if run is None:
            differences.append(f"{task_id}: no task run; runs: {sorted(r for r in outcome.runs)}")
            continue
        got = (run.state_type.value, run.state_name)
        if got[0] != want_type or (want_name is not None and got[1] != want_name):
            differences.append(f"{task_id}: prefect {got} vs airflow {airflow_state!r}")
    assert not differences, "\n".join(differences)


@pytest.mark.prefect
@pytest.mark.parametrize("sample", SAMPLE_PARAMS)
def test_executed_graph_equals_dag_graph(sample, truths, prefect_server, converted_dir) -> None:
    """The task runs' dependencies (task_inputs, wait_for) order tasks exactly as the DAG does."""
    truth = truths[sample.id]
    outcome = run_converted(sample, converted_dir, truths[sample.id])
    empties = {tid for tid, op in truth["task_operators"].items() if op in EMPTY_OPERATORS}
    expected = nx.DiGraph()
    expected.add_nodes_from(set(truth["task_operators"]) - empties)
    expected.add_edges_from(contracted_edges(truth["edges"], empties))
    actual = outcome.graph

    assert set(actual.nodes) == set(expected.nodes), (
        f"task runs {sorted(actual.nodes)} vs DAG tasks {sorted(expected.nodes)}; "
        f"helper runs {[r.name for r in outcome.other_runs]}"
    )
    assert nx.is_directed_acyclic_graph(actual), f"cycle in executed graph: {sorted(actual.edges)}"
    want = set(nx.transitive_reduction(expected).edges)
    got = set(nx.transitive_reduction(actual).edges)
    closure_want = set(nx.transitive_closure_dag(expected).edges)
    closure_got = set(nx.transitive_closure_dag(actual).edges)
    lines = []
    if closure_want - closure_got:
        lines.append(f"orderings missing in the flow run: {sorted(closure_want - closure_got)}")
    if closure_got - closure_want:
        lines.append(
            "orderings recorded in the flow run that the DAG does not have "
            f"(serialised, or a spurious input edge): {sorted(closure_got - closure_want)}"
        )
    assert got == want, "\n".join(
        lines + [f"flow run edges {sorted(actual.edges)}", f"DAG edges (Empty contracted) {sorted(expected.edges)}"]
    )


CONCURRENT_PARAMS = [
    pytest.param(s, a, b, id=f"{s.id}::{a}|{b}")
    for s in SAMPLES
    for a, b in CONCURRENT_PAIRS.get(s.dag_id, [])
]


@pytest.mark.prefect
@pytest.mark.parametrize(("sample", "first", "second"), CONCURRENT_PARAMS)
def test_parallel_branches_run_concurrently(sample, first, second, truths, prefect_server, converted_dir) -> None:
    """Two slow tasks the DAG lets run side by side overlap in time in the flow run."""
    outcome = run_converted(sample, converted_dir, truths[sample.id])
    a, b = outcome.runs.get(first), outcome.runs.get(second)
    assert a is not None and b is not None, f"task runs found: {sorted(outcome.runs)}"
    assert a.start_time and a.end_time and b.start_time and b.end_time, "task runs without start/end time"
    overlap = min(a.end_time, b.end_time) - max(a.start_time, b.start_time)
    assert overlap.total_seconds() > 0, (
        f"{first} ran {a.start_time}..{a.end_time}, {second} ran {b.start_time}..{b.end_time}: one after the other"
    )
