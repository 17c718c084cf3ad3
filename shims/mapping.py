"""How many instances a mapped task expands to, from the run's XComs.

Airflow's scheduler expands a mapped task (``.partial(...).expand(...)``,
``.expand_kwargs(...)``, or a task inside a mapped ``@task_group``) once its upstream
tasks are done: the number of instances is the product of the lengths of the expanded
arguments (dict-of-lists) or the length of the list of kwargs (list-of-dicts). An argument's
length is the length of a literal, or for an ``XComArg``: the length of the value the upstream
pushed, the number of instances of a mapped upstream, and for ``.map``/``zip``/``concat`` the
length of what they derive from. The values themselves are resolved later, per instance, by
Airflow's own ``MappedOperator.render_template_fields``.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["mapped_group", "expand_count", "needs_expansion"]


def mapped_group(task: Any) -> Any:
    """The closest enclosing mapped task group of ``task``, or ``None``."""
    get = getattr(task, "get_closest_mapped_task_group", None)
    return get() if get else None


def needs_expansion(task: Any) -> bool:
    """True for a mapped operator or a task inside a mapped task group."""
    return bool(getattr(task, "is_mapped", False)) or mapped_group(task) is not None


def expand_count(task: Any, xcom_value: Callable[[str, str], Any], instance_count: Callable[[str], int | None]) -> int:
    """The number of instances ``task`` expands to in this run.

    Args:
        task: a ``MappedOperator`` or a task in a mapped task group.
        xcom_value: ``(task_id, key) -> value`` pushed by an unmapped upstream (deserialized).
        instance_count: ``task_id -> number of mapped instances`` of an upstream, ``None`` when
            that upstream is not mapped.
    """
    if getattr(task, "is_mapped", False):
        expand_input = task._get_specified_expand_input()
        count = _input_count(expand_input, xcom_value, instance_count)
        group = mapped_group(task)
        if group is not None:
            count *= _input_count(group._expand_input, xcom_value, instance_count)
        return count
    group = mapped_group(task)
    return _input_count(group._expand_input, xcom_value, instance_count)


def _input_count(expand_input: Any, xcom_value: Callable, instance_count: Callable) -> int:
    from airflow.sdk.definitions._internal.expandinput import DictOfListsExpandInput, ListOfDictsExpandInput

    if isinstance(expand_input, DictOfListsExpandInput):
        total = 1
        for value in expand_input.value.values():
            total *= _length(value, xcom_value, instance_count)
        return total
    if isinstance(expand_input, ListOfDictsExpandInput):
        return _length(expand_input.value, xcom_value, instance_count)
    raise TypeError(f"unknown expand input {type(expand_input).__name__}")


def _length(value: Any, xcom_value: Callable, instance_count: Callable) -> int:
    from airflow.sdk.definitions.xcom_arg import ConcatXComArg, MapXComArg, PlainXComArg, XComArg, ZipXComArg

    if isinstance(value, PlainXComArg):
        upstream_id = value.operator.task_id
        mapped = instance_count(upstream_id)
        if mapped is not None:
            return mapped
        pushed = xcom_value(upstream_id, value.key)
        if pushed is None:
            return 0
        return len(pushed)
    if isinstance(value, MapXComArg):
        return _length(value.arg, xcom_value, instance_count)
    if isinstance(value, ZipXComArg):
        lengths = [_length(a, xcom_value, instance_count) for a in value.args]
        from airflow.sdk.definitions._internal.types import is_arg_set

        return max(lengths) if is_arg_set(value.fillvalue) else min(lengths)
    if isinstance(value, ConcatXComArg):
        return sum(_length(a, xcom_value, instance_count) for a in value.args)
    if isinstance(value, XComArg):
        raise TypeError(f"cannot size XComArg of type {type(value).__name__}")
    return len(value)
