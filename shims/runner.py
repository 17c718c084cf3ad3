"""Run an Airflow DAG in this process: no scheduler, no metadata database.

:func:`run_dag` loads a DAG file with Airflow 3 (through Airflow's ``DagBag``), then plays the
scheduler's part: it walks the tasks in dependency order, evaluates each task's trigger rule on
its upstream states (Airflow's rules, same words), honours the skips that branch and
short-circuit operators request, expands mapped tasks from their upstream XComs, and retries
failed tries after ``retry_delay``. Each task instance itself runs through Airflow's own task
runner (``airflow.sdk.execution_time.task_runner.run``), so context, template rendering,
``execution_timeout``, sensors, ``AirflowSkipException`` and XCom serialization are Airflow's.

Example:
    >>> result = run_dag("dags/etl.py", dag_id="etl", logical_date="2024-01-01")
    >>> result.state, result.tasks["extract"].state, result.xcoms()["extract"]
    ('success', 'success', {'return_value': [1, 2, 3]})
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping

__all__ = [
    "DagLoadError",
    "TaskResult",
    "TaskInstanceResult",
    "DagRunResult",
    "load_dags",
    "load_dag",
    "run_dag",
    "DagRunner",
    "waits_for_another_dag",
]

#: a retry wait at least this long is announced on stderr (the run would look hung otherwise)
RETRY_WAIT_NOTICE_SECONDS = 5.0

#: terminal states of a task instance, Airflow's words
SUCCESS, FAILED, SKIPPED, UPSTREAM_FAILED = "success", "failed", "skipped", "upstream_failed"
FINISHED = {SUCCESS, FAILED, SKIPPED, UPSTREAM_FAILED, "removed"}


class DagLoadError(Exception):
    """A DAG file could not be loaded or the DAG id is not in it.

    Attributes:
        path: the file.
        dag_ids: the DAG ids found in it (may be empty).
        details: the import traceback, when the file failed to import (the message is one line).
    """

    def __init__(self, message: str, path: str | None = None, dag_ids: list[str] | None = None, details: str = "") -> None:
        self.path = path
        self.dag_ids = list(dag_ids or [])
        self.details = details
        super().__init__(message)


# --------------------------------------------------------------------------- results
@dataclass
class TaskInstanceResult:
    """One task instance (one map index of a mapped task) after the run."""

    task_id: str
    map_index: int
    state: str
    try_number: int = 0
    xcoms: dict[str, Any] = field(default_factory=dict)
    start_date: datetime | None = None
    end_date: datetime | None = None
    log: str = ""
    error: str | None = None


@dataclass
class TaskResult:
    """A task after the run: its state, and its instances when it was mapped.

    ``state`` is the task's state in Airflow's words; for a mapped task it sums up its
    instances (``failed`` if one failed, ``upstream_failed`` if one was, ``skipped`` if all
    were or there were none, else ``success``).
    """

    task_id: str
    state: str
    instances: list[TaskInstanceResult] = field(default_factory=list)
    mapped: bool = False

    @property
    def try_number(self) -> int:
        return max((i.try_number for i in self.instances), default=0)

    @property
    def xcoms(self) -> dict[str, Any]:
        """``{key: value}``; for a mapped task ``{"key[i]": value}`` per map index ``i``."""
        if not self.mapped:
            return dict(self.instances[0].xcoms) if self.instances else {}
        out: dict[str, Any] = {}
        for inst in self.instances:
            for key, value in inst.xcoms.items():
                out[f"{key}[{inst.map_index}]"] = value
        return out

    @property
    def start_date(self) -> datetime | None:
        return min((i.start_date for i in self.instances if i.start_date), default=None)

    @property
    def end_date(self) -> datetime | None:
        return max((i.end_date for i in self.instances if i.end_date), default=None)

    @property
    def log(self) -> str:
        return "".join(i.log for i in self.instances)

    @property
    def error(self) -> str | None:
        errors = [i.error for i in self.instances if i.error]
        return "\n".join(errors) if errors else None


@dataclass
class DagRunResult:
    """The outcome of :func:`run_dag`."""

    dag_id: str
    run_id: str
    logical_date: datetime
    state: str
    tasks: dict[str, TaskResult]
    start_date: datetime | None = None
    end_date: datetime | None = None
    #: tasks Airflow creates no instance of for this logical date: task id -> why (start/end date)
    not_run: dict[str, str] = field(default_factory=dict)

    def xcoms(self) -> dict[str, dict[str, Any]]:
        """``{task_id: {key: value}}``; mapped instances under ``"key[i]"``."""
        return {task_id: result.xcoms for task_id, result in self.tasks.items()}

    def states(self) -> dict[str, str]:
        return {task_id: result.state for task_id, result in self.tasks.items()}

    def failed_tasks(self) -> list[TaskResult]:
        return [t for t in self.tasks.values() if t.state == FAILED]

    def to_json(self) -> dict[str, Any]:
        """``{"dag_id", "state", "tasks": {task_id: {"state", "xcoms"}}}`` (``interop run --json``)."""
        return {
            "dag_id": self.dag_id,
            "state": self.state,
            "tasks": {
                task_id: {"state": result.state, "xcoms": result.xcoms} for task_id, result in self.tasks.items()
            },
        }


# --------------------------------------------------------------------------- loading
def load_dags(path_or_module: str | Path | ModuleType) -> dict[str, Any]:
    """All DAGs defined by a file (or an imported module), with Airflow's ``DagBag``.

    Raises:
        DagLoadError: the file is missing or fails to import (the message names the file and
            carries Airflow's import error).
    """
    if isinstance(path_or_module, ModuleType):
        file = getattr(path_or_module, "__file__", None)
        if not file:
            raise DagLoadError(f"module {path_or_module.__name__!r} has no file to load DAGs from")
        path = Path(file)
    else:
        path = Path(path_or_module)
    if not path.exists():
        raise DagLoadError(f"DAG file {str(path)!r} does not exist", path=str(path))
    if path.is_dir():
        raise DagLoadError(f"{str(path)!r} is a directory; give one DAG file", path=str(path))
    from airflow_interop.compat import needs_compat

    if needs_compat(path):  # a 1.10/2.x DAG file: Airflow's 2->3 renames applied in memory (shims/compat)
        from airflow_interop.compat import CompatError, CompatLoadError, load_dags_compat

        try:
            return dict(load_dags_compat(path).dags)
        except (CompatError, CompatLoadError, SyntaxError) as exc:
            raise DagLoadError(str(exc), path=str(path), details=getattr(exc, "details", "")) from exc
    from airflow_interop.tasklog import TaskLogCapture

    # Airflow logs "Filling up the DagBag ..." to stdout, and an import error with its traceback;
    # keep both out of the output: the error is raised below as one line (the traceback in .details).
    import logging

    importer_log = logging.getLogger("airflow.dag_processing")
    level = importer_log.level
    importer_log.setLevel(logging.CRITICAL)
    try:
        with TaskLogCapture("dagbag", echo=False):
            from airflow.dag_processing.dagbag import DagBag

            bag = DagBag(dag_folder=str(path), safe_mode=False)
    finally:
        importer_log.setLevel(level)
    if bag.import_errors:
        from airflow_interop.compat.errors import describe_import_failure

        details = "\n".join(str(v) for v in bag.import_errors.values())
        raise DagLoadError(describe_import_failure(details, path) + " [failed to import]", path=str(path), details=details)
    return dict(bag.dags)


def load_dag(path_or_module: Any, dag_id: str | None = None) -> Any:
    """One DAG from a file, module or DAG object.

    Args:
        path_or_module: a DAG file path, an imported module, or an Airflow ``DAG``.
        dag_id: which DAG when the file defines several (required then).

    Raises:
        DagLoadError: no DAG, an unknown ``dag_id``, or several DAGs and no ``dag_id``; the
            message names the file and lists the DAG ids found.
    """
    if hasattr(path_or_module, "task_dict") and hasattr(path_or_module, "dag_id"):
        if dag_id is not None and path_or_module.dag_id != dag_id:
            raise DagLoadError(f"DAG object has id {path_or_module.dag_id!r}, not {dag_id!r}")
        return path_or_module
    dags = load_dags(path_or_module)
    where = str(getattr(path_or_module, "__file__", path_or_module))
    found = sorted(dags)
    if not dags:
        raise DagLoadError(f"No Airflow DAG found in {where!r}.", path=where, dag_ids=found)
    if dag_id is None:
        if len(dags) > 1:
            raise DagLoadError(
                f"{where!r} defines several DAGs; choose one with dag_id. Found DAGs: {found}",
                path=where,
                dag_ids=found,
            )
        return next(iter(dags.values()))
    if dag_id not in dags:
        raise DagLoadError(
            f"DAG with id {dag_id!r} not found in {where!r}. Found DAGs: {found}", path=where, dag_ids=found
        )
    return dags[dag_id]


# --------------------------------------------------------------------------- waits the runner cannot end
#: operators that wait for another DAG's run, which this runner never has (it runs one DAG, with
#: no scheduler): class name -> (the attribute naming the other DAG, the condition attribute that
#: makes it wait, or ``None`` when it always waits). Such a task ends at once, failed (skipped with
#: ``soft_fail``), with the reason as its error, instead of poking until its timeout.
WAITS_FOR_ANOTHER_DAG: dict[str, tuple[str, str | None]] = {
    "ExternalTaskSensor": ("external_dag_id", None),
    "TriggerDagRunOperator": ("trigger_dag_id", "wait_for_completion"),
}


def waits_for_another_dag(task: Any) -> str | None:
    """Why ``task`` would wait forever in this runner (another DAG's run), or ``None``."""
    for cls in type(task).__mro__:
        rule = WAITS_FOR_ANOTHER_DAG.get(cls.__name__)
        if rule is None:
            continue
        dag_attr, condition = rule
        if condition is not None and not getattr(task, condition, False):
            return None
        other = getattr(task, dag_attr, None)
        return (
            f"{cls.__name__} {task.task_id!r} waits for a run of DAG {other!r}; the in-process runner runs only "
            f"this DAG (no scheduler, no other DAG runs), so it would wait until its timeout. Run both DAGs on "
            f"an Airflow deployment to test the dependency"
        )
    return None


# --------------------------------------------------------------------------- trigger rules
def evaluate_trigger_rule(rule: str, upstream_states: list[str], setup_states: list[str] | None = None) -> str | None:
    """What Airflow's scheduler does with a task whose upstream tasks are all finished.

    Mirrors ``airflow.ti_deps.deps.trigger_rule_dep`` (with ``flag_upstream_failed``) once
    every upstream instance is done.

    Args:
        rule: the task's trigger rule value (``all_success``, ``one_failed`` ...).
        upstream_states: the states of every upstream task instance.
        setup_states: the states of upstream setup tasks (for ``all_done_setup_success``).

    Returns:
        ``None`` to run the task, else the state to give it (``skipped`` or ``upstream_failed``).
    """
    n = len(upstream_states)
    if n == 0:
        return None
    success = upstream_states.count(SUCCESS)
    failed = upstream_states.count(FAILED)
    upstream_failed = upstream_states.count(UPSTREAM_FAILED)
    skipped = upstream_states.count(SKIPPED)
    done = n
    if rule == "all_success":
        if failed or upstream_failed:
            return UPSTREAM_FAILED
        if skipped:
            return SKIPPED
        return None
    if rule == "all_failed":
        return SKIPPED if (success or skipped) else None
    if rule in ("all_done", "always"):
        return None
    if rule == "one_success":
        if done == skipped:
            return SKIPPED
        if success <= 0:
            return UPSTREAM_FAILED
        return None
    if rule == "one_failed":
        return None if (failed or upstream_failed) else SKIPPED
    if rule == "one_done":
        return None if (failed or success) else SKIPPED
    if rule == "none_failed":
        return UPSTREAM_FAILED if (failed or upstream_failed) else None
    if rule == "none_failed_min_one_success":
        if failed or upstream_failed:
            return UPSTREAM_FAILED
        if skipped == n:
            return SKIPPED
        if success == 0:
            return UPSTREAM_FAILED
        return None
    if rule == "none_skipped":
        return SKIPPED if skipped else None
    if rule == "all_skipped":
        return SKIPPED if (success or failed or upstream_failed) else None
    if rule == "all_done_min_one_success":
        if skipped > 0:
            return SKIPPED
        if success == 0:
            return UPSTREAM_FAILED
        return None
    if rule == "all_done_setup_success":
        setups = setup_states or []
        if setups and setups.count(SKIPPED) >= len(setups):
            return SKIPPED
        if setups and setups.count(SUCCESS) == 0:
            return UPSTREAM_FAILED
        return None
    raise ValueError(f"unknown trigger rule {rule!r}")


def _retry_delay(task: Any, try_number: int) -> float:
    """Seconds before the next try, as Airflow computes it (without its hash jitter)."""
    delay = getattr(task, "retry_delay", timedelta(0)) or timedelta(0)
    if not isinstance(delay, timedelta):
        delay = timedelta(seconds=float(delay))
    seconds = delay.total_seconds()
    if getattr(task, "retry_exponential_backoff", False) and seconds > 0:
        seconds = math.ceil(seconds * (2 ** (try_number - 1)))
        max_delay = getattr(task, "max_retry_delay", None)
        if max_delay is not None:
            max_s = max_delay.total_seconds() if isinstance(max_delay, timedelta) else float(max_delay)
            seconds = min(seconds, max_s)
    return seconds


# --------------------------------------------------------------------------- the runner
class DagRunner:
    """Runs one DAG run in this process. Most callers want :func:`run_dag`.

    Args:
        dag: an Airflow DAG (task SDK ``DAG``).
        logical_date: the run's logical date (aware datetime, date or ISO string; ``None`` is now).
        params: values for the DAG's params (applied like ``dag_run.conf`` overrides).
        conf: ``dag_run.conf``.
        variables: Airflow Variables for ``var.value``/``Variable.get`` (env ``AIRFLOW_VAR_*``
            also works).
        connections: Airflow Connections by id (dicts of connection fields).
        run_id: defaults to ``manual__<ISO time of the run>`` as Airflow names manual runs.
        echo: also print task logs to this process's output.
        on_task_start: ``callback(task, map_index)`` before each task instance runs.
        on_task_end: ``callback(task_result_instance)`` after each finished instance.
        sleep: the function used to wait between retries and reschedules.
    """

    def __init__(
        self,
        dag: Any,
        *,
        logical_date: Any = None,
        params: Mapping[str, Any] | None = None,
        conf: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        connections: Mapping[str, Mapping[str, Any]] | None = None,
        run_id: str | None = None,
        echo: bool = True,
        on_task_start: Callable[[Any, int], None] | None = None,
        on_task_end: Callable[[TaskInstanceResult], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from airflow_interop.comms import InMemorySupervisor, XComStore
        from airflow_interop.context import coerce_logical_date, infer_data_interval, make_dag_run

        self.dag = dag
        self.logical_date = coerce_logical_date(logical_date)
        self.params = dict(params or {})
        self.conf = dict(conf or {})
        self.echo = echo
        self.on_task_start = on_task_start
        self.on_task_end = on_task_end
        self.sleep = sleep
        self.dag_run = make_dag_run(
            dag.dag_id,
            logical_date=self.logical_date,
            run_id=run_id,
            conf=self.conf,
            data_interval=infer_data_interval(dag, self.logical_date),
        )
        self.xcoms = XComStore()
        #: (task_id, map_index) -> state; map_index -1 for unmapped tasks
        self.ti_states: dict[tuple[str, int], str] = {}
        self.supervisor = InMemorySupervisor(
            dag.dag_id,
            self.dag_run.run_id,
            xcoms=self.xcoms,
            variables=dict(variables or {}),
            connections={k: dict(v) for k, v in (connections or {}).items()},
            task_states=self.ti_states,
        )
        self.instances: dict[str, list[TaskInstanceResult]] = {}
        self.mapped: dict[str, bool] = {}
        self.started: datetime | None = datetime.now(timezone.utc)
        self._pid = os.getpid()

    # ------------------------------------------------------------------ order
    def task_order(self) -> list[str]:
        """Task ids in dependency order (ties broken by the DAG's own task order)."""
        import graphlib

        sorter = graphlib.TopologicalSorter({tid: set(t.upstream_task_ids) for tid, t in self.dag.task_dict.items()})
        position = {tid: i for i, tid in enumerate(self.dag.task_dict)}
        sorter.prepare()
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=lambda t: position[t])
            for tid in ready:
                order.append(tid)
                sorter.done(tid)
        return order

    # ------------------------------------------------------------------ run
    def run(self) -> DagRunResult:
        """Run every task once its upstream tasks are finished; return the run's result."""
        from airflow_interop.comms import bound

        self.started = datetime.now(timezone.utc)
        with bound(self.supervisor):
            for task_id in self.task_order():
                if self.creates_instance(task_id):
                    self._run_task(self.dag.task_dict[task_id])
        return self.result()

    def creates_instance(self, task_id: str) -> bool:
        """Whether Airflow creates a task instance of this task for this run.

        Airflow skips tasks whose ``start_date`` is after the run's logical date or whose
        ``end_date`` is before it (``DagRun.verify_integrity``); they do not appear in the run.
        """
        task = self.dag.task_dict[task_id]
        start = getattr(task, "start_date", None)
        end = getattr(task, "end_date", None)
        if start is not None and start > self.logical_date:
            return False
        if end is not None and self.logical_date > end:
            return False
        return True

    def result(self) -> DagRunResult:
        """The run's result so far (tasks not run yet have state ``none``)."""
        tasks = {
            task_id: TaskResult(
                task_id=task_id,
                state=_summary_state(self.instances.get(task_id, []), self.mapped.get(task_id, False))
                if task_id in self.mapped
                else "none",
                instances=self.instances.get(task_id, []),
                mapped=self.mapped.get(task_id, False),
            )
            for task_id in self.dag.task_dict
            if self.creates_instance(task_id)
        }
        return DagRunResult(
            dag_id=self.dag.dag_id,
            run_id=self.dag_run.run_id,
            logical_date=self.logical_date,
            state=self._dag_run_state(tasks),
            tasks=tasks,
            start_date=self.started,
            end_date=datetime.now(timezone.utc),
            not_run={t: self.not_created_reason(t) for t in self.dag.task_dict if not self.creates_instance(t)},
        )

    def not_created_reason(self, task_id: str) -> str:
        """Why :meth:`creates_instance` is false for a task (its start or end date)."""
        task = self.dag.task_dict[task_id]
        start, end = getattr(task, "start_date", None), getattr(task, "end_date", None)
        if start is not None and start > self.logical_date:
            return f"its start_date {start.isoformat()} is after the logical date {self.logical_date.isoformat()}"
        return f"its end_date {end.isoformat() if end else None} is before the logical date {self.logical_date.isoformat()}"

    def _dag_run_state(self, tasks: dict[str, TaskResult]) -> str:
        """Airflow's rule: the run fails when a leaf task failed or is upstream_failed."""
        leaves = [t for t in self.dag.task_dict.values() if not t.downstream_task_ids and t.task_id in tasks]
        for leaf in leaves:
            if getattr(leaf, "is_teardown", False) and not getattr(leaf, "on_failure_fail_dagrun", False):
                continue
            if tasks[leaf.task_id].state in (FAILED, UPSTREAM_FAILED):
                return FAILED
        return SUCCESS

    def _upstream_states(self, task: Any) -> tuple[list[str], list[str]]:
        states: list[str] = []
        setups: list[str] = []
        for up_id in task.upstream_task_ids:
            if not self.creates_instance(up_id):  # no task instance in this run: not counted
                continue
            up_states = [inst.state for inst in self.instances.get(up_id, [])]
            if not up_states:  # a mapped upstream with zero instances counts as skipped
                up_states = [SKIPPED]
            states.extend(up_states)
            if getattr(self.dag.task_dict[up_id], "is_setup", False):
                setups.extend(up_states)
        return states, setups

    def _finish_without_running(self, task: Any, state: str, map_index: int = -1) -> None:
        inst = TaskInstanceResult(task_id=task.task_id, map_index=map_index, state=state)
        self.instances.setdefault(task.task_id, []).append(inst)
        self.ti_states[(task.task_id, map_index)] = state
        if self.on_task_end:
            self.on_task_end(inst)

    def _skip_requested(self, task_id: str, map_index: int) -> bool:
        return any(
            t == task_id and (mi is None or mi == map_index or (mi == -1 and map_index < 0))
            for t, mi in self.supervisor.skip_requests
        )

    def _run_task(self, task: Any) -> None:
        from airflow_interop.mapping import expand_count, needs_expansion

        task_id = task.task_id
        self.mapped[task_id] = needs_expansion(task)
        if self._skip_requested(task_id, -1):
            self._finish_without_running(task, SKIPPED)
            return
        upstream, setups = self._upstream_states(task)
        decision = evaluate_trigger_rule(str(getattr(task.trigger_rule, "value", task.trigger_rule)), upstream, setups)
        if decision is not None:
            self._finish_without_running(task, decision)
            return
        elsewhere = waits_for_another_dag(task)
        if elsewhere is not None:  # it would poke until its timeout (7 days by default): end it now
            self._finish_without_running(task, SKIPPED if getattr(task, "soft_fail", False) else FAILED)
            self.instances[task_id][-1].error = elsewhere
            return
        if not self.mapped[task_id]:
            self._run_instance(task, -1)
            return
        try:
            count = expand_count(task, self._xcom_value, self._instance_count)
        except Exception as exc:  # noqa: BLE001 - an expansion error fails the task, as in Airflow
            self._finish_without_running(task, FAILED)
            self.instances[task_id][-1].error = f"{type(exc).__name__}: {exc}"
            return
        if count == 0:
            self.instances.setdefault(task_id, [])
            return
        for map_index in range(count):
            if self._skip_requested(task_id, map_index):
                self._finish_without_running(task, SKIPPED, map_index)
                continue
            self._run_instance(task, map_index)

    def _xcom_value(self, task_id: str, key: str) -> Any:
        from airflow_interop.comms import _Wrapped
        from airflow.sdk.bases.xcom import BaseXCom

        raw = self.xcoms.get(task_id, -1, key)
        return None if raw is None else BaseXCom.deserialize_value(_Wrapped(raw))

    def _instance_count(self, task_id: str) -> int | None:
        if not self.mapped.get(task_id):
            return None
        return len(self.instances.get(task_id, []))

    def _context(self, ti: Any, task: Any) -> Any:
        context = ti.get_template_context()
        if self.params:
            from airflow.sdk.definitions.param import process_params

            context["params"] = process_params(task.dag, task, {**self.params, **self.conf}, suppress_exception=False)
        return context

    def _run_instance(self, task: Any, map_index: int) -> TaskInstanceResult:
        """Run one task instance through Airflow's task runner, with its retries."""
        from airflow.sdk.execution_time import comms as c
        from airflow.sdk.execution_time import task_runner

        from airflow_interop.context import make_task_instance
        from airflow_interop.tasklog import TaskLogCapture

        inst = TaskInstanceResult(task_id=task.task_id, map_index=map_index, state="running")
        self.instances.setdefault(task.task_id, []).append(inst)
        self.ti_states[(task.task_id, map_index)] = "running"
        if self.on_task_start:
            self.on_task_start(task, map_index)
        inst.start_date = datetime.now(timezone.utc)
        logs: list[str] = []
        try_number = 1
        reschedules = 0
        resume: tuple[str, Any] | None = None
        while True:
            self.supervisor.terminal = None
            ti = make_task_instance(
                task,
                self.dag_run,
                map_index=map_index,
                try_number=try_number,
                task_reschedule_count=reschedules,
                next_method=resume[0] if resume else None,
                next_kwargs=resume[1] if resume else None,
            )
            resume = None
            self.supervisor.ti_keys[ti.id] = (task.task_id, map_index)
            with TaskLogCapture(task.task_id, echo=self.echo) as capture:
                try:
                    context = self._context(ti, task)
                except Exception as exc:  # noqa: BLE001 - a context error fails the try, as in Airflow
                    capture.logger.exception("Could not build the task context")
                    state, error = "failed", exc
                else:
                    with _bridge_for(task, self.supervisor, capture):
                        state, _msg, error = task_runner.run(ti, context, capture.logger)
                    _stop_if_forked(self._pid, task.task_id)
            logs.append(capture.text)
            state_name = getattr(state, "value", str(state))
            inst.try_number = try_number
            if error is not None:
                inst.error = f"{type(error).__name__}: {error}"
            if state_name == "up_for_retry":
                delay = _retry_delay(task, try_number)
                terminal = self.supervisor.terminal
                if isinstance(terminal, c.RetryTask) and terminal.retry_delay_seconds is not None:
                    delay = terminal.retry_delay_seconds
                self.xcoms.clear_task(task.task_id, map_index)
                if delay >= RETRY_WAIT_NOTICE_SECONDS:  # say why the run is quiet, as Airflow's dags test waits too
                    print(
                        f"note: task {task.task_id!r} failed on try {try_number} ({inst.error}); waiting its retry_delay "
                        f"of {delay:.0f} s before try {try_number + 1}, as Airflow does",
                        file=sys.stderr,
                        flush=True,
                    )
                self.sleep(delay)
                try_number += 1
                continue
            if state_name == "up_for_reschedule":
                terminal = self.supervisor.terminal
                if reschedules == 0:
                    self.supervisor.reschedule_start[try_number] = inst.start_date
                reschedules += 1
                wait = 0.0
                if isinstance(terminal, c.RescheduleTask) and terminal.reschedule_date is not None:
                    wait = (terminal.reschedule_date - datetime.now(timezone.utc)).total_seconds()
                self.sleep(max(wait, 0.0))
                continue
            if state_name == "deferred":
                terminal = self.supervisor.terminal
                try:
                    next_method, next_kwargs = _run_trigger(terminal)
                except Exception as exc:  # noqa: BLE001 - a trigger failure fails the task
                    inst.state = FAILED
                    inst.error = f"{type(exc).__name__}: {exc} (trigger {getattr(terminal, 'classpath', '?')})"
                    break
                resume = (next_method, next_kwargs)
                continue
            inst.state = state_name if state_name in FINISHED else FAILED
            break
        inst.end_date = datetime.now(timezone.utc)
        inst.log = "".join(logs)
        inst.xcoms = self.xcoms.deserialized(task.task_id, map_index)
        self.ti_states[(task.task_id, map_index)] = inst.state
        if self.on_task_end:
            self.on_task_end(inst)
        return inst


def _stop_if_forked(pid: int, task_id: str) -> None:
    """A task that forked and whose fork returned from the task (no ``exec``, no exit): the fork
    must not go on to run the downstream tasks or report the run; it ends here."""
    if os.getpid() != pid:
        message = f"warning: task {task_id!r} forked a process that returned from the task; that process stops here\n"
        try:
            os.write(2, message.encode())  # the real stderr: the task's own output is being captured
        except OSError:
            pass
        os._exit(0)


def _bridge_for(task: Any, supervisor: Any, capture: Any) -> Any:
    """A supervisor socket for operators that run Python in a subprocess, else a no-op."""
    import contextlib

    from airflow_interop.subprocess_bridge import SupervisorBridge, needs_bridge

    if needs_bridge(task):
        return SupervisorBridge(supervisor, capture._parts.append)
    return contextlib.nullcontext()


def _run_trigger(defer: Any) -> tuple[str, Any]:
    """Run a deferred task's trigger in this process until its first event, as ``dags test`` does.

    Returns:
        ``(next_method, serialized next_kwargs)`` to resume the task with; the event's payload
        is passed as ``event``. On the trigger's timeout, Airflow's ``__fail__`` resumption.
    """
    import asyncio

    from airflow.sdk.serde import deserialize, serialize
    from airflow.sdk.module_loading import import_string

    trigger_cls = import_string(defer.classpath)
    kwargs = deserialize(defer.trigger_kwargs) if defer.trigger_kwargs else {}
    trigger = trigger_cls(**kwargs)
    timeout = defer.trigger_timeout.total_seconds() if defer.trigger_timeout else None

    async def first_event() -> Any:
        async for event in trigger.run():
            return event
        return None

    async def with_timeout() -> Any:
        try:
            return await asyncio.wait_for(first_event(), timeout)
        finally:
            cleanup = trigger.cleanup()
            if asyncio.iscoroutine(cleanup):
                await cleanup

    try:
        event = asyncio.run(with_timeout())
    except asyncio.TimeoutError:
        return "__fail__", serialize({"error": "Trigger/execution timeout"})
    next_kwargs = deserialize(defer.next_kwargs) if defer.next_kwargs else {}
    next_kwargs["event"] = getattr(event, "payload", None)
    return defer.next_method, serialize(next_kwargs)


def _summary_state(instances: list[TaskInstanceResult], mapped: bool) -> str:
    if not instances:
        return SKIPPED if mapped else "none"
    states = [i.state for i in instances]
    if not mapped:
        return states[0]
    if FAILED in states:
        return FAILED
    if UPSTREAM_FAILED in states:
        return UPSTREAM_FAILED
    if all(s == SKIPPED for s in states):
        return SKIPPED
    return SUCCESS


def run_dag(
    path_or_module: Any,
    dag_id: str | None = None,
    *,
    logical_date: Any = None,
    params: Mapping[str, Any] | None = None,
    conf: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
    connections: Mapping[str, Mapping[str, Any]] | None = None,
    echo: bool = True,
    **runner_options: Any,
) -> DagRunResult:
    """Load a DAG and run it in this process (see :class:`DagRunner` for the options).

    Args:
        path_or_module: a DAG file, an imported module, or a ``DAG`` object.
        dag_id: which DAG of the file (needed when it defines several).
        logical_date: the run's logical date; ``None`` means now (UTC), like ``airflow dags test``.
        params: DAG param values.
        conf: ``dag_run.conf``.
        variables: Airflow Variables visible to the tasks.
        connections: Airflow Connections visible to the tasks.
        echo: also print task logs.

    Returns:
        The :class:`DagRunResult` (state ``success`` or ``failed``, per-task results).

    Raises:
        DagLoadError: the file cannot be loaded or the DAG id is not in it.
    """
    dag = load_dag(path_or_module, dag_id)
    runner = DagRunner(
        dag,
        logical_date=logical_date,
        params=params,
        conf=conf,
        variables=variables,
        connections=connections,
        echo=echo,
        **runner_options,
    )
    return runner.run()
