"""Qualified-name tables the lint rules match against.

Airflow's own names (DAG constructors, context keys, edge helpers ...) are the converter's
table, :mod:`converters.names`, imported here: one table of Airflow's names serves the
converter, the compat loader and lint. What is lint's own (Prefect and ``shims`` names, date
heuristics) is kept below.
"""

from __future__ import annotations

from converters import names as _airflow

#: Prefect's task decorator under the names it is importable as.
PREFECT_TASK = frozenset({"prefect.task", "prefect.tasks.task"})
#: Prefect's flow decorator under the names it is importable as.
PREFECT_FLOW = frozenset({"prefect.flow", "prefect.flows.flow"})

#: Top-level packages that are Airflow (imports of them are leftovers in a flow file).
AIRFLOW_PACKAGES = frozenset({"airflow"})

#: The package converted code imports its runtime from (``airflow_interop.runtime``), and the
#: name it had before issue 11: outputs of earlier versions import ``shims.runtime`` and
#: ``shims.operator``. Lint still reads those (the tables below hold both) and IXL404 moves them.
RUNTIME_PACKAGE = "airflow_interop"
LEGACY_RUNTIME_PACKAGE = "shims"
#: The old runtime modules and the one module that replaces both.
LEGACY_RUNTIME_MODULES = {f"{LEGACY_RUNTIME_PACKAGE}.{m}": f"{RUNTIME_PACKAGE}.runtime" for m in ("runtime", "operator")}
#: The names converted code imports from the runtime (``airflow_interop.runtime.__all__``, a test
#: holds the two together): only an import of these from an old module is the old runtime.
RUNTIME_NAMES = frozenset(
    {
        "RunContext", "airflow_context", "run_bash", "render_template", "BashCommandFailed", "UpstreamXComs",
        "with_xcoms", "xcom_value", "xcom_lookup", "airflow_callback", "branch_targets", "skip_task", "skipped",
        "was_skipped", "Variable", "run_operator", "airflow_task", "TaskSkipped", "OperatorFailed",
    }
)


def _runtime(*names: str) -> frozenset[str]:
    """``name`` under the runtime module, the operator module and the package, new and old name."""
    return frozenset(
        f"{package}{module}.{name}"
        for package in (RUNTIME_PACKAGE, LEGACY_RUNTIME_PACKAGE)
        for module in (".runtime", ".operator", "")
        for name in names
    )


#: The shims that run a real Airflow operator: ``run_operator(Op(...), ctx=..., upstream=...)``
#: inside a task, and ``airflow_task(Op(...), name=...)`` which makes a task of it.
RUN_OPERATOR = _runtime("run_operator", "airflow_task")
#: Shims whose result is a Prefect task.
TASK_FACTORIES = _runtime("airflow_task")
#: Runtime helpers whose string arguments are Jinja templates rendered at run time.
RENDER_TEMPLATE = _runtime("render_template")

#: The shim that turns an Airflow ``on_*_callback(context)`` into a Prefect state hook.
AIRFLOW_CALLBACK = _runtime("airflow_callback")
#: The context keys that shim hands the callback: the run's template context
#: (``RunContext.template_context()``) plus the hook's own values. A test checks this table
#: against ``airflow_interop.runtime``.
CALLBACK_CONTEXT_KEYS = frozenset(
    {
        # the hook's own (``dag``: the flow's name as its dag_id; ``task`` in a task hook)
        "dag",
        "task",
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
DAG_CONSTRUCTORS = _airflow.DAG_CLASSES | _airflow.DAG_DECORATORS

#: Module path segments that hold operator and sensor classes.
OPERATOR_MODULE_PARTS = ("operators", "sensors")

#: ``get_current_context`` under the names it is importable as (and unresolved, by its name).
GET_CURRENT_CONTEXT = _airflow.GET_CURRENT_CONTEXT | {"get_current_context"}

#: Airflow's edge helpers.
CHAIN_HELPERS = _airflow.CHAIN_FUNCTIONS | _airflow.CROSS_DOWNSTREAM_FUNCTIONS | _airflow.CHAIN_LINEAR_FUNCTIONS

#: Keys of the Airflow task context whose reads IXL105 reports (``context["ti"]``,
#: ``kwargs["ds"]``): the keys the converter maps, the task instance, and the Airflow-only keys
#: a flow file most often still reads. (The converter's full list is
#: ``converters.names.AIRFLOW_CONTEXT_KEYS``; its asset-event keys are not reported yet.)
CONTEXT_KEYS = (
    frozenset(_airflow.CONTEXT_KEYS) - {"ts_nodash_with_tz", "templates_dict"}
) | _airflow.TI_KEYS | {"dag", "task", "prev_ds", "next_ds", "triggering_asset_events", "inlets", "outlets"}

#: Parameter names that by convention carry the Airflow context.
CONTEXT_PARAM_NAMES = frozenset({"context", "kwargs", "ti", "task_instance"})
#: Parameter names that are the task instance itself.
TASK_INSTANCE_NAMES = _airflow.TI_KEYS

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
