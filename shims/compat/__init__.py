"""Compat loader: run Airflow 1.10/2.x DAG files under Airflow 3 without touching them.

Airflow's 2->3 renames (``converters.names``: moved modules, removed names, DAG and operator
argument renames, context keys) are applied in memory when the file is loaded:

* :mod:`shims.compat.transform`: the source transform, every change reported with its line;
* :mod:`shims.compat.finder`: alias modules for removed module paths (``import
  airflow.operators.bash_operator``), also for helper modules the DAG imports;
* :mod:`shims.compat.loader`: executes the transformed file and returns its DAGs;
* :mod:`shims.compat.runtime`: same-meaning replacements (``days_ago``).

Example:
    >>> load = load_dags_compat("sample_dags/legacy_provide_context.py")  # doctest: +SKIP
    >>> [str(r) for r in load.renames][:1]  # doctest: +SKIP
    ['.../legacy_provide_context.py:13: module: airflow.operators.bash_operator.BashOperator -> ...']
"""

from shims.compat.loader import CompatLoad, CompatLoadError, compat_report, load_dags_compat, needs_compat
from shims.compat.transform import CompatError, Rename, transform_source

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


def load_dag_module(path):  # noqa: ANN001, ANN201 - alias kept for the runner's hook
    """Alias of :func:`load_dags_compat`."""
    return load_dags_compat(path)
