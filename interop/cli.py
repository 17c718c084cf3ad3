"""The ``interop`` console script: a thin click group over the Python API.

Each command lives in its own module under :mod:`interop.commands` and is imported only
when it is invoked, so ``interop convert`` never pays for importing Airflow or Prefect.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util

import click

from interop import __version__
from interop.console import META_KEY, NORMAL, QUIET, VERBOSE

#: command name -> "module:attribute" of the click command
COMMANDS: dict[str, str] = {
    "convert": "interop.commands.convert:convert",
    "run": "interop.commands.run:run",
    "status": "interop.commands.status:status",
    "lint": "interop.commands.lint:lint",
    "compare": "interop.commands.compare:compare",
    "daemon": "interop.commands.daemon:daemon",
    # listed once a module exists (``_exists``): the deploy family
    "deploy": "interop.commands.deploy:deploy",
    "backfill": "interop.commands.deploy:backfill",
    "import-variables": "interop.commands.deploy:import_variables",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, target in COMMANDS.items() if _exists(target))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or not _exists(target):
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if (
            not ctx.resilient_parsing
            and not name.startswith("-")
            and self.get_command(ctx, name) is None
        ):  # a mistyped command: suggest the close ones (commands are imported lazily)
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)


def _exists(target: str) -> bool:
    module_name = target.split(":")[0]
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        return False


EPILOG = """\b
Shell completion (bash, zsh, fish), e.g. in ~/.bashrc:
  eval "$(_INTEROP_COMPLETE=bash_source interop)"
(zsh_source for zsh; for fish: _INTEROP_COMPLETE=fish_source interop | source)"""


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(__version__, prog_name="interop")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and what needs a hand.")
@click.option("-v", "--verbose", is_flag=True, help="Print every finding and every task.")
@click.pass_context
def main(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """Move Apache Airflow DAGs to Prefect 3 flows, one DAG at a time."""
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose are exclusive")
    ctx.meta[META_KEY] = QUIET if quiet else VERBOSE if verbose else NORMAL


if __name__ == "__main__":  # pragma: no cover - `python -m interop.cli` is `interop`
    main(prog_name="interop")
