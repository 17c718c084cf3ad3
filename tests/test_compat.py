"""The compat loader: Airflow's 2->3 renames applied in memory, reported by line, refused when unbridgeable.

Rewrite cases follow pyupgrade's style: sources that must stay unchanged, and (before, after)
pairs with the renames expected. Loading tests run real Airflow 3 on the rewritten files; the
``days_ago`` test holds the replacement against Airflow 2.11's own ``days_ago``.
"""

from __future__ import annotations

import hashlib
import subprocess
import textwrap
from pathlib import Path

import pytest

from converters import names
from airflow_interop.compat import CompatError, CompatLoadError, load_dags_compat, needs_compat, transform_source
from tests.conftest import SAMPLE_DAGS, airflow_example_dag_files

AIRFLOW2_PYTHON = Path(__file__).resolve().parent.parent / ".venv-airflow2" / "bin" / "python"


def _t(source: str) -> tuple[str, list]:
    return transform_source(textwrap.dedent(source), "dag.py")


# --------------------------------------------------------------------------- unchanged
UNCHANGED = [
    pytest.param("from airflow.sdk import DAG\nDAG('x', schedule='@daily')\n", id="airflow3-dag"),
    pytest.param("from airflow.providers.standard.operators.empty import EmptyOperator\n", id="current-path"),
    pytest.param("def f(row):\n    return row['execution_date']\n", id="user-dict-not-context"),
    pytest.param('"""Docs mention {{ execution_date }} and schedule_interval."""\n', id="docstring"),
    pytest.param("x = '{{ ds }}'\n", id="template-without-legacy-key"),
    pytest.param("run(schedule_interval=1)\n", id="not-a-dag-call"),
]


@pytest.mark.parametrize("source", UNCHANGED)
def test_source_left_unchanged(source: str) -> None:
    """Airflow 3 code, user dicts and docstrings are not touched."""
    new, renames = _t(source)
    assert new == textwrap.dedent(source)
    assert renames == []


