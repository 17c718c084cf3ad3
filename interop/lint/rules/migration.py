"""IXL4xx: migration completeness."""

from __future__ import annotations

from typing import Any

import libcst as cst

from interop.lint import names
from interop.lint.comments import MARKER
from interop.lint.context import TaskDef, dotted_name
from interop.lint.rule import Comment, Invalid, Valid
from interop.lint.rules._base import ScopedRule

_REPORT = {
    "files": [
        {
            "path": "dags/etl.py",
            "status": "converted",
            "dags": [
                {
                    "dag_id": "etl",
                    "tasks": [
                        {
                            "task_id": "load",
                            "operator": "PythonOperator",
                            "line": 12,
                            "disposition": "converted",
                            "options": {"retries": 3, "retry_delay_seconds": 300.0, "timeout_seconds": 600.0},
                        },
                        {
                            "task_id": "extract",
                            "operator": "PythonOperator",
                            "line": 8,
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
    "summary": {},
}


class UnresolvedConverterMarker(ScopedRule):
    """
    ## What it does
    Reports every `# interop: TODO(CODE): message` marker the converter left above a
    statement it could not convert.

    ## Why is this bad?
    A marker is work the migration has not done: the statement below it still behaves
    the Airflow way, or not at all. The flow is not finished until the marker is resolved
    and removed (or knowingly kept with `# interop: ignore[IXL401]`).

    ## Example
    ```python
    from prefect import flow


    @flow
    def etl():
        # interop: TODO(IX101): on_failure_callback not converted
        pass
    ```

    ## Use instead
    ```python
    from prefect import flow


    def alert(flow, flow_run, state):
        print("failed", flow_run.name)


    @flow(on_failure=[alert])
    def etl():
        pass
    ```

    ## Fix safety
    No fix: resolving a marker is the migration work itself.
    """

    CODE = "IXL401"
    NAME = "unresolved-converter-marker"
    MESSAGE = "unresolved converter marker"
    VALID = [
        Valid(
            """
from prefect import flow


@flow
def etl():
    # interop: the schedule moved to prefect.yaml
    pass
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from prefect import flow


@flow
def etl():
    # interop: TODO(IX101): on_failure_callback not converted
    pass
""",
            line=7,
        ),
        Invalid(
            """
x = 1  # interop: TODO: check this value
""",
            line=2,
        ),
    ]

    def check_comments(self, comments: list[Comment]) -> None:
        for c in comments:
            m = MARKER.match(c.text)
            if m is None:
                continue
            code = m.group("code") or "TODO"
            text = m.group("message") or "(no message)"
            self.report_at(c.line, c.col, f"unresolved converter marker {code}: {text}")


class LostRetriesOrTimeout(ScopedRule):
    """
    ## What it does
    With `--report CONVERSION_REPORT`: reports a flow task whose DAG task had `retries`,
    `retry_delay` or `execution_timeout` and whose `@task(...)` lost it (missing, or
    fewer retries). Flows are matched to DAGs by `@flow(name=...)` (or function name),
    tasks by `@task(name=...)` (or function name).

    ## Why is this bad?
    The DAG promised that a flaky task is retried and a hung task is stopped. Without
    the options the flow fails on the first hiccup, or hangs forever.

    ## Example
    ```python
    from prefect import flow, task


    @task(name="load")
    def load():
        pass


    @flow(name="etl")
    def etl():
        load()
    ```

    ## Use instead
    ```python
    from prefect import flow, task


    @task(name="load", retries=3, retry_delay_seconds=300, timeout_seconds=600)
    def load():
        pass


    @flow(name="etl")
    def etl():
        load()
    ```

    ## Fix safety
    Safe: the fix writes the values the DAG task had, read from the conversion report,
    into the `@task(...)` decorator; nothing else changes.
    """

    CODE = "IXL402"
    NAME = "lost-retries-or-timeout"
    MESSAGE = "task lost retries or a timeout its DAG task had"
    FIXABLE = True
    NEEDS_REPORT = True
    VALID = [
        Valid(
            """
from prefect import flow, task


@task(name="load", retries=3, retry_delay_seconds=300, timeout_seconds=600)
def load():
    pass


@task
def extract():
    pass


@flow(name="etl")
def etl():
    load(extract())
""",
            report=_REPORT,
        ),
        Valid(
            """
from prefect import flow, task


@task(name="load")
def load():
    pass


@flow(name="etl")
def etl():
    load()
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from prefect import flow, task


@task(name="load")
def load():
    pass


@flow(name="etl")
def etl():
    load()
""",
            line=5,
            report=_REPORT,
            expected_replacement="""
from prefect import flow, task


@task(name="load", retries=3, retry_delay_seconds=300, timeout_seconds=600)
def load():
    pass


@flow(name="etl")
def etl():
    load()
""",
        ),
        Invalid(
            """
from prefect import flow, task


@task
def load():
    pass


@flow
def etl():
    load()
""",
            line=5,
            report=_REPORT,
            expected_replacement="""
from prefect import flow, task


@task(retries=3, retry_delay_seconds=300, timeout_seconds=600)
def load():
    pass


@flow
def etl():
    load()
""",
        ),
        Invalid(
            """
from prefect import flow, task


@task(name="load", retries=1, timeout_seconds=600)
def load():
    pass


@flow(name="etl")
def etl():
    load()
""",
            line=5,
            report=_REPORT,
            expected_replacement="""
from prefect import flow, task


@task(name="load", retries=3, timeout_seconds=600, retry_delay_seconds=300)
def load():
    pass


@flow(name="etl")
def etl():
    load()
""",
        ),
    ]

    def finish(self) -> None:
        report = self.context.report
        if report is None:
            return
        dag_tasks: dict[str, dict[str, Any]] = {}
        matched: list[str] = []
        for fn, flow_def in self.context.flows.items():
            for candidate in (flow_def.name, fn, fn.replace("_", "-")):
                if candidate and candidate in report.dags:
                    dag_tasks.update(report.dags[candidate])
                    matched.append(candidate)
                    break
        if not dag_tasks:
            return
        for fn, task_def in self.context.tasks.items():
            options = dag_tasks.get(task_def.name or fn)
            if options is None and task_def.name is None:
                options = dag_tasks.get(fn)
            if options:
                self._check(task_def, options)

    def _check(self, task_def: TaskDef, options: dict[str, Any]) -> None:
        wanted: dict[str, Any] = {}
        retries = options.get("retries")
        if isinstance(retries, int) and retries > 0:
            have = _literal_number(task_def.kwargs.get("retries"))
            if have is None and "retries" in task_def.kwargs:
                return  # a computed value: cannot judge
            if have is None or have < retries:
                wanted["retries"] = retries
            delay = options.get("retry_delay_seconds")
            if _is_delay(delay) and "retry_delay_seconds" not in task_def.kwargs:
                wanted["retry_delay_seconds"] = delay
        timeout = options.get("timeout_seconds")
        if isinstance(timeout, (int, float)) and "timeout_seconds" not in task_def.kwargs:
            wanted["timeout_seconds"] = timeout
        if not wanted:
            return
        if task_def.synthetic:
            return  # `t = task(f)`: no decorator to point at or fix
        lost = ", ".join(f"{k}={cst.Module([]).code_for_node(_value(v))}" for k, v in wanted.items())
        label = task_def.name or task_def.function
        deco = task_def.decorator
        replacement = _with_options(deco, wanted)
        self.report(
            deco,
            f"task `{label}` lost what its DAG task had: {lost} (from the conversion report)",
            replacement=replacement,
        )


def _literal_number(arg: cst.Arg | None) -> float | None:
    if arg is None:
        return None
    value = arg.value
    if isinstance(value, (cst.Integer, cst.Float)):
        return float(value.evaluated_value)
    return None


def _is_delay(value: Any) -> bool:
    """A retry delay as the report gives it: seconds, or a non-empty list of seconds."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, list) and bool(value) and all(_is_delay(v) and not isinstance(v, list) for v in value)


def _number(value: float) -> cst.Integer | cst.Float:
    if float(value).is_integer():
        return cst.Integer(str(int(value)))
    return cst.Float(repr(float(value)))


def _value(value: Any) -> cst.BaseExpression:
    """A literal for a number or a list of numbers."""
    if isinstance(value, list):
        elements = [
            cst.Element(_number(v), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")) if i < len(value) - 1 else cst.MaybeSentinel.DEFAULT)
            for i, v in enumerate(value)
        ]
        return cst.List(elements)
    return _number(value)


def _with_options(deco: cst.Decorator, wanted: dict[str, Any]) -> cst.Decorator:
    """``deco`` with ``wanted`` keyword arguments set (replacing smaller values)."""
    expr = deco.decorator
    call = expr if isinstance(expr, cst.Call) else cst.Call(func=expr)
    args = list(call.args)
    for key, value in wanted.items():
        new_arg = cst.Arg(
            keyword=cst.Name(key),
            value=_value(value),
            equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
        )
        for i, arg in enumerate(args):
            if arg.keyword is not None and arg.keyword.value == key:
                args[i] = arg.with_changes(value=_value(value))
                break
        else:
            if args:
                args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(new_arg)
    return deco.with_changes(decorator=call.with_changes(args=args))


class TaskCalledAtImportTime(ScopedRule):
    """
    ## What it does
    Reports a call of a Prefect task or flow of the file at module level, outside any
    function and outside an `if __name__ == "__main__":` block.

    ## Why is this bad?
    The call runs whenever the module is imported (by a deployment, a test, `interop
    lint --report`'s neighbours), outside any flow run: work happens at the wrong time
    and is not tracked as part of the flow.

    ## Example
    ```python
    from prefect import flow, task


    @task
    def extract():
        return [1, 2]


    rows = extract()
    ```

    ## Use instead
    ```python
    from prefect import flow, task


    @task
    def extract():
        return [1, 2]


    @flow
    def etl():
        return extract()


    if __name__ == "__main__":
        etl()
    ```

    ## Fix safety
    No fix: the call has to move into a flow.
    """

    CODE = "IXL403"
    NAME = "task-called-at-import-time"
    MESSAGE = "task called at import time, outside any flow"
    VALID = [
        Valid(
            """
from prefect import flow, task


@task
def extract():
    return [1, 2]


@flow
def etl():
    return extract()


if __name__ == "__main__":
    etl()
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from prefect import flow, task


@task
def extract():
    return [1, 2]


rows = extract()
""",
            line=10,
        ),
        Invalid(
            """
from prefect import flow, task


@task
def extract(x):
    return x


futures = extract.map([1, 2])
""",
            line=10,
        ),
        Invalid(
            """
from prefect import flow


@flow
def etl():
    pass


etl()
""",
            line=10,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        if not self.at_module_level or not self.context.is_task_call(node):
            return
        shown = dotted_name(node.func)
        head = (shown or "").split(".")[0]
        kind = "flow" if head in self.context.flows else "task"
        self.report(node, f"{kind} `{shown}(...)` called at import time, outside any flow: it runs on every import")


class LegacyRuntimeImport(ScopedRule):
    """
    ## What it does
    Reports an import of airflow-interop's runtime under its old name, `shims.runtime` or
    `shims.operator` (what flows converted before the runtime was named `airflow_interop`
    import), and `--fix` moves it to `airflow_interop.runtime`. Only an import of the runtime's
    own names (`run_bash`, `run_operator`, `TaskSkipped` ...) is reported: a team's own
    `shims` package that exports other names is not airflow-interop's.

    ## Why is this bad?
    airflow-interop no longer installs a package named `shims`: the import fails where the
    current version is installed, and a team's own `shims/` folder on `sys.path` (Airflow puts
    the dags folder there) would be imported in its place. `airflow_interop.runtime` is the
    one module converted code imports from, the operator shim included.

    ## Example
    ```python
    from prefect import task
    from shims.runtime import run_bash


    @task
    def hello():
        return run_bash("echo hello")
    ```

    ## Use instead
    ```python
    from prefect import task
    from airflow_interop.runtime import run_bash


    @task
    def hello():
        return run_bash("echo hello")
    ```

    ## Fix safety
    Safe: `airflow_interop.runtime` exports every name the two old modules exported to
    converted code, with the same behaviour.
    """

    CODE = "IXL404"
    NAME = "legacy-runtime-import"
    MESSAGE = "runtime imported under its old name"
    FIXABLE = True
    VALID = [
        Valid(
            """
from prefect import task
from airflow_interop.runtime import run_bash, run_operator


@task
def hello():
    return run_bash("echo hello")
"""
        ),
        Valid(
            """
from shims.runtime import team_helper

team_helper()
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from prefect import task
from shims.runtime import run_bash


@task
def hello():
    return run_bash("echo hello")
""",
            line=3,
            expected_replacement="""
from prefect import task
from airflow_interop.runtime import run_bash


@task
def hello():
    return run_bash("echo hello")
""",
        ),
        Invalid(
            """
from shims.operator import run_operator, TaskSkipped as Skip


def notify(op):
    return run_operator(op) if op else Skip
""",
            line=2,
            expected_replacement="""
from airflow_interop.runtime import run_operator, TaskSkipped as Skip


def notify(op):
    return run_operator(op) if op else Skip
""",
        ),
    ]

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        module = dotted_name(node.module) if node.module is not None and not node.relative else None
        new = names.LEGACY_RUNTIME_MODULES.get(module or "")
        if new is None or isinstance(node.names, cst.ImportStar):
            return
        if not all(isinstance(alias.name, cst.Name) and alias.name.value in names.RUNTIME_NAMES for alias in node.names):
            return
        self.report(
            node,
            f"`{module}` is airflow-interop's runtime under its old name (no longer installed; a team's own "
            f"`shims/` folder would be imported instead): import from `{new}`",
            replacement=node.with_changes(module=cst.parse_expression(new)),
        )


RULES = [UnresolvedConverterMarker, LostRetriesOrTimeout, TaskCalledAtImportTime, LegacyRuntimeImport]
