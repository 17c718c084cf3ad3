"""The sidecar: a DAG run inside Airflow 2.11's own interpreter, JSON over a pipe.

Real Airflow 2.11 (``.venv-airflow2``) in every test; nothing is mocked. One worker process is
shared by the module's tests (starting one costs an Airflow import, ~1-2 s).
"""

from __future__ import annotations

import json
import subprocess
import os
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest

from airflow_interop.runner import DagLoadError
from airflow_interop.sidecar import WORKER, Sidecar, SidecarError, SidecarRunResult, run_dag_sidecar
from tests.conftest import REPO, SAMPLE_DAGS

AIRFLOW2_PYTHON = REPO / ".venv-airflow2" / "bin" / "python"
pytestmark = pytest.mark.skipif(
    not AIRFLOW2_PYTHON.exists(), reason="needs .venv-airflow2 (created by .ci/run and scripts/setup-dev)"
)

FAILING = '''
from datetime import datetime
from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.operators.bash import BashOperator


def explode(**context):
    print("about to fail for", context["ds"])
    raise ValueError("no rows for " + context["ds"])


with DAG("sidecar_failing", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    ok = BashOperator(task_id="ok", bash_command="echo fine {{ var.value.region }} $CONN")
    boom = PythonOperator(task_id="boom", python_callable=explode)
    after = BashOperator(task_id="after", bash_command="echo never")
    ok >> boom >> after
'''

TWO_DAGS = '''
from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

for name in ("first", "second"):
    with DAG(name, schedule=None, start_date=datetime(2024, 1, 1)) as d:
        EmptyOperator(task_id="only")
    globals()[name] = d
'''


@pytest.fixture(scope="module")
def sidecar():
    with Sidecar(AIRFLOW2_PYTHON) as sc:
        yield sc


def test_ready_reports_its_airflow(sidecar: Sidecar) -> None:
    assert sidecar.airflow_version.startswith("2.")
    assert sidecar.info["python"].endswith("python")


def test_legacy_sample_runs_with_xcoms(sidecar: Sidecar) -> None:
    """A 1.10 DAG runs unchanged in Airflow 2.11; states, XComs and per-task logs come back."""
    day = (date.today() - timedelta(days=1)).isoformat()
    result = sidecar.run(SAMPLE_DAGS / "legacy_provide_context.py", logical_date=day)
    assert isinstance(result, SidecarRunResult)
    assert result.state == "success"
    assert set(result.states().values()) == {"success"}
    assert result.xcoms()["publish"]["return_value"].startswith(f"sales_{day.replace('-', '')}_")
    assert "archived sales for" in result.tasks["archive"].log
    assert result.airflow_info()["mode"] == "sidecar"
    assert ["start", "pull_sales"] in result.edges


def test_task_error_and_log_come_back_with_the_task_id(sidecar: Sidecar, tmp_path: Path) -> None:
    """A failing task: its state, its exception text and its own log, under its task id."""
    dag_file = tmp_path / "failing.py"
    dag_file.write_text(FAILING)
    events: list[dict] = []
    result = sidecar.run(
        dag_file,
        logical_date="2024-02-03",
        variables={"region": "eu-west"},
        on_task_end=events.append,
    )
    assert result.state == "failed"
    assert result.states() == {"ok": "success", "boom": "failed", "after": "upstream_failed"}
    assert result.tasks["boom"].error == "ValueError: no rows for 2024-02-03"
    assert "about to fail for 2024-02-03" in result.tasks["boom"].log
    assert "about to fail" not in result.tasks["ok"].log
    assert result.xcoms()["ok"] == {"return_value": "fine eu-west"}
    assert [(e["task_id"], e["state"]) for e in events] == [("ok", "success"), ("boom", "failed")]


def test_load_errors_name_the_file_and_the_dags_found(sidecar: Sidecar, tmp_path: Path) -> None:
    two = tmp_path / "two.py"
    two.write_text(TWO_DAGS)
    with pytest.raises(DagLoadError, match=r"defines several DAGs; choose one with dag_id. Found DAGs: \['first', 'second'\]"):
        sidecar.run(two)
    with pytest.raises(DagLoadError, match=r"DAG with id 'third' not found .* Found DAGs: \['first', 'second'\]"):
        sidecar.run(two, "third")
    broken = tmp_path / "broken.py"
    broken.write_text("import airflow\nraise RuntimeError('bad module')\n")
    with pytest.raises(DagLoadError, match=r"(?s)failed to import.*RuntimeError: bad module"):
        sidecar.run(broken)
    assert sidecar.run(two, "second", logical_date="2024-01-01").states() == {"only": "success"}


