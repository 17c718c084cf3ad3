"""Rule: imports. Airflow imports that nothing uses any more are dropped; those still used
(operator classes run through the shim) move to their current path; Prefect and ``shims``
imports the rules asked for are added after the file's own imports.

Safety: only ``airflow`` imports are touched; a used name is never dropped.
"""

from __future__ import annotations

import libcst as cst

from converters.analysis import dotted
from converters.names import RUNTIME_STANDINS, airflow3_name


ORDER = 80


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
            new_mod, new_alias, _ = moved_alias(mod, alias)
            out.append(cst.ImportFrom(module=cst.parse_expression(new_mod), names=[new_alias]))  # type: ignore[arg-type]
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


def moved_alias(mod: str, alias: cst.ImportAlias) -> tuple[str, cst.ImportAlias, bool]:
    """Where ``from mod import <alias>`` comes from now: the module, an alias binding the same
    local name, and whether it is a ``shims.runtime`` stand-in (else it is still Airflow's)."""
    name = dotted(alias.name) or ""
    local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
    standin = RUNTIME_STANDINS.get(f"{mod}.{name}")
    new_mod, _, new_name = (standin or airflow3_name(f"{mod}.{name}")).rpartition(".")
    asname = alias.asname
    if new_name != local and asname is None:
        asname = cst.AsName(cst.Name(local))
    return new_mod, cst.ImportAlias(cst.Name(new_name), asname=asname), standin is not None


def rewrite_import_text(stmt: cst.SimpleStatementLine, used: set[str], code, existing: dict[str, set[str]], rendered: str) -> str:  # noqa: ANN001
    """The text of an import line after dropping unused Airflow names and moving the rest."""
    smalls: list[cst.BaseSmallStatement] = []
    for small in stmt.body:
        smalls.extend(_rewrite_import(small, used))
    for small in smalls:
        if isinstance(small, cst.ImportFrom) and small.module is not None and not isinstance(small.names, cst.ImportStar):
            existing.setdefault(dotted(small.module) or "", set()).update(
                (a.asname.name.value if a.asname else dotted(a.name) or "") for a in small.names  # type: ignore[union-attr]
            )
    if len(smalls) == len(stmt.body) and all(a is b for a, b in zip(smalls, stmt.body)):
        return rendered
    lines = stmt.leading_lines if smalls else [line for line in stmt.leading_lines if line.comment is not None]
    comments = "".join(code(line) for line in lines)
    return comments + "".join(
        code(cst.SimpleStatementLine(body=[s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)])) for s in smalls
    )
