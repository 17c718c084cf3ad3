"""An Airflow Variable key and the Prefect Variable ``interop import-variables`` makes of it are
one name to a converted flow: Prefect names are lowercase, so ``MY_KEY`` is stored as ``my_key``,
and ``Variable.get("MY_KEY")`` in converted code reads ``Variable.get("my_key")`` (Prefect's own,
or the runtime stand-in where a file keeps it), on a real Prefect API."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.prefect]


def test_a_key_imported_under_its_prefect_name_is_found_as_written(prefect_server, monkeypatch) -> None:
    from prefect.variables import Variable as PrefectVariable

    from interop.deploy.variables import prefect_name
    from airflow_interop.runtime import Variable

    monkeypatch.delenv("AIRFLOW_VAR_WAREHOUSE_URL", raising=False)
    assert prefect_name("Warehouse.URL") == "warehouse_url"
    PrefectVariable.set(prefect_name("Warehouse.URL"), '{"host": "db"}', overwrite=True)
    assert Variable.get("Warehouse.URL", deserialize_json=True) == {"host": "db"}
    assert Variable.get("warehouse_url") == '{"host": "db"}'
    Variable.set("Team_Key", "x")
    assert PrefectVariable.get("team_key") == "x"
    with pytest.raises(KeyError):
        Variable.get("NOT_THERE")
    assert Variable.get("NOT_THERE", default_var=3) == 3


# --------------------------------------------------------------------------- the pair, end to end
def _converted_flow(target: Path, output: str):  # noqa: ANN202 - a prefect Flow
    """The flow of a converted file, written to ``target`` and imported from there."""
    from prefect import Flow

    target.write_text(output)
    spec = importlib.util.spec_from_file_location(target.stem, target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (flow,) = [f for f in vars(module).values() if isinstance(f, Flow)]
    return flow


PAIR_DAG = Path(__file__).parent / "fixtures" / "variables" / "variables_pair.py"
#: the Airflow Variables, as Airflow's environment backend reads them and as `airflow variables
#: export` writes them (a JSON value decoded in the file)
AIRFLOW_VARIABLES = {
    "DATA_BUCKET": "s3://bucket",
    "Warehouse.Config": '{"host": "db", "port": 5432}',
    "Prod_TABLE": "events",
}


def test_converted_flow_reads_what_airflow_read_after_import_variables(prefect_server, tmp_path, monkeypatch) -> None:
    """The DAG runs on Airflow 3.3 (the in-process runner, ``airflow dags test``'s semantics) with
    its Variables set; the same Variables go into a real Prefect API through ``interop
    import-variables --from-file`` (an ``airflow variables export`` file); the converted flow
    reads Prefect Variables only, and every task gives Airflow's value: a JSON read, defaults (a
    JSON default undecoded), a key computed at run time, a module-level read, set/get/delete.
    A key set nowhere: Airflow's task fails, the flow's reads None, and the ledger says so (IX112)."""
    from click.testing import CliRunner

    from converters import convert_file
    from interop.commands.deploy import import_variables
    from airflow_interop.runner import run_dag

    # Airflow
    airflow_out = tmp_path / "airflow"
    airflow_out.mkdir()
    monkeypatch.setenv("VARIABLES_OUT", str(airflow_out))
    for key, value in AIRFLOW_VARIABLES.items():
        monkeypatch.setenv(f"AIRFLOW_VAR_{key.upper()}", value)
    truth = run_dag(str(PAIR_DAG), "variables_pair", logical_date="2024-01-15T00:00:00+00:00", echo=False).to_json()
    for key in AIRFLOW_VARIABLES:
        monkeypatch.delenv(f"AIRFLOW_VAR_{key.upper()}")
    states = {task_id: t["state"] for task_id, t in truth["tasks"].items()}
    assert states == {**{t: "success" for t in states}, "missing": "failed"}, states

    # the same Variables into Prefect
    export = tmp_path / "variables.json"
    export.write_text(json.dumps({k: json.loads(v) if v.startswith("{") else v for k, v in AIRFLOW_VARIABLES.items()}))
    done = CliRunner().invoke(import_variables, ["--from-file", str(export)])
    assert done.exit_code == 0, done.output
    assert "imported Warehouse.Config -> Prefect Variable warehouse_config" in done.output

    # the converted flow
    converted = convert_file(str(PAIR_DAG))
    assert "from prefect.variables import Variable" in converted.output
    assert "airflow" not in converted.output  # neither Airflow nor airflow_interop
    ix112 = [f for f in converted.findings if f.code == "IX112"]
    assert len(ix112) == 1 and "'never_set'" in ix112[0].message and not ix112[0].manual
    assert converted.status == "converted", converted.findings
    flow_out = tmp_path / "prefect"
    flow_out.mkdir()
    monkeypatch.setenv("VARIABLES_OUT", str(flow_out))
    flow = _converted_flow(tmp_path / "converted_variables_pair.py", converted.output)
    state = flow(logical_date="2024-01-15T00:00:00+00:00", return_state=True)
    assert state.is_completed(), state

    flow_values = {p.stem: json.loads(p.read_text()) for p in flow_out.glob("*.json")}
    airflow_values = {p.stem: json.loads(p.read_text()) for p in airflow_out.glob("*.json")}
    assert set(airflow_values) == set(states) - {"missing"}
    for task_id, value in airflow_values.items():
        assert flow_values[task_id] == value, task_id
    assert airflow_values["read_json"] == {"host": "db", "port": 5432}
    assert airflow_values["read_defaults"] == ["fallback", {"a": [1]}, None]
    assert flow_values["missing"] is None  # Airflow raised; IX112 above says so


TRY_DAG = '''
import pendulum
from airflow.sdk import DAG, task
from airflow.models import Variable


@task
def missing():
    try:
        return Variable.get("interop_try_never_set")
    except Exception:
        return "fallback"


@task
def present():
    try:
        return Variable.get("Interop_Try_Present", deserialize_json=True)["a"]
    except KeyError:
        return "missing"


with DAG("variables_try_read", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
    missing() >> present()
'''


def test_a_read_inside_try_raises_keyerror_as_airflow(prefect_server, tmp_path, monkeypatch) -> None:
    """``Variable.get(key)`` without a default inside ``try``: Airflow raises for a missing
    Variable and the ``except`` takes it. The converted file reads Prefect Variables through a
    function of its own that raises ``KeyError`` (Airflow 2's exception, and the runtime
    stand-in's; Airflow 3.3 raises its ``AirflowRuntimeError``, VARIABLE_NOT_FOUND, which an
    ``except KeyError`` does not take), with no ``shims`` and no IX113, and each task returns what
    Airflow's returned (a missing key, a JSON read that is set)."""
    from prefect.variables import Variable as PrefectVariable

    from converters import convert_file
    from airflow_interop.runner import run_dag

    dag_file = tmp_path / "variables_try_read.py"
    dag_file.write_text(TRY_DAG)
    monkeypatch.setenv("AIRFLOW_VAR_INTEROP_TRY_PRESENT", '{"a": 1}')
    truth = run_dag(str(dag_file), "variables_try_read", logical_date="2024-01-15T00:00:00+00:00", echo=False).to_json()
    monkeypatch.delenv("AIRFLOW_VAR_INTEROP_TRY_PRESENT")
    PrefectVariable.set("interop_try_present", '{"a": 1}', overwrite=True)  # as import-variables stores it

    converted = convert_file(str(dag_file))
    assert "airflow" not in converted.output, converted.output  # neither Airflow nor airflow_interop
    assert {f.code for f in converted.findings} & {"IX112", "IX113"} == set()
    flow = _converted_flow(tmp_path / "converted_variables_try_read.py", converted.output)
    result = flow(logical_date="2024-01-15T00:00:00+00:00")
    airflow_values = {t: v["xcoms"]["return_value"] for t, v in truth["tasks"].items()}
    assert airflow_values == {"missing": "fallback", "present": 1}
    assert result == airflow_values


