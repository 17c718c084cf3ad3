"""Every rule is tested by its own examples (``converters.rules``), and the docs generated from
the rule classes and the code table are current."""

from __future__ import annotations

import pytest

from converters import convert_source
from converters.contract import main as contract_main
from converters.rules import Example, all_rules

CASES = [
    pytest.param(example, id=f"{rule.__name__}-{i}-{example.kind}")
    for rule in all_rules()
    for i, example in enumerate(rule.EXAMPLES)
]


@pytest.mark.parametrize("example", CASES)
def test_rule_example(example: Example) -> None:
    result = convert_source(example.text, "example.py")
    codes = [f.code for f in result.findings]
    if example.kind == "refuses":
        assert result.status == "failed" and not result.error, codes
        assert example.expect[0] in codes
        assert result.output == example.text and result.report()["dags"] == []
        return
    assert result.status in ("converted", "partial"), [f.as_dict() for f in result.findings]
    compile(result.output, "example.py", "exec")
    assert convert_source(result.output, "example.py").output == result.output  # idempotent
    if example.kind == "marks":
        assert example.expect[0] in codes and f"# interop: TODO({example.expect[0]})" in result.output
        return
    for fragment in example.expect:
        assert fragment in result.output, f"{fragment!r} not in:\n{result.output}"


def test_every_rule_has_examples_and_a_docstring() -> None:
    for rule in all_rules():
        assert rule.EXAMPLES and rule.summary(), rule.__name__


def test_generated_docs_are_current() -> None:
    assert contract_main(["--check"]) == 0, "run: python -m converters.contract"
