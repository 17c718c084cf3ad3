"""Rule: ``PythonOperator`` (every import path) -> the callable as a Prefect ``@task``.

What: ``PythonOperator(task_id="t", python_callable=f, op_args=[...], op_kwargs={...})``
becomes ``@task(name="t")`` on ``f`` and ``f.submit(*op_args, **op_kwargs)`` in the flow; the
callable's context and XCom use is rewritten by :mod:`converters.callables`; templated
``op_kwargs`` / ``templates_dict`` values become f-strings over the run context.
``provide_context`` is dropped (context values arrive as parameters).

Why: a Prefect task is the function itself; no operator object is needed.

Safety: a callable used by several tasks keeps a bare ``@task`` and each call gets
``.with_options(name=task_id, ...)``. A callable defined elsewhere (imported, a lambda) is
wrapped with ``task(f, name=...)`` and reported (IX206): its context use cannot be checked.
``BranchPythonOperator`` / ``ShortCircuitOperator`` convert the same way but are marked
IX103: the ``if``/``else`` on the result is written by hand.
"""

from __future__ import annotations

import libcst as cst

from converters import names, templates
from converters.analysis import code_of
from converters.callables import PullResolver, RewriteResult, result_param, rewrite_callable, scan_callable
from converters.model import Const, Dag, Task
from converters.plain_context import module_binds
from converters.plan import Plan, const_value
from converters.task_options import decorator_kwargs

ORDER = 30


def shapes(plan: Plan, dag: Dag) -> None:
    """Set ``task.returns`` for python tasks: a dict of XComs when the callable pushes."""
    for task in dag.tasks.values():
        if task.taskflow_func is not None and task.kind != "taskflow_bash":
            scan = scan_callable(plan.model.taskflow_functions[task.taskflow_func], plan.analyzer.qualname)
            if scan.pushes:
                task.returns = "xcoms"
                task.options["_pushed"] = scan.pushed_keys | {"return_value"}
            task.options["_push_unknown"] = scan.dynamic_push
            continue
        if task.kind not in ("python", "branch") or task.callable_name is None:
            continue
        fdef = plan.function_for(task.callable_name)
        if fdef is None:
            continue
        scan = scan_callable(fdef, plan.analyzer.qualname)
        task.options["_scan"] = scan
        task.options["_push_unknown"] = scan.dynamic_push
        if scan.pushes:
            task.returns = "xcoms"
            task.options["_pushed"] = scan.pushed_keys


def multiple_outputs(dag: Dag, plan: Plan | None = None) -> set[str]:
    """Tasks whose dict result Airflow also pushes key by key (``multiple_outputs=True``)."""
    out = set()
    for t in dag.tasks.values():
        node = t.kwargs.get("multiple_outputs")
        if node is not None and isinstance(node, cst.Name) and node.value == "True":
            out.add(t.task_id)
    return out


def resolver(dag: Dag) -> PullResolver:
    return PullResolver(
        multi=multiple_outputs(dag),
        shapes={t.task_id: (None if t.kind in ("empty", "unsupported") else t.returns) for t in dag.tasks.values()},
        pushed={t.task_id: set(t.options.get("_pushed", ())) | ({"return_value"} if t.kind in ("bash",) else set()) for t in dag.tasks.values()},
    )


def templates_dict_source(task: Task, dag: Dag, plan: Plan) -> str | None:
    """The flow's source of a task's ``templates_dict`` (its values rendered at run time), or None."""
    td = task.kwargs.get("templates_dict")
    if td is None:
        return None
    if isinstance(td, cst.Dict) and all(isinstance(e, cst.DictElement) for e in td.elements):
        items = [f"{code_of(e.key).strip()}: {flow_template(e.value, task, dag, plan)}" for e in td.elements]  # type: ignore[union-attr]
        return "{" + ", ".join(items) + "}"
    return plan.substitute(td, task, dag)


