"""Airflow run and task states, and the Prefect states they map to.

One table, kept as data: Airflow's state word -> (Prefect state type, Prefect state name).
The type decides what Prefect does with it (``COMPLETED`` passes, ``FAILED`` fails the
caller); the name keeps Airflow's meaning visible in the Prefect UI (``Skipped``,
``UpstreamFailed``).
"""

from __future__ import annotations

from typing import Any

#: States in which an Airflow DAG run stops changing.
DAG_RUN_TERMINAL_STATES = frozenset({"success", "failed"})

#: States in which an Airflow task instance stops changing.
TASK_TERMINAL_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})

#: Airflow state word -> (Prefect ``StateType`` name, Prefect state name).
PREFECT_STATE_NAMES: dict[str, tuple[str, str]] = {
    "success": ("COMPLETED", "Completed"),
    "failed": ("FAILED", "Failed"),
    "upstream_failed": ("FAILED", "UpstreamFailed"),
    "skipped": ("COMPLETED", "Skipped"),
    "removed": ("CANCELLED", "Removed"),
    "queued": ("PENDING", "Queued"),
    "scheduled": ("SCHEDULED", "Scheduled"),
    "running": ("RUNNING", "Running"),
    "restarting": ("RUNNING", "Restarting"),
    "deferred": ("RUNNING", "Deferred"),
    "awaiting_input": ("PAUSED", "AwaitingInput"),
    "up_for_retry": ("SCHEDULED", "AwaitingRetry"),
    "up_for_reschedule": ("SCHEDULED", "AwaitingReschedule"),
    "none": ("PENDING", "Pending"),
}


def prefect_state_name(airflow_state: str | None) -> tuple[str, str]:
    """The Prefect state type and name for an Airflow state word.

    Args:
        airflow_state: Airflow's word for a DAG run or task instance state (``"success"``,
            ``"failed"``, ...); ``None`` (a task instance not yet scheduled) counts as
            ``"none"``.

    Returns:
        ``(state_type, state_name)``, for example ``("COMPLETED", "Skipped")``.

    Raises:
        ValueError: the word is not an Airflow state; the message lists the known ones.
    """
    key = "none" if airflow_state is None else str(airflow_state).lower()
    try:
        return PREFECT_STATE_NAMES[key]
    except KeyError:
        raise ValueError(
            f"Unknown Airflow state {airflow_state!r}. Known states: {sorted(PREFECT_STATE_NAMES)}"
        ) from None


def to_prefect_state(airflow_state: str | None, *, message: str | None = None, data: Any = None):
    """Build the Prefect ``State`` matching an Airflow state.

    Returned from a Prefect task, the state becomes the task run's final state (a
    ``Failed`` state with an exception as ``data`` makes the caller raise that exception).

    Args:
        airflow_state: Airflow's state word.
        message: the state message shown in Prefect.
        data: the state's data (the task's result, or an exception for failed states).

    Returns:
        A ``prefect.states.State``.
    """
    from prefect.client.schemas.objects import StateType
    from prefect.states import State

    state_type, name = prefect_state_name(airflow_state)
    return State(type=StateType[state_type], name=name, message=message, data=data)
