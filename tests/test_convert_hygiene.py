"""Converted code is clean code: it compiles for Python 3.10, reads no name it does not define,
imports nothing it does not use, and every Airflow import it writes is one the DAG wrote or one
that Airflow 3 has (the moved-names table, nothing guessed).

Before/after pairs (pyupgrade style): each ``before`` is a DAG file, each check is on what the
converter makes of it; ruff (the dev extra) is the judge of F821/F401, as it is for a team's CI.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from converters import convert_source


def _ruff() -> str:
    local = Path(sys.executable).parent / "ruff"
    found = str(local) if local.exists() else shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    return found


def ruff_findings(source: str, tmp_path: Path, name: str = "flow.py") -> list[str]:
    """``CODE name`` for every F821/F401 ruff reports in ``source``."""
    target = tmp_path / name
    target.write_text(source)
    proc = subprocess.run(
        [_ruff(), "check", "--isolated", "--no-cache", "--select", "F821,F401", "--output-format", "json", "--exit-zero", str(target)],
        capture_output=True, text=True, check=True,
    )
    return [f"{item['code']} {item['message']}" for item in json.loads(proc.stdout)]


def convert(before: str) -> str:
    result = convert_source(textwrap.dedent(before), "dag.py")
    assert result.status in ("converted", "partial"), result.findings
    ast.parse(result.output, feature_version=(3, 10))  # compiles for Python 3.10
    return result.output


# --------------------------------------------------------------------------- imports are scheduled
UNUSED_AFTER_CONVERSION = [
    pytest.param(
        """
        from datetime import datetime, timedelta

        import pendulum
        from airflow import DAG
        from airflow.operators.bash import BashOperator

        with DAG(
            "dates",
            start_date=datetime(2024, 1, 1),
            dagrun_timeout=pendulum.duration(hours=1),
            default_args={"retry_delay": timedelta(minutes=1)},
        ) as dag:
            BashOperator(task_id="hello", bash_command="echo hi")
        """,
        ["datetime", "timedelta", "pendulum"],
        id="start-date-and-default-args-imports-dropped",
    ),
]


@pytest.mark.parametrize("before, gone", UNUSED_AFTER_CONVERSION)
def test_imports_only_the_converted_dag_read_are_dropped(before: str, gone: list[str], tmp_path: Path) -> None:
    after = convert(before)
    assert ruff_findings(after, tmp_path) == []
    imported = {a.asname or a.name for n in ast.walk(ast.parse(after)) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert not imported & set(gone)


def test_a_dag_level_callback_import_stays_for_the_flow_hook(tmp_path: Path) -> None:
    """A DAG-level ``on_failure_callback`` becomes the flow's ``on_failure`` hook: its import is read."""
    after = convert(
        """
        from airflow import DAG
        from airflow.operators.python import PythonOperator
        from team.alerts import on_dag_failure

        def work():
            return 1

        with DAG("callbacks", on_failure_callback=on_dag_failure) as dag:
            PythonOperator(task_id="work", python_callable=work)
        """
    )
    assert ruff_findings(after, tmp_path) == []
    assert "from team.alerts import on_dag_failure" in after
    assert "on_failure=[flow_callback(on_dag_failure)]" in after
    assert "airflow_interop" not in after


def test_an_import_the_dag_did_not_read_either_stays(tmp_path: Path) -> None:
    """Not the converter's to drop: a side effect, a re-export, an unused import already there."""
    after = convert(
        """
        import os
        import team.plugins  # registers the team's hooks
        from airflow import DAG
        from airflow.operators.bash import BashOperator

        with DAG("side_effects") as dag:
            BashOperator(task_id="hello", bash_command="echo hi")
        """
    )
    assert "import os\n" in after and "import team.plugins  # registers the team's hooks\n" in after
    assert sorted(ruff_findings(after, tmp_path)) == ["F401 `os` imported but unused", "F401 `team.plugins` imported but unused"]


def test_generated_names_are_imported_only_when_read(tmp_path: Path) -> None:
    """A rule that declares ``unmapped`` / ``was_skipped`` it ends up not writing imports nothing."""
    after = convert(
        """
        from airflow import DAG
        from airflow.providers.standard.sensors.filesystem import FileSensor

        with DAG("sensing") as dag:
            FileSensor(task_id="wait", filepath="/data/in.csv", soft_fail=True)
        """
    )
    assert ruff_findings(after, tmp_path) == []
    assert "unmapped" not in after and "was_skipped" not in after