def user_macros(plan: Plan, dag: Dag) -> dict[str, str]:
    """The DAG's ``user_defined_macros={"name": fn, ...}`` (a literal dict of module-level names):
    macro name -> the Python name a translated template calls instead."""
    node = dag.kwargs.get("user_defined_macros")
    if not isinstance(node, cst.Dict):
        return {}
    out: dict[str, str] = {}
    for el in node.elements:
        if not isinstance(el, cst.DictElement) or not isinstance(el.key, cst.SimpleString):
            return {}
        root = el.value
        while isinstance(root, cst.Attribute):
            root = root.value
        if not isinstance(root, cst.Name) or not module_binds(plan, root.value):
            return {}
        out[el.key.evaluated_value] = code_of(el.value).strip()
    return out


def keyed_pull_text(plan: Plan, dag: Dag, task: Task, text: str) -> str:
    """``text`` with its ``{{ ti.xcom_pull(key='k') }}`` (no task ids) written as what Airflow
    answers, where that is known statically. Airflow 3 reads the pulling task's own XCom (none
    before it runs: ``None``, unless the template pushes it first: then left to the runtime,
    which answers as Airflow 3 does). Airflow 2 reads the latest XCom ``k`` of any task of the
    run: where one task only can push ``k`` and it runs before this one, that task's XCom
    (``ti.xcom_pull(task_ids='p', key='k')``). Otherwise IX201 (the task to a hand)."""
    if plan.airflow_major() == 3:
        own = bool(templates.find_pushes(text))
        text, _ = templates.keyed_pulls(text, lambda key: None if own else "None")
        return text  # pushed in the template: the runtime answers from what it pushed (Airflow 3)
    pushed = templates.find_pushes(text)  # a key the template pushes: the latest may be its own
    text, left = templates.keyed_pulls(text, lambda key: None if key in pushed or None in pushed else _only_pusher(dag, task, key))
    if left:
        keys = ", ".join(sorted({repr(k) if k != "?" else "a key not literal" for k in left}))
        plan.manual(
            task, "IX201",
            f"its template pulls XCom {keys} without task_ids: Airflow 2 renders the latest XCom of that key any task "
            "of the run pushed, which is not known statically (several tasks, or one not upstream, may push it, or a "
            "task whose pushes are not known); the flow renders this task's own (None). Name the task by hand",
        )
    return text


def _only_pusher(dag: Dag, task: Task, key: str) -> str | None:
    """``ti.xcom_pull(task_ids='p', key=key)`` where ``p`` is the one task of the DAG that can push
    ``key`` and it runs before ``task`` (an ancestor); None where that is not known."""
    import networkx as nx

    if key == "return_value":
        return None
    pushers = []
    for other in dag.tasks.values():
        if other.task_id == task.task_id or other.kind == "empty":
            continue
        known = other.kind in ("python", "branch", "bash") or other.taskflow_func is not None
        scanned = other.kind == "bash" or "_push_unknown" in other.options
        if not known or not scanned or other.options.get("_push_unknown") or "multiple_outputs" in other.kwargs:
            return None  # an operator, or a callable, whose pushed keys are not known
        if key in other.options.get("_pushed", ()):
            pushers.append(other.task_id)
    graph = _graph(dag)
    if len(pushers) != 1 or task.task_id not in graph or pushers[0] not in nx.ancestors(graph, task.task_id):
        return None
    return f"ti.xcom_pull(task_ids={pushers[0]!r}, key={key!r})"


