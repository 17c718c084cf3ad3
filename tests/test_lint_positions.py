"""The targeted position tracker gives exactly libcst's ``PositionProvider`` ranges."""

from __future__ import annotations

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from conftest import SAMPLE_DAGS, airflow_example_dag_files
from interop.lint.positions import node_ranges

FILES = airflow_example_dag_files()[::6] + sorted(SAMPLE_DAGS.glob("*.py"))[:3]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_ranges_match_position_provider_for_every_node(path) -> None:  # type: ignore[no-untyped-def]
    module = cst.parse_module(path.read_text(encoding="utf-8"))
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = list(expected.keys())
    assert len(nodes) > 50
    got = node_ranges(module, nodes)
    for node in nodes:
        r = expected[node]
        assert got[id(node)] == ((r.start.line, r.start.column), (r.end.line, r.end.column)), type(node).__name__


def test_ranges_of_a_few_nodes_and_crlf() -> None:
    module = cst.parse_module("import os\r\n\r\nx = (\r\n    os.sep,\r\n)  # c\r\n")
    assign = module.body[1].body[0]
    attr = assign.value.elements[0].value
    got = node_ranges(module, [assign, attr])
    assert got[id(assign)] == ((3, 0), (5, 1))
    assert got[id(attr)] == ((4, 4), (4, 10))
    assert node_ranges(module, []) == {}


def test_read_only_walk_reports_exactly_what_libcst_visit_reports(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The engine's read-only traversal against libcst's own batched visit, every rule, on
    Airflow's example DAGs as they are (full of findings) and on the sample DAGs."""
    from interop.lint import engine, lint_source

    from interop.lint.rules import ALL_RULES

    files = airflow_example_dag_files() + sorted(SAMPLE_DAGS.glob("*.py"))
    sources = [(p.name, p.read_text(encoding="utf-8")) for p in files]
    sources += [(f"{r.CODE}-{i}", ex.code) for r in ALL_RULES for i, ex in enumerate([*r.VALID, *r.INVALID])]
    walked = [lint_source(text, name).findings for name, text in sources]
    monkeypatch.setattr(engine, "TRAVERSAL", "libcst")
    visited = [lint_source(text, name).findings for name, text in sources]
    assert walked == visited
    assert sum(len(f) for f in walked) > 300