# --------------------------------------------------------------------------- rewrites
REWRITES = [
    pytest.param(
        "from airflow.operators.dummy_operator import DummyOperator\n",
        "from airflow.providers.standard.operators.empty import EmptyOperator as DummyOperator\n",
        [(1, "name", "airflow.operators.dummy_operator.DummyOperator")],
        id="dummy-operator-keeps-local-name",
    ),
    pytest.param(
        "from airflow.operators.python_operator import PythonOperator, BranchPythonOperator as BPO\n",
        "from airflow.providers.standard.operators.python import PythonOperator, BranchPythonOperator as BPO\n",
        [(1, "module", "airflow.operators.python_operator.BranchPythonOperator"), (1, "module", "airflow.operators.python_operator.PythonOperator")],
        id="110-python-operator-module",
    ),
    pytest.param(
        "from airflow.utils.dates import days_ago, cron_presets\n",
        "from airflow_interop.compat.runtime import days_ago; from airflow.utils.dates import cron_presets\n",
        [(1, "removed_name", "airflow.utils.dates.days_ago")],
        id="days-ago-split-on-one-line",
    ),
    pytest.param(
        "from airflow import DAG\nd = DAG(\n    'x',\n    schedule_interval='@daily',\n    concurrency=2,\n)\n",
        "from airflow.sdk import DAG\nd = DAG(\n    'x',\n    schedule='@daily',\n    max_active_tasks=2,\n)\n",
        [(1, "module", "airflow.DAG"), (4, "dag_arg", "schedule_interval"), (5, "dag_arg", "concurrency")],
        id="dag-args",
    ),
    pytest.param(
        "from airflow.decorators import dag\n@dag(timetable=t, fail_stop=True)\ndef pipeline(): ...\n",
        "from airflow.sdk import dag\n@dag(schedule=t, fail_fast=True)\ndef pipeline(): ...\n",
        [(1, "module", "airflow.decorators.dag"), (2, "dag_arg", "fail_stop"), (2, "dag_arg", "timetable")],
        id="dag-decorator-args",
    ),
    pytest.param(
        "op = PythonOperator(\n    task_id='a',\n    provide_context=True,\n    task_concurrency=1,\n)\n",
        "op = PythonOperator(\n    task_id='a',\n    **{},\n    max_active_tis_per_dag=1,\n)\n",
        [(3, "dropped_arg", "provide_context"), (4, "operator_arg", "task_concurrency")],
        id="operator-args-lines-kept",
    ),
    pytest.param(
        "cmd = 'echo {{ execution_date }} {{ dag_run.execution_date }} {{ yesterday_ds }}'\n",
        "cmd = 'echo {{ logical_date }} {{ dag_run.logical_date }} {{ (macros.ds_add(ds, -1)) }}'\n",
        [(1, "template_key", "execution_date"), (1, "template_key", "execution_date"), (1, "template_key", "yesterday_ds")],
        id="template-keys",
    ),
    pytest.param(
        "def f(**kwargs):\n    return kwargs['execution_date'], kwargs.get('execution_date')\n",
        "def f(**kwargs):\n    return kwargs['logical_date'], kwargs.get('logical_date')\n",
        [(2, "context_key", "execution_date"), (2, "context_key", "execution_date")],
        id="context-lookups",
    ),
    pytest.param(
        "def f(execution_date, ti):\n    return execution_date.day, ti.execution_date, g(execution_date=1)\n",
        "def f(logical_date, ti):\n    return logical_date.day, ti.execution_date, g(execution_date=1)\n",
        [(1, "context_key", "execution_date")],
        id="callable-parameter-only",
    ),
    pytest.param(
        "import airflow\nstart = airflow.utils.dates.days_ago(2)\n",
        "import airflow\nstart = __import__('airflow_interop.compat.runtime', fromlist=['days_ago']).days_ago(2)\n",
        [(2, "removed_name", "airflow.utils.dates.days_ago")],
        id="days-ago-by-attribute-path",
    ),
    pytest.param(
        "from airflow.operators import BashOperator, DummyOperator\n",
        "from airflow.providers.standard.operators.bash import BashOperator; from airflow.providers.standard.operators.empty import EmptyOperator as DummyOperator\n",
        [(1, "module", "airflow.operators.bash_operator.BashOperator"), (1, "name", "airflow.operators.dummy_operator.DummyOperator")],
        id="110-package-exports",
    ),
    pytest.param(
        "from airflow.hooks import PostgresHook\n",
        "from airflow.hooks.postgres_hook import PostgresHook\n",
        [(1, "module", "airflow.hooks.PostgresHook")],
        id="110-package-export-of-a-missing-provider-goes-to-its-110-module",
    ),
    pytest.param(
        "from airflow.operators.postgres_operator import PostgresOperator\nPostgresOperator(task_id='t', postgres_conn_id='pg', sql='select 1')\n",
        "from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator as PostgresOperator\nPostgresOperator(task_id='t', conn_id='pg', sql='select 1')\n",
        [(1, "name", "airflow.operators.postgres_operator.PostgresOperator"), (2, "call_arg", "PostgresOperator(postgres_conn_id=)")],
        id="postgres-operator-to-common-sql-with-conn-id",
    ),
    pytest.param(
        "a = Op(trigger_rule='none_failed_or_skipped')\nb = Op(trigger_rule=TriggerRule.NONE_FAILED_OR_SKIPPED, x='dummy')\n",
        "a = Op(trigger_rule='none_failed_min_one_success')\nb = Op(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS, x='dummy')\n",
        [(1, "trigger_rule", "none_failed_or_skipped"), (2, "trigger_rule", "NONE_FAILED_OR_SKIPPED")],
        id="110-trigger-rule-names",
    ),
    pytest.param(
        "from airflow.utils.decorators import apply_defaults\n",
        "from airflow_interop.compat.runtime import apply_defaults\n",
        [(1, "removed_name", "airflow.utils.decorators.apply_defaults")],
        id="110-apply-defaults",
    ),
]


@pytest.mark.parametrize("before, after, expected", REWRITES)
def test_rewrite(before: str, after: str, expected: list[tuple[int, str, str]]) -> None:
    """Each rename is applied on its own line and reported with that line."""
    new, renames = _t(before)
    assert new == after
    assert sorted((r.line, r.kind, r.old) for r in renames) == sorted(expected)
    assert len(new.splitlines()) == len(before.splitlines())
    compile(new, "dag.py", "exec")