def flow_template(value: cst.BaseExpression, task: Task, dag: Dag, plan: Plan, blocking: list[str] | None = None) -> str:
    """Source of an argument evaluated in the flow body; Jinja strings become f-strings."""
    const = const_value(value, task, plan.analyzer)
    if isinstance(const, Const) and isinstance(const.value, str) and templates.has_jinja(const.value):
        const = Const(keyed_pull_text(plan, dag, task, const.value))
        pulled: list[str] = []
        macros = user_macros(plan, dag)
        native = templates.native_mode(dag)
        text_macros = templates.text_macros(plan.model.module, macros) if native else frozenset()
        tr = templates.translate(const.value, _flow_pull(plan, dag, pulled), macros, native, text_macros)
        extra = templates.render_args(tr)
        dag.uses_conf |= "conf" in tr.names
        if tr.fstring is not None:
            task.blocking_inputs += [tid for tid in dict.fromkeys(pulled) if tid not in task.blocking_inputs]
            if pulled:
                plan.finding(
                    "IX207",
                    task.line,
                    f"task {task.task_id!r}: templated argument pulls XComs; the flow waits for the upstream result and passes its text",
                )
            dag.uses_ctx = True
            return tr.fstring
        if not tr.pulls:
            dag.uses_ctx = True
            plan.need("airflow_interop.runtime", "render_template")
            plan.finding("IX301", task.line, f"task {task.task_id!r}: template rendered at run time: {const.value[:60]!r}")
            return f"render_template({const.value!r}, ctx{extra})"
        ups = []
        for pull in tr.pulls:
            for tid in [pull.task_ids] if isinstance(pull.task_ids, str) else pull.task_ids:
                up = dag.tasks.get(tid)
                if up is None:
                    plan.manual(task, "IX301", f"template pulls from {tid!r}, which is not a task of this DAG")
                    return plan.substitute(value, task, dag, blocking)
                if up.kind in ("empty", "unsupported"):
                    continue
                fut = plan.future(dag, tid)
                task.blocking_inputs.append(tid)
                ups.append(f"{tid!r}: {fut}.result()" if up.returns == "xcoms" else f"{tid!r}: {{'return_value': {fut}.result()}}")
        dag.uses_ctx = True
        plan.need("airflow_interop.runtime", "render_template")
        plan.finding(
            "IX207",
            task.line,
            f"task {task.task_id!r}: templated argument pulls XComs; the flow waits for the upstream result and renders it",
        )
        plan.need("prefect.utilities.annotations", "quote")
        return f"quote(render_template({const.value!r}, ctx, upstream={{{', '.join(dict.fromkeys(ups))}}}{extra}))"
    return plan.substitute(value, task, dag, blocking)


def _flow_pull(plan: Plan, dag: Dag, pulled: list[str]):  # noqa: ANN202 - a pull_expr
    """``{{ ti.xcom_pull(task_ids='t', key=k) }}`` in an argument the flow evaluates: the
    upstream's result (``t_future.result()``, ``.get(k)`` of several XComs), its task ids added
    to ``pulled``; None (rendered at run time) for a task left to a hand or not of the DAG."""

    def pull_expr(pull: templates.Pull) -> str | None:
        ids = [pull.task_ids] if isinstance(pull.task_ids, str) else pull.task_ids
        exprs = []
        for tid in ids:
            up = dag.tasks.get(tid)
            if up is None or up.kind == "unsupported":
                return None
            if up.kind == "empty":
                exprs.append("None")  # an EmptyOperator pushes nothing
                continue
            pulled.append(tid)
            result = f"{plan.future(dag, tid)}.result()"
            if up.returns == "xcoms" or (pull.key != "return_value" and tid in multiple_outputs(dag)):
                exprs.append(f"{result}.get({pull.key!r})")
            else:
                exprs.append(result if pull.key == "return_value" else "None")
        return exprs[0] if isinstance(pull.task_ids, str) else "[" + ", ".join(exprs) + "]"

    return pull_expr


def apply(plan: Plan, dag: Dag) -> None:
    res = resolver(dag)
    known = set(dag.tasks)
    for task in dag.tasks.values():
        if task.kind not in ("python", "branch"):
            continue
        if task.kind == "branch" and task.callable_expr is None:
            continue  # other branch operators are shimmed (converters.branching)
        if task.kind == "branch":
            plan.manual(
                task,
                "IX103",
                f"{task.operator}: its result chooses which downstream tasks run; write the if/else "
                "on the result and record skipped tasks by hand",
            )
        _convert(plan, dag, task, res, known)


