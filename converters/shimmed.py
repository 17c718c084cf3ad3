"""Rule: any other operator (providers, in-house, sensors) -> the real operator through a shim.

What: ``S3ToRedshiftOperator(task_id="load", schema="x", ...)`` becomes

    @task(name="load")
    def load(ctx, upstream_xcoms):
        return run_operator(S3ToRedshiftOperator(task_id="load", schema="x", ...), ctx=ctx, upstream=upstream_xcoms)

Why: the operator keeps doing exactly what it did; ``airflow_interop.operator.run_operator`` renders its
templated fields with Airflow's own rendering and calls ``execute(context)`` in-process. The
task returns a dict of every XCom the operator pushed.

Safety: the operator class is imported from its current path (the moved-names table); the
report says ``shimmed``. Arguments that are names bound in the DAG body are inlined when
their value is known statically.
"""

from __future__ import annotations

import libcst as cst

from converters.analysis import code_of
from converters.callables import ident
from converters.model import Dag
from converters.names import CALL_ARG_RENAMES
from converters.plan import Plan
from converters.python_operator import upstream_xcoms_source
from converters.task_options import decorator_kwargs
from converters.walk import bound_names, names_in


def _preamble_names(dag: Dag) -> set[str]:
    """Names bound by the statements kept in the flow body (defs, classes, assignments, imports,
    loop and ``with`` targets): a generated task cannot read them as globals."""
    out: set[str] = set()
    for stmt in dag.preamble:
        out |= bound_names(stmt)
    return out


def _reads_flow(source: str, flow_names: set[str]) -> bool:
    """Does this (substituted) argument read a name that only exists inside the flow function?"""
    try:
        names = names_in(cst.parse_expression(source))
    except cst.ParserSyntaxError:
        return False
    return bool(names & flow_names) or any(n.endswith("_future") for n in names)


ORDER = 50

#: arguments handled by Prefect (or meaningless without a DAG) and left out of the operator
_DROP = {"dag", "retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay", "execution_timeout"}


def apply(plan: Plan, dag: Dag) -> None:
    for task in dag.tasks.values():
        if task.kind not in ("shim",) and not (task.kind == "branch" and task.callable_expr is None and task.taskflow_func is None):
            continue
        if task.kind == "branch":
            plan.manual(task, "IX103", f"{task.operator} chooses downstream tasks at run time; write the if/else by hand")
        call = task.call
        assert call is not None
        args = []
        # values that only exist in the flow (upstream futures, @dag parameters, names bound in the
        # DAG body) are evaluated there and handed to the task as parameters
        flow_names = _preamble_names(dag) | set(dag.params_dict) | {"ctx"}
        passed: dict[str, str] = {}
        # the import moves to the operator's Airflow 3 class; its renamed arguments move with it
        # (PostgresOperator(postgres_conn_id=) -> SQLExecuteQueryOperator(conn_id=))
        renames = CALL_ARG_RENAMES.get(task.qualname, {})
        for i, arg in enumerate(call.args):
            if arg.keyword is not None and arg.keyword.value in _DROP:
                continue
            value = plan.substitute(arg.value, task, dag)
            star = "*" * len(arg.star) if isinstance(arg.star, str) else ""
            if _reads_flow(value, flow_names):
                param = f"arg_{arg.keyword.value}" if arg.keyword is not None else f"arg_{i}"
                passed[param] = value
                value = param
            keyword = renames.get(arg.keyword.value, arg.keyword.value) if arg.keyword is not None else None
            args.append(f"{keyword}={value}" if keyword is not None else star + value)
        operator_src = f"{code_of(call.func).strip()}({', '.join(args)})"
        plan.shim_names |= names_in(call) - flow_names
        upstream = upstream_xcoms_source(plan, dag, task, ancestors=False)
        # the called object itself defined in the DAG body (a @task.branch function): passed by name
        passed.update({n: n for n in sorted(names_in(call.func) & flow_names)})
        local = sorted(passed)
        fname = plan.unique(ident(task.task_id))
        decorator = ", ".join(decorator_kwargs(task, None if fname == task.task_id else task.task_id))
        # a branch operator chooses among the tasks below it (converters.branching reads its choice)
        below = [v for u, v in dag.edge_set() if u == task.task_id] if task.kind == "branch" else []
        source = (
            (f"@task({decorator})\n" if decorator else "@task\n")
            + f"def {fname}({', '.join(['ctx', 'upstream_xcoms', *local])}):\n"
            f'    """{task.operator} {task.task_id!r}, run through the interop operator shim."""\n'
            f"    try:\n"
            f"        return run_operator(\n"
            f"            {operator_src},\n"
            f"            ctx=ctx,\n"
            f"            upstream=upstream_xcoms,\n"
            + (f"            downstream={below!r},\n" if below else "")
            + "        )\n"
            "    except TaskSkipped as exc:\n"
            "        return skipped(exc.reason)\n"
        )
        plan.need("airflow_interop.runtime", "TaskSkipped")
        plan.need("airflow_interop.runtime", "skipped")
        soft = task.kwargs.get("soft_fail")
        if soft is not None and code_of(soft).strip() != "False":
            task.options["_may_skip"] = True
        plan.generated.setdefault(dag.dag_id, []).append(source)
        plan.need("prefect", "task")
        plan.need("airflow_interop.runtime", "run_operator")
        dag.uses_ctx = True
        task.function_name = fname
        task.call_kwargs = {"ctx": "ctx", "upstream_xcoms": upstream, **passed}
        task.returns = "xcoms"
        if task.disposition != "manual":
            task.disposition = "shimmed"
        plan.finding("IX501", task.line, f"task {task.task_id!r}: {task.operator} runs through the operator shim")
