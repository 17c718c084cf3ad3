"""airflow-interop's runtime, installed as the package ``airflow_interop`` (folder ``shims/``).

Converted flows import from one module, :mod:`airflow_interop.runtime`; the other modules run
unconverted Airflow DAGs and operators for Prefect (``runner``, ``operator``, ``prefect_dag``,
``compat``, ``sidecar``, ``live``) and a Prefect flow for Airflow (``airflow_operator``). The
package imports under this one name only: the folder's name, ``shims``, is not installed (a
team's own ``shims/`` folder would shadow it). docs/shims.md, "Import names", says why.
"""
