"""Line and column of chosen nodes, for a fraction of the cost of ``PositionProvider``.

libcst's ``PositionProvider`` records a range for every node of the module while it
generates the code (measured at about 4x the cost of parsing). Lint needs positions only
for the few nodes it reports (and, when a file has converter markers, its statements), so
:func:`node_ranges` generates the code once with a codegen state that tracks line and
column lazily and records only the nodes asked for. The ranges are the ones
``PositionProvider`` gives (syntactic start and end, 1-based lines, 0-based columns); a test
checks that on real files.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator, Optional

import libcst as cst
from libcst._nodes.internal import CodegenState

try:  # the same newline pattern libcst's own position tracking uses
    from libcst._nodes.internal import NEWLINE_RE  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - moved in some versions
    from libcst.metadata.position_provider import NEWLINE_RE  # type: ignore[attr-defined,no-redef]

Range = tuple[tuple[int, int], tuple[int, int]]


class _TargetedState(CodegenState):
    """A codegen state that records the ranges of the target nodes only."""

    def __init__(self, module: cst.Module, targets: set[int]) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.targets = targets
        self.starts: dict[int, tuple[int, int]] = {}
        self.ends: dict[int, tuple[int, int]] = {}
        self._fallback: dict[int, list[tuple[int, int]]] = {}
        self._line = 1
        self._col = 0
        self._seen = 0

    def _pos(self) -> tuple[int, int]:
        if self._seen < len(self.tokens):
            text = "".join(self.tokens[self._seen :])
            self._seen = len(self.tokens)
            segments = NEWLINE_RE.split(text)
            if len(segments) == 1:
                self._col += len(text)
            else:
                self._line += len(segments) - 1
                self._col = len(segments[-1])
        return self._line, self._col

    def before_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.targets:
            self._fallback.setdefault(id(node), []).append(self._pos())

    def after_codegen(self, node: cst.CSTNode) -> None:
        key = id(node)
        if key in self.targets:
            start = self._fallback[key].pop()
            if key not in self.starts:  # no syntactic range was recorded: whitespace-inclusive
                self.starts[key] = start
                self.ends[key] = self._pos()

    @contextmanager
    def record_syntactic_position(
        self,
        node: cst.CSTNode,
        *,
        start_node: Optional[cst.CSTNode] = None,
        end_node: Optional[cst.CSTNode] = None,
    ) -> Iterator[None]:
        key = id(node)
        if key not in self.targets:
            yield
            return
        for hoisted in (start_node, end_node):
            if hoisted is not None:
                self.targets.add(id(hoisted))
        start = self._pos()
        try:
            yield
        finally:
            end = self._pos()
            self.starts[key] = self.starts[id(start_node)] if start_node is not None else start
            self.ends[key] = self.ends[id(end_node)] if end_node is not None else end


def node_ranges(module: cst.Module, nodes: Iterable[cst.CSTNode]) -> dict[int, Range]:
    """``id(node) -> ((start line, start col), (end line, end col))`` for ``nodes`` of ``module``.

    Lines are 1-based and columns 0-based, as libcst's ``PositionProvider`` gives them.
    """
    targets = {id(n) for n in nodes}
    if not targets:
        return {}
    state = _TargetedState(module, set(targets))
    module._codegen(state)
    return {k: (state.starts[k], state.ends[k]) for k in targets if k in state.starts}
