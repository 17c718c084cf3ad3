"""Rule classes: one construct family each, with the examples that define it.

A rule module declares a :class:`Rule` subclass next to the code that implements it. Its
docstring says what the rule does; ``EXAMPLES`` hold sources with what must come of them:

- ``converts``: the file converts (``converted``/``partial``) and the output contains each fragment;
- ``unchanged``: the output contains the fragments exactly as written in the source;
- ``marks``: a manual finding with the code (and a ``# interop: TODO(CODE)`` marker in the output);
- ``refuses``: the file is refused (``failed``) with a finding of that code, nothing written.

``tests/test_rule_examples.py`` runs every example; :mod:`converters.contract` writes them into
``docs/conversion-contract.md``. Rule modules import this module, never each other.
"""

from __future__ import annotations

import importlib
import textwrap
from dataclasses import dataclass
from typing import ClassVar, Literal

#: the modules that declare rules, in pipeline order (imported by :func:`all_rules`)
RULE_MODULES = (
    "converters.analysis",
    "converters.census",
    "converters.task_options",
    "converters.empty",
    "converters.dependencies",
    "converters.run_semantics",
    "converters.variables",
    "converters.assets",
    "converters.templates",
    "converters.airflow_code",
)


@dataclass(frozen=True)
class Example:
    kind: Literal["converts", "unchanged", "marks", "refuses"]
    source: str
    expect: tuple[str, ...]
    title: str = ""

    @property
    def text(self) -> str:
        head = AIRFLOW_HEADER if self.source.startswith(AIRFLOW_HEADER) else ""
        return head + textwrap.dedent(self.source[len(head):]).lstrip("\n")


def converts(source: str, *fragments: str, title: str = "") -> Example:
    return Example("converts", source, fragments, title)


def unchanged(source: str, *fragments: str, title: str = "") -> Example:
    return Example("unchanged", source, fragments, title)


def marks(source: str, code: str, title: str = "") -> Example:
    return Example("marks", source, (code,), title)


def refuses(source: str, code: str, title: str = "") -> Example:
    return Example("refuses", source, (code,), title)


class Rule:
    """Base of the rule classes; subclasses register themselves."""

    #: the Airflow construct, the flow side, and the finding codes the rule emits
    CONSTRUCT: ClassVar[str] = ""
    RESULT: ClassVar[str] = ""
    CODES: ClassVar[tuple[str, ...]] = ()
    EXAMPLES: ClassVar[list[Example]] = []
    registry: ClassVar[list[type[Rule]]] = []

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        Rule.registry.append(cls)

    @classmethod
    def module(cls) -> str:
        return cls.__module__.rsplit(".", 1)[-1] + ".py"

    @classmethod
    def summary(cls) -> str:
        return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())


def all_rules() -> list[type[Rule]]:
    for name in RULE_MODULES:
        importlib.import_module(name)
    order = {name: i for i, name in enumerate(RULE_MODULES)}
    return sorted(Rule.registry, key=lambda r: order.get(r.__module__, len(order)))


#: the import lines most examples start with
AIRFLOW_HEADER = """\
import pendulum
from airflow.sdk import DAG, task, task_group
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
"""


