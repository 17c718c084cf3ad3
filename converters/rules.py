"""Rule classes: one construct family each, with the examples that define it.

A rule module declares a :class:`Rule` subclass next to the code that implements it. Its
docstring says what the rule does; ``EXAMPLES`` hold sources with what must come of them:

- ``converts``: the file converts (``converted``/``partial``) and the output contains each fragment;
- ``unchanged``: the output contains the fragments exactly as written in the source;
- ``marks``: a manual finding with the code (and a ``# interop: TODO(CODE)`` marker in the output);
- ``refuses``: the file is refused (``failed``) with a finding of that code, nothing written.

``tests/test_rule_examples.py`` runs every example; :mod:`converters.contract` writes them into
``docs/conversion-contract.md``. Rule modules import this module, never each other.
"""

from __future__ import annotations

import importlib
import textwrap
from dataclasses import dataclass
from typing import ClassVar, Literal

#: the modules that declare rules, in pipeline order (imported by :func:`all_rules`)
RULE_MODULES = (
    "converters.analysis",
    "converters.census",
    "converters.task_options",
    "converters.empty",
    "converters.dependencies",
)


@dataclass(frozen=True)
class Example:
    kind: Literal["converts", "unchanged", "marks", "refuses"]
    source: str
    expect: tuple[str, ...]
    title: str = ""

    @property
    def text(self) -> str:
        head = AIRFLOW_HEADER if self.source.startswith(AIRFLOW_HEADER) else ""
        return head + textwrap.dedent(self.source[len(head):]).lstrip("\n")


def converts(source: str, *fragments: str, title: str = "") -> Example:
    return Example("converts", source, fragments, title)


def unchanged(source: str, *fragments: str, title: str = "") -> Example:
    return Example("unchanged", source, fragments, title)


def marks(source: str, code: str, title: str = "") -> Example:
    return Example("marks", source, (code,), title)


def refuses(source: str, code: str, title: str = "") -> Example:
    return Example("refuses", source, (code,), title)


class Rule:
    """Base of the rule classes; subclasses register themselves."""

    #: the Airflow construct, the flow side, and the finding codes the rule emits
    CONSTRUCT: ClassVar[str] = ""
    RESULT: ClassVar[str] = ""
    CODES: ClassVar[tuple[str, ...]] = ()
    EXAMPLES: ClassVar[list[Example]] = []
    registry: ClassVar[list[type[Rule]]] = []

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        Rule.registry.append(cls)

    @classmethod
    def module(cls) -> str:
        return cls.__module__.rsplit(".", 1)[-1] + ".py"

    @classmethod
    def summary(cls) -> str:
        return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())


def all_rules() -> list[type[Rule]]:
    for name in RULE_MODULES:
        importlib.import_module(name)
    order = {name: i for i, name in enumerate(RULE_MODULES)}
    return sorted(Rule.registry, key=lambda r: order.get(r.__module__, len(order)))


#: the import lines most examples start with
AIRFLOW_HEADER = """\
import pendulum
from airflow.sdk import DAG, task, task_group
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
"""
