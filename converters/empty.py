"""Rule: ``EmptyOperator`` / ``DummyOperator`` -> removed, the edges through them kept.

What: ``a >> join >> [b, c]`` with ``join = EmptyOperator(...)`` becomes ``a >> b`` and
``a >> c`` in the flow.

Why: an empty task only exists to shape the graph; Prefect needs no placeholder task.

Safety: an empty task with a ``trigger_rule`` other than ``all_success`` shapes *when* the
downstream runs; it is kept in the report as ``manual`` (IX104) and its edges are still
contracted.
"""

from __future__ import annotations

from converters.model import Dag
from converters.plan import Plan
from converters.rules import AIRFLOW_HEADER, Rule, converts, marks, refuses, unchanged  # noqa: F401

ORDER = 20


def contract(edges: list[tuple[str, str]], removed: set[str]) -> list[tuple[str, str]]:
    """Edges with the ``removed`` nodes contracted: u -> x -> v becomes u -> v."""
    current = list(dict.fromkeys(edges))
    for node in removed:
        ups = [u for u, d in current if d == node]
        downs = [d for u, d in current if u == node]
        current = [(u, d) for u, d in current if node not in (u, d)]
        current.extend((u, d) for u in ups for d in downs if u != d)
        current = list(dict.fromkeys(current))
    return current


def apply(plan: Plan, dag: Dag) -> None:
    removed = {t.task_id for t in dag.tasks.values() if t.kind in ("empty", "unsupported")}
    for task in dag.tasks.values():
        if task.kind == "empty":
            task.disposition = "removed" if task.disposition != "manual" else "manual"
            task.returns = None
        elif task.kind == "unsupported" and task.options.get("_mapped_unsupported"):
            task.returns = None
        elif task.kind == "unsupported":
            plan.manual(task, "IX102", f"{task.operator} cannot run outside Airflow; its edges are kept, the task is not")
            task.returns = None
    dag.options_flow_edges = contract(dag.edge_set(), removed)  # type: ignore[attr-defined]


class EmptyRemoved(Rule):
    """``EmptyOperator``/``DummyOperator`` tasks are removed; the edges through them are kept."""

    CONSTRUCT = "`EmptyOperator`, `DummyOperator`"
    RESULT = "no task; `a >> join >> b` becomes `b` waiting for `a`"
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            with DAG("join", schedule=None):
                a = BashOperator(task_id="a", bash_command="echo a")
                join = EmptyOperator(task_id="join")
                b = BashOperator(task_id="b", bash_command="echo b")
                a >> join >> b
            """, "b.submit(wait_for=[a_future])"),
    ]
