"""``interop run``: run a DAG file in-process, or a converted flow file on Prefect.

Both write the same JSON::

    {"dag_id": ..., "state": "success" | "failed",
     "tasks": {task_id: {"state": ..., "xcoms": {key: value}}}}

States use Airflow's words (``success``, ``failed``, ``skipped``, ``upstream_failed``). A mapped
task's instances put their XComs under ``"key[i]"`` for map index ``i``. For a flow, each task's
result is its ``"return_value"`` XCom and each task run is mapped back to its task name.

The Python API under the command is :func:`run_file`.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import click

__all__ = ["run", "run_file", "BadInput", "parse_params", "runtime_missing", "runtime_missing_hint"]


class BadInput(Exception):
    """The path, DAG id, date or params cannot be used (exit code 2)."""


def parse_params(items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a value that parses as JSON is used as such, else as a string."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise BadInput(f"--param {item!r}: expected KEY=VALUE")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


#: the packages of the runtime extra (``pip install "airflow-interop[runtime]"``)
RUNTIME_PACKAGES = ("airflow", "prefect")


def runtime_missing_hint(exc: ModuleNotFoundError, command: str) -> str | None:
    """One line saying how to install the runtime, when ``exc`` is Airflow or Prefect itself
    missing (not a provider or a module a DAG imports); ``None`` otherwise."""
    import importlib.util

    root = (exc.name or "").partition(".")[0]
    if root not in RUNTIME_PACKAGES:
        return None
    try:
        installed = importlib.util.find_spec(root) is not None
    except (ImportError, ValueError):
        installed = False
    if installed:
        return None
    return (f"error: {command} needs Airflow and Prefect, and {root!r} is not installed here: "
            'pip install "airflow-interop[runtime]"')


def runtime_missing(command: str, packages: tuple[str, ...] = RUNTIME_PACKAGES) -> str | None:
    """The one-line hint of :func:`runtime_missing_hint` when one of ``packages`` is not
    installed (checked without importing it); ``None`` when all are."""
    import importlib.util

    for root in packages:
        try:
            installed = importlib.util.find_spec(root) is not None
        except (ImportError, ValueError):
            installed = False
        if not installed:
            return runtime_missing_hint(ModuleNotFoundError(f"No module named {root!r}", name=root), command)
    return None


def _check_source(path: Path) -> str:
    if not path.exists():
        raise BadInput(f"file {str(path)!r} does not exist")
    if not path.is_file():
        raise BadInput(f"{str(path)!r} is not a file")
    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise BadInput(f"{str(path)!r} has a syntax error at line {exc.lineno}: {exc.msg}") from exc
    return source


def run_file(
    path: str | Path,
    *,
    dag_id: str | None = None,
    logical_date: str | None = None,
    params: dict[str, Any] | None = None,
    echo: bool = False,
    airflow_python: str | Path | None = None,
) -> dict[str, Any]:
    """Run a DAG file (in-process) or a converted flow file (on Prefect) and return the JSON result.

    With ``airflow_python`` (the team's Airflow 1.10/2.x interpreter) the DAG runs there through
    the sidecar (``airflow_interop.sidecar``). A DAG run by the compat loader or the sidecar gets an
    ``"airflow"`` entry: ``{"version", "mode", "python", "renames"}``.

    Raises:
        BadInput: missing file, syntax error, no DAG or flow in it, unknown ``dag_id`` (the
            message names the file and lists the ids found), a bad logical date.
    """
    path = Path(path)
    source = _check_source(path)
    if logical_date is not None:
        from airflow_interop.context import coerce_logical_date

        try:
            coerce_logical_date(logical_date)
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
    mentions_airflow = "airflow" in source
    if mentions_airflow and airflow_python is not None:  # the team's own Airflow (shims/sidecar)
        from airflow_interop.sidecar.cli import run_file_sidecar

        return _jsonable(run_file_sidecar(
            path, airflow_python, dag_id=dag_id, logical_date=logical_date, params=params, echo=echo, bad_input=BadInput, on_result=_explain
        ))
    if mentions_airflow:
        from airflow_interop.runner import DagLoadError, load_dags, run_dag

        try:
            dags = load_dags(path)
        except DagLoadError as exc:
            raise BadInput(str(exc)) from exc
        if dags:
            if dag_id is None and len(dags) > 1:
                raise BadInput(f"{str(path)!r} defines several DAGs; choose one with --dag-id. Found DAGs: {sorted(dags)}")
            if dag_id is not None and dag_id not in dags:
                raise BadInput(f"DAG with id {dag_id!r} not found in {str(path)!r}. Found DAGs: {sorted(dags)}")
            dag = dags[dag_id] if dag_id else next(iter(dags.values()))
            result = run_dag(dag, logical_date=logical_date, params=params, echo=echo)
            _explain(result)
            payload = result.to_json()
            from airflow_interop.compat.report import airflow_info

            info = airflow_info(path)
            if info["mode"] != "in-process":  # say which Airflow ran it and what was renamed
                payload["airflow"] = info
            return _jsonable(payload)
    return _run_flow_file(path, dag_id=dag_id, logical_date=logical_date, params=params or {})


def _explain(result: Any) -> None:
    """On stderr: why each failed task failed, and which tasks the logical date left out."""
    for task in result.failed_tasks():
        for inst in task.instances:
            if inst.error:
                click.echo(f"error in task {task.task_id!r}: {' '.join(inst.error.split())[:500]}", err=True)
    if result.not_run:
        first_id, why = next(iter(result.not_run.items()))
        click.echo(
            f"note: {len(result.not_run)} task(s) did not run on this logical date, as in Airflow (no task instance "
            f"outside a task's start_date/end_date): {first_id!r}: {why}; give a later --logical-date to run them",
            err=True,
        )


# --------------------------------------------------------------------------- flows
def _flows_in(path: Path) -> dict[str, Any]:
    """``{flow name: Flow}`` defined at the top of a Python file."""
    import importlib.util

    from prefect import Flow

    module_name = f"interop_run_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise BadInput(f"cannot import {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's file failed to import
        raise BadInput(f"{str(path)!r} failed to import: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.pop(0)
    from prefect import Task

    flows: dict[str, Any] = {}
    for attr, value in vars(module).items():
        if isinstance(value, Flow):
            flows.setdefault(value.name, value)
            flows.setdefault(attr, value)
        elif isinstance(value, Task):
            value.fn = _stopping_forks(value.fn, value.name)
    return flows


def _stopping_forks(fn: Any, name: str) -> Any:
    """``fn``, but a fork that returns from it (a task that called ``os.fork()`` and whose child
    did not exec or exit) stops there instead of running the rest of the flow."""
    import functools
    import inspect

    if getattr(fn, "__interop_fork_guard__", False):
        return fn
    owner = os.getpid()

    def stop_if_forked() -> None:
        if os.getpid() != owner:
            message = f"warning: task {name!r} forked a process that returned from the task; that process stops here\n"
            try:
                os.write(2, message.encode())
            except OSError:
                pass
            os._exit(0)

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(*args, **kwargs)
            finally:
                stop_if_forked()

        guarded: Any = guarded_async
    else:
        @functools.wraps(fn)
        def guarded_sync(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                stop_if_forked()

        guarded = guarded_sync
    guarded.__interop_fork_guard__ = True
    return guarded


def _run_flow_file(path: Path, *, dag_id: str | None, logical_date: str | None, params: dict[str, Any]) -> dict[str, Any]:
    import inspect

    flows = _flows_in(path)
    unique = {id(f): f for f in flows.values()}
    names = sorted({f.name for f in unique.values()})
    if not unique:
        from airflow_interop.compat.errors import no_dag_hint

        hint = no_dag_hint(path.read_text(encoding="utf-8", errors="replace"))
        raise BadInput(f"No Airflow DAG and no Prefect flow found in {str(path)!r}. Found DAGs: []" + (f" ({hint})" if hint else ""))
    if dag_id is not None:
        if dag_id not in flows:
            raise BadInput(f"DAG or flow with id {dag_id!r} not found in {str(path)!r}. Found flows: {names}")
        chosen = flows[dag_id]
    elif len(unique) > 1:
        raise BadInput(f"{str(path)!r} defines several flows; choose one with --dag-id. Found flows: {names}")
    else:
        chosen = next(iter(unique.values()))

    accepted = inspect.signature(chosen.fn).parameters
    kwargs = dict(params)
    if logical_date is not None and "logical_date" in accepted:
        kwargs["logical_date"] = logical_date
    unknown = sorted(k for k in kwargs if k not in accepted)
    has_var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    if unknown and not has_var_kw:
        raise BadInput(f"flow {chosen.name!r} in {str(path)!r} has no parameter(s) {unknown}. Parameters: {sorted(accepted)}")

    # One worker: task runs start in submission order, so a mapped task's runs come back in map
    # order (Prefect's API records no map index) and runs are reproducible.
    from prefect.task_runners import ThreadPoolTaskRunner

    from interop.supervise import quiet_temporary_server

    quiet_temporary_server()
    state = chosen.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))(**kwargs, return_state=True)
    flow_run_id = state.state_details.flow_run_id
    return _jsonable(
        {
            "dag_id": chosen.name,
            "state": "success" if state.is_completed() else "failed",
            "tasks": _task_results(flow_run_id),
        }
    )


#: seconds to wait for task run states to be recorded after the flow run returned
STATE_READ_SECONDS = 30.0


def _task_state_word(state: Any) -> str:
    if state is None:
        return "none"
    if state.is_completed():
        return "skipped" if state.name == "Skipped" else "success"
    if state.is_failed() or state.is_crashed():
        return "upstream_failed" if state.name in ("UpstreamFailed", "NotReady") else "failed"
    return "upstream_failed"


def _task_results(flow_run_id: Any) -> dict[str, dict[str, Any]]:
    """Each task of the flow run and of its subflows: Airflow state word and return value.

    A subflow itself is not a task; the tasks it ran are listed by their own names.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId
    from prefect.client.schemas.sorting import TaskRunSort

    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    import time

    with get_client(sync_client=True) as client:
        # the flow run and its subflows (an airflow_dag subflow's tasks are tasks of the pipeline)
        flow_runs = [flow_run_id]
        frontier = [flow_run_id]
        while frontier:
            children = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=frontier))
            )
            frontier = [c.id for c in children if c.id not in flow_runs]
            flow_runs.extend(frontier)
        # task run states reach the API as events, recorded a moment after the flow returns:
        # read until no task run is without a state or still running (or give up after a while)
        deadline = time.monotonic() + STATE_READ_SECONDS
        while True:
            runs = client.read_task_runs(
                task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=flow_runs)),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            )
            if all(r.state is not None and not r.state.is_running() for r in runs) or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        task_runs = [r for r in runs if r.state is None or not getattr(r.state.state_details, "child_flow_run_id", None)]

    grouped: dict[str, list[Any]] = {}
    for run in task_runs:
        name = _task_name(run)
        grouped.setdefault(name, []).append(run)
    out: dict[str, dict[str, Any]] = {}
    for name, runs in grouped.items():
        runs = sorted(runs, key=lambda r: (r.start_time or r.expected_start_time, r.created))
        words = [_task_state_word(r.state) for r in runs]
        xcoms: dict[str, Any] = {}
        for i, run in enumerate(runs):
            value = _result_of(run.state)
            if value is not None:
                xcoms["return_value" if len(runs) == 1 else f"return_value[{i}]"] = value
        if len(runs) == 1:
            word = words[0]
        elif "failed" in words:
            word = "failed"
        elif "upstream_failed" in words:
            word = "upstream_failed"
        elif all(w == "skipped" for w in words):
            word = "skipped"
        else:
            word = "success"
        out[name] = {"state": word, "xcoms": xcoms}
    return out


