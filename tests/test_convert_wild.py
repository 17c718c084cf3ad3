"""Constructs seen in public DAG repositories, each as a minimal inline source.

The before/after fixtures in ``tests/fixtures/convert/`` hold the cases whose whole output is
worth reviewing; these tests pin a status, a finding or an edge set.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from converters import convert_source

REPO = Path(__file__).resolve().parent.parent
BASH_DAG_IMPORTS = "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"


def _coded_messages(result, code: str) -> list[str]:  # noqa: ANN001
    return [f.message for f in result.findings if f.code == code]


def _coded(result, code: str) -> list[tuple[str, int]]:  # noqa: ANN001
    """(code, line) of the result's findings with that code."""
    return [(f.code, f.line) for f in result.findings if f.code == code]


def test_dag_decorator_inside_a_loop_is_a_factory() -> None:
    """``@dag`` on a function defined in a loop makes one DAG per item: IX003 at the decorated function."""
    source = (
        "from datetime import datetime\n"
        "from airflow.decorators import dag, task\n"
        "\n"
        "for site in ['a', 'b']:\n"
        "    @dag(dag_id=f'download_{site}', start_date=datetime(2024, 1, 1))\n"
        "    def download():\n"
        "        @task\n"
        "        def get():\n"
        "            return site\n"
        "        get()\n"
        "    download()\n"
    )
    result = convert_source(source, "factory.py")
    assert result.status == "failed"
    assert [(f.code, f.line) for f in result.findings] == [("IX003", 5)]
    assert result.output == source


def test_dag_decorator_at_top_level_is_not_a_factory() -> None:
    source = (
        "from datetime import datetime\n"
        "from airflow.decorators import dag, task\n"
        "\n"
        "@dag(dag_id='top', start_date=datetime(2024, 1, 1))\n"
        "def top():\n"
        "    @task\n"
        "    def get():\n"
        "        return 1\n"
        "    get()\n"
        "\n"
        "top()\n"
    )
    assert convert_source(source, "top.py").status == "converted"


def test_dag_entered_twice_with_with_blocks_keeps_both_blocks_tasks() -> None:
    """``dag = DAG(...)`` then two ``with dag:`` blocks, wired across them."""
    source = (
        BASH_DAG_IMPORTS
        + "dag = DAG('twice', schedule=None)\n"
        "with dag:\n"
        "    a = BashOperator(task_id='a', bash_command='echo a')\n"
        "with dag:\n"
        "    b = BashOperator(task_id='b', bash_command='echo b')\n"
        "a >> b\n"
    )
    result = convert_source(source, "twice.py")
    assert result.status == "converted"
    assert result.dags[0].edge_set() == [("a", "b")]
    assert "with dag" not in result.output


def test_append_to_a_list_that_holds_other_values_is_left_alone() -> None:
    """``names.append(...)`` on a list of strings is ordinary code, not task wiring."""
    source = (
        BASH_DAG_IMPORTS
        + "with DAG('names', schedule=None) as dag:\n"
        "    seen = []\n"
        "    for n in ['x', 'y']:\n"
        "        seen.append(n)\n"
        "        BashOperator(task_id=n, bash_command='echo ' + n)\n"
    )
    result = convert_source(source, "names.py")
    assert result.status == "converted"
    assert sorted(result.dags[0].tasks) == ["x", "y"]
    compile(result.output, "names.py", "exec")


def test_corpus_sweep_counts_a_folder(tmp_path: Path) -> None:
    """benchmarks/convert_corpus.py classifies every file of a folder and writes the JSON rows."""
    (tmp_path / "ok.py").write_text(
        "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
        "with DAG('ok', schedule=None) as dag:\n    BashOperator(task_id='t', bash_command='echo')\n"
    )
    (tmp_path / "helper.py").write_text("X = 1\n")
    (tmp_path / "broken.py").write_text("def f(:\n")
    out = tmp_path / "sweep.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "convert_corpus.py"), str(tmp_path), "--json", str(out), "--list", "failed"],
        capture_output=True, text=True, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(out.read_text())["summary"]
    assert (summary["files"], summary["converted"], summary["skipped"], summary["failed"], summary["crash"]) == (3, 1, 1, 1, 0)
    assert summary["non-compiling"] == 0 and summary["non-idempotent"] == 0
    assert "failed: " in proc.stdout and "broken.py: IX001" in proc.stdout


