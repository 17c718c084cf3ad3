"""Issue 11: the plain Prefect forms the converter writes behave as the runtime helpers they
replace (``airflow_interop.runtime.airflow_context``, ``run_bash``), which the equivalence tests hold
against Airflow itself."""

from __future__ import annotations

import textwrap
import types
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from converters import convert_source
from converters.plain_context import VALUES
from airflow_interop.runtime import BashCommandFailed, airflow_context, render_template, run_bash

HEADER = (
    "from airflow.sdk import DAG\n"
    "from airflow.providers.standard.operators.bash import BashOperator\n"
)


def _module(source: str) -> dict:
    result = convert_source(HEADER + textwrap.dedent(source), "native.py")
    assert result.status == "converted", [f.as_dict() for f in result.findings]
    assert "airflow_interop" not in result.output, result.output
    namespace: dict = {"__name__": "native"}
    exec(compile(result.output, "native.py", "exec"), namespace)  # noqa: S102 - the converted module
    return namespace


@pytest.mark.parametrize(
    "given",
    ["2024-01-15", "2024-01-15T10:20:30+02:00", "2024-01-15 00:00:00+00:00", datetime(2024, 1, 15, 6, tzinfo=timezone.utc)],
)
def test_flow_side_values_equal_the_run_context(given: object) -> None:
    """``logical_date`` parsed in the flow and each value derived from it (``ds``, ``ts`` ...)
    equal what ``airflow_context`` gives for the same date."""
    result = convert_source(
        HEADER + 'with DAG("d", schedule=None):\n    BashOperator(task_id="t", bash_command="echo {{ ds }}")\n', "d.py"
    )
    lines = result.output.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("    logical_date = datetime.fromisoformat("))
    parse = textwrap.dedent("\n".join(lines[start : start + 3]))  # the flow's own lines, as written
    namespace = {"datetime": datetime, "timezone": timezone, "logical_date": given, "flow_run": SimpleNamespace(scheduled_start_time=None)}
    exec(parse, namespace)  # noqa: S102
    ctx = airflow_context(given, dag_id="d")
    namespace |= {"types": types, "CONF": {}, "DAG_ID": "d"}  # the flow's conf and DAG id (dag_run)
    for attr, source in VALUES.items():
        if source is None:
            continue
        value = eval(source, namespace)  # noqa: S307
        if attr == "dag_run":  # a namespace: equal field by field
            assert vars(value) == vars(ctx.dag_run), attr
            continue
        assert value == getattr(ctx, attr), attr


def test_bash_task_body_behaves_as_run_bash(tmp_path) -> None:  # noqa: ANN001
    """Output, last line, env (replaced or appended), cwd, the skip code and a failure, as the
    ``run_bash`` helper (held against Airflow's BashOperator elsewhere) gives them."""
    ns = _module(f"""
        with DAG("b", schedule=None):
            BashOperator(task_id="lines", bash_command="echo one; echo two  ")
            BashOperator(task_id="env_only", bash_command="echo ${{X}}-${{HOME:-none}}", env={{"X": "1"}})
            BashOperator(task_id="env_added", bash_command="echo ${{X}}-${{PATH:+path}}", env={{"X": "2"}}, append_env=True)
            BashOperator(task_id="in_cwd", bash_command="pwd", cwd={str(tmp_path)!r})
            BashOperator(task_id="in_tmp", bash_command="pwd")
            BashOperator(task_id="skips", bash_command="exit 99")
            BashOperator(task_id="own_code", bash_command="exit 3", skip_on_exit_code=[3, 4])
            BashOperator(task_id="fails", bash_command="echo bad; exit 2")
            BashOperator(task_id="no_skip", bash_command="exit 99", skip_on_exit_code=None)
        """)
    assert ns["lines"].fn() == run_bash("echo one; echo two  ") == "two"
    assert ns["env_only"].fn() == run_bash("echo ${X}-${HOME:-none}", env={"X": "1"}) == "1-none"
    assert ns["env_added"].fn() == run_bash("echo ${X}-${PATH:+path}", env={"X": "2"}, append_env=True) == "2-path"
    assert ns["in_cwd"].fn(cwd=str(tmp_path)) == str(tmp_path)
    assert ns["in_tmp"].fn() != str(tmp_path) and ns["in_tmp"].fn().startswith("/tmp")
    for state in (ns["skips"].fn(), ns["own_code"].fn(), run_bash("exit 99")):
        assert state.is_completed() and state.name == "Skipped"
    with pytest.raises(RuntimeError, match="exit code 2"):
        ns["fails"].fn()
    with pytest.raises(BashCommandFailed):
        run_bash("echo bad; exit 2")
    with pytest.raises(RuntimeError, match="exit code 99"):
        ns["no_skip"].fn()


def test_user_macro_template_renders_as_jinja() -> None:
    """``{{ week_of(ds) }}`` with ``user_defined_macros={"week_of": week_of}``: the f-string the
    converter writes gives what Airflow's Jinja rendering gives."""
    ns = _module("""
        def week_of(ds):
            return ds[:8] + "01"
        with DAG("m", schedule=None, user_defined_macros={"week_of": week_of}):
            BashOperator(task_id="t", bash_command="echo {{ week_of(ds) }}-{{ ds_nodash }}")
        """)
    ctx = airflow_context("2024-01-15", dag_id="m")
    expected = render_template("echo {{ week_of(ds) }}-{{ ds_nodash }}", ctx, week_of=ns["week_of"])
    assert ns["t"].fn(ds=ctx.ds, ds_nodash=ctx.ds_nodash) == expected.removeprefix("echo ") == "2024-01-01-20240115"