def _op_kwargs_keys(plan: Plan, callable_name: str) -> frozenset[str]:
    """The literal ``op_kwargs`` keys every task of the file passes to this callable (read once
    per file for every callable: one pass over the tasks, not one per callable)."""
    if plan.op_kwargs_keys is None:
        index: dict[str, set[str]] = {}
        for dag in plan.model.dags:
            for task in dag.tasks.values():
                node = task.kwargs.get("op_kwargs")
                if task.callable_name is not None and isinstance(node, cst.Dict):
                    index.setdefault(task.callable_name, set()).update(
                        e.key.evaluated_value
                        for e in node.elements
                        if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
                    )
        plan.op_kwargs_keys = {name: frozenset(keys) for name, keys in index.items()}
    return plan.op_kwargs_keys.get(callable_name, frozenset())


def _convert(plan: Plan, dag: Dag, task: Task, res: PullResolver, known: set[str]) -> None:
    name = task.callable_name
    fdef = plan.function_for(name) if name else None
    call_args: list[str] = []
    call_kwargs: dict[str, str] = {}
    rewrite: RewriteResult | None = None
    uses = plan.callable_uses.setdefault(name or f"<{task.task_id}>", [])
    uses.append(task)
    if fdef is not None:
        cache = plan.callable_rewrites
        if name not in cache:
            scan = task.options.get("_scan") or scan_callable(fdef, plan.analyzer.qualname)
            keep_var_kw = _passes_unknown_kwargs(task, fdef)
            users = [t for t in dag.tasks.values() if t.callable_name == name and t.kind in ("python", "branch")]
            cache[name] = rewrite_callable(
                fdef, scan, res, known, plan.analyzer.qualname, keep_var_kw, _op_kwargs_keys(plan, name),
                later_than(dag, users), plan.airflow_major() == 2,
            )
            for code, message, manual in cache[name].findings:
                if manual:
                    plan.manual(task, code, message)
                else:
                    plan.finding(code, task.line, f"task {task.task_id!r}: {message}")
        rewrite = cache[name]
        task.function_name = name
        if rewrite.skips:
            task.options["_may_skip"] = True
            plan.need("airflow_interop.runtime", "skipped")
    else:
        src = code_of(task.callable_expr).strip() if task.callable_expr is not None else "None"
        declared = task.kwargs.get("provide_context")
        if isinstance(declared, cst.Name) and declared.value == "True":
            # Airflow 1.10's provide_context=True: the callable reads the run context, and the
            # flow, which cannot see it, calls it with none (KeyError where Airflow ran)
            plan.manual(
                task, "IX206",
                f"callable `{src}` is defined elsewhere and reads the run context (provide_context=True); "
                "the flow calls it without one: pass the values it reads",
            )
        else:
            plan.finding(
                "IX206",
                task.line,
                f"task {task.task_id!r}: callable `{src}` is defined elsewhere; its use of the run context and XCom was not checked",
            )
        opts = ", ".join(decorator_kwargs(task, task.task_id))
        task.function_name = f"task({src}, {opts})"
        plan.need("prefect", "task")
    # op_args / op_kwargs / templates_dict
    op_args = task.kwargs.get("op_args")
    if op_args is not None:
        if isinstance(op_args, (cst.List, cst.Tuple)):
            call_args.extend(flow_template(el.value, task, dag, plan) for el in op_args.elements)
        else:
            call_args.append("*" + plan.substitute(op_args, task, dag))
    op_kwargs = task.kwargs.get("op_kwargs")
    if op_kwargs is not None:
        if isinstance(op_kwargs, cst.Dict) and all(isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString) for e in op_kwargs.elements):
            for el in op_kwargs.elements:
                call_kwargs[el.key.evaluated_value] = flow_template(el.value, task, dag, plan)  # type: ignore[union-attr]
        else:
            call_kwargs["**"] = plan.substitute(op_kwargs, task, dag)
    td = templates_dict_source(task, dag, plan)
    if td is not None:
        call_kwargs["templates_dict"] = td
    if rewrite is not None:
        for key in rewrite.context_params:
            if key == "templates_dict":
                call_kwargs.setdefault("templates_dict", "None")
                continue
            call_kwargs[key] = rewrite.context_sources.get(key) or names.context_value(key)
            dag.uses_ctx = True
            if key in ("dag_run", "conf") or call_kwargs[key] == "ctx.conf":
                dag.uses_conf = True
        for param, upstream in rewrite.data_params.items():
            fut = plan.future(dag, upstream)
            call_kwargs[param] = fut
            task.data_inputs[fut] = upstream
        if rewrite.needs_upstream_xcoms:
            plan.need("airflow_interop.runtime", "xcom_lookup")
            call_kwargs["upstream_xcoms"] = upstream_xcoms_source(plan, dag, task, ancestors=True)
    if task.options.get("_mapped"):
        _mapped_args(plan, dag, task, call_args, call_kwargs)
    task.call_args = call_args
    task.call_kwargs = call_kwargs