def test_context_dag_id_is_not_rewritten_over_an_existing_parameter() -> None:
    """``def f(dag_id=None, **context): context["dag"].dag_id``: the name is taken, so the
    object stays marked (IX202) instead of being silently bound to the flow's dag_id."""
    source = (
        "from airflow import DAG\n"
        "from airflow.operators.python import PythonOperator\n"
        "def own(dag_id=None, **context):\n"
        "    return context['dag'].dag_id\n"
        "with DAG('own_param', schedule=None) as dag:\n"
        "    PythonOperator(task_id='own', python_callable=own)\n"
    )
    result = convert_source(source, "own.py")
    assert result.status == "partial"
    assert {f.code for f in result.findings} >= {"IX202"}
    assert "TODO(IX202)" in result.output


def test_helper_given_the_dag_object_is_marked_and_its_wiring_reported() -> None:
    """``x = make_task('name', dag)`` builds a task the converter cannot see: the statement and
    the edge to it are reported (IX101, IX107) and the DAG is refused (IX109), as its ledger
    would otherwise list fewer tasks than Airflow builds."""
    source = (
        "from airflow.models import DAG\n"
        "from airflow.operators.bash import BashOperator\n"
        "from helpers import make_task\n"
        "dag = DAG(dag_id='helper_made', schedule=None)\n"
        "a = BashOperator(task_id='a', bash_command='echo a', dag=dag)\n"
        "b = make_task('b', dag)\n"
        "b.set_upstream(a)\n"
    )
    result = convert_source(source, "helper_made.py")
    assert result.status == "failed" and not result.error
    codes = sorted((f.code, f.line) for f in result.findings if f.code in ("IX101", "IX107", "IX109"))
    assert codes == [("IX101", 6), ("IX107", 7), ("IX109", 4)]
    assert "statement reads the DAG object `dag`" in _coded_messages(result, "IX101")[0]
    assert result.output == source  # nothing half-converted is written
    assert result.report()["dags"] == []


def test_unknown_name_wired_to_a_task_is_reported() -> None:
    """``a >> IMPORTED_TASK`` (a name from a star import) is IX107, not a silently lost edge."""
    source = (
        BASH_DAG_IMPORTS
        + "from jobs import *\n"
        "with DAG('star', schedule=None) as dag:\n"
        "    a = BashOperator(task_id='a', bash_command='echo a')\n"
        "    a >> LOAD_JOB\n"
    )
    result = convert_source(source, "star.py")
    assert _coded(result, "IX107") == [("IX107", 6)]
    assert _coded(result, "IX109") == [("IX109", 4)]
    assert result.status == "failed"


def test_statement_kept_from_an_unrolled_loop_gets_its_loop_variable() -> None:
    """A loop is unrolled into the flow; a statement kept from its body that reads the loop
    variable is preceded by that iteration's value, so the flow never reads an undefined name."""
    source = (
        BASH_DAG_IMPORTS
        + "import logging\n"
        "with DAG('loop_log', schedule=None) as dag:\n"
        "    for n in [1, 2]:\n"
        "        logging.info('making %s', n)\n"
        "        BashOperator(task_id=f't{n}', bash_command='echo')\n"
    )
    result = convert_source(source, "loop_log.py")
    body = result.output.split("def loop_log(")[1]
    assert "n = 1\n    logging.info('making %s', n)\n    n = 2\n    logging.info('making %s', n)" in body
    compile(result.output, "loop_log.py", "exec")


