"""The ground-truth harness (``airflow_truth``) against real Airflow 3.3 and 2.11.

These tests check that the truth the equivalence tests rely on is complete and read correctly:
every sample DAG runs to success under Airflow with every task, XComs read from the metadata DB
agree with what Airflow's own templating pulled, results are cached, and failures are explained.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import airflow_truth
from airflow_truth import (
    SAMPLE_DAGS,
    SAMPLES,
    AirflowTruthError,
    contracted_edges,
    dag_truth,
    sample_truths,
)

pytestmark = [pytest.mark.airflow]


@pytest.fixture(scope="session")
def truths() -> dict[str, dict]:
    return sample_truths()


def test_every_sample_file_is_in_the_corpus_table() -> None:
    files = {p.name for p in SAMPLE_DAGS.glob("*.py")}
    assert files == {s.file for s in SAMPLES}
    assert len(SAMPLES) >= 10


@pytest.mark.parametrize("sample", [pytest.param(s, id=s.id) for s in SAMPLES])
def test_airflow_runs_every_task_of_the_sample(sample, truths) -> None:
    truth = truths[sample.id]
    assert truth["dag_id"] == sample.dag_id
    assert truth["airflow_version"].split(".")[0] == sample.airflow
    assert truth["logical_date"] == sample.logical_date
    assert truth["dag_run_state"] == "success", truth
    assert sorted(truth["tasks"]) == sorted(truth["task_operators"]), "a task of the DAG did not run"
    assert {t["state"] for t in truth["tasks"].values()} <= {"success", "skipped"}
    nodes = {n for edge in truth["edges"] for n in edge}
    assert nodes <= set(truth["task_operators"])
    assert truth["edges"], "every sample has dependencies"


@pytest.mark.parametrize(
    ("sample_id", "consumer", "producer"),
    [
        ("etl_xcom::etl_orders_xcom", "report", "load"),
        ("xcomarg_output::web_digest_xcomarg", "send_digest", "describe"),
        ("xcomarg_output::web_digest_xcomarg", "describe", "crawl_stats:busiest"),
        ("legacy_provide_context::legacy_sales_rollup", "archive", "publish"),
    ],
)
def test_xcoms_read_from_the_db_agree_with_airflows_own_pulls(sample_id, consumer, producer, truths) -> None:
    """A templated ``{{ ti.xcom_pull(...) }}`` rendered by Airflow shows the value the harness read."""
    tasks = truths[sample_id]["tasks"]
    producer_task, _, key = producer.partition(":")
    pulled = tasks[producer_task]["xcoms"][key or "return_value"]
    rendered = tasks[consumer]["xcoms"]["return_value"]
    assert str(pulled) in rendered


def test_multiple_outputs_are_stored_per_key(truths) -> None:
    clean = truths["taskflow::weather_taskflow"]["tasks"]["clean"]["xcoms"]
    assert set(clean) == {"return_value", "kept", "dropped"}
    assert {k: clean["return_value"][k] for k in ("kept", "dropped")} == {"kept": clean["kept"], "dropped": clean["dropped"]}


def test_exit_code_99_skips_the_task_and_its_downstream(truths) -> None:
    tasks = truths["bash_templating::market_data_bash"]["tasks"]
    assert tasks["holiday_check"]["state"] == "skipped" and tasks["holiday_check"]["xcoms"] == {}
    assert tasks["fetch_prices"]["state"] == "skipped" and tasks["fetch_prices"]["try_number"] == 0


def test_branch_skips_the_path_not_taken(truths) -> None:
    tasks = truths["branching::warehouse_branching"]["tasks"]
    followed = tasks["choose_load"]["xcoms"]["skipmixin_key"]["followed"]
    not_taken = {"full_load", "incremental_load"} - set(followed)
    assert len(followed) == 1 and len(not_taken) == 1
    assert tasks[followed[0]]["state"] == "success" and tasks[not_taken.pop()]["state"] == "skipped"
    assert tasks["refresh_marts"]["state"] == "success"  # after the none_failed_min_one_success join


def test_truth_is_cached_for_the_session(truths) -> None:
    sample = SAMPLES[0]
    runs_before = len(airflow_truth.session().timings)
    again = dag_truth(sample.path, sample.dag_id, sample.logical_date, sample.airflow)
    assert again == truths[sample.id]
    assert len(airflow_truth.session().timings) == runs_before, "a cached truth started Airflow again"


def test_unknown_dag_id_is_reported_with_the_file(truths) -> None:
    sample = SAMPLES[0]
    with pytest.raises(AirflowTruthError) as info:
        dag_truth(sample.path, "no_such_dag", sample.logical_date, "3")
    message = str(info.value)
    assert "no_such_dag" in message and sample.file in message


def test_legacy_sample_does_not_import_under_airflow_3(tmp_path) -> None:
    legacy = SAMPLE_DAGS / "legacy_provide_context.py"
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", f"import runpy; runpy.run_path({str(legacy)!r})"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode != 0
    assert "ModuleNotFoundError: No module named 'airflow.operators." in proc.stderr


@pytest.mark.parametrize(
    ("edges", "removed", "expected"),
    [
        pytest.param([("a", "e"), ("e", "b")], {"e"}, {("a", "b")}, id="through-one"),
        pytest.param([("s", "a"), ("s", "b"), ("a", "j"), ("b", "j"), ("j", "c"), ("c", "end")],
                     {"s", "j", "end"}, {("a", "c"), ("b", "c")}, id="start-join-end"),
        pytest.param([("a", "e1"), ("e1", "e2"), ("e2", "b"), ("a", "c")], {"e1", "e2"},
                     {("a", "b"), ("a", "c")}, id="chain-of-empties"),
        pytest.param([("a", "b")], set(), {("a", "b")}, id="nothing-removed"),
    ],
)
def test_contracted_edges(edges, removed, expected) -> None:
    assert contracted_edges(edges, removed) == expected


def test_missing_airflow2_venv_is_explained(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(airflow_truth, "AIRFLOW2_VENV", tmp_path / ".venv-airflow2")
    with pytest.raises(AirflowTruthError, match=r"\.venv-airflow2.*apache-airflow==2\.11"):
        airflow_truth.airflow_python("2")
    with pytest.raises(AirflowTruthError, match="unknown Airflow version '1'"):
        airflow_truth.airflow_python("1")
