"""The converter is static: it imports and runs with neither Airflow nor Prefect importable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SCRIPT = r'''
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("airflow", "prefect", "pendulum"):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Block())
from converters import convert_file
result = convert_file(sys.argv[1])
assert result.status == "converted", result.findings
assert "airflow" not in sys.modules and "prefect" not in sys.modules
print(result.output)
'''


def test_converter_runs_without_airflow_or_prefect(tmp_path):
    dag = REPO / "tests" / "fixtures" / "convert" / "xcom_push_pull.before.py"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(dag)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "@flow(name='xcoms')" in proc.stdout


def test_converting_does_not_execute_the_dag(tmp_path):
    marker = tmp_path / "executed"
    dag = tmp_path / "side_effect.py"
    dag.write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).write_text('ran')\n"
        "from airflow import DAG\n"
        "from airflow.operators.empty import EmptyOperator\n"
        "with DAG('d') as dag:\n"
        "    EmptyOperator(task_id='e')\n"
    )
    from converters import convert_file

    result = convert_file(str(dag))
    assert result.status == "converted"
    assert not marker.exists()