def test_operator_arguments_spread_from_an_unknown_dict_are_reported() -> None:
    """``Op(task_id="t", **make_args())``: the spread values cannot be read statically; the
    task is converted from its explicit arguments and the spread is IX101, never read as a
    positional argument."""
    source = (
        BASH_DAG_IMPORTS
        + "from settings import make_args\n"
        "with DAG('spread', schedule=None) as dag:\n"
        "    BashOperator(task_id='t', bash_command='echo t', **make_args())\n"
    )
    result = convert_source(source, "spread.py")
    assert _coded(result, "IX101") == [("IX101", 5)]
    assert "make_args()" in next(f.message for f in result.findings if f.code == "IX101")
    assert "['bash', '-c', 'echo t']" in result.output


def test_dag_arguments_spread_from_an_unknown_dict_are_refused_with_the_reason() -> None:
    source = (
        "from airflow import DAG\n"
        "from settings import DAG_ARGS\n"
        "with DAG(**DAG_ARGS) as dag:\n"
        "    pass\n"
    )
    result = convert_source(source, "spread_dag.py")
    assert result.status == "failed"
    assert [(f.code, f.line) for f in result.findings] == [("IX003", 3)]
    assert "**DAG_ARGS" in result.findings[0].message


def test_object_built_with_dag_keyword_but_no_task_is_kept_with_a_marker() -> None:
    """``group = HelperGroup(dag=dag, ...)`` is not an operator, but it is given the DAG: it may
    build tasks the converter cannot list, so the DAG is refused (IX101 at the line, IX109)."""
    source = (
        "from airflow.models import DAG\n"
        "from airflow.operators.bash import BashOperator\n"
        "from helpers import HelperGroup\n"
        "dag = DAG(dag_id='grouped', schedule=None)\n"
        "a = BashOperator(task_id='a', bash_command='echo a', dag=dag)\n"
        "group = HelperGroup(dag=dag, name='g')\n"
        "parts = group.build()\n"
    )
    result = convert_source(source, "grouped.py")
    assert _coded(result, "IX101") == [("IX101", 6)]
    assert _coded(result, "IX109") == [("IX109", 4)]
    assert result.status == "failed"


def test_dag_attribute_set_at_module_level_is_dropped_with_a_note() -> None:
    """``dag = DAG(...)`` then ``dag.doc_md = __doc__``: an IX401 note, and no statement left that
    reads the DAG object (it would fail at import: the flow replaces it)."""
    source = (
        '"""Report DAG."""\n'
        + BASH_DAG_IMPORTS
        + "dag = DAG('documented', schedule=None)\n"
        "dag.doc_md = __doc__\n"
        "t = BashOperator(task_id='t', bash_command='echo', dag=dag)\n"
    )
    result = convert_source(source, "documented.py")
    assert result.status == "converted"
    assert ("IX401", 5) in _coded(result, "IX401")
    assert "dag.doc_md" not in result.output


def test_shimmed_sql_operator_keeps_working_under_its_airflow3_class() -> None:
    """PostgresOperator (1.10 and provider paths) moves to common.sql's SQLExecuteQueryOperator;
    its connection argument is renamed with it, so real Airflow 3 accepts the generated call."""
    import ast

    source = (
        "from datetime import datetime\nfrom airflow import DAG\n"
        "from airflow.providers.postgres.operators.postgres import PostgresOperator\n"
        "from airflow.operators.postgres_operator import PostgresOperator as OldPg\n\n"
        "with DAG('pg', start_date=datetime(2024, 1, 1), schedule=None) as dag:\n"
        "    PostgresOperator(task_id='q', postgres_conn_id='wh', sql='select 1') >> OldPg(task_id='q2', postgres_conn_id='wh', sql='select 2')\n"
    )
    result = convert_source(source, "pg.py")
    assert "postgres_conn_id" not in result.output
    namespace: dict = {}
    tree = ast.parse(result.output)
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("airflow")]
    exec(compile(ast.Module(body=imports, type_ignores=[]), "imports", "exec"), namespace)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") in ("PostgresOperator", "OldPg")]
    assert len(calls) == 2
    for call in calls:  # Airflow 3 rejects unknown arguments when the operator is built
        operator = eval(compile(ast.Expression(call), "call", "eval"), namespace)
        assert type(operator).__name__ == "SQLExecuteQueryOperator" and operator.conn_id == "wh"


