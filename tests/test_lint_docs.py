"""The rules page is generated from the rule classes and must not be stale."""

from __future__ import annotations

from pathlib import Path

from interop.lint.docs import main as docs_main
from interop.lint.docs import render_rules_page
from interop.lint.rules import ALL_RULES


def test_rules_page_is_up_to_date(repo_root: Path) -> None:
    page = (repo_root / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    assert page == render_rules_page(), "docs/lint-rules.md is stale: run `python -m interop.lint.docs`"
    assert docs_main(["--check"]) == 0


def test_rules_page_documents_every_rule() -> None:
    page = render_rules_page()
    for rule in ALL_RULES:
        assert f"### {rule.CODE} {rule.NAME}" in page
        for section in ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety"):
            assert page.count(f"#### {section}") == len(ALL_RULES)


def test_lint_guide_links_the_rules_page_and_names_every_code(repo_root: Path) -> None:
    guide = (repo_root / "docs" / "lint.md").read_text(encoding="utf-8")
    assert "lint-rules.md" in guide
    for rule in ALL_RULES:
        assert rule.CODE in guide
