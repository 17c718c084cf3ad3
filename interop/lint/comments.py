"""The ``# interop: ...`` comments lint reads: converter markers and suppressions.

* ``# interop: TODO(IX101): message``: a marker the converter left above a statement it
  could not convert; lint reports each one until somebody resolves it.
* ``# interop: ignore[IXL101]``, ``# interop: ignore[IXL101,IXL203]``, bare
  ``# interop: ignore``: suppress findings on the same line, or, alone on its line, on the
  line below.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

from interop.lint.rule import Comment

MARKER = re.compile(r"#\s*interop:\s*TODO(?:\((?P<code>[A-Za-z0-9_-]+)\))?\s*:?\s*(?P<message>.*?)\s*$")
IGNORE = re.compile(r"#\s*interop:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?")


def extract_comments(source: str) -> list[Comment]:
    """Every ``interop:`` comment of ``source``, with 1-based line and column.

    Only files that contain ``interop:`` are tokenized, so clean files cost nothing here.
    """
    if "interop:" not in source:
        return []
    comments: list[Comment] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT and "interop:" in tok.string:
                own = tok.line[: tok.start[1]].strip() == ""
                comments.append(Comment(tok.start[0], tok.start[1] + 1, tok.string, own))
    except (tokenize.TokenError, IndentationError, SyntaxError):  # pragma: no cover - libcst parsed it
        pass
    return comments


@dataclass(frozen=True)
class Suppressions:
    """Which codes are suppressed on which line (``None`` in the set: every code)."""

    by_line: dict[int, frozenset[str | None]]

    @classmethod
    def from_comments(cls, comments: list[Comment]) -> "Suppressions":
        by_line: dict[int, set[str | None]] = {}
        for c in comments:
            m = IGNORE.search(c.text)
            if m is None:
                continue
            codes: set[str | None]
            if m.group("codes") is None or not m.group("codes").strip():
                codes = {None}
            else:
                codes = {part.strip() for part in m.group("codes").split(",") if part.strip()}
            by_line.setdefault(c.line, set()).update(codes)
            if c.own_line:
                by_line.setdefault(c.line + 1, set()).update(codes)
        return cls({k: frozenset(v) for k, v in by_line.items()})

    def suppresses(self, line: int, code: str) -> bool:
        codes = self.by_line.get(line)
        return bool(codes) and (None in codes or code in codes)  # type: ignore[operator]
