"""The one module converted flows import from: ``airflow_interop.runtime``.

Installed as ``airflow_interop.runtime`` (the folder ``shims/`` of the repository installs as the
package ``airflow_interop``: docs/shims.md, "Import names"), a name a team's own ``shims/`` or
``runtime/`` folder on ``sys.path`` cannot shadow. Converted code imports every name it needs
from here, the operator shim included (:func:`run_operator`, :class:`TaskSkipped`, re-exported
from :mod:`airflow_interop.operator`, which imports Airflow only when an operator runs).

Pure Python (plus Jinja): importing this module needs neither Airflow nor a Prefect server.
Converted code uses it only where a construct has no plain Prefect equivalent:

* :func:`airflow_context` builds a :class:`RunContext` from a flow's ``logical_date`` and params,
  deriving ``ds``, ``ts`` and the data interval the way Airflow derives them for a manual run;
* :func:`run_bash` runs a ``BashOperator`` command the way Airflow does (``bash -c``, env
  handling, last stdout line as result, non-zero exit fails, skip exit code skips);
* :func:`render_template` renders a Jinja template that could not be turned into an f-string,
  with Airflow's names (``ds``, ``params``, ``ti.xcom_pull``, ``macros``, ``var`` ...).

Example:
    >>> ctx = airflow_context("2024-01-31", params={"region": "eu"})
    >>> ctx.ds, ctx.ds_nodash, ctx.params["region"]
    ('2024-01-31', '20240131', 'eu')
    >>> render_template("{{ macros.ds_add(ds, 1) }}", ctx)
    '2024-02-01'
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Mapping

import jinja2
import jinja2.nativetypes

from airflow_interop.operator import OperatorFailed, TaskSkipped, airflow_task, run_operator

#: Every name converted code imports (``plan.need("airflow_interop.runtime", name)`` in the
#: converter); a test holds the converter's names against this list.
__all__ = [
    "RunContext",
    "airflow_context",
    "run_bash",
    "render_template",
    "BashCommandFailed",
    "UpstreamXComs",
    "with_xcoms",
    "xcom_value",
    "xcom_lookup",
    "airflow_callback",
    "branch_targets",
    "skip_task",
    "skipped",
    "was_skipped",
    "Variable",
    # the operator shim (Airflow is imported when an operator runs, not here)
    "run_operator",
    "airflow_task",
    "TaskSkipped",
    "OperatorFailed",
]


# --------------------------------------------------------------------------- dates and macros
def ds_add(ds: str, days: int) -> str:
    """Airflow's ``macros.ds_add``: add ``days`` to a ``YYYY-MM-DD`` date string."""
    if not days:
        return str(ds)
    return (datetime.strptime(str(ds), "%Y-%m-%d") + timedelta(days=days)).strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """Airflow's ``macros.ds_format``: reformat a date string."""
    return datetime.strptime(str(ds), input_format).strftime(output_format)


MACROS = SimpleNamespace(
    ds_add=ds_add,
    ds_format=ds_format,
    datetime=datetime,
    timedelta=timedelta,
    date=date,
    time=time,
    uuid=uuid,
    random=random,
    json=json,
)


