"""Airflow's own bundled example DAGs, found in the installed packages (a corpus nobody here wrote).

Used by the tests and the benchmarks; never copied into the repository.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE_PACKAGES = ("airflow.example_dags", "airflow.providers.standard.example_dags")


def airflow_example_dag_files() -> list[Path]:
    """Every ``*.py`` file (``__init__.py`` left out) of Airflow's example DAG packages, sorted."""
    files: list[Path] = []
    for pkg in EXAMPLE_PACKAGES:
        try:
            spec = importlib.util.find_spec(pkg)
        except ModuleNotFoundError:
            spec = None
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = Path(list(spec.submodule_search_locations)[0])
        files.extend(p for p in sorted(folder.glob("*.py")) if p.name != "__init__.py")
    return files