def test_task_id_of_another_task_is_no_data_input() -> None:
    """``op_kwargs={"ids": [t2.task_id]}`` reads t2's id, not its result: no data edge t2 -> branch,
    so the branch is submitted before the tasks it chooses (was a false cycle, IX108, and the
    flow read ``branch_future`` before it existed)."""
    source = (
        "from airflow import DAG\n"
        "from airflow.operators.python import BranchPythonOperator, PythonOperator\n"
        "def dump():\n    pass\n"
        "def pick(task_ids):\n    return task_ids[0]\n"
        "with DAG('ids', schedule=None) as dag:\n"
        "    t2 = PythonOperator(task_id='task_2', python_callable=dump)\n"
        "    t3 = PythonOperator(task_id='task_3', python_callable=dump)\n"
        "    branch = BranchPythonOperator(task_id='branch', python_callable=pick,\n"
        "                                  op_kwargs={'task_ids': [t2.task_id, t3.task_id]})\n"
        "    branch >> [t2, t3]\n"
    )
    result = convert_source(source, "ids.py")
    assert "IX108" not in [f.code for f in result.findings]
    lines = result.output.splitlines()
    defined = next(i for i, line in enumerate(lines) if line.strip().startswith("branch_future = "))
    first_use = next(i for i, line in enumerate(lines) if "branch_future" in line and not line.strip().startswith("branch_future = "))
    assert defined < first_use
    assert "task_ids=['task_2', 'task_3']" in result.output


def test_manual_task_the_flow_does_not_run_keeps_its_marker_in_the_flow() -> None:
    """A SubDagOperator task is left to a hand (IX102): its marker is in the flow body, naming
    the task, not only in the ledger."""
    source = (
        "from airflow import DAG\n"
        "from airflow.operators.bash import BashOperator\n"
        "from airflow.operators.subdag import SubDagOperator\n"
        "from team.subdags import make_subdag\n"
        "with DAG('parent', schedule=None) as dag:\n"
        "    a = BashOperator(task_id='a', bash_command='echo a')\n"
        "    sub = SubDagOperator(task_id='sub', subdag=make_subdag('parent', 'sub'))\n"
        "    a >> sub\n"
    )
    result = convert_source(source, "parent.py")
    assert result.status == "partial"
    markers = [line.strip() for line in result.output.splitlines() if "TODO(IX102)" in line]
    assert markers and "[task 'sub', line 7]" in markers[0]
    compile(result.output, "parent.py", "exec")


def test_context_conf_is_airflows_configuration_not_the_run_conf() -> None:
    """``kwargs["conf"]`` in a callable is Airflow's configuration (``airflow.configuration.conf``
    in Airflow 2, removed in 3), not ``dag_run.conf``: marked IX202, never bound to the run's conf."""
    source = (
        "from airflow import DAG\n"
        "from airflow.operators.python import PythonOperator\n"
        "def show(**kwargs):\n"
        "    return kwargs['conf'].get('core', 'dags_folder')\n"
        "with DAG('confs', schedule=None) as dag:\n"
        "    PythonOperator(task_id='show', python_callable=show)\n"
    )
    result = convert_source(source, "confs.py")
    assert any(f.code == "IX202" and f.manual for f in result.findings)
    assert "TODO(IX202): context key 'conf'" in result.output
    assert "ctx.conf" not in result.output
