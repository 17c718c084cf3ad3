"""Conformance: every DAG file among Airflow's own bundled examples converts without a crash,
the output compiles, and converting the output again changes nothing."""

from __future__ import annotations

from collections import Counter

import pytest

from converters import convert_file, convert_source
from tests.conftest import airflow_example_dag_files

FILES = airflow_example_dag_files()


def test_corpus_is_present():
    assert len(FILES) >= 60


@pytest.fixture(scope="module")
def results():
    return {f.name: convert_file(str(f)) for f in FILES}


def test_every_example_converts_compiles_and_is_idempotent(results):
    dispositions: Counter = Counter()
    statuses: Counter = Counter()
    for name, result in results.items():
        statuses[result.status] += 1
        assert not result.error, (name, [f.message for f in result.findings])
        assert not any(f.code == "IX999" for f in result.findings), name
        compile(result.output, name, "exec")
        if result.status in ("converted", "partial"):
            again = convert_source(result.output, name)
            assert again.output == result.output, name
        for dag in result.dags:
            for task in dag.tasks.values():
                dispositions[task.report()["disposition"]] += 1
    print(f"\nbundled examples: {dict(statuses)}; tasks: {dict(dispositions)}")
    assert statuses["converted"] + statuses["partial"] >= 50
    # nothing is refused: the two examples whose dag_id is the file's name (Path(__file__).stem) convert
    assert [n for n, r in results.items() if r.status == "failed"] == []
    assert results["example_params_trigger_ui.py"].dags[0].dag_id == "example_params_trigger_ui"
