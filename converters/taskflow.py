"""Rule: TaskFlow ``@task`` / ``@dag`` (``airflow.decorators``, ``airflow.sdk``) -> Prefect.

What: ``@task(retries=2, multiple_outputs=True)`` becomes ``@task(name="f", retries=2, ...)``
from Prefect; calls in the ``@dag`` body become ``f.submit(...)`` with upstream futures as
arguments (data edges), ``f.override(task_id="x")(...)`` becomes
``f.with_options(name="x").submit(...)``. ``@task.bash`` keeps the function and runs the
command it returns with ``run_bash``.

Why: both are decorator APIs over plain functions; XComArgs are futures.

Safety: ``multiple_outputs`` needs nothing (the dict is returned as is; ``result["k"]``
resolves the future at that point, IX207). ``@task.branch`` / ``@task.short_circuit`` are marked
IX103; other decorators (``virtualenv``, ``docker``, ``sensor`` ...) are converted to a plain
task and marked IX208 (the isolation they gave is gone).
"""

from __future__ import annotations

import libcst as cst

from converters import names
from converters.callables import RewriteResult, ident, rewrite_callable, scan_callable
from converters.python_operator import flow_template, later_than, resolver, templates_dict_source, upstream_xcoms_source
from converters.model import Dag, Task
from converters.plan import Plan
from converters.task_options import decorator_kwargs

ORDER = 35


def apply(plan: Plan, dag: Dag) -> None:
    by_func: dict[str, list[Task]] = {}
    for task in dag.tasks.values():
        if task.taskflow_func is not None:
            by_func.setdefault(task.taskflow_func, []).append(task)
    for func_name, tasks in by_func.items():
        fdef = plan.model.taskflow_functions[func_name]
        first = tasks[0]
        if first.kind == "branch":
            for t in tasks:
                plan.manual(t, "IX103", f"{t.operator}: write the if/else on this task's result by hand")
        elif first.kind == "taskflow_other":
            for t in tasks:
                plan.manual(t, "IX208", f"{t.operator} ran the function in isolation; it now runs as a plain Prefect task")
        same_ids = len(tasks) == 1
        line = plan.analyzer.positions.line(fdef) or 0
        # options reading a name bound only after the function go to the call (read at run time)
        name = first.task_id if same_ids else func_name
        # no ``name=`` where the function's name is the task id (Prefect names a task by its function)
        dec_opts, late = plan.split_late_options(decorator_kwargs(first, None if name == func_name else name), line)
        rewrite = _rewrite(plan, dag, fdef, first)
        if first.kind == "taskflow_bash":
            _bash(plan, dag, fdef, tasks, dec_opts, rewrite)
            continue
        if id(fdef) not in plan.functions:
            new = rewrite.function
            decorators = [d for d in new.decorators if not _is_airflow_task(plan, d)]
            dec = cst.Decorator(cst.parse_expression(f"task({', '.join(dec_opts)})" if dec_opts else "task"))
            plan.functions[id(fdef)] = new.with_changes(decorators=[dec, *decorators])
            plan.need("prefect", "task")
        for t in tasks:
            t.function_name = func_name
            if rewrite.skips:
                t.options["_may_skip"] = True
                plan.need("airflow_interop.runtime", "skipped")
            for key in rewrite.context_params:
                if key == "templates_dict":  # ``@task(templates_dict=...)``: rendered at run time
                    t.call_kwargs[key] = templates_dict_source(t, dag, plan) or "None"
                    continue
                value = rewrite.context_sources.get(key) or names.context_value(key)
                t.call_kwargs[key] = value if not t.options.get("_mapped") else f"unmapped({value})"
                dag.uses_ctx = True
                if key in ("dag_run", "conf") or value == "ctx.conf":
                    dag.uses_conf = True
            for param, upstream in rewrite.data_params.items():
                fut = plan.future(dag, upstream)
                t.call_kwargs[param] = fut if not t.options.get("_mapped") else f"unmapped({fut})"
                t.data_inputs[fut] = upstream
            if rewrite.needs_upstream_xcoms:
                plan.need("airflow_interop.runtime", "xcom_lookup")
                t.call_kwargs["upstream_xcoms"] = upstream_xcoms_source(plan, dag, t, ancestors=True)
            if not same_ids or t.override:
                t.with_options = dict(p.split("=", 1) for p in decorator_kwargs(t, t.task_id))
            elif late:
                t.with_options = dict(p.split("=", 1) for p in late)
            _call(plan, dag, t)


