"""``interop lint``: a CI gate for converted Prefect flows.

Python API::

    from interop.lint import lint_paths, lint_source

    run = lint_paths(["flows/"], report="conversion.json")
    for finding in run.findings:
        print(finding.path, finding.line, finding.col, finding.code, finding.message)
    run.exit_code  # 0 clean, 1 findings, 2 errors

Rules live in :mod:`interop.lint.rules` (one class each, see ``docs/lint-rules.md``).
"""

from __future__ import annotations

from interop.lint.engine import FileResult, Finding, LintError, LintRun, all_rules, lint_paths, lint_source, load_report
from interop.lint.rule import Invalid, LintRule, Valid

__all__ = [
    "FileResult",
    "Finding",
    "Invalid",
    "LintError",
    "LintRule",
    "LintRun",
    "Valid",
    "all_rules",
    "lint_paths",
    "lint_source",
    "load_report",
]
