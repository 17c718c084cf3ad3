"""What ``interop run --airflow-python PATH`` does: run a DAG file in the sidecar, JSON result."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

__all__ = ["run_file_sidecar", "airflow_python_from_state"]


def airflow_python_from_state(path: str | Path, dag_id: str | None = None, state_file: str | Path | None = None) -> Path | None:
    """The ``airflow_python`` the migration state file sets for this DAG file, if any.

    The state file is ``state_file`` or ``interop-state.yaml`` in the current folder; the DAG is
    found by ``dag_id`` or by its file. A missing or unreadable state file means no setting.
    """
    from interop.state import DEFAULT_STATE_FILE, MigrationState, StateError

    try:
        state = MigrationState.load(state_file or DEFAULT_STATE_FILE, missing_ok=True)
    except StateError:
        return None
    if dag_id is None:
        target = Path(path).resolve()
        for entry in state.dags.values():
            resolved = state.resolve(entry.file)
            if resolved is not None and resolved.resolve() == target:
                dag_id = entry.dag_id
                break
    return state.airflow_python_for(dag_id)


def run_file_sidecar(
    path: str | Path,
    airflow_python: str | Path,
    *,
    dag_id: str | None = None,
    logical_date: str | None = None,
    params: dict[str, Any] | None = None,
    echo: bool = False,
    bad_input: type[Exception] = ValueError,
    on_result: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Run a DAG file in the sidecar and return ``interop run``'s JSON (with its ``"airflow"`` entry).

    ``on_result`` is called with the run's :class:`~airflow_interop.sidecar.client.SidecarRunResult` first.

    Raises:
        bad_input: the interpreter is missing or has no usable Airflow, the file or DAG id cannot
            be loaded there (the message names the file and lists the DAG ids found).
    """
    from airflow_interop.runner import DagLoadError
    from airflow_interop.sidecar.client import Sidecar, SidecarError

    try:
        with Sidecar(airflow_python, echo=echo) as sidecar:
            result = sidecar.run(path, dag_id, logical_date=logical_date, params=params)
    except DagLoadError as exc:
        raise bad_input(str(exc)) from exc
    except SidecarError as exc:
        if exc.kind in ("start", "load", "request"):
            raise bad_input(str(exc)) from exc
        raise
    if on_result is not None:  # `interop run` says why each failed task failed
        on_result(result)
    payload = result.to_json()
    payload["airflow"] = result.airflow_info()
    return payload
