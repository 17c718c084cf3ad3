"""``interop lint`` end to end: exit codes, folders, errors, suppressions, --fix, --report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from interop.cli import main
from interop.lint import lint_paths, lint_source

LEFTOVERS = textwrap.dedent(
    """\
    from airflow.models import Variable
    from prefect import flow, task


    @task
    def extract():
        return Variable.get("bucket")


    @task
    def load(rows, ti=None):
        previous = ti.xcom_pull(task_ids="extract")
        return run("load.sh {{ ds }}", rows, previous)


    @flow(name="etl")
    def etl():
        a = extract.submit()
        b = load.submit(a)
        a >> b
        return b
    """
)

CLEAN = textwrap.dedent(
    """\
    from prefect import flow, task


    @task(name="extract", retries=2)
    def extract():
        return [1, 2, 3]


    @task(name="load")
    def load(rows):
        return len(rows)


    @flow(name="etl")
    def etl():
        return load(extract())
    """
)


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["lint", *args])
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_flow_with_airflow_leftovers_exits_1_with_a_finding_for_each(tmp_path: Path) -> None:
    """The issue's acceptance case, through the real console script."""
    flow = write(tmp_path / "etl_flow.py", LEFTOVERS)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "interop"), "lint", str(flow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    by_code = {line.split(" ")[1]: line for line in lines}
    assert by_code["IXL101"].startswith(f"{flow}:1:1: IXL101 ")  # the airflow import
    assert by_code["IXL104"].startswith(f"{flow}:12:16: IXL104 ")  # ti.xcom_pull
    assert "`{{ ds }}`" in by_code["IXL106"] and by_code["IXL106"].startswith(f"{flow}:13:16: ")
    assert by_code["IXL201"].startswith(f"{flow}:20:5: IXL201 ")  # a >> b
    assert len(lines) == 4


def test_clean_file_exits_0_and_prints_nothing(tmp_path: Path) -> None:
    flow = write(tmp_path / "clean.py", CLEAN)
    code, out, err = run_cli(str(flow))
    assert code == 0
    assert out == ""
    assert "0 findings in 1 file" in err


def test_folders_are_walked_and_hidden_folders_skipped(tmp_path: Path) -> None:
    write(tmp_path / "flows" / "a.py", CLEAN)
    write(tmp_path / "flows" / "nested" / "b.py", LEFTOVERS)
    write(tmp_path / "flows" / ".venv" / "c.py", LEFTOVERS)
    write(tmp_path / "flows" / "__pycache__" / "d.py", LEFTOVERS)
    write(tmp_path / "flows" / "notes.txt", "{{ ds }}")
    run = lint_paths([tmp_path / "flows"])
    assert [r.path for r in run.files] == [str(tmp_path / "flows" / "a.py"), str(tmp_path / "flows" / "nested" / "b.py")]
    assert {f.path for f in run.findings} == {str(tmp_path / "flows" / "nested" / "b.py")}
    assert run.exit_code == 1


def test_unparsable_file_is_an_error_with_file_and_line_and_others_are_still_linted(tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.py", "from prefect import flow\n\n\ndef f(:\n    pass\n")
    flow = write(tmp_path / "etl.py", LEFTOVERS)
    code, out, err = run_cli(str(broken), str(flow))
    assert code == 2
    assert f"{broken}:4:7: error: cannot parse: " in err
    assert f"{flow}:1:1: IXL101" in out  # the other file was linted


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    code, _, err = run_cli(str(tmp_path / "nope.py"))
    assert code == 2
    assert f"{tmp_path / 'nope.py'}:1:1: error: no such file or directory" in err


def test_json_output_has_exactly_the_documented_shape(tmp_path: Path) -> None:
    flow = write(tmp_path / "etl.py", LEFTOVERS)
    code, out, _ = run_cli("--format", "json", str(flow))
    assert code == 1
    data = json.loads(out)
    assert list(data) == ["findings"]
    assert len(data["findings"]) == 4
    for f in data["findings"]:
        assert list(f) == ["path", "line", "col", "code", "message"]
        assert f["path"] == str(flow)
        assert isinstance(f["line"], int) and isinstance(f["col"], int)
    assert [f["code"] for f in data["findings"]] == ["IXL101", "IXL104", "IXL106", "IXL201"]


def test_json_output_of_a_clean_run(tmp_path: Path) -> None:
    flow = write(tmp_path / "clean.py", CLEAN)
    code, out, _ = run_cli("--format", "json", str(flow))
    assert (code, json.loads(out)) == (0, {"findings": []})


SUPPRESSED = textwrap.dedent(
    """\
    from datetime import datetime

    from prefect import flow


    @flow
    def etl():
        a = datetime.today()  # interop: ignore[IXL301]
        # interop: ignore[IXL106, IXL301]
        b = (datetime.today(), "{{ ds }}")
        c = datetime.today()  # interop: ignore
        d = datetime.today()  # interop: ignore[IXL101]
        e = datetime.today()
        return a, b, c, d, e
    """
)


def test_ignore_comments_on_the_line_or_alone_on_the_line_above() -> None:
    result = lint_source(SUPPRESSED, "etl.py")
    # d: ignores another code; e: the comment on d's line does not reach the next line
    assert [(f.line, f.code) for f in result.findings] == [(12, "IXL301"), (13, "IXL301")]


def test_converter_markers_are_reported_with_their_code_and_message() -> None:
    source = textwrap.dedent(
        """\
        from prefect import flow


        @flow(name="etl")
        def etl():
            # interop: TODO(IX203): trigger_rule="one_failed" kept as a comment
            return 1
        """
    )
    (finding,) = lint_source(source, "etl.py").findings
    assert (finding.line, finding.col, finding.code) == (6, 5, "IXL401")
    assert finding.message == 'unresolved converter marker IX203: trigger_rule="one_failed" kept as a comment'


MARKED = textwrap.dedent(
    """\
    from airflow.sdk import TriggerRule
    from airflow.sdk import Variable
    from prefect import flow


    @flow(name="etl")
    def etl():
        # interop: TODO(IX101): statement uses Airflow objects (TriggerRule) at flow run time; convert it by hand
        wire(
            "1",
            TriggerRule.ALL_SUCCESS,
            "{{ ds }}",
        )
        return Variable.get("x")
    """
)


def test_a_marker_speaks_for_the_statement_below_it_and_imports_used_only_there() -> None:
    result = lint_source(MARKED, "etl.py")
    assert [(f.line, f.code) for f in result.findings] == [(2, "IXL101"), (8, "IXL401")]
    assert "`airflow.sdk.Variable`" in result.findings[0].message
    # with the marker suppressed, what it covered is reported again
    unmarked = lint_source(MARKED.replace("    # interop: TODO", "    # interop: ignore[IXL401]\n    # interop: TODO"), "etl.py")
    assert [(f.line, f.code) for f in unmarked.findings] == [(1, "IXL101"), (2, "IXL101"), (13, "IXL106")]


def test_a_marker_speaks_for_helpers_and_variables_only_the_marked_statements_use() -> None:
    source = textwrap.dedent(
        """\
        from airflow.providers.standard.operators.empty import EmptyOperator
        from prefect import flow


        def wire(suffix):
            first = EmptyOperator(task_id=f"a_{suffix}")
            second = EmptyOperator(task_id=f"b_{suffix}")
            first >> second


        def used_twice():
            return EmptyOperator(task_id="c")


        @flow(name="etl")
        def etl():
            template = "{{ ds }}"
            # interop: TODO(IX101): statement uses Airflow objects (EmptyOperator) at flow run time
            wire(template)
            # interop: TODO(IX101): statement uses Airflow objects at flow run time
            wire("2")
            return used_twice()
        """
    )
    found = [(f.line, f.code) for f in lint_source(source, "w.py").findings]
    # wire() and `template` are used only under markers; used_twice() is also used unmarked
    assert found == [(1, "IXL101"), (12, "IXL103"), (18, "IXL401"), (20, "IXL401")]


def test_a_marker_above_an_import_speaks_for_it() -> None:
    source = textwrap.dedent(
        """\
        import pendulum
        # interop: TODO(IX110): Airflow name(s) WeekDay still used by the flow's own code; replace them

        from airflow.providers.standard.utils.weekday import WeekDay
        from prefect import task


        @task
        def weekend(day):
            return day in (WeekDay.SATURDAY, WeekDay.SUNDAY)
        """
    )
    assert [(f.line, f.code) for f in lint_source(source, "w.py").findings] == [(2, "IXL401")]


def test_a_marker_above_an_import_block_speaks_for_the_block_up_to_a_blank_or_comment_line() -> None:
    source = textwrap.dedent(
        """\
        # interop: TODO(IX110): Airflow name(s) Asset, AssetAlias still used by the flow's own code
        from airflow.sdk import Asset
        from airflow.sdk import AssetAlias
        from prefect import task
        # a comment line ends the block
        from airflow.sdk import Metadata

        from airflow.sdk import Variable


        @task
        def produce():
            return Asset("s3://a"), AssetAlias("b"), Metadata(1), Variable.get("x")
        """
    )
    assert [(f.line, f.code) for f in lint_source(source, "a.py").findings] == [(1, "IXL401"), (6, "IXL101"), (8, "IXL101")]


def test_fix_rewrites_the_file_and_reports_what_is_left(tmp_path: Path) -> None:
    flow = write(
        tmp_path / "etl.py",
        "from airflow import DAG\nfrom airflow.models import Variable\nfrom prefect import flow\n\n\n@flow\ndef etl():\n    return Variable.get('x')\n",
    )
    code, out, err = run_cli("--fix", str(flow))
    assert code == 1
    assert flow.read_text() == "from airflow.models import Variable\nfrom prefect import flow\n\n\n@flow\ndef etl():\n    return Variable.get('x')\n"
    assert out == f"{flow}:1:1: IXL101 Airflow import left in a flow file: `airflow.models.Variable` still used by flow code\n"
    assert "1 fixed" in err


def test_fix_of_everything_exits_0(tmp_path: Path) -> None:
    flow = write(tmp_path / "etl.py", "import airflow\nfrom prefect import flow\n\n\n@flow\ndef etl():\n    return 1\n")
    code, out, _ = run_cli("--fix", str(flow))
    assert (code, out) == (0, "")
    assert flow.read_text() == "from prefect import flow\n\n\n@flow\ndef etl():\n    return 1\n"


def test_fix_keeps_crlf_line_endings(tmp_path: Path) -> None:
    flow = tmp_path / "etl.py"
    flow.write_bytes(b"from airflow import DAG\r\nfrom prefect import flow\r\n\r\n\r\n@flow\r\ndef etl():\r\n    return 1\r\n")
    code, _, _ = run_cli("--fix", str(flow))
    assert code == 0
    assert flow.read_bytes() == b"from prefect import flow\r\n\r\n\r\n@flow\r\ndef etl():\r\n    return 1\r\n"


REPORT = {
    "files": [
        {
            "path": "dags/etl.py",
            "status": "converted",
            "dags": [
                {
                    "dag_id": "etl",
                    "tasks": [
                        {
                            "task_id": "extract",
                            "operator": "PythonOperator",
                            "line": 10,
                            "disposition": "converted",
                            "options": {"retries": 2, "retry_delay_seconds": None, "timeout_seconds": 120.0},
                        },
                        {
                            "task_id": "load",
                            "operator": "PythonOperator",
                            "line": 14,
                            "disposition": "converted",
                            "options": {"retries": None, "retry_delay_seconds": None, "timeout_seconds": None},
                        },
                    ],
                    "edges": [["extract", "load"]],
                }
            ],
            "findings": [],
        }
    ],
    "summary": {"files": 1},
}


def test_report_finds_lost_timeout_and_fix_restores_it(tmp_path: Path) -> None:
    flow = write(tmp_path / "etl.py", CLEAN)
    report = write(tmp_path / "report.json", json.dumps(REPORT))
    code, out, _ = run_cli("--report", str(report), str(flow))
    assert code == 1
    assert out == f"{flow}:4:1: IXL402 task `extract` lost what its DAG task had: timeout_seconds=120 (from the conversion report)\n"
    # without --report the rule has nothing to compare with
    assert run_cli(str(flow))[0] == 0
    code, out, _ = run_cli("--report", str(report), "--fix", str(flow))
    assert (code, out) == (0, "")
    assert '@task(name="extract", retries=2, timeout_seconds=120)' in flow.read_text()


def test_unreadable_report_is_an_error(tmp_path: Path) -> None:
    flow = write(tmp_path / "etl.py", CLEAN)
    bad = write(tmp_path / "report.json", json.dumps({"dags": []}))
    code, _, err = run_cli("--report", str(bad), str(flow))
    assert code == 2
    assert "not a conversion report: expected a 'files' list, found keys ['dags']" in err
    code, _, err = run_cli("--report", str(tmp_path / "missing.json"), str(flow))
    assert code == 2 and "cannot read conversion report" in err


def test_shim_pattern_is_not_an_airflow_leftover() -> None:
    source = textwrap.dedent(
        """\
        from prefect import flow, task
        from airflow_interop.operator import run_operator
        from airflow_interop.runtime import airflow_context, render_template, run_bash


        @task(name="notify", retries=1)
        def notify(ctx, upstream=None):
            from airflow.providers.http.operators.http import HttpOperator

            return run_operator(
                HttpOperator(task_id="notify", endpoint="/hook/{{ ds }}", data="{{ ti.xcom_pull(task_ids='load') }}"),
                ctx=ctx,
                upstream=upstream,
            )


        @task(name="report")
        def report(ctx):
            return run_bash(render_template("report.sh {{ ds }} {{ params.region }}", ctx))


        @flow(name="etl")
        def etl(logical_date=None):
            ctx = airflow_context(logical_date)
            first = notify.submit(ctx, upstream={})
            return report.submit(ctx, wait_for=[first])
        """
    )
    result = lint_source(source, "etl.py")
    assert result.error is None
    assert result.findings == []


def test_leftovers_source_gives_exactly_the_four_codes() -> None:
    run_all = lint_source(LEFTOVERS)
    assert {f.code for f in run_all.findings} == {"IXL101", "IXL104", "IXL106", "IXL201"}


def test_cli_select_and_ignore(tmp_path: Path) -> None:
    flow = write(tmp_path / "etl.py", LEFTOVERS)
    _, out, _ = run_cli("--select", "IXL1", "--ignore", "IXL106", str(flow))
    assert [line.split(" ")[1] for line in out.splitlines()] == ["IXL101", "IXL104"]


def test_pre_commit_hook_definition_runs_the_lint(tmp_path: Path, repo_root: Path) -> None:
    import yaml

    (hook,) = yaml.safe_load((repo_root / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "interop-lint"
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]
    # pre-commit runs `entry + args + filenames`: do the same with the installed script
    entry = hook["entry"].split()
    assert entry[:2] == ["interop", "lint"]
    flow = write(tmp_path / "etl.py", LEFTOVERS)
    clean = write(tmp_path / "clean.py", CLEAN)
    script = str(Path(sys.executable).parent / entry[0])
    env = dict(os.environ)
    bad = subprocess.run([script, *entry[1:], *hook.get("args", []), str(flow), str(clean)], capture_output=True, text=True, env=env)
    good = subprocess.run([script, *entry[1:], *hook.get("args", []), str(clean)], capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and "IXL104" in bad.stdout
    assert good.returncode == 0


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_every_format_keeps_the_exit_codes(tmp_path: Path, fmt: str) -> None:
    flow = write(tmp_path / "etl.py", LEFTOVERS)
    clean = write(tmp_path / "clean.py", CLEAN)
    broken = write(tmp_path / "broken.py", "def (")
    assert run_cli("--format", fmt, str(clean))[0] == 0
    assert run_cli("--format", fmt, str(flow))[0] == 1
    assert run_cli("--format", fmt, str(flow), str(broken))[0] == 2


def test_nothing_is_reported_inside_a_custom_operator_run_only_through_the_shim() -> None:
    source = textwrap.dedent(
        """\
        from datetime import datetime

        from airflow.sdk import BaseOperator
        from prefect import flow, task
        from airflow_interop.operator import run_operator


        class StampOperator(BaseOperator):
            template_fields = ("day",)

            def __init__(self, day="{{ ds }}", **kwargs):
                super().__init__(**kwargs)
                self.day = day

            def execute(self, context):
                context["ti"].xcom_push(key="at", value=datetime.now().date().isoformat())
                return self.day


        @task(name="stamp")
        def stamp(ctx):
            return run_operator(StampOperator(task_id="stamp"), ctx=ctx)


        @flow(name="etl")
        def etl(ctx):
            return stamp(ctx)
        """
    )
    assert lint_source(source, "etl.py").findings == []
    # used outside the shim as well: it is ordinary flow code again
    direct = source.replace("    return stamp(ctx)\n", "    return stamp(ctx), StampOperator(task_id='x').execute({})\n")
    assert {f.code for f in lint_source(direct, "etl.py").findings} == {"IXL101", "IXL103", "IXL104", "IXL105", "IXL106", "IXL301"}


def test_a_rule_with_metadata_dependencies_gets_them_resolved_once_per_file() -> None:
    """Rules may declare libcst metadata; the engine resolves it once for all rules."""
    import libcst as cst
    from libcst.metadata import ParentNodeProvider

    from interop.lint.rule import LintRule

    class ReturnInLambdaParent(LintRule):
        CODE = "IXL999"
        NAME = "test-parent"
        MESSAGE = "call whose parent is a return"
        METADATA_DEPENDENCIES = (ParentNodeProvider,)

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(self.get_metadata(ParentNodeProvider, node), cst.Return):
                self.report(node)

    class Twin(ReturnInLambdaParent):
        CODE = "IXL998"

    source = "def f():\n    g()\n    return h()\n"
    result = lint_source(source, "m.py", rules=[ReturnInLambdaParent, Twin])
    assert [(f.line, f.col, f.code) for f in result.findings] == [(3, 12, "IXL998"), (3, 12, "IXL999")]


def test_a_crashing_rule_makes_that_file_an_error_and_the_run_goes_on(tmp_path: Path) -> None:
    import libcst as cst

    from interop.lint.engine import all_rules
    from interop.lint.rule import LintRule

    class Broken(LintRule):
        CODE = "IXL997"
        NAME = "test-broken"
        MESSAGE = "never"

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "boom":
                raise ValueError("cannot handle boom()")

    bad = write(tmp_path / "a.py", "boom()\n")
    flow = write(tmp_path / "b.py", LEFTOVERS)
    run = lint_paths([bad, flow], rules=[*all_rules(), Broken])
    assert run.exit_code == 2
    (error,) = run.errors
    assert error.path == str(bad)
    assert error.message.startswith("internal error: ValueError: cannot handle boom() (at test_lint_cli.py:")
    assert {f.code for f in run.findings} == {"IXL101", "IXL104", "IXL106", "IXL201"}


def test_lint_is_static_and_imports_neither_airflow_nor_prefect(repo_root: Path) -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from interop.cli import main\n"
        "result = CliRunner().invoke(main, ['lint', '--format', 'sarif', 'sample_dags'])\n"
        "assert result.exit_code in (0, 1), result.output\n"
        # the converter's name table (converters.names, plain data) is lint's table too
        "light = ('converters', 'converters.names')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'prefect', 'converters', 'airflow_interop', 'shims') and m not in light))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
