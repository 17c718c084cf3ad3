"""Rule: Airflow assets (datasets) -> Prefect assets: a task's ``outlets`` become its
materializations, a DAG scheduled on an asset becomes a deployment triggered by them.

What:
- ``outlets=[orders]`` on a task the flow runs: its decorator is ``@materialize(orders, ...)``
  (Prefect's ``MaterializingTask``, the task's options kept). When the task completes, Prefect
  emits ``prefect.asset.materialization.succeeded`` for each asset (``failed`` when it fails), as
  Airflow records an asset event when the task succeeds.
- ``schedule=[orders]`` (one asset): the deployment runs on that event:
  ``serve(..., triggers=[DeploymentEventTrigger(expect={"prefect.asset.materialization.succeeded"},
  match={"prefect.resource.id": "s3://bucket/orders"})])``, and ``interop deploy`` writes the same
  trigger to ``prefect.yaml``.
- ``orders = Asset("s3://bucket/orders")`` / ``Dataset(...)`` at module level, every use of which is
  such an outlet or schedule: ``orders = Asset(key="s3://bucket/orders")`` with
  ``from prefect.assets import Asset``; the Airflow import goes.

The asset's key is its URI (Airflow 3's ``Asset(name=...)`` with no ``uri``: the name, as Airflow
takes it). Prefect keys are URIs with a lowercase scheme (``s3://...``, ``postgres://...``): an
asset whose URI is not one is not converted.

Why: Airflow's data-aware scheduling is Prefect's event-driven deployments; the asset events are
Prefect's own, so a producer and its consumer meet on the same key whichever file each lives in.

Safety: what is not converted keeps today's findings: outlets not carried over (IX401, also
where one function serves several tasks), a schedule on several assets (Airflow waits for all of
them; a Prefect compound trigger waits within a time window: IX403), an asset expression or URI
not known statically, an asset name used elsewhere than in outlets and schedules (its Airflow
import stays: IX110).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from converters import names
from converters.analysis import code_of, literal
from converters.rules import AIRFLOW_HEADER, Rule, converts
from converters.walk import iter_nodes

if TYPE_CHECKING:
    from converters.model import Dag, Task
    from converters.plan import Plan

__all__ = ["Survey", "survey", "apply", "schedule_trigger", "rewrite_definition", "EVENT"]

ORDER = 45

#: Prefect's event for an asset a task materialized
EVENT = "prefect.asset.materialization.succeeded"
#: Prefect's asset key rule (``prefect.types.names``): a URI with a lowercase scheme, no control
#: characters, at most 512 characters
_KEY = re.compile(r"^[a-z0-9]+://[^\n\r\t\0]*$")
_ASSET_CLASS = "airflow.sdk.Asset"
#: Airflow's asset classes the name table does not move there (``from airflow import Dataset``, 2.4+)
_ALSO_ASSETS = frozenset({"airflow.Dataset", "airflow.sdk.definitions.asset.Asset", "airflow.assets.Asset"})
_ASSET_KWARGS = frozenset({"uri", "name", "extra", "group"})


@dataclass
class Survey:
    """The file's assets, read once: module names bound to an asset, by key."""

    #: module-level name -> key, for ``NAME = Asset("uri")`` with a usable key (bound once)
    bound: dict[str, str] = field(default_factory=dict)
    #: module-level name -> the source of its URI argument (a literal or a module constant's name)
    uri_source: dict[str, str] = field(default_factory=dict)
    #: ids of the module statements binding them
    statements: dict[int, str] = field(default_factory=dict)
    #: names whose every use is an outlet or a schedule the rule converts (their definition moves)
    converted: set[str] = field(default_factory=set)


def _uri_node(call: cst.Call) -> cst.BaseExpression:
    positional = [a for a in call.args if a.keyword is None]
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    return positional[0].value if positional else keywords.get("uri", keywords.get("name"))  # type: ignore[return-value]


