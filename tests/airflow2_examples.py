"""Airflow 2.11's bundled example DAGs as a conformance corpus for the sidecar and the compat loader.

Shared by tests/test_sidecar_examples.py and docs/compat-and-sidecar.md (the tables there are
these tables). Every DAG id the 2.11 example folder defines is in exactly one of:

* :data:`OFFLINE`: runs offline to success under ``airflow dags test``; the sidecar is compared
  with it, and so is the compat loader under Airflow 3 unless the DAG is in
  :data:`NOT_IN_AIRFLOW3`;
* :data:`NOT_OFFLINE`: needs something an offline test has not got, with the reason.

Files that define no DAG in this environment are in :data:`NO_DAG_HERE`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
AIRFLOW2_PYTHON = REPO / ".venv-airflow2" / "bin" / "python"
LOGICAL_DATE = "2024-01-01"


def airflow2_example_folder() -> Path | None:
    """``airflow/example_dags`` in ``.venv-airflow2``'s site-packages (``None`` if absent)."""
    found = sorted(REPO.glob(".venv-airflow2/lib/python3*/site-packages/airflow/example_dags"))
    return found[0] if found else None


#: file stem -> DAG ids; each runs offline to ``success`` under Airflow 2.11's ``dags test``
OFFLINE: dict[str, list[str]] = {
    "example_bash_operator": ["example_bash_operator"],
    "example_branch_datetime_operator": [
        "example_branch_datetime_operator",
        "example_branch_datetime_operator_2",
        "example_branch_datetime_operator_3",
    ],
    "example_branch_day_of_week_operator": ["example_weekday_branch_operator"],
    "example_branch_labels": ["example_branch_labels"],
    "example_branch_python_dop_operator_3": ["example_branch_dop_operator_v3"],
    "example_complex": ["example_complex"],
    "example_dataset_alias": [
        "dataset_alias_example_alias_consumer",
        "dataset_s3_bucket_consumer",
        "dataset_s3_bucket_producer",
    ],
    "example_dataset_alias_with_no_taskflow": [
        "dataset_alias_example_alias_consumer_with_no_taskflow",
        "dataset_s3_bucket_consumer_with_no_taskflow",
        "dataset_s3_bucket_producer_with_no_taskflow",
    ],
    "example_datasets": [
        "conditional_dataset_and_time_based_timetable",
        "consume_1_and_2_with_dataset_expressions",
        "consume_1_or_2_with_dataset_expressions",
        "consume_1_or_both_2_and_3_with_dataset_expressions",
        "dataset_consumes_1",
        "dataset_consumes_1_and_2",
        "dataset_consumes_1_never_scheduled",
        "dataset_consumes_unknown_never_scheduled",
        "dataset_produces_1",
        "dataset_produces_2",
    ],
    "example_display_name": ["example_display_name"],
    "example_dynamic_task_mapping": ["example_dynamic_task_mapping"],
    "example_dynamic_task_mapping_with_no_taskflow_operators": ["example_dynamic_task_mapping_with_no_taskflow_operators"],
    "example_external_task_marker_dag": ["example_external_task_marker_parent"],
    "example_inlet_event_extra": ["read_dataset_event"],
    "example_latest_only": ["latest_only"],
    "example_latest_only_with_trigger": ["latest_only_with_trigger"],
    "example_nested_branch_dag": ["example_nested_branch_dag"],
    "example_outlet_event_extra": [
        "dataset_with_extra_by_context",
        "dataset_with_extra_by_yield",
        "dataset_with_extra_from_classic_operator",
    ],
    "example_params_trigger_ui": ["example_params_trigger_ui"],
    "example_python_decorator": ["example_python_decorator"],
    "example_python_operator": ["example_python_operator"],
    "example_sensor_decorator": ["example_sensor_decorator"],
    "example_setup_teardown": ["example_setup_teardown"],
    "example_setup_teardown_taskflow": ["example_setup_teardown_taskflow"],
    "example_short_circuit_decorator": ["example_short_circuit_decorator"],
    "example_short_circuit_operator": ["example_short_circuit_operator"],
    "example_skip_dag": ["example_skip_dag"],
    "example_subdag_operator": ["example_subdag_operator.section-2"],
    "example_task_group": ["example_task_group"],
    "example_task_group_decorator": ["example_task_group_decorator"],
    "example_time_delta_sensor_async": ["example_time_delta_sensor_async"],
    "example_trigger_target_dag": ["example_trigger_target_dag"],
    "example_workday_timetable": ["example_workday_timetable"],
    "example_xcom": ["example_xcom"],
    "example_xcomargs": ["example_xcom_args", "example_xcom_args_with_operators"],
    "tutorial": ["tutorial"],
    "tutorial_dag": ["tutorial_dag"],
    "tutorial_taskflow_api": ["tutorial_taskflow_api"],
}