# --------------------------------------------------------------------------- issue 11: plain Prefect
class PlainRunContext(Rule):
    """The run context as plain values: the flow takes ``logical_date`` (and the DAG's params),
    computes ``ds``, ``ts``, ``run_id`` ... with the standard library and ``prefect.runtime``, and
    each task takes the values it reads as parameters; no context object crosses a task boundary.

    A callable or template given the whole ``dag_run`` gets ``types.SimpleNamespace(conf=...,
    run_id=..., logical_date=..., run_type='manual', ...)``, the run object the runtime shows for
    a manual run. Where the context is needed as a whole (a template rendered at run time that
    reads ``ti``, ``var`` ..., an operator run through the shim, ``**context``), the flow keeps
    ``airflow_context``. Implemented in ``plain_context.py``.
    """

    CONSTRUCT = "`{{ ds }}` and other context values in templates, `ds`/`params`/`run_id` read by callables"
    RESULT = "`logical_date` parsed in the flow (`prefect.runtime.flow_run` when not given); tasks take `ds=...`, `params=...`"
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            with DAG("plain_ctx", schedule=None, params={"region": "eu"}):
                BashOperator(task_id="hello", bash_command="echo {{ ds }} {{ params.region }}")
            """,
            "def hello(ds, params):",
            "f\"echo {ds} {params['region']}\"",
            "logical_date = datetime.fromisoformat(str(logical_date or flow_run.scheduled_start_time))",
            "params = {'region': region}",
            "hello.submit(ds=logical_date.strftime('%Y-%m-%d'), params=params)",
            title="template values become task parameters"),
        converts(AIRFLOW_HEADER + """
            from airflow.providers.standard.operators.python import PythonOperator
            def load(ds, run_id):
                return f"{run_id}:{ds}"
            with DAG("plain_callable", schedule=None):
                PythonOperator(task_id="load", python_callable=load)
            """,
            "load.submit(ds=logical_date.strftime('%Y-%m-%d'), run_id=f'manual__{logical_date.isoformat()}')",
            title="a callable's context parameters"),
        converts(AIRFLOW_HEADER + """
            from airflow.providers.standard.operators.python import PythonOperator
            def begin(dag_run):
                conf = dag_run.conf or {}
                return conf.get("files"), dag_run.run_id
            with DAG("plain_dag_run", schedule=None):
                PythonOperator(task_id="begin", python_callable=begin)
            """,
            "def begin(dag_run_conf, run_id):",
            "conf = dag_run_conf or {}",
            "def plain_dag_run(logical_date=None, conf=None):",
            "begin.submit(dag_run_conf=(conf or {}), run_id=f'manual__{logical_date.isoformat()}')",
            title="`dag_run.conf` / `dag_run.run_id`: the values, not the run object"),
        converts(AIRFLOW_HEADER + """
            from airflow.providers.standard.operators.python import PythonOperator
            def begin(dag_run):
                return getattr(dag_run, "conf", None) or {}
            with DAG("plain_dag_run_object", schedule=None):
                PythonOperator(task_id="begin", python_callable=begin)
            """,
            "dag_run = types.SimpleNamespace(",
            "conf=(conf or {}), run_id=f'manual__{logical_date.isoformat()}', dag_id='plain_dag_run_object', run_type='manual',",
            "begin.submit(dag_run=dag_run)",
            title="the whole `dag_run`: a plain namespace of the run's values"),
        converts(AIRFLOW_HEADER + """
            def week_of(ds):
                return ds[:8] + "01"
            with DAG("plain_macros", schedule=None, user_defined_macros={"week_of": week_of}):
                BashOperator(task_id="t", bash_command="echo {{ week_of(ds) }}")
            """,
            "f\"echo {week_of(ds)}\"",
            title="a `user_defined_macros` function called where the template called it"),
    ]


class PlainRenderedTemplates(Rule):
    """Templates rendered at run time over plain values: a template the ``templates`` rule cannot
    write as an f-string (a Jinja filter, ``{% if %}``, ``{% for %}``) that reads only values the
    flow computes (``ds``, ``ts``, ``logical_date``, the data interval, ``params``,
    ``dag_run.conf``, ``run_id``, ``yesterday_ds``/``tomorrow_ds``, ``execution_date``), the DAG's
    ``user_defined_macros``, Airflow's date filters (``| ds``, ``| ts_nodash`` ...) and
    ``macros.ds_add``/``ds_format``/``datetime``/``timedelta``, ``dag.dag_id`` and, in a task,
    ``task.task_id`` / ``task_instance_key_str`` (the converter knows the ids) is rendered by ``render_jinja``, a
    function of the output file: jinja2 (a Prefect dependency) with ``StrictUndefined`` as
    Airflow's default, Airflow's filters and macros written in plain Python, Jinja's native
    rendering where the DAG says ``render_template_as_native_obj=True``. Each task takes the
    values it renders as parameters; ``macros.ds_add`` in a template written as an f-string calls
    the file's ``ds_add``. The file imports neither ``airflow_interop.runtime`` nor ``airflow``.

    Found statically (``jinja2.meta.find_undeclared_variables`` on the parsed template). A
    template that reads anything else (``ti``, ``task_instance``, ``var``, ``conn``, ``task`` in
    the flow, ``conf``, ``macros.<other>``), includes or
    imports another, or a DAG with ``jinja_environment_kwargs``, ``template_undefined`` or
    ``user_defined_filters``: the DAG keeps ``airflow_interop.runtime.render_template`` with the context as
    before (IX301 names each template rendered at run time). Implemented in
    ``plain_templates.py``, applied by ``plain_context.py``.

    A command built from values known only at run time whose own text has no Jinja
    (``bash_command=f"rm -rf {OUTPUT_DIR}"``, ``"ls " + PATH``) is rendered by ``render_jinja``
    with no values and no upstream XComs; IX301 says that a Jinja expression inside those values
    fails (``UndefinedError``) where Airflow rendered it.
    """

    CONSTRUCT = "`{{ ds | upper }}`, `{% if params.x %}...{% endif %}`, `{{ macros.ds_add(ds, 1) }}`, `{{ data_interval_end | ds }}` with a filter"
    RESULT = "`render_jinja('...', ds=ds, params=params)`: jinja2 in a function of the output; `ds_add(ds, 1)` a function of the output"
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            with DAG("plain_render", schedule=None):
                BashOperator(task_id="t", bash_command="echo {{ ds | upper }}")
            """,
            "def render_jinja(template, **values):",
            "env = jinja2.Environment(undefined=jinja2.StrictUndefined)",
            "def t(ds):",
            "render_jinja('echo {{ ds | upper }}', ds=ds)",
            "t.submit(ds=logical_date.strftime('%Y-%m-%d'))",
            title="a filter: rendered by the output's own function"),
        converts(AIRFLOW_HEADER + """
            import os
            OUTPUT_DIR = os.environ["OUTPUT_DIR"]
            with DAG("plain_built", schedule=None):
                BashOperator(task_id="clean", bash_command=f"rm -rf {OUTPUT_DIR}")
            """,
            "def clean(bash_command):",
            "render_jinja(bash_command)",
            "clean.submit(bash_command=f\"rm -rf {OUTPUT_DIR}\")",
            title="a command built from a value known at run time, no Jinja of its own: rendered with no values"),
        converts(AIRFLOW_HEADER + """
            with DAG("plain_macro", schedule=None, params={"n": 2}):
                BashOperator(task_id="t", bash_command="echo {{ macros.ds_add(ds, params.n) }}")
                BashOperator(task_id="u", bash_command="{% if params.n %}{{ data_interval_end | ds_nodash }}{% endif %}")
            """,
            "def ds_add(ds, days):",
            "return (datetime.strptime(str(ds), '%Y-%m-%d') + timedelta(days=days)).strftime('%Y-%m-%d')",
            "f\"echo {ds_add(ds, params['n'])}\"",
            "ds_nodash=lambda value: None if value is None else value.strftime('%Y%m%d'),",
            "render_jinja('{% if params.n %}{{ data_interval_end | ds_nodash }}{% endif %}', data_interval_end=data_interval_end, params=params)",
            title="`macros.ds_add` and Airflow's date filters in plain Python"),
        converts(AIRFLOW_HEADER + """
            with DAG("plain_native", schedule=None, render_template_as_native_obj=True):
                BashOperator(task_id="t", bash_command="{{ ds | replace('-', '') }}")
            """,
            "def render_jinja(template, native=False, **values):",
            "env = (jinja2.nativetypes.NativeEnvironment if native else jinja2.Environment)(undefined=jinja2.StrictUndefined)",
            "render_jinja(\"{{ ds | replace('-', '') }}\", native=True, ds=ds)",
            "import jinja2.nativetypes",
            title="native rendering"),
        converts(AIRFLOW_HEADER + """
            with DAG("whole_ctx", schedule=None):
                BashOperator(task_id="t", bash_command="echo {{ var.value.region | upper }}")
            """,
            "ctx = airflow_context(logical_date",
            "render_template('echo {{ var.value.region | upper }}', ctx",
            title="a template that reads `var` keeps the context and the runtime's rendering"),
    ]


