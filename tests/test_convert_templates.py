"""Issue 11: templates converted to plain values render what Airflow renders.

Each DAG runs on Airflow 3.3 and its converted flow on a real Prefect server
(``interop.compare.compare_file``); the values each task returns are held against each other,
and the values Airflow rendered are checked for the edge cases themselves (``None``, dates, a
params default overridden at run time, native rendering).
"""

from __future__ import annotations

import textwrap

import pytest

from converters import convert_file

LOGICAL_DATE = "2024-01-15T00:00:00+00:00"

TEXT_DAG = '''
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator


def make():
    return {"rows": 3}


def nothing():
    return None


def use(value, missing, day, when, who, conf_value):
    return [value, missing, day, when, who, conf_value]


with DAG("template_text", schedule=None, start_date=pendulum.datetime(2024, 1, 1), params={"who": "me"}):
    made = PythonOperator(task_id="make", python_callable=make)
    none = PythonOperator(task_id="nothing", python_callable=nothing)
    used = PythonOperator(
        task_id="use",
        python_callable=use,
        op_args=[
            "{{ ti.xcom_pull(task_ids='make') }}",
            "{{ ti.xcom_pull(task_ids='nothing') }}",
            "{{ data_interval_start | ds_nodash }}",
            "{{ dag_run.logical_date | ts }}",
            "{{ params.who }}",
            "{{ dag_run.conf.get('x', 'none') }}",
        ],
    )
    echo = BashOperator(
        task_id="echo",
        bash_command="echo {{ data_interval_end | ds }}/{{ dag_run.logical_date | ts_nodash_with_tz }}/{{ params.who }}",
    )
    [made, none] >> used >> echo
'''

NATIVE_DAG = '''
import pendulum
from datetime import datetime, timedelta
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator


def week_start(day):
    start = datetime.strptime(day, "%Y-%m-%d")
    return (start - timedelta(days=start.weekday())).strftime("%Y-%m-%d")


def make():
    return {"rows": 3}


def use(value, day_nodash, day, when, week):
    return [value, day_nodash, type(day_nodash).__name__, day, when.isoformat(), week]


with DAG(
    "template_native",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1),
    render_template_as_native_obj=True,
    user_defined_macros={"week_start": week_start},
):
    made = PythonOperator(task_id="make", python_callable=make)
    used = PythonOperator(
        task_id="use",
        python_callable=use,
        op_args=[
            "{{ ti.xcom_pull(task_ids='make') }}",
            "{{ ds_nodash }}",
            "{{ ds }}",
            "{{ data_interval_start }}",
            "{{ week_start(ds) }}",
        ],
    )
    echo = BashOperator(task_id="echo", bash_command="echo {{ ds }}-{{ week_start(ds) }}")
    made >> used >> echo
'''


def _compare(tmp_path, name: str, source: str, params: dict | None = None):  # noqa: ANN001, ANN202
    from interop.compare import compare_file

    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    (comparison,) = compare_file(path, logical_date=LOGICAL_DATE, params=params)
    return path, comparison


def test_text_templates_are_plain_and_render_as_airflow(prefect_server, tmp_path) -> None:
    """Pulls in the flow (a dict, ``None``), date filters on the data interval and
    ``dag_run.logical_date``, ``params`` overridden at run time and ``dag_run.conf.get``: the
    converted file needs Prefect and the standard library only, and each task returns what
    Airflow's task returned."""
    path, c = _compare(tmp_path, "template_text", TEXT_DAG, params={"who": "you"})
    output = convert_file(str(path)).output
    assert "airflow_interop" not in output and "airflow" not in output, output
    assert c.error is None and c.equivalent, c.differences()
    assert c.airflow.tasks["use"].values["return_value"] == [
        "{'rows': 3}", "None", "20240115", "2024-01-15T00:00:00+00:00", "you", "none",
    ]
    assert c.prefect.tasks["use"].values == c.airflow.tasks["use"].values
    assert c.airflow.tasks["echo"].values["return_value"] == "2024-01-15/20240115T000000+0000/you"
    assert c.prefect.tasks["echo"].values == c.airflow.tasks["echo"].values