def _is_asset_class(qualname: str) -> bool:
    """``qualname`` is Airflow's asset (dataset) class, under any of its names."""
    return qualname in _ALSO_ASSETS or (qualname.startswith("airflow.") and names.airflow3_name(qualname) == _ASSET_CLASS)


def _asset_key(plan: Plan, node: cst.BaseExpression) -> str | None:
    """The key of ``Asset("uri")`` / ``Dataset(uri=...)`` written in place, or None."""
    if not isinstance(node, cst.Call) or not _is_asset_class(plan.analyzer.qualname(node.func) or ""):
        return None
    if any(a.star for a in node.args):
        return None
    positional = sum(a.keyword is None for a in node.args)
    if positional > 1 or {a.keyword.value for a in node.args if a.keyword is not None} - _ASSET_KWARGS:
        return None
    value = _uri_node(node)
    if isinstance(value, cst.Name) and isinstance(plan.model.constants.get(value.value), str):
        key = plan.model.constants[value.value]  # a module constant (``Dataset(uri=PATH)``)
    else:
        try:
            key = literal(value) if value is not None else None
        except ValueError:
            return None
    return key if isinstance(key, str) and len(key) <= 512 and _KEY.match(key) else None


def survey(plan: Plan) -> Survey:
    if plan.assets is not None:
        return plan.assets
    result = plan.assets = Survey()
    source = plan.analyzer.source
    if "Asset" not in source and "Dataset" not in source:
        return result
    for stmt in plan.model.module.body:
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign)):
            continue
        assign = stmt.body[0]
        if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
            continue
        key = _asset_key(plan, assign.value)
        name = assign.targets[0].target.value
        if key is not None and name not in result.bound:
            result.bound[name] = key
            result.uri_source[name] = code_of(_uri_node(assign.value)).strip()  # type: ignore[arg-type]
            result.statements[id(stmt)] = name
        elif name in result.bound:
            del result.bound[name]  # bound twice: not a constant
    if not result.bound:
        return result
    # a name moves to Prefect's Asset only if every read of it is in a value the rule converts
    converted_values: list[cst.BaseExpression] = []
    for dag in plan.model.dags:
        for task in dag.tasks.values():
            value = task.kwargs.get("outlets")
            if value is not None and _keys(plan, value) is not None:
                converted_values.append(value)
        node = _schedule_node(dag)
        if node is not None and _single_key(plan, node) is not None:
            converted_values.append(node)
    inside = {id(n) for value in converted_values for n in iter_nodes(value)}
    targets = {id(s.body[0].targets[0].target) for s in plan.model.module.body if id(s) in result.statements}  # type: ignore[attr-defined]
    result.converted = set(result.bound)
    for node in iter_nodes(plan.model.module):
        if type(node) is cst.Name and node.value in result.converted and id(node) not in inside and id(node) not in targets:
            result.converted.discard(node.value)
    result.statements = {k: v for k, v in result.statements.items() if v in result.converted}
    # Prefect's ``Asset`` takes the Airflow class's name in the module: only where the file reads
    # the class nowhere else (an asset the rule leaves keeps Airflow's class, and its import)
    classes = {local for local, qualname in plan.model.imports.items() if _is_asset_class(qualname)}
    moved = {id(n) for stmt in plan.model.module.body if id(stmt) in result.statements for n in iter_nodes(stmt)}
    moved |= inside
    if any(
        type(node) is cst.Name and node.value in classes and id(node) not in moved
        for stmt in plan.model.module.body
        if not _is_import(stmt)
        for node in iter_nodes(stmt)
    ):
        result.converted = set()
        result.statements = {}
    return result


def _is_import(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)


def _elements(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, (cst.List, cst.Tuple)) and all(isinstance(e, cst.Element) for e in node.elements):
        return [e.value for e in node.elements]
    return [node]