#: ``file::dag_id`` -> why it cannot run offline (or not to success) in a test
NOT_OFFLINE: dict[str, str] = {
    "example_bash_decorator::example_bash_decorator": "get_file_stats runs `stat` on a file that only exists on Airflow's own CI machines (exit 1)",
    "example_dag_decorator::example_dag_decorator": "get_ip calls httpbin.org (network)",
    "tutorial_objectstorage::tutorial_objectstorage": "downloads air quality data from an HTTP API (network)",
    "example_dataset_alias::dataset_alias_example_alias_producer": "Airflow 2.11's dags test fails writing the dataset alias event (SQLAlchemy PendingRollbackError on SQLite)",
    "example_dataset_alias_with_no_taskflow::dataset_alias_example_alias_producer_with_no_taskflow": "Airflow 2.11's dags test fails writing the dataset alias event (SQLAlchemy PendingRollbackError on SQLite)",
    "example_external_task_marker_dag::example_external_task_marker_child": "its ExternalTaskSensor waits for a run of another DAG (needs a scheduler)",
    "example_inlet_event_extra::read_dataset_event_from_classic": "reads a dataset event that only another DAG's run produces",
    "example_params_ui_tutorial::example_params_ui_tutorial": "has required params without defaults (a UI form fills them in)",
    "example_passing_params_via_test_command::example_passing_params_via_test_command": "expects `airflow tasks test -t` task params and an env var set by hand",
    "example_sensors::example_sensors": "sensors wait on time and files for minutes (unbounded in a test)",
    "example_sla_dag::example_sla_dag": "sleeps past its SLA on purpose (minutes)",
    "example_subdag_operator::example_subdag_operator": "SubDagOperator under dags test runs a nested backfill and does not finish",
    "example_subdag_operator::example_subdag_operator.section-1": "needs the FAB auth tables (ab_user) in the metadata DB",
    "example_trigger_controller_dag::example_trigger_controller_dag": "TriggerDagRunOperator needs the target DAG in the metadata DB (a scheduler's DAG processor)",
    "tutorial_taskflow_templates::tutorial_taskflow_templates": "its template file sql/test.sql is not shipped in the wheel (TemplateNotFound)",
}

#: example files that define no DAG in this environment, with the reason
NO_DAG_HERE: dict[str, str] = {
    "example_branch_operator": "defines its DAG only when the `virtualenv` package is installed",
    "example_branch_operator_decorator": "defines its DAG only when the `virtualenv` package is installed",
    "tutorial_taskflow_api_virtualenv": "defines its DAG only when the `virtualenv` package is installed",
    "example_kubernetes_executor": "defines its DAGs only when the `kubernetes` package is installed",
    "example_local_kubernetes_executor": "defines its DAGs only when the `kubernetes` package is installed",
}

#: ``file::dag_id`` -> {task_id: why} for XCom values that change from run to run (states still compared)
NOT_DETERMINISTIC: dict[str, dict[str, str]] = {
    "tutorial::tutorial": {"print_date": "returns the output of `date` (the wall-clock time)"},
}