def test_native_templates_keep_airflows_native_values(prefect_server, tmp_path) -> None:
    """``render_template_as_native_obj=True``: Airflow passes the pulled dict itself and reads
    ``{{ ds_nodash }}`` as an int; the flow gives the same (it used to pass text: ``"{'rows':
    3}"`` and ``"20240115"``), rendered by the output's ``render_jinja`` with Jinja's native
    rendering (the pull a plain value of the flow). Text ``literal_eval`` never reads (``{{ ds
    }}``, ``echo ...``, a macro returning ``strftime('%Y-%m-%d')``) stays an f-string."""
    path, c = _compare(tmp_path, "template_native", NATIVE_DAG)
    output = convert_file(str(path)).output
    assert "airflow_interop" not in output and "airflow" not in output, output
    assert "render_jinja('{{ ds_nodash }}', native=True, ds_nodash=" in output
    assert "render_jinja('{{ xcom_make }}', native=True, xcom_make=make_future.result())" in output
    assert 'f"echo {ds}-{week_start(ds)}"' in output
    assert c.error is None and c.equivalent, c.differences()
    assert c.airflow.tasks["use"].values["return_value"] == [
        {"rows": 3}, 20240115, "int", "2024-01-15", "2024-01-15T00:00:00+00:00", "2024-01-15",
    ]
    assert c.prefect.tasks["use"].values == c.airflow.tasks["use"].values
    assert c.prefect.tasks["echo"].values == c.airflow.tasks["echo"].values == {"return_value": "2024-01-15-2024-01-15"}


@pytest.mark.parametrize(
    ("template", "plain"),
    [
        ("echo {{ ds }}", True),
        ("{{ ds }}", True),
        ("{{ ts }}", True),
        ("{{ ts_nodash }}", True),
        ("{{ data_interval_start }}", True),
        ("\n  echo {{ ds_nodash }}", True),
        ("None {{ ds }}", False),
        ("_{{ ds }}", False),
        ("echo_{{ ds }}", False),
        ("echo_ {{ ds_nodash }}", True),
        ("{{ ds_nodash }}", False),
        ("\n{{ ds_nodash }}", False),
        ("[{{ ds_nodash }}]", False),
        ("None{{ ds }}", False),
        ("set {{ ds }}", False),
        ("r'{{ ds }}'", False),
        ("x{{ ds_nodash }}", False),
        ("{{ params.n }}", False),
        ("{{ params.n }}0", False),
    ],
)
def test_native_translation_equals_airflows_native_rendering(template: str, plain: bool) -> None:
    """A template the converter writes as Python in a native DAG evaluates to what Airflow's
    own ``NativeEnvironment`` renders, types included; the others (which may be read as a
    literal: ``None``, an int, a list) are rendered at run time with ``native=True``, which is
    Airflow's rendering itself."""
    from airflow.sdk.definitions._internal.templater import NativeEnvironment

    from converters import templates
    from airflow_interop.runtime import airflow_context, render_template

    ctx = airflow_context("2024-01-15", params={"n": 7}, dag_id="d")
    expected = NativeEnvironment().from_string(template).render(**ctx.template_context())
    tr = templates.translate(template, lambda pull: None, native=True)
    assert (tr.fstring is not None) == plain, tr.fstring
    value = eval(tr.fstring, {"ctx": ctx}) if plain else render_template(template, ctx, native=True)  # noqa: S307
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("body", "plain"),
    [
        ('return datetime.strptime(day, "%Y-%m-%d").strftime("%Y-%m-%d")', True),
        ("return pendulum.parse(day).to_date_string()", True),
        ('return pendulum.parse(day).isoformat()', True),
        ('return datetime.strptime(day, "%Y-%m-%d").strftime("%Y%m%d")', False),  # an int, natively
        ('if day:\n        return datetime.strptime(day, "%Y-%m-%d").strftime("%Y-%m-%d")', False),  # may give None
        ("return day.replace('-', '')", False),
    ],
)
def test_native_user_macro_equals_airflows_native_rendering(body: str, plain: bool) -> None:
    """A user macro called alone in a native DAG is written as Python only where its function
    returns date text ``literal_eval`` never reads; the value equals Airflow's
    ``NativeEnvironment`` rendering (the others are rendered at run time, with the macro)."""
    import libcst as cst
    from airflow.sdk.definitions._internal.templater import NativeEnvironment

    from converters import templates
    from airflow_interop.runtime import airflow_context, render_template

    source = f"import pendulum\nfrom datetime import datetime\n\ndef week(day):\n    {body}\n"
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 - the test's own macro
    ctx = airflow_context("2024-01-15", dag_id="d")
    macros = {"week": "week"}
    text = templates.text_macros(cst.parse_module(source), macros)
    tr = templates.translate("{{ week(ds) }}", lambda pull: None, macros, native=True, text_macros=text)
    expected = NativeEnvironment().from_string("{{ week(ds) }}").render(week=namespace["week"], **ctx.template_context())
    assert (tr.fstring is not None) == plain, tr.fstring
    if plain:
        value = eval(tr.fstring, {"ctx": ctx, **namespace})  # noqa: S307 - the converter's own output
    else:
        assert tr.native and templates.render_args(tr) == ", native=True, week=week"
        value = render_template("{{ week(ds) }}", ctx, native=True, week=namespace["week"])
    assert value == expected and type(value) is type(expected)


