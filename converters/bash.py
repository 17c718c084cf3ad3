"""Rule: ``BashOperator`` -> a task running the command in a subprocess.

What: ``BashOperator(task_id="load", bash_command="echo {{ ds }}", env={...}, cwd=...)`` becomes

    @task(name="load")
    def load(ctx):
        return run_bash(f"echo {ctx.ds}", env={...}, cwd=...)

``{{ ti.xcom_pull(task_ids='t') }}`` becomes a parameter bound to ``t``'s result.

Why: ``airflow_interop.runtime.run_bash`` runs ``bash -c`` the way Airflow does: env and ``append_env``
kept, the last line of output is the result, a non-zero exit fails the task, the skip exit
code (99 by default) ends it as ``Skipped``.

``{{ ti.xcom_push(key=k, value=v) }}`` in a template pushes while rendering, as in Airflow: the
task then returns every XCom, ``{k: v, "return_value": last line}``. With a literal key and
value the push is known statically: the call renders ``None`` (what it returns) and the task's
``return {'k': 'v', 'return_value': ...}`` carries it, with no runtime. A ``{{
ti.xcom_pull(key='k') }}`` without task ids reads what the DAG's Airflow answers
(``python_operator.keyed_pull_text``). ``str(XComArg(t, key=k))``
(Airflow's template ``{{ task_instance.xcom_pull(task_ids='t', key='k') }}``) in ``env`` or
``bash_command`` becomes a parameter bound to ``t``'s result, as a literal pull does.

Safety: templates that are not plain expressions (loops, filters) are rendered at run time with
``render_template`` (IX301); a command given as a ``.sh`` file path (a template file in
Airflow) is marked IX302.
"""

from __future__ import annotations

import re

import libcst as cst

from converters import templates
from converters.analysis import code_of
from converters.callables import ident, result_param
from converters.model import Const, Dag, Task, XComArgRef
from converters.plain_context import module_binds
from converters.plan import Plan, const_value
from converters.python_operator import keyed_pull_text, multiple_outputs, upstream_xcoms_source, user_macros
from converters.task_options import decorator_kwargs

ORDER = 40


