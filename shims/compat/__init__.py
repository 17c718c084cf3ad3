"""Compat loader: run Airflow 1.10/2.x DAG files under Airflow 3 without touching them.

Airflow's 2->3 renames (``converters.names``: moved modules, removed names, DAG and operator
argument renames, context keys) are applied in memory when the file is loaded:

* :mod:`airflow_interop.compat.transform`: the source transform, every change reported with its line;
* :mod:`airflow_interop.compat.finder`: alias modules for removed module paths (``import
  airflow.operators.bash_operator``), also for helper modules the DAG imports;
* :mod:`airflow_interop.compat.loader`: executes the transformed file and returns its DAGs;
* :mod:`airflow_interop.compat.runtime`: same-meaning replacements (``days_ago``).

Example:
    >>> load = load_dags_compat("sample_dags/legacy_provide_context.py")  # doctest: +SKIP
    >>> [str(r) for r in load.renames][:1]  # doctest: +SKIP
    ['.../legacy_provide_context.py:13: module: airflow.operators.bash_operator.BashOperator -> ...']
"""

from typing import Any

from airflow_interop.compat.detect import needs_compat

__all__ = [
    "CompatError",
    "CompatLoad",
    "CompatLoadError",
    "Rename",
    "compat_report",
    "load_dag_module",
    "load_dags_compat",
    "needs_compat",
    "transform_source",
]

# The loader and the transform need libcst and the names tables; they are imported on first use
# so that the runner's plain path (``needs_compat`` on an Airflow 3 file) stays cheap.
_LAZY = {
    "CompatLoad": "airflow_interop.compat.loader",
    "CompatLoadError": "airflow_interop.compat.loader",
    "compat_report": "airflow_interop.compat.loader",
    "load_dags_compat": "airflow_interop.compat.loader",
    "CompatError": "airflow_interop.compat.transform",
    "Rename": "airflow_interop.compat.transform",
    "transform_source": "airflow_interop.compat.transform",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'airflow_interop.compat' has no attribute {name!r}")


def load_dag_module(path: Any) -> Any:
    """Alias of :func:`airflow_interop.compat.loader.load_dags_compat`."""
    from airflow_interop.compat.loader import load_dags_compat

    return load_dags_compat(path)
