"""Qualified-name tables: the facts about Airflow's names, kept as data in one place.

The converter, the compat loader and lint all read these tables. Keys are fully qualified
names as written in import statements across Airflow 1.10, 2.x and 3.x.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- DAG objects
DAG_CLASSES = frozenset(
    {
        "airflow.DAG",
        "airflow.models.DAG",
        "airflow.models.dag.DAG",
        "airflow.sdk.DAG",
        "airflow.sdk.definitions.dag.DAG",
    }
)
DAG_DECORATORS = frozenset(
    {
        "airflow.decorators.dag",
        "airflow.sdk.dag",
        "airflow.sdk.definitions.dag.dag",
        "airflow.models.dag.dag",
    }
)
TASK_DECORATORS = frozenset(
    {
        "airflow.decorators.task",
        "airflow.sdk.task",
        "airflow.sdk.definitions.decorators.task",
        "airflow.decorators.python_task",
    }
)
TASK_GROUP_CLASSES = frozenset(
    {
        "airflow.utils.task_group.TaskGroup",
        "airflow.sdk.TaskGroup",
        "airflow.sdk.definitions.taskgroup.TaskGroup",
    }
)
CHAIN_FUNCTIONS = frozenset(
    {
        "airflow.models.baseoperator.chain",
        "airflow.utils.helpers.chain",
        "airflow.sdk.chain",
        "airflow.sdk.bases.operator.chain",
        "airflow.models.chain",
    }
)
CROSS_DOWNSTREAM_FUNCTIONS = frozenset(
    {
        "airflow.models.baseoperator.cross_downstream",
        "airflow.utils.helpers.cross_downstream",
        "airflow.sdk.cross_downstream",
        "airflow.sdk.bases.operator.cross_downstream",
    }
)
GET_CURRENT_CONTEXT = frozenset(
    {
        "airflow.operators.python.get_current_context",
        "airflow.providers.standard.operators.python.get_current_context",
        "airflow.sdk.get_current_context",
    }
)
DAYS_AGO = frozenset({"airflow.utils.dates.days_ago"})
PARAM_CLASSES = frozenset({"airflow.models.param.Param", "airflow.models.Param", "airflow.sdk.Param"})

# --------------------------------------------------------------------------- operators by kind
PYTHON_OPERATORS = frozenset(
    {
        "airflow.operators.python.PythonOperator",
        "airflow.operators.python_operator.PythonOperator",
        "airflow.providers.standard.operators.python.PythonOperator",
    }
)
BASH_OPERATORS = frozenset(
    {
        "airflow.operators.bash.BashOperator",
        "airflow.operators.bash_operator.BashOperator",
        "airflow.providers.standard.operators.bash.BashOperator",
    }
)
EMPTY_OPERATORS = frozenset(
    {
        "airflow.operators.empty.EmptyOperator",
        "airflow.operators.dummy.DummyOperator",
        "airflow.operators.dummy_operator.DummyOperator",
        "airflow.operators.dummy.EmptyOperator",
        "airflow.providers.standard.operators.empty.EmptyOperator",
    }
)
BRANCH_OPERATORS = frozenset(
    {
        "airflow.operators.python.BranchPythonOperator",
        "airflow.operators.python_operator.BranchPythonOperator",
        "airflow.providers.standard.operators.python.BranchPythonOperator",
        "airflow.operators.python.ShortCircuitOperator",
        "airflow.operators.python_operator.ShortCircuitOperator",
        "airflow.providers.standard.operators.python.ShortCircuitOperator",
        "airflow.operators.branch.BaseBranchOperator",
        "airflow.providers.standard.operators.branch.BaseBranchOperator",
        "airflow.operators.datetime.BranchDateTimeOperator",
        "airflow.providers.standard.operators.datetime.BranchDateTimeOperator",
        "airflow.operators.weekday.BranchDayOfWeekOperator",
        "airflow.providers.standard.operators.weekday.BranchDayOfWeekOperator",
    }
)
#: operators that need Airflow's runtime itself (sub-DAGs, cross-DAG machinery)
UNSUPPORTED_OPERATORS = {
    "airflow.operators.subdag_operator.SubDagOperator": "SubDagOperator was removed in Airflow 3",
    "airflow.operators.subdag.SubDagOperator": "SubDagOperator was removed in Airflow 3",
}

#: old module path -> current module path (Airflow 3 with the standard provider)
MOVED_MODULES: dict[str, str] = {
    "airflow.operators.python_operator": "airflow.providers.standard.operators.python",
    "airflow.operators.python": "airflow.providers.standard.operators.python",
    "airflow.operators.bash_operator": "airflow.providers.standard.operators.bash",
    "airflow.operators.bash": "airflow.providers.standard.operators.bash",
    "airflow.operators.dummy_operator": "airflow.providers.standard.operators.empty",
    "airflow.operators.dummy": "airflow.providers.standard.operators.empty",
    "airflow.operators.empty": "airflow.providers.standard.operators.empty",
    "airflow.operators.email_operator": "airflow.providers.smtp.operators.smtp",
    "airflow.operators.email": "airflow.providers.smtp.operators.smtp",
    "airflow.operators.trigger_dagrun": "airflow.providers.standard.operators.trigger_dagrun",
    "airflow.operators.latest_only": "airflow.providers.standard.operators.latest_only",
    "airflow.operators.datetime": "airflow.providers.standard.operators.datetime",
    "airflow.operators.weekday": "airflow.providers.standard.operators.weekday",
    "airflow.operators.generic_transfer": "airflow.providers.common.sql.operators.generic_transfer",
    "airflow.operators.sql": "airflow.providers.common.sql.operators.sql",
    "airflow.sensors.base": "airflow.sdk.bases.sensor",
    "airflow.sensors.base_sensor_operator": "airflow.sdk.bases.sensor",
    "airflow.sensors.bash": "airflow.providers.standard.sensors.bash",
    "airflow.sensors.python": "airflow.providers.standard.sensors.python",
    "airflow.sensors.filesystem": "airflow.providers.standard.sensors.filesystem",
    "airflow.sensors.time_sensor": "airflow.providers.standard.sensors.time",
    "airflow.sensors.time_delta": "airflow.providers.standard.sensors.time_delta",
    "airflow.sensors.time_delta_sensor": "airflow.providers.standard.sensors.time_delta",
    "airflow.sensors.date_time": "airflow.providers.standard.sensors.date_time",
    "airflow.sensors.external_task": "airflow.providers.standard.sensors.external_task",
    "airflow.sensors.external_task_sensor": "airflow.providers.standard.sensors.external_task",
    "airflow.models.baseoperator": "airflow.sdk",
    "airflow.models.BaseOperator": "airflow.sdk",
}
#: old class name -> current class name (same module after the move)
RENAMED_NAMES: dict[str, str] = {
    "airflow.operators.dummy_operator.DummyOperator": "EmptyOperator",
    "airflow.operators.dummy.DummyOperator": "EmptyOperator",
    "airflow.sensors.base_sensor_operator.BaseSensorOperator": "BaseSensorOperator",
}

# --------------------------------------------------------------------------- arguments
#: arguments of every operator that describe scheduling in Airflow, with their Prefect option
TASK_OPTION_ARGS = frozenset(
    {"retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay", "execution_timeout"}
)
CALLBACK_ARGS = {
    "on_failure_callback": "on_failure",
    "on_success_callback": "on_completion",
    "on_retry_callback": None,
    "on_execute_callback": None,
    "sla_miss_callback": None,
}
#: BaseOperator arguments that have no meaning in Prefect: kept out of the flow, listed in the ledger
LEDGER_ONLY_ARGS = frozenset(
    {
        "owner",
        "email",
        "email_on_failure",
        "email_on_retry",
        "depends_on_past",
        "wait_for_downstream",
        "priority_weight",
        "weight_rule",
        "queue",
        "pool",
        "pool_slots",
        "sla",
        "run_as_user",
        "executor_config",
        "do_xcom_push",
        "task_concurrency",
        "max_active_tis_per_dag",
        "max_active_tis_per_dagrun",
        "resources",
        "inlets",
        "outlets",
        "doc_md",
        "doc",
        "doc_rst",
        "doc_json",
        "doc_yaml",
        "start_date",
        "end_date",
        "executor",
        "ignore_first_depends_on_past",
        "wait_for_past_depends_before_skipping",
        "map_index_template",
        "provide_context",
        "show_return_value_in_logs",
        "multiple_outputs",
    }
)
#: DAG arguments kept for deployment or dropped with a ledger note
DAG_SCHEDULE_ARGS = ("schedule", "schedule_interval", "timetable")

#: context keys a callable may read -> the expression of the same value in a converted flow,
#: written against the RunContext named ``ctx``
CONTEXT_KEYS: dict[str, str] = {
    "ds": "ctx.ds",
    "ds_nodash": "ctx.ds_nodash",
    "ts": "ctx.ts",
    "ts_nodash": "ctx.ts_nodash",
    "ts_nodash_with_tz": "ctx.ts_nodash_with_tz",
    "logical_date": "ctx.logical_date",
    "execution_date": "ctx.logical_date",
    "data_interval_start": "ctx.data_interval_start",
    "data_interval_end": "ctx.data_interval_end",
    "params": "ctx.params",
    "dag_run": "ctx.dag_run",
    "conf": "ctx.conf",
    "run_id": "ctx.run_id",
    "macros": "ctx.macros",
    "var": "ctx.var",
    "templates_dict": "templates_dict",
}
#: context keys that are the task instance (for xcom_push / xcom_pull)
TI_KEYS = frozenset({"ti", "task_instance"})

CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def current_import_path(qualified_name: str) -> str:
    """Where a (possibly moved or renamed) Airflow name lives today.

    >>> current_import_path("airflow.operators.dummy_operator.DummyOperator")
    'airflow.providers.standard.operators.empty.EmptyOperator'
    >>> current_import_path("mycompany.operators.Foo")
    'mycompany.operators.Foo'
    """
    module, _, name = qualified_name.rpartition(".")
    name = RENAMED_NAMES.get(qualified_name, name)
    module = MOVED_MODULES.get(module, module)
    return f"{module}.{name}"
