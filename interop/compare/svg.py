"""Geometry for the graph and timing pictures (laid out here, drawn by the Jinja templates).

Graphs use a layered layout (:func:`interop.compare.graph.layered_layout`): columns by longest
path from a source, left to right; edges are cubic curves between node sides.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from interop.compare.graph import layered_layout
from interop.compare.model import DagComparison

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 160, 32, 48, 16, 12

STATE_FILL = {
    "success": "#d9f2dc",
    "failed": "#f8d3d3",
    "skipped": "#ececec",
    "upstream_failed": "#fbe2c4",
    "none": "#ffffff",
}


def _label(text: str, width: int = NODE_W - 16) -> str:
    limit = max(4, width // 7)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def graph_picture(c: DagComparison, side: str) -> dict[str, Any]:
    """Nodes and edges (with positions and CSS classes) of one side's graph.

    ``side == "airflow"``: the DAG's graph, Empty tasks drawn dashed (removed by the
    converter), tasks missing in the flow and edges the flow lost highlighted.
    ``side == "prefect"``: the executed graph, extra tasks, extra edges and edges that cost
    parallelism highlighted.
    """
    g = nx.DiGraph()
    run = c.airflow if side == "airflow" else c.prefect
    graph = c.graph
    if run is None:
        return {"width": 200, "height": 60, "nodes": [], "edges": [], "empty": True}
    g.add_nodes_from(run.tasks)
    g.add_edges_from(run.edges)
    pos = layered_layout(g)
    flagged_nodes: set[str] = set()
    flagged_edges: dict[tuple[str, str], str] = {}
    value_tasks = {v.task_id for v in c.values} | {s.task_id for s in c.states}
    if graph is not None:  # the two tasks the flow put in order, on both pictures
        value_tasks |= {n for e in graph.parallelism_lost for n in e}
    if graph is not None:
        if side == "airflow":
            flagged_nodes = set(graph.missing_nodes)
            missing = {tuple(e) for e in graph.missing_edges}
            # a missing edge may pass through an Empty task: flag the DAG edges on its path
            for u, v in g.edges:
                if (u, v) in missing:
                    flagged_edges[(u, v)] = "missing"
            for u, v in missing:
                if (u, v) not in g.edges and u in g and v in g:
                    for path in nx.all_simple_paths(g, u, v, cutoff=4):
                        for a, b in zip(path, path[1:]):
                            flagged_edges[(a, b)] = "missing"
        else:
            flagged_nodes = set(graph.extra_nodes)
            for e in graph.extra_edges:
                flagged_edges[tuple(e)] = "extra"
            for e in graph.parallelism_lost:
                flagged_edges[tuple(e)] = "serial"
    removed = set(run.removed)
    nodes = []
    for n, (layer, row) in pos.items():
        task = run.tasks.get(n)
        state = task.state if task else "none"
        classes = ["node", f"state-{state}"]
        if n in removed:
            classes.append("removed")
        if n in flagged_nodes:
            classes.append("flagged")
        if n in value_tasks and n not in removed:
            classes.append("differs")
        nodes.append({
            "id": n, "label": _label(n), "x": PAD + layer * (NODE_W + GAP_X), "y": PAD + row * (NODE_H + GAP_Y),
            "fill": STATE_FILL.get(state, "#ffffff"), "cls": " ".join(classes),
            "title": f"{n}: {state}" + (" (removed by the converter)" if n in removed else ""),
        })
    # tasks missing on this side but in the comparison (drawn on the DAG side only)
    at = {n["id"]: n for n in nodes}
    edges = []
    for u, v in g.edges:
        a, b = at[u], at[v]
        x1, y1 = a["x"] + NODE_W, a["y"] + NODE_H / 2
        x2, y2 = b["x"], b["y"] + NODE_H / 2
        if x2 <= x1:  # same column (a cycle): loop around
            path = f"M{x1},{y1} C{x1 + 40},{y1} {x2 - 40},{y2} {x2},{y2}"
        else:
            mid = (x1 + x2) / 2
            path = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
        kind = flagged_edges.get((u, v), "")
        edges.append({"d": path, "kind": kind, "cls": f"edge {kind}".strip(), "title": f"{u} → {v}" + (f" ({kind})" if kind else "")})
    cols = max((p[0] for p in pos.values()), default=0) + 1
    rows = max((p[1] for p in pos.values()), default=0) + 1
    return {
        "width": PAD * 2 + cols * NODE_W + (cols - 1) * GAP_X,
        "height": PAD * 2 + rows * NODE_H + (rows - 1) * GAP_Y,
        "nodes": nodes, "edges": edges, "empty": not nodes,
        "node_w": NODE_W, "node_h": NODE_H,
    }


def timing_picture(c: DagComparison) -> dict[str, Any]:
    """Bars per task (Airflow above, Prefect below), seconds from each run's first task start."""
    rows = [t for t in c.timings if t.airflow_seconds is not None or t.prefect_seconds is not None]
    total = max(
        [(t.airflow_start or 0) + (t.airflow_seconds or 0) for t in rows]
        + [(t.prefect_start or 0) + (t.prefect_seconds or 0) for t in rows]
        + [0.001]
    )
    label_w, chart_w, row_h = 190, 560, 26
    bars = []
    for i, t in enumerate(rows):
        y = 30 + i * row_h
        item = {"task": _label(t.task_id, label_w), "y": y, "bars": []}
        for kind, start, secs, dy in (("airflow", t.airflow_start, t.airflow_seconds, 3), ("prefect", t.prefect_start, t.prefect_seconds, 13)):
            if start is None or secs is None:
                continue
            item["bars"].append({
                "cls": f"bar {kind}", "x": label_w + start / total * chart_w, "y": y + dy,
                "w": max(1.5, secs / total * chart_w), "title": f"{t.task_id} ({kind}): {secs:.3f} s from {start:.3f} s",
            })
        bars.append(item)
    ticks = []
    for k in range(6):
        s = total * k / 5
        ticks.append({"x": label_w + s / total * chart_w, "label": f"{s:.2f}s"})
    return {"width": label_w + chart_w + 30, "height": 40 + len(rows) * row_h, "rows": bars, "ticks": ticks,
            "label_w": label_w, "empty": not rows}
