"""Graph comparison (networkx): the DAG's task graph against the flow run's executed graph.

The DAG graph is Airflow's edges with the tasks the converter removed (Empty/Dummy operators)
contracted: ``a -> empty -> b`` becomes ``a -> b``. The executed graph is read back from
Prefect's task runs (:func:`executed_graph`): an edge ``u -> v`` when ``v``'s ``task_inputs``
(data inputs and ``wait_for``) name a run of ``u``; helper task runs that stand for no DAG task
are contracted the same way.

Edges are compared up to transitivity (:func:`compare_graphs`).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

import networkx as nx

from interop.compare.model import GraphDiff

__all__ = ["contract", "dag_graph", "compare_graphs", "executed_graph", "layered_layout"]


def contract(graph: nx.DiGraph, removed: Iterable[str]) -> nx.DiGraph:
    """``graph`` without ``removed`` nodes, each removed node's predecessors joined to its successors."""
    g = graph.copy()
    for node in list(removed):
        if node not in g:
            continue
        preds, succs = list(g.predecessors(node)), list(g.successors(node))
        g.remove_node(node)
        g.add_edges_from((p, s) for p in preds for s in succs if p != s)
    return g


def dag_graph(tasks: Iterable[str], edges: Iterable[Sequence[str]], removed: Iterable[str] = ()) -> nx.DiGraph:
    """The DAG's graph over ``tasks`` with ``removed`` tasks contracted."""
    g = nx.DiGraph()
    g.add_nodes_from(tasks)
    g.add_edges_from((u, v) for u, v in edges)
    return contract(g, removed)


def compare_graphs(expected: nx.DiGraph, actual: nx.DiGraph) -> GraphDiff:
    """Node by node and edge by edge, up to transitivity.

    * missing / extra nodes: task ids on one side only;
    * missing edges: an edge of the DAG (transitive reduction, tasks missing in the flow
      contracted) whose ordering the flow run does not have (no path in the executed graph);
    * parallelism lost: a flow edge between tasks with no path between them in the DAG;
    * extra edges: any other flow edge the DAG's ordering does not imply (against the DAG's
      order, or touching a task the DAG does not have).
    """
    missing_nodes = sorted(set(expected) - set(actual))
    extra_nodes = sorted(set(actual) - set(expected))
    exp = contract(expected, missing_nodes)
    common = set(exp) & set(actual)
    act_closure = nx.transitive_closure_dag(actual.subgraph(common)) if nx.is_directed_acyclic_graph(actual) else actual
    exp_closure = nx.transitive_closure_dag(exp)
    reduction = nx.transitive_reduction(exp) if exp.number_of_nodes() else nx.DiGraph()
    missing_edges = sorted(
        (u, v) for u, v in reduction.edges if not (act_closure.has_edge(u, v) or nx.has_path(actual, u, v))
    )
    parallel, extra = [], []
    for u, v in sorted(actual.edges):
        if u in extra_nodes or v in extra_nodes:
            extra.append((u, v))
        elif exp_closure.has_edge(u, v):
            continue  # a direct or transitive ordering of the DAG
        elif exp_closure.has_edge(v, u):
            extra.append((u, v))
        else:
            parallel.append((u, v))
    return GraphDiff(
        missing_nodes=missing_nodes,
        extra_nodes=extra_nodes,
        missing_edges=missing_edges,
        extra_edges=extra,
        parallelism_lost=parallel,
        expected_edges=sorted(expected.edges),
        actual_edges=sorted(actual.edges),
    )


_RUN_SUFFIX = re.compile(r"-[0-9a-f]{3,}$")


def task_id_of(run_name: str, task_ids: set[str]) -> str | None:
    """The DAG task a Prefect task run stands for: its name, or its name without Prefect's
    ``-<suffix>``; ``None`` when the DAG has no such task."""
    if run_name in task_ids:
        return run_name
    base, sep, _ = run_name.rpartition("-")
    if sep and base in task_ids:
        return base
    return None