def test_scheduled_imports_come_before_the_first_generated_statement(tmp_path: Path) -> None:
    """An import written after the DAG does not carry the Prefect imports after the flow."""
    after = convert(
        """
        from airflow import DAG
        from airflow.operators.bash import BashOperator

        with DAG("late_import") as dag:
            BashOperator(task_id="hello", bash_command="echo hi")

        from types import SimpleNamespace
        CONFIG = SimpleNamespace(x=1)
        """
    )
    assert ruff_findings(after, tmp_path) == []
    assert after.index("from prefect import flow, task") < after.index("@task")


# --------------------------------------------------------------------------- Airflow imports: the table or as written
def test_airflow_imports_move_only_where_the_table_says(tmp_path: Path) -> None:
    """``from airflow import models`` is no ``airflow.sdk`` name: it stays as written (and is
    marked, the flow still needs Airflow); ``Variable`` is Prefect's."""
    after = convert(
        """
        from airflow import DAG, models
        from airflow.models import DagRun, Variable
        from airflow.operators.python import PythonOperator

        def count_runs():
            Variable.get("x", default_var=None)
            return len(models.DagBag().dag_ids) + len(DagRun.find(dag_id="x"))

        with DAG("counting") as dag:
            PythonOperator(task_id="count", python_callable=count_runs)
        """
    )
    assert ruff_findings(after, tmp_path) == []
    tree = ast.parse(after)
    froms = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert ("airflow", "models") in froms and ("airflow.models", "DagRun") in froms
    assert ("prefect.variables", "Variable") in froms
    assert not {m for m, _ in froms if m and m.startswith("airflow.sdk")}
    assert "TODO(IX110)" in after


