"""``interop lint PATH... [--format text|json|github|sarif] [--fix] [--report FILE]``."""

from __future__ import annotations

import sys

import click


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
@click.option("--fix", is_flag=True, help="Apply the safe fixes and write the files back.")
@click.option(
    "--report",
    "report",
    type=click.Path(dir_okay=False),
    default=None,
    help="Conversion report (from `interop convert --report`) for rules that compare with the DAG.",
)
@click.option("--select", multiple=True, help="Run only these codes or prefixes (repeatable; overrides pyproject).")
@click.option("--ignore", multiple=True, help="Do not run these codes or prefixes (repeatable; added to pyproject).")
def lint(
    paths: tuple[str, ...],
    output_format: str,
    fix: bool,
    report: str | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
) -> None:
    """Lint converted flows: Airflow leftovers, lost ordering, retries and reproducibility.

    Folders are walked for *.py files. Exit status: 0 clean, 1 findings, 2 errors (a file
    that does not parse is an error; the other files are still linted).
    """
    from interop.lint.engine import all_rules, lint_paths, load_report
    from interop.lint.formats import format_github, format_json, format_sarif, format_text

    index = None
    if report is not None:
        try:
            index = load_report(report)
        except ValueError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
    run = lint_paths(paths, fix=fix, report=index, select=select, ignore=ignore)
    findings = run.findings
    if output_format == "text":
        click.echo(format_text(findings), nl=False)
    elif output_format == "json":
        click.echo(format_json(findings), nl=False)
    elif output_format == "github":
        click.echo(format_github(findings, run.errors), nl=False)
    else:
        click.echo(format_sarif(run, all_rules()), nl=False)
    for error in run.errors:
        click.echo(str(error), err=True)
    if output_format == "text":
        summary = f"{len(findings)} finding{'s' if len(findings) != 1 else ''} in {len(run.files)} file{'s' if len(run.files) != 1 else ''}"
        if fix:
            summary += f", {run.fixes_applied} fixed"
        if run.errors:
            summary += f", {len(run.errors)} error{'s' if len(run.errors) != 1 else ''}"
        click.echo(summary, err=True)
    sys.exit(run.exit_code)
