"""Shared test set-up.

* ``AIRFLOW_HOME`` points at a temporary folder for the whole session, set before anything
  imports Airflow, so tests never touch ``~/airflow``.
* ``prefect_server``: one real Prefect test server (``prefect_test_harness``) per session,
  started only when a test asks for it (it takes 15-20 s).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="interop-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# closed network: no telemetry, no update checks
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DAGS = REPO / "sample_dags"


def airflow_example_dag_files() -> list[Path]:
    """Airflow's own bundled example DAGs, read from the installed packages."""
    from interop.corpus import airflow_example_dag_files as find

    return find()


@pytest.fixture(scope="session")
def prefect_server():
    """A real Prefect API (temporary SQLite database) for the whole test session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def python_exe() -> str:
    return sys.executable