def _mapped_args(plan: Plan, dag: Dag, task: Task, call_args: list[str], call_kwargs: dict[str, str]) -> None:
    """``PythonOperator.partial(...).expand(op_args=[[...], ...] | op_kwargs=[{...}, ...])`` -> ``.map``."""
    expand = task.options.get("_expand", {})
    mapped_pos: list[str] = []
    mapped_kw: dict[str, str] = {}
    ok = not task.options.get("_expand_kwargs") and set(expand) <= {"op_args", "op_kwargs"}
    rows = expand.get("op_args")
    if ok and rows is not None:
        if isinstance(rows, (cst.List, cst.Tuple)) and all(isinstance(e.value, (cst.List, cst.Tuple)) for e in rows.elements):
            width = {len(e.value.elements) for e in rows.elements}  # type: ignore[union-attr]
            if len(width) == 1:
                for i in range(width.pop()):
                    items = [flow_template(e.value.elements[i].value, task, dag, plan) for e in rows.elements]  # type: ignore[union-attr]
                    mapped_pos.append("[" + ", ".join(items) + "]")
            else:
                ok = False
        else:
            ok = False
    dicts = expand.get("op_kwargs")
    if ok and dicts is not None:
        if isinstance(dicts, (cst.List, cst.Tuple)) and all(isinstance(e.value, cst.Dict) for e in dicts.elements):
            keys: list[str] = []
            for e in dicts.elements:
                for el in e.value.elements:  # type: ignore[union-attr]
                    if isinstance(el, cst.DictElement) and isinstance(el.key, cst.SimpleString) and el.key.evaluated_value not in keys:
                        keys.append(el.key.evaluated_value)
            for key in keys:
                values = []
                for e in dicts.elements:
                    found = [el.value for el in e.value.elements if isinstance(el, cst.DictElement) and isinstance(el.key, cst.SimpleString) and el.key.evaluated_value == key]  # type: ignore[union-attr]
                    if not found:
                        ok = False
                        break
                    values.append(flow_template(found[0], task, dag, plan))
                mapped_kw[key] = "[" + ", ".join(values) + "]"
        else:
            ok = False
    if not ok:
        plan.manual(task, "IX105", "mapped over values only known at run time; write the .map(...) call by hand")
        return
    plan.need("prefect", "unmapped")
    call_args[:] = mapped_pos + [f"unmapped({a})" for a in call_args]
    for key in list(call_kwargs):
        if key != "**":
            call_kwargs[key] = f"unmapped({call_kwargs[key]})"
    call_kwargs.update(mapped_kw)


