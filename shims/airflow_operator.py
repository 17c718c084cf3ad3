"""``PrefectFlowOperator``: an Airflow operator that runs a migrated Prefect flow.

During a migration some DAGs stay in Airflow while the pieces they depend on move to
Prefect. This operator lets such a DAG call the migrated piece and keep its data edge: it
runs a converted flow in the Airflow worker (``flow="package.module:flow_name"``) or a
Prefect deployment through the Prefect API (``deployment="flow-name/deployment-name"``),
with templated parameters, and pushes the flow's result to XCom as ``return_value`` (and the
flow run id as ``prefect_flow_run_id``), so downstream Airflow tasks pull it as before.

This module is imported by Airflow's DAG processor, which may have no Prefect installed and
no Prefect server running: it imports only Airflow at module level; Prefect is imported in
:meth:`PrefectFlowOperator.execute`.

Examples:
    >>> from airflow_interop.airflow_operator import PrefectFlowOperator
    >>> enrich = PrefectFlowOperator(  # doctest: +SKIP
    ...     task_id="enrich",
    ...     flow="flows.orders:enrich_orders",
    ...     parameters={"day": "{{ ds }}", "limit": 100},
    ... )
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from typing import Any

try:  # Airflow 3
    from airflow.sdk import BaseOperator
except ImportError:  # pragma: no cover - Airflow 2.x
    from airflow.models import BaseOperator

__all__ = ["PrefectFlowOperator", "PrefectFlowRunError", "load_flow"]

_FINAL_STATE_TYPES = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}


class PrefectFlowRunError(RuntimeError):
    """The Prefect flow run did not complete, or its result cannot be read.

    Attributes:
        flow_run_id: the Prefect flow run id (text), when a run was created.
        state_name: the flow run's final (or last seen) state name.
    """

    def __init__(self, message: str, *, flow_run_id: str | None = None, state_name: str | None = None):
        super().__init__(message)
        self.flow_run_id = flow_run_id
        self.state_name = state_name


def _require_prefect() -> None:
    try:
        import prefect  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "PrefectFlowOperator needs the `prefect` package in the Airflow worker's environment "
            f"to run flows ({exc}). Install it next to Airflow (pip install 'prefect>=3.4')."
        ) from exc


def load_flow(path: str):
    """Import a Prefect flow from ``"package.module:flow_name"``.

    ``"package.module.flow_name"`` (a dot before the name) is accepted too.

    Args:
        path: the import path of the flow object.

    Returns:
        The ``prefect.Flow``.

    Raises:
        ValueError: the path has no module part.
        ImportError: the module cannot be imported.
        AttributeError: the module has no such name; the message lists the flows it defines.
        TypeError: the name is not a Prefect flow; the message lists the flows it defines.
    """
    from prefect import Flow

    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"Flow path {path!r} must look like 'package.module:flow_name'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"Cannot import module {module_name!r} of flow path {path!r}: {exc}") from exc
    flows = sorted(name for name, value in vars(module).items() if isinstance(value, Flow))
    if not hasattr(module, attr):
        raise AttributeError(f"Flow `{attr}` not found in module `{module_name}`. Found flows: {flows}")
    obj = getattr(module, attr)
    if not isinstance(obj, Flow):
        raise TypeError(
            f"`{module_name}:{attr}` is a {type(obj).__name__}, not a Prefect flow (decorate it with "
            f"@flow). Found flows: {flows}"
        )
    return obj


class PrefectFlowOperator(BaseOperator):
    """Run a Prefect flow (by import path, in-process) or deployment (by name) from Airflow.

    The flow's return value becomes the task's ``return_value`` XCom; the flow run id is
    pushed under ``prefect_flow_run_id``. A flow run that ends in any state but
    ``Completed`` fails the Airflow task with :class:`PrefectFlowRunError`.

    Args:
        flow: ``"package.module:flow_name"``: import the flow and run it in this process
            (the Airflow worker). Templated.
        deployment: ``"flow-name/deployment-name"`` (or a deployment id): create a flow run
            of the deployment through the Prefect API and wait for it. Templated. Exactly one
            of ``flow`` and ``deployment`` must be given.
        parameters: the flow's parameters. Templated (set ``render_template_as_native_obj``
            on the DAG to pass numbers and lists rather than text).
        flow_run_name: a name for the flow run. Templated.
        tags: tags for a deployment's flow run.
        timeout: seconds to wait for a deployment's flow run (``None``: no limit; the
            Airflow ``execution_timeout`` still applies). On timeout the run is cancelled.
        poll_interval: seconds between polls of a deployment's flow run.
        prefect_api_url: the Prefect API to use (default: Prefect's own settings, e.g.
            ``PREFECT_API_URL`` in the worker's environment). Templated, e.g.
            ``"{{ var.value.prefect_api_url }}"``; an empty rendering means the default.
        **kwargs: passed to ``BaseOperator`` (``task_id``, ``retries``, ...).

    Raises:
        ValueError: neither or both of ``flow`` and ``deployment`` are given.
    """

    template_fields: Sequence[str] = (
        "flow",
        "deployment",
        "parameters",
        "flow_run_name",
        "prefect_api_url",
    )
    template_fields_renderers = {"parameters": "json"}
    ui_color = "#2d6df6"
    ui_fgcolor = "#ffffff"

    def __init__(
        self,
        *,
        flow: str | None = None,
        deployment: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        flow_run_name: str | None = None,
        tags: Sequence[str] | None = None,
        timeout: float | None = None,
        poll_interval: float = 2.0,
        prefect_api_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if bool(flow) == bool(deployment):
            raise ValueError(
                f"PrefectFlowOperator `{self.task_id}`: give exactly one of flow= "
                f"('package.module:flow_name') or deployment= ('flow-name/deployment-name'); "
                f"got flow={flow!r}, deployment={deployment!r}"
            )
        self.flow = flow
        self.deployment = deployment
        self.parameters = dict(parameters or {})
        self.flow_run_name = flow_run_name
        self.tags = list(tags or [])
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.prefect_api_url = prefect_api_url
        self._flow_run_id: str | None = None

    # -- running ---------------------------------------------------------------------

    def execute(self, context: Any) -> Any:
        """Run the flow or deployment; return its result (pushed to XCom by Airflow)."""
        _require_prefect()
        with self._prefect_settings():
            if self.flow:
                result = self._run_flow(context)
            else:
                result = self._run_deployment(context)
        return result

    @contextmanager
    def _prefect_settings(self):
        if not self.prefect_api_url:
            yield
            return
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: self.prefect_api_url}):
            yield

    def _push_flow_run_id(self, context: Any, flow_run_id: Any) -> None:
        self._flow_run_id = str(flow_run_id)
        ti = context.get("ti") if hasattr(context, "get") else None
        if ti is not None:
            ti.xcom_push(key="prefect_flow_run_id", value=self._flow_run_id)

    def _run_flow(self, context: Any) -> Any:
        flow = load_flow(self.flow)
        if self.flow_run_name:
            flow = flow.with_options(flow_run_name=self.flow_run_name)
        self.log.info("Running Prefect flow %s (%s) in-process", flow.name, self.flow)
        state = flow(**self.parameters, return_state=True)
        flow_run_id = state.state_details.flow_run_id
        if flow_run_id is not None:
            self._push_flow_run_id(context, flow_run_id)
        if not state.is_completed():
            raise PrefectFlowRunError(
                f"Prefect flow `{flow.name}` ({self.flow}) run {flow_run_id} ended "
                f"{state.name}: {state.message}",
                flow_run_id=str(flow_run_id) if flow_run_id else None,
                state_name=state.name,
            )
        return state.result()

    def _run_deployment(self, context: Any) -> Any:
        from prefect.client.orchestration import get_client
        from prefect.deployments import run_deployment
        from prefect.exceptions import ObjectNotFound

        try:
            flow_run = run_deployment(
                name=self.deployment,
                parameters=self.parameters,
                flow_run_name=self.flow_run_name,
                tags=self.tags or None,
                timeout=0,
                as_subflow=False,
            )
        except ObjectNotFound:
            raise PrefectFlowRunError(
                f"Prefect deployment `{self.deployment}` not found. "
                f"Found deployments: {self._deployment_names()}"
            ) from None
        self._push_flow_run_id(context, flow_run.id)
        self.log.info("Created flow run %s of deployment %s", flow_run.id, self.deployment)

        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        with get_client(sync_client=True) as client:
            while True:
                flow_run = client.read_flow_run(flow_run.id)
                state = flow_run.state
                if state is not None and state.type.value in _FINAL_STATE_TYPES:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    self._cancel(flow_run.id)
                    raise PrefectFlowRunError(
                        f"Flow run {flow_run.id} of deployment `{self.deployment}` is still "
                        f"{state.name if state else 'unscheduled'} after {self.timeout:g} s; "
                        "it was cancelled.",
                        flow_run_id=str(flow_run.id),
                        state_name=state.name if state else None,
                    )
                time.sleep(self.poll_interval)

        if not state.is_completed():
            raise PrefectFlowRunError(
                f"Flow run {flow_run.id} of deployment `{self.deployment}` ended {state.name}: "
                f"{state.message}",
                flow_run_id=str(flow_run.id),
                state_name=state.name,
            )
        if not self.do_xcom_push:
            return None
        try:
            return state.result()
        except Exception as exc:
            raise PrefectFlowRunError(
                f"Flow run {flow_run.id} of deployment `{self.deployment}` completed but its "
                f"result cannot be read from this worker ({type(exc).__name__}: {exc}). Persist "
                "the flow's result (@flow(persist_result=True)) to storage this worker can read, "
                "or set do_xcom_push=False.",
                flow_run_id=str(flow_run.id),
                state_name=state.name,
            ) from exc

    def _deployment_names(self) -> list[str]:
        from prefect.client.orchestration import get_client

        try:
            with get_client(sync_client=True) as client:
                deployments = client.read_deployments()
                flows = {f.id: f.name for f in client.read_flows()}
        except Exception:  # listing is only a hint in an error message
            return []
        return sorted(f"{flows.get(d.flow_id, '?')}/{d.name}" for d in deployments)

    def _cancel(self, flow_run_id: Any) -> None:
        from prefect.client.orchestration import get_client
        from prefect.states import Cancelling

        try:
            with get_client(sync_client=True) as client:
                client.set_flow_run_state(flow_run_id, Cancelling(), force=True)
        except Exception as exc:  # best effort: the task fails anyway
            self.log.warning("Could not cancel Prefect flow run %s: %s", flow_run_id, exc)

    def on_kill(self) -> None:
        """Cancel the deployment's flow run when Airflow kills the task."""
        if self.deployment and self._flow_run_id:
            with self._prefect_settings():
                self._cancel(self._flow_run_id)