# --------------------------------------------------------------------------- refused
REFUSED = [
    pytest.param(
        "import os\nfrom airflow.operators.subdag_operator import SubDagOperator\n",
        "airflow.operators.subdag_operator",
        2,
        id="subdag-module",
    ),
    pytest.param(
        "from airflow.operators.subdag import SubDagOperator\n",
        "airflow.operators.subdag",
        1,
        id="subdag-2x",
    ),
    pytest.param("x = 1\ncmd = 'echo {{ next_ds }}'\n", "template variable 'next_ds'", 2, id="removed-template-key"),
    pytest.param("def f(**context):\n    return context['prev_ds']\n", "context key 'prev_ds'", 2, id="removed-context-key"),
    pytest.param("from airflow import DAG\nDAG('x',\n schedule='@daily', schedule_interval='@daily')\n", "DAG(schedule_interval=...)", 3, id="both-schedules"),
]


@pytest.mark.parametrize("source, construct, line", REFUSED)
def test_unbridgeable_is_a_clear_error(source: str, construct: str, line: int) -> None:
    """What Airflow 3 cannot run is refused, naming the construct and its line."""
    with pytest.raises(CompatError) as info:
        transform_source(source, "legacy.py")
    assert info.value.construct == construct
    assert info.value.line == line
    assert f"legacy.py:{line}: {construct} cannot run under Airflow 3" in str(info.value)


