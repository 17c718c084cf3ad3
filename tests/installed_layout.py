"""The repository as the wheel installs it, for an interpreter that does not have it installed.

The folder ``shims/`` installs as the package ``airflow_interop`` (pyproject's ``package-dir``);
``interop/`` and ``converters/`` keep their names. An interpreter that only has the repository
root on ``PYTHONPATH`` (Airflow 2's, which cannot install this project's dependencies) finds
``interop`` and ``converters`` there but not ``airflow_interop``: this folder holds that one
name, a link to ``shims/``, the layout ``pip install airflow-interop --no-deps`` gives a team's
Airflow environment.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def installed_layout(folder: Path | None = None) -> Path:
    """A folder to put on ``PYTHONPATH`` (after the repository root) that imports ``airflow_interop``.

    Args:
        folder: where to make it (a new temporary folder by default).

    Returns:
        The folder, holding ``airflow_interop`` -> ``<repository>/shims``.
    """
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="interop-layout-"))
    link = folder / "airflow_interop"
    if not link.exists():
        link.symlink_to(REPO / "shims", target_is_directory=True)
    return folder
