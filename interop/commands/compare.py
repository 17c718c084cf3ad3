"""``interop compare``: run each DAG and its converted flow, and report where they differ.

The Python API under the command is :mod:`interop.compare`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["compare"]


@click.command(name="compare")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--flow", "flow_file", type=click.Path(path_type=Path), default=None,
              help="Use this flow file instead of converting (its flows are matched to DAGs by name); "
                   "a folder: each DAG file's flow of the same name there (as written by 'interop convert --out').")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write per-DAG HTML/JSON/Markdown reports, index.html and summary.json here.")
@click.option("--airflow-test", is_flag=True, help="Run the DAG with `airflow dags test` (ground truth) instead of the in-process runner.")
@click.option("--airflow-python", "airflow_python", type=click.Path(path_type=Path), default=None, envvar="INTEROP_AIRFLOW_PYTHON",
              help="Load and run the DAGs in this interpreter's Airflow 1.10/2.x (sidecar); default: the state file's airflow_python setting, else this process's Airflow.")
@click.option("--logical-date", default=None, help="ISO date or datetime of both runs (default: now, UTC).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A DAG param for both runs (JSON values allowed); repeatable.")
@click.option("--timeout", type=float, default=None, metavar="SECONDS",
              help="Run the files in worker processes and stop a DAG that takes more than SECONDS (reported as an error saying what it was doing).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes comparing files side by side.")
def compare(paths: tuple[Path, ...], flow_file: Path | None, out: Path | None, airflow_test: bool,
            airflow_python: Path | None, logical_date: str | None, params: tuple[str, ...], timeout: float | None,
            jobs: int) -> None:
    """Run every DAG in PATHS (folders walked) and its converted flow, and compare graph, values,
    states and timings.

    Exit codes: 0 every DAG is equivalent, 1 some DAG differs, 2 errors (a DAG or flow that cannot
    run, bad input, Airflow or Prefect not installed), 143 stopped by SIGTERM.
    """
    from interop.supervise import supervised

    def work() -> int:
        from interop.commands.run import runtime_missing

        hint = runtime_missing("interop compare", ("prefect",) if airflow_python else ("airflow", "prefect"))
        if hint is not None:
            click.echo(hint, err=True)
            return 2
        try:
            _compare(paths, flow_file, out, airflow_test, airflow_python, logical_date, params, timeout, jobs)
        except ModuleNotFoundError as exc:
            from interop.commands.run import runtime_missing_hint

            hint = runtime_missing_hint(exc, "interop compare")
            if hint is None:
                raise
            click.echo(hint, err=True)
            return 2
        return 0

    sys.exit(supervised(work, name="interop compare"))


def _compare(paths: tuple[Path, ...], flow_file: Path | None, out: Path | None, airflow_test: bool,
             airflow_python: Path | None, logical_date: str | None, params: tuple[str, ...], timeout: float | None,
             jobs: int) -> None:
    """The command's work (exits with its code)."""
    from interop.commands.run import BadInput, parse_params

    try:
        param_values = parse_params(params)
        if logical_date is not None:
            from airflow_interop.context import coerce_logical_date

            coerce_logical_date(logical_date)
        if flow_file is not None and not (flow_file.is_file() or flow_file.is_dir()):
            raise BadInput(f"--flow {str(flow_file)!r} does not exist")
        if airflow_python is not None and airflow_test:
            raise BadInput("--airflow-python and --airflow-test are two ways to run the DAG side; choose one")
        from interop.compare.engine import compare_paths, discover, default_logical_date

        files = discover(paths)
    except (BadInput, ValueError, FileNotFoundError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    # Flow results are read back from Prefect: persisted in the run's folder; Prefect's
    # temporary server gets its own home there
    from interop.supervise import prefect_environment

    prefect_environment()

    from interop.compare.report import write_reports

    comparisons = []
    without: list[str] = []
    with click.progressbar(length=len(files), label="comparing", file=sys.stderr,
                           item_show_func=lambda f: str(f) if f else "") as bar:
        def advance(f: Path, got: list) -> None:
            if not got:
                without.append(str(f))
            bar.update(1, f)

        comparisons = compare_paths(files, flow_file=flow_file, airflow_test=airflow_test, airflow_python=airflow_python,
                                    logical_date=logical_date or default_logical_date(), params=param_values,
                                    timeout=timeout, jobs=jobs, on_file=advance)
    if out is not None:
        write_reports(comparisons, out, files_without_dags=without)
    for c in comparisons:
        word = "error" if c.error else ("equivalent" if c.equivalent else "DIFFERENT")
        click.echo(f"{word:<11} {c.dag_id}  ({c.file})", err=True)
        for line in c.differences()[:8]:
            click.echo(f"    {line.splitlines()[0] if line else line}", err=True)
    if out is not None:
        click.echo(f"reports: {out / 'index.html'}", err=True)
    if not comparisons:
        click.echo("error: no DAG found in " + ", ".join(map(str, paths)), err=True)
        sys.exit(2)
    if any(c.error for c in comparisons):
        sys.exit(2)
    sys.exit(0 if all(c.equivalent for c in comparisons) else 1)
