"""Rule: Airflow imports inside functions and classes the flow file keeps.

Airflow's own advice is to import heavy modules inside callables, so real DAG files often read
``from airflow.models import Variable`` inside a task function. The module-level import rule
(:mod:`converters.imports`) never sees those. Here the same mapping (``imports.moved_alias``)
applies to every function or class the output keeps (task bodies and helpers alike):

* ``Variable`` is Prefect's where :mod:`converters.variables` wrote the file's calls with it
  (that rule rewrites the import line), else the stand-in in ``airflow_interop.runtime``;
* any other Airflow name moves to its Airflow 3 path, and the line gets an IX110 marker: the
  task still needs Airflow where the flow runs, as at module level.

Safety: only ``airflow`` imports are touched; the local name each import binds never changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from converters.imports import moved_alias
from converters.walk import dotted

if TYPE_CHECKING:
    from converters.plan import Plan

__all__ = ["rewrite_local_imports"]


def _is_airflow(small: cst.BaseSmallStatement) -> bool:
    if isinstance(small, cst.ImportFrom):
        return small.module is not None and not small.relative and (dotted(small.module) or "").split(".")[0] == "airflow"
    if isinstance(small, cst.Import):
        return any((dotted(a.name) or "").split(".")[0] == "airflow" for a in small.names)
    return False


class _LocalImports(cst.CSTTransformer):
    def __init__(self, plan: "Plan", owner: str, owner_line: int) -> None:
        self.plan = plan
        self.owner = owner
        self.owner_line = owner_line
        self.depth = 0

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.depth += 1

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        self.depth -= 1
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if self.depth == 0 or not any(_is_airflow(s) for s in updated_node.body):
            return updated_node
        smalls: list[cst.BaseSmallStatement] = []
        leftovers: list[str] = []
        for small in updated_node.body:
            if isinstance(small, cst.ImportFrom) and _is_airflow(small) and not isinstance(small.names, cst.ImportStar):
                smalls.extend(self._moved(small, leftovers))
            else:
                if _is_airflow(small):
                    leftovers.extend(
                        dotted(a.name) or "" for a in getattr(small, "names", ()) if isinstance(a, cst.ImportAlias)
                    )
                smalls.append(small)
        leading = list(updated_node.leading_lines)
        if leftovers:
            message = (
                f"Airflow name(s) {', '.join(leftovers)} imported inside `{self.owner}`; replace them "
                "(or keep Airflow installed where the flow runs)"
            )
            line = self.plan.analyzer.positions.line(original_node) or self.owner_line
            self.plan.finding("IX110", line, message, manual=True)
            leading.append(cst.EmptyLine(comment=cst.Comment(f"# interop: TODO(IX110): {message}")))
        last = len(smalls) - 1
        body = [s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT) if i == last else s for i, s in enumerate(smalls)]
        return updated_node.with_changes(body=body, leading_lines=leading)

    def _moved(self, small: cst.ImportFrom, leftovers: list[str]) -> list[cst.ImportFrom]:
        """One import per target module; the names bound locally stay the same."""
        mod = dotted(small.module) or ""
        by_module: dict[str, list[cst.ImportAlias]] = {}
        for alias in small.names:  # type: ignore[union-attr]
            new_mod, new_alias, standin = moved_alias(mod, alias)
            if not standin:
                leftovers.append(f"{new_mod}.{dotted(new_alias.name)}")
            by_module.setdefault(new_mod, []).append(new_alias)
        return [
            cst.ImportFrom(module=cst.parse_expression(new_mod), names=aliases)  # type: ignore[arg-type]
            for new_mod, aliases in by_module.items()
        ]


def rewrite_local_imports(plan: "Plan", node: cst.FunctionDef | cst.ClassDef, text: str) -> cst.FunctionDef | cst.ClassDef:
    """``node`` with its nested Airflow imports moved or marked (``text`` is its code, for a
    cheap check first)."""
    if "airflow" not in text or "import" not in text:
        return node
    line = plan.analyzer.positions.line(node) or 0
    return node.visit(_LocalImports(plan, node.name.value, line))  # type: ignore[return-value]
