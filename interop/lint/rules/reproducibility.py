"""IXL3xx: reproducibility of runs (backfills, re-runs)."""

from __future__ import annotations

import libcst as cst

from interop.lint import names
from interop.lint.context import dotted_name
from interop.lint.rule import Invalid, Valid
from interop.lint.rules._base import ScopedRule


class WallClockDate(ScopedRule):
    """
    ## What it does
    Reports the wall clock used as the date of a run: `date.today()`,
    `datetime.today()`, `pendulum.today()` anywhere in flow code, and
    `datetime.now()` / `utcnow()` / `pendulum.now()` when the result is used as a date: turned
    into one (`.date()`, `.strftime(...)`), or stored in / passed as / defaulting a name
    that holds a run's date (`ds`, `logical_date`, `run_date`, `*_date`, `*_day`). Code in
    an `if __name__ == "__main__":` block and the arguments of an operator run through
    `run_operator(...)` (kept as the DAG had them) are not reported; a timestamp such
    as `submitted_at = datetime.now()` is not a date and is not reported.

    ## Why is this bad?
    Airflow handed every run its logical date, so re-running or backfilling last
    Tuesday processed last Tuesday. Reading the wall clock processes today instead:
    backfills are no longer reproducible.

    ## Example
    ```python
    from datetime import datetime

    from prefect import flow


    @flow
    def daily_export():
        day = datetime.now().strftime("%Y-%m-%d")
        return day
    ```

    ## Use instead
    ```python
    from datetime import datetime

    from prefect import flow


    @flow
    def daily_export(logical_date: datetime):
        day = logical_date.strftime("%Y-%m-%d")
        return day
    ```

    ## Fix safety
    No fix: the date has to become a flow parameter, which changes how the flow is called.
    """

    CODE = "IXL301"
    NAME = "wall-clock-date"
    MESSAGE = "wall-clock date in flow code: backfills and re-runs are not reproducible"
    VALID = [
        Valid(
            """
from datetime import datetime

from prefect import flow


@flow
def daily_export(logical_date: datetime):
    return logical_date.strftime("%Y-%m-%d")


if __name__ == "__main__":
    daily_export(datetime.now())
"""
        ),
        Valid(
            """
import time
from datetime import datetime, timezone

from prefect import task


@task
def submit(store):
    started = time.time()
    store.set("submitted_at", datetime.now(tz=timezone.utc).isoformat())
    return time.time() - started
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from datetime import datetime

from prefect import flow


@flow
def daily_export():
    day = datetime.now().strftime("%Y-%m-%d")
    return day
""",
            line=9,
        ),
        Invalid(
            """
import datetime

from prefect import task


@task
def stamp():
    return datetime.date.today().isoformat()
""",
            line=9,
        ),
        Invalid(
            """
import pendulum
from prefect import flow


@flow
def etl(logical_date=None):
    logical_date = logical_date or pendulum.now("UTC")
    return logical_date
""",
            line=8,
        ),
        Invalid(
            """
from datetime import datetime, timedelta

from prefect import flow, task


@task
def export(run_date):
    return run_date


@flow
def etl():
    export(run_date=datetime.utcnow() - timedelta(days=1))
""",
            line=14,
        ),
        Invalid(
            """
from datetime import datetime

from prefect import flow


@flow
def etl(ds: str = datetime.now().date().isoformat()):
    return ds
""",
            line=8,
        ),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self._reported: set[int] = set()

    def _skip(self) -> bool:
        return bool(self.main_guard_depth or self.shim_depth)

    def _report_call(self, call: cst.Call, how: str) -> None:
        if id(call) in self._reported or self._skip():
            return
        self._reported.add(id(call))
        self.report(
            call,
            f"`{dotted_name(call.func)}()` {how}: a backfill or re-run gets today, not the run's logical date; take the date as a flow parameter",
        )

    def _now_calls(self, expr: cst.BaseExpression) -> list[cst.Call]:
        """Wall-clock reads whose value ``expr`` is (through ``or``, ``if``, arithmetic, ``.replace()``...)."""
        if isinstance(expr, cst.Call):
            if self.context.qualified(expr.func) in names.WALL_CLOCK_CALLS:
                return [expr]
            func = expr.func
            if isinstance(func, cst.Attribute) and func.attr.value in names.TIME_METHODS | names.DATE_METHODS:
                return self._now_calls(func.value)
            return []
        if isinstance(expr, cst.BooleanOperation):
            return self._now_calls(expr.left) + self._now_calls(expr.right)
        if isinstance(expr, cst.IfExp):
            return self._now_calls(expr.body) + self._now_calls(expr.orelse)
        if isinstance(expr, cst.BinaryOperation):
            return self._now_calls(expr.left) + self._now_calls(expr.right)
        return []

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        qual = self.context.qualified(node.func)
        if qual in names.TODAY_CALLS:
            self._report_call(node, "reads today's date")
            return
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in names.DATE_METHODS:
            for call in self._now_calls(func.value):
                self._report_call(call, f"read as a date (`.{func.attr.value}()`)")

    def visit_Assign(self, node: cst.Assign) -> None:
        for t in node.targets:
            if isinstance(t.target, cst.Name) and names.is_date_name(t.target.value):
                for call in self._now_calls(node.value):
                    self._report_call(call, f"stored as the run's date `{t.target.value}`")

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and isinstance(node.target, cst.Name) and names.is_date_name(node.target.value):
            for call in self._now_calls(node.value):
                self._report_call(call, f"stored as the run's date `{node.target.value}`")

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None and names.is_date_name(node.keyword.value):
            for call in self._now_calls(node.value):
                self._report_call(call, f"passed as the run's date `{node.keyword.value}=`")

    def visit_Param(self, node: cst.Param) -> None:
        if node.default is not None and names.is_date_name(node.name.value):
            for call in self._now_calls(node.default):
                self._report_call(call, f"as the default of the run's date `{node.name.value}`")


RULES = [WallClockDate]
