"""The ``interop`` console script: a thin click group over the Python API.

Each command lives in its own module under :mod:`interop.commands` and is imported only
when it is invoked, so ``interop convert`` never pays for importing Airflow or Prefect.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from interop import __version__

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


def _exists(target: str) -> bool:
    module_name = target.split(":")[0]
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        return False


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="interop")
def main() -> None:
    """Move Apache Airflow DAGs to Prefect 3 flows, one DAG at a time."""


if __name__ == "__main__":  # pragma: no cover
    main()
