"""Output formats: SARIF 2.1.0 against the official schema, GitHub annotations, text."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from interop.cli import main
from interop.lint import Finding, LintError, lint_paths
from interop.lint.engine import all_rules
from interop.lint.formats import format_github, format_text, sarif_log

SCHEMA = json.loads((Path(__file__).parent / "lint_fixtures" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))

FLOW = textwrap.dedent(
    """\
    from airflow.sdk import Variable
    from prefect import flow, task


    @task
    def extract(ti=None):
        value = ti.xcom_pull(task_ids="start"), Variable.get("x"), "{{ ds }}"
        # interop: TODO(IX101): on_failure_callback not converted
        print("cleanup")
        return value


    @flow
    def etl():
        extract.submit()
    """
)


def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(SCHEMA)
    cls.check_schema(SCHEMA)
    return cls(SCHEMA, format_checker=cls.FORMAT_CHECKER)


def test_bundled_schema_is_the_official_sarif_2_1_0_schema() -> None:
    assert SCHEMA["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]
    assert len(SCHEMA["definitions"]) == 52


def test_sarif_output_validates_against_the_sarif_2_1_0_schema(tmp_path: Path) -> None:
    flow = tmp_path / "etl.py"
    flow.write_text(FLOW, encoding="utf-8")
    broken = tmp_path / "broken.py"
    broken.write_text("def (\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["lint", "--format", "sarif", str(flow), str(broken)])
    assert result.exit_code == 2
    log = json.loads(result.stdout)
    _validator().validate(log)
    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "interop-lint"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [r.CODE for r in all_rules()]
    codes = [r["ruleId"] for r in run["results"]]
    assert codes == ["IXL101", "IXL104", "IXL106", "IXL401", "IXL203"]
    for r in run["results"]:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert "cannot parse" in note["message"]["text"]
    assert run["invocations"][0]["executionSuccessful"] is False


def test_sarif_of_a_clean_run_validates(tmp_path: Path) -> None:
    clean = tmp_path / "clean.py"
    clean.write_text("from prefect import flow\n\n\n@flow\ndef etl():\n    return 1\n", encoding="utf-8")
    log = sarif_log(lint_paths([clean]), all_rules())
    _validator().validate(log)
    assert log["runs"][0]["results"] == []


def test_schema_rejects_a_broken_log() -> None:
    """The validator is real: a result without a message is not SARIF."""
    log = sarif_log(lint_paths([]), all_rules())
    log["runs"][0]["results"] = [{"ruleId": "IXL101"}]
    with pytest.raises(jsonschema.ValidationError):
        _validator().validate(log)


GITHUB_LINE = re.compile(r"^::error file=([^,:]+),line=(\d+),col=(\d+),title=([A-Z0-9-a-z]+)::(.+)$")


def test_github_annotations(tmp_path: Path) -> None:
    flow = tmp_path / "etl.py"
    flow.write_text(FLOW, encoding="utf-8")
    result = CliRunner().invoke(main, ["lint", "--format", "github", str(flow)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    for line in lines:
        m = GITHUB_LINE.match(line)
        assert m, line
        assert m.group(1) == str(flow)
    # message text is not escaped beyond %, CR and LF (":" and "," only in properties)
    assert lines[0] == f"::error file={flow},line=1,col=1,title=IXL101::Airflow import left in a flow file: `airflow.sdk.Variable` still used by flow code"


def test_github_escaping() -> None:
    findings = [Finding("dir,x/a:b.py", 3, 4, "IXL999", "50% done\nsecond line")]
    errors = [LintError("bad.py", 2, 1, "cannot parse: x")]
    assert format_github(findings, errors) == (
        "::error file=dir%2Cx/a%3Ab.py,line=3,col=4,title=IXL999::50%25 done%0Asecond line\n"
        "::error file=bad.py,line=2,col=1,title=interop-lint::cannot parse: x\n"
    )


def test_text_format() -> None:
    assert format_text([Finding("a.py", 1, 2, "IXL101", "msg")]) == "a.py:1:2: IXL101 msg\n"
