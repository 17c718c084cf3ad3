"""Output formats of ``interop lint``: text, JSON, GitHub annotations, SARIF 2.1.0."""

from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Any, Sequence

from interop import __version__, console
from interop.console import REPEAT_LIMIT, lines_text, style
from interop.lint.engine import Finding, LintError, LintRun
from interop.lint.rule import LintRule

FORMATS = ("text", "json", "github", "sarif")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL_NAME = "interop-lint"
TOOL_URI = "https://pypi.org/project/airflow-interop/"


def format_text(findings: Sequence[Finding], *, fold: bool = False, color: bool = False) -> str:
    """One ``path:line:col: CODE message`` line per finding (ruff's form).

    Args:
        findings: The findings, in the order to print.
        fold: Fold more than :data:`interop.console.REPEAT_LIMIT` findings of one code and
            message in one file into one line: the first, ``CODE xN message (lines ...)``.
        color: Colour the path and the code (ANSI), for a terminal.
    """
    lines = []
    limit = REPEAT_LIMIT if fold else len(findings)
    for first, group in console.fold(findings, key=lambda f: (f.path, f.code, f.message), limit=limit):
        path = style(first.path, color, bold=True)
        code = style(first.code, color, fg="red", bold=True)
        if len(group) > 1:
            where = lines_text([f.line for f in group])
            lines.append(f"{path}:{first.line}:{first.col}: {code} x{len(group)} {first.message} ({where}; --verbose lists each)\n")
        else:
            lines.append(f"{path}:{first.line}:{first.col}: {code} {first.message}\n")
    return "".join(lines)


def format_json(findings: Sequence[Finding]) -> str:
    """``{"findings": [{"path", "line", "col", "code", "message"}, ...]}``."""
    return json.dumps({"findings": [f.as_dict() for f in findings]}, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: Sequence[Finding], errors: Sequence[LintError] = ()) -> str:
    """GitHub Actions workflow commands: ``::error file=...,line=...,col=...,title=CODE::message``.

    Files that could not be linted become annotations titled ``interop-lint``.
    """
    lines = [
        f"::error file={_escape_property(f.path)},line={f.line},col={f.col},title={_escape_property(f.code)}::{_escape_data(f.message)}"
        for f in findings
    ]
    lines += [
        f"::error file={_escape_property(e.path)},line={e.line},col={e.col},title={TOOL_NAME}::{_escape_data(e.message)}"
        for e in errors
    ]
    return "".join(line + "\n" for line in lines)


def _uri(path: str) -> str:
    p = PurePath(path)
    if p.is_absolute():
        return Path(path).as_uri()
    return p.as_posix()


def sarif_log(run: LintRun, rules: Sequence[type[LintRule]]) -> dict[str, Any]:
    """The SARIF 2.1.0 log of a lint run (one ``run``, every rule described)."""
    rules = list(rules)
    index = {r.CODE: i for i, r in enumerate(rules)}
    descriptors = [
        {
            "id": r.CODE,
            "name": "".join(part.title() for part in r.NAME.split("-")),
            "shortDescription": {"text": r.MESSAGE},
            "fullDescription": {"text": r.summary()},
            "help": {"text": r.summary(), "markdown": r.doc_markdown()},
            "defaultConfiguration": {"level": "error"},
            "properties": {"fixable": r.FIXABLE, "needsReport": r.NEEDS_REPORT},
        }
        for r in rules
    ]
    results = []
    for f in run.findings:
        result: dict[str, Any] = {
            "ruleId": f.code,
            "level": "error",
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(f.path)},
                        "region": {"startLine": f.line, "startColumn": f.col},
                    }
                }
            ],
        }
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": e.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(e.path)},
                        "region": {"startLine": e.line, "startColumn": e.col},
                    }
                }
            ],
        }
        for e in run.errors
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "informationUri": TOOL_URI,
                        "rules": descriptors,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not run.errors,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
            }
        ],
    }


def format_sarif(run: LintRun, rules: Sequence[type[LintRule]]) -> str:
    """:func:`sarif_log` as JSON text."""
    return json.dumps(sarif_log(run, rules), indent=2) + "\n"