def test_every_airflow_import_written_resolves_under_airflow_3(tmp_path: Path) -> None:
    """A 1.10 DAG: the imports the converter writes exist in the installed Airflow 3."""
    after = convert(
        """
        from airflow.models import DAG
        from airflow.operators.python_operator import PythonOperator
        from airflow.sensors.external_task_sensor import ExternalTaskSensor

        def hello():
            return "hi"

        with DAG("legacy") as dag:
            wait = ExternalTaskSensor(task_id="wait", external_dag_id="other")
            say = PythonOperator(task_id="say", python_callable=hello)
            wait >> say
        """
    )
    assert ruff_findings(after, tmp_path) == []
    for node in ast.walk(ast.parse(after)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("airflow"):
            module = importlib.import_module(node.module)
            assert all(hasattr(module, a.name) for a in node.names), ast.unparse(node)


# --------------------------------------------------------------------------- Python 3.10 and bound names
def test_loop_constants_in_f_strings_compile_for_python_310(tmp_path: Path) -> None:
    """``f"wait_{name}"`` in a loop: the constant is written into the text, not as a quoted
    literal inside the braces (valid only from Python 3.12)."""
    after = convert(
        """
        from airflow import DAG
        from airflow.providers.standard.sensors.filesystem import FileSensor

        with DAG("files") as dag:
            for name in ["yellow", "red"]:
                FileSensor(task_id=f"wait_{name}", filepath=f"/data/{name!r}-{name:>8}.csv")
        """
    )
    assert ruff_findings(after, tmp_path) == []
    assert 'task_id="wait_yellow"' in after and "filepath=\"/data/'red'-     red.csv\"" in after


def test_a_bare_return_in_a_pushing_callable_returns_the_xcoms(tmp_path: Path) -> None:
    after = convert(
        """
        from airflow import DAG
        from airflow.operators.python import PythonOperator

        def push(ti):
            ti.xcom_push(key="count", value=3)
            if ti:
                return
            return 1

        with DAG("pushing") as dag:
            PythonOperator(task_id="push", python_callable=push)
        """
    )
    assert ruff_findings(after, tmp_path) == []
    assert "        return xcom\n" in after


def test_a_task_instance_used_for_more_than_xcom_stays_bound_and_marked(tmp_path: Path) -> None:
    """No dangling ``ti``: the parameter stays (the flow passes nothing), the line is marked."""
    source = """
        from airflow import DAG
        from airflow.operators.python import PythonOperator

        def report(ti):
            print(ti.try_number)

        with DAG("instance") as dag:
            PythonOperator(task_id="report", python_callable=report)
        """
    result = convert_source(textwrap.dedent(source), "dag.py")
    assert result.status == "partial"
    assert ruff_findings(result.output, tmp_path) == []
    assert "def report(*, ti=None):" in result.output
    assert "# interop: TODO(IX203)" in result.output
    assert any(f.code == "IX203" and f.manual for f in result.findings)


def test_a_shimmed_operator_reading_a_name_imported_in_the_dag_body(tmp_path: Path) -> None:
    """The import stays in the flow body; the shimmed task gets the value as a parameter."""
    after = convert(
        """
        from airflow import DAG
        from airflow.providers.standard.sensors.filesystem import FileSensor

        with DAG("late") as dag:
            from posixpath import join
            FileSensor(task_id="wait", filepath=join("/data", "in.csv"))
        """
    )
    assert ruff_findings(after, tmp_path) == []


@pytest.mark.prefect
def test_the_cleaned_flow_runs_on_prefect(tmp_path: Path, prefect_server) -> None:
    """A flow whose imports were scheduled and whose callable returned bare: it imports, runs,
    and returns what the DAG pushed."""
    after = convert(
        """
        from datetime import datetime, timedelta

        from airflow import DAG
        from airflow.operators.python import PythonOperator

        def push(ti):
            ti.xcom_push(key="count", value=3)
            return

        def double(ti):
            return ti.xcom_pull(task_ids="push", key="count") * 2

        with DAG("pushing", start_date=datetime(2024, 1, 1), default_args={"retry_delay": timedelta(seconds=1)}) as dag:
            PythonOperator(task_id="push", python_callable=push) >> PythonOperator(task_id="double", python_callable=double)
        """
    )
    assert ruff_findings(after, tmp_path) == []
    target = tmp_path / "pushing_flow.py"
    target.write_text(after)
    spec = importlib.util.spec_from_file_location(target.stem, target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    results = module.pushing(logical_date="2024-01-15T00:00:00+00:00")
    assert results == {"push": {"count": 3}, "double": 6}


# --------------------------------------------------------------------------- never a silent dangling name
DANGLING = [
    pytest.param(
        """
        from airflow import DAG
        from airflow.operators.bash import BashOperator

        with DAG("documented") as dag:
            t1 = BashOperator(task_id="t1", bash_command="echo 1")
        t1.doc_md = "first task"
        """,
        id="task-variable-read-after-the-dag",
    ),
    pytest.param(
        """
        from airflow import DAG
        from airflow.operators.bash import BashOperator

        dag = DAG("registered")
        BashOperator(task_id="t1", bash_command="echo 1", dag=dag)
        REGISTRY = {"dag": dag}
        """,
        id="dag-object-kept-in-a-registry",
    ),
]


@pytest.mark.parametrize("before", DANGLING)
def test_a_name_the_conversion_leaves_undefined_is_marked(before: str, tmp_path: Path) -> None:
    """Either the output defines every name it reads, or each statement that reads one is
    marked IX111 and the ledger has the manual finding: never a silent dangling name."""
    result = convert_source(textwrap.dedent(before), "dag.py")
    undefined = [f for f in ruff_findings(result.output, tmp_path) if f.startswith("F821")]
    if not undefined:
        return
    assert result.status == "partial"
    assert any(f.code == "IX111" and f.manual for f in result.findings)
    lines = result.output.split("\n")
    for node in ast.walk(ast.parse(result.output)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and f"`{node.id}`" in " ".join(undefined):
            above = [line for line in lines[: node.lineno - 1] if line.strip()][-1]
            assert "# interop: TODO(IX111)" in above, (node.id, node.lineno)


def test_a_callback_defined_after_its_task_is_read_when_the_flow_runs(tmp_path: Path) -> None:
    """``default_args`` names a callback defined below the callable: a decorator on the callable
    would read it before it exists (NameError at import); the call in the flow reads it."""
    after = convert(
        """
        from airflow import DAG
        from airflow.operators.python import PythonOperator

        def work():
            return 1

        def on_failure(context):
            print("failed", context["ti"].task_id)

        with DAG("late_callback", default_args={"on_failure_callback": on_failure}) as dag:
            PythonOperator(task_id="work", python_callable=work)
        """
    )
    assert ruff_findings(after, tmp_path) == []
    assert "work.with_options(on_failure=[task_callback(on_failure)]).submit()" in after


def test_the_dag_variable_passed_to_an_operator_built_at_run_time_is_left_out(tmp_path: Path) -> None:
    """``TriggerDagRunOperator(..., dag=dag).execute(context)`` inside a callable: the DAG object
    is gone in the flow, so ``dag=dag`` is left out (IX114) instead of read undefined (F821)."""
    before = """
        import pendulum
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.python import PythonOperator
        from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

        def fire(**context):
            TriggerDagRunOperator(
                task_id="fire_other",
                trigger_dag_id="other",
                dag=dag
            ).execute(context=context)

        dag = DAG("fires", schedule=None, start_date=pendulum.datetime(2024, 1, 1))
        PythonOperator(task_id="fire", python_callable=fire, dag=dag)
        """
    assert ruff_findings(textwrap.dedent(before), tmp_path, "before.py") == []
    result = convert_source(textwrap.dedent(before), "dag.py")
    assert ruff_findings(result.output, tmp_path) == []
    assert '        trigger_dag_id="other"\n    ).execute(context=context)' in result.output
    assert [f.line for f in result.findings if f.code == "IX114"] == [7]  # the line of `def fire`