def _rewrite(plan: Plan, dag: Dag, fdef: cst.FunctionDef, first: Task):
    cache = plan.taskflow_rewrites
    key = id(fdef)
    if key not in cache:
        scan = scan_callable(fdef, plan.analyzer.qualname)
        users = [t for t in dag.tasks.values() if t.taskflow_func == first.taskflow_func]
        cache[key] = rewrite_callable(
            fdef, scan, resolver(dag), set(dag.tasks), plan.analyzer.qualname, False, later=later_than(dag, users),
            airflow2=plan.airflow_major() == 2,
        )
        for code, message, manual in cache[key].findings:
            if manual:
                plan.manual(first, code, message)
            else:
                plan.finding(code, first.line, f"task {first.task_id!r}: {message}")
    return cache[key]


def _is_airflow_task(plan: Plan, dec: cst.Decorator) -> bool:
    target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
    qn = plan.analyzer.qualname(target) or ""
    return qn.startswith("airflow.")


def _call(plan: Plan, dag: Dag, task: Task) -> None:
    blocking: list[str] = []
    if task.options.get("_mapped"):
        if task.options.get("_expand_kwargs"):
            plan.manual(task, "IX105", "expand_kwargs: write the .map(...) call by hand")
        plan.need("prefect", "unmapped")
        for key, value in task.options.get("_partial", {}).items():
            task.call_kwargs[key] = f"unmapped({plan.substitute(value, task, dag, blocking)})"
        for key, value in task.options.get("_expand", {}).items():
            task.call_kwargs[key] = plan.substitute(value, task, dag, blocking)
        if blocking:
            task.blocking_inputs.extend(blocking)
        return
    for arg in task.pos_args:
        # TaskFlow arguments are templated fields in Airflow: Jinja in them is rendered
        src = flow_template(arg.value, task, dag, plan, blocking)
        if arg.keyword is not None:
            task.call_kwargs[arg.keyword.value] = src
        else:
            task.call_args.append(("*" * len(arg.star) if isinstance(arg.star, str) else "") + src)
    if blocking:
        task.blocking_inputs.extend(blocking)
        plan.finding(
            "IX207",
            task.line,
            f"task {task.task_id!r}: reads one key of an upstream result; the flow waits for "
            f"{', '.join(sorted(set(blocking)))} before submitting it",
        )


def _bash(plan: Plan, dag: Dag, fdef: cst.FunctionDef, tasks: list[Task], dec_opts: list[str], rewrite: RewriteResult) -> None:
    new = rewrite.function
    if id(fdef) not in plan.functions:
        decorators = [d for d in new.decorators if not _is_airflow_task(plan, d)]
        plan.functions[id(fdef)] = new.with_changes(decorators=decorators)
    if rewrite.skips:
        # the function raised AirflowSkipException, now returns skipped(...): that state is the result
        run = (
            "    command_text = command(*args, **kwargs)\n"
            "    if not isinstance(command_text, str):\n"
            "        return command_text\n"
            "    return run_bash(render_template(command_text, ctx))\n"
        )
        plan.need("airflow_interop.runtime", "skipped")
    else:
        run = "    return run_bash(render_template(command(*args, **kwargs), ctx))\n"
    for t in tasks:
        fname = plan.unique(ident(t.task_id) + "_bash")
        if rewrite.skips:
            t.options["_may_skip"] = True
        source = (
            f"@task({', '.join(decorator_kwargs(t, t.task_id))})\n"
            f"def {fname}(command, *args, ctx, **kwargs):\n"
            f'    """@task.bash {t.task_id!r}: runs the command that ``command`` ({fdef.name.value}) returns, rendered as Airflow renders it."""\n'
            + run
        )
        plan.generated.setdefault(dag.dag_id, []).append(source)
        plan.need("prefect", "task")
        plan.need("airflow_interop.runtime", "run_bash", "render_template")
        t.function_name = fname
        _call(plan, dag, t)
        t.call_args.insert(0, fdef.name.value)
        t.call_kwargs["ctx"] = "ctx"
        dag.uses_ctx = True
