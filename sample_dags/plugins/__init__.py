"""In-house Airflow operators shared by the sample DAGs (the kind every data team grows)."""
