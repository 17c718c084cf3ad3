"""Run the lint rules over files: one parse per file, one traversal for all rules.

Positions (line, column) are computed only for files that have something to report, and
only for the nodes reported (:mod:`interop.lint.positions`); clean files never pay for them.
Rules that declare libcst metadata dependencies get them resolved once per file, shared.
"""

from __future__ import annotations

import ast
import bisect
import json
import os
import stat
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper

from interop.files import atomic_write, reason
from interop.lint.comments import Suppressions, extract_comments
from interop.lint.config import ConfigError, LintConfig, find_config
from interop.lint.context import FileContext, ReportIndex, iter_statements
from interop.lint.positions import node_ranges
from interop.lint.rule import LintRule, Report
from interop.lint.rules._base import ShimClassIndex
from interop.lint.walk import walk_batched

#: How rules without metadata dependencies are run: ``"walk"`` (:mod:`interop.lint.walk`, a
#: read-only traversal) or ``"libcst"`` (libcst's own batched visit; a test compares the two).
TRAVERSAL = "walk"

#: The code of the rule that reports converter markers.
MARKER_CODE = "IXL401"

#: Folder names never walked into.
SKIP_DIRS = frozenset({"__pycache__", "node_modules", "venv", "site-packages", "build", "dist"})


@dataclass(frozen=True, order=True)
class Finding:
    """One finding: where, which rule, what. Columns are 1-based."""

    path: str
    line: int
    col: int
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "col": self.col, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class LintError:
    """A file that could not be linted (unparsable, unreadable)."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: error: {self.message}"


@dataclass
class FileResult:
    """The outcome of linting one file."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    error: LintError | None = None
    #: the file's text after ``--fix`` (``None`` when nothing was fixed)
    fixed_source: str | None = None
    fixes_applied: int = 0