class BashSubprocess(Rule):
    """``BashOperator`` runs its command with ``subprocess.run`` in the task body, where a reader
    sees it: ``bash -c`` in a fresh temporary directory (or ``cwd``), ``env`` replacing the
    environment (added to it with ``append_env=True``), the output in the task's log, its last
    line the result, the skip exit code (99, or ``skip_on_exit_code``) a ``Completed`` state named
    ``Skipped``, any other non-zero exit a failure. Implemented in ``bash.py``.

    ``output_processor``, ``output_encoding`` and a skip code or ``append_env`` known only at
    run time keep ``airflow_interop.runtime.run_bash``. Why not ``prefect-shell``'s ``ShellOperation``: it is
    one more package, returns every output line rather than the last, has no skip exit code, and
    its working directory and environment defaults differ from Airflow's; ``subprocess.run``
    keeps Airflow's behaviour in a dozen lines a reader can see and change.
    """

    CONSTRUCT = "`BashOperator(bash_command=..., env=..., append_env=..., cwd=..., skip_on_exit_code=...)`"
    RESULT = "`subprocess.run(['bash', '-c', command], ...)` in the task; exit 99 -> `Completed(name='Skipped')`"
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            with DAG("bash_plain", schedule=None):
                BashOperator(task_id="a", bash_command="echo a")
            """,
            "with tempfile.TemporaryDirectory() as tmp:",
            "proc = subprocess.run(\n            ['bash', '-c', \"echo a\"],\n            cwd=tmp,\n            stdout=subprocess.PIPE,",
            "if proc.returncode == 99:",
            "return output.rstrip('\\n').split('\\n')[-1].rstrip()",
            title="the default skip code"),
        converts(AIRFLOW_HEADER + """
            with DAG("bash_env", schedule=None):
                BashOperator(task_id="b", bash_command="echo $X", env={"X": "1"}, append_env=True,
                             cwd="/tmp", skip_on_exit_code=None)
            """,
            "        cwd=cwd,\n        env={**os.environ, **{\"X\": \"1\"}},",
            "import os",
            title="env added to the environment, a cwd, no skip code"),
    ]


class TaskNamedByFunction(Rule):
    """``@task`` without ``name=`` where the function's name is the task id: Prefect names a task
    by its function. A function used by several tasks keeps ``.with_options(name=task_id)`` per
    call. Implemented in ``python_operator.py``, ``taskflow.py``, ``bash.py``, ``shimmed.py``.
    """

    CONSTRUCT = "`PythonOperator(task_id=\"load\", python_callable=load)`, `@task def load()`"
    RESULT = "`@task` on `def load`, no `name='load'`"
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            from airflow.providers.standard.operators.python import PythonOperator
            def load():
                return 1
            def other():
                return 2
            with DAG("names", schedule=None):
                PythonOperator(task_id="load", python_callable=load)
                PythonOperator(task_id="renamed", python_callable=other)
            """,
            "@task\ndef load():",
            "@task(name='renamed')\ndef other():",
            title="the name only where it differs"),
    ]