MACRO_AT_RUN_TIME_DAG = '''
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator


def shout(text):
    return text.upper()


with DAG("macro_run_time", schedule=None, start_date=pendulum.datetime(2024, 1, 1),
         user_defined_macros={"shout": shout}):
    BashOperator(task_id="hello", bash_command="echo {% if ds %}{{ shout('hi') }}-{{ ds }}{% endif %}")
'''


def test_a_user_macro_in_a_template_rendered_at_run_time(prefect_server, tmp_path) -> None:
    """A template rendered at run time (a ``{% if %}`` block) that calls a user macro, a function
    of the file: render_template is given the function, so the task is not left to a hand
    (no IX213) and returns what Airflow's returned."""
    path, c = _compare(tmp_path, "macro_run_time", MACRO_AT_RUN_TIME_DAG)
    result = convert_file(str(path))
    assert "IX213" not in {f.code for f in result.findings}, [f.as_dict() for f in result.findings]
    assert c.error is None and c.equivalent, c.differences()
    assert c.airflow.tasks["hello"].values["return_value"] == "HI-2024-01-15"


RENDERED_PLAIN_DAG = '''
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator


def shout(text):
    return text.upper()


def use(a, b, c, d, e):
    return [a, b, c, d, e]


with DAG("rendered_plain", schedule=None, start_date=pendulum.datetime(2024, 1, 1),
         params={"who": "me"}, user_defined_macros={"shout": shout}):
    used = PythonOperator(task_id="use", python_callable=use, op_kwargs={
        "a": "{{ data_interval_start | ds_nodash }}-{{ logical_date | ts }}",
        "b": "{{ macros.ds_add(ds, 3) }}",
        "c": "{% if params.who %}{{ shout(params.who) }}{% else %}nobody{% endif %}",
        "d": "{{ ds | replace('-', '') }}/{{ run_id | length > 0 }}",
        "e": "{{ (dag_run.conf or {}).get('k', 'none') }}",
    })
    echo = BashOperator(
        task_id="echo",
        bash_command="echo {{ macros.ds_format(ds, '%Y-%m-%d', '%d/%m/%Y') }} "
        "{% for i in range(2) %}{{ i }}{% endfor %} {{ shout(ts_nodash) }} "
        "{{ (macros.datetime(2024, 1, 1) + macros.timedelta(days=1)) | ds }} {{ macros.ds_add(ds, -1) }}",
    )
    used >> echo
'''

RENDERED_NATIVE_DAG = '''
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator


def kinds(a, b, c):
    return [a, type(a).__name__, b, type(b).__name__, c]


with DAG("rendered_native", schedule=None, start_date=pendulum.datetime(2024, 1, 1),
         params={"n": 2}, render_template_as_native_obj=True):
    PythonOperator(task_id="kinds", python_callable=kinds, op_args=[
        "{{ macros.ds_add(ds, 1) | replace('-', '') }}",
        "{% if params.n > 1 %}[{{ params.n }}, {{ params.n * 2 }}]{% endif %}",
        "{{ ds | upper }}",
    ])
'''


