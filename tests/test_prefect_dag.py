"""``airflow_dag``: an unconverted DAG as a Prefect subflow, checked on a real Prefect server."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import airflow_example_dag_files
from airflow_interop.prefect_runs import edges, subflow_runs, task_runs

pytestmark = [pytest.mark.prefect, pytest.mark.airflow]


def _example(name: str) -> Path:
    return next(p for p in airflow_example_dag_files() if p.stem == name)


def _dag_edges(dag) -> set[tuple[str, str]]:
    return {(up, t.task_id) for t in dag.task_dict.values() for up in t.upstream_task_ids}


def test_airflow_dag_runs_as_subflow_with_task_runs_and_edges(prefect_server) -> None:
    from prefect import flow

    from airflow_interop.prefect_dag import airflow_dag
    from airflow_interop.runner import load_dag, run_dag

    path = _example("example_task_group")

    @flow
    def outer() -> dict:
        return airflow_dag(path, logical_date="2024-01-01", echo=False)

    state = outer(return_state=True)
    assert state.is_completed()
    xcoms = state.result()
    direct = run_dag(path, logical_date="2024-01-01", echo=False)
    assert xcoms == direct.xcoms()

    (sub,) = subflow_runs(state.state_details.flow_run_id)
    assert sub.name and sub.state.is_completed()
    runs = task_runs(sub.id)
    dag = load_dag(path)
    assert sorted(r.name for r in runs) == sorted(dag.task_dict)
    assert edges(runs) == _dag_edges(dag)
    assert all(r.state.is_completed() for r in runs)


BRANCH_FAIL_DAG = '''
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator


def explode(params):
    raise ValueError(f"bad input {params['n']}")


with DAG("shim_fails", schedule=None, params={"n": 0}):
    pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "work")
    work = PythonOperator(task_id="work", python_callable=explode)
    other = EmptyOperator(task_id="other")
    after = EmptyOperator(task_id="after")
    pick >> [work, other]
    work >> after
'''


def test_failed_airflow_task_fails_the_prefect_run(prefect_server, tmp_path: Path) -> None:
    from prefect import flow

    from airflow_interop.prefect_dag import AirflowDagFailed, airflow_dag

    path = tmp_path / "shim_fails.py"
    path.write_text(textwrap.dedent(BRANCH_FAIL_DAG))

    @flow
    def outer() -> dict:
        return airflow_dag(path, params={"n": 7}, echo=False)

    state = outer(return_state=True)
    assert state.is_failed()
    with pytest.raises(AirflowDagFailed) as err:
        state.result()
    assert "'work' failed" in str(err.value) and "bad input 7" in str(err.value)

    (sub,) = subflow_runs(state.state_details.flow_run_id)
    assert sub.state.is_failed()
    runs = {r.name: r for r in task_runs(sub.id)}
    assert runs["pick"].state.is_completed()
    assert runs["other"].state.name == "Skipped"
    assert runs["work"].state.is_failed() and "bad input 7" in runs["work"].state.message
    assert runs["after"].state.name == "UpstreamFailed"
    assert edges(list(runs.values())) == {("pick", "work"), ("pick", "other"), ("work", "after")}


CONTEXT_DAG = '''
from airflow.sdk import DAG, task

with DAG("shim_context", schedule=None, params={"region": "eu"}):

    @task
    def show(params=None, dag_run=None, ds=None):
        return {"region": params["region"], "conf": dict(dag_run.conf), "ds": ds}

    show()
'''


def test_params_conf_and_logical_date_pass_through(prefect_server, tmp_path: Path) -> None:
    from prefect import flow

    from airflow_interop.prefect_dag import airflow_dag

    path = tmp_path / "shim_context.py"
    path.write_text(textwrap.dedent(CONTEXT_DAG))

    @flow
    def outer() -> dict:
        return airflow_dag(path, logical_date="2024-02-29", params={"region": "us"}, conf={"batch": 7}, echo=False)

    assert outer()["show"]["return_value"] == {"region": "us", "conf": {"batch": 7}, "ds": "2024-02-29"}
