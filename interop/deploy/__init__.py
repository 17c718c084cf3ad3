"""Deploy converted flows on a Prefect server: ``prefect.yaml``, backfills, Variables.

``spec`` turns a converted folder and its ledger into deployments, ``merge`` keeps the hand
edits of an earlier ``prefect.yaml``, ``apply`` creates the work pool and the pools' concurrency
limits and runs ``prefect deploy``, ``backfill`` makes Airflow's catchup runs, ``variables``
imports Airflow Variables. Prefect is imported only inside the functions that talk to a server.
"""
