"""`interop convert`: outputs, exit codes, the JSON ledger, bad input, batches."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from converters import convert_source

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "convert" / "xcom_push_pull.before.py"
MARKED = REPO / "tests" / "fixtures" / "convert" / "shim_and_markers.before.py"


def interop(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "interop.cli", *args], capture_output=True, text=True, cwd=cwd or REPO
    )


def test_single_file_prints_flow_and_ledger():
    proc = interop("convert", str(FIXTURE))
    assert proc.returncode == 0, proc.stderr
    assert "@flow(name='xcoms')" in proc.stdout
    assert "converted extract (PythonOperator, line 24)" in proc.stderr
    assert "1 file(s): 1 converted" in proc.stderr


def test_report_json_shape_and_manual_exit_code(tmp_path):
    report = tmp_path / "report.json"
    proc = interop("convert", str(MARKED), "--report", str(report))
    assert proc.returncode == 1  # a task needs a hand
    data = json.loads(report.read_text())
    (entry,) = data["files"]
    assert set(entry) >= {"path", "status", "dags", "findings"}
    assert entry["status"] == "partial"
    (dag,) = entry["dags"]
    assert dag["dag_id"] == "marked"
    by_id = {t["task_id"]: t for t in dag["tasks"]}
    assert by_id["wait_for_file"]["disposition"] == "shimmed"
    assert by_id["load"]["disposition"] == "converted"  # .partial().expand() -> .map()
    assert by_id["page"]["disposition"] == "manual"  # trigger_rule=one_failed
    assert all(set(t) >= {"task_id", "operator", "line", "disposition"} for t in dag["tasks"])
    assert dag["edges"] == [["wait_for_file", "page"]]
    codes = {f["code"] for f in entry["findings"]}
    assert {"IX104", "IX501"} <= codes and "IX105" not in codes
    assert all(set(f) == {"code", "line", "message"} for f in entry["findings"])
    assert data["summary"]["tasks"] == {"converted": 1, "shimmed": 1, "manual": 1}


def test_out_mirrors_relative_paths_and_batch_survives_bad_files(tmp_path):
    src = tmp_path / "dags"
    (src / "team").mkdir(parents=True)
    (src / "team" / "etl.py").write_text(FIXTURE.read_text())
    (src / "broken.py").write_text("with DAG(:\n")
    (src / "helpers.py").write_text("X = 1\n")
    out = tmp_path / "flows"
    proc = interop("convert", str(src), "--out", str(out))
    assert proc.returncode == 2  # the syntax error
    assert (out / "team" / "etl.py").read_text().count("@flow(") == 1
    assert (out / "helpers.py").read_text() == "X = 1\n"  # no DAG: copied unchanged
    assert not (out / "broken.py").exists()
    assert "broken.py:1: IX001 syntax error" in proc.stderr
    assert "[3/3]" in proc.stderr  # progress on batches


def test_in_place_check_and_idempotence(tmp_path):
    dag = tmp_path / "etl.py"
    dag.write_text(FIXTURE.read_text())
    assert interop("convert", str(dag), "--check").returncode == 1
    assert dag.read_text() == FIXTURE.read_text()  # --check writes nothing
    assert interop("convert", str(dag), "--in-place").returncode == 0
    converted = dag.read_text()
    assert "from prefect import flow, task" in converted
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temp file
    assert interop("convert", str(dag), "--check").returncode == 0  # nothing left to change
    assert interop("convert", str(dag), "--in-place").returncode == 0
    assert dag.read_text() == converted


def test_diff_prints_unified_diff(tmp_path):
    proc = interop("convert", str(FIXTURE), "--diff")
    assert proc.returncode == 0
    assert proc.stdout.startswith("--- a/")
    assert "+@flow(name='xcoms')" in proc.stdout


@pytest.mark.parametrize(
    "content, code, needle",
    [
        pytest.param(b"", "IX004", "empty file", id="empty"),
        pytest.param(b"\x00\x01binary", "IX004", "binary file", id="binary"),
        pytest.param(b"def f(:\n  pass\n", "IX001", "syntax error", id="syntax-error"),
    ],
)
def test_bad_files_are_reported_with_code(tmp_path, content, code, needle):
    path = tmp_path / "bad.py"
    path.write_bytes(content)
    report = tmp_path / "r.json"
    proc = interop("convert", str(path), "--report", str(report))
    assert "Traceback" not in proc.stderr
    (entry,) = json.loads(report.read_text())["files"]
    assert entry["findings"][0]["code"] == code
    assert needle in entry["findings"][0]["message"]
    assert proc.returncode == (0 if code == "IX004" and content == b"" else 2)


def test_missing_file_is_an_error(tmp_path):
    proc = interop("convert", str(tmp_path / "nope.py"))
    assert proc.returncode == 2
    assert "cannot read" in proc.stderr or "no such file" in proc.stderr


FACTORY = '''
from airflow import DAG
from airflow.operators.empty import EmptyOperator

def make(name):
    with DAG(name) as dag:
        EmptyOperator(task_id="x")
    return dag

for n in ["a", "b"]:
    globals()[n] = make(n)
'''

LOOP = '''
from airflow import DAG

for n in ["a", "b"]:
    dag = DAG(f"dag_{n}")
'''


@pytest.mark.parametrize("source, line", [pytest.param(FACTORY, 6, id="factory"), pytest.param(LOOP, 5, id="loop")])
def test_dynamic_dags_are_refused_with_file_and_line(source, line):
    result = convert_source(source, "dyn.py")
    assert result.status == "failed"
    assert result.output == source
    (finding,) = result.findings
    assert finding.code == "IX003"
    assert finding.line == line
    assert "factory" in finding.message or "inside a function or a loop" in finding.message


ODD = {
    "crlf": 'from airflow import DAG\r\nfrom airflow.operators.bash import BashOperator\r\n\r\nwith DAG("crlf") as dag:\r\n    BashOperator(task_id="a", bash_command="echo 1")\r\n',
    "bom": '\ufefffrom airflow import DAG\nfrom airflow.operators.bash import BashOperator\nwith DAG("bom") as dag:\n    BashOperator(task_id="a", bash_command="echo 1")\n',
    "tabs": 'from airflow import DAG\nfrom airflow.operators.bash import BashOperator\nwith DAG("tabs") as dag:\n\tt = BashOperator(task_id="a", bash_command="echo 1")\n\tif (x := 1):\n\t\tpass\n',
    "airflow1_imports": (
        "import airflow\nfrom airflow.operators import BashOperator, PythonOperator\n"
        "def f(**kw):\n    return 1\n"
        'dag = airflow.DAG("old", schedule_interval=None)\n'
        't1 = BashOperator(task_id="b", bash_command="date", dag=dag)\n'
        't2 = PythonOperator(task_id="p", python_callable=f, provide_context=True, dag=dag)\n'
        "t1.set_downstream(t2)\n"
    ),
}


@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_but_valid_files_convert_and_compile(name):
    """CRLF line endings, a byte-order mark, tab indentation, Airflow 1.x package imports."""
    result = convert_source(ODD[name], f"{name}.py")
    assert result.status in ("converted", "partial"), result.findings
    compile(result.output, name, "exec")
    (dag,) = result.dags
    assert f"@flow(name={dag.dag_id!r})" in result.output
    assert "_2(" not in result.output  # names not bumped by a byte-order mark or strings
    if name == "crlf":
        assert "\r\n" in result.output and "\n\n" not in result.output.replace("\r\n", "")
    if name == "airflow1_imports":
        assert {t.task_id: t.kind for t in dag.tasks.values()} == {"b": "bash", "p": "python"}
        assert dag.edge_set() == [("b", "p")]
        assert "airflow" not in result.output


def test_airflow_variables_become_prefect_variables():
    source = (
        "from airflow import DAG\nfrom airflow.models import Variable\nfrom airflow.operators.python import PythonOperator\n"
        'BUCKET = Variable.get("bucket", default_var="b")\n'
        'def f():\n    return Variable.get("x", default_var=1)\n'
        'with DAG("v") as dag:\n    PythonOperator(task_id="f", python_callable=f)\n'
    )
    result = convert_source(source, "v.py")
    assert result.status == "converted", result.findings
    assert "from prefect.variables import Variable" in result.output
    assert 'Variable.get("x", default=1)' in result.output
    assert "airflow" not in result.output and "airflow_interop" not in result.output


def test_guarded_airflow_imports_are_resolved_and_dropped():
    """`try: from airflow.operators.python ... except ImportError: from ..._operator ...` (1.10/2.x compat)."""
    source = (
        "try:\n    from airflow.operators.python import PythonOperator\n"
        "except ImportError:\n    from airflow.operators.python_operator import PythonOperator\n"
        "from airflow import DAG\ndef f():\n    return 1\n"
        'with DAG("t") as dag:\n    PythonOperator(task_id="f", python_callable=f)\n'
    )
    result = convert_source(source, "t.py")
    assert result.status == "converted"
    assert [t.kind for t in result.dags[0].tasks.values()] == ["python"]
    assert "airflow" not in result.output and "try:" not in result.output
