"""Sidecar Airflow: run DAGs inside the team's own Airflow 1.10/2.x interpreter.

Airflow 2 cannot share an environment with Prefect 3 (SQLAlchemy < 2 against >= 2), so the
runner can run in another interpreter: :mod:`airflow_interop.sidecar.worker` is started there (it needs
nothing but Airflow and the standard library) and speaks JSON lines over a pipe;
:class:`Sidecar` is this side. Task states, XComs, logs and errors come back per task id.

Example:
    >>> result = run_dag_sidecar("dags/legacy.py", airflow_python=".venv-airflow2/bin/python")  # doctest: +SKIP
    >>> result.airflow_version, result.xcoms()["publish"]  # doctest: +SKIP
"""

from airflow_interop.sidecar.client import WORKER, Sidecar, SidecarError, SidecarRunResult, default_cache_dir, run_dag_sidecar

__all__ = ["WORKER", "Sidecar", "SidecarError", "SidecarRunResult", "default_cache_dir", "run_dag_sidecar"]
