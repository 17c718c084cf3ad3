"""An in-memory stand-in for Airflow's task supervisor.

Airflow 3's task SDK runs a task in a child process that talks to a *supervisor* through
``airflow.sdk.execution_time.task_runner.SUPERVISOR_COMMS``: every ``xcom_push``/``xcom_pull``,
``Variable.get``, rendered-field report, skip request and terminal state is a message
(``SetXCom``, ``GetXCom``, ``SkipDownstreamTasks``, ``TaskState`` ...) that the supervisor
forwards to the API server and its metadata database.

This module answers those same messages from memory, so the SDK's own code paths
(``RuntimeTaskInstance.xcom_pull``, ``XCom.set``, ``task_runner.run`` with its retry, skip and
failure handling, ``MappedOperator`` expansion) run unchanged in one process, with no API server
and no database.

The ``SUPERVISOR_COMMS`` global is process-wide, while several tasks may run at once in
different threads (Prefect's thread pool). :func:`install` therefore puts one
:class:`_Router` in the global, and each run binds its own :class:`InMemorySupervisor` to the
current context with :func:`bound`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator

__all__ = ["XComStore", "InMemorySupervisor", "install", "bound"]

log = logging.getLogger(__name__)

_CURRENT: contextvars.ContextVar["InMemorySupervisor | None"] = contextvars.ContextVar(
    "interop_current_supervisor", default=None
)
_INSTALL_LOCK = threading.Lock()


@dataclass
class XComStore:
    """XComs of one DAG run, stored serialized exactly as Airflow's XCom backend stores them.

    Keys are ``(task_id, map_index, key)``; values are what ``BaseXCom.serialize_value``
    produced (JSON-compatible), so reading back gives what Airflow would give.
    """

    rows: dict[tuple[str, int, str], Any] = field(default_factory=dict)
    order: list[tuple[str, int, str]] = field(default_factory=list)

    def set(self, task_id: str, map_index: int | None, key: str, value: Any) -> None:
        k = (task_id, -1 if map_index is None else map_index, key)
        if k not in self.rows:
            self.order.append(k)
        self.rows[k] = value

    def delete(self, task_id: str, map_index: int | None, key: str) -> None:
        k = (task_id, -1 if map_index is None else map_index, key)
        self.rows.pop(k, None)
        if k in self.order:
            self.order.remove(k)

    def get(self, task_id: str, map_index: int | None, key: str) -> Any:
        """One serialized value; ``map_index=None`` means the unmapped (-1) row."""
        return self.rows.get((task_id, -1 if map_index is None else map_index, key))

    def sequence(self, task_id: str, key: str) -> list[Any]:
        """All values of ``key`` pushed by ``task_id``, ordered by map index (as Airflow's API)."""
        found = [(mi, v) for (t, mi, k), v in self.rows.items() if t == task_id and k == key]
        return [v for _, v in sorted(found, key=lambda item: item[0])]

    def clear_task(self, task_id: str, map_index: int) -> None:
        """Drop what one task instance pushed (before a retry, as Airflow clears them)."""
        for k in [k for k in self.rows if k[0] == task_id and k[1] == map_index]:
            self.delete(*k)

    def deserialized(self, task_id: str, map_index: int) -> dict[str, Any]:
        """``{key: value}`` of one task instance, deserialized with Airflow's XCom backend."""
        from airflow.sdk.bases.xcom import BaseXCom

        out: dict[str, Any] = {}
        for t, mi, key in self.order:
            if t == task_id and mi == map_index:
                out[key] = BaseXCom.deserialize_value(_Wrapped(self.rows[(t, mi, key)]))
        return out


@dataclass
class _Wrapped:
    value: Any


class InMemorySupervisor:
    """Answers the task SDK's supervisor messages for one DAG run, from memory.

    Args:
        dag_id: the DAG id of the run.
        run_id: the run id.
        xcoms: the run's XCom store (shared with the runner that reads results).
        variables: Airflow Variables visible to tasks (``var.value.x``); environment variables
            ``AIRFLOW_VAR_X`` are also honoured by Airflow's own secrets chain.
        connections: Airflow Connections by conn id, as dicts of ``ConnectionResponse`` fields.
        task_states: live ``{(task_id, map_index): state}`` of the run, read by ``GetTaskStates``
            and ``GetTICount``.
    """

    def __init__(
        self,
        dag_id: str,
        run_id: str,
        *,
        xcoms: XComStore | None = None,
        variables: dict[str, Any] | None = None,
        connections: dict[str, dict[str, Any]] | None = None,
        task_states: dict[tuple[str, int], str] | None = None,
    ) -> None:
        self.dag_id = dag_id
        self.run_id = run_id
        self.xcoms = xcoms if xcoms is not None else XComStore()
        self.variables = dict(variables or {})
        self.connections = dict(connections or {})
        self.task_states = task_states if task_states is not None else {}
        #: set of (task_id, map_index|None) that a branch/short-circuit asked to skip
        self.skip_requests: list[tuple[str, int | None]] = []
        #: the last terminal message a task sent (TaskState, SucceedTask, RetryTask ...)
        self.terminal: Any = None
        self.rendered_fields: dict[str, Any] = {}
        self.rendered_map_index: str | None = None
        self.reschedule_start: dict[int, Any] = {}
        self.triggered_runs: list[Any] = []
        self.deferred: Any = None
        #: mapped length announced when a task pushed a list for a mapped downstream
        self.mapped_lengths: dict[str, int] = {}
        #: task instance id -> (task_id, map_index), registered by the runner for each try
        self.ti_keys: dict[Any, tuple[str, int]] = {}
        #: Airflow's task state store, kept across tries: (task_id, map_index, key) -> value
        self.task_store: dict[tuple[str, int, str], Any] = {}
        #: Airflow's asset state store: (asset name or uri, key) -> value
        self.asset_store: dict[tuple[str, str], Any] = {}

    # ------------------------------------------------------------------ the comms API
    def send(self, msg: Any = None, **kwargs: Any) -> Any:  # noqa: C901 - one dispatch table
        """Answer one message the way the supervisor + API server would."""
        from airflow.sdk.exceptions import ErrorType
        from airflow.sdk.execution_time import comms as c

        if msg is None:
            msg = kwargs.get("msg")
        name = type(msg).__name__

        if isinstance(msg, c.SetXCom):
            self.xcoms.set(msg.task_id, msg.map_index, msg.key, msg.value)
            if msg.mapped_length is not None:
                self.mapped_lengths[msg.task_id] = msg.mapped_length
            return None
        if isinstance(msg, c.DeleteXCom):
            self.xcoms.delete(msg.task_id, msg.map_index, msg.key)
            return None
        if isinstance(msg, c.GetXCom):
            value = self.xcoms.get(msg.task_id, msg.map_index, msg.key)
            return c.XComResult(key=msg.key, value=value)
        if isinstance(msg, c.GetXComSequenceSlice):
            seq = self.xcoms.sequence(msg.task_id, msg.key)
            return c.XComSequenceSliceResult(root=seq[slice(msg.start, msg.stop, msg.step)])
        if isinstance(msg, c.GetXComSequenceItem):
            seq = self.xcoms.sequence(msg.task_id, msg.key)
            try:
                return c.XComSequenceIndexResult(root=seq[msg.offset])
            except IndexError:
                return c.ErrorResponse(error=ErrorType.XCOM_NOT_FOUND, detail={"offset": msg.offset})
        if isinstance(msg, c.GetXComCount):
            return c.XComCountResponse(len=len(self.xcoms.sequence(msg.task_id, msg.key)))
        if isinstance(msg, c.GetVariable):
            if msg.key in self.variables:
                value = self.variables[msg.key]
                if not isinstance(value, str):
                    value = json.dumps(value)
                return c.VariableResult(key=msg.key, value=value)
            return c.ErrorResponse(error=ErrorType.VARIABLE_NOT_FOUND, detail={"key": msg.key})
        if isinstance(msg, c.GetVariableKeys):
            keys = sorted(k for k in self.variables if not msg.prefix or k.startswith(msg.prefix))
            return c.VariableKeysResult(keys=keys[msg.offset : msg.offset + msg.limit], total_entries=len(keys))
        if isinstance(msg, c.PutVariable):
            self.variables[msg.key] = msg.value
            return c.OKResponse(ok=True)
        if isinstance(msg, c.DeleteVariable):
            self.variables.pop(msg.key, None)
            return c.OKResponse(ok=True)
        if isinstance(msg, c.GetConnection):
            if msg.conn_id in self.connections:
                return c.ConnectionResult(conn_id=msg.conn_id, **self.connections[msg.conn_id])
            return c.ErrorResponse(error=ErrorType.CONNECTION_NOT_FOUND, detail={"conn_id": msg.conn_id})
        if isinstance(msg, (c.GetTaskStateStore, c.SetTaskStateStore, c.DeleteTaskStateStore, c.ClearTaskStateStore)):
            return self._task_store(msg)
        if type(msg).__name__.endswith(("AssetStateStoreByName", "AssetStateStoreByUri")):
            return self._asset_store(msg)
        if isinstance(msg, c.SkipDownstreamTasks):
            for item in msg.tasks:
                if isinstance(item, (tuple, list)):
                    self.skip_requests.append((item[0], item[1]))
                else:
                    self.skip_requests.append((item, None))
            return None
        if isinstance(msg, (c.TaskState, c.SucceedTask, c.RetryTask, c.RescheduleTask)):
            self.terminal = msg
            return None
        if isinstance(msg, c.DeferTask):
            self.terminal = msg
            return None
        if isinstance(msg, c.SetRenderedFields):
            self.rendered_fields = dict(msg.rendered_fields or {})
            return None
        if isinstance(msg, c.SetRenderedMapIndex):
            self.rendered_map_index = msg.rendered_map_index
            return None
        if isinstance(msg, c.ValidateInletsAndOutlets):
            return c.InactiveAssetsResult(inactive_assets=[])
        if isinstance(msg, c.GetTICount):
            return c.TICount(count=self._count(msg))
        if isinstance(msg, c.GetTaskStates):
            states: dict[str, Any] = {}
            for (task_id, map_index), state in self.task_states.items():
                if msg.task_ids and task_id not in msg.task_ids:
                    continue
                if msg.task_group_id and not task_id.startswith(msg.task_group_id + "."):
                    continue
                label = task_id if map_index < 0 else f"{task_id}_{map_index}"
                states[label] = state
            return c.TaskStatesResult(task_states={self.run_id: states})
        if isinstance(msg, c.GetDagRunState):
            return c.DagRunStateResult(state="running")
        if isinstance(msg, c.GetTaskRescheduleStartDate):
            return c.TaskRescheduleStartDate(start_date=self.reschedule_start.get(msg.try_number))
        if isinstance(msg, c.GetPrevSuccessfulDagRun):
            return c.PrevSuccessfulDagRunResult()
        if isinstance(msg, c.GetPreviousDagRun):
            return c.PreviousDagRunResult(dag_run=None)
        if isinstance(msg, c.GetPreviousTI):
            return c.PreviousTIResult(task_instance=None)
        if isinstance(msg, c.GetDRCount):
            return c.DRCount(count=0)
        if isinstance(msg, c.TriggerDagRun):
            self.triggered_runs.append(msg)
            return c.OKResponse(ok=True)
        if isinstance(msg, c.MaskSecret):
            return None
        if isinstance(msg, c.ResendLoggingFD):
            return None
        raise NotImplementedError(
            f"interop's in-process runner cannot answer {name}: it needs a live Airflow API server "
            f"(dag {self.dag_id!r}, run {self.run_id!r})"
        )

    def _task_store(self, msg: Any) -> Any:
        from airflow.sdk.exceptions import ErrorType
        from airflow.sdk.execution_time import comms as c

        task_id, map_index = self.ti_keys.get(msg.ti_id, (str(msg.ti_id), -1))
        if isinstance(msg, c.GetTaskStateStore):
            k = (task_id, map_index, msg.key)
            if k not in self.task_store:
                return c.ErrorResponse(error=ErrorType.TASK_STORE_NOT_FOUND, detail={"key": msg.key})
            return c.TaskStateStoreResult(value=self.task_store[k])
        if isinstance(msg, c.SetTaskStateStore):
            self.task_store[(task_id, map_index, msg.key)] = msg.value
        elif isinstance(msg, c.DeleteTaskStateStore):
            self.task_store.pop((task_id, map_index, msg.key), None)
        else:
            for k in [k for k in self.task_store if k[:2] == (task_id, map_index)]:
                del self.task_store[k]
        return c.OKResponse(ok=True)

    def _asset_store(self, msg: Any) -> Any:
        from airflow.sdk.exceptions import ErrorType
        from airflow.sdk.execution_time import comms as c

        asset = getattr(msg, "name", None) or getattr(msg, "uri", None)
        kind = type(msg).__name__
        if kind.startswith("Get"):
            k = (asset, msg.key)
            if k not in self.asset_store:
                return c.ErrorResponse(error=ErrorType.ASSET_STORE_NOT_FOUND, detail={"key": msg.key})
            return c.AssetStateStoreResult(value=self.asset_store[k])
        if kind.startswith("Set"):
            self.asset_store[(asset, msg.key)] = msg.value
        elif kind.startswith("Delete"):
            self.asset_store.pop((asset, msg.key), None)
        else:
            for k in [k for k in self.asset_store if k[0] == asset]:
                del self.asset_store[k]
        return c.OKResponse(ok=True)

    def _count(self, msg: Any) -> int:
        count = 0
        for (task_id, map_index), state in self.task_states.items():
            if msg.task_ids and task_id not in msg.task_ids:
                continue
            if msg.task_group_id and not task_id.startswith(msg.task_group_id + "."):
                continue
            if msg.map_index is not None and map_index != msg.map_index:
                continue
            if msg.states and state not in msg.states:
                continue
            count += 1
        return count

    # the real CommsDecoder has these; some SDK code touches them
    socket = None

    def _get_response(self) -> None:  # pragma: no cover - never used in-process
        return None


class _Router:
    """The object put in ``SUPERVISOR_COMMS``: forwards to the supervisor bound to this context."""

    socket = None

    def send(self, msg: Any = None, **kwargs: Any) -> Any:
        current = _CURRENT.get()
        if current is None:
            raise RuntimeError(
                "An Airflow task SDK call was made outside an interop run (no in-memory supervisor bound)"
            )
        return current.send(msg, **kwargs)

    def _get_response(self) -> None:  # pragma: no cover
        return None


_ROUTER = _Router()


def install() -> None:
    """Put the router in ``task_runner.SUPERVISOR_COMMS`` (idempotent, thread-safe)."""
    from airflow.sdk.execution_time import task_runner

    _allow_runner_off_main_thread()
    with _INSTALL_LOCK:
        current = getattr(task_runner, "SUPERVISOR_COMMS", None)
        if current is not _ROUTER:
            task_runner.SUPERVISOR_COMMS = _ROUTER  # type: ignore[attr-defined]


@contextlib.contextmanager
def bound(supervisor: InMemorySupervisor) -> Iterator[InMemorySupervisor]:
    """Bind ``supervisor`` to the current context for the duration of the block.

    Airflow's task runner installs a SIGTERM handler that only calls the task's ``on_kill``;
    on the main thread the previous handler is put back when the block ends, so the process
    can still be stopped afterwards.
    """
    import signal

    install()
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    token = _CURRENT.set(supervisor)
    try:
        yield supervisor
    finally:
        _CURRENT.reset(token)
        if main and previous is not None:
            signal.signal(signal.SIGTERM, previous)


_ORIGINAL_SIGNAL: Any = None


def _allow_runner_off_main_thread() -> None:
    """Let Airflow's task runner run outside the main thread (Prefect's worker threads).

    ``task_runner.run`` installs a SIGTERM handler, which Python allows only on the main
    thread. While an interop supervisor is bound on another thread, that one call is a no-op
    (the handler only forwards SIGTERM to ``on_kill``); everywhere else ``signal.signal`` is
    unchanged.
    """
    global _ORIGINAL_SIGNAL
    import signal

    with _INSTALL_LOCK:
        if _ORIGINAL_SIGNAL is not None:
            return
        _ORIGINAL_SIGNAL = original = signal.signal

        def _signal(signalnum: Any, handler: Any) -> Any:
            if threading.current_thread() is not threading.main_thread() and _CURRENT.get() is not None:
                return signal.getsignal(signalnum)
            return original(signalnum, handler)

        signal.signal = _signal  # type: ignore[assignment]
