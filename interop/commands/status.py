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
    help="Add the DAGs of this file, or of every file under this folder, to the state (all tasks 'airflow'); repeatable.",
)
@click.option(
    "--from-report",
    "report_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record what 'interop convert --report FILE' converted: each DAG's tasks (converted: prefect, shimmed: shim) "
    "and its flow file; repeatable.",
)
@click.option(
    "--flows",
    "flows_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --from-report: the folder 'interop convert --out DIR' wrote the flows to.",
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
    report_files: tuple[Path, ...],
    flows_dir: Path | None,
    assignments: tuple[str, ...],
    flows: tuple[str, ...],
    as_json: bool,
    no_load: bool,
) -> None:
    """Show which DAGs and tasks run in Airflow, through shims, or in Prefect, and what drifted.

    --init takes files and folders; a file that does not load under Airflow is recorded from
    the converter's static reading of it (and said so), or reported and skipped: the others are
    recorded all the same.

    Exit codes: 0 no drift, 1 drift found, 2 bad input (unreadable state file, unknown DAG,
    task or status, a file --init could not read).
    """
    from interop.state import MigrationState, StateError, check

    failures = 0
    try:
        state = MigrationState.load(state_file, missing_ok=bool(init_files or report_files))
        changed = False
        if init_files:
            added, failures = _init(state, init_files)
            changed |= added > 0
        for report_file in report_files:
            changed |= _from_report(state, report_file, flows_dir) > 0
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
            try:
                state.save()
            except OSError as exc:
                raise StateError(f"cannot write the state file {str(state_file)!r}: {exc}") from exc
        reports = check(state, load_code=not no_load)
    except StateError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)

    drift = sum(len(r.drift) for r in reports)
    if as_json:
        click.echo(json.dumps({"state_file": str(state_file), "dags": [r.to_dict() for r in reports], "drift": drift}, indent=2))
    else:
        _print_text(state_file, reports)
    if failures:
        click.echo(f"error: {failures} file(s) given to --init could not be recorded (see above)", err=True)
        sys.exit(2)
    sys.exit(1 if drift else 0)


def _dag_files(paths: tuple[Path, ...]) -> list[tuple[Path, bool]]:
    """``(file, named)``: each file given, and the Python files under each folder given (hidden
    folders and ``__pycache__`` skipped); ``named`` is false for files found in a folder."""
    from interop.state import StateError

    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            for f in sorted(path.rglob("*.py")):
                if not any(p.startswith(".") or p == "__pycache__" for p in f.relative_to(path).parts):
                    found.append((f, False))
        elif path.is_file():
            found.append((path, True))
        else:
            raise StateError(f"--init {str(path)!r}: no such file or folder")
    return found


def _init(state, paths: tuple[Path, ...]) -> tuple[int, int]:
    """Record the DAGs of every file (each file on its own: one that fails does not stop the
    others); ``(DAGs recorded, files that failed)``, each failure reported on stderr."""
    from interop.state import dag_task_ids

    added = failed = 0
    for path, named in _dag_files(paths):
        source = path.read_text(encoding="utf-8", errors="replace")
        if not named and "airflow" not in source.lower():
            continue  # a helper module in a folder
        try:
            found = dag_task_ids(path)
            why = None
        except Exception as exc:  # noqa: BLE001 - a file that does not load never stops the others
            found, why = {}, " ".join(str(exc).split())[:500] or type(exc).__name__
        if why is not None:
            found = _static_dags(path)
            if found:
                click.echo(f"note: {path} does not load under Airflow ({why}); recorded from the converter's reading of it", err=True)
            else:
                click.echo(f"error: {path} does not load under Airflow: {why}", err=True)
                failed += 1
                continue
        if not found:
            if named:
                click.echo(f"error: no Airflow DAG found in {str(path)!r}", err=True)
                failed += 1
            continue
        for dag_id, task_ids in found.items():
            state.add_dag(dag_id, path, task_ids)
            added += 1
    return added, failed


def _static_dags(path: Path) -> dict[str, list[str]]:
    """``{dag_id: [task ids]}`` as the converter reads the file (without importing it)."""
    try:
        from converters import convert_file

        report = convert_file(str(path)).report()
    except Exception:  # noqa: BLE001 - nothing more to learn from the file
        return {}
    return {d["dag_id"]: [t["task_id"] for t in d.get("tasks", [])] for d in report.get("dags", []) if d.get("dag_id")}


#: a task's disposition in convert's ledger -> where it runs once the flow is used
_DISPOSITION_STATUS = {"converted": "prefect", "shimmed": "shim", "manual": "airflow"}


def _from_report(state, report_file: Path, flows_dir: Path | None) -> int:
    """Record the DAGs of convert's ``--report`` JSON: tasks by disposition, and each file's flow
    (the ledger's ``out``, else the file of the same name under ``flows_dir``, else the DAG file
    itself after ``--in-place``); how many DAGs were recorded."""
    from interop.compare.engine import flow_in_folder
    from interop.state import StateError

    try:
        data = json.loads(report_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StateError(f"--from-report {str(report_file)!r} cannot be read as JSON: {exc}") from exc
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise StateError(f"--from-report {str(report_file)!r} is not a report of 'interop convert --report' (no 'files' list)")
    recorded = 0
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        dags = [d for d in entry.get("dags") or [] if isinstance(d, dict) and isinstance(d.get("dag_id"), str)]
        if not dags:
            if entry.get("status") == "failed":
                click.echo(f"note: {entry['path']} was not converted (status failed); not recorded", err=True)
            continue
        dag_file = Path(entry["path"])
        if not dag_file.is_absolute() and not dag_file.exists() and (report_file.parent / dag_file).exists():
            dag_file = report_file.parent / dag_file
        flow = _flow_of(entry, dag_file, flows_dir, flow_in_folder)
        for dag in dags:
            tasks = {str(t["task_id"]): _DISPOSITION_STATUS.get(t.get("disposition"), "airflow")
                     for t in dag.get("tasks") or [] if isinstance(t, dict) and "task_id" in t}
            state.add_dag(dag["dag_id"], dag_file, list(tasks))
            for task_id, where in tasks.items():
                state.set_status(dag["dag_id"], where, task_id)
            if flow is not None:
                state.set_flow(dag["dag_id"], flow)
            else:
                click.echo(f"note: no flow file found for DAG {dag['dag_id']!r} ({entry['path']}); give --flows DIR", err=True)
            recorded += 1
    return recorded


def _flow_of(entry: dict, dag_file: Path, flows_dir: Path | None, flow_in_folder) -> Path | None:
    for key in ("out", "output", "flow"):
        if isinstance(entry.get(key), str) and Path(entry[key]).is_file():
            return Path(entry[key])
    if flows_dir is not None and flows_dir.is_dir():
        found = flow_in_folder(dag_file, flows_dir)
        if found is not None:
            return found
    if dag_file.is_file():
        text = dag_file.read_text(encoding="utf-8", errors="replace")
        if "prefect" in text and "DAG(" not in text and "@dag" not in text:
            return dag_file  # converted --in-place: the DAG file is the flow now
    return None


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