# --------------------------------------------------------------------------- loading
@pytest.mark.parametrize("name", ["legacy_provide_context.py", "legacy_reports_110.py", "legacy_warehouse_2x.py"])
def test_legacy_samples_load_under_airflow3_without_touching_the_file(name: str) -> None:
    """The sample 1.10/2.x DAGs need the compat loader and load through it; the file is unchanged."""
    path = SAMPLE_DAGS / name
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert needs_compat(path)
    load = load_dags_compat(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert load.dags and all(dag.fileloc == str(path.resolve()) for dag in load.dags.values())
    assert all(r.file == str(path.resolve()) and r.line > 0 for r in load.renames)
    kinds = {r.kind for r in load.renames}
    assert {"dag_arg", "template_key"} <= kinds


def test_plain_import_fails_but_compat_loads(tmp_path: Path) -> None:
    """Airflow 3's own DagBag refuses a 1.10 DAG that the compat loader runs."""
    from airflow_interop.runner import run_dag

    dag_file = tmp_path / "old.py"
    dag_file.write_text(textwrap.dedent('''
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.bash_operator import BashOperator
        from airflow.operators.dummy_operator import DummyOperator

        dag = DAG("old", schedule_interval=None, start_date=datetime(2024, 1, 1))
        a = DummyOperator(task_id="a", dag=dag)
        b = BashOperator(task_id="b", bash_command="echo {{ execution_date.year }}", dag=dag)
        a >> b
    '''))
    from airflow.dag_processing.dagbag import DagBag

    assert DagBag(dag_folder=str(dag_file), safe_mode=False).import_errors
    result = run_dag(dag_file, logical_date="2024-03-01", echo=False)
    assert result.states() == {"a": "success", "b": "success"}
    assert result.xcoms()["b"] == {"return_value": "2024"}


def test_every_airflow3_example_loads_plainly() -> None:
    """Airflow 3's own examples need no compat load (the runner's plain path is unchanged for them)."""
    needing = [p.name for p in airflow_example_dag_files() if needs_compat(p)]
    assert needing == []


def test_import_error_after_transform_names_file_and_renames(tmp_path: Path) -> None:
    dag_file = tmp_path / "broken.py"
    dag_file.write_text("from airflow.operators.dummy_operator import DummyOperator\nraise RuntimeError('boom')\n")
    with pytest.raises(CompatLoadError) as info:
        load_dags_compat(dag_file)
    text = str(info.value)
    assert "\n" not in text  # one line for the user: file, line, code, cause
    assert text.startswith(f"{dag_file}:2: `raise RuntimeError('boom')`: RuntimeError: boom")
    assert "1 rename(s) applied" in text
    assert f"{dag_file}\", line 2" in info.value.details and "DummyOperator" in info.value.details  # the whole story


# --------------------------------------------------------------------------- import failures: one clear line
IMPORT_FAILURES = [
    pytest.param(
        "from airflow.operators.bash_operator import BashOperator\nfrom airflow.providers.postgres.hooks.postgres import PostgresHook\n",
        2,
        "needs the provider package apache-airflow-providers-postgres (No module named 'airflow.providers.postgres')",
        id="missing-provider",
    ),
    pytest.param(
        "from airflow.operators.dummy_operator import DummyOperator\nfrom airflow.hooks.postgres_hook import PostgresHook\n",
        2,
        "airflow.hooks.postgres_hook moved to airflow.providers.postgres.hooks.postgres in Airflow 3, which needs the provider package apache-airflow-providers-postgres",
        id="110-hook-path-of-a-missing-provider",
    ),
    pytest.param(
        "from airflow.operators.dummy_operator import DummyOperator\nimport interop_no_such_helper.tools\n",
        2,
        "needs the module 'interop_no_such_helper', which is not installed in this environment nor next to the DAG file",
        id="missing-third-party-or-helper-module",
    ),
    pytest.param(
        "from airflow.operators.dummy_operator import DummyOperator\nfrom airflow.contrib.operators.interop_gone import GoneOperator\n",
        2,
        "airflow.contrib.operators.interop_gone was removed in Airflow 3 (airflow.contrib moved to provider packages)",
        id="unknown-contrib-path",
    ),
    pytest.param(
        "from airflow.operators.dummy_operator import DummyOperator\nfrom airflow.contrib.operators.kubernetes_pod_operator import KubernetesPodOperator\n",
        2,
        "airflow.contrib.operators.kubernetes_pod_operator moved to airflow.providers.cncf.kubernetes.operators.pod in Airflow 3, which needs the provider package apache-airflow-providers-cncf-kubernetes",
        id="contrib-path-of-a-missing-two-level-provider",
    ),
    pytest.param(
        "from airflow.operators.dummy_operator import DummyOperator\nfrom airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator\n",
        2,
        "needs the provider package apache-airflow-providers-apache-beam (No module named 'airflow.providers.apache')",
        id="two-level-provider-named-from-the-import-line",
    ),
    pytest.param(
        "from airflow.operators.dummy_operator import DummyOperator\nfrom airflow.models import Variable\n\nHOST = Variable.get('interop_test_host')\n",
        4,
        "reads the Airflow Variable 'interop_test_host' while the file is parsed, and it is not set; give it for the run with the environment variable AIRFLOW_VAR_INTEROP_TEST_HOST",
        id="variable-read-at-parse-time",
    ),
    pytest.param(
        "from airflow.hooks.base_hook import BaseHook\n\nCONN = BaseHook.get_connection('interop_test_db')\n",
        3,
        "reads the Airflow connection 'interop_test_db' while the file is parsed, and it is not defined; give it for the run with the environment variable AIRFLOW_CONN_INTEROP_TEST_DB",
        id="connection-read-at-parse-time",
    ),
]


@pytest.mark.parametrize("source, line, cause", IMPORT_FAILURES)
def test_import_failure_is_one_line_naming_file_line_and_cause(tmp_path: Path, source: str, line: int, cause: str) -> None:
    """A missing provider, module or Variable: one line with the file, the line, its code and what to do."""
    dag_file = tmp_path / "old_dag.py"
    dag_file.write_text(source)
    with pytest.raises(CompatLoadError) as info:
        load_dags_compat(dag_file)
    text = str(info.value)
    code = source.splitlines()[line - 1]
    assert "\n" not in text and "Traceback" not in text
    assert text.startswith(f"{dag_file}:{line}: `{code}`: ")
    assert cause in text


def test_alias_finder_serves_removed_module_paths() -> None:
    """``import airflow.operators.bash_operator`` works under Airflow 3; old class names alias the new."""
    from airflow_interop.compat.finder import install_finder

    install_finder()
    import importlib

    bash_operator = importlib.import_module("airflow.operators.bash_operator")
    dummy = importlib.import_module("airflow.operators.dummy_operator")
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator

    assert bash_operator.BashOperator is BashOperator
    assert dummy.DummyOperator is EmptyOperator
    with pytest.raises(ImportError, match="SubDagOperator was removed in Airflow 3"):
        importlib.import_module("airflow.operators.subdag_operator")


@pytest.mark.skipif(not AIRFLOW2_PYTHON.exists(), reason="needs .venv-airflow2 (created by .ci/run and scripts/setup-dev)")
def test_days_ago_matches_airflow2() -> None:
    """The replacement gives what Airflow 2.11's own ``days_ago`` gives."""
    from airflow_interop.compat.runtime import days_ago

    code = "from airflow.utils.dates import days_ago; print(days_ago(3).isoformat(), days_ago(0, hour=5).isoformat())"
    out = subprocess.run([str(AIRFLOW2_PYTHON), "-W", "ignore", "-c", code], capture_output=True, text=True, check=True, timeout=120)
    theirs = out.stdout.split()
    assert theirs == [days_ago(3).isoformat(), days_ago(0, hour=5).isoformat()]


def test_tables_are_consistent() -> None:
    """Every moved module's target and every renamed name's module are in the tables together."""
    for old, _new in names.ALL_RENAMED_NAMES.items():
        module = old.rpartition(".")[0]
        assert module in names.ALL_MOVED_MODULES or module in names.MOVED_MODULES, old
    for key in names.CONTEXT_KEY_RENAMES:
        assert key not in names.REMOVED_CONTEXT_KEYS
    assert names.airflow3_name("airflow.operators.dummy.DummyOperator") == names.current_import_path(
        "airflow.operators.dummy.DummyOperator"
    )


def test_docs_list_the_same_examples_and_reasons() -> None:
    """docs/compat-and-sidecar.md shows the tables of tests/airflow2_examples.py, reason for reason."""
    from tests import airflow2_examples as ax

    doc = (Path(__file__).resolve().parent.parent / "docs" / "compat-and-sidecar.md").read_text()
    for table in (ax.NOT_OFFLINE, ax.NOT_IN_AIRFLOW3, ax.NO_DAG_HERE):
        for key, reason in table.items():
            assert f"| `{key}` | {reason} |" in doc, key
    for key in ax.DEFAULT_SUBSET:
        assert f"`{key.split('::')[1]}`" in doc


def test_runner_prefilter_covers_every_table_word() -> None:
    """The runner's cheap pre-check (no libcst, no tables) lets through every word a table reacts to.

    Only ``airflow.decorators`` is let pass: every name it had still imports under Airflow 3, so
    its renames are never required.
    """
    from airflow_interop.compat.detect import PREFILTER
    from airflow_interop.compat.transform import HINT_WORDS

    missed = sorted(w for w in HINT_WORDS if not PREFILTER.search(w))
    assert missed == ["airflow.decorators"]


def test_docs_state_airflow3_differences() -> None:
    from airflow_interop.compat.differences import AIRFLOW3_DIFFERENCES

    doc = " ".join((Path(__file__).resolve().parent.parent / "docs" / "compat-and-sidecar.md").read_text().split())
    for text in AIRFLOW3_DIFFERENCES:
        assert " ".join(text.split()) in doc.replace("* ", ""), text


def test_110_package_exports_and_sql_operator_run(tmp_path: Path) -> None:
    """``from airflow.operators import ...`` runs; a PostgresOperator runs as SQLExecuteQueryOperator and fails on
    its undefined connection at run time, with the operator's own error (not at load)."""
    from airflow_interop.runner import run_dag

    dag_file = tmp_path / "old_sql.py"
    dag_file.write_text(textwrap.dedent('''
        from datetime import datetime
        from airflow import DAG
        from airflow.operators import BashOperator
        from airflow.operators.postgres_operator import PostgresOperator

        dag = DAG("old_sql", schedule_interval=None, start_date=datetime(2024, 1, 1))
        hello = BashOperator(task_id="hello", bash_command="echo hi", dag=dag)
        load = PostgresOperator(task_id="load", postgres_conn_id="interop_missing_pg", sql="select 1", dag=dag)
        hello >> load
    '''))
    result = run_dag(dag_file, logical_date="2024-03-01", echo=False)
    assert result.states() == {"hello": "success", "load": "failed"}
    assert "interop_missing_pg" in result.tasks["load"].instances[-1].error


def test_removed_parent_packages_resolve_to_their_moved_children() -> None:
    """``import airflow.contrib.sensors.file_sensor`` works: ``airflow.contrib`` is served as an empty package."""
    import importlib

    from airflow_interop.compat.finder import install_finder

    install_finder()
    module = importlib.import_module("airflow.contrib.sensors.file_sensor")
    from airflow.providers.standard.sensors.filesystem import FileSensor

    assert module.FileSensor is FileSensor
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("airflow.contrib.operators.interop_never_existed")


def test_110_trigger_rule_join_after_a_branch_runs(tmp_path: Path) -> None:
    """``trigger_rule="none_failed_or_skipped"`` (refused by Airflow 3) joins a branch as it did in 1.10/2.x."""
    from airflow_interop.runner import run_dag

    dag_file = tmp_path / "old_branch.py"
    dag_file.write_text(textwrap.dedent('''
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.python_operator import BranchPythonOperator
        from airflow.operators.dummy_operator import DummyOperator

        dag = DAG("old_branch", schedule_interval=None, start_date=datetime(2024, 1, 1))
        pick = BranchPythonOperator(task_id="pick", python_callable=lambda: "left", dag=dag)
        left = DummyOperator(task_id="left", dag=dag)
        right = DummyOperator(task_id="right", dag=dag)
        join = DummyOperator(task_id="join", trigger_rule="none_failed_or_skipped", dag=dag)
        pick >> [left, right] >> join
    '''))
    result = run_dag(dag_file, logical_date="2024-03-01", echo=False)
    assert result.states() == {"pick": "success", "left": "success", "right": "skipped", "join": "success"}


def test_110_custom_operator_with_apply_defaults_runs(tmp_path: Path) -> None:
    """A 1.10 custom operator decorated with ``@apply_defaults`` loads and runs; default_args still apply."""
    from airflow_interop.runner import run_dag

    dag_file = tmp_path / "old_custom.py"
    dag_file.write_text(textwrap.dedent('''
        from datetime import datetime
        from airflow import DAG
        from airflow.models import BaseOperator
        from airflow.utils.decorators import apply_defaults

        class Greet(BaseOperator):
            @apply_defaults
            def __init__(self, name="", *args, **kwargs):
                super(Greet, self).__init__(*args, **kwargs)
                self.name = name

            def execute(self, context):
                return f"hello {self.name} ({self.owner})"

        dag = DAG("old_custom", schedule_interval=None, start_date=datetime(2024, 1, 1), default_args={"owner": "ops"})
        Greet(task_id="greet", name="world", dag=dag)
    '''))
    result = run_dag(dag_file, logical_date="2024-03-01", echo=False)
    assert result.xcoms()["greet"] == {"return_value": "hello world (ops)"}


def test_helper_module_beside_the_dag_may_use_removed_110_names(tmp_path: Path) -> None:
    """A 1.10 helper (custom operator) next to the DAG, not transformed, still finds ``apply_defaults``/``days_ago``."""
    from airflow_interop.runner import run_dag

    (tmp_path / "legacy_ops.py").write_text(textwrap.dedent('''
        from airflow.models import BaseOperator
        from airflow.utils.dates import days_ago
        from airflow.utils.decorators import apply_defaults

        START = days_ago(400)

        class Shout(BaseOperator):
            @apply_defaults
            def __init__(self, word="", *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.word = word

            def execute(self, context):
                return self.word.upper()
    '''))
    dag_file = tmp_path / "uses_helper.py"
    dag_file.write_text(textwrap.dedent('''
        from airflow import DAG
        from legacy_ops import START, Shout

        dag = DAG("uses_helper", schedule_interval=None, start_date=START)
        Shout(task_id="shout", word="hi", dag=dag)
    '''))
    from datetime import datetime, timezone

    result = run_dag(dag_file, logical_date=datetime.now(timezone.utc).date().isoformat(), echo=False)
    assert result.xcoms()["shout"] == {"return_value": "HI"}


def test_restored_names_do_not_hide_the_rename() -> None:
    """After the finder put ``days_ago`` back on ``airflow.utils.dates``, a file using it still needs the compat load."""
    from airflow_interop.compat.finder import install_finder

    install_finder()
    _, renames = _t("from airflow.utils.dates import days_ago\n")
    assert [(r.kind, r.old, r.required) for r in renames] == [("removed_name", "airflow.utils.dates.days_ago", True)]