def test_airflow3_interpreter_is_refused_clearly() -> None:
    """The sidecar is for Airflow 1.10/2.x; Airflow 3 runs in-process."""
    with pytest.raises(SidecarError, match="this interpreter has Airflow 3") as info:
        Sidecar(sys.executable).start()
    assert info.value.kind == "start"
    with pytest.raises(SidecarError, match="does not exist"):
        Sidecar("/nonexistent/bin/python").start()


def test_timeout_stops_the_worker_and_the_next_run_starts_a_new_one(sidecar: Sidecar, tmp_path: Path) -> None:
    slow = tmp_path / "slow.py"
    slow.write_text(textwrap.dedent('''
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.bash import BashOperator
        with DAG("slow", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
            BashOperator(task_id="sleep", bash_command="sleep 60")
    '''))
    with pytest.raises(SidecarError, match="did not finish within 3 s") as info:
        sidecar.run(slow, logical_date="2024-01-01", timeout=3)
    assert info.value.kind == "timeout"
    assert sidecar.run(SAMPLE_DAGS / "legacy_warehouse_2x.py", logical_date="2024-01-17").state == "success"


def test_worker_speaks_json_lines_and_imports_only_stdlib_and_airflow(tmp_path: Path) -> None:
    """The worker script as the other interpreter sees it: one JSON object a line on stdout."""
    source = WORKER.read_text()
    top_imports = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from ")) and not line.startswith("from __future__")
    }
    assert top_imports <= set(sys.stdlib_module_names)
    env = {"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path}/airflow.db",
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": "/usr/bin:/bin"}
    request = json.dumps({"id": 7, "op": "list", "dag_file": str(SAMPLE_DAGS / "legacy_reports_110.py")})
    proc = subprocess.run([str(AIRFLOW2_PYTHON), str(WORKER)], input=request + "\nnot json\n", capture_output=True,
                          text=True, env=env, timeout=300)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["event"] for e in events] == ["ready", "dags", "error"]
    assert events[1] == {
        "event": "dags",
        "id": 7,
        "dag_ids": ["legacy_reports_110"],
        "files": {"legacy_reports_110": str(SAMPLE_DAGS / "legacy_reports_110.py")},
        "import_errors": {},
    }
    assert events[2]["kind"] == "request"


def test_run_dag_sidecar_one_shot() -> None:
    result = run_dag_sidecar(SAMPLE_DAGS / "legacy_warehouse_2x.py", airflow_python=AIRFLOW2_PYTHON, logical_date="2024-01-17")
    assert result.states()["incremental_load"] == "success"
    assert result.states()["full_reload"] == "skipped"
    assert result.xcoms()["report"]["return_value"] == "run 2024-01-17 00:00:00+00:00 window 2024-01-16..2024-01-17 next 20240118"


# --------------------------------------------------------------------------- interop run
def _interop_run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in __import__("os").environ.items() if k != "INTEROP_AIRFLOW_PYTHON"}
    return subprocess.run(
        [sys.executable, "-m", "interop.cli", "run", *args],
        capture_output=True, text=True, timeout=300, cwd=str(cwd or REPO), env=env,
    )


