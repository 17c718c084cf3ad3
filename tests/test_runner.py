"""The in-process DAG runner on small DAGs written for each feature (real Airflow 3, no DB)."""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytestmark = pytest.mark.airflow


def _dag_file(tmp_path: Path, source: str, name: str = "dag.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def _run(path: Path, **kwargs):
    from airflow_interop.runner import run_dag

    kwargs.setdefault("echo", False)
    return run_dag(path, **kwargs)


CONTEXT_DAG = '''
from airflow.sdk import DAG, Param
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator


def read_context(ti, ds, ds_nodash, ts, logical_date, data_interval_start, data_interval_end,
                 params, dag_run, macros, var, task_instance, **_):
    return {
        "ds": ds, "ds_nodash": ds_nodash, "ts": ts,
        "logical_date": logical_date.isoformat(),
        "interval": [data_interval_start.isoformat(), data_interval_end.isoformat()],
        "params": dict(params), "conf": dict(dag_run.conf or {}),
        "tomorrow": macros.ds_add(ds, 1), "var": var["value"].get("greeting"),
        "same_ti": ti is task_instance,
    }


def push_many(ti):
    ti.xcom_push(key="k", value="v1")
    return 1


def push_other():
    return 2


def pull_many(ti):
    return {
        "list": ti.xcom_pull(task_ids=["push_many", "push_other"]),
        "key": ti.xcom_pull(task_ids="push_many", key="k"),
        "missing": ti.xcom_pull(task_ids="nope"),
    }


with DAG("ctx", schedule=None, params={"region": Param("eu", type="string"), "n": 1}):
    PythonOperator(task_id="read_context", python_callable=read_context)
    a = PythonOperator(task_id="push_many", python_callable=push_many)
    b = PythonOperator(task_id="push_other", python_callable=push_other)
    c = PythonOperator(task_id="pull_many", python_callable=pull_many)
    d = BashOperator(
        task_id="templated",
        bash_command="echo {{ ds }} {{ params.region }} {{ ti.xcom_pull(task_ids='push_many', key='k') }}"
        "{{ ti.xcom_push(key='from_template', value='pushed') }}",
    )
    [a, b] >> c >> d
'''


def test_context_values_and_xcoms(tmp_path: Path) -> None:
    result = _run(
        _dag_file(tmp_path, CONTEXT_DAG),
        logical_date="2024-03-05T06:07:08+00:00",
        params={"region": "us"},
        conf={"run_by": "test"},
        variables={"greeting": "hello"},
    )
    assert result.state == "success", result.tasks["read_context"].error
    ctx = result.xcoms()["read_context"]["return_value"]
    assert ctx == {
        "ds": "2024-03-05",
        "ds_nodash": "20240305",
        "ts": "2024-03-05T06:07:08+00:00",
        "logical_date": "2024-03-05T06:07:08+00:00",
        "interval": ["2024-03-05T06:07:08+00:00", "2024-03-05T06:07:08+00:00"],
        "params": {"region": "us", "n": 1, "run_by": "test"},
        "conf": {"run_by": "test"},
        "tomorrow": "2024-03-06",
        "var": "hello",
        "same_ti": True,
    }
    assert result.xcoms()["pull_many"]["return_value"] == {"list": [1, 2], "key": "v1", "missing": None}
    templated = result.xcoms()["templated"]
    # xcom_push returns None, which Jinja renders as "None", exactly as in Airflow
    assert templated == {"from_template": "pushed", "return_value": "2024-03-05 us v1None"}
    assert result.tasks["templated"].try_number == 1
    assert result.tasks["templated"].start_date <= result.tasks["templated"].end_date
    assert "2024-03-05 us v1" in result.tasks["templated"].log


RETRY_DAG = '''
from datetime import timedelta
from pathlib import Path
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

COUNTER = Path(__file__).with_name("tries.txt")


def flaky():
    tries = int(COUNTER.read_text()) if COUNTER.exists() else 0
    COUNTER.write_text(str(tries + 1))
    if tries < 2:
        raise ValueError(f"try {tries + 1} fails")
    return "third time"


def always_fails():
    raise ValueError("never works")


with DAG("retry", schedule=None):
    PythonOperator(task_id="flaky", python_callable=flaky, retries=2, retry_delay=timedelta(seconds=0))
    PythonOperator(task_id="doomed", python_callable=always_fails, retries=1, retry_delay=timedelta(seconds=0.2))
'''


def test_retries_and_retry_delay(tmp_path: Path) -> None:
    waits: list[float] = []
    result = _run(_dag_file(tmp_path, RETRY_DAG), sleep=waits.append)
    flaky = result.tasks["flaky"]
    assert (flaky.state, flaky.try_number) == ("success", 3)
    assert flaky.xcoms == {"return_value": "third time"}
    doomed = result.tasks["doomed"]
    assert (doomed.state, doomed.try_number) == ("failed", 2)
    assert "never works" in doomed.error
    assert waits == [0.0, 0.0, 0.2]
    assert result.state == "failed"


TIMEOUT_DAG = '''
import time
from datetime import timedelta
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator

with DAG("timeout", schedule=None):
    PythonOperator(task_id="slow", python_callable=lambda: time.sleep(30),
                   execution_timeout=timedelta(seconds=1))
'''


def test_execution_timeout(tmp_path: Path) -> None:
    started = datetime.now(timezone.utc)
    result = _run(_dag_file(tmp_path, TIMEOUT_DAG))
    slow = result.tasks["slow"]
    assert slow.state == "failed"
    assert "AirflowTaskTimeout" in slow.error
    assert (slow.end_date - started).total_seconds() < 30


TRIGGER_RULES_DAG = '''
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk.exceptions import AirflowSkipException


def boom():
    raise RuntimeError("boom")


def skip_me():
    raise AirflowSkipException("not today")


with DAG("rules", schedule=None):
    ok = EmptyOperator(task_id="ok")
    bad = PythonOperator(task_id="bad", python_callable=boom)
    skipped = PythonOperator(task_id="skipped", python_callable=skip_me)
    rules = ["all_success", "all_failed", "all_done", "all_skipped", "one_success", "one_failed",
             "one_done", "none_failed", "none_failed_min_one_success", "none_skipped", "always",
             "all_done_min_one_success"]
    for rule in rules:
        t = EmptyOperator(task_id=f"ok_bad_{rule}", trigger_rule=rule)
        [ok, bad] >> t
        u = EmptyOperator(task_id=f"ok_skip_{rule}", trigger_rule=rule)
        [ok, skipped] >> u
    after_skip = EmptyOperator(task_id="after_skip")
    skipped >> after_skip
    after_failed = EmptyOperator(task_id="after_upstream_failed")
    bad >> EmptyOperator(task_id="mid") >> after_failed
'''


def test_trigger_rules_and_skip_propagation(tmp_path: Path) -> None:
    result = _run(_dag_file(tmp_path, TRIGGER_RULES_DAG))
    states = result.states()
    assert states["ok"] == "success"
    assert states["bad"] == "failed"
    assert states["skipped"] == "skipped"
    assert states["after_skip"] == "skipped"
    assert states["mid"] == "upstream_failed"
    assert states["after_upstream_failed"] == "upstream_failed"
    # upstream = [success, failed]
    assert {r: states[f"ok_bad_{r}"] for r in (
        "all_success", "all_failed", "all_done", "all_skipped", "one_success", "one_failed", "one_done",
        "none_failed", "none_failed_min_one_success", "none_skipped", "always", "all_done_min_one_success",
    )} == {
        "all_success": "upstream_failed", "all_failed": "skipped", "all_done": "success",
        "all_skipped": "skipped", "one_success": "success", "one_failed": "success",
        "one_done": "success", "none_failed": "upstream_failed",
        "none_failed_min_one_success": "upstream_failed", "none_skipped": "success",
        "always": "success", "all_done_min_one_success": "success",
    }
    # upstream = [success, skipped]
    assert {r: states[f"ok_skip_{r}"] for r in (
        "all_success", "all_failed", "all_done", "all_skipped", "one_success", "one_failed", "one_done",
        "none_failed", "none_failed_min_one_success", "none_skipped", "always", "all_done_min_one_success",
    )} == {
        "all_success": "skipped", "all_failed": "skipped", "all_done": "success",
        "all_skipped": "skipped", "one_success": "success", "one_failed": "skipped",
        "one_done": "success", "none_failed": "success", "none_failed_min_one_success": "success",
        "none_skipped": "skipped", "always": "success", "all_done_min_one_success": "skipped",
    }
    assert result.state == "failed"


SENSOR_DAG = '''
from pathlib import Path
from airflow.sdk import DAG
from airflow.providers.standard.sensors.python import PythonSensor

COUNTER = Path(__file__).with_name("pokes.txt")


def third_time():
    pokes = int(COUNTER.read_text()) if COUNTER.exists() else 0
    COUNTER.write_text(str(pokes + 1))
    return pokes + 1 >= 3


with DAG("sensors", schedule=None):
    PythonSensor(task_id="eventually", python_callable=third_time, poke_interval=0.05, timeout=30)
    PythonSensor(task_id="never", python_callable=lambda: False, poke_interval=0.05, timeout=0.3)
    PythonSensor(task_id="never_soft", python_callable=lambda: False, poke_interval=0.05, timeout=0.3,
                 soft_fail=True)
    PythonSensor(task_id="rescheduled", python_callable=third_time, poke_interval=0.05, timeout=30,
                 mode="reschedule")
'''


def test_sensors_poke_interval_and_timeout(tmp_path: Path) -> None:
    result = _run(_dag_file(tmp_path, SENSOR_DAG))
    states = result.states()
    assert states["eventually"] == "success"
    assert (tmp_path / "pokes.txt").read_text() != "0"
    assert states["never"] == "failed"
    assert "AirflowSensorTimeout" in result.tasks["never"].error
    assert states["never_soft"] == "skipped"
    assert states["rescheduled"] == "success"


MAPPING_DAG = '''
from airflow.sdk import DAG, task


@task
def numbers():
    return [1, 2, 3]


@task
def times(x, factor):
    return x * factor


@task
def total(values, ti=None):
    return {"sum": sum(values), "one": ti.xcom_pull(task_ids="times", map_indexes=1),
            "two": ti.xcom_pull(task_ids="times", map_indexes=[0, 2])}


with DAG("mapping", schedule=None):
    doubled = times.partial(factor=2).expand(x=numbers())
    total(doubled)
    times.override(task_id="empty_map").partial(factor=1).expand(x=[])
'''


def test_dynamic_task_mapping(tmp_path: Path) -> None:
    result = _run(_dag_file(tmp_path, MAPPING_DAG))
    assert result.state == "success"
    assert result.xcoms()["times"] == {"return_value[0]": 2, "return_value[1]": 4, "return_value[2]": 6}
    assert result.xcoms()["total"]["return_value"] == {"sum": 12, "one": 4, "two": [2, 6]}
    assert [i.map_index for i in result.tasks["times"].instances] == [0, 1, 2]
    assert result.tasks["empty_map"].state == "skipped"
    assert result.to_json()["tasks"]["times"] == {
        "state": "success",
        "xcoms": {"return_value[0]": 2, "return_value[1]": 4, "return_value[2]": 6},
    }


BRANCH_DAG = '''
from airflow.sdk import DAG, TaskGroup
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator

with DAG("branching", schedule=None, params={"go": "left"}):
    pick = BranchPythonOperator(task_id="pick", python_callable=lambda params: f"grp.{params['go']}")
    with TaskGroup("grp"):
        left = EmptyOperator(task_id="left")
        right = EmptyOperator(task_id="right")
    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    pick >> [left, right] >> join
'''


def test_branching_in_task_group_and_params(tmp_path: Path) -> None:
    path = _dag_file(tmp_path, BRANCH_DAG)
    left = _run(path)
    assert left.states() == {"pick": "success", "grp.left": "success", "grp.right": "skipped", "join": "success"}
    right = _run(path, params={"go": "right"})
    assert right.states()["grp.left"] == "skipped"
    assert right.states()["grp.right"] == "success"


def test_load_errors_name_the_file_and_the_dags(tmp_path: Path) -> None:
    from airflow_interop.runner import DagLoadError, load_dag

    with pytest.raises(DagLoadError, match="does not exist"):
        load_dag(tmp_path / "missing.py")
    broken = _dag_file(tmp_path, "def oops(:\n", "broken.py")
    with pytest.raises(DagLoadError, match="broken.py.*failed to import"):
        load_dag(broken)
    two = _dag_file(tmp_path, CONTEXT_DAG.replace('DAG("ctx"', 'DAG("first"') + "\nwith DAG('second', schedule=None):\n    pass\n", "two.py")
    with pytest.raises(DagLoadError) as err:
        load_dag(two, "third")
    assert "'third' not found" in str(err.value) and "['first', 'second']" in str(err.value)
    assert err.value.dag_ids == ["first", "second"]
    empty = _dag_file(tmp_path, "x = 1\n", "empty.py")
    with pytest.raises(DagLoadError, match="No Airflow DAG found"):
        load_dag(empty)


DEFERRABLE_DAG = '''
from datetime import datetime, timedelta, timezone
from airflow.sdk import DAG, BaseOperator
from airflow.providers.standard.triggers.temporal import DateTimeTrigger


class WaitThenReport(BaseOperator):
    def execute(self, context):
        moment = datetime.now(timezone.utc) + timedelta(seconds=1)
        self.defer(trigger=DateTimeTrigger(moment=moment), method_name="done", kwargs={"note": "woke"})

    def done(self, context, event=None, note=None):
        return {"note": note, "event_is_time": event is not None}


with DAG("deferring", schedule=None):
    WaitThenReport(task_id="wait")
'''


def test_deferrable_operator_runs_its_trigger_in_process(tmp_path: Path) -> None:
    result = _run(_dag_file(tmp_path, DEFERRABLE_DAG))
    assert result.states() == {"wait": "success"}, result.tasks["wait"].error
    assert "DEFERRED" in result.tasks["wait"].log
    assert result.xcoms()["wait"] == {"return_value": {"note": "woke", "event_is_time": True}}


EXTERNAL_PYTHON_DAG = '''
import sys
from airflow.sdk import DAG, task


@task
def numbers():
    return [1, 2, 3]


@task.external_python(python=sys.executable)
def in_subprocess(values):
    from airflow.sdk import Variable

    return {"sum": sum(values), "greeting": Variable.get("greeting")}


with DAG("external", schedule=None):
    in_subprocess(numbers())
'''


def test_external_python_subprocess_reaches_the_in_memory_supervisor(tmp_path: Path) -> None:
    result = _run(_dag_file(tmp_path, EXTERNAL_PYTHON_DAG), variables={"greeting": "hi"})
    assert result.states() == {"numbers": "success", "in_subprocess": "success"}, result.tasks["in_subprocess"].log[-3000:]
    assert result.xcoms()["in_subprocess"]["return_value"] == {"sum": 6, "greeting": "hi"}
