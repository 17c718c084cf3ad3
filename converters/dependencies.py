"""Rule: ``>>``, ``<<``, lists, ``chain``, ``cross_downstream``, ``set_up/downstream`` -> call order.

What: each task is submitted after its upstream tasks; an upstream whose result the task
receives is a data edge (the future is an argument), any other upstream goes in
``wait_for=[...]``. Tasks are submitted in topological order (ties kept in the DAG's own order),
so ``a >> [b, c] >> d`` submits ``b`` and ``c`` side by side and ``d`` waits for both.

Why: Prefect records futures passed as arguments and ``wait_for`` as the task run's inputs:
the executed graph is the DAG's graph, and independent branches stay concurrent.

Safety: edges through removed tasks (Empty) are contracted first. A pull from a task downstream of
the pulling one reads what Airflow answers there (no XCom of the run yet: Airflow 3 None, Airflow 2
the pull's default; IX215), so it makes no data edge; any other cycle is reported IX108 and the
order of the DAG file is kept.
"""

from __future__ import annotations

import networkx as nx

from converters.model import Dag
from converters.plan import Plan
from converters.rules import AIRFLOW_HEADER, Rule, converts, marks, refuses, unchanged  # noqa: F401

ORDER = 60


def apply(plan: Plan, dag: Dag) -> list[str]:
    """Set each task's ``wait_for``; return the task ids in submission order."""
    live = [t for t in dag.tasks.values() if t.disposition != "removed" and t.kind not in ("empty", "unsupported")]
    order_index = {t.task_id: i for i, t in enumerate(dag.tasks.values())}
    edges = [(u, d) for u, d in getattr(dag, "options_flow_edges", dag.edge_set())]
    graph = nx.DiGraph()
    graph.add_nodes_from(t.task_id for t in live)
    live_ids = {t.task_id for t in live}
    for u, d in edges:
        if u in live_ids and d in live_ids:
            graph.add_edge(u, d)
    order_graph = graph.copy()
    for t in live:
        for up in list(t.data_inputs.values()) + t.blocking_inputs:
            if up in live_ids and up != t.task_id:
                order_graph.add_edge(up, t.task_id)
    try:
        # tasks whose submission waits for a result (branch, run-time skip) go as late as the graph allows
        waits = {t.task_id for t in live if "_skip_expr" in t.options or t.blocking_inputs}
        order = list(
            nx.lexicographical_topological_sort(order_graph, key=lambda n: (n in waits, order_index[n]))
        )
    except nx.NetworkXUnfeasible:
        plan.finding("IX108", dag.line, f"DAG {dag.dag_id!r}: the data flow has a cycle (a pull from a downstream task)", manual=True)
        order = [t.task_id for t in live]
    for t in live:
        data = set(t.data_inputs.values())
        ups = [u for u in graph.predecessors(t.task_id) if u not in data]
        ups += [u for u in t.blocking_inputs if u not in ups]
        t.options["_wait_for"] = sorted(set(ups), key=lambda n: order_index[n])
    return order


class SubmissionOrder(Rule):
    """``>>`` and its relatives become submission order: data edges as arguments, other edges as
    ``wait_for``, independent branches submitted side by side."""

    CONSTRUCT = "`a >> b`, `a << b`, lists, `chain`, `cross_downstream`, `set_upstream`/`set_downstream`"
    RESULT = "`.submit(wait_for=[...])` in topological order; parallel branches stay parallel"
    CODES = ("IX108", "IX215")
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            with DAG("fan", schedule=None):
                a = BashOperator(task_id="a", bash_command="echo a")
                b = BashOperator(task_id="b", bash_command="echo b")
                c = BashOperator(task_id="c", bash_command="echo c")
                d = BashOperator(task_id="d", bash_command="echo d")
                a >> [b, c] >> d
            """, "b_future = b.submit(wait_for=[a_future])", "c_future = c.submit(wait_for=[a_future])",
            "d.submit(wait_for=[b_future, c_future])"),
        converts("""
            import pendulum
            from airflow.sdk import DAG
            from airflow.providers.standard.operators.python import PythonOperator

            def merge(ti):
                return ti.xcom_pull(task_ids="refine", default={})

            def refine():
                return 1

            with DAG("pull_later", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
                PythonOperator(task_id="merge", python_callable=merge) >> PythonOperator(task_id="refine", python_callable=refine)
            """, "return None", "merge_future = merge.submit()", "refine.submit(wait_for=[merge_future])",
            title="a pull from a task that runs later: what Airflow answers (Airflow 3: None; 2: the default), no data edge (IX215)"),
    ]
