"""Rule: imports, scheduled rather than edited by hand.

An import is a fact of the module the converter writes, decided once the module is assembled
from what it reads:

* added when used: the Prefect and ``shims`` names the rules declared (``plan.need``) are
  imported only if the converted module reads them, after the file's own imports and before
  the first generated statement;
* removed when nothing uses them: an import whose name the original file read and the
  converted file no longer reads (``datetime`` once ``start_date`` is gone, a DAG callback) is
  dropped. An import the original file did not read either (a side effect, a re-export) stays;
* Airflow imports still read move to their Airflow 3 path only where the name table
  (:mod:`converters.names`) lists the move; any other stays as written.

Safety: a read name is never dropped; kept import lines are printed as they were.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
from dataclasses import dataclass, field
from typing import Callable, Iterable

import libcst as cst

from converters.names import RUNTIME_STANDINS, airflow3_name
from converters.source_text import ast_children
from converters.walk import dotted

ORDER = 80

#: modules whose names the rules import (``plan.need``), in the order their lines are written
PROVIDER_MODULES = ("prefect", "prefect.assets", "prefect.events", "prefect.utilities.annotations", "prefect.variables", "airflow_interop.runtime")


def names_read(nodes: Iterable[ast.AST]) -> set[str]:
    """Names the code reads: every ``Name`` loaded or deleted in any scope, and the strings of
    ``__all__``. A local that shadows a module name counts as a read of it (an import is then
    kept: never a dangling name)."""
    out: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Store):
                out.add(node.id)
            continue
        if (
            isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign))
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in _targets(node))
            and node.value is not None
        ):
            out.update(n.value for n in ast.walk(node.value) if isinstance(n, ast.Constant) and isinstance(n.value, str))
        stack.extend(ast_children(node))
    return out


_STAR_IMPORT = re.compile(r"^\s*from\s+\S+\s+import\s+\*", re.MULTILINE)
#: names every module has without binding them
_MODULE_NAMES = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__", "__loader__", "__package__", "__path__", "__builtins__", "__annotations__"}


def unbound_globals(source: str) -> set[str] | None:
    """Global names read anywhere in ``source`` that nothing binds at module level (what ruff
    reports as F821); None when a ``*`` import makes that unknowable or the source does not
    compile."""
    if _STAR_IMPORT.search(source):
        return None
    try:
        top = symtable.symtable(source, "<module>", "exec")
    except (SyntaxError, ValueError):
        return None
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    read: set[str] = set()
    stack = [top]
    while stack:
        table = stack.pop()
        for sym in table.get_symbols():
            if sym.is_referenced() and (table is top or (sym.is_global() and not sym.is_local())):
                read.add(sym.get_name())
            if table is not top and sym.is_declared_global() and sym.is_assigned():
                bound.add(sym.get_name())  # ``global x; x = ...`` in a function
        stack.extend(table.get_children())
    return read - bound - _MODULE_NAMES


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    return [node.target]  # type: ignore[attr-defined]


def bound_name(alias: cst.ImportAlias, from_import: bool) -> str:
    """The local name an import alias binds (``import a.b`` binds ``a``)."""
    if alias.asname is not None:
        return alias.asname.name.value  # type: ignore[union-attr]
    name = dotted(alias.name) or ""
    return name if from_import else name.split(".")[0]


@dataclass
class ImportSchedule:
    """Which names the converted module reads, against what the original read."""

    #: names the converted module reads
    read: set[str]
    #: names the original module read (an import it did not read is not the converter's to drop)
    read_before: set[str]
    #: names the rules import from Prefect / shims: they replace Airflow's of the same name
    provided: set[str] = field(default_factory=set)

    def keeps(self, local: str, airflow: bool) -> bool:
        if airflow:
            return local in self.read and local not in self.provided
        return local in self.read or local not in self.read_before


def _rewrite_import(
    small: cst.BaseSmallStatement, keeps: Callable[[str, bool], bool], moved_ids: set[int]
) -> list[cst.BaseSmallStatement]:
    """What ``small`` becomes; ``moved_ids`` collects the imports made for moved names."""
    if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
        mod = dotted(small.module) or ""
        if isinstance(small.names, cst.ImportStar):
            return [small]
        airflow = mod.split(".")[0] == "airflow"
        aliases = [a for a in small.names if keeps(bound_name(a, True), airflow)]
        if not aliases:
            return []
        if not airflow:
            if len(aliases) == len(small.names):
                return [small]
            return [_with_aliases(small, aliases)]
        stay: list[cst.ImportAlias] = []
        go: list[cst.BaseSmallStatement] = []
        for alias in aliases:
            new_mod, new_alias, _ = moved_alias(mod, alias)
            if new_mod == mod and dotted(new_alias.name) == dotted(alias.name):
                stay.append(alias)
            else:
                moved = cst.ImportFrom(module=cst.parse_expression(new_mod), names=[new_alias])  # type: ignore[arg-type]
                moved_ids.add(id(moved))
                go.append(moved)
        if len(stay) == len(small.names):
            return [small]  # nothing moved, nothing dropped: the line as written
        return ([_with_aliases(small, stay)] if stay else []) + go
    if isinstance(small, cst.ImportFrom):  # relative
        if isinstance(small.names, cst.ImportStar):
            return [small]
        aliases = [a for a in small.names if keeps(bound_name(a, True), False)]
        if len(aliases) == len(small.names):
            return [small]
        return [_with_aliases(small, aliases)] if aliases else []
    if isinstance(small, cst.Import):
        kept = [a for a in small.names if keeps(bound_name(a, False), (dotted(a.name) or "").split(".")[0] == "airflow")]
        if not kept:
            return []
        if len(kept) == len(small.names):
            return [small]
        return [small.with_changes(names=[a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in kept])]
    return [small]


def _with_aliases(small: cst.ImportFrom, aliases: list[cst.ImportAlias]) -> cst.ImportFrom:
    """``small`` importing only ``aliases`` (its layout kept; no trailing comma left dangling)."""
    if not aliases:
        return small
    last = aliases[-1]
    if not isinstance(small.names, (list, tuple)) or last is not small.names[-1] or small.lpar is None:
        aliases = [*aliases[:-1], last.with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    return small.with_changes(names=aliases)


def moved_alias(mod: str, alias: cst.ImportAlias) -> tuple[str, cst.ImportAlias, bool]:
    """Where ``from mod import <alias>`` comes from now: the module, an alias binding the same
    local name, and whether it is a ``airflow_interop.runtime`` stand-in (else it is still Airflow's).
    A name the table does not list as moved stays where it is."""
    name = dotted(alias.name) or ""
    local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
    standin = RUNTIME_STANDINS.get(f"{mod}.{name}")
    new_mod, _, new_name = (standin or airflow3_name(f"{mod}.{name}")).rpartition(".")
    if new_mod == mod and new_name == name:
        return mod, alias.with_changes(comma=cst.MaybeSentinel.DEFAULT), False
    asname = alias.asname
    if new_name != local and asname is None:
        asname = cst.AsName(cst.Name(local))
    elif asname is not None and new_name == local:
        asname = None
    return new_mod, cst.ImportAlias(cst.Name(new_name), asname=asname), standin is not None


def rewrite_import_text(
    stmt: cst.SimpleStatementLine,
    keeps: Callable[[str, bool], bool],
    code: Callable[[cst.CSTNode], str],
    existing: dict[str, set[str]],
    rendered: str,
) -> str:
    """The text of an import line after the schedule: names nobody reads any more dropped,
    Airflow names moved where the table says so. ``existing`` collects what it still imports."""
    moved_ids: set[int] = set()
    smalls: list[cst.BaseSmallStatement] = []
    for small in stmt.body:
        smalls.extend(_rewrite_import(small, keeps, moved_ids))
    for small in smalls:
        if isinstance(small, cst.ImportFrom) and small.module is not None and not isinstance(small.names, cst.ImportStar):
            existing.setdefault(dotted(small.module) or "", set()).update(bound_name(a, True) for a in small.names)
    if len(smalls) == len(stmt.body) and all(a is b for a, b in zip(smalls, stmt.body)):
        return rendered
    if not smalls:  # the whole line goes; its own comment lines stay
        return "".join(code(line) for line in stmt.leading_lines if line.comment is not None)
    last = len(smalls) - 1
    body = [s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT) if i == last else s for i, s in enumerate(smalls)]
    if not any(id(s) in moved_ids for s in smalls):
        return code(stmt.with_changes(body=body))  # only names dropped: the line keeps its layout
    comments = "".join(code(line) for line in stmt.leading_lines)
    return comments + "".join(
        code(cst.SimpleStatementLine(body=[s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)])) for s in smalls
    )


def added_imports(imports: dict[str, set[str]], read: set[str], existing: dict[str, set[str]]) -> str:
    """Import lines for the names the rules declared (``plan.need``) that the module reads."""
    lines = []
    for mod in PROVIDER_MODULES:
        wanted = sorted(n for n in imports.get(mod, ()) if n in read and n not in existing.get(mod, set()))
        if wanted:
            lines.append(f"from {mod} import {', '.join(wanted)}\n")
    return "".join(lines)