def _parse_date(value: Any) -> datetime:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        raise TypeError(f"logical_date must be a datetime, a date or an ISO string, not {type(value).__name__}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    # a plain datetime prints as Airflow 2.9+/3 (pendulum 3) dates print: "2024-01-15 00:00:00+00:00"
    return dt


def _default_logical_date() -> datetime:
    """The flow run's scheduled start when inside a Prefect flow run, else now (UTC)."""
    try:  # prefect is optional here
        from prefect.runtime import flow_run

        scheduled = flow_run.scheduled_start_time
        if scheduled is not None:
            return _parse_date(scheduled)
    except Exception:  # noqa: BLE001 - outside a flow run, or no prefect
        pass
    return datetime.now(timezone.utc)


#: what a Prefect Variable name cannot hold (it allows lowercase letters, digits, ``-`` and ``_``)
VARIABLE_NAME_PATTERN = "[^a-z0-9_-]"


def variable_name(key: str) -> str:
    """The Prefect Variable name of an Airflow Variable key (``Team.API-Url`` -> ``team_api-url``):
    Prefect names are lowercase letters, digits, ``-`` and ``_``. Converted code whose key is known
    only at run time applies the same rule inline (``re.sub(VARIABLE_NAME_PATTERN, '_', key.lower())``)."""
    return re.sub(VARIABLE_NAME_PATTERN, "_", key.lower())


class _VariableAccessor:
    """``var.value.x`` / ``var.json.x``: a Prefect Variable ``x``, else env ``AIRFLOW_VAR_X``."""

    def __init__(self, deserialize_json: bool) -> None:
        self._json = deserialize_json

    def get(self, key: str, default_var: Any = None) -> Any:
        value = os.environ.get(f"AIRFLOW_VAR_{key.upper()}")
        if value is None:
            try:
                from prefect.variables import Variable

                # the key as written, then as ``interop import-variables`` names it (Prefect names
                # are lowercase: ``MY_KEY`` is imported as ``my_key``)
                for name in dict.fromkeys([key, variable_name(key)]):
                    try:
                        # ``_sync``: a value, not a coroutine, inside an async task or flow too
                        value = Variable.get(name, default=None, _sync=True)
                    except ValueError:  # not a valid Prefect name
                        value = None
                    if value is not None:
                        break
            except Exception:  # noqa: BLE001 - no prefect or no server
                value = None
        if value is None:
            if default_var is not None:
                return default_var
            raise KeyError(f"Variable {key!r} is not set (Prefect Variable or env AIRFLOW_VAR_{key.upper()})")
        if self._json and isinstance(value, str):
            return json.loads(value)
        return value

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return self.get(key)


VAR = SimpleNamespace(value=_VariableAccessor(False), json=_VariableAccessor(True))


@dataclass(frozen=True)
class RunContext:
    """The run-time values an Airflow task could read from its context.

    Attributes mirror Airflow's context keys (``ds``, ``ts``, ``params``, ``dag_run.conf`` ...).
    """

    logical_date: datetime
    params: dict = field(default_factory=dict)
    conf: dict = field(default_factory=dict)
    dag_id: str | None = None
    run_id: str = ""
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None

    @property
    def ds(self) -> str:
        return self.logical_date.strftime("%Y-%m-%d")

    @property
    def ds_nodash(self) -> str:
        return self.logical_date.strftime("%Y%m%d")

    @property
    def ts(self) -> str:
        return self.logical_date.isoformat()

    @property
    def ts_nodash(self) -> str:
        return self.logical_date.strftime("%Y%m%dT%H%M%S")

    @property
    def ts_nodash_with_tz(self) -> str:
        return self.ts.replace("-", "").replace(":", "")

    @property
    def yesterday_ds(self) -> str:
        """Airflow 1.10/2.x's neighbour of the date (a manual run: one day)."""
        return ds_add(self.ds, -1)

    @property
    def tomorrow_ds(self) -> str:
        return ds_add(self.ds, 1)

    @property
    def yesterday_ds_nodash(self) -> str:
        return self.yesterday_ds.replace("-", "")

    @property
    def tomorrow_ds_nodash(self) -> str:
        return self.tomorrow_ds.replace("-", "")

    @property
    def macros(self) -> SimpleNamespace:
        return MACROS

    @property
    def var(self) -> SimpleNamespace:
        return VAR

    @property
    def dag_run(self) -> SimpleNamespace:
        """The run as Airflow's ``dag_run`` shows a manual run: no partition, not backfilled."""
        return SimpleNamespace(
            conf=self.conf,
            run_id=self.run_id,
            logical_date=self.logical_date,
            execution_date=self.logical_date,
            run_after=self.logical_date,
            dag_id=self.dag_id,
            run_type="manual",
            external_trigger=True,
            data_interval_start=self.data_interval_start,
            data_interval_end=self.data_interval_end,
            partition_key=None,
            partition_date=None,
        )

    def template_context(
        self,
        upstream: Mapping[str, Mapping[str, Any]] | None = None,
        pushed: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The names Airflow puts in a Jinja template's context.

        Inside a Prefect task run, the task's own names too (``task_instance_key_str``,
        ``task.task_id``, ``ti.task_id``): the converted task is named by its Airflow task id.
        """
        task_id = _current_task_name()
        ti = UpstreamXComs(upstream or {}, pushed, task_id=task_id, dag_id=self.dag_id, run_id=self.run_id)
        task_names: dict[str, Any] = {}
        if task_id is not None:
            task_names = {
                "task_instance_key_str": f"{self.dag_id}__{task_id}__{self.ds_nodash}",
                "task": SimpleNamespace(task_id=task_id, dag_id=self.dag_id),
            }
        if self.dag_id is not None:  # ``{{ dag.dag_id }}``: the DAG object's id (its other attributes are unknown)
            task_names["dag"] = SimpleNamespace(dag_id=self.dag_id)
        return task_names | {
            "ds": self.ds,
            "ds_nodash": self.ds_nodash,
            "ts": self.ts,
            "ts_nodash": self.ts_nodash,
            "ts_nodash_with_tz": self.ts_nodash_with_tz,
            "logical_date": self.logical_date,
            # Airflow 1.10/2.x names for the same values (a manual run: one-day neighbours)
            "execution_date": self.logical_date,
            "yesterday_ds": self.yesterday_ds,
            "tomorrow_ds": self.tomorrow_ds,
            "yesterday_ds_nodash": self.yesterday_ds_nodash,
            "tomorrow_ds_nodash": self.tomorrow_ds_nodash,
            "data_interval_start": self.data_interval_start,
            "data_interval_end": self.data_interval_end,
            "params": self.params,
            "conf": self.conf,
            "dag_run": self.dag_run,
            "run_id": self.run_id,
            "macros": self.macros,
            "var": self.var,
            "ti": ti,
            "task_instance": ti,
        }


def airflow_context(
    logical_date: Any = None,
    params: Mapping[str, Any] | None = None,
    conf: Mapping[str, Any] | None = None,
    dag_id: str | None = None,
    run_id: str | None = None,
) -> RunContext:
    """Build the run context a converted flow hands to its tasks.

    Args:
        logical_date: the run's logical date (datetime, date or ISO string); ``None`` means the
            Prefect flow run's scheduled start time, or now outside a flow run.
        params: the DAG's params as the flow received them.
        conf: ``dag_run.conf``.
        dag_id: the original DAG id.
        run_id: defaults to ``manual__<logical date>`` as Airflow names manual runs.

    Returns:
        A frozen :class:`RunContext`. As for a manual Airflow run, the data interval starts and
        ends at the logical date.
    """
    when = _default_logical_date() if logical_date is None else _parse_date(logical_date)
    return RunContext(
        logical_date=when,
        params=dict(params or {}),
        conf=dict(conf or {}),
        dag_id=dag_id,
        run_id=run_id or f"manual__{when.isoformat()}",
        data_interval_start=when,
        data_interval_end=when,
    )


def _current_task_name() -> str | None:
    """The running Prefect task's name (a converted task is named by its Airflow task id)."""
    try:
        from prefect.context import TaskRunContext

        run_context = TaskRunContext.get()
    except Exception:  # noqa: BLE001 - no prefect
        return None
    return None if run_context is None else run_context.task.name


def _current_try_number() -> int:
    """Airflow's try number of the running Prefect task run (its first run is try 1)."""
    try:
        from prefect.context import TaskRunContext

        run_context = TaskRunContext.get()
    except Exception:  # noqa: BLE001
        return 1
    if run_context is None:
        return 1
    return int(getattr(run_context.task_run, "run_count", 0) or 0) or 1


# --------------------------------------------------------------------------- xcom views
class UpstreamXComs:
    """The ``ti`` of templates: ``xcom_pull`` answers from upstream task results.

    ``upstream`` maps task_id -> {xcom key: value}. A missing task or key gives ``None``, as in
    Airflow. ``xcom_push(key, value)`` records into ``pushed`` (the converted task returns it
    with its result); without ``pushed`` it raises, naming the key. ``task_id``, ``dag_id``,
    ``run_id``, ``map_index`` and ``try_number`` are the running task's.
    """

    def __init__(
        self,
        upstream: Mapping[str, Mapping[str, Any]],
        pushed: dict[str, Any] | None = None,
        task_id: str | None = None,
        dag_id: str | None = None,
        run_id: str = "",
    ) -> None:
        self._upstream = upstream
        self._pushed = pushed
        self.task_id = task_id
        self.dag_id = dag_id
        self.run_id = run_id
        self.map_index = -1
        self.try_number = _current_try_number()

    def xcom_push(self, key: str, value: Any) -> None:
        if self._pushed is None:
            raise RuntimeError(
                f"the template pushes XCom {key!r} (ti.xcom_push) but the converted task keeps no XComs; "
                "convert the DAG again (the converter returns pushed XComs with the task's result)"
            )
        self._pushed[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **_: Any) -> Any:
        if task_ids is None:
            # Airflow 3 reads the running task's own XComs (Airflow 2 read any task's: not answered here)
            return (self._pushed or {}).get(key)
        if isinstance(task_ids, str):
            return (self._upstream.get(task_ids) or {}).get(key)
        return [(self._upstream.get(t) or {}).get(key) for t in task_ids]


def xcom_value(result: Any, key: str = "return_value", structured: bool = False) -> Any:
    """The XCom ``key`` of an upstream task's result.

    Args:
        result: the upstream task's return value.
        key: the XCom key.
        structured: True when the upstream returns a dict of all its XComs (a task that pushed
            several keys, or a shimmed operator).
    """
    if structured:
        return (result or {}).get(key)
    return result if key == "return_value" else None


# --------------------------------------------------------------------------- bash
class BashCommandFailed(RuntimeError):
    """A converted ``BashOperator`` command exited with a non-zero code."""

    def __init__(self, exit_code: int, command: str, output_tail: str) -> None:
        self.exit_code = exit_code
        super().__init__(f"Bash command failed with exit code {exit_code}. Last output: {output_tail!r}")


def run_bash(
    command: str,
    *,
    env: Mapping[str, str] | None = None,
    append_env: bool = False,
    cwd: str | None = None,
    skip_on_exit_code: int | list[int] | None = 99,
    output_encoding: str = "utf-8",
    output_processor: Any = None,
) -> Any:
    """Run a shell command as Airflow's ``BashOperator`` does.

    Args:
        command: the (already rendered) command, run with ``bash -c``.
        env: environment for the command; ``None`` inherits this process's environment.
        append_env: with ``env``, add it to the inherited environment instead of replacing it.
        cwd: working directory; default a fresh temporary directory, as in Airflow.
        skip_on_exit_code: exit code(s) that mark the task skipped instead of failed.
        output_encoding: encoding of the command's output.
        output_processor: applied to the last output line (``json.loads`` ...), as in Airflow.

    Returns:
        The last line of standard output (Airflow's ``return_value`` XCom). When the command
        exits with a skip code and this runs inside Prefect, a ``Completed`` state named
        ``Skipped`` (Prefect records the task as skipped-but-not-failed).

    Raises:
        BashCommandFailed: on any other non-zero exit code.
    """
    import tempfile

    if env is None:
        run_env = dict(os.environ)
    elif append_env:
        run_env = {**os.environ, **env}
    else:
        run_env = dict(env)
    skip_codes = [] if skip_on_exit_code is None else (
        [skip_on_exit_code] if isinstance(skip_on_exit_code, int) else list(skip_on_exit_code)
    )
    with tempfile.TemporaryDirectory(prefix="interop-bash-") as tmp:
        proc = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd or tmp,
            env=run_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    output = proc.stdout.decode(output_encoding, errors="replace")
    lines = output.rstrip("\n").split("\n") if output else [""]
    last = lines[-1].rstrip() if lines else ""  # Airflow strips each output line's trailing blanks
    if output:
        print(output, end="" if output.endswith("\n") else "\n")
    if proc.returncode in skip_codes:
        try:
            from prefect.states import Completed

            return Completed(name="Skipped", message=f"Bash command returned exit code {proc.returncode}")
        except ImportError:  # pragma: no cover - prefect is the target runtime
            return None
    if proc.returncode != 0:
        raise BashCommandFailed(proc.returncode, command, last)
    return output_processor(last) if output_processor is not None else last


# --------------------------------------------------------------------------- templates
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, cache_size=0)


