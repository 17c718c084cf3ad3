"""The value rules of ``interop compare`` on values taken from real runs of Airflow's examples.

Each case's XComs and flow results are the ones the reports of ``tests/test_compare_examples.py``
recorded (Airflow 3.3 in-process runner, Airflow 2.11 sidecar, Prefect 3), so the rules are held
against what the two sides really produce; the end-to-end runs are in that test.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime, timezone

from interop.compare.values import RUN_TIME, at_run_time, compare_task_values


def test_a_clock_reading_taken_during_the_run_is_the_time_of_the_run() -> None:
    """``date``'s output and ISO times read during the window are the time of the run; others stay."""
    started = time.time()
    printed = subprocess.run(["date"], capture_output=True, text=True, check=True).stdout.strip()
    run_id = f"manual__{datetime.now(timezone.utc).isoformat()}"
    window = (started, time.time())
    assert at_run_time(printed, window) == RUN_TIME
    assert at_run_time(run_id, window) == f"manual__{RUN_TIME}"
    assert at_run_time({"ids": [run_id]}, window) == {"ids": [f"manual__{RUN_TIME}"]}
    # a logical date is data, not the clock
    assert at_run_time("manual__2024-01-15T00:00:00+00:00", window) == "manual__2024-01-15T00:00:00+00:00"


def test_trigger_run_ids_made_of_each_runs_time_are_the_same_value() -> None:
    """example_trigger_controller_dag: TriggerDagRunOperator's run id is ``manual__<time of the trigger>``."""
    link = "/dags/example_trigger_target_dag/runs/manual__"
    airflow = {"_link_TriggerDagRunLink": f"{link}2026-12-07T14:37:24.155818+00:00",
               "trigger_run_id": "manual__2026-12-07T14:37:24.155818+00:00"}
    flow = {"return_value": {"_link_TriggerDagRunLink": f"{link}2026-12-07T14:37:24.364617+00:00",
                             "trigger_run_id": "manual__2026-12-07T14:37:24.364617+00:00"}}
    a_window = (datetime(2026, 12, 7, 14, 37, 23, tzinfo=timezone.utc).timestamp(), datetime(2026, 12, 7, 14, 37, 24, 200000, tzinfo=timezone.utc).timestamp())
    p_window = (datetime(2026, 12, 7, 14, 37, 24, 300000, tzinfo=timezone.utc).timestamp(), datetime(2026, 12, 7, 14, 37, 25, tzinfo=timezone.utc).timestamp())
    diffs, _, ignored = compare_task_values("test_trigger_dagrun", "xcoms", airflow, flow, True, windows=(a_window, p_window))
    assert diffs == []
    assert any(i.startswith("trigger_run_id (the wall-clock time of each run") for i in ignored)
    # the same two values without the windows: a difference
    diffs, _, _ = compare_task_values("test_trigger_dagrun", "xcoms", airflow, flow, True)
    assert [d.key for d in diffs] == ["trigger_run_id"]


def test_a_falsy_short_circuit_is_compared_as_its_condition() -> None:
    """example_short_circuit_operator under Airflow 3: no return value, ``skipmixin_key: {skipped: [...]}``."""
    airflow = {"skipmixin_key": {"skipped": ["false_2", "false_1"]}}
    assert compare_task_values("condition_is_False", "value", airflow, {"return_value": False}, True)[0] == []
    diffs, _, _ = compare_task_values("condition_is_False", "value", airflow, {"return_value": True}, True)
    assert diffs and diffs[0].reason.startswith("short-circuit: Airflow skipped the tasks below")


def test_a_shimmed_branch_operator_is_compared_by_its_choice() -> None:
    """example_branch_day_of_week_operator: Airflow 3 pushes the choice only; Airflow 2.11 also as return_value."""
    flow = {"return_value": {"skipmixin_key": {"followed": ["branch_true"]}}}
    airflow3 = {"skipmixin_key": {"followed": ["branch_true"]}}
    airflow2 = {"skipmixin_key": {"followed": ["branch_true"]}, "return_value": "branch_true"}
    assert compare_task_values("make_choice", "xcoms", airflow3, flow, True)[0] == []
    diffs, _, ignored = compare_task_values("make_choice", "xcoms", airflow2, flow, True)
    assert diffs == [] and "return_value (the branch's choice again, as Airflow 2 pushes it)" in ignored
    other = {"skipmixin_key": {"followed": ["branch_false"]}}
    diffs, _, _ = compare_task_values("make_choice", "xcoms", other, flow, True)
    assert [d.key for d in diffs] == ["skipmixin_key"]


def test_a_task_with_do_xcom_push_false_keeps_no_return_value() -> None:
    """example_xcom's bash_pull (``do_xcom_push=False``): Airflow keeps nothing, the flow's value is not compared."""
    diffs, _, ignored = compare_task_values("bash_pull", "value", {}, {"return_value": "finished"}, True, return_kept=False)
    assert diffs == [] and ignored == ["return_value (do_xcom_push=False: Airflow keeps no return value)"]
    diffs, _, _ = compare_task_values("bash_pull", "value", {}, {"return_value": "finished"}, True)
    assert [d.reason for d in diffs] == ["Airflow pushed no such XCom"]


def test_airflow2_lineage_xcoms_are_not_compared() -> None:
    """Airflow 2.11's dataset producers push ``pipeline_outlets``; neither Airflow 3 nor the flow has them."""
    airflow = {"pipeline_outlets": [{"__classname__": "airflow.datasets.Dataset", "__version__": 1,
                                     "__data__": {"uri": "s3://bucket/my-task", "extra": None}}]}
    diffs, _, ignored = compare_task_values("produce_dataset_events", "value", airflow, {"return_value": None}, True)
    assert diffs == [] and ignored == ["pipeline_outlets"]
