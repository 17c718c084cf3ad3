"""The comparison's pure parts: value equality, graph comparison, layout, report rendering.

These run without Airflow or Prefect; the end-to-end tests (test_compare_runs.py) run both.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import networkx as nx
import pytest

from interop.compare.graph import compare_graphs, contract, dag_graph, layered_layout
from interop.compare.model import DagComparison, GraphDiff, SideRun, TaskSide, TaskTiming, ValueDiff
from interop.compare.values import RUN_TIME, at_run_time, compare_task_values, is_internal_xcom, normalise, same


# ----------------------------------------------------------------------------- values
@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        pytest.param(0.1 + 0.2, 0.3, True, id="float-within-tolerance"),
        pytest.param(0.3, 0.3001, False, id="float-outside-tolerance"),
        pytest.param(1, 1.0, True, id="int-vs-float"),
        pytest.param(True, 1, False, id="bool-is-not-int"),
        pytest.param({"a": [1, {"b": 2.0}]}, {"a": [1, {"b": 2}]}, True, id="deep"),
        pytest.param({"a": 1}, {"a": 1, "b": 2}, False, id="extra-key"),
        pytest.param([1, 2], [2, 1], False, id="list-order"),
        pytest.param(float("nan"), float("nan"), True, id="nan"),
    ],
)
def test_same(a, b, equal) -> None:
    assert same(normalise(a), normalise(b)) is equal


def test_non_json_values_compare_by_type_and_repr() -> None:
    assert normalise(Decimal("1.5")) == {"type": "decimal.Decimal", "repr": "Decimal('1.5')"}
    assert same(normalise(Decimal("1.5")), normalise(Decimal("1.5")))
    assert not same(normalise(Decimal("1.5")), normalise(1.5))
    assert normalise((1, dt.date(2024, 1, 15))) == [1, "2024-01-15"]
    # two instances of a class without __repr__ differ only by address: equal
    class Opaque:
        pass

    assert same(normalise(Opaque()), normalise(Opaque()))


def test_a_time_of_day_read_during_the_run_is_the_time_of_the_run() -> None:
    # e.g. ``datetime.now().strftime("%H:%M:%S.%f")[:12]`` in a returned message
    now = dt.datetime.now().timestamp()
    window = (now - 1, now + 1)
    clock = dt.datetime.fromtimestamp(now).strftime("%H:%M:%S.%f")[:12]
    assert at_run_time(f"[{clock}] Welcome", window) == f"[{RUN_TIME}] Welcome"
    # not a reading of this run: another time of day, or the time of a date-time of another day
    outside = dt.datetime.fromtimestamp(now + 4 * 3600).strftime("%H:%M:%S")
    assert at_run_time(f"at {outside}", window) == f"at {outside}"
    other_day = "2001-01-01 " + dt.datetime.fromtimestamp(now).strftime("%H:%M:%S")
    assert at_run_time(other_day, window) == other_day


def test_internal_xcoms_are_listed_and_not_compared() -> None:
    assert is_internal_xcom("skipmixin_key") and is_internal_xcom("_link_ExternalDagLink")
    assert is_internal_xcom("skipmixin_key[3]") and not is_internal_xcom("return_value")
    diffs, n, ignored = compare_task_values(
        "branch", "value", {"return_value": "a", "skipmixin_key": {"followed": ["a"]}}, {"return_value": "a"}, True
    )
    assert (diffs, n, ignored) == ([], 1, ["skipmixin_key"])


def test_branch_decision_is_compared_with_what_airflow_followed() -> None:
    """Airflow 3 branch tasks push no return value; the flow's result is the decision."""
    airflow = {"skipmixin_key": {"followed": ["full_load"]}}
    assert compare_task_values("choose", "value", airflow, {"return_value": "full_load"}, True) == ([], 1, ["skipmixin_key"])
    diffs, _, _ = compare_task_values("choose", "value", airflow, {"return_value": "incremental_load"}, True)
    assert [(d.key, d.airflow, d.prefect) for d in diffs] == [("skipmixin_key", ["full_load"], "incremental_load")]


def test_value_differences_name_task_key_and_map_index() -> None:
    diffs, n, _ = compare_task_values(
        "fan", "value", {"return_value[0]": 1, "return_value[1]": 2}, {"return_value": [1, 3]}, True
    )
    assert n == 2
    assert [(d.task_id, d.key, d.map_index, d.airflow, d.prefect) for d in diffs] == [("fan", "return_value", 1, 2, 3)]


def test_mapped_multiple_outputs_keys_are_the_returned_dicts_entries() -> None:
    # a mapped ``@task`` returning ``dict`` (multiple_outputs): Airflow pushes each key per map index
    airflow = {"return_value[0]": {"file": "a", "rows": 1}, "file[0]": "a", "rows[0]": 1,
               "return_value[1]": {"file": "b", "rows": 2}, "file[1]": "b", "rows[1]": 2}
    flow = {"return_value": [{"file": "a", "rows": 1}, {"file": "b", "rows": 2}]}
    assert compare_task_values("process", "value", airflow, flow, True) == ([], 2, [])
    diffs, _, _ = compare_task_values("process", "value", {**airflow, "rows[1]": 3}, flow, True)
    assert [(d.key, d.map_index, d.reason) for d in diffs] == [("rows", 1, "the flow's result has no such key")]