class KeptDagAttributes(Rule):
    """Kept code reading the DAG object the flow replaces: ``dag.dag_id`` and ``task.task_id``
    become the ids; ``dag.start_date``, ``dag.end_date`` (``default_args`` included),
    ``dag.schedule_interval``, ``dag.description``, ``dag.catchup`` and ``dag.max_active_runs``
    become the constructor's argument as written, where the DAG object holds that very value
    (a date only as ``pendulum.datetime(...)`` in UTC, which Airflow keeps as it is) and the
    argument reads only imports and builtins. Any other read of the DAG object stays, with its
    markers (IX101, IX111). Implemented in ``plan.py`` (``Plan.static_attribute``).
    """

    CONSTRUCT = "`dag.start_date`, `dag.schedule_interval`, `dag.dag_id` read in a callable"
    RESULT = "the argument written in place: `pendulum.datetime(2020, 1, 1)`, `timedelta(hours=1)`, `'hourly'`"
    EXAMPLES = [
        converts("""
            import pendulum
            from datetime import timedelta
            from airflow import DAG
            from airflow.operators.python import PythonOperator

            dag = DAG("hourly", schedule_interval=timedelta(hours=1), start_date=pendulum.datetime(2020, 1, 1))

            def hours_since_start(**context):
                return (context["execution_date"] - dag.start_date) / dag.schedule_interval

            with dag:
                PythonOperator(task_id="hours", python_callable=hours_since_start)
            """,
            "return (execution_date - pendulum.datetime(2020, 1, 1)) / timedelta(hours=1)",
            title="the DAG's arguments as written"),
    ]


