"""Qualified-name tables the lint rules match against, kept as data in one place."""

from __future__ import annotations

#: Prefect's task decorator under the names it is importable as.
PREFECT_TASK = frozenset({"prefect.task", "prefect.tasks.task"})
#: Prefect's flow decorator under the names it is importable as.
PREFECT_FLOW = frozenset({"prefect.flow", "prefect.flows.flow"})

#: Top-level packages that are Airflow (imports of them are leftovers in a flow file).
AIRFLOW_PACKAGES = frozenset({"airflow"})

#: The shims that run a real Airflow operator: ``run_operator(Op(...), ctx=..., upstream=...)``
#: inside a task, and ``airflow_task(Op(...), name=...)`` which makes a task of it.
RUN_OPERATOR = frozenset(
    {"shims.operator.run_operator", "shims.run_operator", "shims.operator.airflow_task", "shims.airflow_task"}
)
#: Shims whose result is a Prefect task.
TASK_FACTORIES = frozenset({"shims.operator.airflow_task", "shims.airflow_task"})
#: Runtime helpers whose string arguments are Jinja templates rendered at run time.
RENDER_TEMPLATE = frozenset({"shims.runtime.render_template", "shims.render_template"})

#: The shim that turns an Airflow ``on_*_callback(context)`` into a Prefect state hook.
AIRFLOW_CALLBACK = frozenset({"shims.runtime.airflow_callback", "shims.airflow_callback"})
#: The context keys that shim hands the callback: the run's template context
#: (``RunContext.template_context()``) plus the hook's own values. A test checks this table
#: against ``shims.runtime``.
CALLBACK_CONTEXT_KEYS = frozenset(
    {
        # the hook's own
        "task_instance",
        "ti",
        "exception",
        "prefect_task",
        "prefect_task_run",
        "state",
        # the run's template context
        "conf",
        "dag_run",
        "data_interval_end",
        "data_interval_start",
        "ds",
        "ds_nodash",
        "execution_date",
        "logical_date",
        "macros",
        "params",
        "run_id",
        "tomorrow_ds",
        "tomorrow_ds_nodash",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
        "var",
        "yesterday_ds",
        "yesterday_ds_nodash",
    }
)

#: The ways to build an Airflow DAG object.
DAG_CONSTRUCTORS = frozenset(
    {
        "airflow.DAG",
        "airflow.models.DAG",
        "airflow.models.dag.DAG",
        "airflow.sdk.DAG",
        "airflow.sdk.definitions.dag.DAG",
        "airflow.decorators.dag",
        "airflow.sdk.dag",
        "airflow.models.dag.dag",
    }
)

#: Module path segments that hold operator and sensor classes.
OPERATOR_MODULE_PARTS = ("operators", "sensors")

#: ``get_current_context`` under the names it is importable as.
GET_CURRENT_CONTEXT = frozenset(
    {
        "airflow.operators.python.get_current_context",
        "airflow.providers.standard.operators.python.get_current_context",
        "airflow.sdk.get_current_context",
        "airflow.sdk.definitions.context.get_current_context",
        "get_current_context",
    }
)

#: Airflow's edge helpers.
CHAIN_HELPERS = frozenset(
    {
        "airflow.models.baseoperator.chain",
        "airflow.models.baseoperator.cross_downstream",
        "airflow.models.baseoperator.chain_linear",
        "airflow.sdk.chain",
        "airflow.sdk.cross_downstream",
        "airflow.sdk.chain_linear",
        "airflow.utils.helpers.chain",
        "airflow.utils.helpers.cross_downstream",
        "airflow.sdk.bases.operator.chain",
        "airflow.sdk.bases.operator.cross_downstream",
    }
)

#: Keys of the Airflow task context (``context["ti"]``, ``kwargs["ds"]``).
CONTEXT_KEYS = frozenset(
    {
        "ti",
        "task_instance",
        "dag_run",
        "dag",
        "task",
        "ds",
        "ds_nodash",
        "ts",
        "ts_nodash",
        "logical_date",
        "execution_date",
        "data_interval_start",
        "data_interval_end",
        "prev_ds",
        "next_ds",
        "run_id",
        "conf",
        "var",
        "macros",
        "params",
        "triggering_asset_events",
        "inlets",
        "outlets",
    }
)

#: Parameter names that by convention carry the Airflow context.
CONTEXT_PARAM_NAMES = frozenset({"context", "kwargs", "ti", "task_instance"})
#: Parameter names that are the task instance itself.
TASK_INSTANCE_NAMES = frozenset({"ti", "task_instance"})

#: Calls that give today's date: always a stand-in for the run's date.
TODAY_CALLS = frozenset(
    {
        "datetime.datetime.today",
        "datetime.date.today",
        "pendulum.today",
        "pendulum.DateTime.today",
    }
)
#: Calls that read the wall clock: a stand-in for the run's date when used as a date.
NOW_CALLS = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "pendulum.now",
        "pendulum.DateTime.now",
        "pendulum.DateTime.utcnow",
    }
)
WALL_CLOCK_CALLS = TODAY_CALLS | NOW_CALLS
#: Methods that turn a point in time into a date (string).
DATE_METHODS = frozenset({"date", "strftime", "to_date_string", "format", "to_datetime_string"})
#: Methods that keep a point in time a point in time (followed through).
TIME_METHODS = frozenset({"replace", "astimezone", "in_timezone", "in_tz", "start_of", "end_of", "subtract", "add"})
#: Names that hold the date a run is for.
DATE_NAMES = frozenset(
    {
        "ds",
        "ds_nodash",
        "ts",
        "logical_date",
        "execution_date",
        "run_date",
        "date",
        "day",
        "today",
        "data_interval_start",
        "data_interval_end",
        "partition",
        "as_of",
    }
)
DATE_NAME_SUFFIXES = ("_date", "_day", "_ds")


def is_date_name(name: str) -> bool:
    """Whether a variable or parameter name says it holds the run's date."""
    lowered = name.lower()
    return lowered in DATE_NAMES or lowered.endswith(DATE_NAME_SUFFIXES)


def is_airflow(qualified: str | None) -> bool:
    """Whether a qualified name lives in an Airflow package."""
    return qualified is not None and qualified.split(".")[0] in AIRFLOW_PACKAGES


def is_airflow_operator(qualified: str | None) -> bool:
    """Whether a qualified name looks like an Airflow operator or sensor class."""
    if not is_airflow(qualified):
        return False
    assert qualified is not None
    parts = qualified.split(".")
    last = parts[-1]
    return last[:1].isupper() and (
        last.endswith(("Operator", "Sensor")) or any(p in OPERATOR_MODULE_PARTS for p in parts[1:-1])
    )
