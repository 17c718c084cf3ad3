"""Rule: branching, short-circuits and trigger rules -> ``if``/``else`` in the flow.

What: after a ``BranchPythonOperator`` / ``@task.branch`` task, the flow reads its result
(``pick_follow = branch_targets(pick_future.result())``) and each task below it gets a flag:

    small_skipped = 'small' not in pick_follow
    small_future = skip_task('small') if small_skipped else small.submit(wait_for=[pick_future])

Skips propagate as Airflow propagates them, by each task's trigger rule: ``all_success``
(skipped when any upstream is skipped), ``none_failed_min_one_success`` / ``one_success``
(skipped only when every upstream is skipped), ``none_failed`` / ``all_done`` / ``always``
(never skipped by an upstream skip). A ``ShortCircuitOperator`` / ``@task.short_circuit``
whose result is falsy skips everything below it. A skipped task is still recorded in Prefect:
``skip_task(name)`` runs a task of that name that ends ``Completed`` named ``Skipped``.
``all_done`` / ``always`` also wait on failed upstream tasks (``allow_failure``).

Why: Prefect has no skip state machine; the flow's own control flow is the idiomatic form.

A branch operator that is not a Python callable (``BranchDateTimeOperator``,
``BranchDayOfWeekOperator``, ``LatestOnlyOperator`` ...) runs through the operator shim with the
task ids below it; its choice is its ``skipmixin_key`` XCom, which ``branch_targets`` reads.

Safety: the flow waits for the branch task's result at that point; independent tasks submitted
earlier keep running. Trigger rules about failures (``one_failed``, ``all_failed``,
``one_done``, ``all_skipped``, ``none_skipped``) keep a marker (IX104).
"""

from __future__ import annotations

import re

import networkx as nx

from converters.callables import ident
from converters.model import Dag, Task
from converters.plain_context import module_binds
from converters.plan import Plan

ORDER = 65

ANY_SKIPPED = {"all_success", None}
ALL_SKIPPED = {"none_failed_min_one_success", "one_success", "none_failed_or_skipped"}
NEVER_SKIPPED = {"none_failed", "all_done", "always", "all_done_setup_success", "all_done_min_one_success"}
NEEDS_ALLOW_FAILURE = {"all_done", "always", "all_done_setup_success", "all_done_min_one_success"}
_SHORT_CIRCUIT = ("ShortCircuitOperator", "@task.short_circuit", "@short_circuit")


def is_short_circuit(task: Task) -> bool:
    return task.operator.endswith(_SHORT_CIRCUIT) or task.qualname.endswith("ShortCircuitOperator") or task.operator.endswith("short_circuit")


def apply(plan: Plan, dag: Dag) -> None:
    """Set ``_skip_expr`` (flag source) and ``_branch_read`` on tasks; mark what stays manual."""
    graph = nx.DiGraph()
    graph.add_nodes_from(dag.tasks)
    graph.add_edges_from(dag.edge_set())
    index = {t: i for i, t in enumerate(dag.tasks)}
    try:
        order = list(nx.lexicographical_topological_sort(graph, key=lambda n: index[n]))
    except nx.NetworkXUnfeasible:
        return
    flags: dict[str, str | None] = {}
    # every branch task: a Python callable's result, or a branch operator run through the
    # operator shim (BranchDateTimeOperator, LatestOnlyOperator ...) whose XComs hold its choice
    # ordered as the DAG lists them (a set's order follows the hash seed: the output would too)
    branch_tasks = dict.fromkeys(t.task_id for t in dag.tasks.values() if t.kind == "branch")
    for task in dag.tasks.values():
        if task.kind == "shim" and re.fullmatch(r"Branch\w*Operator", task.operator):
            # named like a branch operator, but not in the name table: its choice is not followed
            plan.manual(task, "IX103", f"{task.operator} looks like a branch operator the converter does not know: it runs "
                                       "through the operator shim without the task ids below it (Airflow's branch check "
                                       "fails) and the flow does not follow its choice; write the if/else by hand")
    sc_descendants: dict[str, set[str]] = {}
    for tid in branch_tasks:
        task = dag.tasks[tid]
        task.options["_branch_var"] = plan.unique(f"{ident(tid)}_{'go' if is_short_circuit(task) else 'follow'}")
        if is_short_circuit(task):
            sc_descendants[tid] = nx.descendants(graph, tid)
        # the branch task itself is converted; its marker (set by the operator rules) is lifted
        task.options["_markers"] = [m for m in task.options.get("_markers", []) if "IX103" not in m]
        _unmark(plan, task, "IX103")
        if task.callable_expr is None and task.taskflow_func is None and task.disposition == "converted":
            task.disposition = "shimmed"
    for tid in order:
        task = dag.tasks[tid]
        rule = task.options.get("_trigger_rule")
        if rule not in ANY_SKIPPED | ALL_SKIPPED | NEVER_SKIPPED:
            plan.manual(task, "IX104", f"trigger_rule={rule}: run it with allow_failure()/return_state=True and state checks by hand")
            flags[tid] = None
            continue
        if rule in NEEDS_ALLOW_FAILURE:
            task.options["_allow_failure"] = True
        terms: list[str] = []
        direct: list[str] = []  # a branch skips the children it did not choose, whatever their rule
        for parent in graph.predecessors(tid):
            parent_task = dag.tasks[parent]
            terms.append(flags.get(parent) or "False")
            if parent in branch_tasks and not is_short_circuit(parent_task):
                direct.append(f"{tid!r} not in {parent_task.options['_branch_var']}")
            elif parent in branch_tasks and not _ignores_rules(parent_task, plan):
                direct.append(f"not {parent_task.options['_branch_var']}")
        expr: str | None
        if rule in NEVER_SKIPPED or not terms:
            expr = None
        elif rule in ALL_SKIPPED:
            expr = None if "False" in terms else " and ".join(terms)
        else:
            live = [t for t in terms if t != "False"]
            expr = " or ".join(live) if live else None
        parts = direct + ([f"({expr})" if " and " in expr and direct else expr] if expr else [])
        # a falsy short-circuit (ignoring downstream trigger rules, the default) skips everything below it
        for sc, below in sc_descendants.items():
            if tid in below and _ignores_rules(dag.tasks[sc], plan):
                parts.insert(0, f"not {dag.tasks[sc].options['_branch_var']}")
        expr = " or ".join(dict.fromkeys(parts)) if parts else None
        if task.options.get("_may_skip") and task.disposition != "removed":
            # skipped at run time (exit code 99, AirflowSkipException, soft_fail): read its state
            runtime = plan.unique(f"{ident(tid)}_was_skipped")
            task.options["_runtime_flag"] = runtime
            plan.need("airflow_interop.runtime", "was_skipped")
            if expr is not None:
                flag = plan.unique(f"{ident(tid)}_skipped")
                task.options["_skip_expr"] = expr
                task.options["_skip_flag"] = flag
                plan.need("airflow_interop.runtime", "skip_task")
            flags[tid] = runtime
            continue
        if expr is not None:
            flag = plan.unique(f"{ident(tid)}_skipped")
            task.options["_skip_expr"] = expr
            task.options["_skip_flag"] = flag
            flags[tid] = flag
            plan.need("airflow_interop.runtime", "skip_task")
        else:
            flags[tid] = None
    if branch_tasks:
        plan.need("airflow_interop.runtime", "branch_targets")
    _plain_skips(plan, dag, branch_tasks)


