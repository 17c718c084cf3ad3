"""Rule: imports. Airflow imports that nothing uses any more are dropped; those still used
(operator classes run through the shim) move to their current path; Prefect and ``shims``
imports the rules asked for are added after the file's own imports.

Safety: only ``airflow`` imports are touched; a used name is never dropped.
"""

from __future__ import annotations

import libcst as cst

from converters.analysis import dotted
from converters.names import current_import_path
from converters.plan import Plan

ORDER = 80


def _used_names(module: cst.Module) -> set[str]:
    used: set[str] = set()

    class V(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Name(self, node: cst.Name) -> None:
            used.add(node.value)

    module.visit(V())
    return used


def _rewrite_import(small: cst.BaseSmallStatement, used: set[str]) -> list[cst.BaseSmallStatement]:
    if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
        mod = dotted(small.module) or ""
        if not mod.startswith("airflow") or isinstance(small.names, cst.ImportStar):
            return [small]
        out: list[cst.BaseSmallStatement] = []
        for alias in small.names:
            name = dotted(alias.name) or ""
            local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
            if local not in used:
                continue
            new_path = current_import_path(f"{mod}.{name}")
            new_mod, _, new_name = new_path.rpartition(".")
            asname = alias.asname
            if new_name != local and asname is None:
                asname = cst.AsName(cst.Name(local))
            out.append(
                cst.ImportFrom(
                    module=cst.parse_expression(new_mod),  # type: ignore[arg-type]
                    names=[cst.ImportAlias(cst.Name(new_name), asname=asname)],
                )
            )
        return out
    if isinstance(small, cst.Import):
        names = [a for a in small.names if not (dotted(a.name) or "").startswith("airflow")]
        keep_airflow = [
            a for a in small.names
            if (dotted(a.name) or "").startswith("airflow")
            and (a.asname.name.value if a.asname else (dotted(a.name) or "").split(".")[0]) in used  # type: ignore[union-attr]
        ]
        kept = names + keep_airflow
        if not kept:
            return []
        if len(kept) == len(small.names):
            return [small]
        return [small.with_changes(names=[a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in kept])]
    return [small]


def apply(plan: Plan, module: cst.Module) -> cst.Module:
    used = _used_names(module)
    # names the converted code now imports from Prefect/shims shadow Airflow's (``task``)
    used -= {n for names in plan.imports.values() for n in names}
    body: list[cst.BaseStatement] = []
    last_import = -1
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body):
            new_smalls: list[cst.BaseSmallStatement] = []
            for small in stmt.body:
                new_smalls.extend(_rewrite_import(small, used))
            if not new_smalls:
                continue
            if len(new_smalls) == 1 or all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in new_smalls):
                for i, small in enumerate(new_smalls):
                    line = stmt.with_changes(body=[small.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)])
                    if i:
                        line = line.with_changes(leading_lines=[])
                    body.append(line)
            last_import = len(body) - 1
            continue
        if last_import == len(body) - 1 and last_import >= 0 and _is_docstring_or_future(stmt):
            last_import = len(body)
        body.append(stmt)
    added = []
    for mod in ("prefect", "shims.runtime", "shims.operator"):
        names = sorted(plan.imports.get(mod, ()))
        existing = _already_imported(body, mod)
        names = [n for n in names if n not in existing]
        if names:
            added.append(cst.parse_statement(f"from {mod} import {', '.join(names)}"))
    if added:
        insert_at = last_import + 1 if last_import >= 0 else _after_docstring(body)
        body[insert_at:insert_at] = added
    return module.with_changes(body=body)


def _is_docstring_or_future(stmt: cst.BaseStatement) -> bool:
    return False


def _already_imported(body: list[cst.BaseStatement], mod: str) -> set[str]:
    out: set[str] = set()
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.ImportFrom) and small.module is not None and dotted(small.module) == mod and not isinstance(small.names, cst.ImportStar):
                    out.update(dotted(a.name) or "" for a in small.names)
    return out


def _after_docstring(body: list[cst.BaseStatement]) -> int:
    i = 0
    while i < len(body):
        stmt = body[i]
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)):
            i += 1
            continue
        if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.ImportFrom) and dotted(stmt.body[0].module) == "__future__":
            i += 1
            continue
        break
    return i
