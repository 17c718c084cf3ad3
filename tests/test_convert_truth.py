"""The ledger tells the truth: held against the graph real Airflow 3.3 builds for the same file.

Every task Airflow builds is in the ledger under Airflow's own id and every Airflow edge is in
the ledger's edges; where the converter cannot list them statically, the file is refused
(``failed``, IX109/IX003, nothing written) rather than listed short. The same rule
``../shared/corpus/check_ledger.py`` applies to 1,429 real DAG files.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from converters import convert_source

pytestmark = [pytest.mark.airflow]

_DAGBAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
out = {"errors": {k: str(v)[-400:] for k, v in bag.import_errors.items()}, "dags": {}}
for dag_id, dag in bag.dags.items():
    out["dags"][dag_id] = {
        "tasks": {t.task_id: {"retries": t.retries} for t in dag.tasks},
        "edges": sorted([u, d] for u in dag.task_ids for d in dag.get_task(u).downstream_task_ids),
    }
print(json.dumps(out))
"""


def airflow_graph(folder: Path, name: str, errors_ok: bool = False) -> dict:
    """What Airflow 3.3's DagBag builds for ``folder/name`` (imported in a subprocess)."""
    env = {**os.environ, "AIRFLOW_HOME": str(folder / "airflow_home"), "PYTHONPATH": str(folder)}
    proc = subprocess.run([sys.executable, "-c", _DAGBAG, str(folder / name)], capture_output=True, text=True,
                          env=env, timeout=180, cwd=folder)
    assert proc.returncode == 0, proc.stderr[-2000:]
    graph = json.loads(proc.stdout.strip().splitlines()[-1])
    if errors_ok:
        return graph
    assert not graph["errors"], graph["errors"]
    return graph["dags"]