def test_xcoms_returns_compare_every_pushed_key() -> None:
    airflow = {"return_value": {"n": 1}, "urgent": [3]}
    ok, n, _ = compare_task_values("route", "xcoms", airflow, {"return_value": {"return_value": {"n": 1}, "urgent": [3]}}, True)
    assert ok == [] and n == 2
    bad, _, _ = compare_task_values("route", "xcoms", airflow, {"return_value": {"return_value": {"n": 1}}}, True)
    assert [(d.key, d.reason) for d in bad] == [("urgent", "the flow's result has no such key")]


def test_missing_result_is_a_difference() -> None:
    diffs, _, _ = compare_task_values("t", "value", {"return_value": 5}, {}, False)
    assert [(d.key, d.reason) for d in diffs] == [("return_value", "the flow returned no value")]


# ----------------------------------------------------------------------------- graphs
def g(*edges: str, nodes: str = "") -> nx.DiGraph:
    out = nx.DiGraph()
    out.add_nodes_from(nodes.split())
    out.add_edges_from(tuple(e.split(">")) for e in edges)
    return out


def test_empty_tasks_are_contracted() -> None:
    assert set(contract(g("a>e", "e>b", "e>c"), ["e"]).edges) == {("a", "b"), ("a", "c")}
    assert set(dag_graph("a e1 e2 b".split(), [("a", "e1"), ("e1", "e2"), ("e2", "b")], ["e1", "e2"]).edges) == {("a", "b")}


def test_transitive_upstream_edge_is_not_a_difference() -> None:
    diff = compare_graphs(g("a>b", "b>c"), g("a>b", "b>c", "a>c"))
    assert diff.equal, diff


def test_serialised_diamond_is_parallelism_lost() -> None:
    diff = compare_graphs(g("a>b", "a>c", "b>d", "c>d"), g("a>b", "b>c", "c>d"))
    assert diff.parallelism_lost == [("b", "c")]
    assert diff.missing_edges == [] and diff.extra_edges == []


def test_dropped_edge_and_reversed_edge() -> None:
    diff = compare_graphs(g("a>b", "b>c"), g("a>b", nodes="c"))
    assert diff.missing_edges == [("b", "c")]
    diff = compare_graphs(g("a>b"), g("b>a"))
    assert diff.missing_edges == [("a", "b")] and diff.extra_edges == [("b", "a")]


def test_missing_task_keeps_orderings_through_it() -> None:
    diff = compare_graphs(g("a>b", "b>c"), g("a>c"))
    assert diff.missing_nodes == ["b"] and diff.missing_edges == [] and not diff.parallelism_lost
    diff = compare_graphs(g("a>b", "b>c"), g(nodes="a c"))
    assert diff.missing_nodes == ["b"] and diff.missing_edges == [("a", "c")]


def test_extra_task() -> None:
    diff = compare_graphs(g("a>b"), g("a>x", "x>b"))
    assert diff.extra_nodes == ["x"] and diff.extra_edges == [("a", "x"), ("x", "b")]


def test_layered_layout_columns_follow_longest_path() -> None:
    pos = layered_layout(g("a>b", "b>c", "a>c", "a>d"))
    assert {n: p[0] for n, p in pos.items()} == {"a": 0, "b": 1, "d": 1, "c": 2}
    assert len({p for p in pos.values()}) == 4


# ----------------------------------------------------------------------------- reports
def _comparison() -> DagComparison:
    airflow = SideRun(kind="airflow", state="success", edges=[("a", "e"), ("e", "b")], removed=["e"],
                      tasks={"a": TaskSide(state="success", values={"return_value": 1}, start=0, end=0.1),
                             "e": TaskSide(state="success", operator="EmptyOperator"),
                             "b": TaskSide(state="success", values={"return_value": 2}, start=0.1, end=0.2)})
    prefect = SideRun(kind="prefect", state="success", edges=[],
                      tasks={"a": TaskSide(state="success", values={"return_value": 1}, start=0, end=0.1),
                             "b": TaskSide(state="failed", start=0, end=0.1)})
    return DagComparison(
        dag_id="d<1>", file="dags/d.py", equivalent=False, airflow=airflow, prefect=prefect,
        graph=GraphDiff(missing_edges=[("a", "b")], expected_edges=[("a", "b")]),
        values=[ValueDiff(task_id="b", key="return_value", airflow=2, prefect=None, reason="the flow returned no value")],
        states=[], timings=[TaskTiming(task_id="a", airflow_start=0, airflow_seconds=0.1, prefect_start=0, prefect_seconds=0.1)],
    )


def test_reports_render_every_difference(tmp_path) -> None:
    from interop.compare.report import to_html, to_markdown, write_reports

    c = _comparison()
    assert c.differences() == ["edge missing in the flow: a -> b", "value b.return_value: the flow returned no value"]
    md = to_markdown(c)
    # the DAG id's HTML is escaped (GitHub shows d<1> as text): never raw HTML in the Markdown
    assert "❌ <code>d&lt;1&gt;</code>: different" in md and "- edge missing in the flow: a -&gt; b" in md
    assert "<1>" not in md
    html = to_html(c)
    assert "d&lt;1&gt;" in html and "<script" not in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    # the edges a -> e -> b of the DAG picture carry the missing edge a -> b
    assert html.count('class="edge missing"') == 2
    summary = write_reports([c, c], tmp_path)
    assert [r["report"] for r in summary.dags] == ["d_1.html", "d_1-2.html"]
    data = json.loads((tmp_path / "summary.json").read_text())
    assert set(data) == {"dags"} and data["dags"][0]["equivalent"] is False
    assert {"dag_id", "file", "equivalent"} <= set(data["dags"][0])
