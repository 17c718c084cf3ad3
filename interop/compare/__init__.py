"""``interop compare``: run a DAG and its converted flow and prove (or disprove) they agree.

Python API::

    from interop.compare import compare_paths, write_reports
    comparisons = compare_paths(["sample_dags"], logical_date="2024-01-15")
    write_reports(comparisons, "compare-out")

Modules: :mod:`~interop.compare.engine` (running both sides), :mod:`~interop.compare.dag_side`,
:mod:`~interop.compare.flow_side`, :mod:`~interop.compare.graph` (networkx),
:mod:`~interop.compare.values`, :mod:`~interop.compare.model` (pydantic),
:mod:`~interop.compare.report` and :mod:`~interop.compare.svg` (JSON, Markdown, HTML),
:mod:`~interop.compare.isolate` (a worker process per batch, with a time limit per file),
:mod:`~interop.compare.browser` (headless Chromium check of a report).
"""

from __future__ import annotations

from typing import Any

__all__ = ["compare_file", "compare_paths", "write_reports", "DagComparison"]


def __getattr__(name: str) -> Any:
    if name in ("compare_file", "compare_paths"):
        from interop.compare import engine

        return getattr(engine, name)
    if name == "write_reports":
        from interop.compare.report import write_reports

        return write_reports
    if name == "DagComparison":
        from interop.compare.model import DagComparison

        return DagComparison
    raise AttributeError(name)
