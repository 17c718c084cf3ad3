"""IXL1xx: Airflow leftovers in a converted flow file."""

from __future__ import annotations

import re

import libcst as cst

from interop.lint import names
from interop.lint.context import dotted_name
from interop.lint.rule import Invalid, Valid
from interop.lint.rules._base import ScopedRule


class AirflowImport(ScopedRule):
    """
    ## What it does
    Reports an `airflow` import in a flow file, unless every name it brings in is only
    used the shim way: in an operator constructed as the first argument of
    `airflow_interop.operator.run_operator(...)` (or `airflow_task(...)`), the operator's class or
    its arguments, or in a custom operator class of the file that is only used that way. An Airflow import nothing uses is reported too,
    and `--fix` removes it.

    ## Why is this bad?
    A converted flow must run where only Prefect is installed. An Airflow import drags
    Airflow's runtime back in (`Variable`, `DAG`, hooks) and hides work the migration has
    not done yet.

    ## Example
    ```python
    from airflow.models import Variable
    from prefect import flow, task


    @task
    def load():
        return Variable.get("bucket")
    ```

    ## Use instead
    ```python
    import os

    from prefect import flow, task


    @task
    def load():
        return os.environ["BUCKET"]
    ```

    ## Fix safety
    Safe for unused imports only: removing an import nothing uses does not change what
    the flow does. An import that is used is never touched.
    """

    CODE = "IXL101"
    NAME = "airflow-import"
    MESSAGE = "Airflow import left in a flow file"
    FIXABLE = True
    VALID = [
        Valid(
            """
from prefect import flow, task


@task
def extract():
    return [1, 2, 3]


@flow(name="etl")
def etl():
    extract()
"""
        ),
        Valid(
            """
from prefect import task
from airflow_interop.runtime import run_operator
from airflow_interop.runtime import airflow_context


@task(name="notify")
def notify(upstream=None):
    from airflow.providers.http.operators.http import HttpOperator

    return run_operator(HttpOperator(task_id="notify", endpoint="/hook"), ctx=airflow_context(), upstream=upstream)
"""
        ),
        Valid(
            """
from airflow.providers.standard.sensors.weekday import DayOfWeekSensor
from airflow.sdk import BaseOperator, Context
from airflow.providers.standard.utils.weekday import WeekDay
from prefect import task
from airflow_interop.runtime import run_operator


class PrintOperator(BaseOperator):
    def execute(self, context: Context):
        print(context["ds"])


@task(name="monday")
def monday(ctx, upstream_xcoms):
    return run_operator(DayOfWeekSensor(task_id="monday", week_day=WeekDay.MONDAY), ctx=ctx, upstream=upstream_xcoms)


@task(name="show")
def show(ctx):
    return run_operator(PrintOperator(task_id="show"), ctx=ctx)
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from airflow.models import Variable
from prefect import flow, task


@task
def load():
    return Variable.get("bucket")
""",
            line=2,
        ),
        Invalid(
            """
import airflow
from prefect import flow


@flow
def etl():
    return airflow.__version__
""",
            line=2,
        ),
        Invalid(
            """
from airflow import DAG
from prefect import flow


@flow
def etl():
    return 1
""",
            line=2,
            expected_replacement="""
from prefect import flow


@flow
def etl():
    return 1
""",
        ),
        Invalid(
            """
from prefect import task
from airflow_interop.runtime import run_operator


@task
def notify():
    from airflow.providers.http.operators.http import HttpOperator, HttpSensor

    return run_operator(HttpOperator(task_id="notify"), ctx=None)
""",
            line=8,
            expected_replacement="""
from prefect import task
from airflow_interop.runtime import run_operator


@task
def notify():
    from airflow.providers.http.operators.http import HttpOperator

    return run_operator(HttpOperator(task_id="notify"), ctx=None)
""",
        ),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        #: (import node, {local name: qualified name})
        self.imports: list[tuple[cst.Import | cst.ImportFrom, dict[str, str]]] = []
        #: local name -> [(use, is shim use, enclosing classes)]
        self.uses: dict[str, list[tuple[cst.Name, bool, tuple[str, ...]]]] = {}
        self._classes: list[str] = []
        self._skip: set[int] = set()
        self._shim_ok: set[int] = set()
        self._in_import = 0

    def visit_Import(self, node: cst.Import) -> None:
        self._in_import += 1
        bound: dict[str, str] = {}
        for alias in node.names:
            full = dotted_name(alias.name) or ""
            if not names.is_airflow(full):
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                bound[alias.asname.name.value] = full
            else:
                bound[full.split(".")[0]] = full
        if bound:
            self.imports.append((node, bound))

    def leave_Import(self, original_node: cst.Import) -> None:
        self._in_import -= 1

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._in_import += 1
        if node.relative or node.module is None:
            return
        module = dotted_name(node.module) or ""
        if not names.is_airflow(module):
            return
        bound: dict[str, str] = {}
        if isinstance(node.names, cst.ImportStar):
            bound["*"] = f"{module}.*"
        else:
            for alias in node.names:
                name = dotted_name(alias.name) or ""
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                bound[local] = f"{module}.{name}"
        self.imports.append((node, bound))

    def leave_ImportFrom(self, original_node: cst.ImportFrom) -> None:
        self._in_import -= 1

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._skip.add(id(node.attr))

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._skip.add(id(node.keyword))

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        if self.context.qualified(node.func) in names.RUN_OPERATOR and node.args:
            first = node.args[0].value
            if isinstance(first, cst.Call):
                head = first.func
                while isinstance(head, cst.Attribute):
                    head = head.value
                if isinstance(head, cst.Name):
                    self._shim_ok.add(id(head))

    def visit_Name(self, node: cst.Name) -> None:
        if self._in_import or id(node) in self._skip:
            return
        shim_use = id(node) in self._shim_ok or self.shim_depth > 0  # the operator or its arguments
        self.uses.setdefault(node.value, []).append((node, shim_use, tuple(self._classes)))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._skip.add(id(node.name))
        self._classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._classes.pop()

    def _shim_classes(self) -> set[str]:
        """Classes of the file (custom operators) used only as shimmed operators."""
        defined = {c for uses in self.uses.values() for _, _, classes in uses for c in classes}
        return {c for c in defined if self.uses.get(c) and all(shim for _, shim, _ in self.uses[c])}

    def finish(self) -> None:
        shim_classes = self._shim_classes()

        def is_shim(use: tuple[cst.Name, bool, tuple[str, ...]]) -> bool:
            return use[1] or any(c in shim_classes for c in use[2])

        for node, bound in self.imports:
            outside = [local for local in bound if any(not is_shim(u) for u in self.uses.get(local, []))]
            unused = [local for local in bound if local != "*" and not self.uses.get(local)]
            if "*" in bound:
                self.report(node, f"Airflow import left in a flow file: `{bound['*']}`")
            elif outside:
                shown = ", ".join(f"`{bound[n]}`" for n in outside)
                uses = [u[0] for n in outside for u in self.uses[n] if not is_shim(u)]
                self.report(node, f"Airflow import left in a flow file: {shown} still used by flow code", related=uses)
            elif unused:
                shown = ", ".join(f"`{bound[n]}`" for n in unused)
                self.report(node, f"unused Airflow import {shown} in a flow file", replacement=_without(node, unused))


def _without(node: cst.Import | cst.ImportFrom, unused: list[str]) -> cst.CSTNode | cst.RemovalSentinel:
    """``node`` minus the aliases binding ``unused`` (removed entirely if none is left)."""
    assert not isinstance(node.names, cst.ImportStar)

    def local(alias: cst.ImportAlias) -> str:
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            return alias.asname.name.value
        full = dotted_name(alias.name) or ""
        return full.split(".")[0] if isinstance(node, cst.Import) else full

    keep = [a for a in node.names if local(a) not in unused]
    if not keep:
        return cst.RemovalSentinel.REMOVE
    keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    if isinstance(node, cst.ImportFrom):
        return node.with_changes(names=keep, lpar=node.lpar if len(keep) > 1 else None, rpar=node.rpar if len(keep) > 1 else None)
    return node.with_changes(names=keep)


class AirflowDagObject(ScopedRule):
    """
    ## What it does
    Reports an Airflow `DAG` built in a flow file: `DAG(...)`, `with DAG(...)` or the
    `@dag` decorator.

    ## Why is this bad?
    In the converted file the `@flow` function is the pipeline. A DAG object next to it
    is a second, Airflow-only definition of the same pipeline that drifts from the flow.

    ## Example
    ```python
    from airflow import DAG
    from prefect import flow

    with DAG("etl") as dag:
        pass


    @flow(name="etl")
    def etl():
        pass
    ```

    ## Use instead
    ```python
    from prefect import flow


    @flow(name="etl")
    def etl():
        pass
    ```

    ## Fix safety
    No fix: what the DAG object still does (schedule, callbacks) has to move by hand.
    """

    CODE = "IXL102"
    NAME = "airflow-dag-object"
    MESSAGE = "Airflow DAG object left in a flow file; the @flow function is the pipeline"
    VALID = [
        Valid(
            """
from prefect import flow


@flow(name="etl")
def etl():
    pass
"""
        ),
        Valid(
            """
def DAG(name):
    return name


x = DAG("not airflow")
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from airflow import DAG
from prefect import flow

with DAG("etl") as dag:
    pass


@flow(name="etl")
def etl():
    pass
""",
            line=5,
        ),
        Invalid(
            """
import pendulum
from airflow.sdk import dag


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1))
def etl():
    pass
""",
            line=6,
        ),
        Invalid(
            """
from airflow.models.dag import DAG as AirflowDAG

dag = AirflowDAG(dag_id="etl")
""",
            line=4,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        qual = self.context.qualified(node.func)
        if qual in names.DAG_CONSTRUCTORS and names.is_airflow(qual):
            self.report(node, f"Airflow DAG object `{dotted_name(node.func)}(...)` left in a flow file; the @flow function is the pipeline")

    def visit_Decorator(self, node: cst.Decorator) -> None:
        expr = node.decorator
        if isinstance(expr, cst.Call):
            return  # reported by visit_Call
        qual = self.context.qualified(expr)
        if qual in names.DAG_CONSTRUCTORS:
            self.report(node, f"Airflow `@{dotted_name(expr)}` decorator left in a flow file; use @flow")


class AirflowOperatorOutsideShim(ScopedRule):
    """
    ## What it does
    Reports an Airflow operator or sensor (or one of the file's own operator classes)
    constructed, or mapped with `.partial(...)`, anywhere but as the operator argument of
    `airflow_interop.operator.run_operator(...)` (or `airflow_task(...)`).

    ## Why is this bad?
    An operator constructed in a flow does nothing: nobody schedules it, so its work
    silently never happens. The shim is the one place where an unconverted operator runs.

    ## Example
    ```python
    from airflow.providers.standard.operators.bash import BashOperator
    from prefect import task


    @task
    def report():
        BashOperator(task_id="report", bash_command="echo done")
    ```

    ## Use instead
    ```python
    from prefect import task
    from airflow_interop.runtime import run_bash


    @task
    def report():
        return run_bash("echo done")
    ```

    ## Fix safety
    No fix: whether to convert the operator or run it through the shim is a choice.
    """

    CODE = "IXL103"
    NAME = "airflow-operator-outside-shim"
    MESSAGE = "Airflow operator constructed outside the operator shim: it never runs"
    VALID = [
        Valid(
            """
from airflow.providers.http.operators.http import HttpOperator
from prefect import task
from airflow_interop.runtime import run_operator


@task(name="notify")
def notify(ctx=None):
    return run_operator(HttpOperator(task_id="notify", endpoint="/hook"), ctx=ctx, upstream={})
"""
        ),
        Valid(
            """
from airflow.providers.http.operators.http import HttpOperator
from prefect import flow
from airflow_interop.runtime import airflow_task
from airflow_interop.runtime import airflow_context

notify = airflow_task(HttpOperator(task_id="notify", endpoint="/hook"), retries=2)


@flow(name="alerts")
def alerts():
    return notify(ctx=airflow_context(), upstream={})
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from airflow.providers.standard.operators.bash import BashOperator
from prefect import task


@task
def report():
    BashOperator(task_id="report", bash_command="echo done")
""",
            line=8,
        ),
        Invalid(
            """
from airflow.providers.http.operators.http import HttpOperator as Http

op = Http(task_id="notify", endpoint="/hook")
""",
            line=4,
        ),
        Invalid(
            """
from airflow.sdk import BaseOperator
from prefect import flow


class AddOneOperator(BaseOperator):
    def execute(self, context):
        return 1


@flow
def etl():
    added = AddOneOperator.partial(task_id="add_one").expand(value=[1, 2, 3])
""",
            line=13,
        ),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        #: the file's own operator classes (derived from an Airflow operator)
        self._local_operators: set[str] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        for base in node.bases:
            qual = self.context.qualified(base.value)
            if self._is_operator(qual) or qual in self._local_operators:
                self._local_operators.add(node.name.value)
                return

    @staticmethod
    def _is_operator(qual: str | None) -> bool:
        return names.is_airflow_operator(qual) or (
            names.is_airflow(qual) and (qual or "").rsplit(".", 1)[-1] in ("BaseOperator", "BaseSensorOperator")
        )

    def visit_Call(self, node: cst.Call) -> None:
        is_shim_arg = False
        if self.shim_depth and self._shim_calls and self._shim_calls[-1] == "shim":
            is_shim_arg = True  # directly inside run_operator(...)'s arguments
        super().visit_Call(node)
        func = node.func
        how = ""
        if isinstance(func, cst.Attribute) and func.attr.value == "partial":
            func, how = func.value, ".partial"  # Operator.partial(...).expand(...): a mapped operator
        qual = self.context.qualified(func)
        is_op = (self._is_operator(qual) and not qual.endswith(("BaseOperator", "BaseSensorOperator"))) or qual in self._local_operators  # type: ignore[union-attr]
        if is_op and not is_shim_arg:
            self.report(node, f"Airflow operator `{dotted_name(func)}{how}` constructed outside the operator shim: it never runs")


class XComCall(ScopedRule):
    """
    ## What it does
    Reports `xcom_pull` and `xcom_push` calls.

    ## Why is this bad?
    Prefect has no XCom store: in a flow, data moves as task return values and
    parameters. An XCom call either fails or reads nothing.

    ## Example
    ```python
    from prefect import task


    @task
    def load(ti=None):
        rows = ti.xcom_pull(task_ids="extract")
        return len(rows)
    ```

    ## Use instead
    ```python
    from prefect import task


    @task
    def load(rows):
        return len(rows)
    ```

    ## Fix safety
    No fix: the upstream result has to be wired in as a parameter in the flow.
    """

    CODE = "IXL104"
    NAME = "xcom-call"
    MESSAGE = "XCom call in a flow file: pass task results as parameters instead"
    VALID = [
        Valid(
            """
from prefect import flow, task


@task
def extract():
    return [1, 2]


@task
def load(rows):
    return len(rows)


@flow
def etl():
    load(extract())
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from prefect import task


@task
def load(ti=None):
    rows = ti.xcom_pull(task_ids="extract")
    return len(rows)
""",
            line=7,
        ),
        Invalid(
            """
from prefect import task


@task
def extract(**context):
    context["ti"].xcom_push(key="rows", value=[1, 2])
""",
            line=7,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("xcom_pull", "xcom_push"):
            self.report(node, f"`{func.attr.value}` call in a flow file: Prefect has no XCom; pass task results as parameters")


class AirflowContextAccess(ScopedRule):
    """
    ## What it does
    Reports reads of the Airflow task context: `get_current_context()`, `context["ds"]`
    or `kwargs["ti"]` (any context key), and attribute access on `ti` / `task_instance`.
    Code in an operator run through `run_operator(...)` is not reported. A callback handed
    to `airflow_interop.runtime.airflow_callback(...)` gets a context from the shim (the run's
    template values such as `ds`, `params`, `dag_run`, plus `task_instance`, `ti`,
    `exception`, `dag`, `task` and the Prefect hook's objects): only other keys (`prev_ds`,
    `triggering_asset_events`...) are reported there. A callback handed to an adapter of the file (a function that calls its
    argument with a dict of context keys: the converter's `task_callback` / `flow_callback`)
    gets that dict's keys: only other keys are reported there.

    ## Why is this bad?
    Prefect does not inject an Airflow context into tasks. Code that reads it fails at
    run time, or reads a shim's stand-in values where real inputs were meant.

    ## Example
    ```python
    from prefect import task


    @task
    def stamp(**context):
        return context["ds"]
    ```

    ## Use instead
    ```python
    from prefect import task


    @task
    def stamp(ds: str):
        return ds
    ```

    ## Fix safety
    No fix: the value has to become a parameter of the task.
    """

    CODE = "IXL105"
    NAME = "airflow-context-access"
    MESSAGE = "Airflow task context read in a flow file"
    VALID = [
        Valid(
            """
from prefect import task


@task
def stamp(ds: str, params: dict):
    return ds + params["suffix"]
"""
        ),
        Valid(
            """
from prefect import task
from airflow_interop.runtime import run_operator
from airflow_interop.runtime import airflow_context
from airflow.providers.standard.operators.python import PythonOperator


@task
def legacy(upstream=None):
    return run_operator(PythonOperator(task_id="legacy", python_callable=lambda ti: ti.try_number), ctx=airflow_context(), upstream=upstream)
"""
        ),
        Valid(
            """
from prefect import task
from airflow_interop.runtime import airflow_callback


def page_oncall(context):
    print("failed:", context["task_instance"].task_id, context["ds"], context["exception"])


@task(name="load", on_failure=[airflow_callback(page_oncall)])
def load():
    return 1
"""
        ),
        Valid(
            """
from prefect import task


def task_callback(callback):
    def hook(task, task_run, state):
        callback({"exception": state.result(raise_on_failure=False) if state.is_failed() else None})

    return hook


def page_oncall(context):
    print("failed:", context["exception"])


@task(on_failure=[task_callback(page_oncall)])
def load():
    return 1
"""
        ),
        Valid(
            """
from prefect import task


def task_callback(callback, retry=False):
    def hook(task, task_run, state):
        callback({"ti": task_run})
        return True

    return hook


def warn(context):
    print("retrying", context["ti"].try_number)


@task(retries=2, retry_condition_fn=task_callback(warn, retry=True))
def load():
    return 1
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from prefect import task


@task
def stamp(**context):
    return context["ds"]
""",
            line=7,
        ),
        Invalid(
            """
from airflow.sdk import get_current_context
from prefect import task


@task
def stamp():
    return get_current_context()["logical_date"]
""",
            line=8,
        ),
        Invalid(
            """
from prefect import task


@task
def attempt(ti=None):
    return ti.try_number
""",
            line=7,
        ),
        Invalid(
            """
from prefect import task


@task
def stamp(**kw):
    return kw["dag_run"].conf
""",
            line=7,
        ),
        Invalid(
            """
from prefect import task
from airflow_interop.runtime import airflow_callback


def record_success(context):
    print("done after", context["prev_ds"])


@task(name="load", on_completion=[airflow_callback(record_success)])
def load():
    return 1
""",
            line=7,
        ),
        Invalid(
            """
from prefect import task


def task_callback(callback):
    def hook(task, task_run, state):
        callback({"exception": state.result(raise_on_failure=False) if state.is_failed() else None})

    return hook


def page_oncall(context):
    print("failed in", context["dag"].dag_id)


@task(on_failure=[task_callback(page_oncall)])
def load():
    return 1
""",
            line=13,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        if self.shim_depth:
            return
        qual = self.context.qualified(node.func)
        if qual in names.GET_CURRENT_CONTEXT:
            self.report(node, "`get_current_context()` reads the Airflow task context: Prefect has none; pass values in as parameters")

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if self.shim_depth or not isinstance(node.value, cst.Name) or len(node.slice) != 1:
            return
        index = node.slice[0].slice
        if not isinstance(index, cst.Index) or not isinstance(index.value, cst.SimpleString):
            return
        key = index.value.evaluated_value
        if key not in names.CONTEXT_KEYS:
            return
        holder = node.value.value
        if holder in names.CONTEXT_PARAM_NAMES or holder in self._star_kwargs():
            callback = self._callback()
            if callback is None:
                self.report(node, f'Airflow context read `{holder}["{key}"]`: Prefect injects no context; pass `{key}` in as a parameter')
            elif callback in self.context.callback_keys:
                if key not in self.context.callback_keys[callback]:
                    self.report(node, f'callback `{callback}` reads `{holder}["{key}"]`, which its hook adapter does not hand it')
            elif key not in names.CALLBACK_CONTEXT_KEYS:
                self.report(node, f'callback `{callback}` reads `{holder}["{key}"]`, which airflow_interop.runtime.airflow_callback does not hand it')

    def _callback(self) -> str | None:
        """The enclosing function when it is an Airflow callback run through the callback shim."""
        for fn in self.functions:
            if fn.name.value in self.context.callbacks:
                return fn.name.value
        return None

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self.shim_depth or not isinstance(node.value, cst.Name):
            return
        if node.value.value in names.TASK_INSTANCE_NAMES and node.attr.value not in ("xcom_pull", "xcom_push"):
            self.report(node, f"Airflow task instance read `{node.value.value}.{node.attr.value}`: Prefect has no task instance to read")

    def _star_kwargs(self) -> set[str]:
        out: set[str] = set()
        for fn in self.functions:
            star = fn.params.star_kwarg
            if star is not None:
                out.add(star.name.value)
        return out


JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


class JinjaInString(ScopedRule):
    """
    ## What it does
    Reports a string literal holding a Jinja template (`{{ ... }}` or `{% ... %}`),
    except where it is rendered at run time: in the arguments of
    `airflow_interop.runtime.render_template(...)` and of operators run through
    `airflow_interop.operator.run_operator(...)`, when it is handed (directly or through a variable)
    to a task parameter that the task passes to `render_template`, and when a function
    returns it and is handed to a task that renders what the function returns
    (`render_template(command(...))`, the `@task.bash` pattern). Docstrings are not
    reported.

    ## Why is this bad?
    Airflow rendered templated fields before a task ran; Prefect renders nothing. The
    literal text `{{ ds }}` reaches the command or query, and the task quietly does the
    wrong thing.

    ## Example
    ```python
    from prefect import task
    from airflow_interop.runtime import run_bash


    @task
    def export():
        return run_bash("export.sh {{ ds }}")
    ```

    ## Use instead
    ```python
    from prefect import task
    from airflow_interop.runtime import run_bash


    @task
    def export(ds: str):
        return run_bash(f"export.sh {ds}")
    ```

    ## Fix safety
    No fix: which value the template meant depends on the run.
    """

    CODE = "IXL106"
    NAME = "jinja-template-string"
    MESSAGE = "Jinja template in a string: nothing renders it in a Prefect flow"
    VALID = [
        Valid(
            """
from prefect import task
from airflow_interop.runtime import render_template, run_bash


@task
def export(ctx):
    return run_bash(render_template("export.sh {{ ds }}", ctx))
"""
        ),
        Valid(
            '''
from prefect import task


@task
def export(ds: str):
    """Runs what was `export.sh {{ ds }}` in Airflow."""
    return f"export.sh {ds} {{literal braces}}"
'''
        ),
        Valid(
            """
import textwrap

from prefect import flow, task
from airflow_interop.runtime import airflow_context, render_template, run_bash


@task(name="templated")
def templated(bash_command, ctx):
    return run_bash(render_template(bash_command, ctx))


@flow(name="tutorial")
def tutorial(logical_date=None):
    ctx = airflow_context(logical_date)
    command = textwrap.dedent(
        \"\"\"
        {% for i in range(3) %}
            echo "{{ ds }}"
        {% endfor %}
        \"\"\"
    )
    first = templated.submit(command, ctx)
    return templated.submit(bash_command="echo {{ ds }}", ctx=ctx, wait_for=[first])
"""
        ),
        Valid(
            """
from prefect import flow, task
from airflow_interop.runtime import airflow_context, render_template, run_bash


@task(name="also_run_this")
def also_run_this_bash(command, *args, ctx, **kwargs):
    return run_bash(render_template(command(*args, **kwargs), ctx))


@flow(name="bash_decorator")
def bash_decorator(logical_date=None):
    ctx = airflow_context(logical_date)

    def also_run_this() -> str:
        return 'echo "ti_key={{ task_instance_key_str }}"'

    return also_run_this_bash.submit(also_run_this, ctx=ctx).result()
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from prefect import task
from airflow_interop.runtime import run_bash


@task
def export():
    return run_bash("export.sh {{ ds }}")
""",
            line=8,
        ),
        Invalid(
            """
from prefect import flow, task


@task
def query(sql):
    return sql


@flow
def etl():
    query("SELECT * FROM t WHERE day = '{{ ds_nodash }}'")
""",
            line=12,
        ),
        Invalid(
            """
from prefect import flow, task
from airflow_interop.runtime import render_template


@task
def show(value, template, ctx):
    print(value, render_template(template, ctx))


@flow
def etl(ctx):
    label = "run {{ run_id }}"
    show(label, "{{ ds }}", ctx)
""",
            line=13,
        ),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self._docstrings: set[int] = set()
        self._calls: list[cst.Call] = []
        #: where the value being visited goes: ("task", function, parameter) or ("name", scope, variable)
        self._dests: list[tuple[str, str, str] | None] = []
        self._arg_values: dict[int, tuple[str, str, str] | None] = {}
        self._candidates: list[tuple[cst.SimpleString, tuple[str, str, str] | None, str]] = []
        self._rendered_params: set[tuple[str, str]] = set()
        #: (task, parameter): the task renders what the callable passed as that parameter returns
        self._rendered_returns: set[tuple[str, str]] = set()
        #: every use of a name in any scope (for functions handed to tasks)
        self._any_uses: dict[str, list[tuple[str, str, str] | None | str]] = {}
        self._name_uses: dict[tuple[str, str], list[tuple[cst.Name, tuple[str, str, str] | None | str]]] = {}
        self._targets: set[int] = set()

    # -- where values go ------------------------------------------------------------------
    def _scope(self) -> str:
        return str(id(self.functions[-1])) if self.functions else "<module>"

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        self._calls.append(node)
        if self.context.is_render_call(node) and node.args and self.functions:
            first = node.args[0].value
            fn = self.functions[-1]
            params = {p.name.value for p in (*fn.params.params, *fn.params.kwonly_params, *fn.params.posonly_params)}
            if isinstance(first, cst.Name) and first.value in params:
                self._rendered_params.add((fn.name.value, first.value))
            elif isinstance(first, cst.Call) and isinstance(first.func, cst.Name) and first.func.value in params:
                self._rendered_returns.add((fn.name.value, first.func.value))
        found = self.context.called_task(node)
        if found is not None:
            fn_name = found[0]
            td = self.context.tasks.get(fn_name) or self.context.flows.get(fn_name)
            positional = [p.name.value for p in (*td.node.params.posonly_params, *td.node.params.params)] if td else []
            index = 0
            for arg in node.args:
                if arg.keyword is not None:
                    self._arg_values[id(arg.value)] = ("task", fn_name, arg.keyword.value)
                elif arg.star == "":
                    key = positional[index] if index < len(positional) else f"#{index}"
                    self._arg_values[id(arg.value)] = ("task", fn_name, key)
                    index += 1

    def leave_Call(self, original_node: cst.Call) -> None:
        super().leave_Call(original_node)
        self._calls.pop()

    def visit_Arg(self, node: cst.Arg) -> None:
        self._dests.append(self._arg_values.get(id(node.value)))

    def leave_Arg(self, original_node: cst.Arg) -> None:
        self._dests.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        dest = None
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            dest = ("name", self._scope(), node.targets[0].target.value)
            self._targets.add(id(node.targets[0].target))
        self._dests.append(dest)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self._dests.pop()

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) in self._targets:
            return
        use: tuple[str, str, str] | None | str = None
        if self.render_depth or self.shim_depth:
            use = "rendered"
        elif id(node) in self._arg_values:
            use = self._arg_values[id(node)]
        self._name_uses.setdefault((self._scope(), node.value), []).append((node, use))
        self._any_uses.setdefault(node.value, []).append(use)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self._targets.add(id(node.name))  # a definition, not a use

    def visit_Return(self, node: cst.Return) -> None:
        self._dests.append(("return", self.functions[-1].name.value, "") if self.functions else None)

    def leave_Return(self, original_node: cst.Return) -> None:
        self._dests.pop()

    # -- strings ------------------------------------------------------------------------------
    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        for small in node.body:
            if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                self._docstrings.add(id(small.value))
                if isinstance(small.value, cst.ConcatenatedString):
                    for part in (small.value.left, small.value.right):
                        self._docstrings.add(id(part))

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        if self.render_depth or self.shim_depth or id(node) in self._docstrings:
            return
        if "{{" not in node.value and "{%" not in node.value:
            return  # no template in the source text: no need to evaluate the literal
        try:
            value = node.evaluated_value
        except Exception:  # pragma: no cover - libcst evaluates every valid literal
            return
        if not isinstance(value, str):
            return
        m = JINJA.search(value)
        if m:
            shown = m.group(0) if len(m.group(0)) <= 40 else m.group(0)[:37] + "..."
            dest = next((d for d in reversed(self._dests) if d is not None), None)
            self._candidates.append((node, dest, shown))

    def _rendered(self, dest: tuple[str, str, str] | None | str) -> bool:
        if dest == "rendered":
            return True
        return isinstance(dest, tuple) and dest[0] == "task" and (dest[1], dest[2]) in self._rendered_params

    def finish(self) -> None:
        for node, dest, shown in self._candidates:
            related = None
            if dest is not None and dest[0] == "task" and self._rendered(dest):
                continue
            if dest is not None and dest[0] == "return":
                # a function whose result a task renders (``render_template(command(...))``)
                uses = self._any_uses.get(dest[1], [])
                if uses and all(
                    isinstance(u, tuple) and u[0] == "task" and (u[1], u[2]) in self._rendered_returns for u in uses
                ):
                    continue
            if dest is not None and dest[0] == "name":
                uses = self._name_uses.get((dest[1], dest[2]), [])
                if uses and all(self._rendered(kind) for _, kind in uses):
                    continue
                related = [use for use, _ in uses] or None  # a marker over every use speaks for it
            self.report(
                node,
                f"Jinja template `{shown}` in a string: nothing renders it in a Prefect flow; pass the value in, or use airflow_interop.runtime.render_template",
                related=related,
            )


RULES = [AirflowImport, AirflowDagObject, AirflowOperatorOutsideShim, XComCall, AirflowContextAccess, JinjaInString]
