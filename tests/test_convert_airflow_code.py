"""A converted task whose own code calls Airflow (a hook through a helper of the file) is
``shimmed`` in the ledger (IX115), and runs: the DAG on real Airflow 3.3 (the in-process runner)
and its converted flow on a real Prefect server, through ``interop compare``, read the same
connection from ``AIRFLOW_CONN_<ID>``.
"""

from __future__ import annotations

import pytest

from converters import convert_source

SOURCE = (
    "import pendulum\n"
    "from airflow.sdk import DAG, task, BaseHook\n"
    "from airflow.providers.standard.operators.python import PythonOperator\n\n"
    "def _host(name):\n"
    "    return BaseHook.get_connection(name).host\n\n"
    "@task\n"
    "def read_host():\n"
    "    return _host('warehouse')\n\n"
    "def plain():\n"
    "    return 1\n\n"
    "with DAG('airflow_code', schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n"
    "    a = read_host()\n"
    "    b = PythonOperator(task_id='b', python_callable=plain)\n"
    "    a >> b\n"
)


def test_a_task_reaching_an_airflow_hook_is_shimmed_with_its_module() -> None:
    result = convert_source(SOURCE, "airflow_code.py")
    (dag,) = result.report()["dags"]
    assert {t["task_id"]: t["disposition"] for t in dag["tasks"]} == {"read_host": "shimmed", "b": "converted"}
    (ix115,) = [f for f in result.findings if f.code == "IX115"]
    assert ix115.line == 16 and "`BaseHook` (airflow.sdk)" in ix115.message and not ix115.manual
    assert dag["deployment"]["shimmed_modules"] == ["airflow.sdk"]
    # the code is kept as written, the import with its IX110 marker
    assert "return BaseHook.get_connection(name).host" in result.output
    assert "# interop: TODO(IX110)" in result.output


def test_a_helper_chain_and_a_module_value_carry_the_reach() -> None:
    """Reach goes through the file's functions, classes and module-level values, not only the
    task's own body; a task reading none of them stays converted."""
    source = (
        "import pendulum\n"
        "from airflow.sdk import DAG, task\n"
        "from airflow.providers.postgres.hooks.postgres import PostgresHook\n\n"
        "HOOK = PostgresHook(postgres_conn_id='db')\n\n"
        "class Loader:\n"
        "    def rows(self):\n"
        "        return HOOK.get_records('select 1')\n\n"
        "def load():\n"
        "    return Loader().rows()\n\n"
        "@task\n"
        "def extract():\n"
        "    return load()\n\n"
        "@task\n"
        "def unrelated():\n"
        "    return 2\n\n"
        "with DAG('reach', schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n"
        "    extract() >> unrelated()\n"
    )
    result = convert_source(source, "reach.py")
    (dag,) = result.report()["dags"]
    assert {t["task_id"]: t["disposition"] for t in dag["tasks"]} == {"extract": "shimmed", "unrelated": "converted"}
    assert dag["deployment"]["shimmed_modules"] == ["airflow.providers.postgres.hooks.postgres"]


@pytest.mark.airflow
@pytest.mark.prefect
def test_the_shimmed_hook_task_runs_as_on_airflow(prefect_server, tmp_path, monkeypatch) -> None:
    from interop.compare import compare_file

    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", "postgresql://user:secret@warehouse.internal:5432/db")
    dag = tmp_path / "airflow_code.py"
    dag.write_text(SOURCE)
    (c,) = compare_file(dag, logical_date="2024-01-15")
    assert c.error is None and c.equivalent, c.differences()
    assert c.airflow.tasks["read_host"].state == c.prefect.tasks["read_host"].state == "success"
    assert c.airflow.tasks["read_host"].values == c.prefect.tasks["read_host"].values == {"return_value": "warehouse.internal"}


def test_a_team_package_named_airflow_something_is_not_airflow() -> None:
    """``airflow_examples.config`` is the team's package (mortenoh's DAGs import their settings so):
    its names are kept as written, with no IX110 marker and no task marked shimmed; the file was
    `partial` with IX110 on 20 corpus files before."""
    source = (
        "import pendulum\n"
        "from airflow.sdk import DAG, task\n"
        "from airflow_examples.config import OUTPUT_BASE, timestamp\n\n"
        "@task\n"
        "def where():\n"
        "    return f'{timestamp()} {OUTPUT_BASE}'\n\n"
        "with DAG('team_package', schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n"
        "    where()\n"
    )
    result = convert_source(source, "team_package.py")
    assert result.status == "converted", [(f.code, f.message) for f in result.findings]
    assert not {f.code for f in result.findings} & {"IX110", "IX115"}
    assert "from airflow_examples.config import OUTPUT_BASE, timestamp\n" in result.output
    assert [t["disposition"] for t in result.report()["dags"][0]["tasks"]] == ["converted"]
