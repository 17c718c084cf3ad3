"""Every lint rule, by family.

* IXL1xx (:mod:`.airflow`): Airflow leftovers in a flow file.
* IXL2xx (:mod:`.dependencies`): dependencies and concurrency of tasks and futures.
* IXL3xx (:mod:`.reproducibility`): reproducible runs and backfills.
* IXL4xx (:mod:`.migration`): migration completeness.
"""

from __future__ import annotations

from interop.lint.rule import LintRule
from interop.lint.rules import airflow, dependencies, migration, reproducibility

ALL_RULES: list[type[LintRule]] = sorted(
    [*airflow.RULES, *dependencies.RULES, *reproducibility.RULES, *migration.RULES],
    key=lambda r: r.CODE,
)

RULES_BY_CODE: dict[str, type[LintRule]] = {r.CODE: r for r in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_CODE"]
