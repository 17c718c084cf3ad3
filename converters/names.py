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
CHAIN_LINEAR_FUNCTIONS = frozenset(
    {
        "airflow.models.baseoperator.chain_linear",
        "airflow.sdk.chain_linear",
        "airflow.sdk.bases.operator.chain_linear",
    }
)
GET_CURRENT_CONTEXT = frozenset(
    {
        "airflow.operators.python.get_current_context",
        "airflow.providers.standard.operators.python.get_current_context",
        "airflow.sdk.get_current_context",
        "airflow.sdk.definitions.context.get_current_context",
    }
)
DAYS_AGO = frozenset({"airflow.utils.dates.days_ago"})
PARAM_CLASSES = frozenset({"airflow.models.param.Param", "airflow.models.Param", "airflow.sdk.Param"})

# --------------------------------------------------------------------------- operators by kind
PYTHON_OPERATORS = frozenset(
    {
        "airflow.operators.PythonOperator",  # 1.x package-level import
        "airflow.operators.python.PythonOperator",
        "airflow.operators.python_operator.PythonOperator",
        "airflow.providers.standard.operators.python.PythonOperator",
    }
)
BASH_OPERATORS = frozenset(
    {
        "airflow.operators.BashOperator",  # 1.x package-level import
        "airflow.operators.bash.BashOperator",
        "airflow.operators.bash_operator.BashOperator",
        "airflow.providers.standard.operators.bash.BashOperator",
    }
)
EMPTY_OPERATORS = frozenset(
    {
        "airflow.operators.DummyOperator",  # 1.x package-level import
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
        "airflow.operators.latest_only_operator.LatestOnlyOperator",
        "airflow.operators.latest_only.LatestOnlyOperator",
        "airflow.providers.standard.operators.latest_only.LatestOnlyOperator",
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
    "run_id": "ctx.run_id",
    "macros": "ctx.macros",
    "var": "ctx.var",
    "templates_dict": "templates_dict",
}
#: attributes of context objects that have a flow equivalent: (context key, attribute) -> the
#: parameter the converted task takes instead (``context["dag"].dag_id`` -> ``dag_id``)
CONTEXT_ATTRIBUTES: dict[tuple[str, str], str] = {
    ("dag", "dag_id"): "dag_id",
}
#: those parameters -> the expression the flow passes for them
CONTEXT_ATTRIBUTE_VALUES: dict[str, str] = {
    "dag_id": "ctx.dag_id",
}


def is_airflow(dotted_name: str) -> bool:
    """Is ``dotted_name`` (a module or a qualified name) Airflow's: ``airflow`` or under it, not a
    team's package whose name only starts so (``airflow_examples.config``, ``airflow_utils``)?"""
    return dotted_name == "airflow" or dotted_name.startswith("airflow.")


def context_value(param: str) -> str:
    """The flow-side expression for a context parameter of a converted task (``ds`` -> ``ctx.ds``)."""
    return CONTEXT_KEYS.get(param) or CONTEXT_ATTRIBUTE_VALUES[param]


#: context keys that are the task instance (for xcom_push / xcom_pull)
TI_KEYS = frozenset({"ti", "task_instance"})
#: context keys Airflow passes by parameter name that have no flow equivalent
AIRFLOW_ONLY_CONTEXT_KEYS = frozenset(
    {
        "task", "dag", "task_instance_key_str", "test_mode", "inlets", "outlets", "inlet_events",
        "outlet_events", "triggering_asset_events", "triggering_dataset_events", "prev_start_date_success",
        "prev_end_date_success", "prev_data_interval_start_success", "prev_data_interval_end_success",
        "next_ds", "next_ds_nodash", "prev_ds", "prev_ds_nodash", "next_execution_date",
        "prev_execution_date", "prev_execution_date_success", "yesterday_ds", "tomorrow_ds",
        "yesterday_ds_nodash", "tomorrow_ds_nodash", "map_index_template", "expanded_ti_count",
        # Airflow 3.3's state stores (AIP-103)
        "asset_state_store", "task_state_store",
    }
)
#: every key of Airflow's task context (``context["ti"]``, ``kwargs["ds"]``): the convertible ones,
#: the task instance and those with no flow equivalent
AIRFLOW_CONTEXT_KEYS = frozenset(
    {*CONTEXT_KEYS, *TI_KEYS, *AIRFLOW_ONLY_CONTEXT_KEYS} - {"templates_dict"}
)

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


# --------------------------------------------------------------------------- Airflow 2 -> 3
# The facts the compat loader (shims/compat.py) applies in memory when it loads a 1.10/2.x DAG
# under Airflow 3, and that lint and the converter read. Each table maps an old spelling to its
# Airflow 3 equivalent, or to the reason there is none.

#: 1.10 ``contrib`` and ``*_operator`` / ``*_hook`` / ``*_sensor`` modules removed from Airflow 3
#: (in addition to :data:`MOVED_MODULES`): old module path -> current module path. A module whose
#: provider is not installed still fails to import, with the provider named in the error.
LEGACY_MODULES: dict[str, str] = {
    "airflow.operators.branch_operator": "airflow.providers.standard.operators.branch",
    "airflow.operators.branch": "airflow.providers.standard.operators.branch",
    "airflow.operators.latest_only_operator": "airflow.providers.standard.operators.latest_only",
    "airflow.operators.dagrun_operator": "airflow.providers.standard.operators.trigger_dagrun",
    "airflow.operators.python_virtualenv_operator": "airflow.providers.standard.operators.python",
    "airflow.operators.check_operator": "airflow.providers.common.sql.operators.sql",
    "airflow.operators.sql_branch_operator": "airflow.providers.common.sql.operators.sql",
    "airflow.operators.smooth": "airflow.providers.standard.operators.smooth",
    "airflow.hooks.base_hook": "airflow.sdk.bases.hook",
    "airflow.hooks.subprocess": "airflow.providers.standard.hooks.subprocess",
    "airflow.hooks.filesystem": "airflow.providers.standard.hooks.filesystem",
    "airflow.hooks.http_hook": "airflow.providers.http.hooks.http",
    "airflow.hooks.postgres_hook": "airflow.providers.postgres.hooks.postgres",
    "airflow.hooks.mysql_hook": "airflow.providers.mysql.hooks.mysql",
    "airflow.hooks.sqlite_hook": "airflow.providers.sqlite.hooks.sqlite",
    "airflow.hooks.S3_hook": "airflow.providers.amazon.aws.hooks.s3",
    "airflow.operators.http_operator": "airflow.providers.http.operators.http",
    "airflow.operators.postgres_operator": "airflow.providers.common.sql.operators.sql",
    "airflow.operators.sqlite_operator": "airflow.providers.common.sql.operators.sql",
    "airflow.operators.mysql_operator": "airflow.providers.common.sql.operators.sql",
    "airflow.sensors.http_sensor": "airflow.providers.http.sensors.http",
    "airflow.sensors.sql_sensor": "airflow.providers.common.sql.sensors.sql",
    "airflow.sensors.weekday": "airflow.providers.standard.sensors.weekday",
    "airflow.sensors.weekday_sensor": "airflow.providers.standard.sensors.weekday",
    "airflow.contrib.sensors.file_sensor": "airflow.providers.standard.sensors.filesystem",
    "airflow.contrib.sensors.python_sensor": "airflow.providers.standard.sensors.python",
    "airflow.contrib.sensors.bash_sensor": "airflow.providers.standard.sensors.bash",
    "airflow.contrib.sensors.weekday_sensor": "airflow.providers.standard.sensors.weekday",
    "airflow.contrib.hooks.ssh_hook": "airflow.providers.ssh.hooks.ssh",
    "airflow.contrib.operators.ssh_operator": "airflow.providers.ssh.operators.ssh",
    "airflow.contrib.operators.sftp_operator": "airflow.providers.sftp.operators.sftp",
    "airflow.contrib.hooks.sftp_hook": "airflow.providers.sftp.hooks.sftp",
    "airflow.contrib.operators.kubernetes_pod_operator": "airflow.providers.cncf.kubernetes.operators.pod",
    "airflow.contrib.operators.slack_webhook_operator": "airflow.providers.slack.operators.slack_webhook",
    "airflow.contrib.hooks.slack_webhook_hook": "airflow.providers.slack.hooks.slack_webhook",
    "airflow.contrib.operators.docker_operator": "airflow.providers.docker.operators.docker",
    "airflow.operators.docker_operator": "airflow.providers.docker.operators.docker",
    "airflow.contrib.operators.spark_submit_operator": "airflow.providers.apache.spark.operators.spark_submit",
    "airflow.contrib.hooks.aws_hook": "airflow.providers.amazon.aws.hooks.base_aws",
    "airflow.contrib.operators.s3_list_operator": "airflow.providers.amazon.aws.operators.s3",
    # more 1.10 contrib / *_operator / *_hook paths seen in public DAGs (their provider named on import)
    "airflow.operators.slack_operator": "airflow.providers.slack.operators.slack",
    "airflow.operators.mssql_operator": "airflow.providers.common.sql.operators.sql",
    "airflow.operators.oracle_operator": "airflow.providers.common.sql.operators.sql",
    "airflow.hooks.mssql_hook": "airflow.providers.microsoft.mssql.hooks.mssql",
    "airflow.hooks.oracle_hook": "airflow.providers.oracle.hooks.oracle",
    "airflow.contrib.operators.bigquery_operator": "airflow.providers.google.cloud.operators.bigquery",
    "airflow.contrib.operators.bigquery_get_data": "airflow.providers.google.cloud.operators.bigquery",
    "airflow.contrib.operators.gcs_to_bq": "airflow.providers.google.cloud.transfers.gcs_to_bigquery",
    "airflow.contrib.operators.dataproc_operator": "airflow.providers.google.cloud.operators.dataproc",
    "airflow.contrib.hooks.gcs_hook": "airflow.providers.google.cloud.hooks.gcs",
    "airflow.contrib.hooks.bigquery_hook": "airflow.providers.google.cloud.hooks.bigquery",
    "airflow.contrib.operators.emr_add_steps_operator": "airflow.providers.amazon.aws.operators.emr",
    "airflow.contrib.operators.emr_create_job_flow_operator": "airflow.providers.amazon.aws.operators.emr",
    "airflow.contrib.sensors.emr_step_sensor": "airflow.providers.amazon.aws.sensors.emr",
    "airflow.contrib.hooks.snowflake_hook": "airflow.providers.snowflake.hooks.snowflake",
    "airflow.contrib.operators.snowflake_operator": "airflow.providers.snowflake.operators.snowflake",
    "airflow.contrib.operators.databricks_operator": "airflow.providers.databricks.operators.databricks",
    "airflow.sensors.date_time_sensor": "airflow.providers.standard.sensors.date_time",
    "airflow.sensors.s3_key_sensor": "airflow.providers.amazon.aws.sensors.s3",
    "airflow.operators.hive_operator": "airflow.providers.apache.hive.operators.hive",
    "airflow.sensors.hive_partition_sensor": "airflow.providers.apache.hive.sensors.hive_partition",
    # SQL operators of the database providers, removed from them in favour of common.sql
    "airflow.providers.postgres.operators.postgres": "airflow.providers.common.sql.operators.sql",
    "airflow.providers.mysql.operators.mysql": "airflow.providers.common.sql.operators.sql",
    "airflow.providers.sqlite.operators.sqlite": "airflow.providers.common.sql.operators.sql",
    "airflow.datasets": "airflow.sdk",
    "airflow.datasets.metadata": "airflow.sdk",
    "airflow.models.dataset": "airflow.sdk",
    "airflow.timetables.datasets": "airflow.timetables.assets",
    "airflow.utils.weekday": "airflow.providers.standard.utils.weekday",
    # 2.x core names whose Airflow 3 home is the task SDK (the old paths warn, then import)
    "airflow": "airflow.sdk",
    "airflow.models": "airflow.sdk",
    "airflow.models.dag": "airflow.sdk",
    "airflow.decorators": "airflow.sdk",
    "airflow.utils.task_group": "airflow.sdk",
    "airflow.utils.edgemodifier": "airflow.sdk",
    "airflow.models.param": "airflow.sdk",
    "airflow.models.xcom_arg": "airflow.sdk",
    "airflow.utils.helpers": "airflow.sdk",
    "airflow.models.variable": "airflow.sdk",
    "airflow.hooks.base": "airflow.sdk",
}

#: classes renamed on the way to Airflow 3 (in addition to :data:`RENAMED_NAMES`):
#: old qualified name -> current class name in the module :func:`current_import_path` gives
LEGACY_RENAMED_NAMES: dict[str, str] = {
    "airflow.hooks.base_hook.BaseHook": "BaseHook",
    "airflow.hooks.S3_hook.S3Hook": "S3Hook",
    "airflow.hooks.http_hook.HttpHook": "HttpHook",
    "airflow.operators.http_operator.SimpleHttpOperator": "HttpOperator",
    "airflow.operators.postgres_operator.PostgresOperator": "SQLExecuteQueryOperator",
    "airflow.operators.sqlite_operator.SqliteOperator": "SQLExecuteQueryOperator",
    "airflow.operators.mysql_operator.MySqlOperator": "SQLExecuteQueryOperator",
    "airflow.operators.check_operator.CheckOperator": "SQLCheckOperator",
    "airflow.operators.check_operator.ValueCheckOperator": "SQLValueCheckOperator",
    "airflow.operators.check_operator.IntervalCheckOperator": "SQLIntervalCheckOperator",
    "airflow.operators.sql_branch_operator.BranchSqlOperator": "BranchSQLOperator",
    "airflow.sensors.sql_sensor.SqlSensor": "SqlSensor",
    "airflow.sensors.http_sensor.HttpSensor": "HttpSensor",
    "airflow.contrib.sensors.file_sensor.FileSensor": "FileSensor",
    "airflow.datasets.Dataset": "Asset",
    "airflow.datasets.DatasetAlias": "AssetAlias",
    "airflow.datasets.DatasetAll": "AssetAll",
    "airflow.datasets.DatasetAny": "AssetAny",
    "airflow.models.dataset.Dataset": "Asset",
    "airflow.timetables.datasets.DatasetOrTimeSchedule": "AssetOrTimeSchedule",
    "airflow.operators.mssql_operator.MsSqlOperator": "SQLExecuteQueryOperator",
    "airflow.operators.oracle_operator.OracleOperator": "SQLExecuteQueryOperator",
    "airflow.providers.postgres.operators.postgres.PostgresOperator": "SQLExecuteQueryOperator",
    "airflow.providers.mysql.operators.mysql.MySqlOperator": "SQLExecuteQueryOperator",
    "airflow.providers.sqlite.operators.sqlite.SqliteOperator": "SQLExecuteQueryOperator",
}

#: 1.10 names imported from the package itself (``from airflow.operators import BashOperator``,
#: served by 1.10's plugin manager): old spelling -> the 1.10 qualified name, which the tables
#: above then move to Airflow 3
LEGACY_PACKAGE_EXPORTS: dict[str, str] = {
    "airflow.operators.BashOperator": "airflow.operators.bash_operator.BashOperator",
    "airflow.operators.PythonOperator": "airflow.operators.python_operator.PythonOperator",
    "airflow.operators.BranchPythonOperator": "airflow.operators.python_operator.BranchPythonOperator",
    "airflow.operators.ShortCircuitOperator": "airflow.operators.python_operator.ShortCircuitOperator",
    "airflow.operators.DummyOperator": "airflow.operators.dummy_operator.DummyOperator",
    "airflow.operators.EmailOperator": "airflow.operators.email_operator.EmailOperator",
    "airflow.operators.TriggerDagRunOperator": "airflow.operators.dagrun_operator.TriggerDagRunOperator",
    "airflow.operators.LatestOnlyOperator": "airflow.operators.latest_only_operator.LatestOnlyOperator",
    "airflow.operators.SimpleHttpOperator": "airflow.operators.http_operator.SimpleHttpOperator",
    "airflow.operators.PostgresOperator": "airflow.operators.postgres_operator.PostgresOperator",
    "airflow.operators.MySqlOperator": "airflow.operators.mysql_operator.MySqlOperator",
    "airflow.operators.SqliteOperator": "airflow.operators.sqlite_operator.SqliteOperator",
    "airflow.operators.HttpSensor": "airflow.sensors.http_sensor.HttpSensor",
    "airflow.operators.ExternalTaskSensor": "airflow.sensors.external_task_sensor.ExternalTaskSensor",
    "airflow.operators.sensors.ExternalTaskSensor": "airflow.sensors.external_task_sensor.ExternalTaskSensor",
    "airflow.operators.sensors.HttpSensor": "airflow.sensors.http_sensor.HttpSensor",
    "airflow.operators.sensors.SqlSensor": "airflow.sensors.sql_sensor.SqlSensor",
    "airflow.operators.sensors.TimeDeltaSensor": "airflow.sensors.time_delta_sensor.TimeDeltaSensor",
    "airflow.hooks.PostgresHook": "airflow.hooks.postgres_hook.PostgresHook",
    "airflow.hooks.MySqlHook": "airflow.hooks.mysql_hook.MySqlHook",
    "airflow.hooks.HttpHook": "airflow.hooks.http_hook.HttpHook",
    "airflow.hooks.S3Hook": "airflow.hooks.S3_hook.S3Hook",
    "airflow.hooks.SqliteHook": "airflow.hooks.sqlite_hook.SqliteHook",
    "airflow.hooks.BaseHook": "airflow.hooks.base_hook.BaseHook",
}

#: every moved module, 2.x and 1.10: old module path -> current module path
ALL_MOVED_MODULES: dict[str, str] = {**MOVED_MODULES, **LEGACY_MODULES}
#: every renamed class: old qualified name -> current class name
ALL_RENAMED_NAMES: dict[str, str] = {**RENAMED_NAMES, **LEGACY_RENAMED_NAMES}

#: names removed from Airflow 3 that have a same-meaning replacement the compat loader supplies:
#: old qualified name -> (replacement qualified name, what it does)
REMOVED_NAMES: dict[str, tuple[str, str]] = {
    "airflow.utils.dates.days_ago": (
        "airflow_interop.compat.runtime.days_ago",
        "days_ago(n) was removed in Airflow 3; the same value: midnight UTC, n days before today",
    ),
    "airflow.utils.decorators.apply_defaults": (
        "airflow_interop.compat.runtime.apply_defaults",
        "apply_defaults was removed in Airflow 3 (a no-op since 2.0: operators apply default_args themselves)",
    ),
    "airflow.operators.python.is_venv_installed": (
        "airflow_interop.compat.runtime.is_venv_installed",
        "is_venv_installed() was removed in Airflow 3; the same check: virtualenv on PATH or importable",
    ),
}

#: constructs with no Airflow 3 equivalent: qualified name -> why (the compat loader refuses them)
UNBRIDGEABLE_NAMES: dict[str, str] = {
    **UNSUPPORTED_OPERATORS,
    "airflow.operators.subdag_operator.SubDagOperator": "SubDagOperator was removed in Airflow 3; use a TaskGroup",
    "airflow.operators.subdag.SubDagOperator": "SubDagOperator was removed in Airflow 3; use a TaskGroup",
}

#: modules with no Airflow 3 equivalent: module path -> why
UNBRIDGEABLE_MODULES: dict[str, str] = {
    "airflow.operators.subdag_operator": "SubDagOperator was removed in Airflow 3; use a TaskGroup",
    "airflow.operators.subdag": "SubDagOperator was removed in Airflow 3; use a TaskGroup",
    "airflow.executors.debug_executor": "the DebugExecutor was removed in Airflow 3; use dag.test()",
}

#: arguments of renamed classes that were renamed with them: old qualified class -> {old: new}
CALL_ARG_RENAMES: dict[str, dict[str, str]] = {
    "airflow.timetables.datasets.DatasetOrTimeSchedule": {"datasets": "assets"},
    # database SQL operators -> SQLExecuteQueryOperator, whose connection argument is conn_id
    "airflow.operators.postgres_operator.PostgresOperator": {"postgres_conn_id": "conn_id"},
    "airflow.providers.postgres.operators.postgres.PostgresOperator": {"postgres_conn_id": "conn_id"},
    "airflow.operators.mysql_operator.MySqlOperator": {"mysql_conn_id": "conn_id"},
    "airflow.providers.mysql.operators.mysql.MySqlOperator": {"mysql_conn_id": "conn_id"},
    "airflow.operators.sqlite_operator.SqliteOperator": {"sqlite_conn_id": "conn_id"},
    "airflow.providers.sqlite.operators.sqlite.SqliteOperator": {"sqlite_conn_id": "conn_id"},
    "airflow.operators.mssql_operator.MsSqlOperator": {"mssql_conn_id": "conn_id"},
    "airflow.operators.oracle_operator.OracleOperator": {"oracle_conn_id": "conn_id"},
}

#: ``DAG(...)`` / ``@dag(...)`` arguments renamed in Airflow 3: old -> new (same meaning)
DAG_ARG_RENAMES: dict[str, str] = {
    "schedule_interval": "schedule",
    "timetable": "schedule",
    "concurrency": "max_active_tasks",
    "fail_stop": "fail_fast",
}
#: ``DAG(...)`` arguments removed in Airflow 3 that only shaped the web UI: dropped, reported
DAG_ARGS_DROPPED: dict[str, str] = {
    "default_view": "the DAG's default web UI view; Airflow 3 has no such setting",
    "orientation": "the graph view's orientation; Airflow 3 has no such setting",
    "full_filepath": "removed in Airflow 2; the file is known from where the DAG was loaded",
}
#: operator arguments renamed in Airflow 3: old -> new (same meaning)
OPERATOR_ARG_RENAMES: dict[str, str] = {
    "task_concurrency": "max_active_tis_per_dag",
}
#: operator arguments removed in Airflow 3 whose behaviour is now always on: dropped, reported
OPERATOR_ARGS_DROPPED: dict[str, str] = {
    "provide_context": "Airflow 2 always passes the context to the callable; provide_context was removed",
}

#: ``trigger_rule`` values renamed since 1.10 (2.x kept the old ones as aliases, Airflow 3 refuses
#: them): old -> new (same meaning); applied to ``trigger_rule="..."`` and ``TriggerRule.OLD``
TRIGGER_RULE_RENAMES: dict[str, str] = {
    "none_failed_or_skipped": "none_failed_min_one_success",
    "dummy": "always",
}

#: template / context keys renamed in Airflow 3 with the same meaning: old -> new expression.
#: Applied inside Jinja ``{{ }}``/``{% %}`` blocks, ``context["key"]`` / ``kwargs.get("key")``
#: lookups, and a callable's parameter of that name.
CONTEXT_KEY_RENAMES: dict[str, str] = {
    "execution_date": "logical_date",
}
#: template-only keys removed in Airflow 3 that a macro computes with the same meaning
TEMPLATE_KEY_REWRITES: dict[str, str] = {
    "tomorrow_ds": "macros.ds_add(ds, 1)",
    "yesterday_ds": "macros.ds_add(ds, -1)",
    "tomorrow_ds_nodash": "macros.ds_format(macros.ds_add(ds, 1), '%Y-%m-%d', '%Y%m%d')",
    "yesterday_ds_nodash": "macros.ds_format(macros.ds_add(ds, -1), '%Y-%m-%d', '%Y%m%d')",
}
#: context keys removed in Airflow 3 with no same-meaning key (their value depended on the
#: schedule in ways Airflow 3 changed): key -> what to use instead
REMOVED_CONTEXT_KEYS: dict[str, str] = {
    "next_execution_date": "data_interval_end (same only for interval schedules)",
    "prev_execution_date": "prev_data_interval_start_success or data_interval_start",
    "next_ds": "data_interval_end | ds",
    "next_ds_nodash": "data_interval_end | ds_nodash",
    "prev_ds": "data_interval_start | ds",
    "prev_ds_nodash": "data_interval_start | ds_nodash",
    "prev_execution_date_success": "prev_data_interval_start_success",
    "conf": "the airflow.configuration module (the `conf` context key was removed)",
}


def airflow3_module(module: str) -> str | None:
    """The Airflow 3 module for a moved 1.10/2.x module path, or ``None`` if it did not move.

    >>> airflow3_module("airflow.operators.dummy_operator")
    'airflow.providers.standard.operators.empty'
    >>> airflow3_module("airflow.contrib.sensors.file_sensor")
    'airflow.providers.standard.sensors.filesystem'
    """
    return ALL_MOVED_MODULES.get(module)


def airflow3_name(qualified_name: str) -> str:
    """Where a 1.10/2.x/3.x name lives in Airflow 3 (every table, not only 2.x core moves).

    Only moves the tables list are applied. A module whose Airflow 3 home is the task SDK
    (``airflow``, ``airflow.models`` ... -> ``airflow.sdk``) moved only in part: a name moves
    there only if the SDK has it (:data:`SDK_NAMES`); any other stays as written.

    >>> airflow3_name("airflow.hooks.base_hook.BaseHook")
    'airflow.sdk.bases.hook.BaseHook'
    >>> airflow3_name("airflow.datasets.Dataset")
    'airflow.sdk.Asset'
    >>> airflow3_name("airflow.models.DAG")
    'airflow.sdk.DAG'
    >>> airflow3_name("airflow.models.DagRun")
    'airflow.models.DagRun'
    >>> airflow3_name("airflow.models")
    'airflow.models'
    """
    module, _, name = qualified_name.rpartition(".")
    new_name = ALL_RENAMED_NAMES.get(qualified_name, name)
    new_module = ALL_MOVED_MODULES.get(module, module)
    if new_module in SDK_NAMES and new_name not in SDK_NAMES[new_module]:
        return qualified_name
    return f"{new_module}.{new_name}"


#: the names Airflow 3's task SDK modules export (task-sdk 1.3, ``airflow.sdk.__all__``): the
#: only names a move into the SDK applies to (``from airflow import settings`` stays as written)
SDK_NAMES: dict[str, frozenset[str]] = {
    "airflow.sdk": frozenset(
        {
            "AllowedKeyMapper", "Asset", "AssetAccessControl", "AssetAlias", "AssetAll", "AssetAny",
            "AssetOrTimeSchedule", "AssetWatcher", "AsyncCallback", "BaseAsyncOperator", "BaseBranchOperator",
            "BaseDeadlineReference", "BaseHook", "BaseNotifier", "BaseOperator", "BaseOperatorLink",
            "BaseSensorOperator", "BaseXCom", "BranchMixIn", "ChainMapper", "Connection", "Context",
            "CronDataIntervalTimetable", "CronPartitionTimetable", "CronTriggerTimetable", "DAG", "DagRunState",
            "DayWindow", "DeadlineAlert", "DeadlineReference", "DeltaDataIntervalTimetable",
            "DeltaTriggerTimetable", "EdgeModifier", "EventsTimetable", "ExceptionRetryPolicy", "FanOutMapper",
            "FixedKeyMapper", "HourWindow", "IdentityMapper", "Label", "Metadata", "MinimumCount", "MonthWindow",
            "MultipleCronTriggerTimetable", "NEVER_EXPIRE", "ObjectStoragePath", "Param", "ParamsDict",
            "PartitionMapper", "PartitionedAssetTimetable", "PartitionedAtRuntime", "PokeReturnValue",
            "ProductMapper", "QuarterWindow", "ResumableJobMixin", "RetryAction", "RetryDecision", "RetryPolicy",
            "RetryRule", "RollupMapper", "SegmentWindow", "SkipMixin", "StartOfDayMapper", "StartOfHourMapper",
            "StartOfMonthMapper", "StartOfQuarterMapper", "StartOfWeekMapper", "StartOfYearMapper",
            "SyncCallback", "TaskGroup", "TaskInstance", "TaskInstanceState", "TriggerRule", "Variable",
            "WaitForAll", "WeekWindow", "WeightRule", "Window", "XComArg", "YearWindow", "asset", "chain",
            "chain_linear", "conf", "cross_downstream", "dag", "deadline_reference", "get_current_context",
            "get_parsing_context", "lineage", "literal", "macros", "result", "setup", "task", "task_group",
            "teardown",
        }
    ),
    "airflow.sdk.bases.sensor": frozenset({"BaseSensorOperator", "PokeReturnValue", "poke_mode_only"}),
    "airflow.sdk.bases.hook": frozenset({"BaseHook"}),
}


# --------------------------------------------------------------------------- converter runtime stand-ins
#: Airflow names a converted flow imports from ``airflow_interop.runtime`` instead (same API, no Airflow)
#: Airflow's ``Variable`` class, wherever Airflow 2.x and 3.x export it
AIRFLOW_VARIABLES = frozenset(
    {"airflow.models.Variable", "airflow.models.variable.Variable", "airflow.sdk.Variable", "airflow.sdk.definitions.variable.Variable"}
)
#: what converted code reads Variables with where every use has a Prefect equivalent
#: (:mod:`converters.variables`); else the file imports the stand-in below
PREFECT_VARIABLE = "prefect.variables.Variable"
RUNTIME_STANDINS: dict[str, str] = {name: "airflow_interop.runtime.Variable" for name in sorted(AIRFLOW_VARIABLES)}