RENDERED_STATIC_DAG = '''
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator


with DAG("rendered_static", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
    BashOperator(
        task_id="keyed.task",
        bash_command="echo {{ task_instance_key_str }} {{ task.task_id | upper }} {{ dag.dag_id | replace('_', '-') }} "
        "{{ ti.task_id }}/{{ task_instance.dag_id | upper }}",
    )
'''


@pytest.mark.parametrize(
    ("name", "source", "returns"),
    [
        ("rendered_static", RENDERED_STATIC_DAG, {
            "keyed.task": "rendered_static__keyed.task__20240115 KEYED.TASK rendered-static keyed.task/RENDERED_STATIC",
        }),
        ("rendered_plain", RENDERED_PLAIN_DAG, {
            "use": ["20240115-2024-01-15T00:00:00+00:00", "2024-01-18", "ME", "20240115/True", "none"],
            "echo": "15/01/2024 01 20240115T000000 2024-01-02 2024-01-14",
        }),
        ("rendered_native", RENDERED_NATIVE_DAG, {
            "kinds": [20240116, "int", [2, 4], "list", "2024-01-15"],
        }),
    ],
)
def test_templates_rendered_at_run_time_over_plain_values(prefect_server, tmp_path, name, source, returns) -> None:
    """Templates the converter cannot write as f-strings (Airflow's date filters, a jinja
    filter, ``macros.ds_add``/``ds_format``/``datetime``/``timedelta``, a user macro, ``{% if
    %}``/``{% for %}``, ``dag_run.conf``, native rendering, ``task_instance_key_str``,
    ``task.task_id``, ``ti.task_id``, ``task_instance.dag_id`` and ``dag.dag_id`` in a task named by
    ``name=``) but that read only plain values are
    rendered by a function of the output with jinja2: the file imports neither ``shims`` nor
    ``airflow``, and each task returns what Airflow's returned."""
    path, c = _compare(tmp_path, name, source)
    output = convert_file(str(path)).output
    assert "airflow_interop" not in output and "airflow" not in output, output
    assert "def render_jinja(template" in output and "jinja2.StrictUndefined" in output
    from interop.lint import lint_source

    assert not lint_source(output, f"{name}_flow.py").findings  # the rendered strings are not IXL106
    assert c.error is None and c.equivalent, c.differences()
    for task_id, value in returns.items():
        assert c.airflow.tasks[task_id].values["return_value"] == value
        assert c.prefect.tasks[task_id].values == c.airflow.tasks[task_id].values


