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
    Reports `datetime.now()`, `datetime.utcnow()`, `datetime.today()`, `date.today()`
    and `pendulum.now()` / `pendulum.today()` in flow code (anywhere but an
    `if __name__ == "__main__":` block).

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
from prefect import task


@task
def stamp():
    return pendulum.now("UTC")
""",
            line=8,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        if self.main_guard_depth:
            return
        qual = self.context.qualified(node.func)
        if qual in names.WALL_CLOCK_CALLS:
            self.report(node, f"`{dotted_name(node.func)}()` reads the wall clock: a backfill or re-run gets today, not the run's logical date; take the date as a flow parameter")


RULES = [WallClockDate]