def _reachable(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    succ: dict[str, set[str]] = {}
    for u, v in edges:
        succ.setdefault(u, set()).add(v)
    out = set()
    for u in list(succ):
        stack, seen = list(succ[u]), set()
        while stack:
            v = stack.pop()
            if v not in seen:
                seen.add(v)
                out.add((u, v))
                stack.extend(succ.get(v, ()))
    return out


def _write(tmp_path: Path, name: str, source: str) -> str:
    text = textwrap.dedent(source).lstrip()
    (tmp_path / name).write_text(text)
    return text


def assert_ledger_equals_airflow(tmp_path: Path, name: str, source: str) -> dict:
    text = _write(tmp_path, name, source)
    truth = airflow_graph(tmp_path, name)
    result = convert_source(text, name)
    assert result.status in ("converted", "partial"), [f.as_dict() for f in result.findings]
    ledger = {d["dag_id"]: d for d in result.report()["dags"]}
    assert set(ledger) == set(truth)
    for dag_id, dag in truth.items():
        assert {t["task_id"] for t in ledger[dag_id]["tasks"]} == set(dag["tasks"]), dag_id
        airflow_edges = {tuple(e) for e in dag["edges"]}
        ledger_edges = {tuple(e) for e in ledger[dag_id]["edges"]}
        assert airflow_edges <= _reachable(ledger_edges), dag_id
        assert ledger_edges <= _reachable(airflow_edges), dag_id
    compile(result.output, name, "exec")
    return {"result": result, "truth": truth}


def assert_refused(tmp_path: Path, name: str, source: str, code: str) -> None:
    text = _write(tmp_path, name, source)
    truth = airflow_graph(tmp_path, name)
    assert truth, "Airflow builds the DAG"
    result = convert_source(text, name)
    assert result.status == "failed" and not result.error
    assert any(f.code == code and f.line > 0 for f in result.findings), [f.as_dict() for f in result.findings]
    assert result.output == text and result.report()["dags"] == []


HEADER = """
    import pendulum
    from airflow.sdk import DAG, task, task_group
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.utils.trigger_rule import TriggerRule
"""


def test_task_group_function_called_in_a_loop(tmp_path: Path) -> None:
    """``@task_group`` called five times: groups ``g``, ``g__1`` ... as Airflow names them."""
    assert_ledger_equals_airflow(tmp_path, "groups.py", HEADER + """
    @task
    def one(v):
        return v

    @task
    def two(v):
        return v * 2

    @task_group
    def g(value):
        two(one(value))

    with DAG("groups", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        start = EmptyOperator(task_id="start")
        end = EmptyOperator(task_id="end")
        for i in range(3):
            start >> g(i) >> end
    """)


def test_helper_building_operators_with_arguments(tmp_path: Path) -> None:
    """A helper with several statements (tasks, then wiring) evaluated in place per call."""
    assert_ledger_equals_airflow(tmp_path, "helper.py", HEADER + """
    def pipeline(suffix, rule):
        first = BashOperator(task_id=f"first_{suffix}", bash_command="echo 1")
        join = EmptyOperator(task_id=rule, trigger_rule=rule)
        last = BashOperator(task_id=f"last_{suffix}", bash_command="echo 2")
        first >> join
        join >> last

    with DAG("helper", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        pipeline("a", TriggerRule.ALL_SUCCESS)
        pipeline("b", TriggerRule.ONE_SUCCESS)
    """)


def test_group_wired_inside_its_own_block(tmp_path: Path) -> None:
    """``chain(begin, [group, other], end)`` inside the group's ``with`` sees the tasks made so far."""
    assert_ledger_equals_airflow(tmp_path, "inner_chain.py", HEADER + """
    from airflow.sdk import TaskGroup, chain

    with DAG("inner_chain", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        begin = EmptyOperator(task_id="begin")
        end = EmptyOperator(task_id="end")
        other = BashOperator(task_id="other", bash_command="echo o")
        with TaskGroup(group_id="checks") as checks:
            for i in range(3):
                BashOperator(task_id=f"check_{i}", bash_command=f"echo {i}")
            chain(begin, [checks, other], end)
    """)


def test_loop_over_a_run_time_value_refuses_the_file(tmp_path: Path) -> None:
    assert_refused(tmp_path, "runtime_loop.py", HEADER + """
    import json
    TABLES = json.loads('["a", "b"]')

    with DAG("runtime_loop", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        for table in TABLES:
            BashOperator(task_id=f"load_{table}", bash_command="echo")
    """, "IX109")


def test_loop_over_a_list_changed_in_place_at_module_level_refuses_the_file(tmp_path: Path) -> None:
    """``DIRS = [A]`` then ``DIRS.append(B)`` under an ``if``: the literal is not what the loop
    sees (Airflow builds 2 tasks here; the literal alone would list 1)."""
    assert_refused(tmp_path, "changed_list.py", HEADER + """
    import os
    DIRS = ["a"]
    if os.environ.get("NOT_SET_ANYWHERE") is None:
        DIRS.append("b")

    with DAG("changed_list", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        for d in DIRS:
            BashOperator(task_id=f"clean_{d}", bash_command=f"echo {d}")
    """, "IX109")
    assert len(airflow_graph(tmp_path, "changed_list.py")["changed_list"]["tasks"]) == 2


def test_imported_helper_in_the_dag_body_refuses_the_file(tmp_path: Path) -> None:
    """A team's helper module builds tasks the converter cannot see: refused, not listed short."""
    (tmp_path / "team_tasks.py").write_text(
        "from airflow.providers.standard.operators.bash import BashOperator\n"
        "def build(n):\n"
        "    return [BashOperator(task_id=f't{i}', bash_command='echo') for i in range(n)]\n"
    )
    assert_refused(tmp_path, "imported_helper.py", HEADER + """
    from team_tasks import build

    with DAG("imported_helper", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        start = EmptyOperator(task_id="start")
        parts = build(3)
    """, "IX109")


def test_dag_under_a_module_level_if_refuses_the_file(tmp_path: Path) -> None:
    assert_refused(tmp_path, "under_if.py", HEADER + """
    import os
    if os.environ.get("NOT_SET_ANYWHERE") is None:
        with DAG("under_if", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
            BashOperator(task_id="a", bash_command="echo a")
    """, "IX003")


def test_dag_id_from_the_file_path_refuses_the_file(tmp_path: Path) -> None:
    """Airflow names the DAG from where it loads the file; a copy or a move changes it."""
    assert_refused(tmp_path, "named_by_path.py", HEADER + """
    from pathlib import Path
    with DAG(Path(__file__).stem, schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        BashOperator(task_id="a", bash_command="echo a")
    """, "IX003")


@pytest.mark.prefect
def test_imported_default_args_are_carried_by_reference(tmp_path: Path, monkeypatch) -> None:
    """``default_args=DEFAULT_ARGS`` from a helper module: the flow's tasks read the retries from
    it at import time, equal to what Airflow gives the tasks."""
    (tmp_path / "team_config.py").write_text(
        "from datetime import timedelta\n"
        "DEFAULT_ARGS = {'owner': 'data', 'retries': 2, 'retry_delay': timedelta(seconds=7)}\n"
    )
    checked = assert_ledger_equals_airflow(tmp_path, "by_reference.py", HEADER + """
    from team_config import DEFAULT_ARGS

    with DAG("by_reference", default_args={**DEFAULT_ARGS, "owner": "x"}, schedule=None,
             start_date=pendulum.datetime(2024, 1, 1)):
        a = BashOperator(task_id="a", bash_command="echo a")
        b = BashOperator(task_id="b", bash_command="echo b", retries=5)
        a >> b
    """)
    result, truth = checked["result"], checked["truth"]["by_reference"]
    ledger = {t["task_id"]: t for t in result.report()["dags"][0]["tasks"]}
    assert ledger["a"]["options"]["retries"] == "DEFAULT_ARGS.get('retries', 0)"
    assert ledger["b"]["options"]["retries"] == 5
    flow_file = tmp_path / "flows" / "by_reference.py"
    flow_file.parent.mkdir()
    flow_file.write_text(result.output)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "team_config", raising=False)  # another test's module of that name
    spec = importlib.util.spec_from_file_location("by_reference_flow", flow_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for task_id, airflow_task in truth["tasks"].items():
        prefect_task = getattr(module, task_id)
        assert prefect_task.retries == airflow_task["retries"], task_id
    assert module.a.retry_delay_seconds == 7.0


def test_duplicate_operator_task_id_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    """Airflow refuses the file (DuplicateTaskIdFound); the converter says so, with both lines."""
    text = _write(tmp_path, "dup.py", HEADER + """
    with DAG("dup", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
        BashOperator(task_id="load", bash_command="echo 1")
        BashOperator(task_id="load", bash_command="echo 2")
    """)
    graph = airflow_graph(tmp_path, "dup.py", errors_ok=True)
    assert "DuplicateTaskIdFound" in " ".join(graph["errors"].values()) and not graph["dags"]
    result = convert_source(text, "dup.py")
    assert result.status == "failed"
    [finding] = [f for f in result.findings if f.code == "IX006"]
    first, second = [i for i, line in enumerate(text.splitlines(), 1) if 'task_id="load"' in line]
    assert finding.line == second and f"line {first} and line {second}" in finding.message


def test_name_rebound_before_each_operator_is_read_in_order(tmp_path: Path) -> None:
    """``task_id = f"..."`` rebound before each operator (assign style): each task gets the id
    in force at its line, as Python and Airflow read it."""
    assert_ledger_equals_airflow(tmp_path, "rebound.py", HEADER + """
    dag = DAG("rebound", schedule=None, start_date=pendulum.datetime(2024, 1, 1))
    table = "orders"
    task_id = f"{table}_refresh"
    refresh = BashOperator(task_id=task_id, bash_command="echo r", dag=dag)
    task_id = f"{table}_ensure"
    ensure = BashOperator(task_id=task_id, bash_command="echo e", dag=dag)
    refresh >> ensure
    """)


def test_statements_after_the_dag_block(tmp_path: Path) -> None:
    """After a ``with DAG(...) as dag:`` block: ``dag`` alone on a line does nothing and goes;
    ``t.doc_md = ...`` is dropped with IX401; a hook set after creation (``t.pre_execute``), which
    no rule reads, makes the task manual with a marker in the flow. The output reads no name it
    no longer defines (before: ``dag`` and ``t`` were kept and undefined)."""
    out = assert_ledger_equals_airflow(tmp_path, "after.py", HEADER + """
    with DAG("after", schedule=None, start_date=pendulum.datetime(2024, 1, 1)) as dag:
        t = BashOperator(task_id="t", bash_command="echo 1")
        u = BashOperator(task_id="u", bash_command="echo 2")

    t.doc_md = "what t does"
    u.pre_execute = lambda **kw: print("before")
    t >> u
    dag
    """)
    result = out["result"]
    codes = {(f.code, f.manual) for f in result.findings}
    assert ("IX401", False) in codes and ("IX101", True) in codes
    tasks = {t["task_id"]: t for t in result.report()["dags"][0]["tasks"]}
    assert tasks["u"]["disposition"] == "manual" and tasks["t"]["disposition"] != "manual"
    assert result.status == "partial"
    assert "TODO(IX101): `u.pre_execute = lambda **kw: print(\"before\")`" in result.output
    from converters.imports import unbound_globals

    assert unbound_globals(result.output) == set()


def test_dag_function_returning_a_task_result(tmp_path: Path) -> None:
    """``return result`` at the end of a ``@dag`` function: Airflow ignores the value; the flow
    keeps no such line (before: kept above the task calls, reading a name no longer defined)."""
    out = assert_ledger_equals_airflow(tmp_path, "returns.py", """
    import pendulum
    from airflow.sdk import dag, task

    @dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1))
    def returns():
        @task
        def make():
            return 1

        @task
        def use(v):
            return v + 1

        result = use(make())
        return result

    returns()
    """)
    from converters.imports import unbound_globals

    assert unbound_globals(out["result"].output) == set()
    assert "return result" not in out["result"].output


def test_an_imported_callable_that_declares_the_context_is_left_to_a_hand(tmp_path: Path) -> None:
    """``provide_context=True`` on a callable imported from the team's module (1.10): Airflow
    passes it the run context; the flow, which cannot see the callable, would call it with none
    (``KeyError: 'execution_date'`` where Airflow's task succeeded). Not ``converted``: IX206 needs
    a hand, with its marker above the call."""
    (tmp_path / "printer.py").write_text("def print_date(**context):\n    return str(context['execution_date'])\n")
    source = textwrap.dedent("""
        import datetime
        from airflow import DAG
        from airflow.operators.python_operator import PythonOperator
        from printer import print_date

        dag = DAG(dag_id="declared", schedule_interval=None, start_date=datetime.datetime(2024, 1, 1))
        PythonOperator(task_id="show", python_callable=print_date, provide_context=True, dag=dag)
    """)
    result = convert_source(source, "declared.py")
    assert result.status == "partial", [f.as_dict() for f in result.findings]
    (finding,) = [f for f in result.findings if f.code == "IX206"]
    assert finding.manual and "provide_context=True" in finding.message
    assert "# interop: TODO(IX206)" in result.output