def _graph(dag: Dag):  # noqa: ANN202 - a networkx DiGraph of the DAG's edges (Empty tasks included)
    import networkx as nx

    cached = getattr(dag, "_graph_cache", None)
    if cached is None or cached[0] != len(dag.edges):
        cached = (len(dag.edges), nx.DiGraph(dag.edges))
        dag._graph_cache = cached  # type: ignore[attr-defined]
    return cached[1]


def later_than(dag: Dag, users: list[Task]) -> frozenset[str]:
    """The tasks downstream of every one of ``users`` (in Airflow's graph): they run after each."""
    import networkx as nx

    graph = _graph(dag)
    out: set[str] | None = None
    for task in users:
        below = nx.descendants(graph, task.task_id) if task.task_id in graph else set()
        out = below if out is None else out & below
    return frozenset(out or ())


def upstream_xcoms_source(plan: Plan, dag: Dag, task: Task, ancestors: bool) -> str:
    """``{"t": {"return_value": t_future}, "u": u_future}`` over the task's upstream tasks."""
    import networkx as nx

    graph = _graph(dag)
    if task.task_id not in graph:
        ups: set[str] = set()
    elif ancestors:
        ups = nx.ancestors(graph, task.task_id)
    else:
        ups = set(graph.predecessors(task.task_id))
    parts = []
    for tid in [t for t in dag.tasks if t in ups]:
        up = dag.tasks[tid]
        if up.kind in ("empty", "unsupported"):
            continue
        fut = plan.future(dag, tid)
        task.data_inputs[fut] = tid
        parts.append(f"{tid!r}: {fut}" if up.returns == "xcoms" else f"{tid!r}: {{'return_value': {fut}}}")
    return "{" + ", ".join(parts) + "}"


def _passes_unknown_kwargs(task: Task, fdef: cst.FunctionDef) -> bool:
    """Does op_kwargs pass keys the callable only receives through ``**kwargs``?"""
    if fdef.params.star_kwarg is None:
        return False
    op_kwargs = task.kwargs.get("op_kwargs")
    if op_kwargs is None:
        return False
    named = {p.name.value for p in fdef.params.params + fdef.params.kwonly_params}
    if isinstance(op_kwargs, cst.Dict):
        for el in op_kwargs.elements:
            if not isinstance(el, cst.DictElement) or not isinstance(el.key, cst.SimpleString):
                return True
            if el.key.evaluated_value not in named:
                return True
        return False
    return True


def decorate(plan: Plan, dag: Dag) -> None:
    """Put ``@task`` on each module-level or DAG-body callable (after all DAGs are planned)."""
    cache = plan.callable_rewrites
    for name, rewrite in cache.items():
        uses = plan.callable_uses.get(name, [])
        fdef = plan.function_for(name)
        if fdef is None or id(fdef) in plan.functions:
            continue
        if len(uses) == 1:
            line = plan.analyzer.positions.line(fdef) or 0
            # no ``name=`` where the function's name is the task id (Prefect names a task by its function)
            name = None if uses[0].task_id == fdef.name.value else uses[0].task_id
            opts, late = plan.split_late_options(decorator_kwargs(uses[0], name), line)
            if late:  # read when the flow runs, not when the function is defined
                uses[0].with_options = dict(p.split("=", 1) for p in late)
        else:
            opts = []
            for t in uses:
                t.with_options = dict(p.split("=", 1) for p in decorator_kwargs(t, t.task_id))
        dec = cst.Decorator(cst.parse_expression(f"task({', '.join(opts)})" if opts else "task"))
        plan.functions[id(fdef)] = rewrite.function.with_changes(decorators=[dec, *rewrite.function.decorators])
        plan.need("prefect", "task")


__all__ = ["apply", "shapes", "decorate", "result_param"]
