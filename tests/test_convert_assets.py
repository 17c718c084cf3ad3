"""Assets: a task's ``outlets`` and a DAG scheduled on an asset, held against real Airflow 3.3
and a real Prefect API.

Airflow records an asset event for each outlet of a task that succeeds (``airflow dags test``,
read back from its metadata DB); the converted task materializes the same asset, and Prefect
emits ``prefect.asset.materialization.succeeded`` for that key (read back from the Prefect API's
events). The consumer's deployment trigger expects exactly that event and key, so the converted
consumer runs where Airflow's consumer DAG ran."""

from __future__ import annotations

import asyncio
import importlib.util
import json

import pytest

from airflow_truth import dag_truth

pytestmark = [pytest.mark.prefect, pytest.mark.airflow]

DAG_SOURCE = '''
import pendulum
from airflow.sdk import DAG, Asset, task
from airflow.providers.standard.operators.python import PythonOperator

ORDERS_URI = "s3://shop/orders.parquet"
orders = Asset(ORDERS_URI)


def export():
    return "written"


@task(outlets=[Asset("s3://shop/refunds.parquet")], retries=1)
def refunds():
    return 3


def report():
    return "reported"


with DAG("assets_producer", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
    PythonOperator(task_id="export", python_callable=export, outlets=[orders]) >> refunds()

with DAG("assets_consumer", schedule=[orders], start_date=pendulum.datetime(2024, 1, 1)):
    PythonOperator(task_id="report", python_callable=report)
'''


async def _asset_events(since: str) -> list[tuple[str, str]]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        for _ in range(40):  # events reach the API asynchronously
            response = await client._client.post(
                "/events/filter",
                json={"filter": {"event": {"prefix": ["prefect.asset.materialization"]}, "occurred": {"since": since}}},
            )
            response.raise_for_status()
            events = response.json()["events"]
            if len(events) >= 2:
                break
            await asyncio.sleep(0.5)
    return sorted((e["event"], e["resource"]["prefect.resource.id"]) for e in events)


def test_outlets_materialize_the_assets_airflow_records(prefect_server, tmp_path) -> None:
    import datetime as dt

    from converters import convert_file

    dag_file = tmp_path / "dags" / "assets_pair.py"
    dag_file.parent.mkdir()
    dag_file.write_text(DAG_SOURCE)
    truth = dag_truth(dag_file, "assets_producer")
    assert {t: v["state"] for t, v in truth["tasks"].items()} == {"export": "success", "refunds": "success"}
    airflow_assets = sorted(uri for _, uri in truth["asset_events"])
    assert airflow_assets == ["s3://shop/orders.parquet", "s3://shop/refunds.parquet"], truth["asset_events"]

    converted = convert_file(str(dag_file))
    assert converted.status == "converted", converted.findings
    assert "airflow" not in converted.output  # neither Airflow nor airflow_interop
    assert not [f for f in converted.findings if f.code in ("IX401", "IX403", "IX110")], converted.findings
    target = tmp_path / "flows" / "assets_pair.py"
    target.parent.mkdir()
    target.write_text(converted.output)
    spec = importlib.util.spec_from_file_location("assets_pair_flow", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    since = dt.datetime.now(dt.timezone.utc).isoformat()
    assert module.assets_producer() == {"export": "written", "refunds": 3}
    events = asyncio.run(_asset_events(since))
    assert events == [("prefect.asset.materialization.succeeded", uri) for uri in airflow_assets]

    # the consumer's deployment runs on the producer's event for its asset, as Airflow's DAG does
    facts = {d.dag_id: d.report()["deployment"] for d in converted.dags}
    assert facts["assets_consumer"]["schedules"] == []
    (trigger,) = facts["assets_consumer"]["triggers"]
    assert trigger["expect"] == [events[0][0]] and trigger["match"] == {"prefect.resource.id": "s3://shop/orders.parquet"}
    assert "triggers=[DeploymentEventTrigger(expect={'prefect.asset.materialization.succeeded'}, " \
        "match={'prefect.resource.id': 's3://shop/orders.parquet'})]" in converted.output
    json.dumps(facts)  # the ledger's deployment facts stay JSON
    # the serve block's trigger is one Prefect builds, on the same event and key
    from prefect.events import DeploymentEventTrigger

    source = converted.output.split("triggers=", 1)[1].split("]),", 1)[0] + "]"
    (built,) = eval(source, {"DeploymentEventTrigger": DeploymentEventTrigger})  # noqa: S307 - the converter's own text
    assert built.expect == {"prefect.asset.materialization.succeeded"}
    assert built.match.model_dump() == {"prefect.resource.id": "s3://shop/orders.parquet"}
