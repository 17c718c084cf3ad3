"""``interop status``: the migration state file held against the code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from interop.state import DEFAULT_STATE_FILE, STATUSES


@click.command(name="status")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STATE_FILE,
    show_default=True,
    help="The migration state file (YAML).",
)
@click.option(
    "--init",
    "init_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Add the DAGs of this file to the state (all tasks 'airflow'); repeatable.",
)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="DAG[.TASK]=STATUS",
    help=f"Record where a DAG or one task runs ({'|'.join(STATUSES)}); repeatable. "
    "Task ids may contain dots: the DAG id is the part before the first dot.",
)
@click.option("--flow", "flows", multiple=True, metavar="DAG=FILE", help="Record the converted flow file of a DAG.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-load", is_flag=True, help="Do not load DAG files with Airflow (no task drift check).")
def status(
    state_file: Path,
    init_files: tuple[Path, ...],
    assignments: tuple[str, ...],
    flows: tuple[str, ...],
    as_json: bool,
    no_load: bool,
) -> None:
    """Show which DAGs and tasks run in Airflow, through shims, or in Prefect, and what drifted.

    Exit codes: 0 no drift, 1 drift found, 2 bad input (unreadable state file, unknown DAG,
    task or status).
    """
    from interop.state import MigrationState, StateError, check

    try:
        state = MigrationState.load(state_file, missing_ok=bool(init_files))
        changed = False
        for path in init_files:
            from interop.state import dag_task_ids
            from shims.runner import DagLoadError

            try:
                found = dag_task_ids(path)
            except DagLoadError as exc:
                raise StateError(str(exc)) from exc
            if not found:
                raise StateError(f"No Airflow DAG found in {str(path)!r}.")
            for dag_id, task_ids in found.items():
                state.add_dag(dag_id, path, task_ids)
            changed = True
        for item in assignments:
            target, sep, value = item.partition("=")
            if not sep:
                raise StateError(f"--set {item!r}: expected DAG[.TASK]=STATUS")
            dag_id, dot, task_id = target.partition(".")
            state.set_status(dag_id, value.strip(), task_id if dot else None)
            changed = True
        for item in flows:
            dag_id, sep, file = item.partition("=")
            if not sep:
                raise StateError(f"--flow {item!r}: expected DAG=FILE")
            state.set_flow(dag_id, file)
            changed = True
        if changed:
            state.save()
        reports = check(state, load_code=not no_load)
    except StateError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)

    drift = sum(len(r.drift) for r in reports)
    if as_json:
        click.echo(json.dumps({"state_file": str(state_file), "dags": [r.to_dict() for r in reports], "drift": drift}, indent=2))
    else:
        _print_text(state_file, reports)
    sys.exit(1 if drift else 0)


def _print_text(state_file: Path, reports: list) -> None:
    if not reports:
        click.echo(f"{state_file}: no DAGs recorded")
        return
    click.echo(f"{state_file}")
    header = f"{'DAG':<40} {'status':<8} {'airflow':>7} {'shim':>5} {'prefect':>7}  drift"
    click.echo(header)
    click.echo("-" * len(header))
    for report in reports:
        counts = report.state.counts()
        click.echo(
            f"{report.state.dag_id:<40} {report.state.status:<8} {counts['airflow']:>7} "
            f"{counts['shim']:>5} {counts['prefect']:>7}  {len(report.drift)}"
        )
        for task_id, where in sorted(report.state.tasks.items()):
            click.echo(f"    {task_id:<36} {where}")
        for item in report.drift:
            click.echo(f"    ! {item.kind}: {item.message}")
