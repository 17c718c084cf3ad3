"""Lint over converted corpora: Airflow's bundled example DAGs and ``sample_dags/``.

Every file the converter turns into a flow must lint clean except for the converter markers
it leaves on purpose (``# interop: TODO(CODE)``, reported as IXL401), listed below by code.
Each file is also linted with its own conversion report (``--report``), so IXL402 checks that
no task lost the retries or timeout its DAG task had.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import SAMPLE_DAGS, airflow_example_dag_files
from interop.lint import lint_source
from interop.lint.rules import RULES_BY_CODE

#: Converter marker codes that may stay in a converted flow: each is a construct the
#: converter leaves for a person on purpose, with a marker above the statement.
INTENDED_MARKERS = {
    "IX101": "a statement that uses Airflow objects at flow run time (TriggerRule, chain, an operator object)",
    "IX103": "branching chosen at run time (BranchPythonOperator, @task.branch, ShortCircuitOperator, "
    "BranchDateTimeOperator, BranchDayOfWeekOperator): the if/else is written by hand",
    "IX202": "an Airflow context key with no Prefect equivalent (task, partition_key)",
    "IX203": "the task instance `ti` used for more than XCom",
    "IX204": "the whole run context (`context`, `kwargs`) used as a value",
    "IX303": "a bash template that pushes an XCom from inside the command",
}

#: Corpus files that are not DAG files the converter can turn into flows, and why.
NOT_CONVERTED = {
    "example_kubernetes_executor.py": "its DAG is defined only when the kubernetes package imports (skipped: no DAG)",
    "example_local_kubernetes_executor.py": "its DAG is defined only when the kubernetes package imports (skipped: no DAG)",
    "example_params_trigger_ui.py": "dag_id computed at run time (failed: IX003)",
    "example_params_ui_tutorial.py": "dag_id computed at run time (failed: IX003)",
}

MARKER = re.compile(r"^unresolved converter marker (?P<code>[A-Z0-9]+): ")

CORPUS = [pytest.param(p, id=f"airflow/{p.name}") for p in airflow_example_dag_files()] + [
    pytest.param(p, id=f"sample_dags/{p.name}") for p in sorted(SAMPLE_DAGS.glob("*.py"))
]


def _convert(path: Path):  # type: ignore[no-untyped-def]
    from converters import convert_source

    return convert_source(path.read_text(encoding="utf-8"), str(path))


@pytest.mark.parametrize("path", CORPUS)
def test_converted_flow_lints_clean_but_for_intended_markers(path: Path) -> None:
    result = _convert(path)
    if path.name in NOT_CONVERTED:
        assert result.status in ("skipped", "failed"), f"{path.name} converts now: remove it from NOT_CONVERTED"
        return
    assert result.status in ("converted", "partial"), result.findings
    report = {"files": [result.report()], "summary": {}}
    lint = lint_source(result.output, path.name, report=report)
    assert lint.error is None
    leftovers = [f"{f.line}:{f.col} {f.code} {f.message}" for f in lint.findings if f.code != "IXL401"]
    assert leftovers == [], "lint findings in the converted flow:\n" + "\n".join(leftovers)
    marker_codes = {MARKER.match(f.message).group("code") for f in lint.findings if f.code == "IXL401"}  # type: ignore[union-attr]
    assert marker_codes <= set(INTENDED_MARKERS), f"unexpected markers: {sorted(marker_codes - set(INTENDED_MARKERS))}"
    if result.status == "converted":
        assert marker_codes == set(), "a file reported as fully converted carries markers"


def test_corpus_is_mostly_flows() -> None:
    """The test above must lint real flows, not pass on files that were never converted."""
    assert len(airflow_example_dag_files()) >= 60
    assert len(list(SAMPLE_DAGS.glob("*.py"))) >= 10
    assert len(NOT_CONVERTED) <= 4


def test_lost_retries_and_timeout_found_in_a_real_converted_flow_and_fixed() -> None:
    """IXL402 on sample_dags/retries_timeouts.py: drop options the converter wrote, lint with
    the conversion report, and let --fix put back what the DAG had."""
    result = _convert(SAMPLE_DAGS / "retries_timeouts.py")
    report = {"files": [result.report()], "summary": {}}
    options = {t["task_id"]: t["options"] for d in report["files"][0]["dags"] for t in d["tasks"]}
    assert options["fetch_invoices"]["retries"] == 5 and options["sync_ledger"]["timeout_seconds"] == 90
    edited = result.output.replace("@task(name='fetch_invoices', retries=5, retry_delay_seconds=[10, 20, 40, 80, 160], ", "@task(name='fetch_invoices', ")
    edited = edited.replace("@task(name='sync_ledger', retries=3, retry_delay_seconds=30, timeout_seconds=90, ", "@task(name='sync_ledger', retries=1, retry_delay_seconds=30, ")
    assert edited.count("@task(") == result.output.count("@task(") and edited != result.output

    only = [RULES_BY_CODE["IXL402"]]
    lint = lint_source(edited, "retries_timeouts.py", rules=only, report=report)
    assert [(f.code, f.message) for f in lint.findings] == [
        ("IXL402", "task `fetch_invoices` lost what its DAG task had: retries=5, retry_delay_seconds=[10, 20, 40, 80, 160] (from the conversion report)"),
        ("IXL402", "task `sync_ledger` lost what its DAG task had: retries=3, timeout_seconds=90 (from the conversion report)"),
    ]
    fixed = lint_source(edited, "retries_timeouts.py", rules=only, report=report, fix=True)
    assert fixed.findings == []
    assert "@task(name='fetch_invoices', timeout_seconds=300, on_failure=[airflow_callback(page_oncall)], retries=5, retry_delay_seconds=[10, 20, 40, 80, 160])" in fixed.fixed_source
    assert "@task(name='sync_ledger', retries=3, retry_delay_seconds=30, on_failure=[airflow_callback(page_oncall)], timeout_seconds=90)" in fixed.fixed_source
    # the unedited conversion keeps everything: nothing to report
    assert lint_source(result.output, "retries_timeouts.py", rules=only, report=report).findings == []
