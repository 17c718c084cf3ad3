"""Generate ``docs/lint-rules.md`` from the rule classes.

Run ``python -m interop.lint.docs`` after changing a rule; a test fails while the checked-in
page differs from what this module renders.
"""

from __future__ import annotations

import sys
from pathlib import Path

from interop.lint.rule import LintRule

FAMILIES = {
    "IXL1": "Airflow leftovers",
    "IXL2": "Dependencies and concurrency",
    "IXL3": "Reproducibility",
    "IXL4": "Migration completeness",
}
PAGE = Path(__file__).resolve().parents[2] / "docs" / "lint-rules.md"


def _anchor(rule: type[LintRule]) -> str:
    return f"{rule.CODE.lower()}-{rule.NAME}"


def render_rules_page(rules: list[type[LintRule]] | None = None) -> str:
    """The Markdown of the rules page."""
    if rules is None:
        from interop.lint.rules import ALL_RULES

        rules = list(ALL_RULES)
    out = [
        "# Lint rules",
        "",
        "<!-- Generated from the rule classes in interop/lint/rules/ by `python -m interop.lint.docs`.",
        "     Do not edit: a test fails when this page is stale. -->",
        "",
        "Every rule below is one class; its examples are embedded in the class and run as tests.",
        "See [the lint guide](lint.md) for how to run `interop lint`, suppress findings and configure it.",
        "",
        "| Code | Name | What it reports | Fix | Needs `--report` |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rules:
        fix = "safe fix" if r.FIXABLE else "-"
        needs = "yes" if r.NEEDS_REPORT else "-"
        out.append(f"| [{r.CODE}](#{_anchor(r)}) | `{r.NAME}` | {r.MESSAGE} | {fix} | {needs} |")
    out.append("")
    current_family = None
    for r in rules:
        family = r.CODE[:4]
        if family != current_family:
            current_family = family
            out += [f"## {family}xx: {FAMILIES.get(family, 'Other')}", ""]
        out += [f"### {r.CODE} {r.NAME}", ""]
        out += [f"Message: {r.MESSAGE}.", ""]
        flags = ["fixable with `--fix`" if r.FIXABLE else "no automatic fix"]
        if r.NEEDS_REPORT:
            flags.append("runs only with `--report CONVERSION_REPORT`")
        out += [f"*{'; '.join(flags)}.*", ""]
        for heading, body in r.doc_sections().items():
            title = heading + "?" if heading.startswith("Why") else heading
            out += [f"#### {title}", "", body.strip(), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the page (or with ``--check``, exit 1 when it is stale)."""
    argv = sys.argv[1:] if argv is None else argv
    text = render_rules_page()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE} is stale: run `python -m interop.lint.docs`", file=sys.stderr)
            return 1
        return 0
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
