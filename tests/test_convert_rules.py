"""Before/after fixtures per construct family, plus sources that must stay unchanged.

Each case in ``tests/fixtures/convert/<name>.before.py`` has its reviewed golden output in
``<name>.after.py``. Regenerate after a deliberate change with
``INTEROP_REGOLD=1 pytest tests/test_convert_rules.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from converters import convert_source

FIXTURES = Path(__file__).parent / "fixtures" / "convert"
CASES = sorted(p.name[: -len(".before.py")] for p in FIXTURES.glob("*.before.py"))


@pytest.mark.parametrize("case", CASES)
def test_before_after(case: str) -> None:
    """The converter's output equals the reviewed golden file, and converting it again changes nothing."""
    before = (FIXTURES / f"{case}.before.py").read_text()
    result = convert_source(before, f"{case}.py")
    golden = FIXTURES / f"{case}.after.py"
    if os.environ.get("INTEROP_REGOLD"):
        golden.write_text(result.output)
    assert result.output == golden.read_text()
    compile(result.output, case, "exec")
    again = convert_source(result.output, f"{case}.py")
    assert again.status == "skipped"
    assert again.output == result.output


UNCHANGED = [
    pytest.param("import os\n\nprint(os.getcwd())\n", id="plain-module"),
    pytest.param(
        "from prefect import flow, task\n\n@task\ndef a():\n    return 1\n\n@flow\ndef f():\n    return a()\n",
        id="already-a-flow",
    ),
    pytest.param(
        "from airflow.models import Variable\n\nX = Variable.get('x', default_var=1)\n",
        id="airflow-import-but-no-dag",
    ),
]


@pytest.mark.parametrize("source", UNCHANGED)
def test_sources_without_dags_stay_unchanged(source: str) -> None:
    result = convert_source(source, "x.py")
    assert result.status == "skipped"
    assert result.output == source
    assert [f.code for f in result.findings] == ["IX002"]