@pytest.mark.parametrize(
    "template",
    [
        "{{ yesterday_ds }}/{{ tomorrow_ds_nodash }}/{{ execution_date | ts }}",
        "{{ macros.ds_add(yesterday_ds, 0) }}-{{ tomorrow_ds }}-{{ yesterday_ds_nodash }}",
        "{% if data_interval_end %}{{ data_interval_end | ts_nodash_with_tz }}{% endif %}{{ params.x | default(1) }}",
    ],
)
def test_airflow2_names_render_as_the_runtime_shim(prefect_server, tmp_path, template: str) -> None:
    """Airflow 1.10/2.x names Airflow 3 no longer has (``yesterday_ds``, ``execution_date`` ...):
    the converted flow, run on Prefect, renders what ``airflow_interop.runtime.render_template`` renders
    (what the flow gave before it was plain)."""
    import importlib.util

    from airflow_interop.runtime import airflow_context, render_template

    path = tmp_path / "old_names.py"
    path.write_text(
        "import pendulum\nfrom airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.bash import BashOperator\n"
        "with DAG('old_names', schedule=None, start_date=pendulum.datetime(2024, 1, 1)):\n"
        f"    BashOperator(task_id='t', bash_command={'echo ' + template!r})\n"
    )
    output = convert_file(str(path)).output
    assert "airflow_interop" not in output and "airflow" not in output, output
    out = tmp_path / "old_names_flow.py"
    out.write_text(output)
    spec = importlib.util.spec_from_file_location("old_names_flow", out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.old_names(logical_date="2024-01-31T00:00:00+00:00")
    assert result["t"] == render_template(template, airflow_context("2024-01-31"))


DAG_RUN_OBJECT_DAG = '''
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator


def check(dag_run):
    conf = getattr(dag_run, "conf", None) or {}
    return [conf.get("k", "none"), dag_run.run_type == "manual", dag_run.logical_date.isoformat()]


with DAG("dag_run_object", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
    checked = PythonOperator(task_id="check", python_callable=check)
    echo = BashOperator(task_id="echo", bash_command="echo {{ dag_run.logical_date | ds }} {{ dag_run.conf | length }}")
    checked >> echo
'''


def test_the_dag_run_object_is_a_plain_namespace(prefect_server, tmp_path) -> None:
    """A callable given the whole ``dag_run`` and a template reading ``dag_run.logical_date``: the
    flow builds the run as ``types.SimpleNamespace`` (the values the runtime's ``dag_run`` has
    for a manual run), imports neither ``shims`` nor ``airflow``, and returns what Airflow did.
    (``run_id`` and ``str(run_type)`` are the runtime's, not Airflow 3.3's: ``manual__<logical
    date>`` and ``manual`` where ``dag.test()`` gives ``manual__<now>`` and ``DagRunType.MANUAL``.)"""
    path, c = _compare(tmp_path, "dag_run_object", DAG_RUN_OBJECT_DAG)
    output = convert_file(str(path)).output
    assert "airflow_interop" not in output and "airflow" not in output, output
    assert "dag_run = types.SimpleNamespace(" in output
    assert c.error is None and c.equivalent, c.differences()
    assert c.airflow.tasks["check"].values["return_value"] == ["none", True, "2024-01-15T00:00:00+00:00"]
    assert c.airflow.tasks["echo"].values["return_value"] == "2024-01-15 0"
    assert c.prefect.tasks["check"].values == c.airflow.tasks["check"].values
    assert c.prefect.tasks["echo"].values == c.airflow.tasks["echo"].values


BUILT_DAG = '''
import os
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

OUT = os.environ.get("INTEROP_TEST_OUT", "/tmp/out-dir")
MARK = os.environ.get("INTEROP_TEST_MARK", "{{ ds }}")

with DAG("template_built", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
    clean = BashOperator(task_id="clean", bash_command=f"echo 'cleaned {OUT}' && echo {OUT}/x")
    marked = BashOperator(task_id="marked", bash_command=f"echo mark-{MARK}")
    clean >> marked
'''


def test_a_command_built_from_run_time_values_is_rendered_plain(prefect_server, tmp_path) -> None:
    """``bash_command=f"... {OUT} ..."`` (OUT known only when the module runs; mortenoh's
    cleanup tasks, 36 corpus files): its own text has no Jinja, so the output renders it with
    jinja2 and no values, and imports neither shims nor airflow. The ledger says what that
    costs: a value holding Jinja (``MARK`` is ``{{ ds }}``) renders in Airflow and fails in the
    flow (UndefinedError), the one difference of the two runs."""
    path, c = _compare(tmp_path, "template_built", BUILT_DAG)
    result = convert_file(str(path))
    assert "airflow_interop" not in result.output and "from airflow" not in result.output, result.output
    notes = [f.message for f in result.findings if f.code == "IX301"]
    assert len(notes) == 2 and all("fails (UndefinedError)" in n for n in notes), notes
    assert c.error is None
    assert c.airflow.tasks["clean"].values == c.prefect.tasks["clean"].values == {"return_value": "/tmp/out-dir/x"}
    assert c.airflow.tasks["marked"].values == {"return_value": "mark-2024-01-15"}
    assert (c.airflow.tasks["marked"].state, c.prefect.tasks["marked"].state) == ("success", "failed")
    assert "UndefinedError" in (c.prefect.tasks["marked"].error or "")


RUN_TIME_TEXT_DAG = '''
import json
import os
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

COMMAND = os.environ.get(
    "INTEROP_TEST_COMMAND",
    "echo {{ ds }}/{{ params.who }}/{{ dag_run.logical_date | ds_nodash }}/{{ macros.ds_add(ds, 1) }}/"
    "{{ task.task_id }}/{{ shout(ts_nodash) }}/{{ task_instance_key_str }}/$DAY/$TOMORROW",
)
ENV = json.loads(os.environ.get("INTEROP_TEST_ENV", '{"DAY": "{{ ds }}", "TOMORROW": "{{ data_interval_end | ds }}"}'))
OTHER = os.environ.get("INTEROP_TEST_OTHER", "echo {{ ti.task_id }}")


def shout(text):
    return text.upper()


with DAG("run_time_text", schedule=None, start_date=pendulum.datetime(2024, 1, 1), params={"who": "me"},
         user_defined_macros={"shout": shout}):
    echo = BashOperator(task_id="echo", bash_command=COMMAND, env=ENV, append_env=True)
    listed = BashOperator(
        task_id="listed", bash_command="echo $DAY-$TOMORROW",
        env={"DAY": os.environ.get("INTEROP_TEST_DAY", "{{ ds_nodash }}"), "TOMORROW": ENV["TOMORROW"]},
    )
    other = BashOperator(task_id="other", bash_command=OTHER)
    echo >> listed >> other
'''


def test_template_text_known_only_at_run_time_renders_with_plain_values(prefect_server, tmp_path) -> None:
    """``bash_command=COMMAND``, ``env=ENV`` (a dict known at run time) and env values that are
    names or calls (lappis' ``Variable.get(...)``): Airflow renders the text it finds at run time
    as a template with its whole context, a dict's values one by one. The flow renders them with
    jinja2 and every plain value (dates, params, dag_run, the DAG's macros, ``macros.ds_add``,
    ``task``, ``task_instance_key_str``), imports neither ``shims`` nor ``airflow``, and returns
    what Airflow returned; the ledger says what it cannot: text reading ``ti`` fails
    (UndefinedError) where Airflow rendered it, the one difference of the runs."""
    path, c = _compare(tmp_path, "run_time_text", RUN_TIME_TEXT_DAG, params={"who": "you"})
    result = convert_file(str(path))
    assert "airflow_interop" not in result.output and "from airflow" not in result.output, result.output
    notes = [f.message for f in result.findings if f.code == "IX301"]
    assert len(notes) == 5 and all("fails (UndefinedError)" in n for n in notes), notes
    assert c.error is None
    assert c.airflow.tasks["echo"].values["return_value"] == (
        "2024-01-15/you/20240115/2024-01-16/echo/20240115T000000/run_time_text__echo__20240115/2024-01-15/2024-01-15"
    )
    assert c.airflow.tasks["listed"].values["return_value"] == "20240115-2024-01-15"
    for task_id in ("echo", "listed"):
        assert c.prefect.tasks[task_id].values == c.airflow.tasks[task_id].values
    assert c.airflow.tasks["other"].values == {"return_value": "other"}
    assert (c.airflow.tasks["other"].state, c.prefect.tasks["other"].state) == ("success", "failed")
    assert "UndefinedError" in (c.prefect.tasks["other"].error or "")


@pytest.mark.parametrize("value", [{"a": "{{ ds }}", "b": ["{{ ds_nodash }}", 3, None], "c": ("{{ ds }}",)}, 7, None])
def test_a_run_time_value_that_is_not_text_renders_as_airflow_renders_it(value) -> None:
    """A templated field's value that is not a string: Airflow 3.3's templater renders a dict's
    values and a list's or tuple's items and returns any other value as it is; the output's
    ``render_jinja`` and the runtime's ``render_template`` give the same."""
    import datetime

    from airflow.providers.standard.operators.bash import BashOperator

    from converters import plain_templates
    from airflow_interop.runtime import airflow_context, render_template

    day = datetime.datetime(2024, 1, 15, tzinfo=datetime.timezone.utc)
    operator = BashOperator(task_id="t", bash_command="true")
    expected = operator.render_template(value, {"ds": "2024-01-15", "ds_nodash": "20240115"})
    needs = plain_templates.Needs()
    needs.values = needs.render = True
    needs.names["render"] = "render_jinja"
    scope: dict = {}
    exec("import jinja2\n" + plain_templates.render_helper(needs), scope)  # noqa: S102
    assert scope["render_jinja"](value, logical_date=day) == expected
    assert render_template(value, airflow_context("2024-01-15")) == expected


PULLED_NATIVE_DAG = '''
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.python import PythonOperator


def digits():
    return "123"


def path():
    return "/tmp/x"


def rows():
    return {"rows": 3}


def kinds(a, b, c, d):
    return [a, type(a).__name__, b, c, d]


with DAG("pulled_native", schedule=None, start_date=pendulum.datetime(2024, 1, 1), render_template_as_native_obj=True):
    ups = [
        PythonOperator(task_id="digits", python_callable=digits),
        PythonOperator(task_id="path", python_callable=path),
        PythonOperator(task_id="rows", python_callable=rows),
    ]
    ups >> PythonOperator(task_id="kinds", python_callable=kinds, op_args=[
        "{{ ti.xcom_pull(task_ids='digits') }}",
        "{{ task_instance.xcom_pull('path') }}",
        "{{ ti.xcom_pull(task_ids='rows') }}",
        "{{ ti.xcom_pull(task_ids='rows') | length }}",
    ])
'''

PULLED_TEXT_DAG = '''
import pendulum
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator


def push(ti):
    ti.xcom_push(key="k", value=5)
    return "/tmp/x"


with DAG("pulled_text", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
    pushed = PythonOperator(task_id="push", python_callable=push)
    echo = BashOperator(
        task_id="echo",
        bash_command="echo {{ ti.xcom_pull(task_ids='push') | upper }} {{ ti.xcom_pull(task_ids='push', key='k') + 1 }}",
    )
    pushed >> echo
'''


@pytest.mark.parametrize(
    ("name", "source", "task_id", "value"),
    [
        ("pulled_native", PULLED_NATIVE_DAG, "kinds", [123, "int", "/tmp/x", {"rows": 3}, 1]),
        ("pulled_text", PULLED_TEXT_DAG, "echo", "/TMP/X 6"),
    ],
)
def test_pulls_in_a_template_rendered_at_run_time_are_plain_values(prefect_server, tmp_path, name, source, task_id, value) -> None:
    """``{{ ti.xcom_pull(task_ids='t'[, key='k']) }}`` in a template rendered at run time (under
    a filter, or alone under native rendering, where Airflow passes the value itself and reads
    text that is a literal: ``"123"`` gives 123, the adapstory serp DAGs): the flow passes the
    upstream value to ``render_jinja`` by a name, imports neither ``shims`` nor ``airflow``, and
    each task returns what Airflow's returned."""
    path, c = _compare(tmp_path, name, source)
    output = convert_file(str(path)).output
    assert "airflow_interop" not in output and "airflow" not in output, output
    assert c.error is None and c.equivalent, c.differences()
    assert c.airflow.tasks[task_id].values["return_value"] == value
    assert c.prefect.tasks[task_id].values == c.airflow.tasks[task_id].values


KEYED_PULL_DAG = '''
import pendulum
{imports}


def begin(**kwargs):
    kwargs["ti"].xcom_push(key="packed", value="/data/packed.tar")
    kwargs["ti"].xcom_push(key="dir", value="/data")


with DAG("keyed_pull", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
    first = PythonOperator(task_id="begin", python_callable=begin)
    use = BashOperator(task_id="use", bash_command="echo {{{{ ti.xcom_pull(key='packed') }}}} {{{{ ti.xcom_pull(key='dir') | upper }}}}")
    first >> use
'''


@pytest.mark.parametrize(
    ("major", "imports", "value"),
    [
        (2, "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
            "from airflow.operators.python import PythonOperator", "/data/packed.tar /DATA"),
        (3, "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.bash import BashOperator\n"
            "from airflow.providers.standard.operators.python import PythonOperator", "None NONE"),
    ],
)
def test_a_pull_without_task_ids_in_a_template_is_what_airflow_answers(prefect_server, tmp_path, major, imports, value) -> None:
    """``{{ ti.xcom_pull(key='k') }}`` without task_ids (hms-dbmi's hpds DAGs). Airflow 2.11
    answers the latest XCom ``k`` of any task of the run: where one task only pushes ``k`` and it
    runs first, the flow reads that task's XCom. Airflow 3.3 answers the pulling task's own XCom
    (None before it runs): the flow renders None. No runtime either way, and the same values."""
    from interop.compare import compare_file

    from tests.airflow2_examples import AIRFLOW2_PYTHON

    path = tmp_path / "keyed_pull.py"
    path.write_text(KEYED_PULL_DAG.format(imports=imports))
    result = convert_file(str(path))
    assert "airflow_interop" not in result.output and "from airflow" not in result.output, result.output
    assert not [f for f in result.findings if f.code == "IX201"]
    (c,) = compare_file(path, logical_date=LOGICAL_DATE, airflow_python=str(AIRFLOW2_PYTHON) if major == 2 else None)
    assert c.error is None and c.equivalent, c.differences()
    assert c.airflow.tasks["use"].values["return_value"] == value
    assert c.prefect.tasks["use"].values == c.airflow.tasks["use"].values


def test_a_pull_without_task_ids_not_known_statically_is_marked(tmp_path) -> None:
    """Airflow 2: a key two tasks push (the latest written wins at run time): not known
    statically, IX201 and a marker (the flow's rendering would read None)."""
    source = KEYED_PULL_DAG.format(
        imports="from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
        "from airflow.operators.python import PythonOperator",
    ).replace("first >> use", "again = PythonOperator(task_id='again', python_callable=begin)\n    [first, again] >> use")
    path = tmp_path / "keyed_twice.py"
    path.write_text(source)
    result = convert_file(str(path))
    notes = [f.message for f in result.findings if f.code == "IX201"]
    assert len(notes) == 1 and "'dir', 'packed'" in notes[0], notes
    assert "# interop: TODO(IX201)" in result.output


PUSHED_DAG = '''
import pendulum
{imports}

with DAG("template_push", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
    bash_push = BashOperator(
        task_id="bash_push",
        bash_command="echo START {{{{ ti.xcom_push(key='bash_pushed', value='first') }}}} "
        "{{{{ task_instance.xcom_push('n', 200) }}}} && echo COMPLETE",
    )
    bash_pull = BashOperator(
        task_id="bash_pull",
        env={{
            "PUSHED": "{{{{ ti.xcom_pull(task_ids='bash_push', key='bash_pushed') }}}}",
            "N": "{{{{ ti.xcom_pull(task_ids='bash_push', key='n') + 1 }}}}",
            "RET": "{{{{ ti.xcom_pull(task_ids='bash_push') }}}}",
        }},
        bash_command="echo $PUSHED $N $RET",
    )
    bash_push >> bash_pull
'''


@pytest.mark.parametrize(
    ("major", "imports"),
    [
        (2, "from airflow import DAG\nfrom airflow.operators.bash import BashOperator"),
        (3, "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.bash import BashOperator"),
    ],
)
def test_literal_pushes_in_a_command_are_the_tasks_xcoms(prefect_server, tmp_path, major, imports) -> None:
    """``{{ ti.xcom_push(key='k', value='v') }}`` in a ``bash_command`` (eft's and heumsi's xcom
    DAGs): Airflow pushes while it renders the command (the call renders ``None``); with literal
    keys and values the task returns every XCom, ``{'k': 'v', ..., 'return_value': last line}``,
    with no runtime, and the downstream reads them: the same XComs as Airflow 2.11 and 3.3."""
    from interop.compare import compare_file

    from tests.airflow2_examples import AIRFLOW2_PYTHON

    path = tmp_path / "template_push.py"
    path.write_text(PUSHED_DAG.format(imports=imports))
    output = convert_file(str(path)).output
    assert "airflow_interop" not in output and "from airflow" not in output, output
    (c,) = compare_file(path, logical_date=LOGICAL_DATE, airflow_python=str(AIRFLOW2_PYTHON) if major == 2 else None)
    assert c.error is None and c.equivalent, c.differences()
    assert c.airflow.tasks["bash_push"].values == {"bash_pushed": "first", "n": 200, "return_value": "COMPLETE"}
    assert c.airflow.tasks["bash_pull"].values == {"return_value": "first 201 COMPLETE"}
    # the flow's task returns every XCom it pushed (the ledger says so: ``returns`` is ``xcoms``)
    assert c.prefect.tasks["bash_push"].values == {"return_value": c.airflow.tasks["bash_push"].values}
    assert c.prefect.tasks["bash_pull"].values == c.airflow.tasks["bash_pull"].values