def run_label(run_name: str) -> str:
    """A task run's task name (Prefect's default ``-<hex>`` run suffix removed)."""
    return _RUN_SUFFIX.sub("", run_name) or run_name


def executed_graph(runs: list[Any], task_ids: set[str], child_runs: dict[Any, list[Any]] | None = None,
                   subflow_of: dict[Any, Any] | None = None) -> tuple[nx.DiGraph, dict[str, list[Any]], list[str]]:
    """The executed graph of a flow run from its task runs' ``task_inputs`` (incl. ``wait_for``).

    Args:
        runs: every task run of the flow run (and of its subflow runs).
        task_ids: the DAG's task ids (task runs are matched to them by name).
        child_runs: task run id of a subflow's wrapper run -> the subflow's task runs; the
            wrapper's upstreams precede every task of the subflow and its downstreams follow
            them, and the wrapper itself is contracted away.
        subflow_of: subflow run id -> its wrapper's task run id (an input that is a subflow's
            result, ``input_type == "flow_run"``, comes after every task of that subflow).

    Returns:
        ``(graph over task names, {task name: [task runs]}, names of tasks the DAG does not
        have)``. Runs of a task the DAG does not have are nodes too (under their task name).
    """
    by_id = {r.id: r for r in runs}
    children = child_runs or {}
    full = nx.DiGraph()
    named: dict[str, list[Any]] = {}
    extra: set[str] = set()
    label: dict[str, str] = {}
    for run in runs:
        node = str(run.id)
        full.add_node(node)
        if run.id in children:
            continue  # a subflow call: contracted
        tid = task_id_of(run.name, task_ids)
        if tid is None:
            tid = run_label(run.name)
            extra.add(tid)
        named.setdefault(tid, []).append(run)
        label[node] = tid
    for run in runs:
        for inputs in (run.task_inputs or {}).values():
            for item in inputs:
                kind = getattr(item, "input_type", None)
                if kind == "task_run" and item.id in by_id:
                    out = f"{item.id}:out" if item.id in children else str(item.id)
                    full.add_edge(out, str(run.id))
                elif kind == "flow_run" and subflow_of and item.id in subflow_of:
                    full.add_edge(f"{subflow_of[item.id]}:out", str(run.id))
    for wrapper, inner in children.items():
        out = f"{wrapper}:out"
        full.add_node(out)
        for run in inner:
            full.add_edge(str(wrapper), str(run.id))
            full.add_edge(str(run.id), out)
    removed = [n for n in full if n not in label]
    g = contract(full, removed)
    graph = nx.DiGraph()
    graph.add_nodes_from(named)
    graph.add_edges_from((label[u], label[v]) for u, v in g.edges if label[u] != label[v])
    return graph, named, sorted(extra - task_ids)


def layered_layout(graph: nx.DiGraph) -> dict[str, tuple[int, int]]:
    """``{node: (layer, position in layer)}``: layers by longest path from a source, positions
    ordered by the mean position of predecessors (barycenter), ties by name."""
    if not nx.is_directed_acyclic_graph(graph):
        order = sorted(graph)
        return {n: (0, i) for i, n in enumerate(order)}
    layer: dict[str, int] = {}
    for node in nx.topological_sort(graph):
        preds = list(graph.predecessors(node))
        layer[node] = 1 + max(layer[p] for p in preds) if preds else 0
    layers: dict[int, list[str]] = {}
    for node, lay in layer.items():
        layers.setdefault(lay, []).append(node)
    pos: dict[str, tuple[int, int]] = {}
    for lay in sorted(layers):
        def key(n: str) -> tuple[float, str]:
            preds = [pos[p][1] for p in graph.predecessors(n) if p in pos]
            return (sum(preds) / len(preds) if preds else -1.0, n)

        for i, node in enumerate(sorted(layers[lay], key=key)):
            pos[node] = (lay, i)
    return pos
