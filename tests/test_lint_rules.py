"""Tests generated from the rules' embedded examples (the Fixit model).

Every rule is tested by construction: each ``VALID`` example must lint clean, each
``INVALID`` example must be reported (at its ``line`` when given), each
``expected_replacement`` is what ``--fix`` writes, and each docstring's ``Example`` /
``Use instead`` blocks behave as the docs say.
"""

from __future__ import annotations

import re

import pytest

from interop.lint import lint_source
from interop.lint.rule import LintRule, python_blocks
from interop.lint.rules import ALL_RULES

VALID_CASES = [
    pytest.param(rule, i, example, id=f"{rule.CODE}-valid-{i}")
    for rule in ALL_RULES
    for i, example in enumerate(rule.VALID)
]
INVALID_CASES = [
    pytest.param(rule, i, example, id=f"{rule.CODE}-invalid-{i}")
    for rule in ALL_RULES
    for i, example in enumerate(rule.INVALID)
]
FIX_CASES = [
    pytest.param(rule, i, example, id=f"{rule.CODE}-fix-{i}")
    for rule in ALL_RULES
    for i, example in enumerate(rule.INVALID)
    if example.expected_replacement is not None
]
NO_FIX_CASES = [
    pytest.param(rule, i, example, id=f"{rule.CODE}-nofix-{i}")
    for rule in ALL_RULES
    for i, example in enumerate(rule.INVALID)
    if example.expected_replacement is None
]


@pytest.mark.parametrize(("rule", "index", "example"), VALID_CASES)
def test_valid_example_is_not_reported(rule: type[LintRule], index: int, example) -> None:
    result = lint_source(example.code, f"valid_{index}.py", rules=[rule], report=example.report)
    assert result.error is None
    assert result.findings == []


@pytest.mark.parametrize(("rule", "index", "example"), INVALID_CASES)
def test_invalid_example_is_reported(rule: type[LintRule], index: int, example) -> None:
    result = lint_source(example.code, f"invalid_{index}.py", rules=[rule], report=example.report)
    assert result.error is None
    assert result.findings, f"{rule.CODE} did not report:\n{example.code}"
    assert {f.code for f in result.findings} == {rule.CODE}
    if example.line is not None:
        assert result.findings[0].line == example.line
    for f in result.findings:
        assert f.message and f.col >= 1


@pytest.mark.parametrize(("rule", "index", "example"), INVALID_CASES)
def test_invalid_example_is_suppressed_by_ignore_comment(rule: type[LintRule], index: int, example) -> None:
    """``# interop: ignore[CODE]`` alone on the line above each finding silences it."""
    result = lint_source(example.code, rules=[rule], report=example.report)
    lines = example.code.split("\n")
    for line in sorted({f.line for f in result.findings}, reverse=True):
        target = lines[line - 1]
        indent = target[: len(target) - len(target.lstrip())]
        lines.insert(line - 1, f"{indent}# interop: ignore[{rule.CODE}]")
    suppressed = lint_source("\n".join(lines), rules=[rule], report=example.report)
    assert suppressed.error is None
    assert suppressed.findings == []


@pytest.mark.parametrize(("rule", "index", "example"), FIX_CASES)
def test_fix_gives_expected_replacement(rule: type[LintRule], index: int, example) -> None:
    fixed = lint_source(example.code, rules=[rule], report=example.report, fix=True)
    assert fixed.fixed_source == example.expected_replacement
    assert fixed.fixes_applied >= 1
    # the fix resolves what it was for, and fixing again changes nothing
    assert fixed.findings == []
    again = lint_source(fixed.fixed_source, rules=[rule], report=example.report, fix=True)
    assert again.fixed_source is None and again.findings == []
    compile(fixed.fixed_source, "<fixed>", "exec")


@pytest.mark.parametrize(("rule", "index", "example"), NO_FIX_CASES)
def test_fix_leaves_examples_without_replacement_unchanged(rule: type[LintRule], index: int, example) -> None:
    fixed = lint_source(example.code, rules=[rule], report=example.report, fix=True)
    assert fixed.fixed_source is None
    assert fixed.findings == lint_source(example.code, rules=[rule], report=example.report).findings


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.CODE)
def test_rule_is_documented_and_complete(rule: type[LintRule]) -> None:
    assert re.fullmatch(r"IXL[1-4]\d\d", rule.CODE)
    assert re.fullmatch(r"[a-z]+(-[a-z]+)+", rule.NAME)
    assert rule.MESSAGE
    sections = rule.doc_sections()
    assert list(sections) == ["What it does", "Why is this bad", "Example", "Use instead", "Fix safety"]
    assert rule.VALID and rule.INVALID
    has_fix_example = any(ex.expected_replacement is not None for ex in rule.INVALID)
    assert has_fix_example == rule.FIXABLE, "a fixable rule shows its fix; a rule without fix shows none"
    assert ("Safe" in sections["Fix safety"]) == rule.FIXABLE


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.CODE)
def test_docstring_example_and_use_instead_behave_as_documented(rule: type[LintRule]) -> None:
    sections = rule.doc_sections()
    report = next((ex.report for ex in rule.INVALID if ex.report is not None), None)
    (example,) = python_blocks(sections["Example"])
    (use_instead,) = python_blocks(sections["Use instead"])
    assert {f.code for f in lint_source(example, rules=[rule], report=report).findings} == {rule.CODE}
    assert lint_source(use_instead, rules=[rule], report=report).findings == []


def test_codes_and_names_are_unique() -> None:
    assert len({r.CODE for r in ALL_RULES}) == len(ALL_RULES)
    assert len({r.NAME for r in ALL_RULES}) == len(ALL_RULES)
    families = {r.CODE[:4] for r in ALL_RULES}
    assert families == {"IXL1", "IXL2", "IXL3", "IXL4"}
