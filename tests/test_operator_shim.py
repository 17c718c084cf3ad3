"""``run_operator`` and ``airflow_task``: one real Airflow operator, in-process and as a Prefect task."""

from __future__ import annotations

from datetime import timedelta

import pytest

pytestmark = pytest.mark.airflow


def _ctx(**kwargs):
    from airflow_interop.runtime import airflow_context

    return airflow_context("2024-01-31T10:00:00+00:00", **kwargs)


def test_templates_render_with_airflow_and_upstream_xcoms() -> None:
    from airflow.providers.standard.operators.bash import BashOperator

    from airflow_interop.operator import run_operator

    op = BashOperator(
        task_id="report",
        bash_command=(
            "echo {{ ds }} {{ ds_nodash }} {{ params.region }} {{ dag_run.conf.who }} "
            "{{ macros.ds_add(ds, 1) }} {{ ti.xcom_pull(task_ids='extract', key='rows') }} "
            "{{ ti.xcom_pull(task_ids='missing') }}"
        ),
    )
    xcoms = run_operator(
        op,
        ctx=_ctx(params={"region": "eu"}, conf={"who": "ops"}, dag_id="sales"),
        upstream={"extract": {"rows": 42, "return_value": "ignored"}},
    )
    assert xcoms == {"return_value": "2024-01-31 20240131 eu ops 2024-02-01 42 None"}
    # the caller's operator keeps its template: the run used a copy
    assert op.bash_command.startswith("echo {{ ds }}")


def test_a_converted_template_reads_the_dag_id() -> None:
    # ``{{ dag.dag_id }}`` in a converted BashOperator's command, rendered at run time
    from airflow_interop.runtime import render_template

    assert render_template("DAG: {{ dag.dag_id }} on {{ ds }}", _ctx(dag_id="sales"), upstream={}) == "DAG: sales on 2024-01-31"
    # no task_ids: Airflow 3 reads the running task's own XComs (none pushed yet: None)
    assert render_template("{{ ti.xcom_pull(key='k') }}", _ctx(), upstream={"other": {"k": 1}}) == "None"
    # Airflow's date filters
    assert render_template("{{ data_interval_end | ds }} {{ logical_date | ts_nodash }}", _ctx(), upstream={}) == "2024-01-31 20240131T100000"


def test_a_converted_bash_command_returns_its_last_line_without_trailing_blanks() -> None:
    # as Airflow's BashOperator (its subprocess hook strips every output line)
    from airflow_interop.runtime import run_bash

    assert run_bash('echo "first" && echo "value: 1  "') == "value: 1"


def test_a_deferrable_operator_runs_its_trigger_and_resumes() -> None:
    from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
    from airflow.sdk import BaseOperator

    from airflow_interop.operator import run_operator

    class Waits(BaseOperator):
        def execute(self, context):
            self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=0.2)), method_name="done")

        def done(self, context, event=None):
            return "resumed"

    assert run_operator(Waits(task_id="wait"), ctx=_ctx(dag_id="d"), upstream={}) == {"return_value": "resumed"}


def test_execute_pushes_and_pulls_xcoms() -> None:
    from airflow.providers.standard.operators.python import PythonOperator

    from airflow_interop.operator import run_operator

    def work(ti, logical_date, **_):
        ti.xcom_push(key="seen", value=ti.xcom_pull(task_ids=["a", "b"]))
        return {"day": logical_date.day}

    xcoms = run_operator(
        PythonOperator(task_id="work", python_callable=work),
        ctx=_ctx(),
        upstream={"a": {"return_value": 1}, "b": {"return_value": [2, 3]}},
    )
    assert xcoms == {"seen": [1, [2, 3]], "return_value": {"day": 31}}


def test_no_return_value_and_default_context() -> None:
    from airflow.providers.standard.operators.empty import EmptyOperator

    from airflow_interop.operator import run_operator

    assert run_operator(EmptyOperator(task_id="nothing")) == {}


def test_skip_and_failure() -> None:
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk.exceptions import AirflowSkipException, AirflowTaskTimeout

    from airflow_interop.operator import TaskSkipped, run_operator

    def skip(ti):
        ti.xcom_push(key="why", value="holiday")
        raise AirflowSkipException("holiday")

    with pytest.raises(TaskSkipped) as skipped:
        run_operator(PythonOperator(task_id="maybe", python_callable=skip), ctx=_ctx())
    assert skipped.value.task_id == "maybe"
    assert skipped.value.reason == "holiday"
    assert skipped.value.xcoms == {"why": "holiday"}

    def fail():
        raise KeyError("no such customer")

    with pytest.raises(KeyError, match="no such customer"):
        run_operator(PythonOperator(task_id="fails", python_callable=fail), ctx=_ctx())

    import time

    slow = PythonOperator(task_id="slow", python_callable=lambda: time.sleep(20), execution_timeout=timedelta(seconds=1))
    with pytest.raises(AirflowTaskTimeout):
        run_operator(slow, ctx=_ctx())


@pytest.mark.prefect
def test_airflow_task_is_a_prefect_task(prefect_server) -> None:
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk.exceptions import AirflowSkipException
    from prefect import flow

    from airflow_interop.operator import airflow_task
    from airflow_interop.prefect_runs import task_runs

    def skip():
        raise AirflowSkipException("not today")

    extract = airflow_task(BashOperator(task_id="extract", bash_command="echo {{ params.n }}", retries=2,
                                        retry_delay=timedelta(seconds=3), execution_timeout=timedelta(minutes=5)))
    maybe = airflow_task(PythonOperator(task_id="maybe", python_callable=skip))
    assert (extract.name, extract.retries, extract.retry_delay_seconds, extract.timeout_seconds) == ("extract", 2, 3.0, 300.0)

    @flow
    def pipeline() -> dict:
        ctx = _ctx(params={"n": 7})
        first = extract(ctx=ctx)
        maybe(ctx=ctx, upstream={"extract": first})
        return first

    state = pipeline(return_state=True)
    assert state.result() == {"return_value": "7"}
    runs = {r.name: r for r in task_runs(state.state_details.flow_run_id)}
    assert runs["extract"].state.is_completed()
    assert runs["maybe"].state.name == "Skipped"
