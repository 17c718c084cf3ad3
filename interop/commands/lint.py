"""``interop lint PATH... [--format text|json|github|sarif] [--fix] [--report FILE]``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from interop import console


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github", "sarif"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--fix", is_flag=True, help="Apply the safe fixes and write the files back (with '-': the fixed text to stdout).")
@click.option(
    "--report",
    "report",
    type=click.Path(dir_okay=False),
    default=None,
    help="Conversion report (from `interop convert --report`) for rules that compare with the DAG.",
)
@click.option("--select", multiple=True, help="Run only these codes or prefixes (repeatable; overrides pyproject).")
@click.option("--ignore", multiple=True, help="Do not run these codes or prefixes (repeatable; added to pyproject).")
@click.option("--stdin-filename", metavar="NAME", help="The file name shown for '-' (stdin); its folder's pyproject.toml applies.")
@click.option("-q", "--quiet", is_flag=True, help="Print the findings only (no summary line).")
@click.option("-v", "--verbose", is_flag=True, help="Print every finding (repeats not folded).")
def lint(
    paths: tuple[str, ...],
    output_format: str,
    fix: bool,
    report: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    stdin_filename: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Lint converted flows: Airflow leftovers, lost ordering, retries and reproducibility.

    Folders are walked for *.py files; '-' reads one file from stdin. Exit status: 0 clean,
    1 findings, 2 errors (a file that does not parse, cannot be read or cannot be written is
    an error; the other files are still linted).
    """
    from interop.lint.engine import all_rules, iter_python_files, lint_paths, load_report
    from interop.lint.formats import format_github, format_json, format_sarif, format_text

    level = console.verbosity(quiet, verbose)
    if "-" in paths and len(paths) > 1:
        raise click.UsageError("'-' (stdin) cannot be mixed with other paths")
    if stdin_filename and paths != ("-",):
        raise click.UsageError("--stdin-filename goes with '-' (stdin)")
    index = None
    if report is not None:
        try:
            index = load_report(report)
        except ValueError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
    fixed_text: str | None = None
    try:
        if paths == ("-",):
            run, fixed_text = _lint_stdin(stdin_filename or "-", fix, index, select, ignore)
        else:
            files: list[str] = list(paths)
            total = 0
            if console.is_tty(sys.stderr) and level >= console.NORMAL:  # a bar needs the count
                files = [shown for shown, _, _ in iter_python_files(paths)]
                total = len(files)
            with console.Batch(total, level, label="linting") as batch:
                run = lint_paths(files, fix=fix, report=index, select=select, ignore=ignore, on_file=lambda r: batch.done(current=Path(r.path).name))
    except KeyboardInterrupt:
        click.echo("interop lint: interrupted", err=True)
        sys.exit(130)
    findings = run.findings
    out_color = console.color_enabled(sys.stdout)
    # with '-' and --fix the fixed text is the output: the findings go to stderr
    to_err = fixed_text is not None
    if output_format == "text":
        text = format_text(findings, fold=level < console.VERBOSE, color=out_color and not to_err)
    elif output_format == "json":
        text = format_json(findings)
    elif output_format == "github":
        text = format_github(findings, run.errors)
    else:
        text = format_sarif(run, all_rules())
    try:
        if to_err:
            click.echo(text, nl=False, err=True)
            console.write_stdout(fixed_text or "")
        else:
            console.write_stdout(text)
    except console.StdoutError as exc:
        click.echo(f"interop lint: cannot write to stdout: {exc}", err=True)
        sys.exit(2)
    err_color = console.color_enabled(sys.stderr)
    for error in run.errors:
        click.echo(console.style(str(error), err_color, fg="red"), err=True, color=err_color)
    if output_format == "text" and level >= console.NORMAL:
        click.echo(_summary(run, fix), err=True)
    sys.exit(run.exit_code)


def _summary(run, fix: bool) -> str:  # noqa: ANN001 - a LintRun
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'s' if count != 1 else ''}"

    summary = f"{n(len(run.findings), 'finding')} in {n(len(run.files), 'file')}"
    if fix:
        summary += f", {run.fixes_applied} fixed"
    if run.errors:
        summary += f", {n(len(run.errors), 'error')}"
    return summary


def _lint_stdin(name: str, fix: bool, index, select: tuple[str, ...], ignore: tuple[str, ...]):  # noqa: ANN001
    """Lint the text on stdin as the file ``name``: ``(run, the text to print with --fix)``."""
    from interop.lint.config import ConfigError, find_config
    from interop.lint.engine import FileResult, LintError, LintRun, lint_source, select_rules

    raw = click.get_binary_stream("stdin").read()
    folder = Path(name).parent if name != "-" else Path.cwd()
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return LintRun([FileResult(name, error=LintError(name, 1, 1, f"cannot read: not UTF-8 text ({exc.reason})"))]), None
    try:
        config = find_config(folder).merged(select, ignore)
    except ConfigError as exc:
        return LintRun([FileResult(name, error=LintError(name, 1, 1, str(exc)))]), source if fix else None
    result = lint_source(source, name, rules=select_rules(config), report=index, fix=fix)
    fixed = (result.fixed_source if result.fixed_source is not None else source) if fix else None
    return LintRun([result]), fixed
