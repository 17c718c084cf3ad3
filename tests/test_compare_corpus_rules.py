"""Differences ``benchmarks/compare_corpus.py`` found on the shared corpus, each fixed by a rule:
the construct (written here, modelled on the corpus's, not copied from it) runs on real Airflow
(the in-process runner) and its converted flow on a real Prefect server, through
``interop compare``, and the two runs are held against each other.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.airflow, pytest.mark.prefect]

LOGICAL_DATE = "2024-01-15"


def test_custom_branch_operator_subclass_is_followed(prefect_server, tmp_path) -> None:
    """A class of the DAG file that subclasses ``BaseBranchOperator`` and overrides
    ``choose_branch``: Airflow skips the tasks it does not choose. The flow ran it through the
    operator shim without the task ids below it (Airflow's branch check failed: "Invalid tasks
    found") and ran every task below; now it is a branch task, its choice followed."""
    from interop.compare import compare_file

    dag = tmp_path / "custom_branch.py"
    dag.write_text(
        "import pendulum\n"
        "from airflow.providers.standard.operators.branch import BaseBranchOperator\n"
        "from airflow.sdk import DAG, task\n\n"
        "class EvenDayBranch(BaseBranchOperator):\n"
        "    def choose_branch(self, context):\n"
        "        if context['logical_date'].day % 2:\n"
        "            return ['odd', 'always']\n"
        "        return 'even'\n\n"
        "class Picker(EvenDayBranch):\n"
        "    pass\n\n"
        "@task\n"
        "def report(which):\n"
        "    return which\n\n"
        "with DAG('custom_branch', schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n"
        "    pick = Picker(task_id='pick')\n"
        "    pick >> [report.override(task_id='odd')('odd'), report.override(task_id='even')('even'),\n"
        "             report.override(task_id='always')('always')]\n"
    )
    (c,) = compare_file(dag, logical_date=LOGICAL_DATE)
    assert c.error is None and c.equivalent, c.differences()
    # the 15th is odd: Airflow runs odd and always, skips even; the flow does the same
    states = {t: (c.airflow.tasks[t].state, c.prefect.tasks[t].state) for t in ("odd", "even", "always")}
    assert states == {"odd": ("success", "success"), "even": ("skipped", "skipped"), "always": ("success", "success")}


def test_unmappable_result_is_the_listed_difference(prefect_server, tmp_path) -> None:
    """A task returns ``map(...)`` and a mapped task expands over it: Airflow fails the task
    (``UnmappableXComTypePushed``) and never runs the mapped one; the flow maps over the iterator
    and succeeds. The ledger lists exactly this (IX212, at the return's line), and the comparison
    shows exactly this difference."""
    from converters import convert_source
    from interop.compare import compare_file

    source = (
        "import pendulum\n"
        "from airflow.sdk import DAG, task\n\n"
        "@task\n"
        "def tables():\n"
        "    return map(lambda day: f'table_{day}', range(3))\n\n"
        "@task\n"
        "def refresh(table):\n"
        "    return table\n\n"
        "with DAG('unmappable', schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n"
        "    refresh.expand(table=tables())\n"
    )
    findings = [(f.code, f.line) for f in convert_source(source, "unmappable.py").findings]
    assert ("IX212", 6) in findings, findings
    dag = tmp_path / "unmappable.py"
    dag.write_text(source)
    (c,) = compare_file(dag, logical_date=LOGICAL_DATE)
    assert c.error is None and not c.equivalent
    assert "UnmappableXComTypePushed" in (c.airflow.tasks["tables"].error or "")
    assert (c.airflow.tasks["tables"].state, c.prefect.tasks["tables"].state) == ("failed", "success")
    assert c.airflow.tasks["refresh"].state == "upstream_failed" and c.prefect.tasks["refresh"].state == "success"


def test_mapped_task_returning_none_is_equivalent(prefect_server, tmp_path) -> None:
    """A mapped task whose every index returns ``None`` (it only prints): Airflow keeps no XCom at
    all, the flow's mapped result is a list of ``None``s, one per index. Compare read the list as
    a value Airflow never pushed ("Airflow pushed no such XCom"); the ledger says the task is
    mapped, so the list is read index by index, as the XComs of the map indexes are."""
    from interop.compare import compare_file

    dag = tmp_path / "mapped_none.py"
    dag.write_text(
        "import pendulum\n"
        "from airflow.sdk import DAG, task\n\n"
        "@task\n"
        "def people():\n"
        "    return [{'name': 'a'}, {'name': 'b'}]\n\n"
        "@task\n"
        "def greet(greeting, person):\n"
        "    print(greeting, person['name'])\n\n"
        "with DAG('mapped_none', schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n"
        "    greet.partial(greeting='hello').expand(person=people())\n"
    )
    (c,) = compare_file(dag, logical_date=LOGICAL_DATE)
    assert c.error is None and c.equivalent, c.differences()
    assert c.airflow.tasks["greet"].values == {}
    assert c.prefect.tasks["greet"].values == {"return_value": [None, None]}



def _equal_on(major: int, dag: Path, source: str, task_id: str, value: object) -> None:
    """``interop compare`` of ``source`` on Airflow ``major`` (2: the 2.11 sidecar) and Prefect:
    equivalent, and ``task_id`` returned ``value`` on both sides."""
    from interop.compare import compare_file
    from tests.airflow2_examples import AIRFLOW2_PYTHON

    dag.write_text(source)
    (c,) = compare_file(dag, logical_date=LOGICAL_DATE, airflow_python=str(AIRFLOW2_PYTHON) if major == 2 else None)
    assert c.error is None and c.equivalent, c.differences()
    assert c.airflow.tasks[task_id].values["return_value"] == value
    assert c.prefect.tasks[task_id].values["return_value"] == value


_PULL_LATER = (
    "import pendulum\n"
    "{imports}\n\n"
    "def merge(ti):\n"
    "    found = ti.xcom_pull(task_ids='refine', key='contacts', default={{}})\n"
    "    plain = ti.xcom_pull(task_ids='refine')\n"
    "    both = list(ti.xcom_pull(task_ids=['start', 'refine']))  # 2.11 answers a lazy sequence\n"
    "    return {{'found': found, 'plain': plain, 'both': both}}\n\n"
    "def start():\n"
    "    return 's'\n\n"
    "def refine(ti):\n"
    "    ti.xcom_push(key='contacts', value={{'a': 1}})\n"
    "    return len(ti.xcom_pull(task_ids='merge'))\n\n"
    "with DAG('pull_later', schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n"
    "    s = PythonOperator(task_id='start', python_callable=start)\n"
    "    m = PythonOperator(task_id='merge', python_callable=merge)\n"
    "    r = PythonOperator(task_id='refine', python_callable=refine)\n"
    "    s >> m >> r\n"
)


@pytest.mark.parametrize(
    ("major", "imports", "merged"),
    [
        # Airflow 3.3: a pull finding no XCom is None (``default`` only counts with map_indexes),
        # a list keeps a None in its place
        (3, "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.python import PythonOperator",
         {"found": None, "plain": None, "both": ["s", None]}),
        # Airflow 2.11: the pull's default, and a list leaves the task out
        (2, "from airflow import DAG\nfrom airflow.operators.python import PythonOperator",
         {"found": {}, "plain": None, "both": ["s"]}),
    ],
)
def test_pull_from_a_downstream_task_is_what_airflow_answers(prefect_server, tmp_path, major, imports, merged) -> None:
    """``merge`` pulls from ``refine``, which runs after it (merge >> refine): Airflow finds no XCom
    of the run. The flow read a future not made yet (an undefined name in the output, the data
    flow a cycle: lowtouch's hubspot_search); now it reads what Airflow answers, with an IX215
    finding, and the runs agree on Airflow 3.3 and on Airflow 2.11 (the sidecar)."""
    from converters import convert_source

    source = _PULL_LATER.format(imports=imports)
    result = convert_source(source, "pull_later.py")
    assert [f.line for f in result.findings if f.code == "IX215"] == [20, 20, 20]  # the task's line
    assert not any(f.code == "IX108" for f in result.findings)
    _equal_on(major, tmp_path / "pull_later.py", source, "merge", merged)


_DAG_ATTRIBUTES = (
    "import pendulum\n"
    "from datetime import timedelta\n"
    "{imports}\n\n"
    "dag = DAG('dag_attributes', {schedule}, start_date=pendulum.datetime(2020, 1, 1), description='hourly',\n"
    "          catchup=False)\n\n"
    "def since_start(**context):\n"
    "    hours = (context['{date}'] - dag.start_date).total_seconds() / {step}\n"
    "    return [hours, dag.description, dag.catchup, dag.dag_id]\n\n"
    "with dag:\n"
    "    PythonOperator(task_id='since_start', python_callable=since_start)\n"
)


@pytest.mark.parametrize(
    ("major", "imports", "schedule", "date", "step", "answer"),
    [
        (3, "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.python import PythonOperator",
         "schedule=None", "logical_date", "3600", [35400.0, "hourly", False, "dag_attributes"]),
        (2, "from airflow import DAG\nfrom airflow.operators.python import PythonOperator",
         "schedule_interval=timedelta(hours=1)", "execution_date", "dag.schedule_interval.total_seconds()",
         [35400.0, "hourly", False, "dag_attributes"]),
    ],
)
def test_kept_code_reads_dag_attributes_as_written(prefect_server, tmp_path, major, imports, schedule, date, step, answer) -> None:
    """A callable reads ``dag.start_date``, ``dag.schedule_interval`` ... of the DAG object the
    flow no longer has (bartosz25's time-travel DAG: an undefined ``dag`` in the output, IX101 and
    IX111). They are the constructor's arguments as written (the date in UTC, as Airflow holds
    it): the output reads those, and the runs agree on Airflow 3.3 and 2.11."""
    from converters import convert_source

    source = _DAG_ATTRIBUTES.format(imports=imports, schedule=schedule, date=date, step=step)
    result = convert_source(source, "dag_attributes.py")
    assert result.status == "converted", [(f.code, f.message) for f in result.findings if f.manual]
    assert "- pendulum.datetime(2020, 1, 1)" in result.output and "'hourly', False, 'dag_attributes'" in result.output
    _equal_on(major, tmp_path / "dag_attributes.py", source, "since_start", answer)


def test_compare_gives_the_flow_the_variables_airflow_reads(prefect_server, tmp_path, monkeypatch) -> None:
    """The Airflow side reads a Variable from ``AIRFLOW_VAR_REGION`` (Airflow's environment
    backend); the converted flow reads the Prefect Variable ``region``. ``interop compare`` now
    writes the one into the other before the flow runs, so the two runs read the same value (the
    flow read None before: a difference of the harness, not of the conversion)."""
    monkeypatch.setenv("AIRFLOW_VAR_REGION", "eu-north-1")
    source = (
        "import pendulum\n"
        "from airflow.sdk import DAG, Variable, task\n\n"
        "@task\n"
        "def where():\n"
        "    return Variable.get('region')\n\n"
        "with DAG('variables_read', schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n"
        "    where()\n"
    )
    _equal_on(3, tmp_path / "variables_read.py", source, "where", "eu-north-1")