class CommentsCarried(Rule):
    """Comments on the DAG's statements that the flow replaces are kept: a comment on a statement
    that made a task goes above that task's call in the flow; one on a statement that made none
    (``a >> b``) goes to the next task (or the flow's end); comments above the DAG and in its
    header go above what the DAG became. Implemented in ``emit.py``.
    """

    CONSTRUCT = "comments in and above `with DAG(...):` bodies"
    RESULT = "the same comments, above the task calls and the flow"
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            # nightly load of the warehouse
            with DAG("commented", schedule=None):  # owned by the data team
                # first the raw tables
                raw = BashOperator(task_id="raw", bash_command="echo raw")
                clean = BashOperator(task_id="clean", bash_command="echo clean")  # then clean them
                # order matters
                raw >> clean
            """,
            "# nightly load of the warehouse\n# owned by the data team\n@task",
            "    # first the raw tables\n    raw_future = raw.submit()",
            "    # then clean them\n    clean_future = clean.submit(wait_for=[raw_future])\n    # order matters",
            title="comments follow the tasks they describe"),
    ]


class PlainSkips(Rule):
    """Branch choices and skips in Prefect's own terms: a Python branch's choice is read from its
    result in the flow; a task skipped at run time is read from its future's state
    (``Completed`` named ``Skipped``); a task Airflow would skip is recorded by a small task of the
    file, ``skipped_task``, that ends ``Completed`` named ``Skipped`` under the task's id, after its
    upstream tasks whatever their end. Implemented in ``branching.py``.

    A branch operator run through the shim keeps ``branch_targets`` (its choice is an XCom).
    """

    CONSTRUCT = "`BranchPythonOperator`, `@task.branch`, a skip exit code, `trigger_rule`"
    RESULT = "`pick_follow = pick_future.result()`; `skipped_task.with_options(name='t').submit(...) if t_skipped else t.submit(...)`"
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            @task.branch
            def pick():
                return "small"
            with DAG("plain_branch", schedule=None):
                small = BashOperator(task_id="small", bash_command="echo small")
                big = BashOperator(task_id="big", bash_command="echo big")
                pick() >> [small, big]
            """,
            "pick_follow = pick_future.result()",
            "pick_follow = {pick_follow} if isinstance(pick_follow, str) else set(pick_follow or ())",
            "big_future = skipped_task.with_options(name='big').submit(wait_for=[allow_failure(pick_future)]) if big_skipped",
            "@task(cache_policy=NO_CACHE)\ndef skipped_task():",
            title="the branch's result chooses; the other path is recorded as skipped"),
        converts(AIRFLOW_HEADER + """
            with DAG("plain_skip_code", schedule=None):
                check = BashOperator(task_id="check", bash_command="exit 99")
                after = BashOperator(task_id="after", bash_command="echo after")
                check >> after
            """,
            "check_future.wait()\n    check_was_skipped = check_future.state.name == 'Skipped'",
            title="a task that skips itself at run time"),
    ]