class _Params:
    """Parameters of a generated task: name -> source passed by the flow."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def add(self, name: str, source: str) -> str:
        self.items.setdefault(name, source)
        return name


def xcomarg_template(value: cst.BaseExpression, task: Task, dag: Dag, plan: Plan) -> str | None:
    """The Jinja text Airflow makes of ``str(xcom_arg)`` or an f-string over XComArgs, else None.

    ``str(XComArg(t, key=k))`` (and ``f"... {t.output} ..."``) is Airflow's template
    ``{{ task_instance.xcom_pull(task_ids='t', key='k') }}``, rendered when the task runs.
    """
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "str" and len(value.args) == 1 and not value.args[0].keyword:
        parts: list[cst.BaseExpression | str] = [value.args[0].value]
    elif isinstance(value, cst.FormattedString):
        parts = []
        for part in value.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value.replace("{{", "{").replace("}}", "}"))
            elif part.format_spec or part.conversion:
                return None
            else:
                parts.append(part.expression)
    else:
        return None
    env = dict(task.options.get("_env", {}))
    text, refs = [], 0
    for part in parts:
        if isinstance(part, str):
            text.append(part)
            continue
        plan.analyzer._dag = dag
        try:
            ref = plan.analyzer.eval(part, env)
        except Exception:  # noqa: BLE001 - not a static value
            ref = None
        if isinstance(ref, XComArgRef):
            text.append(f"{{{{ task_instance.xcom_pull(task_ids={ref.task_id!r}, key={ref.key!r}) }}}}")
            refs += 1
        elif isinstance(ref, Const) and isinstance(part, cst.BaseExpression) and not isinstance(ref.value, (dict, list, tuple, set)):
            text.append(str(ref.value))
        else:
            return None
    return "".join(text) if refs else None


def template_pushes(text: str) -> list[str | None]:
    """The keys a template pushes with ``ti.xcom_push(key=...)`` (None for a key not literal)."""
    return templates.find_pushes(text)


def template_expr(
    value: cst.BaseExpression, task: Task, dag: Dag, plan: Plan, params: _Params, what: str
) -> str:
    """Python source (inside the generated task) of a templated argument."""
    const = const_value(value, task, plan.analyzer)
    from_xcomarg = xcomarg_template(value, task, dag, plan)
    if from_xcomarg is not None:
        const = Const(from_xcomarg)
    if isinstance(const, Const) and isinstance(const.value, str):
        text = const.value
        if not templates.has_jinja(text):
            if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
                return code_of(value).strip()  # the user's own literal, as written
            return repr(text)
        text = keyed_pull_text(plan, dag, task, text)
        literal = templates.literal_pushes(text) if "xcom_push" in text else None
        if literal is not None:  # pushed while Airflow renders: the task's result carries them
            text, pushes = literal
            task.options.setdefault("_literal_pushes", {}).update(pushes)

        def pull_expr(pull: templates.Pull) -> str | None:
            ids = [pull.task_ids] if isinstance(pull.task_ids, str) else pull.task_ids
            exprs = []
            for tid in ids:
                up = dag.tasks.get(tid)
                if up is None:
                    return None
                if up.kind in ("empty", "unsupported"):
                    exprs.append("None")
                    continue
                fut = plan.future(dag, tid)
                params.add(result_param(tid), fut)
                task.data_inputs[fut] = tid
                p = result_param(tid)
                if up.returns == "xcoms":
                    exprs.append(f"{p}.get('{pull.key}')")
                elif pull.key != "return_value" and tid in multiple_outputs(dag):
                    exprs.append(f"{p}.get('{pull.key}')")
                else:
                    exprs.append(p if pull.key == "return_value" else "None")
            return exprs[0] if isinstance(pull.task_ids, str) else "[" + ", ".join(exprs) + "]"

        macros = user_macros(plan, dag)
        native = templates.native_mode(dag)
        tr = templates.translate(text, pull_expr, macros, native, templates.text_macros(plan.model.module, macros) if native else frozenset())
        params.add("ctx", "ctx")
        dag.uses_ctx = True
        dag.uses_conf |= "conf" in tr.names
        if tr.fstring is not None:
            return tr.fstring
        plan.finding("IX301", task.line, f"task {task.task_id!r}: {what} rendered at run time (Jinja beyond plain expressions)")
        plan.need("airflow_interop.runtime", "render_template")
        ups = []
        for pull in tr.pulls:
            for tid in [pull.task_ids] if isinstance(pull.task_ids, str) else pull.task_ids:
                up = dag.tasks.get(tid)
                if up is None or up.kind in ("empty", "unsupported"):
                    continue
                p = params.add(result_param(tid), plan.future(dag, tid))
                task.data_inputs[plan.future(dag, tid)] = tid
                ups.append(f"{tid!r}: {p}" if up.returns == "xcoms" else f"{tid!r}: {{'return_value': {p}}}")
        upstream = "{" + ", ".join(dict.fromkeys(ups)) + "}"
        extra = templates.render_args(tr)
        if tr.pushes:
            # ti.xcom_push in the template: recorded while rendering, returned with the result
            return f"render_template({text!r}, ctx, upstream={upstream}, pushed={PUSHED}{extra})"
        return f"render_template({text!r}, ctx, upstream={upstream}{extra})"
    # not a literal: evaluated in the flow and rendered at run time in the task
    name = ident(what)
    if name in params.items:
        name = f"{name}_{len(params.items)}"
    params.add(name, plan.substitute(value, task, dag))
    params.add("ctx", "ctx")
    dag.uses_ctx = True
    plan.need("airflow_interop.runtime", "render_template")
    native = ", native=True" if templates.native_mode(dag) else ""
    if _text_without_jinja(value):
        # ``f"rm -rf {OUTPUT_DIR}"``: its own text has no Jinja; the values it reads are not known
        plan.finding(
            "IX301", task.line,
            f"task {task.task_id!r}: {what} is built from values known only at run time ({code_of(value).strip()}); "
            "its own text has no Jinja, so it is rendered with no run values and no upstream XComs: a Jinja "
            "expression inside those values fails (UndefinedError) where Airflow rendered it",
        )
        return f"render_template({name}, ctx, upstream={{}}{native})"
    params.add("upstream_xcoms", upstream_xcoms_source(plan, dag, task, ancestors=False))
    plan.finding(
        "IX301", task.line,
        f"task {task.task_id!r}: {what} is not a literal ({code_of(value).strip()[:60]}); rendered at run time as Airflow "
        "renders it (a string as a template, a dict's values and a list's items, any other value as it is). Where the "
        "DAG's templates are rendered with plain values (no airflow_interop.runtime), a Jinja expression in that text reading "
        "anything but the run's dates, params, dag_run, dag, task, the DAG's macros, Airflow's date filters and "
        "macros.ds_add/ds_format/datetime/timedelta (ti, var, conn ...) fails (UndefinedError) where Airflow rendered it",
    )
    macros = "".join(f", {key}={source}" for key, source in user_macros(plan, dag).items() if key.isidentifier())
    return f"render_template({name}, ctx, upstream=upstream_xcoms{native}{macros})"


def _text_without_jinja(value: cst.BaseExpression) -> bool:
    """Is ``value`` a string built from literal text and other values (an f-string, ``+`` of
    strings), with some text of its own and no Jinja in it (``{{``, ``{%``, ``{#``)?"""
    texts: list[str] = []

    def parts(node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.SimpleString):
            value = node.evaluated_value
            texts.append(value if isinstance(value, str) else "{{")
            return True
        if isinstance(node, cst.FormattedString):
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    texts.append(part.value.replace("{{", "{").replace("}}", "}"))
                elif part.format_spec:
                    return False  # a format spec may write braces
            return True
        if isinstance(node, cst.ConcatenatedString):
            return parts(node.left) and parts(node.right)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return parts(node.left) and parts(node.right)
        return isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript))  # a value, not text

    if not parts(value) or not any(t.strip() for t in texts):
        return False
    # the text around a value counts too: ``f"{{{{ {X} }}}}"`` writes ``{{ x }}``
    return not templates.has_jinja("\0".join(texts)) and not any(t.endswith("{") or t.startswith(("{", "}", "#", "%")) for t in texts)


def _bound_elsewhere(plan: Plan, name: str, module: str) -> bool:
    """Is ``name`` bound in the file to something other than ``module``?"""
    bound = plan.model.imports.get(name)
    if bound is not None:
        return bound != module
    return module_binds(plan, name)


def _subprocess_body(plan: Plan, task: Task, command: str, extra: list[str], params: _Params) -> str | None:
    """The generated task's body running the command with ``subprocess.run`` where the reader
    sees it, as Airflow's ``BashOperator`` runs it: ``bash -c`` in a fresh temporary directory
    (or ``cwd``), the environment replaced by ``env`` (or added to with ``append_env``), stdout
    and stderr together in the log, the last line of output the result, the skip exit code (99
    unless ``skip_on_exit_code`` says otherwise) a ``Completed`` state named ``Skipped``, any
    other non-zero exit a failure. None (``run_bash`` is used) for arguments known only at run
    time (``skip_on_exit_code``, ``append_env``) and for ``output_encoding``/``output_processor``."""
    kwargs = dict(e.split("=", 1) for e in extra)
    if set(kwargs) - {"env", "append_env", "cwd", "skip_on_exit_code"}:
        return None
    codes: list[int] = [99]
    skip_node = task.kwargs.get("skip_on_exit_code", task.kwargs.get("skip_exit_code"))
    if skip_node is not None:
        value = const_value(skip_node, task, plan.analyzer)
        raw = value.value if isinstance(value, Const) else ...
        if raw is None:
            codes = []
        elif isinstance(raw, int) and not isinstance(raw, bool):
            codes = [raw]
        elif isinstance(raw, (list, tuple, set)) and raw and all(isinstance(c, int) and not isinstance(c, bool) for c in raw):
            codes = sorted(raw)
        else:
            return None
    append = False
    if "append_env" in kwargs:
        value = const_value(task.kwargs["append_env"], task, plan.analyzer)
        if not isinstance(value, Const) or not isinstance(value.value, bool):
            return None
        append = value.value
    modules = ["subprocess"] + (["tempfile"] if "cwd" not in kwargs else []) + (["os"] if append and "env" in kwargs else [])
    taken = set(params.items) | {"proc", "output", "tmp"}
    if any(_bound_elsewhere(plan, m, m) for m in modules) or _bound_elsewhere(plan, "Completed", "prefect.states.Completed"):
        return None
    if taken & set(modules) or ("Completed" in taken and codes):
        return None
    params.items.pop("append_env", None)
    params.items.pop("skip_on_exit_code", None)
    run = [f"['bash', '-c', {command}]"]
    if "env" in kwargs:
        run.append(f"env={{**os.environ, **{kwargs['env']}}}" if append else f"env={kwargs['env']}")
    run += ["stdout=subprocess.PIPE", "stderr=subprocess.STDOUT"]
    run[1:1] = ["cwd=" + kwargs["cwd"] if "cwd" in kwargs else "cwd=tmp"]
    indent = "    " if "cwd" in kwargs else "        "
    call = f"{indent}proc = subprocess.run(\n" + "".join(f"{indent}    {a},\n" for a in run) + f"{indent})\n"
    body = call if "cwd" in kwargs else "    with tempfile.TemporaryDirectory() as tmp:\n" + call
    body += "    output = proc.stdout.decode('utf-8', errors='replace')\n    print(output, end='')\n"
    if codes:
        test = f"== {codes[0]}" if len(codes) == 1 else f"in {tuple(codes)!r}"
        body += (
            f"    if proc.returncode {test}:\n"
            "        return Completed(name='Skipped', message=f'Bash command returned exit code {proc.returncode}')\n"
        )
        plan.need("prefect.states", "Completed")
    body += (
        "    if proc.returncode != 0:\n"
        "        raise RuntimeError(f'Bash command failed. The command returned a non-zero exit code {proc.returncode}.')\n"
        "    return output.rstrip('\\n').split('\\n')[-1].rstrip()\n"
    )
    plan.need("", *modules)
    return body


#: the generated task's dict of the XComs its templates push (``ti.xcom_push`` while rendering)
PUSHED = "pushed_xcoms"


def _templated_texts(task: Task, plan: Plan) -> list[str]:
    """The literal texts of a bash task's templated arguments (command and env values)."""
    nodes = [task.kwargs.get("bash_command")] + ([task.pos_args[0].value] if task.pos_args else [])
    env = task.kwargs.get("env")
    if isinstance(env, cst.Dict):
        nodes += [e.value for e in env.elements if isinstance(e, cst.DictElement)]
    texts = []
    for node in nodes:
        const = const_value(node, task, plan.analyzer) if node is not None else None
        if isinstance(const, Const) and isinstance(const.value, str):
            texts.append(const.value)
    return texts


def shapes(plan: Plan, dag: Dag) -> None:
    """A bash task whose templates push XComs (``{{ ti.xcom_push(...) }}``) returns every XCom.

    Its result is ``{key: value, ..., "return_value": last line}``, as Airflow stores them;
    set before the rules that convert its downstream pulls run.
    """
    for task in dag.tasks.values():
        if task.kind != "bash":
            continue
        keys = [k for text in _templated_texts(task, plan) for k in template_pushes(text)]
        # a key not literal, or a command not known statically: its pushes are not known
        command = task.kwargs.get("bash_command") or (task.pos_args[0].value if task.pos_args else None)
        literal = command is not None and isinstance(const_value(command, task, plan.analyzer), Const)
        task.options["_push_unknown"] = None in keys or not literal
        if keys:
            task.returns = "xcoms"
            task.options["_pushed"] = {k for k in keys if k is not None} | {"return_value"}


def apply(plan: Plan, dag: Dag) -> None:
    for task in dag.tasks.values():
        if task.kind != "bash":
            continue
        params = _Params()
        command_node = task.kwargs.get("bash_command")
        if command_node is None and task.pos_args:
            command_node = task.pos_args[0].value
        if command_node is None:
            plan.manual(task, "IX302", "BashOperator without a bash_command")
            command = "''"
        else:
            const = const_value(command_node, task, plan.analyzer)
            if isinstance(const, Const) and isinstance(const.value, str) and const.value.endswith((".sh", ".bash")):
                plan.manual(task, "IX302", "bash_command names a script template file; render and run it by hand")
            command = template_expr(command_node, task, dag, plan, params, "bash_command")
            skip_node = task.kwargs.get("skip_on_exit_code", task.kwargs.get("skip_exit_code"))
            skip_code = const_value(skip_node, task, plan.analyzer) if skip_node is not None else Const(99)
            codes = skip_code.value if isinstance(skip_code, Const) else None
            codes = [codes] if isinstance(codes, int) else list(codes or [])
            text = const.value if isinstance(const, Const) and isinstance(const.value, str) else None
            if text is None or any(re.search(rf"\bexit\s+{c}\b", text) for c in codes):
                task.options["_may_skip"] = True
        extra = []
        env = task.kwargs.get("env")
        if env is not None:
            if isinstance(env, cst.Dict) and all(isinstance(e, cst.DictElement) for e in env.elements):
                items = [
                    f"{code_of(e.key).strip()}: {template_expr(e.value, task, dag, plan, params, 'env')}"  # type: ignore[union-attr]
                    for e in env.elements
                ]
                extra.append("env={" + ", ".join(items) + "}")
            else:  # a dict known at run time: Airflow renders its values
                extra.append(f"env={template_expr(env, task, dag, plan, params, 'env')}")
        if "output_processor" in task.kwargs:
            extra.append(f"output_processor={plan.substitute(task.kwargs['output_processor'], task, dag)}")
        for arg in ("append_env", "cwd", "output_encoding"):
            if arg in task.kwargs:
                extra.append(f"{arg}={params.add(arg, plan.substitute(task.kwargs[arg], task, dag))}")
        skip = task.kwargs.get("skip_on_exit_code", task.kwargs.get("skip_exit_code"))
        if skip is not None:
            extra.append(f"skip_on_exit_code={params.add('skip_on_exit_code', plan.substitute(skip, task, dag))}")
        fname = plan.unique(ident(task.task_id))
        decorator = ", ".join(decorator_kwargs(task, None if fname == task.task_id else task.task_id))
        body_args = ", ".join([command, *extra])
        pushes = f"pushed={PUSHED}" in body_args
        inline = None if pushes else _subprocess_body(plan, task, command, extra, params)
        literal = task.options.get("_literal_pushes") or {}
        known = "{" + ", ".join(f"{k!r}: {v!r}" for k, v in literal.items()) + "}"  # pushed while rendering
        if literal and inline is not None:
            # every XCom the task pushes, as Airflow stores them: the pushed keys and the result
            last = "    return output.rstrip('\\n').split('\\n')[-1].rstrip()\n"
            items = "".join(f"{k!r}: {v!r}, " for k, v in literal.items())
            body = inline.replace(last, f"    return {{{items}'return_value': output.rstrip('\\n').split('\\n')[-1].rstrip()}}\n")
        elif pushes:  # the runtime records the other pushes while it renders
            plan.need("airflow_interop.runtime", "with_xcoms", "run_bash")
            body = f"    {PUSHED} = {known}\n    return with_xcoms(run_bash({body_args}), {PUSHED})\n"
        elif literal:
            plan.need("airflow_interop.runtime", "with_xcoms", "run_bash")
            body = f"    return with_xcoms(run_bash({body_args}), {known})\n"
        elif inline is not None:
            body = inline
        else:
            plan.need("airflow_interop.runtime", "run_bash")
            body = f"    return run_bash({body_args})\n"
        sig = ", ".join(params.items)
        source = (
            (f"@task({decorator})\n" if decorator else "@task\n")
            + f"def {fname}({sig}):\n"
            f'    """{task.operator} {task.task_id!r}."""\n'
            f"{body}"
        )
        plan.generated.setdefault(dag.dag_id, []).append(source)
        plan.need("prefect", "task")
        task.function_name = fname
        task.call_kwargs = dict(params.items)
        task.returns = "xcoms" if pushes or literal else "value"
        task.options["_generated"] = True
