"""The conversion pipeline: source text -> model -> rules in a stated order -> module -> report.

Order (each rule reads the model and the plan the earlier rules left):

1. ``analysis``         DAGs, tasks, edges, loops unrolled (static, once per file)
2. ``task_options``     default_args and per-task retries/timeouts/callbacks
3. ``empty``            Empty/Dummy removed, edges contracted
4. result shapes        which tasks return a value, which a dict of XComs
5. ``python_operator``  callables: context and XCom rewritten, call arguments
6. ``taskflow``         TaskFlow @task calls
7. ``bash``             BashOperator -> run_bash tasks, Jinja -> f-strings
8. ``shimmed``          any other operator -> run_operator
   ``task_params``      task-level params merged into that task's context
9. ``branching``        branch results, skip flags by trigger rule
10. ``dependencies``    wait_for and submission order
11. ``dags``            the flow function and the deployment block
12. ``imports``         Airflow imports dropped or moved, Prefect/shims imports added
   ``assets``          outlets -> ``@materialize``, asset schedules -> triggers
13. ``airflow_code``    converted tasks whose code still calls Airflow -> ``shimmed`` (IX115)
"""

from __future__ import annotations

import ast
import re
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from converters import (
    airflow_code,
    assets,
    bash,
    branching,
    dependencies,
    emit,
    empty,
    python_operator,
    run_semantics,
    shimmed,
    task_options,
    task_params,
    taskflow,
)
from converters.analysis import Analyzer, ConversionError, _names_in
from converters.model import Dag, Finding
from converters.names import RUNTIME_STANDINS, is_airflow
from converters.plan import Plan

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class ConversionResult:
    """The outcome of converting one file: never raises, always says what happened."""

    path: str
    source: str
    output: str
    status: str  # converted | partial | skipped | failed
    dags: list[Dag] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    error: bool = False  # unreadable / unparsable / internal error (exit code 2)

    @property
    def changed(self) -> bool:
        return self.output != self.source

    @property
    def needs_hand(self) -> bool:
        return self.status in ("partial", "failed") and not self.error

    def report(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "dags": [d.report() for d in self.dags],
            "findings": [f.as_dict() for f in sorted(self.findings, key=lambda f: (f.line, f.code))],
        }


def convert_source(source: str, path: str = "<string>") -> ConversionResult:
    """Convert the text of one DAG file into a Prefect flow module.

    Args:
        source: the file's text.
        path: shown in findings and the report.

    Returns:
        A :class:`ConversionResult`; ``status`` is ``converted`` (every task converted or
        shimmed), ``partial`` (some task needs a hand: see the ``# interop: TODO`` markers),
        ``skipped`` (no DAG in the file, e.g. an already converted flow) or ``failed``.
    """
    if not source.strip():
        return ConversionResult(path, source, source, "skipped", findings=[Finding("IX004", 1, "empty file: no DAG")])
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        return ConversionResult(
            path, source, source, "failed", error=True,
            findings=[Finding("IX001", exc.editor_line, f"syntax error at line {exc.editor_line}, column {exc.editor_column}: {exc.message}")],
        )
    except Exception as exc:  # noqa: BLE001 - libcst raises a few kinds on odd input
        return ConversionResult(path, source, source, "failed", error=True, findings=[Finding("IX001", 1, f"cannot parse: {exc}")])
    try:
        return _convert(module, source, path)
    except ConversionError as exc:
        return ConversionResult(path, source, source, "failed", findings=[Finding(exc.code, exc.line, exc.message, True)])
    except Exception as exc:  # noqa: BLE001 - one bad file never stops a batch
        tb = traceback.format_exc(limit=-3)
        return ConversionResult(
            path, source, source, "failed", error=True,
            findings=[Finding("IX999", 0, f"internal error: {type(exc).__name__}: {exc}\n{tb}")],
        )


def _convert(module: cst.Module, source: str, path: str) -> ConversionResult:
    from converters.walk import cache_clear

    cache_clear()
    analyzer = Analyzer(module, path, source)
    model = analyzer.run()
    if not model.dags:
        return ConversionResult(path, source, source, "skipped", findings=[Finding("IX002", 1, "no Airflow DAG in this file")])
    # a file the ledger cannot list in full is refused before any rule runs: nothing is written
    refused = _refusal(path, source, model)
    if refused is not None:
        return refused
    plan = Plan(analyzer=analyzer, model=model, path=path)
    plan.taken_names |= _taken_names(analyzer, model)
    module = analyzer.module

    orders: dict[str, list[str]] = {}
    for dag in model.dags:
        task_options.apply(plan, dag)
        empty.apply(plan, dag)
        _shapes(plan, dag)
    for dag in model.dags:
        python_operator.apply(plan, dag)
        taskflow.apply(plan, dag)
        bash.apply(plan, dag)
        shimmed.apply(plan, dag)
        task_params.apply(plan, dag)
        _mark_leftovers(plan, dag)
    # rules evaluate arguments the analysis left for later: a gap found there refuses the file too
    refused = _refusal(path, source, model)
    if refused is not None:
        return refused
    python_operator.decorate(plan, model.dags[0])
    for dag in model.dags:
        assets.apply(plan, dag)
    for dag in model.dags:
        branching.apply(plan, dag)
        orders[dag.dag_id] = dependencies.apply(plan, dag)
        run_semantics.apply(plan, dag)

    output = emit.assemble(plan, module, orders)
    if output is None:
        return ConversionResult(
            path, source, source, "failed", error=True,
            findings=[Finding("IX999", 0, "internal error: generated code does not compile")],
        )
    airflow_code.apply(plan, output)
    manual = any(f.manual for f in model.findings) or any(t.disposition == "manual" for d in model.dags for t in d.tasks.values())
    return ConversionResult(path, source, output, "partial" if manual else "converted", dags=model.dags, findings=model.findings)


