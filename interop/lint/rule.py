"""The base class of every lint rule, and the embedded examples rules carry.

A rule is one small class (the Fixit model): a Markdown docstring with the sections
``## What it does``, ``## Why is this bad?``, ``## Example``, ``## Use instead`` and
``## Fix safety``; a ``CODE`` and ``NAME``; a ``MESSAGE``; and embedded ``VALID`` and
``INVALID`` examples. Tests are generated from the examples and the rules page in
``docs/lint-rules.md`` is generated from the classes.

Rules are libcst batchable visitors: the engine runs every selected rule in a single
traversal of one parse of the file. A rule reports with :meth:`LintRule.report`; a
replacement node turns the report into a fix that ``--fix`` applies.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import libcst as cst

if TYPE_CHECKING:  # pragma: no cover
    from interop.lint.context import FileContext


@dataclass(frozen=True)
class Valid:
    """A snippet the rule must not report.

    Args:
        code: Python source of a whole (small) flow file.
        report: Optional conversion report (the JSON ``interop convert --report`` writes)
            for rules that need one.
    """

    code: str
    report: dict[str, Any] | None = None


@dataclass(frozen=True)
class Invalid:
    """A snippet the rule must report.

    Args:
        code: Python source of a whole (small) flow file.
        line: The line (1-based) of the first finding, when the example wants to pin it.
        expected_replacement: The whole file after ``--fix``. ``None`` means the rule
            offers no fix for this example.
        report: Optional conversion report, as for :class:`Valid`.
    """

    code: str
    line: int | None = None
    expected_replacement: str | None = None
    report: dict[str, Any] | None = None


@dataclass
class Report:
    """One report a rule made while visiting a file (before suppression).

    ``node`` is the node the report points at (its start gives line and column), unless
    ``line``/``col`` are given directly (reports on comments). ``replacement`` is the node
    that replaces ``node`` under ``--fix`` (``cst.RemovalSentinel.REMOVE`` removes it).
    """

    code: str
    message: str
    node: cst.CSTNode | None = None
    line: int | None = None
    col: int | None = None
    replacement: cst.CSTNode | cst.RemovalSentinel | None = None
    #: nodes the report is about besides ``node`` (an import's uses): when every one of
    #: them lies in a statement a converter marker covers, the marker speaks for the report
    related: list[cst.CSTNode] | None = None


class LintRule(cst.BatchableCSTVisitor):
    """Base class of lint rules. Subclasses set the class attributes below."""

    #: Stable code, ``IXL`` + family digit + two digits (IXL1xx Airflow leftovers, ...).
    CODE: ClassVar[str] = ""
    #: Kebab-case name saying what is wrong.
    NAME: ClassVar[str] = ""
    #: Default message; ``report(..., message=...)`` may give a more specific one.
    MESSAGE: ClassVar[str] = ""
    #: Whether the rule offers a fix that ``--fix`` may apply (only safe fixes).
    FIXABLE: ClassVar[bool] = False
    #: Whether the rule needs ``--report`` to say anything.
    NEEDS_REPORT: ClassVar[bool] = False
    VALID: ClassVar[list[Valid]] = []
    INVALID: ClassVar[list[Invalid]] = []

    def __init__(self, context: "FileContext") -> None:
        super().__init__()
        self.context = context
        self.reports: list[Report] = []

    # -- dispatch ----------------------------------------------------------------------
    def get_visitors(self) -> dict[str, Any]:
        """The ``visit_*``/``leave_*`` methods, found once per class (libcst's default
        ``inspect.getmembers`` per instance costs more than the traversal itself)."""
        cls = type(self)
        names = cls.__dict__.get("_visitor_names")
        if names is None:
            names = tuple(
                name
                for name in dir(cls)
                if name.startswith(("visit_", "leave_"))
                and callable(getattr(cls, name))
                and not getattr(getattr(cls, name), "_is_no_op", False)
            )
            cls._visitor_names = names  # type: ignore[attr-defined]
        return {name: getattr(self, name) for name in names}

    # -- reporting -----------------------------------------------------------------
    def report(
        self,
        node: cst.CSTNode,
        message: str | None = None,
        *,
        replacement: cst.CSTNode | cst.RemovalSentinel | None = None,
        related: list[cst.CSTNode] | None = None,
    ) -> None:
        """Report ``node``; with ``replacement`` the report carries a fix.

        ``related`` names the nodes the report is really about when ``node`` is only where
        it is shown (an import, reported for its uses).
        """
        if replacement is not None and not self.FIXABLE:
            raise TypeError(f"rule {self.CODE} is not FIXABLE but offered a replacement")
        self.reports.append(
            Report(self.CODE, message or self.MESSAGE, node=node, replacement=replacement, related=related)
        )

    def report_at(self, line: int, col: int, message: str | None = None) -> None:
        """Report a position that is not a node (a comment)."""
        self.reports.append(Report(self.CODE, message or self.MESSAGE, line=line, col=col))

    def check_comments(self, comments: list["Comment"]) -> None:
        """Hook for rules about comments; ``comments`` are every comment of the file."""

    def finish(self) -> None:
        """Called once after the traversal (use it for checks needing the whole file)."""

    # -- documentation ---------------------------------------------------------------
    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The docstring split by its ``## Heading`` sections (heading -> body text)."""
        return split_sections(inspect.cleandoc(cls.__doc__ or ""))

    @classmethod
    def doc_markdown(cls) -> str:
        """The docstring as Markdown (its ``##`` headings kept)."""
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """The first paragraph of ``## What it does``, on one line."""
        what = cls.doc_sections().get("What it does", "")
        return " ".join(what.split("\n\n")[0].split())


@dataclass(frozen=True)
class Comment:
    """A comment of the linted file: 1-based line, 1-based column, text with ``#``."""

    line: int
    col: int
    text: str
    #: whether the comment is alone on its line
    own_line: bool = field(default=False)


_HEADING = re.compile(r"^## (.+?)\s*$", re.MULTILINE)


def split_sections(doc: str) -> dict[str, str]:
    """Split a Markdown docstring on its ``## Heading`` lines."""
    sections: dict[str, str] = {}
    matches = list(_HEADING.finditer(doc))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(doc)
        sections[m.group(1).rstrip("?")] = doc[m.end() : end].strip("\n")
    return sections


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the fenced ```python blocks of ``markdown``."""
    return [m.group(1) for m in re.finditer(r"```python\n(.*?)```", markdown, re.DOTALL)]
