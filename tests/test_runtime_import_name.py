"""Converted code imports its runtime as ``airflow_interop.runtime`` (issue 11).

The folder ``shims/`` installs as the package ``airflow_interop``, and nothing installs a
package named ``shims``: a team's own ``shims/`` folder on ``sys.path`` (Airflow puts the dags
folder there) no longer shadows what converted flows import. These tests run a converted flow
from such a folder on real Prefect against what Airflow's own run of the DAG produced, build the
wheel and import its runtime from beside a hostile ``shims/``, and hold the converter's runtime
names, lint's table and the runtime's ``__all__`` together.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from converters import convert_file

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_dags"
LOGICAL_DATE = "2024-01-15"

#: a team's own ``shims`` package: importing its ``runtime`` or ``operator`` fails loudly
TEAM_SHIMS = {
    "__init__.py": '"""The team\'s own helpers, nothing to do with airflow-interop."""\n',
    "runtime.py": 'raise ImportError("the team\'s own shims.runtime was imported")\n',
    "operator.py": 'raise ImportError("the team\'s own shims.operator was imported")\n',
}

RUN_FLOW = r"""
import importlib, json, sys
from prefect import Flow

module_name, dag_id, logical_date = sys.argv[1:4]
try:
    import shims.runtime
except ImportError as exc:
    shadow = str(exc)
else:
    shadow = None
module = importlib.import_module(module_name)
(flow,) = [f for f in vars(module).values() if isinstance(f, Flow) and f.name == dag_id]
results = flow(logical_date=logical_date)
import airflow_interop.runtime
print(json.dumps({"shadow": shadow, "results": results, "runtime": airflow_interop.runtime.__file__}, default=str))
"""


def _team_folder(tmp_path: Path, sample: str) -> Path:
    """A team's dags folder: the sample DAG with its ``plugins``, and the team's own ``shims/``."""
    team = tmp_path / "dags"
    team.mkdir()
    shutil.copy(SAMPLES / f"{sample}.py", team)
    shutil.copytree(SAMPLES / "plugins", team / "plugins")
    (team / "shims").mkdir()
    for name, text in TEAM_SHIMS.items():
        (team / "shims" / name).write_text(text)
    return team


@pytest.mark.prefect
@pytest.mark.parametrize(
    "sample, dag_id",
    [
        pytest.param("provider_shimmed", "shipments_inhouse_operator", id="operator-shim"),
        pytest.param("bash_templating", "market_data_bash", id="render-template"),
    ],
)
def test_converted_flow_runs_beside_a_team_shims_package(sample, dag_id, tmp_path, prefect_server):
    """A flow that needs the runtime runs from a folder holding the team's own ``shims/``
    (first on ``sys.path``), and every task returns what Airflow's run of the DAG pushed."""
    from airflow_truth import dag_truth
    from prefect.settings import PREFECT_API_URL

    team = _team_folder(tmp_path, sample)
    converted = convert_file(str(team / f"{sample}.py"))
    assert converted.status == "converted", converted.findings
    assert "from airflow_interop.runtime import " in converted.output
    assert "import shims" not in converted.output and "from shims" not in converted.output
    (team / f"converted_{sample}.py").write_text(converted.output)
    truth = dag_truth(SAMPLES / f"{sample}.py", dag_id, LOGICAL_DATE)

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(team), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", RUN_FLOW, f"converted_{sample}", dag_id, LOGICAL_DATE],
        cwd=team, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["shadow"] == "the team's own shims.runtime was imported"  # the team's folder is there, first
    assert Path(out["runtime"]).resolve() == (REPO / "shims" / "runtime.py").resolve()
    plain = lambda value: json.loads(json.dumps(value, default=str))  # noqa: E731
    compared = 0
    for task_id, airflow in truth["tasks"].items():
        xcoms = plain(airflow["xcoms"])
        if airflow["state"] == "success" and "return_value" in xcoms:
            # the task's return value; a task that pushed several keys returns them all (a dict)
            expected = xcoms["return_value"] if list(xcoms) == ["return_value"] else xcoms
            assert plain(out["results"][task_id]) == expected, task_id
            compared += 1
    assert compared >= 2, truth["tasks"]


def _packages(folder: Path) -> set[str]:
    return {str(p.parent.relative_to(folder.parent)) for p in folder.rglob("__init__.py")}