def _date_filter(fmt: Any) -> Any:
    return lambda value: None if value is None else fmt(value)


#: a DAG with ``render_template_as_native_obj=True``: Jinja's native rendering, as Airflow's
_NATIVE_ENV = jinja2.nativetypes.NativeEnvironment(undefined=jinja2.StrictUndefined, cache_size=0)

# Airflow's template filters (``{{ data_interval_end | ds }}``), as its templater defines them
for _env in (_ENV, _NATIVE_ENV):
    _env.filters.update(
        ds=_date_filter(lambda v: v.strftime("%Y-%m-%d")),
        ds_nodash=_date_filter(lambda v: v.strftime("%Y%m%d")),
        ts=_date_filter(lambda v: v.isoformat()),
        ts_nodash=_date_filter(lambda v: v.strftime("%Y%m%dT%H%M%S")),
        ts_nodash_with_tz=_date_filter(lambda v: v.isoformat().replace("-", "").replace(":", "")),
    )


def render_template(
    template: str,
    ctx: RunContext,
    upstream: Mapping[str, Mapping[str, Any]] | None = None,
    pushed: dict[str, Any] | None = None,
    native: bool = False,
    **extra: Any,
) -> Any:
    """Render an Airflow Jinja template at run time.

    Used for templates the converter could not turn into f-strings (loops, filters,
    conditionals, ``ti.xcom_push``). The context has Airflow's names; ``ti.xcom_pull`` answers
    from ``upstream`` (task_id -> {key: value}); ``ti.xcom_push(key, value)`` records into
    ``pushed`` (and renders ``None``, as in Airflow). With ``native`` (the DAG's
    ``render_template_as_native_obj=True``) the value is Jinja's native one, as Airflow renders
    it: a single value as it is (``{{ ti.xcom_pull(...) }}`` gives the dict), else the text read
    by ``ast.literal_eval`` where it is a literal (``"{{ ds_nodash }}"`` gives an int). A value
    known only at run time that is not a string is rendered as Airflow renders a templated field:
    a dict's values, a list's, tuple's or set's items, any other value returned as it is.
    """
    if isinstance(template, dict):  # a value known at run time: rendered as Airflow renders it
        return {key: render_template(value, ctx, upstream, pushed, native, **extra) for key, value in template.items()}
    if isinstance(template, (list, tuple, set)):
        return type(template)(render_template(item, ctx, upstream, pushed, native, **extra) for item in template)
    if not isinstance(template, str):
        return template
    context = ctx.template_context(upstream, pushed)
    context.update(extra)
    return (_NATIVE_ENV if native else _ENV).from_string(template).render(**context)