def _keys(plan: Plan, node: cst.BaseExpression) -> list[tuple[str, str]] | None:
    """``(key, expression)`` for each asset of an outlets/schedule value, or None when one is not
    known statically (the expression: the module name where its definition moves, else the key)."""
    out = []
    for element in _elements(node):
        if isinstance(element, cst.Name) and element.value in (plan.assets.bound if plan.assets else {}):
            key = plan.assets.bound[element.value]  # type: ignore[union-attr]
            out.append((key, element.value if element.value in plan.assets.converted else repr(key)))  # type: ignore[union-attr]
            continue
        key = _asset_key(plan, element)
        if key is None:
            return None
        out.append((key, repr(key)))
    return out or None


def _schedule_node(dag: Dag) -> cst.BaseExpression | None:
    for key in names.DAG_SCHEDULE_ARGS:
        if key in dag.kwargs:
            return dag.kwargs[key]
    return None


def _single_key(plan: Plan, node: cst.BaseExpression) -> str | None:
    keys = _keys(plan, node)
    return keys[0][0] if keys is not None and len(keys) == 1 else None


def converts_outlets(plan: Plan, task: Task) -> bool:
    """The task's ``outlets`` are assets known statically (the rule makes them materializations)."""
    value = task.kwargs.get("outlets")
    survey(plan)
    return value is not None and _keys(plan, value) is not None


def apply(plan: Plan, dag: Dag) -> None:
    """Each task with converted outlets materializes them: its ``@task`` becomes ``@materialize``."""
    survey(plan)
    uses: dict[str, int] = {}
    for d in plan.model.dags:
        for t in d.tasks.values():
            if t.function_name:
                uses[t.function_name] = uses.get(t.function_name, 0) + 1
    for task in dag.tasks.values():
        if not converts_outlets(plan, task):
            continue
        keys = _keys(plan, task.kwargs["outlets"])
        assert keys is not None
        assets = ", ".join(expr for _, expr in keys)
        name = task.function_name
        if name is None or uses.get(name, 0) != 1 or task.with_options or not (_swap_function(plan, name, assets) or _swap_generated(plan, dag, name, assets)):
            plan.finding("IX401", task.line, f"task {task.task_id!r}: `outlets` not carried over (its function serves several tasks, or is not one the flow decorates)")
            continue
        plan.need("prefect.assets", "materialize")


def _swap_function(plan: Plan, name: str, assets: str) -> bool:
    fdef = plan.function_for(name)
    if fdef is None or id(fdef) not in plan.functions:
        return False
    new = plan.functions[id(fdef)]
    decorators = list(new.decorators)
    for i, dec in enumerate(decorators):
        expr = dec.decorator
        if isinstance(expr, cst.Name) and expr.value == "task":
            decorators[i] = dec.with_changes(decorator=cst.parse_expression(f"materialize({assets})"))
        elif isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "task":
            rest = code_of(expr).strip()[len("task("):-1]
            decorators[i] = dec.with_changes(decorator=cst.parse_expression(f"materialize({assets}{', ' + rest if rest.strip() else ''})"))
        else:
            continue
        plan.functions[id(fdef)] = new.with_changes(decorators=decorators)
        return True
    return False


def _swap_generated(plan: Plan, dag: Dag, name: str, assets: str) -> bool:
    """The generated task ``name`` (``@task(...)`` text) written with ``@materialize(assets, ...)``."""
    sources = plan.generated.get(dag.dag_id, [])
    for i, text in enumerate(sources):
        head, sep, _ = text.partition(f"\ndef {name}(")
        last = head.rpartition("\n")[2]  # the decorator line right above the def
        if not sep or not last.startswith("@task"):
            continue
        swapped = f"@materialize({assets})" if last == "@task" else f"@materialize({assets}, {last[len('@task('):]}"
        sources[i] = text.replace(last + sep, swapped + sep, 1)
        return True
    return False