def _task_name(run: Any) -> str:
    """The task's name: the task run's name without Prefect's ``-<suffix>`` when it has one."""
    name = run.name
    key = run.task_key or ""
    # default task run names are "<task name>-<3 hex chars>"
    base, sep, suffix = name.rpartition("-")
    if sep and len(suffix) == 3 and all(c in "0123456789abcdef" for c in suffix) and key:
        return base
    return name


def _result_of(state: Any) -> Any:
    if state is None or not state.is_completed() or state.name == "Skipped":
        return None
    try:
        return state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - result not persisted
        return None


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with values JSON can hold (dates as ISO text, other objects as ``repr``)."""
    return json.loads(json.dumps(payload, default=_json_default))


def _json_default(value: Any) -> Any:
    import datetime as _dt

    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    return repr(value)


# --------------------------------------------------------------------------- command
@click.command(name="run")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--dag-id", default=None, help="Which DAG (or flow) of the file to run.")
@click.option("--logical-date", default=None, help="ISO date or datetime of the run (default: now, UTC).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A DAG param (JSON values allowed); repeatable.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the result as JSON to FILE ('-' for stdout).")
@click.option("--logs", is_flag=True, help="Print the tasks' logs while they run.")
@click.option("--airflow-python", "airflow_python", type=click.Path(path_type=Path), default=None, envvar="INTEROP_AIRFLOW_PYTHON", help="Run the DAG in this interpreter's Airflow 1.10/2.x (sidecar); default: the state file's airflow_python setting.")
@click.option("--no-daemon", is_flag=True, help="Run in this process even if an 'interop daemon' serves this environment.")
def run(path: Path, dag_id: str | None, logical_date: str | None, params: tuple[str, ...], json_file: Path | None, logs: bool, airflow_python: Path | None = None, no_daemon: bool = False) -> None:
    """Run a DAG file in this process (no scheduler, no database), or a converted flow file on Prefect.

    With 'interop daemon start' run once beforehand, the run happens in a worker forked from a
    process that has Airflow imported already (same result, a fraction of the time).

    Exit codes: 0 the run succeeded, 1 the run failed, 2 bad input (missing file, syntax error,
    no DAG, unknown --dag-id).
    """
    arguments = {
        "path": str(path),
        "dag_id": dag_id,
        "logical_date": logical_date,
        "params": list(params),
        "json_file": None if json_file is None else str(json_file),
        "logs": logs,
        "airflow_python": None if airflow_python is None else str(airflow_python),
    }
    if not no_daemon:
        from interop.daemon.client import forward

        code = forward("run", arguments)
        if code is not None:
            sys.exit(code)
    sys.exit(serve(**arguments))


def serve(**arguments: Any) -> int:
    """:func:`execute` in a watched child process (:mod:`interop.supervise`): SIGTERM stops the
    run and everything it started (exit 143); a task that ends the process abruptly is reported."""
    from interop.supervise import supervised

    def abrupt(message: str) -> None:
        json_file = arguments.get("json_file")
        if json_file is None:
            return
        payload = {"dag_id": arguments.get("dag_id") or Path(arguments["path"]).stem, "state": "failed", "error": message, "tasks": {}}
        text = json.dumps(payload, indent=2)
        if json_file == "-":
            click.echo(text)
        else:
            Path(json_file).write_text(text + "\n")

    return supervised(lambda: execute(**arguments), name="interop run", on_abrupt=abrupt)


def execute(*, path: str, dag_id: str | None, logical_date: str | None, params: list[str], json_file: str | None, logs: bool, airflow_python: str | None) -> int:
    """The command's work, in this process or in a daemon's worker; the exit code."""
    from interop.supervise import prefect_environment

    # Flow results are read back from Prefect: persisted in the run's folder; Prefect's
    # temporary server gets its own home there
    prefect_environment()
    owner = os.getpid()
    try:
        python = Path(airflow_python) if airflow_python is not None else None
        if python is None:
            from airflow_interop.sidecar.cli import airflow_python_from_state

            python = airflow_python_from_state(Path(path), dag_id)
        with _stdout_kept_for_json(json_file == "-"):
            payload = run_file(path, dag_id=dag_id, logical_date=logical_date, params=parse_params(params), echo=logs, airflow_python=python)
    except BadInput as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except ModuleNotFoundError as exc:
        hint = runtime_missing_hint(exc, "interop run")
        if hint is None:
            raise
        click.echo(hint, err=True)
        return 2
    if os.getpid() != owner:  # a task forked, and the fork came back here: it must not report
        os._exit(0)
    text = json.dumps(payload, indent=2, sort_keys=False)
    if json_file is not None:
        if json_file == "-":
            click.echo(text)
        else:
            Path(json_file).write_text(text + "\n")
    _summary(payload)
    return 0 if payload["state"] == "success" else 1


@contextlib.contextmanager
def _stdout_kept_for_json(keep: bool) -> Iterator[None]:
    """With ``--json -`` stdout carries only the JSON: while the run goes on, whatever writes to
    stdout (Airflow's and Prefect's log handlers, tasks, their subprocesses) writes to stderr."""
    if not keep:
        yield
        return
    sys.stdout.flush()
    try:
        real = sys.stdout.fileno() == 1
    except (AttributeError, OSError, ValueError):  # a test runner's capture: no descriptor
        real = False
    saved = os.dup(1) if real else None
    if saved is not None:
        os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _summary(payload: dict[str, Any]) -> None:
    click.echo(f"{payload['dag_id']}: {payload['state']}", err=True)
    if "airflow" in payload:  # shims/compat, shims/sidecar
        info = payload["airflow"]
        click.echo(f"  ran by Airflow {info['version']} ({info['mode']}); {len(info['renames'])} rename(s) applied", err=True)
        for r in info["renames"]:
            click.echo(f"    line {r['line']}: {r['kind']}: {r['old']} -> {r['new'] or '(dropped)'}", err=True)
    for task_id, task in payload["tasks"].items():
        click.echo(f"  {task['state']:<16} {task_id}", err=True)