def _free(plan: Plan, name: str, qualname: str) -> bool:
    bound = plan.model.imports.get(name)
    return bound == qualname if bound is not None else not module_binds(plan, name)


def _plain_skips(plan: Plan, dag: Dag, branch_tasks: dict[str, None]) -> None:
    """The skip plumbing in Prefect's own terms where the file allows it (the names free):

    - a Python branch's choice read from its result (``{choice}`` for a task id, else the list);
    - a task skipped at run time read from its future's state (``Completed`` named ``Skipped``);
    - a task Airflow would skip recorded by a small task of the file that ends ``Completed`` named
      ``Skipped`` (``cache_policy=NO_CACHE``: each is its own run), waiting on its upstream tasks
      whatever their end (``allow_failure``), as the DAG's graph has them.

    A branch operator run through the shim keeps ``branch_targets`` (its choice is an XCom)."""
    flagged = [t for t in dag.tasks.values() if t.options.get("_skip_flag")]
    runtime = [t for t in dag.tasks.values() if t.options.get("_runtime_flag")]
    python_branches = [
        dag.tasks[tid] for tid in branch_tasks
        if not is_short_circuit(dag.tasks[tid]) and (dag.tasks[tid].callable_expr is not None or dag.tasks[tid].taskflow_func is not None)
        and dag.tasks[tid].returns != "xcoms"
    ]
    if not (flagged or runtime or python_branches):
        return
    names = {"Completed": "prefect.states.Completed", "NO_CACHE": "prefect.cache_policies.NO_CACHE",
             "allow_failure": "prefect.allow_failure"}  # ``task``: Prefect's replaces Airflow's everywhere
    if not all(_free(plan, n, q) for n, q in names.items()):
        return
    for branch in python_branches:
        branch.options["_follow_source"] = lambda var, fut: [
            f"{var} = {fut}.result()",
            f"{var} = {{{var}}} if isinstance({var}, str) else set({var} or ())",
        ]
    for task in runtime:
        task.options["_was_skipped_source"] = lambda flag, fut: [f"{fut}.wait()", f"{flag} = {fut}.state.name == 'Skipped'"]
    if flagged:
        helper = plan.skipped_task_name
        if helper is None:
            helper = plan.skipped_task_name = plan.unique("skipped_task")
            plan.generated.setdefault(dag.dag_id, []).insert(0, (
                "@task(cache_policy=NO_CACHE)\n"
                f"def {helper}():\n"
                '    """A task Airflow skips (not chosen by a branch above it, or below a skipped task): a run named Skipped."""\n'
                "    return Completed(name='Skipped', message='skipped: not chosen by a branch upstream')\n"
            ))
            plan.need("prefect.states", "Completed")
            plan.need("prefect.cache_policies", "NO_CACHE")
            plan.need("prefect", "task")
        plan.need("prefect", "allow_failure")
        for task in flagged:
            task.options["_skip_source"] = (
                lambda tid, ups, helper=helper: f"{helper}.with_options(name={tid!r}).submit("
                + (f"wait_for=[{', '.join(f'allow_failure({u})' for u in ups)}]" if ups else "")
                + ")"
            )


def _ignores_rules(task: Task, plan: Plan) -> bool:
    """ShortCircuitOperator(ignore_downstream_trigger_rules=...), True unless literally False."""
    from converters.model import Const
    from converters.plan import const_value

    node = task.kwargs.get("ignore_downstream_trigger_rules")
    value = const_value(node, task, plan.analyzer) if node is not None else None
    return not (isinstance(value, Const) and value.value is False)


def _unmark(plan: Plan, task: Task, code: str) -> None:
    plan.model.findings[:] = [
        f for f in plan.model.findings if not (f.code == code and f.line == task.line and repr(task.task_id) in f.message)
    ]
    if not any("TODO(" in m for m in task.options.get("_markers", [])):
        task.disposition = "converted" if task.disposition == "manual" else task.disposition
