"""Merge a regenerated ``prefect.yaml`` with the hand edits made to the last one.

Three versions of the file take part: *base*, what ``interop deploy`` wrote last time (kept in
``.interop/prefect.generated.yaml`` beside it), *ours*, what it writes now, and *theirs*, the
file as it is on disk. Per key (mappings are merged key by key, deployments matched by name,
lists taken whole): a value nobody edited takes the new generated one; a value edited by hand
whose generated value did not change is kept; both changed differently is a conflict, where
the hand edit is kept and the conflict reported. Keys and deployments added by hand are kept;
a generated deployment whose DAG is gone is removed unless it was edited by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


@dataclass
class Merge:
    """The merged document and what happened to the hand edits."""

    document: dict[str, Any]
    kept: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def merge(base: dict[str, Any] | None, ours: dict[str, Any], theirs: dict[str, Any] | None) -> Merge:
    """Three-way merge of ``prefect.yaml`` documents (see the module docstring)."""
    if theirs is None:
        return Merge(ours)
    result = Merge({})
    base = base or {}
    result.document = _merge_mapping(base, ours, theirs, "", result)
    return result


def _merge_value(base: Any, ours: Any, theirs: Any, path: str, result: Merge) -> Any:
    if theirs is _MISSING and base is not _MISSING:
        # deleted by hand: stays deleted unless the generated value changed since
        return _MISSING if ours == base else _conflict(ours, theirs, path, result, "deleted by hand")
    if _same(theirs, base):
        return ours
    if _same(ours, base) or _same(ours, theirs):
        if not _same(theirs, ours):
            result.kept.append(path)
        return theirs
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return _merge_mapping(base if isinstance(base, dict) else {}, ours, theirs, path, result)
    if path.endswith("deployments") and isinstance(ours, list) and isinstance(theirs, list):
        return _merge_deployments(base if isinstance(base, list) else [], ours, theirs, path, result)
    return _conflict(ours, theirs, path, result, "edited by hand")


def _conflict(ours: Any, theirs: Any, path: str, result: Merge, how: str) -> Any:
    result.conflicts.append(f"{path}: {how}, and the DAG changed it too (kept the hand edit; generated: {ours!r})")
    return theirs


def _same(a: Any, b: Any) -> bool:
    return a is b or (a is not _MISSING and b is not _MISSING and a == b)


def _merge_mapping(base: dict, ours: dict, theirs: dict, path: str, result: Merge) -> dict:
    out: dict[str, Any] = {}
    for key in list(dict.fromkeys([*ours, *theirs])):
        value = _merge_value(base.get(key, _MISSING), ours.get(key, _MISSING), theirs.get(key, _MISSING),
                             f"{path}.{key}" if path else str(key), result)
        if value is not _MISSING:
            out[key] = value
    return out


def _by_name(items: list) -> dict[str, Any]:
    return {d["name"]: d for d in items if isinstance(d, dict) and "name" in d}


def _merge_deployments(base: list, ours: list, theirs: list, path: str, result: Merge) -> list:
    b, o, t = _by_name(base), _by_name(ours), _by_name(theirs)
    out = []
    for name in dict.fromkeys([*o, *t]):
        value = _merge_value(b.get(name, _MISSING), o.get(name, _MISSING), t.get(name, _MISSING), f"{path}[{name}]", result)
        if value is not _MISSING:
            out.append(value)
    out += [d for d in theirs if not (isinstance(d, dict) and "name" in d)]  # unnamed: a hand's, kept
    return out
