"""airflow-interop: move Apache Airflow DAGs to Prefect 3 flows one DAG at a time."""

__version__ = "0.1.0"