def _refusal(path: str, source: str, model) -> ConversionResult | None:  # noqa: ANN001
    """A DAG with a gap (tasks or edges Airflow builds that cannot be listed statically) refuses
    the file: the ledger never lists a DAG short, and a half-converted flow is not written."""
    gapped = [d for d in model.dags if d.gaps]
    if not gapped:
        return None
    findings = list(model.findings)
    for dag in gapped:
        lines = ", ".join(str(g.line) for g in dag.gaps[:8]) + (" ..." if len(dag.gaps) > 8 else "")
        findings.append(
            Finding(
                "IX109",
                dag.line,
                f"DAG {dag.dag_id!r} not converted: Airflow builds tasks or edges here that cannot be listed "
                f"statically (line {lines}); convert it by hand or run it unconverted through the shim",
                manual=True,
            )
        )
    return ConversionResult(path, source, source, "failed", findings=findings)


def _taken_names(analyzer: Analyzer, model) -> set[str]:  # noqa: ANN001
    """Names a generated function must not take: every name bound or read outside the DAG
    definitions (which are replaced), read from the compiled module without them."""
    tree = analyzer.positions.tree
    if tree is None:
        return set(_IDENTIFIER.findall(analyzer.source))
    ranges = []
    for dag in model.dags:
        if dag.style == "decorator":
            continue
        for top in [dag.node, *dag.owned_statements]:
            start = analyzer.positions.line(top)
            end = analyzer.positions.end_lines.get(id(top))
            if start and end:
                ranges.append((start, end))
    body = [n for n in tree.body if not any(a <= n.lineno <= b for a, b in ranges)]
    names: set[str] = set()
    try:
        with warnings.catch_warnings():  # the team's code's SyntaxWarnings are not the converter's to print
            warnings.simplefilter("ignore")
            stack = [compile(ast.Module(body=body, type_ignores=[]), "<names>", "exec")]
    except (SyntaxError, ValueError, TypeError):
        return set(_IDENTIFIER.findall(analyzer.source))
    while stack:
        code = stack.pop()
        names.update(code.co_names, code.co_varnames, code.co_cellvars, code.co_freevars)
        stack.extend(c for c in code.co_consts if hasattr(c, "co_names"))
    return names


def _shapes(plan: Plan, dag: Dag) -> None:
    for task in dag.tasks.values():
        if task.options.get("_mapped_group"):
            group = task.options["_mapped_group"]
            plan.manual(task, "IX105", f"task of the mapped task group `{group}`: Prefect has no mapped group; write it by hand")
            task.kind = "unsupported"
            task.options["_mapped_unsupported"] = True
            task.returns = None
            continue
        if task.options.get("_mapped") and task.kind not in ("python", "taskflow", "taskflow_other"):
            plan.manual(task, "IX105", f"mapped {task.operator}: write the .map(...) call by hand; its edges are kept")
            task.kind = "unsupported"
            task.options["_mapped_unsupported"] = True
        if task.kind == "shim" or (task.kind == "branch" and task.callable_expr is None and task.taskflow_func is None):
            task.returns = "xcoms"
        elif task.kind in ("empty", "unsupported"):
            task.returns = None
    python_operator.shapes(plan, dag)
    bash.shapes(plan, dag)


def _mark_leftovers(plan: Plan, dag: Dag) -> None:
    """Statements kept in the flow body that still build Airflow objects."""
    # (``Variable`` is no Airflow object in the flow: Prefect's, or the runtime stand-in)
    airflow_names = {
        local for local, qn in plan.model.imports.items() if is_airflow(qn) and qn not in RUNTIME_STANDINS
    }
    # functions still wrapped by an Airflow decorator (@task_group ...) count as Airflow objects
    airflow_names |= {
        name
        for name, func in plan.model.functions.items()
        if id(func) not in plan.functions and any(_names_in(d) & airflow_names for d in func.decorators)
    }
    for i, stmt in enumerate(dag.preamble):
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            if id(stmt) in plan.functions:
                continue
            used = set().union(*[_names_in(d) for d in stmt.decorators]) & airflow_names if stmt.decorators else set()
        else:
            used = _names_in(stmt) & airflow_names
        task_vars = {t.var for t in dag.tasks.values() if t.var}
        if dag.dag_var:
            task_vars.add(dag.dag_var)
        used_tasks = {v for v in _names_in(stmt) & task_vars if not plan.reads_only_statically(stmt, v)}
        if used or used_tasks:
            what = ", ".join(sorted(used | used_tasks))
            message = f"statement uses Airflow objects ({what}) at flow run time; convert it by hand"
            listed = isinstance(stmt, cst.FunctionDef) and stmt.name.value in plan.model.evaluated_builders
            if plan.analyzer.builds_tasks(stmt) and not listed:  # a builder evaluated in place is no gap
                plan.analyzer.gap(dag, "IX101", plan.model.line_of(stmt), f"DAG {dag.dag_id!r}: {message}")
            else:
                plan.finding("IX101", plan.model.line_of(stmt), f"DAG {dag.dag_id!r}: {message}", manual=True)
            comment = cst.EmptyLine(comment=cst.Comment(f"# interop: TODO(IX101): {message}"))
            dag.preamble[i] = stmt.with_changes(leading_lines=[*stmt.leading_lines, comment])