COPIED_DAG = '''
import pendulum
from airflow.sdk import Variable
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator


def greet(bucket, table):
    return f"{table}@{bucket}"


with DAG_CONTEXT:
    dump = BashOperator(task_id="dump", bash_command=f"echo dump {Variable.get('copied_bucket')}")
    load = PythonOperator(
        task_id="load", python_callable=greet,
        op_kwargs={"bucket": Variable.get("copied_bucket"), "table": Variable.get("copied_table", default="events")},
    )
    dump >> load
'''.replace("DAG_CONTEXT", 'DAG("variables_copied", schedule=None, start_date=pendulum.datetime(2024, 1, 1))').replace(
    "import pendulum", "import pendulum\nfrom airflow.sdk import DAG")


def test_reads_copied_into_the_flow_are_prefect_reads(prefect_server, tmp_path, monkeypatch) -> None:
    """``Variable.get`` in operator arguments (Airflow reads it when it parses the file; the flow
    copies the expression into its own body): where Prefect's call is the same text (a key that
    already is a Prefect name, ``default=``), the file reads Prefect Variables, no stand-in, no
    IX113, and each task gives Airflow 3.3's value."""
    from prefect.variables import Variable as PrefectVariable

    from converters import convert_file
    from airflow_interop.runner import run_dag

    dag_file = tmp_path / "variables_copied.py"
    dag_file.write_text(COPIED_DAG)
    monkeypatch.setenv("AIRFLOW_VAR_COPIED_BUCKET", "s3://raw")
    truth = run_dag(str(dag_file), "variables_copied", logical_date="2024-01-15T00:00:00+00:00", echo=False).to_json()
    monkeypatch.delenv("AIRFLOW_VAR_COPIED_BUCKET")
    PrefectVariable.set("copied_bucket", "s3://raw", overwrite=True)

    converted = convert_file(str(dag_file))
    assert "airflow" not in converted.output, converted.output  # neither Airflow nor airflow_interop
    assert "IX113" not in {f.code for f in converted.findings}
    flow = _converted_flow(tmp_path / "converted_variables_copied.py", converted.output)
    result = flow(logical_date="2024-01-15T00:00:00+00:00")
    airflow_values = {t: v["xcoms"].get("return_value") for t, v in truth["tasks"].items()}
    assert airflow_values == {"dump": "dump s3://raw", "load": "events@s3://raw"}
    assert result == airflow_values
