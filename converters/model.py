"""The analysed model of a DAG file that every rule shares.

Built once per file by :mod:`converters.analysis`; rules read it and add their plans to it.
Nothing here imports Airflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import libcst as cst

Disposition = Literal["converted", "shimmed", "manual", "removed"]


@dataclass
class Finding:
    """One report entry: a code, the line, and a message naming the DAG or task.

    ``manual`` findings need a hand (the file is ``partial``, exit code 1); the others are
    information (what was dropped, kept for deployment, rendered at run time ...).
    """

    code: str
    line: int
    message: str
    manual: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "line": self.line, "message": self.message}


@dataclass
class TaskRef:
    """A task as a value during static evaluation (``t1`` in ``t1 >> t2``)."""

    task_id: str


@dataclass
class XComArgRef:
    """``task.output``, ``task.output["k"]``, a TaskFlow call's result, ``result["k"]``."""

    task_id: str
    key: str = "return_value"


@dataclass
class GroupRef:
    """A TaskGroup as a value: its tasks, for edges to and from the group."""

    group_id: str
    task_ids: list[str] = field(default_factory=list)


@dataclass
class Const:
    """A value known statically (loop items, task ids, literals)."""

    value: Any


@dataclass
class Task:
    """One Airflow task as the converter sees it."""

    task_id: str
    kind: str  # python | bash | empty | taskflow | shim | branch | unsupported
    operator: str  # class or decorator name as the user wrote it
    qualname: str
    line: int
    call: cst.Call | None = None
    kwargs: dict[str, cst.BaseExpression] = field(default_factory=dict)
    pos_args: list[cst.Arg] = field(default_factory=list)
    callable_expr: cst.BaseExpression | None = None
    callable_name: str | None = None
    taskflow_func: str | None = None
    override: dict[str, cst.BaseExpression] = field(default_factory=dict)
    var: str | None = None
    group: str | None = None
    disposition: Disposition = "converted"
    returns: Literal["value", "xcoms"] | None = "value"
    #: parameter name -> (upstream task_id) for data passed through the call
    data_inputs: dict[str, str] = field(default_factory=dict)
    #: keyword -> python source of the value passed at the call site in the flow body
    call_kwargs: dict[str, str] = field(default_factory=dict)
    call_args: list[str] = field(default_factory=list)
    #: upstream task ids whose futures must be resolved (``.result()``) before the call
    blocking_inputs: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    option_sources: dict[str, str] = field(default_factory=dict)
    hooks: dict[str, str] = field(default_factory=dict)
    uses_ctx: bool = False
    function_name: str | None = None  # the Prefect task object the flow calls
    with_options: dict[str, str] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "operator": self.operator,
            "line": self.line,
            "disposition": "converted" if self.disposition == "removed" else self.disposition,
            "returns": None if self.disposition == "removed" else self.returns,
            "mapped": bool(self.options.get("_mapped")),
            # a number, or the expression the value is read from at import time (by reference)
            "options": {
                key: self.options.get(key, self.option_sources.get(key))
                for key in ("retries", "retry_delay_seconds", "timeout_seconds")
            },
        }


@dataclass
class Dag:
    """One DAG of the file and everything the rules need to rewrite it."""

    dag_id: str
    style: Literal["with", "assign", "decorator"]
    line: int
    node: cst.CSTNode  # the With / the assignment line / the decorated FunctionDef
    dag_var: str | None = None
    kwargs: dict[str, cst.BaseExpression] = field(default_factory=dict)
    default_args: dict[str, cst.BaseExpression] = field(default_factory=dict)
    default_args_name: str | None = None
    #: parts of default_args not readable statically (``DEFAULT_ARGS`` imported, ``**BASE``), as
    #: source in merge order: options are read from them at import time, by reference
    default_args_refs: list[str] = field(default_factory=list)
    tasks: dict[str, Task] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    #: statements of the DAG body kept in the flow body before the task calls
    preamble: list[cst.BaseStatement] = field(default_factory=list)
    #: module-level statements that belong to this DAG (assign style) and are replaced
    owned_statements: list[cst.CSTNode] = field(default_factory=list)
    flow_params: list[tuple[str, str]] = field(default_factory=list)  # (name, default source)
    params_dict: dict[str, cst.BaseExpression] = field(default_factory=dict)
    decorator_func: cst.FunctionDef | None = None
    schedule: dict[str, str] = field(default_factory=dict)  # cron= / interval= for serve
    function_name: str = ""
    uses_ctx: bool = False
    uses_conf: bool = False
    #: what Airflow builds for this DAG that the converter cannot list statically (a loop over a
    #: run-time value that makes tasks, a computed task_id, wiring to an unknown value ...); any
    #: gap refuses the DAG, so the ledger never lists it short
    gaps: list[Finding] = field(default_factory=list)
    #: what a deployment of this DAG needs (schedule, timezone, max_active_runs, pools ...), written
    #: by ``converters.dags`` and read by ``interop deploy``
    deployment: dict[str, Any] = field(default_factory=dict)

    def edge_set(self) -> list[tuple[str, str]]:
        seen: dict[tuple[str, str], None] = {}
        for e in self.edges:
            if e[0] != e[1]:
                seen.setdefault(e, None)
        return list(seen)

    def report(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "tasks": [t.report() for t in self.tasks.values()],
            "edges": [list(e) for e in self.edge_set()],
            "deployment": self.deployment,
        }
