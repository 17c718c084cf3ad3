"""Rule: a task whose own code runs Airflow's code is ``shimmed`` in the ledger.

What: after the output is assembled, every converted task whose Prefect function (or a function,
class or module-level value of the file it reads, transitively) reads a name the output still
imports from Airflow (``PostgresHook``, ``BaseHook``, ``S3Hook``, ``TriggerDagRunOperator(...)
.execute``, ``AirflowException`` ...; the IX110 names) gets the disposition ``shimmed`` and an
IX115 finding naming those Airflow names and the modules they come from. The DAG's deployment
facts list those modules with the shimmed operators' (``shimmed_modules``), so ``interop deploy``
installs the providers they belong to.

Why: ``converted`` says a task runs on Prefect, the standard library and the team's code.
A task that calls ``PostgresHook(...).get_records(...)`` runs Airflow's own code: it needs
Airflow and the provider installed where the flow runs, and its connection as
``AIRFLOW_CONN_<ID>`` (as an operator run through the shim does). The ledger says so task by
task, instead of a file-level marker only. Replacing the hook (``prefect-sqlalchemy``,
``prefect-aws`` ...) stays the team's choice: the IX110 marker above the import asks for it.

Safety: the reach is computed on the output as written (``ast``): a name read only by the
flow's own body or a callback marks no task (the IX110 marker still stands); nothing in the
output changes.
"""

from __future__ import annotations

import ast
import re

from converters.model import Dag
from converters.names import is_airflow
from converters.plan import Plan
from converters.rules import AIRFLOW_HEADER, Rule, converts
from converters.source_text import ast_children

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
#: an Airflow import anywhere in the output (the cheap test before a parse)
_AIRFLOW_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+airflow[\w.]*[ \t]+import|import[ \t]+airflow)\b", re.MULTILINE)


def airflow_reach(tree: ast.Module) -> dict[str, dict[str, str]]:
    """For each name the output binds to code (functions and classes at any depth, values assigned
    at module level), the Airflow names (local name -> module) its code reads, directly or through
    other such names (two functions of one name count as one). One pass over the tree."""
    imported: dict[str, str] = {}  # every Airflow import, module level or inside a function
    reads: dict[str, set[str]] = {}  # owner -> names its code reads (a nested def: its name)
    stack: list[tuple[ast.AST, str | None]] = [(stmt, None) for stmt in reversed(tree.body)]
    while stack:
        node, owner = stack.pop()
        if isinstance(node, ast.Name):
            if owner is not None and not isinstance(node.ctx, ast.Store):
                reads[owner].add(node.id)
            continue
        if isinstance(node, _DEFS):
            if owner is not None:
                reads[owner].add(node.name)  # what a def defines, it may call
            owner = node.name
            reads.setdefault(owner, set())
        elif owner is None and isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            owner = f"<line {node.lineno}>"  # each target reads what the value reads
            reads[owner] = set()
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        reads.setdefault(name.id, set()).add(owner)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and is_airflow(node.module or ""):
                imported.update((a.asname or a.name, node.module) for a in node.names if a.name != "*")  # type: ignore[misc]
            continue
        elif isinstance(node, ast.Import):
            imported.update(
                (a.asname or a.name.split(".")[0], a.name) for a in node.names if is_airflow(a.name)
            )
            continue
        stack.extend((child, owner) for child in ast_children(node))
    if not imported:
        return {}
    reach = {name: {n: imported[n] for n in read if n in imported} for name, read in reads.items()}
    changed = True
    while changed:  # a fixed point over the file's own names (helpers calling helpers)
        changed = False
        for name, read in reads.items():
            for other in read & reach.keys():
                if other != name and not reach[other].keys() <= reach[name].keys():
                    reach[name].update(reach[other])
                    changed = True
    return {name: found for name, found in reach.items() if found and not name.startswith("<")}


def apply(plan: Plan, output: str) -> None:
    """Mark the converted tasks of every DAG whose code reaches an Airflow import (IX115)."""
    if not _AIRFLOW_IMPORT.search(output) or not any(
        t.disposition == "converted" for d in plan.model.dags for t in d.tasks.values()
    ):
        return
    try:
        tree = ast.parse(output)
    except SyntaxError:
        return
    reach = airflow_reach(tree)
    if not reach:
        return
    for dag in plan.model.dags:
        _mark(plan, dag, reach)


def _mark(plan: Plan, dag: Dag, reach: dict[str, dict[str, str]]) -> None:
    modules: set[str] = set()
    for task in dag.tasks.values():
        if task.disposition != "converted":
            continue
        found: dict[str, str] = {}
        for name in {task.function_name, task.taskflow_func, task.callable_name} - {None}:
            found |= reach.get(name, {})  # type: ignore[arg-type]
        if not found:
            continue
        task.disposition = "shimmed"
        modules |= set(found.values())
        what = ", ".join(f"`{n}` ({m})" for n, m in sorted(found.items()))
        plan.finding(
            "IX115", task.line,
            f"task {task.task_id!r} runs Airflow's own code: its function reads {what}; the flow runs it "
            "with Airflow (and that provider) installed and its connections as AIRFLOW_CONN_<ID>, as an "
            "operator through the shim (ledger `shimmed`); a Prefect integration replaces it by hand",
        )
    if modules:
        facts = dag.deployment
        facts["shimmed_modules"] = sorted(set(facts.get("shimmed_modules") or ()) | modules)


class AirflowCodeInTasks(Rule):
    """A task whose own code calls Airflow (a hook, an operator's ``execute``, an Airflow class)
    is ``shimmed`` in the ledger, with the Airflow names it reads (IX115); its DAG's
    ``shimmed_modules`` name their modules, so ``interop deploy`` installs their providers.

    The code stays as the team wrote it; the IX110 marker above the import asks whether to replace
    it (``prefect-sqlalchemy``, ``prefect-aws`` ...) or keep Airflow installed where the flow runs.
    """

    CONSTRUCT = "a Python callable or `@task` function that calls an Airflow hook or class (`PostgresHook(...).get_records`, `BaseHook.get_connection`)"
    RESULT = "the function unchanged; ledger `shimmed` for the task, IX115 with the Airflow names and modules; IX110 marker above the import"
    CODES = ("IX115",)
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            from airflow.sdk import BaseHook

            def _host(name):
                return BaseHook.get_connection(name).host

            @task
            def read_host():
                return _host("warehouse")

            with DAG("hooks", schedule=None):
                read_host()
            """, "return BaseHook.get_connection(name).host", "# interop: TODO(IX110)", "from airflow.sdk import BaseHook",
            title="a TaskFlow task reading a connection through a helper of the file: the task is `shimmed` (IX115)"),
    ]