@dataclass
class LintRun:
    """The outcome of linting many files."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return sorted(f for r in self.files for f in r.findings)

    @property
    def errors(self) -> list[LintError]:
        return [r.error for r in self.files if r.error is not None]

    @property
    def fixes_applied(self) -> int:
        return sum(r.fixes_applied for r in self.files)

    @property
    def exit_code(self) -> int:
        """0 clean, 1 findings, 2 errors (errors win)."""
        if self.errors:
            return 2
        return 1 if self.findings else 0


def all_rules() -> list[type[LintRule]]:
    """Every rule class, in code order."""
    from interop.lint.rules import ALL_RULES

    return list(ALL_RULES)


def select_rules(config: LintConfig, rules: Sequence[type[LintRule]] | None = None) -> list[type[LintRule]]:
    """The rules ``config`` enables."""
    return [r for r in (rules if rules is not None else all_rules()) if config.enabled(r.CODE)]


class _Replacer(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, Any]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        replacement = self.replacements.get(id(original_node))
        return updated_node if replacement is None else replacement


def lint_source(
    source: str,
    path: str = "<string>",
    *,
    rules: Sequence[type[LintRule]] | None = None,
    report: ReportIndex | dict[str, Any] | None = None,
    fix: bool = False,
) -> FileResult:
    """Lint one file's text.

    Args:
        source: The file's text.
        path: The path shown in findings.
        rules: The rule classes to run (default: every rule).
        report: A conversion report (index or raw JSON) for rules that need one.
        fix: Apply the safe fixes; the result's ``fixed_source`` holds the new text and its
            findings are those left after fixing.

    Returns:
        The findings (sorted), or the error when the file does not parse.
    """
    if isinstance(report, dict):
        report = ReportIndex.from_json(report)
    rule_classes = list(rules) if rules is not None else all_rules()
    result = FileResult(path)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        result.error = _syntax_error(source, path, exc)
        return result
    except (RecursionError, ValueError) as exc:  # pragma: no cover - pathological input
        result.error = LintError(path, 1, 1, f"cannot parse: {exc}")
        return result

    try:
        reports, suppressions, index = _run_rules(module, source, path, rule_classes, report)
        shim_classes = index.shim_classes
        ranges = _ranges(module, reports, index)
    except Exception as exc:  # noqa: BLE001 - one file never stops a run: it ends as an error
        where = traceback.extract_tb(exc.__traceback__)[-1]
        result.error = LintError(
            path, 1, 1, f"internal error: {type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"
        )
        return result
    shim_spans = [(ranges[id(c)][0][0], ranges[id(c)][1][0]) for c in shim_classes if id(c) in ranges]
    kept: list[tuple[Report, int, int]] = []
    for r in reports:
        line, col = _start(r, ranges)
        if suppressions.suppresses(line, r.code) or any(a <= line <= b for a, b in shim_spans):
            continue
        kept.append((r, line, col))
    kept = _fold_into_markers(module, kept, ranges, index)
    if fix:
        replacements = {id(r.node): r.replacement for r, _, _ in kept if r.replacement is not None and r.node is not None}
        if replacements:
            new_module = module.visit(_Replacer(replacements))
            new_source = new_module.code
            if new_source != source:
                again = lint_source(new_source, path, rules=rule_classes, report=report, fix=False)
                if again.error is None:  # never write a fix that breaks the file
                    again.fixed_source = new_source
                    again.fixes_applied = len(replacements)
                    return again
    result.findings = sorted({Finding(path, line, col, r.code, r.message) for r, line, col in kept})
    return result


def _syntax_error(source: str, path: str, exc: cst.ParserSyntaxError) -> LintError:
    """Where and why ``source`` does not parse (Python's own message when it has one)."""
    try:
        ast.parse(source, filename=path)
    except SyntaxError as err:
        return LintError(path, err.lineno or 1, err.offset or 1, f"cannot parse: {err.msg}")
    except (ValueError, RecursionError):  # pragma: no cover
        pass
    msg = exc.message.strip().splitlines()[0] if exc.message.strip() else "syntax error"
    return LintError(path, exc.raw_line, exc.raw_column + 1, f"cannot parse: {msg}")


def _run_rules(
    module: cst.Module,
    source: str,
    path: str,
    rule_classes: list[type[LintRule]],
    report: ReportIndex | None,
) -> tuple[list[Report], Suppressions, ShimClassIndex]:
    context = FileContext(path, source, module, report)
    index = ShimClassIndex(context)
    instances = [cls(context) for cls in rule_classes]
    deps = set().union(*(r.get_inherited_dependencies() for r in instances)) if instances else set()
    visitors = [*instances, index]
    if deps:
        MetadataWrapper(module, unsafe_skip_copy=True).visit_batched(visitors)
    elif TRAVERSAL == "libcst":
        cst.visit_batched(module, visitors)
    else:
        walk_batched(module, visitors)
    comments = extract_comments(source)
    for rule in instances:
        if comments:
            rule.check_comments(comments)
        rule.finish()
    reports = [r for rule in instances for r in rule.reports]
    return reports, Suppressions.from_comments(comments), index


def _ranges(module: cst.Module, reports: list[Report], index: ShimClassIndex) -> dict[int, Any]:
    """Ranges of the nodes the reports need (one lazy code-generation pass, only when needed).

    With a converter marker among the reports, the ranges of every statement, definition and
    use of a defined name are taken too (to know what the marker covers).
    """
    if not reports:
        return {}
    wanted: list[cst.CSTNode] = list(index.shim_classes)
    for r in reports:
        if r.node is not None:
            wanted.append(r.node)
        wanted.extend(r.related or ())
    if any(r.code == MARKER_CODE for r in reports):
        wanted.extend(iter_statements(module.body))
        for name, defs in index.definitions.items():
            wanted.extend(defs)
            wanted.extend(index.use_nodes.get(name, ()))
    return node_ranges(module, wanted)


def _start(r: Report, ranges: dict[int, Any]) -> tuple[int, int]:
    if r.node is None:
        return r.line or 1, r.col or 1
    (line, col), _ = ranges[id(r.node)]
    return line, col + 1


def _is_import(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(small, (cst.Import, cst.ImportFrom)) for small in stmt.body
    )


def _fold_into_markers(
    module: cst.Module, kept: list[tuple[Report, int, int]], ranges: dict[int, Any], index: ShimClassIndex
) -> list[tuple[Report, int, int]]:
    """Drop findings inside a statement a reported converter marker covers.

    A marker (``# interop: TODO(CODE): ...``, reported as IXL401) stands on the line above
    the statement the converter left unconverted; the marker is the finding for everything
    in that statement (a marked import included), for a function or class of the file used
    only in covered statements, and for an import or variable used only there.
    """
    marker_lines = sorted({line for r, line, _ in kept if r.code == MARKER_CODE})
    if not marker_lines:
        return kept
    statements = sorted(
        (ranges[id(s)][0][0], ranges[id(s)][1][0], _is_import(s))
        for s in iter_statements(module.body)
        if id(s) in ranges
    )
    starts = [start for start, _, _ in statements]
    spans: list[tuple[int, int]] = []
    for line in marker_lines:
        i = bisect.bisect_left(starts, line)  # the statement below, or the one a trailing marker ends
        if i >= len(statements):
            continue
        start, end, is_import = statements[i]
        # a marker above an import speaks for the block of import lines that follows it
        # directly (up to a blank line, a comment line or another statement)
        while is_import and i + 1 < len(statements) and statements[i + 1][2] and statements[i + 1][0] == end + 1:
            i += 1
            end = statements[i][1]
        spans.append((start, end))

    def covered(line: int) -> bool:
        return any(start <= line <= end for start, end in spans)

    # helpers only the covered statements use are covered too (until nothing changes)
    pending = {
        name: defs
        for name, defs in index.definitions.items()
        if all(id(d) in ranges for d in defs) and index.use_nodes.get(name)
    }
    changed = True
    while changed and pending:
        changed = False
        for name, defs in list(pending.items()):
            uses = [u for u in index.use_nodes[name] if id(u) in ranges]
            if uses and all(covered(ranges[id(u)][0][0]) for u in uses):
                spans.extend((ranges[id(d)][0][0], ranges[id(d)][1][0]) for d in defs)
                del pending[name]
                changed = True

    out = []
    for r, line, col in kept:
        if r.code != MARKER_CODE:
            if covered(line):
                continue
            if r.related and all(covered(ranges[id(n)][0][0]) for n in r.related if id(n) in ranges):
                continue
        out.append((r, line, col))
    return out


# -- files and folders ---------------------------------------------------------------------
def iter_python_files(paths: Iterable[str | os.PathLike[str]]) -> Iterable[tuple[str, Path | None, str | None]]:
    """``(shown path, path, problem)`` for every file to lint; folders are walked (files a
    ``[tool.interop.lint] exclude`` glob matches are left out of the walk)."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
                for name in sorted(files):
                    if name.endswith(".py"):
                        fp = Path(root) / name
                        try:
                            if find_config(fp.parent).excludes(fp):
                                continue
                        except ConfigError:
                            pass  # reported when the file is linted
                        yield str(fp), fp, None
        elif p.is_file():
            yield str(p), p, None
        else:
            yield str(p), None, _not_a_file(p)


def _not_a_file(p: Path) -> str | None:
    """Why ``p`` (not a folder, not a regular file) cannot be linted; ``None`` for a FIFO (a
    shell's ``<(...)``), which is read as it is."""
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        return "no such file or directory"
    except OSError as exc:
        return f"cannot read: {reason(exc)}"
    return None if stat.S_ISFIFO(mode) else "not a regular file"


def lint_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    fix: bool = False,
    report: ReportIndex | dict[str, Any] | str | os.PathLike[str] | None = None,
    select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    rules: Sequence[type[LintRule]] | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> LintRun:
    """Lint files and folders; each file ends with findings or an error, never an exception.

    Args:
        paths: Files and folders (folders are walked for ``*.py``).
        fix: Apply safe fixes and write the files back.
        report: A conversion report: a path to its JSON, the parsed JSON, or an index.
        select: Codes or prefixes to run, on top of ``[tool.interop.lint]``.
        ignore: Codes or prefixes not to run, on top of ``[tool.interop.lint]``.
        rules: The rule classes to choose from (default: every rule).
        on_file: Called with each file's result as soon as it is there (a progress bar).

    Fixes are written atomically (a temporary file in the same folder, then a rename; the
    file's mode kept, a symbolic link written through): a full disk never truncates a file.
    A fix that cannot be written is that file's error.

    Raises:
        ValueError: The report cannot be read (named in the message).
    """
    index = load_report(report) if report is not None and not isinstance(report, ReportIndex) else report
    run = LintRun()
    for shown, path, problem in iter_python_files(paths):
        result = _lint_file(shown, path, problem, fix, index, select, ignore, rules)
        run.files.append(result)
        if on_file is not None:
            on_file(result)
    return run


def _lint_file(
    shown: str,
    path: Path | None,
    problem: str | None,
    fix: bool,
    index: ReportIndex | dict[str, Any] | None,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    rules: Sequence[type[LintRule]] | None,
) -> FileResult:
    if path is None:
        return FileResult(shown, error=LintError(shown, 1, 1, problem or "cannot read"))
    try:
        config = find_config(path.parent).merged(select, ignore)
    except ConfigError as exc:
        return FileResult(shown, error=LintError(shown, 1, 1, str(exc)))
    try:
        source = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return FileResult(shown, error=LintError(shown, 1, 1, f"cannot read: {reason(exc)}"))
    except UnicodeDecodeError as exc:
        return FileResult(shown, error=LintError(shown, 1, 1, f"cannot read: not UTF-8 text ({exc.reason})"))
    result = lint_source(source, shown, rules=select_rules(config, rules), report=index, fix=fix)
    if fix and result.fixed_source is not None:
        try:
            atomic_write(path, result.fixed_source)
        except OSError as exc:  # the file is as it was: its findings are those before fixing
            result = lint_source(source, shown, rules=select_rules(config, rules), report=index, fix=False)
            result.error = LintError(shown, 1, 1, f"cannot write the fixes: {reason(exc)} (the file is unchanged)")
    return result


def load_report(report: dict[str, Any] | str | os.PathLike[str]) -> ReportIndex:
    """Read a conversion report (``interop convert --report FILE``).

    Raises:
        ValueError: The file is missing, not JSON, or not a conversion report.
    """
    if isinstance(report, dict):
        return ReportIndex.from_json(report)
    try:
        data = json.loads(Path(report).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read conversion report {report}: {exc}") from exc
    try:
        return ReportIndex.from_json(data)
    except ValueError as exc:
        raise ValueError(f"{report}: {exc}") from exc