def test_wheel_installs_the_runtime_as_airflow_interop(tmp_path):
    """The wheel holds ``shims/`` as ``airflow_interop`` (every subpackage, nothing named
    ``shims``), and its runtime imports from a folder that holds a team's ``shims/``."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # built from a copy: setuptools leaves build/ and *.egg-info/ beside pyproject.toml
    src = tmp_path / "src"
    for name in ("pyproject.toml", "README.md"):
        (src / name).parent.mkdir(exist_ok=True)
        shutil.copy(REPO / name, src / name)
    for name in ("shims", "interop", "converters"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = subprocess.run([*pip, "wheel", str(src), "--no-deps", "-w", str(wheels)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("airflow_interop-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        files = set(zf.namelist())
        top_level = {line for name in files if name.endswith(".dist-info/top_level.txt") for line in zf.read(name).decode().split()}
        runtime = zf.read("airflow_interop/runtime.py")
    assert top_level == {"airflow_interop", "converters", "interop"}
    assert not [f for f in files if f.startswith("shims/")]
    assert runtime == (REPO / "shims" / "runtime.py").read_bytes()
    # the explicit package list in pyproject misses no folder of the repository
    expected = {p.replace("shims", "airflow_interop", 1) for p in _packages(REPO / "shims")}
    expected |= _packages(REPO / "interop") | _packages(REPO / "converters")
    assert {f"{pkg}/__init__.py" for pkg in expected} <= files, sorted({f"{pkg}/__init__.py" for pkg in expected} - files)

    site = tmp_path / "site"
    installed = subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    team = tmp_path / "team"
    (team / "shims").mkdir(parents=True)
    for name, text in TEAM_SHIMS.items():
        (team / "shims" / name).write_text(text)
    code = (
        "import sys, airflow_interop.runtime as rt\n"
        "assert rt.TaskSkipped is sys.modules['airflow_interop.operator'].TaskSkipped\n"
        "print(rt.__file__)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'prefect', 'shims')))\n"
        "print(rt.render_template('{{ macros.ds_add(ds, 1) }}', rt.airflow_context('2024-01-31')))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(team), str(site)])}
    proc = subprocess.run([sys.executable, "-c", code], cwd=team, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    origin, imported, rendered = proc.stdout.split("\n")[:3]
    assert Path(origin) == site / "airflow_interop" / "runtime.py"
    assert imported == "[]"  # importing the runtime loads neither the team's shims, nor Airflow, nor Prefect
    assert rendered == "2024-02-01"


def test_this_environment_imports_this_repository():
    """The installed distribution maps ``airflow_interop`` to this repository's ``shims/``
    (``pip install -e .``; a worktree needs its own install: scripts/worktree-venv)."""
    from importlib import metadata

    dist = metadata.distribution("airflow-interop")
    assert set((dist.read_text("top_level.txt") or "").split()) == {"airflow_interop", "converters", "interop"}
    origin = Path(importlib.util.find_spec("airflow_interop.runtime").origin).resolve()
    assert origin == (REPO / "shims" / "runtime.py").resolve(), (
        f"airflow_interop imports from {origin.parent}, not from this repository's shims/: "
        "run scripts/setup-dev (or scripts/worktree-venv in a git worktree)"
    )


def test_runtime_exports_every_name_the_converter_and_lint_know():
    """``airflow_interop.runtime.__all__`` is the names converted code may import: every name a
    rule declares (``plan.need``) and lint's table of runtime names."""
    import re

    import airflow_interop.runtime as runtime
    from interop.lint import names

    needed = set()
    for path in (REPO / "converters").glob("*.py"):
        needed |= set(re.findall(r'need\(\s*"airflow_interop\.runtime",\s*"(\w+)"', path.read_text()))
    assert needed and needed <= set(runtime.__all__), needed - set(runtime.__all__)
    assert set(runtime.__all__) == names.RUNTIME_NAMES
    assert all(hasattr(runtime, name) for name in runtime.__all__)


def test_lint_moves_an_earlier_output_to_the_new_name():
    """An output of an earlier version (``from shims.runtime import ...``) gets IXL404, and
    ``interop lint --fix`` moves it to ``airflow_interop.runtime`` (LegacyRuntimeImport)."""
    from interop.lint import lint_source

    current = convert_file(str(SAMPLES / "provider_shimmed.py")).output
    old = current.replace("from airflow_interop.runtime import ", "from shims.runtime import ")  # LegacyRuntimeImport
    assert old != current
    assert [f.code for f in lint_source(old, "flow.py").findings if f.code == "IXL404"] == ["IXL404"]
    assert lint_source(old, "flow.py", fix=True).fixed_source == current
