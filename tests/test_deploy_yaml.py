"""``interop deploy`` without a server: the prefect.yaml it writes, and how it keeps hand edits.

Each case converts real DAG text with ``interop convert`` and runs ``interop deploy`` on the
output (no ``--apply``); the document is also validated with Prefect's own model of
``prefect.yaml`` (``prefect.cli.deploy._models.PrefectYamlModel``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

INTEROP = Path(sys.executable).parent / "interop"

DAGS = {
    "modern.py": '''
        """Orders mart.

        Built nightly from the lake."""
        import pendulum
        from airflow.providers.standard.operators.bash import BashOperator
        from airflow.sdk import DAG, Param

        with DAG(
            "modern_mart",
            schedule="@hourly",
            start_date=pendulum.datetime(2024, 3, 1, tz="Europe/Paris"),
            description="Orders mart",
            doc_md=__doc__,
            tags=["mart", "orders"],
            params={"region": Param("emea", type="string"), "limit": 10},
            max_active_runs=2,
            catchup=True,
        ):
            BashOperator(task_id="a", bash_command="echo a", pool="warehouse")

        with DAG("modern_unscheduled", start_date=pendulum.datetime(2024, 1, 1)):
            BashOperator(task_id="b", bash_command="echo b")
    ''',
    "legacy.py": '''
        from datetime import datetime, timedelta
        from airflow import DAG
        from airflow.operators.bash_operator import BashOperator

        local_tz = __import__("pendulum").timezone("America/New_York")
        with DAG("legacy_default", start_date=datetime(2023, 5, 1)) as dag:
            BashOperator(task_id="c", bash_command="echo c")

        with DAG("legacy_interval", schedule_interval=timedelta(hours=6), start_date=datetime(2023, 5, 1, 3)) as dag2:
            BashOperator(task_id="d", bash_command="echo d")
    ''',
    "timetables.py": '''
        import pendulum
        from airflow.sdk import DAG
        from airflow.timetables.trigger import CronTriggerTimetable, MultipleCronTriggerTimetable
        from airflow.providers.standard.operators.bash import BashOperator

        with DAG("tt_cron", schedule=CronTriggerTimetable("30 5 * * 1-5", timezone="Asia/Tokyo"),
                 start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), is_paused_upon_creation=True):
            BashOperator(task_id="e", bash_command="echo e")

        with DAG("tt_multi", schedule=MultipleCronTriggerTimetable("0 1 * * *", "0 13 * * *", timezone="UTC"),
                 start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
            BashOperator(task_id="f", bash_command="echo f")

        with DAG("tt_once", schedule="@once", start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
            BashOperator(task_id="g", bash_command="echo g")
    ''',
}


def _interop(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(INTEROP), *map(str, args)], capture_output=True, text=True, check=False)


@pytest.fixture
def converted(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    for name, text in DAGS.items():
        (dags / name).write_text(textwrap.dedent(text))
    out, report = tmp_path / "flows", tmp_path / "report.json"
    done = _interop("convert", dags, "--out", out, "--report", report)
    assert done.returncode == 0, done.stderr
    return out, report


def _deployments(out: Path) -> dict[str, dict]:
    from prefect.cli.deploy._models import PrefectYamlModel

    document = yaml.safe_load((out / "prefect.yaml").read_text())
    PrefectYamlModel.model_validate(document)  # what `prefect deploy` reads
    return {d["name"]: d for d in document["deployments"]}


def test_one_deployment_per_dag_with_the_dags_settings(converted):
    out, report = converted
    done = _interop("deploy", out, "--report", report, "--work-pool", "team-pool", "--pool", "warehouse=3")
    assert done.returncode == 0, done.stderr
    # @once is no Prefect schedule: --apply makes its one run
    assert "tt_once: @once: no Prefect schedule; `interop deploy --apply` creates its one run" in done.stderr
    deployments = _deployments(out)
    assert set(deployments) == {"modern_mart", "modern_unscheduled", "legacy_default", "legacy_interval", "tt_cron", "tt_multi", "tt_once"}
    mart = deployments["modern_mart"]
    assert mart["entrypoint"] == "modern.py:modern_mart"
    assert mart["description"] == "Orders mart\n\nOrders mart.\n\nBuilt nightly from the lake."
    assert mart["tags"] == ["mart", "orders"]
    assert mart["parameters"] == {"region": "emea", "limit": 10}
    assert mart["schedules"] == [{"cron": "0 * * * *", "timezone": "Europe/Paris"}]
    assert mart["concurrency_limit"] == {"limit": 2, "collision_strategy": "ENQUEUE"}
    assert mart["work_pool"]["name"] == "team-pool"
    assert "catchup=True" in done.stderr and "interop backfill modern_mart/modern_mart" in done.stderr
    # no schedule argument: Airflow 3 (the file imports airflow.sdk) does not schedule it
    assert deployments["modern_unscheduled"]["schedules"] == []
    # ... Airflow 2 runs it daily: timedelta(days=1) from start_date (naive: Airflow's UTC)
    assert deployments["legacy_default"]["schedules"] == [{"interval": 86400, "timezone": "UTC", "anchor_date": "2023-05-01T00:00:00"}]
    assert deployments["legacy_interval"]["schedules"] == [{"interval": 21600, "timezone": "UTC", "anchor_date": "2023-05-01T03:00:00"}]
    assert deployments["tt_cron"]["schedules"] == [{"cron": "30 5 * * 1-5", "timezone": "Asia/Tokyo", "active": False}]
    assert deployments["tt_multi"]["schedules"] == [{"cron": "0 1 * * *", "timezone": "UTC"}, {"cron": "0 13 * * *", "timezone": "UTC"}]
    assert deployments["tt_once"]["schedules"] == []


def test_daily_default_option_and_unknown_pool_size(converted):
    out, report = converted
    done = _interop("deploy", out, "--report", report, "--daily-default")
    assert done.returncode == 1
    assert "pool 'warehouse' (tasks a): its size is not known" in done.stderr
    assert _deployments(out)["modern_unscheduled"]["schedules"][0]["interval"] == 86400


def test_a_rerun_keeps_hand_edits_that_do_not_conflict(converted, tmp_path):
    out, report = converted
    assert _interop("deploy", out, "--report", report).returncode == 1  # pool 'warehouse' of unknown size
    document = yaml.safe_load((out / "prefect.yaml").read_text())
    for d in document["deployments"]:
        if d["name"] == "modern_mart":
            d["work_pool"]["job_variables"] = {"env": {"TEAM": "data"}}  # a hand edit
            d["version"] = "2024.1"  # a key added by hand
        if d["name"] == "legacy_interval":
            d["tags"] = ["hand"]  # edited by hand; the DAG changes its tags too below
    document["deployments"].append({"name": "hand_made", "entrypoint": "x.py:f"})
    (out / "prefect.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    # the DAGs change: modern_mart's schedule, legacy_interval's tags
    ledger = json.loads(report.read_text())
    for entry in ledger["files"]:
        for dag in entry["dags"]:
            if dag["dag_id"] == "modern_mart":
                dag["deployment"]["schedules"] = [{"cron": "15 * * * *"}]
            if dag["dag_id"] == "legacy_interval":
                dag["deployment"]["tags"] = ["generated"]
    report.write_text(json.dumps(ledger))
    done = _interop("deploy", out, "--report", report)
    deployments = _deployments(out)
    mart = deployments["modern_mart"]
    assert mart["schedules"] == [{"cron": "15 * * * *", "timezone": "Europe/Paris"}]  # the DAG's change
    assert mart["work_pool"]["job_variables"] == {"env": {"TEAM": "data"}}  # the hand's edit
    assert mart["version"] == "2024.1"
    assert "hand_made" in deployments
    assert deployments["legacy_interval"]["tags"] == ["hand"]  # a conflict keeps the hand edit ...
    assert "conflict at deployments[legacy_interval].tags" in done.stderr  # ... and says so
    assert done.returncode == 1


def test_requirements_from_the_shimmed_operators(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "shim.py").write_text(textwrap.dedent('''
        import pendulum
        from airflow.sdk import DAG
        from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

        with DAG("sql_dag", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
            SQLExecuteQueryOperator(task_id="q", conn_id="db", sql="select 1")
    '''))
    out, report = tmp_path / "flows", tmp_path / "report.json"
    assert _interop("convert", dags, "--out", out, "--report", report).returncode == 0
    done = _interop("deploy", out, "--report", report, "--work-pool-type", "docker", "--image", "team/flows:1")
    assert done.returncode == 0, done.stderr
    assert (out / "requirements.txt").read_text().split() == ["airflow-interop[runtime]", "apache-airflow-providers-common-sql"]
    job = _deployments(out)["sql_dag"]["work_pool"]["job_variables"]
    assert job == {"image": "team/flows:1", "env": {"EXTRA_PIP_PACKAGES": "airflow-interop[runtime] apache-airflow-providers-common-sql"}}
    document = yaml.safe_load((out / "prefect.yaml").read_text())
    assert document["pull"] == [{"prefect.deployments.steps.set_working_directory": {"directory": "/opt/prefect/flows"}}]


def test_a_dag_scheduled_on_an_asset_deploys_with_its_event_trigger(tmp_path):
    """``schedule=[asset]``: the deployment has no time schedule and a trigger on the asset's
    materialization event (the event a converted producer's ``@materialize`` task emits), in a
    ``prefect.yaml`` that Prefect's own model accepts."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "assets.py").write_text(textwrap.dedent('''
        import pendulum
        from airflow.sdk import DAG, Asset
        from airflow.providers.standard.operators.bash import BashOperator

        orders = Asset("s3://shop/orders.parquet")
        with DAG("orders_report", schedule=[orders], start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
            BashOperator(task_id="r", bash_command="echo r")
    '''))
    out, report = tmp_path / "flows", tmp_path / "report.json"
    assert _interop("convert", dags, "--out", out, "--report", report).returncode == 0
    done = _interop("deploy", out, "--report", report)
    assert done.returncode == 0, done.stderr
    deployment = _deployments(out)["orders_report"]
    assert deployment["schedules"] == []
    assert deployment["triggers"] == [{
        "type": "event", "enabled": True, "expect": ["prefect.asset.materialization.succeeded"],
        "match": {"prefect.resource.id": "s3://shop/orders.parquet"},
    }]
    assert "without a schedule" not in done.stdout + done.stderr