def test_interop_run_says_which_airflow_ran_the_dag(tmp_path: Path) -> None:
    """``interop run``: the sidecar and the compat loader give the same tasks and say which ran them."""
    dag = str(SAMPLE_DAGS / "legacy_warehouse_2x.py")
    side = _interop_run(dag, "--logical-date", "2024-01-17", "--airflow-python", str(AIRFLOW2_PYTHON),
                        "--json", str(tmp_path / "sidecar.json"))
    compat = _interop_run(dag, "--logical-date", "2024-01-17", "--json", str(tmp_path / "compat.json"))
    assert side.returncode == 0, side.stderr[-2000:]
    assert compat.returncode == 0, compat.stderr[-2000:]
    via_sidecar = json.loads((tmp_path / "sidecar.json").read_text())
    via_compat = json.loads((tmp_path / "compat.json").read_text())
    assert via_sidecar["airflow"]["mode"] == "sidecar" and via_sidecar["airflow"]["version"].startswith("2.")
    assert via_compat["airflow"]["mode"] == "compat" and via_compat["airflow"]["version"].startswith("3.")
    renames = {(r["line"], r["kind"], r["old"]) for r in via_compat["airflow"]["renames"]}
    assert (50, "dag_arg", "schedule_interval") in renames and (15, "name", "airflow.operators.dummy.DummyOperator") in renames
    assert "ran by Airflow 3" in compat.stderr and "line 50: dag_arg: schedule_interval -> schedule" in compat.stderr
    states = {t: v["state"] for t, v in via_sidecar["tasks"].items()}
    assert states == {t: v["state"] for t, v in via_compat["tasks"].items()}
    assert via_sidecar["tasks"]["incremental_load"] == via_compat["tasks"]["incremental_load"]


def test_state_file_airflow_python_setting(tmp_path: Path) -> None:
    """The migration state file's ``airflow_python`` sends ``interop run`` to the sidecar."""
    from interop.state import MigrationState

    state = MigrationState(path=tmp_path / "interop-state.yaml", airflow_python=str(AIRFLOW2_PYTHON))
    state.add_dag("legacy_reports_110", SAMPLE_DAGS / "legacy_reports_110.py", ["begin"])
    state.save()
    assert MigrationState.load(tmp_path / "interop-state.yaml").airflow_python_for("legacy_reports_110") == AIRFLOW2_PYTHON
    day = (date.today() - timedelta(days=1)).isoformat()
    proc = _interop_run(str(SAMPLE_DAGS / "legacy_reports_110.py"), "--logical-date", day, "--json", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    payload = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert payload["airflow"]["mode"] == "sidecar"
    assert payload["tasks"]["send"]["state"] == "success"


def test_params_and_conf_reach_the_tasks(sidecar: Sidecar, tmp_path: Path) -> None:
    """DAG params (as run conf, like ``airflow dags test -c``) and ``dag_run.conf`` pass through."""
    dag_file = tmp_path / "params.py"
    dag_file.write_text(textwrap.dedent('''
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.python import PythonOperator
        from airflow.operators.bash import BashOperator

        def show(params, dag_run):
            return {"n": params["n"], "region": dag_run.conf.get("region")}

        with DAG("with_params", schedule=None, start_date=datetime(2024, 1, 1), params={"n": 1}) as dag:
            PythonOperator(task_id="show", python_callable=show)
            BashOperator(task_id="echo", bash_command="echo n={{ params.n }}")
    '''))
    default = sidecar.run(dag_file, logical_date="2024-01-01")
    given = sidecar.run(dag_file, logical_date="2024-01-02", params={"n": 7}, conf={"region": "eu"})
    assert default.xcoms() == {"show": {"return_value": {"n": 1, "region": None}}, "echo": {"return_value": "n=1"}}
    assert given.xcoms() == {"show": {"return_value": {"n": 7, "region": "eu"}}, "echo": {"return_value": "n=7"}}


def test_a_dag_importing_its_own_module_runs_with_the_teams_pythonpath(tmp_path: Path, monkeypatch) -> None:
    """The team's PYTHONPATH reaches the sidecar (a DAG importing ``lib`` from its repository
    loaded nowhere before); this interpreter's own folders are left out of it."""
    (tmp_path / "repo" / "lib").mkdir(parents=True)
    (tmp_path / "repo" / "lib" / "__init__.py").write_text("def greeting():\n    return 'hello from lib'\n")
    dag_file = tmp_path / "repo" / "uses_lib.py"
    dag_file.write_text(
        "from datetime import datetime\n"
        "from airflow import DAG\n"
        "from airflow.operators.python import PythonOperator\n"
        "from lib import greeting\n\n"
        "with DAG('uses_lib', schedule=None, start_date=datetime(2024, 1, 1)) as dag:\n"
        "    PythonOperator(task_id='greet', python_callable=greeting)\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "repo"), sys.prefix]))
    with Sidecar(AIRFLOW2_PYTHON) as sc:
        result = sc.run(dag_file, logical_date="2024-02-03")
    assert result.state == "success", result.tasks
    assert result.xcoms()["greet"] == {"return_value": "hello from lib"}