def with_xcoms(result: Any, pushed: Mapping[str, Any]) -> Any:
    """A task's result as every XCom it pushed: ``{**pushed, "return_value": result}``.

    For a task whose templates pushed XComs while rendering (``{{ ti.xcom_push(...) }}``).
    A Prefect state (a skip) is returned as it is; a ``None`` result adds no ``return_value``
    (Airflow stores no XCom for it).
    """
    if _is_state(result):
        return result
    out = dict(pushed)
    if result is not None:
        out["return_value"] = result
    return out


def _is_state(value: Any) -> bool:
    try:
        from prefect.states import State
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, State)


# --------------------------------------------------------------------------- small helpers
def seconds(value: Any) -> float | None:
    """A ``timedelta`` or a number of seconds as seconds (Airflow accepts both)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def xcom_lookup(upstream_xcoms: Mapping[str, Mapping[str, Any]], task_ids: Any, key: str = "return_value") -> Any:
    """Answer an ``xcom_pull`` whose task ids or key were only known at run time.

    ``upstream_xcoms`` maps every upstream task id to {key: value}; the converted flow passes
    it (report entry IX201).
    """
    return UpstreamXComs(upstream_xcoms).xcom_pull(task_ids=task_ids, key=key)


def airflow_callback(callback: Any) -> Any:
    """Wrap an Airflow ``on_*_callback(context)`` as a Prefect state hook.

    The converter writes this only for a callback of the file that reads ``macros`` or ``var``
    (which need this module); any other callback gets a plain ``task_callback`` /
    ``flow_callback`` of the output file, which builds the rest of this context in plain Python.

    The callback receives the run's template values (``ds``, ``params``, ``dag_run``, ``run_id``
    ...), ``dag`` (its ``dag_id``: the flow's name), ``exception``, ``task_instance``/``ti`` with
    ``task_id``, ``dag_id``, ``run_id``, ``try_number`` and ``state`` (in a task hook; Airflow's
    DAG callback gets the last failed task's, which a flow hook does not know: ``task_id`` None)
    and the hook's Prefect objects under ``prefect_task``, ``prefect_task_run`` and ``state``.
    """

    def hook(task: Any, task_run: Any, state: Any) -> None:
        exception = None
        if getattr(state, "is_failed", lambda: False)():
            try:
                state.result(raise_on_failure=True)
            except BaseException as exc:  # noqa: BLE001 - handed to the callback
                exception = exc
        is_flow = _is_flow(task)
        dag_id = getattr(task, "name", None) if is_flow else None
        context: dict[str, Any] = {}
        try:  # the run's own values (ds, params ...) from the flow run's parameters
            if is_flow:  # (flow, flow_run, state)
                parameters = dict(getattr(task_run, "parameters", None) or {})
                start = getattr(task_run, "expected_start_time", None)
            else:
                from prefect.runtime import flow_run

                parameters = dict(flow_run.parameters or {})
                start = None
                dag_id = flow_run.flow_name
            logical = parameters.pop("logical_date", None) or start
            conf = parameters.pop("conf", None)
            context.update(airflow_context(logical, params=parameters, conf=conf, dag_id=dag_id).template_context())
        except Exception:  # noqa: BLE001 - outside a flow run
            pass
        context |= {
            "task_instance": SimpleNamespace(
                task_id=None if is_flow else getattr(task, "name", None),
                dag_id=dag_id,
                run_id=context.get("run_id"),
                try_number=None if is_flow else getattr(task_run, "run_count", None),
                state=getattr(state, "name", None),
            ),
            "exception": exception,
            "prefect_task": task,
            "prefect_task_run": task_run,
            "state": state,
        }
        if not is_flow:
            context["task"] = SimpleNamespace(task_id=getattr(task, "name", None), dag_id=dag_id)
        context["ti"] = context["task_instance"]
        callback(context)

    hook.__name__ = getattr(callback, "__name__", "airflow_callback")
    return hook


def _is_flow(obj: Any) -> bool:
    try:
        from prefect import Flow
    except Exception:  # noqa: BLE001 - no prefect
        return False
    return isinstance(obj, Flow)


# --------------------------------------------------------------------------- branching
def branch_targets(result: Any) -> set[str]:
    """The task ids a branch task chose (a task id, a list of them, or None).

    A branch operator run through the operator shim returns its XComs: its choice is
    ``skipmixin_key``'s ``followed`` list (none: it chose nothing, or skipped itself).
    """
    if result is None:
        return set()
    if isinstance(result, str):
        return {result}
    if isinstance(result, Mapping):
        choice = result.get("skipmixin_key") or {}
        return {str(r) for r in (choice.get("followed") or [])} if isinstance(choice, Mapping) else set()
    return {str(r) for r in result}


_SKIP_TASK: Any = None


def skip_task(name: str, wait_for: list[Any] | None = None) -> Any:
    """Record task ``name`` as skipped in the flow run: a task run ending ``Completed`` named ``Skipped``.

    ``wait_for`` are its upstream futures, so the flow run's graph keeps the DAG's edges to it.
    Returns its future, so downstream tasks can wait on it as on any other.
    """
    global _SKIP_TASK
    from prefect import allow_failure, task
    from prefect.states import Completed

    if _SKIP_TASK is None:

        def skipped() -> Any:
            return Completed(name="Skipped", message="skipped: not chosen by a branch upstream (converted from Airflow)")

        _SKIP_TASK = task(skipped, name="skipped", cache_policy=_no_cache())
    return _SKIP_TASK.with_options(name=name).submit(wait_for=[allow_failure(f) for f in wait_for or []])


def _accepts_cache_policy() -> bool:
    try:
        from prefect.cache_policies import NO_CACHE  # noqa: F401

        return True
    except ImportError:  # pragma: no cover
        return False


def _no_cache() -> Any:
    from prefect.cache_policies import NO_CACHE

    return NO_CACHE


def skipped(message: str = "") -> Any:
    """What a converted task returns where the Airflow task skipped itself.

    A Prefect ``Completed`` state named ``Skipped`` (the task run is recorded as skipped, not
    failed); downstream tasks check it with :func:`was_skipped`.
    """
    from prefect.states import Completed

    return Completed(name="Skipped", message=str(message) or "skipped (converted from Airflow)")


def was_skipped(future: Any) -> bool:
    """Wait for a submitted task and tell whether it ended skipped."""
    future.wait()
    state = future.state
    return bool(state is not None and state.is_completed() and state.name == "Skipped")


# --------------------------------------------------------------------------- Variables
_NO_DEFAULT = object()


class Variable:
    """Airflow's ``Variable`` API over Prefect Variables (then ``AIRFLOW_VAR_<KEY>``).

    Converted code reads Variables with ``prefect.variables.Variable`` where every use in the file
    has a Prefect equivalent (:mod:`converters.variables`); a file that also uses what has none
    (``setdefault``, ``update``, a ``deserialize_json`` known only at run time ...) imports this
    class in place of ``airflow.models.Variable``, so that its calls keep Airflow's behaviour:
    ``default_var`` (``None`` included) returned as is, ``KeyError`` for a missing key without one,
    values stored as strings (``serialize_json`` as Airflow's ``json.dumps(value, indent=2)``).
    """

    @staticmethod
    def get(key: str, default_var: Any = _NO_DEFAULT, deserialize_json: bool = False, *, default: Any = _NO_DEFAULT) -> Any:
        if default is not _NO_DEFAULT:  # Airflow 3's task SDK names it ``default``
            default_var = default
        try:
            return _VariableAccessor(deserialize_json).get(key)
        except KeyError:
            if default_var is not _NO_DEFAULT:
                return default_var
            raise

    @staticmethod
    def set(key: str, value: Any, description: str | None = None, serialize_json: bool = False) -> None:
        from prefect.variables import Variable as PrefectVariable

        stored = json.dumps(value, indent=2) if serialize_json else str(value)
        PrefectVariable.set(variable_name(key), stored, overwrite=True, _sync=True)

    @staticmethod
    def delete(key: str) -> bool:
        from prefect.variables import Variable as PrefectVariable

        return PrefectVariable.unset(variable_name(key), _sync=True)

    @staticmethod
    def setdefault(key: str, default: Any, description: str | None = None, deserialize_json: bool = False) -> Any:
        """The value of ``key``, or ``default`` stored under it and returned (Airflow's)."""
        value = Variable.get(key, default_var=None, deserialize_json=deserialize_json)
        if value is None:
            if default is None:
                raise ValueError("Default Value must be set")
            Variable.set(key, default, description=description, serialize_json=deserialize_json)
            return default
        return value

    @staticmethod
    def update(key: str, value: Any, serialize_json: bool = False) -> None:
        """Set an existing ``key`` (``KeyError`` when it is not set, as Airflow)."""
        Variable.get(key)
        Variable.set(key, value, serialize_json=serialize_json)