def schedule_trigger(plan: Plan, dag: Dag, node: cst.BaseExpression) -> str | None:
    """The key of a schedule on one asset known statically (the deployment's trigger), or None."""
    survey(plan)
    return _single_key(plan, node)


def trigger_source(key: str) -> str:
    """``serve(triggers=...)``: a deployment trigger on the asset's materialization."""
    return f"[DeploymentEventTrigger(expect={{{EVENT!r}}}, match={{'prefect.resource.id': {key!r}}})]"


def trigger_facts(key: str) -> dict:
    """The same trigger as ``prefect.yaml`` writes it (``interop deploy``)."""
    return {"type": "event", "enabled": True, "expect": [EVENT], "match": {"prefect.resource.id": key}}


def rewrite_definition(plan: Plan, stmt: cst.BaseStatement) -> cst.BaseStatement:
    """``NAME = Asset("uri")`` kept at module level, written with Prefect's ``Asset`` where every
    use of ``NAME`` is converted; else ``stmt`` itself."""
    found = plan.assets
    if found is None or id(stmt) not in found.statements:
        return stmt
    name = found.statements[id(stmt)]
    assign = stmt.body[0]  # type: ignore[attr-defined]
    plan.need("prefect.assets", "Asset")
    return stmt.with_changes(body=[assign.with_changes(value=cst.parse_expression(f"Asset(key={found.uri_source[name]})"))])


class PrefectAssets(Rule):
    """A task's asset ``outlets`` become Prefect materializations (``@materialize``); a DAG
    scheduled on one asset becomes a deployment triggered by its materialization event; module
    asset definitions become Prefect ``Asset``s. Implemented in ``assets.py``."""

    CONSTRUCT = "`outlets=[Asset(...)]`, `schedule=[Asset(...)]`, `Dataset(...)`"
    RESULT = "`@materialize(asset)`, `serve(triggers=[DeploymentEventTrigger(...)])`, `Asset(key=...)`"
    CODES = ("IX401", "IX403")
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            from airflow.sdk import Asset
            from airflow.providers.standard.operators.python import PythonOperator
            orders = Asset("s3://shop/orders.parquet")
            def export():
                return "written"
            with DAG("assets_producer", schedule=None):
                PythonOperator(task_id="export", python_callable=export, outlets=[orders])
            with DAG("assets_consumer", schedule=[orders]):
                BashOperator(task_id="report", bash_command="echo report")
            """,
            "from prefect.assets import Asset, materialize",
            'orders = Asset(key="s3://shop/orders.parquet")',
            "@materialize(orders)",
            "triggers=[DeploymentEventTrigger(expect={'prefect.asset.materialization.succeeded'}, "
            "match={'prefect.resource.id': 's3://shop/orders.parquet'})]",
            title="outlets materialized; a schedule on the asset a trigger on its event"),
        converts(AIRFLOW_HEADER + """
            from airflow.datasets import Dataset
            @task(outlets=[Dataset("postgres://warehouse/daily")], retries=2)
            def load():
                return 1
            with DAG("datasets_taskflow", schedule=None):
                load()
            """,
            "@materialize('postgres://warehouse/daily', retries=2",
            title="a TaskFlow task's outlets, written in place"),
        converts(AIRFLOW_HEADER + """
            from airflow.sdk import Asset
            orders = Asset("s3://shop/orders.parquet")
            refunds = Asset("s3://shop/refunds.parquet")
            @task(outlets=[orders])
            def export():
                return 1
            with DAG("assets_kept", schedule=None):
                export()
            with DAG("assets_all", schedule=[orders, refunds]):
                BashOperator(task_id="report", bash_command="echo report")
            """,
            "from airflow.sdk import Asset",
            'orders = Asset("s3://shop/orders.parquet")',
            "@materialize('s3://shop/orders.parquet')",
            title="an asset a schedule on several assets still reads: Airflow's class stays, the task materializes its key"),
    ]
