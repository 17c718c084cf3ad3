"""Converted branching, short-circuit, skip and mapping constructs run on real Prefect and do
what Airflow did.

Ground truth is Airflow's own execution of the DAG (the in-process runner, itself checked
against ``airflow dags test`` in ``test_runner_conformance.py``); the converted flow runs on the
session's Prefect server. Per task: the state (success / skipped) and the return value.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

import pytest

from converters import convert_file

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "convert"


def _example(name: str) -> Path:
    from conftest import airflow_example_dag_files

    return next(p for p in airflow_example_dag_files() if p.stem == name)


CASES = [
    pytest.param(FIXTURES / "branching.before.py", "branchy", {"n": 3}, id="branch-small"),
    pytest.param(FIXTURES / "branching.before.py", "branchy", {"n": 50}, id="branch-big"),
    pytest.param(FIXTURES / "assigned_dag_with_block.before.py", "assigned_then_with", {}, id="assigned-dag-with-block"),
    pytest.param(FIXTURES / "task_list_append.before.py", "appended_tasks", {}, id="task-list-append"),
    pytest.param(FIXTURES / "dict_items_loop.before.py", "tables", {}, id="dict-items-loop"),
    pytest.param(FIXTURES / "task_joined_by_wiring.before.py", "joined", {}, id="task-joined-by-wiring"),
    pytest.param(FIXTURES / "context_dag_id.before.py", "audited", {}, id="context-dag-id"),
    pytest.param(FIXTURES / "star_kwargs.before.py", "spread_args", {}, id="star-kwargs"),
    pytest.param(FIXTURES / "bash_decorator_skip.before.py", "bash_skip", {}, id="bash-decorator-skip"),
    pytest.param(FIXTURES / "taskflow_branch_in_dag.before.py", "taskflow_branches", {}, id="taskflow-branch-in-dag"),
    pytest.param(FIXTURES / "taskflow_list_arg.before.py", "list_arg", {}, id="taskflow-list-arg"),
    pytest.param(FIXTURES / "task_level_params.before.py", "task_params", {}, id="task-level-params"),
    pytest.param(FIXTURES / "op_kwargs_via_kwargs.before.py", "op_kwargs_kwargs", {}, id="op-kwargs-via-kwargs"),
    pytest.param(FIXTURES / "local_imports.before.py", "local_imports", {}, id="local-imports"),
    pytest.param(FIXTURES / "param_shadows_a_function.before.py", "param_shadow", {}, id="param-shadows-a-function"),
    pytest.param(None, "example_short_circuit_decorator", {}, id="airflow-short-circuit-decorator"),
    pytest.param(None, "example_short_circuit_operator", {}, id="airflow-short-circuit"),
    pytest.param(None, "example_dynamic_task_mapping", {}, id="airflow-task-mapping"),
    pytest.param(None, "example_task_mapping_second_order", {}, id="airflow-mapping-second-order"),
]


def _airflow_truth(path: Path, dag_id: str, params: dict) -> dict:
    from airflow_interop.runner import run_dag

    result = run_dag(str(path), dag_id, logical_date="2024-01-15T00:00:00+00:00", params=params or None, echo=False)
    return result.to_json()


def _run_flow(path: Path, dag_id: str, params: dict, tmp_path: Path) -> tuple[dict, dict[str, str]]:
    from prefect import Flow, get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    converted = convert_file(str(path))
    assert converted.status in ("converted", "partial"), converted.findings
    target = tmp_path / f"converted_{path.stem}.py"
    target.write_text(converted.output)
    spec = importlib.util.spec_from_file_location(target.stem, target)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    (flow,) = [f for f in vars(module).values() if isinstance(f, Flow) and f.name == dag_id]
    state = flow(logical_date="2024-01-15T00:00:00+00:00", return_state=True, **params)
    results = state.result()

    async def states() -> dict[str, str]:
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
            )
        out: dict[str, str] = {}
        for run in runs:
            name = run.name.rsplit("-", 1)[0]
            word = "skipped" if run.state.name == "Skipped" else ("success" if run.state.is_completed() else "failed")
            # a mapped task has several runs: skipped only if all are
            out[name] = word if name not in out else (out[name] if out[name] == word else "success")
        return out

    return results, asyncio.run(states())


@pytest.mark.parametrize("path, dag_id, params", CASES)
def test_converted_flow_matches_airflow(path, dag_id, params, tmp_path, prefect_server):
    if path is None:
        path = _example(dag_id) if dag_id.startswith("example_short") else _example("example_dynamic_task_mapping")
    truth = _airflow_truth(path, dag_id, params)
    results, states = _run_flow(path, dag_id, params, tmp_path)
    converted_tasks = {t.task_id for d in convert_file(str(path)).dags for t in d.tasks.values() if t.kind != "empty"}
    for task_id, airflow in truth["tasks"].items():
        if task_id not in converted_tasks:
            continue  # Empty operators are removed by design (their edges are kept)
        assert states.get(task_id) == airflow["state"], (task_id, states.get(task_id), airflow["state"])
        if airflow["state"] != "success":
            continue
        xcoms = airflow["xcoms"]
        mapped = sorted(k for k in xcoms if k.startswith("return_value["))
        if mapped:
            assert results[task_id] == [xcoms[k] for k in sorted(mapped, key=lambda k: int(k[13:-1]))], task_id
        elif "return_value" in xcoms:
            assert results[task_id] == xcoms["return_value"], task_id
