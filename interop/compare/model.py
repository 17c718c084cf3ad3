"""The comparison model: what each side did and where they differ (pydantic, JSON-ready).

One :class:`DagComparison` per DAG. ``equivalent`` is true only when the DAG ran, the flow ran,
and the graph, the values and the states agree; a DAG that could not be compared carries an
``error`` (its reason) and ``equivalent`` false.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, Field

__all__ = [
    "TaskSide",
    "SideRun",
    "GraphDiff",
    "ValueDiff",
    "StateDiff",
    "TaskTiming",
    "DagComparison",
    "Summary",
]

State = Literal["success", "failed", "skipped", "upstream_failed", "none"]


class TaskSide(BaseModel):
    """One task on one side: its state, values and times (seconds from the run's start)."""

    state: str = "none"
    #: Airflow: ``{key: value}`` XComs (mapped: ``"key[i]"``); flow: ``{"return_value": result}``
    #: or the task's ``{key: value}`` dict when the converted task returns every XCom.
    values: dict[str, Any] = Field(default_factory=dict)
    start: Optional[float] = None
    end: Optional[float] = None
    operator: Optional[str] = None
    error: Optional[str] = None


class SideRun(BaseModel):
    """One side's run: ``airflow`` (the DAG) or ``prefect`` (the flow)."""

    kind: Literal["airflow", "prefect"]
    how: str = ""
    state: str = "none"
    run_id: Optional[str] = None
    #: why the run failed, when it did (the flow run's state message)
    message: Optional[str] = None
    duration: Optional[float] = None
    tasks: dict[str, TaskSide] = Field(default_factory=dict)
    #: edges as this side ran them (Airflow: the DAG's edges, Empty tasks included)
    edges: list[tuple[str, str]] = Field(default_factory=list)
    #: tasks this side does not run (Airflow: Empty/Dummy operators the converter removed)
    removed: list[str] = Field(default_factory=list)
    #: Airflow: tasks whose return value Airflow keeps no XCom of (``do_xcom_push=False``)
    no_xcom_push: list[str] = Field(default_factory=list)
    #: when the run took place (epoch seconds, start and end): a value that is the time of the
    #: run on both sides is the same value
    wall_clock: Optional[tuple[float, float]] = None
    #: tasks of the flow run that the DAG does not have (they are in ``tasks`` and the graph too)
    extra_tasks: list[str] = Field(default_factory=list)


class GraphDiff(BaseModel):
    """Differences between the DAG's task graph and the flow run's executed graph.

    Edges are compared up to transitivity: a flow task that takes data from a transitive
    upstream (an edge the DAG implies) is no difference. ``parallelism_lost`` are edges the
    flow added between tasks with no path between them in the DAG (so the DAG let them run
    side by side); ``extra_edges`` are other orderings the DAG does not have (reversed ones).
    """

    missing_nodes: list[str] = Field(default_factory=list)
    extra_nodes: list[str] = Field(default_factory=list)
    missing_edges: list[tuple[str, str]] = Field(default_factory=list)
    extra_edges: list[tuple[str, str]] = Field(default_factory=list)
    parallelism_lost: list[tuple[str, str]] = Field(default_factory=list)
    #: the DAG's edges with removed tasks contracted (what the flow must honour)
    expected_edges: list[tuple[str, str]] = Field(default_factory=list)
    #: the flow run's edges (subflow calls contracted)
    actual_edges: list[tuple[str, str]] = Field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not (self.missing_nodes or self.extra_nodes or self.missing_edges or self.extra_edges or self.parallelism_lost)


class ValueDiff(BaseModel):
    """One XCom (task, key, map index) that differs, or is on one side only."""

    task_id: str
    key: str
    map_index: Optional[int] = None
    airflow: Any = None
    prefect: Any = None
    reason: str


class StateDiff(BaseModel):
    task_id: str
    airflow: str
    prefect: str
    #: the error of the side that failed (last line), when one did
    detail: Optional[str] = None


class TaskTiming(BaseModel):
    task_id: str
    airflow_start: Optional[float] = None
    airflow_seconds: Optional[float] = None
    prefect_start: Optional[float] = None
    prefect_seconds: Optional[float] = None


class DagComparison(BaseModel):
    """The verdict for one DAG, with every detail the reports show."""

    dag_id: str
    file: str
    equivalent: bool = False
    error: Optional[str] = None
    flow_file: Optional[str] = None
    logical_date: Optional[str] = None
    params: dict[str, Any] = Field(default_factory=dict)
    conversion_status: Optional[str] = None
    findings: list[str] = Field(default_factory=list)
    airflow: Optional[SideRun] = None
    prefect: Optional[SideRun] = None
    graph: Optional[GraphDiff] = None
    values: list[ValueDiff] = Field(default_factory=list)
    values_compared: int = 0
    states: list[StateDiff] = Field(default_factory=list)
    #: the DAG run's and the flow run's final states, when they differ
    run_state: Optional[StateDiff] = None
    timings: list[TaskTiming] = Field(default_factory=list)
    #: Airflow-internal XCom keys left out of the value comparison, by task
    ignored_xcoms: dict[str, list[str]] = Field(default_factory=dict)
    seconds: Optional[float] = None
    #: where the time went: seconds per phase (import_flow, airflow, prefect, compare)
    phases: dict[str, float] = Field(default_factory=dict)

    def differences(self) -> list[str]:
        """One line per difference, for terminals and summaries."""
        lines: list[str] = []
        if self.error:
            return [f"error: {self.error}"]
        g = self.graph
        if g is not None:
            lines += [f"task missing in the flow: {n}" for n in g.missing_nodes]
            lines += [f"task not in the DAG: {n}" for n in g.extra_nodes]
            lines += [f"edge missing in the flow: {u} -> {v}" for u, v in g.missing_edges]
            lines += [f"parallelism lost: {u} -> {v} (the DAG runs them side by side)" for u, v in g.parallelism_lost]
            lines += [f"edge not in the DAG: {u} -> {v}" for u, v in g.extra_edges]
        if self.run_state is not None:
            r = self.run_state
            lines.append(f"run state: airflow {r.airflow}, prefect {r.prefect}" + (f" ({r.detail})" if r.detail else ""))
        for s in self.states:
            lines.append(f"state of {s.task_id}: airflow {s.airflow}, prefect {s.prefect}" + (f" ({s.detail})" if s.detail else ""))
        for v in self.values:
            where = f"{v.task_id}.{v.key}" + (f"[{v.map_index}]" if v.map_index is not None else "")
            lines.append(f"value {where}: {v.reason}")
        return lines


class Summary(BaseModel):
    """``summary.json``: ``{"dags": [{"dag_id", "file", "equivalent", ...}]}``."""

    dags: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def of(cls, comparisons: list[DagComparison], pages: dict[int, str] | None = None) -> "Summary":
        rows = []
        for i, c in enumerate(comparisons):
            rows.append(
                {
                    "dag_id": c.dag_id,
                    "file": c.file,
                    "equivalent": c.equivalent,
                    "verdict": "error" if c.error else ("equivalent" if c.equivalent else "different"),
                    "error": c.error,
                    "differences": c.differences() if not c.error else [],
                    "report": (pages or {}).get(i),
                    "seconds": c.seconds,
                }
            )
        return cls(dags=rows)
