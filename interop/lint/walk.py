"""A read-only traversal that runs many batchable visitors in one pass.

libcst's own ``visit`` rebuilds every node on the way back up (so that transformers can
replace children), which costs several times the parse on Airflow-sized files. Lint only
reads, so :func:`walk_batched` walks the dataclass fields of each node instead, in pre-order
with ``visit_<Node>`` before and ``leave_<Node>`` after the children (the order of statements
and of list elements is the source order). A test checks that every rule reports the same
on the corpus as under libcst's own batched visit.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Sequence

import libcst as cst
from libcst._nodes import op as _op
from libcst._nodes import whitespace as _whitespace

_FIELDS: dict[type, tuple[str, ...]] = {}

#: Whitespace, comment and operator-token nodes: walked only when some visitor asks for them
#: (no lint rule does; comments are read from the tokens).
_TOKEN_TYPES: frozenset[type] = frozenset(
    obj
    for mod in (_whitespace, _op)
    for _, obj in inspect.getmembers(mod, inspect.isclass)
    if issubclass(obj, cst.CSTNode) and obj.__module__ == mod.__name__
)


def _node_fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls))
        _FIELDS[cls] = names
    return names


def walk_batched(module: cst.CSTNode, visitors: Sequence[cst.BatchableCSTVisitor]) -> None:
    """Call every visitor's ``visit_<Node>``/``leave_<Node>`` methods over ``module``."""
    visit_table: dict[str, list[Callable[[Any], Any]]] = {}
    leave_table: dict[str, list[Callable[[Any], Any]]] = {}
    for v in visitors:
        for name, method in v.get_visitors().items():
            kind, _, rest = name.partition("_")
            if "_" in rest:
                continue  # visit_<Node>_<attribute> hooks are not used by lint rules
            (visit_table if kind == "visit" else leave_table).setdefault(rest, []).append(method)
    visit_get = visit_table.get
    leave_get = leave_table.get
    node_type = cst.CSTNode
    skip = frozenset(t for t in _TOKEN_TYPES if t.__name__ not in visit_table and t.__name__ not in leave_table)

    def walk(node: cst.CSTNode) -> None:
        name = type(node).__name__
        before = visit_get(name)
        if before:
            for m in before:
                m(node)
        for field in _node_fields(type(node)):
            value = getattr(node, field)
            if type(value) in skip:
                continue
            if isinstance(value, node_type):
                walk(value)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, node_type) and type(item) not in skip:
                        walk(item)
        after = leave_get(name)
        if after:
            for m in after:
                m(node)

    walk(module)