#: ``file::dag_id`` of OFFLINE DAGs that the compat loader does not run like Airflow 2.11, with the
#: reason; ``load: TEXT`` means loading fails with TEXT in the error
NOT_IN_AIRFLOW3: dict[str, str] = {
    "example_subdag_operator::example_subdag_operator.section-2": "load: SubDagOperator was removed in Airflow 3; its file imports SubDagOperator",
    "example_dataset_alias::dataset_alias_example_alias_consumer": "reads asset events of an alias through inlet_events, which Airflow 3 serves from its API server; the in-process runner has none",
    "example_dataset_alias_with_no_taskflow::dataset_alias_example_alias_consumer_with_no_taskflow": "reads asset events of an alias through inlet_events, which Airflow 3 serves from its API server; the in-process runner has none",
    "example_inlet_event_extra::read_dataset_event": "reads asset events through inlet_events, which Airflow 3 serves from its API server; the in-process runner has none",
    "example_latest_only::latest_only": "LatestOnlyOperator: Airflow 3 lets every manual run through (run_type MANUAL); Airflow 2.11's dags test run is not externally triggered, so it skips the downstream tasks",
    "example_latest_only_with_trigger::latest_only_with_trigger": "LatestOnlyOperator: Airflow 3 lets every manual run through (run_type MANUAL); Airflow 2.11's dags test run is not externally triggered, so it skips the downstream tasks",
}

#: what the default suite compares (about a fifth of OFFLINE, one per construct family);
#: ``INTEROP_AIRFLOW2_EXAMPLES=all`` compares every OFFLINE DAG
DEFAULT_SUBSET: list[str] = [
    "example_xcom::example_xcom",
    "example_branch_labels::example_branch_labels",
    "example_nested_branch_dag::example_nested_branch_dag",
    "example_dynamic_task_mapping::example_dynamic_task_mapping",
    "example_dynamic_task_mapping_with_no_taskflow_operators::example_dynamic_task_mapping_with_no_taskflow_operators",
    "example_task_group_decorator::example_task_group_decorator",
    "example_short_circuit_operator::example_short_circuit_operator",
    "example_skip_dag::example_skip_dag",
    "example_setup_teardown_taskflow::example_setup_teardown_taskflow",
    "example_latest_only_with_trigger::latest_only_with_trigger",
    "example_xcomargs::example_xcom_args_with_operators",
    "example_trigger_target_dag::example_trigger_target_dag",
    "example_branch_python_dop_operator_3::example_branch_dop_operator_v3",
    "example_outlet_event_extra::dataset_with_extra_by_yield",
    "tutorial_dag::tutorial_dag",
]


def offline_ids() -> list[str]:
    return [f"{stem}::{dag_id}" for stem, ids in OFFLINE.items() for dag_id in ids]


def selected_ids() -> list[str]:
    """The ``file::dag_id`` compared in this run: DEFAULT_SUBSET, or every OFFLINE one."""
    return offline_ids() if os.environ.get("INTEROP_AIRFLOW2_EXAMPLES") == "all" else list(DEFAULT_SUBSET)


def dag_file(key: str) -> Path:
    folder = airflow2_example_folder()
    assert folder is not None
    return folder / f"{key.split('::')[0]}.py"


# --------------------------------------------------------------------------- comparing
def _plain(value: Any) -> Any:
    """An XCom value as the truth harness stores it (JSON, other objects as ``str``)."""
    value = json.loads(json.dumps(value, default=str))
    return value


def _xcoms(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        value = _plain(value)
        if key.startswith("skipmixin_key") and isinstance(value, dict):
            # Airflow stores the followed/skipped task ids in set order (random per process)
            value = {k: sorted(v) if isinstance(v, list) else v for k, v in value.items()}
        out[key] = value
    return out


def observed(result: Any) -> dict[str, dict[str, Any]]:
    """A run result in the truth's shape: ``{task_id or "task_id[i]": {"state", "xcoms"}}``."""
    tasks: dict[str, dict[str, Any]] = {}
    for task_id, task in result.tasks.items():
        for inst in task.instances:
            key = f"{task_id}[{inst.map_index}]" if task.mapped else task_id
            tasks[key] = {"state": inst.state, "xcoms": _xcoms(inst.xcoms)}
    return tasks


def truth_tasks(truth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: {"state": t["state"], "xcoms": _xcoms(t["xcoms"])} for key, t in truth["tasks"].items()}


#: where Airflow 3 itself differs from Airflow 2 (shims/compat/differences.py)
from airflow_interop.compat.differences import AIRFLOW3_DIFFERENCES, LINEAGE_KEYS, airflow3_comparable  # noqa: E402,F401
