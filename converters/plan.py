"""The conversion plan that rules fill in and the emitter turns into a module."""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from converters.analysis import Analyzer, FileModel, code_of
from converters.callables import MARKER, ident
from converters.walk import Pruned, bound_names, find, names_in
from converters.model import Const, Dag, Finding, Task, XComArgRef, TaskRef
from converters import assets as _assets
from converters.variables import Survey, rewrite_variables


#: DAG attributes that hold the constructor's argument as written, in Airflow 2 and 3 (the dates
#: only in UTC): kept code reading them reads the argument (:meth:`Plan.dag_attribute`)
_DAG_ATTRIBUTES = frozenset({"schedule_interval", "start_date", "end_date", "description", "catchup", "max_active_runs"})


@dataclass
class Plan:
    """Shared state of one file's conversion."""

    analyzer: Analyzer
    model: FileModel
    path: str
    #: id(module-level statement) -> statements that replace it ([] removes it)
    replace: dict[int, list[cst.BaseStatement]] = field(default_factory=dict)
    #: id(FunctionDef anywhere) -> its rewritten form
    functions: dict[int, cst.FunctionDef] = field(default_factory=dict)
    #: generated @task functions placed before each DAG's flow, by dag_id
    generated: dict[str, list[str]] = field(default_factory=dict)
    imports: dict[str, set[str]] = field(default_factory=dict)
    #: callable name -> tasks that use it
    callable_uses: dict[str, list[Task]] = field(default_factory=dict)
    future_names: dict[tuple[str, str], str] = field(default_factory=dict)
    taken_names: set[str] = field(default_factory=set)
    serve: list[tuple[Dag, dict[str, str]]] = field(default_factory=list)
    #: names used to build operators run through the shim (their Airflow imports are expected)
    shim_names: set[str] = field(default_factory=set)
    #: name -> line of the first module-level statement that binds it (see :meth:`bound_before`)
    _first_bound: dict[str, int] | None = None
    #: callable name -> literal ``op_kwargs`` keys its tasks pass (``python_operator``, built once)
    op_kwargs_keys: dict[str, frozenset[str]] | None = None
    #: the file's uses of Airflow's ``Variable`` (:mod:`converters.variables`, read once)
    variables: Survey | None = None
    #: the file's assets (``converters.assets``), read once
    assets: Any = None
    #: module-level helper functions a rule generates, name -> source: printed after the imports
    #: (they read only the standard library and Prefect), so every decorator can call them
    helpers: dict[str, str] = field(default_factory=dict)
    #: (line, count) of kept statements whose ``dag=<DAG variable>`` arguments were left out (IX114 once)
    _dag_args_noted: set[tuple[int, int]] = field(default_factory=set)
    # ---- names of the output's helper functions, and what rules read once per file
    #: the output's ``skipped_task`` (``branching``) and ``in_seconds`` (``task_options``) names
    skipped_task_name: str | None = None
    seconds_helper: str | None = None
    #: callback adapter kind (``task`` / ``flow``) -> its name and the context keys it gives
    callback_adapters: dict[str, tuple[str, set[str]]] = field(default_factory=dict)
    #: (callback source, kind) already noted IX206
    callback_notes: set[tuple[str, str]] = field(default_factory=set)
    #: id(callback expression) -> (it, does it read ``macros`` / ``var``)
    runtime_key_reads: dict[int, tuple[cst.CSTNode, bool]] = field(default_factory=dict)
    #: (id(callback function), kind) -> (it, the context keys it reads or None)
    callback_key_reads: dict[tuple[int, str], tuple[cst.FunctionDef, Any]] = field(default_factory=dict)
    #: what the plain templates of the file's DAGs need (``plain_templates.Needs``)
    render_needs: Any = None
    #: callable name -> its rewrite (``python_operator``); id(TaskFlow function) -> its rewrite
    callable_rewrites: dict[str, Any] = field(default_factory=dict)
    taskflow_rewrites: dict[int, Any] = field(default_factory=dict)
    #: (line, comment) of every comment of the DAG file (``emit``, read once)
    source_comments: list[tuple[int, str]] | None = None

    def need(self, module: str, *names: str) -> None:
        self.imports.setdefault(module, set()).update(names)

    def finding(self, code: str, line: int, message: str, manual: bool = False) -> None:
        self.model.findings.append(Finding(code, line, message, manual))

    def manual(self, task: Task, code: str, message: str) -> None:
        task.disposition = "manual"
        self.finding(code, task.line, f"task {task.task_id!r}: {message}", manual=True)
        task.options.setdefault("_markers", []).append(MARKER.format(code=code, message=message))

    def unique(self, base: str) -> str:
        name = base
        n = 2
        while name in self.taken_names:
            name = f"{base}_{n}"
            n += 1
        self.taken_names.add(name)
        return name

    def future(self, dag: Dag, task_id: str) -> str:
        key = (dag.dag_id, task_id)
        if key not in self.future_names:
            self.future_names[key] = self.unique(f"{ident(task_id)}_future")
        return self.future_names[key]

    def function_for(self, name: str) -> cst.FunctionDef | None:
        return self.model.functions.get(name) or self.model.taskflow_functions.get(name)

    def static_id(self, node: cst.BaseExpression) -> str | None:
        """``other_dag.dag_id`` / ``some_task.task_id`` on a DAG or task variable of this file: the
        id itself (the objects no longer exist once converted; ``ExternalTaskSensor`` args ...)."""
        if not isinstance(node, cst.Attribute) or not isinstance(node.value, cst.Name):
            return None
        var = node.value.value
        if node.attr.value == "dag_id":
            ids = {d.dag_id for d in self.model.dags if d.dag_var == var}
        elif node.attr.value == "task_id":
            ids = {t.task_id for d in self.model.dags for t in d.tasks.values() if t.var == var}
        else:
            return None
        return ids.pop() if len(ids) == 1 else None

    def dag_attribute(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        """``dag.start_date`` / ``dag.schedule_interval`` ... on a DAG variable of this file: the
        constructor's argument as written (``default_args`` for the dates), where the DAG object
        holds that very value (a date only as ``pendulum.datetime(...)`` in UTC: Airflow converts
        other dates to UTC) and it reads nothing but imports and builtins; else None."""
        if not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.attr.value in _DAG_ATTRIBUTES):
            return None
        dags = [d for d in self.model.dags if d.dag_var == node.value.value]
        if len(dags) != 1:
            return None
        attr = node.attr.value
        value = dags[0].kwargs.get(attr)
        if value is None and attr in ("start_date", "end_date"):
            value = dags[0].default_args.get(attr)
        if value is None:
            return None  # Airflow's default, not written in the file
        if attr in ("start_date", "end_date") and not self._utc_pendulum(value):
            return None
        try:
            read = {n.id for n in ast.walk(ast.parse(code_of(value).strip(), mode="eval")) if isinstance(n, ast.Name)}
        except SyntaxError:
            return None
        if any(n not in self.model.imports and not hasattr(builtins, n) for n in read):
            return None
        return value.deep_clone()

    def _utc_pendulum(self, value: cst.BaseExpression) -> bool:
        if not isinstance(value, cst.Call) or self.analyzer.qualname(value.func) != "pendulum.datetime":
            return False
        tz = [a.value for a in value.args if a.keyword is not None and a.keyword.value in ("tz", "tzinfo")]
        positional = [a for a in value.args if a.keyword is None]
        return len(positional) <= 7 and (
            not tz or (isinstance(tz[0], cst.SimpleString) and str(tz[0].evaluated_value).upper() == "UTC")
        )

    def static_attribute(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        """What kept code reads in place of ``dag.dag_id``, ``task.task_id``, ``dag.start_date`` ...
        (see :meth:`static_id`, :meth:`dag_attribute`), or None."""
        known = self.static_id(node)
        return cst.SimpleString(repr(known)) if known is not None else self.dag_attribute(node)

    def reads_only_statically(self, stmt: cst.CSTNode, var: str) -> bool:
        """Does ``stmt`` read ``var`` (a DAG or task variable) only as attributes written in place
        (:meth:`static_attribute`)?"""
        bases = {
            id(a.value) for a in find(stmt, cst.Attribute)
            if isinstance(a.value, cst.Name) and a.value.value == var and self.static_attribute(a) is not None
        }
        return all(id(n) in bases for n in find(stmt, cst.Name) if n.value == var)

    def airflow_major(self) -> int:
        """3 when the file imports what only Airflow 3 has (``airflow.sdk``), else 2 (1.10/2.x)."""
        return 3 if any(qn == "airflow.sdk" or qn.startswith("airflow.sdk.") for qn in self.model.imports.values()) else 2

    def bound_before(self, name: str, line: int) -> bool:
        """Is ``name`` bound by a statement of the original module before ``line`` (a builtin or
        a name a rule imports counts as bound)? A decorator evaluated at ``line`` can read it."""
        if self._first_bound is None:
            first: dict[str, int] = {}
            for stmt in self.model.module.body:
                at = self.analyzer.positions.line(stmt) or 0
                for bound in bound_names(stmt):
                    first.setdefault(bound, at)
            self._first_bound = first
        if name in self._first_bound:
            return self._first_bound[name] < line
        return name in self.helpers or hasattr(builtins, name) or any(name in names for names in self.imports.values())

    def asset_outlets(self, task: Task) -> bool:
        """The task's ``outlets`` are assets the flow materializes (``converters.assets``)."""
        return _assets.converts_outlets(self, task)

    def asset_trigger(self, dag: Dag, node: cst.BaseExpression) -> str | None:
        """``serve(triggers=...)`` source for a schedule on one asset (the facts go to ``dag.deployment``), or None."""
        key = _assets.schedule_trigger(self, dag, node)
        if key is None:
            return None
        dag.deployment["schedules"] = []
        dag.deployment["triggers"] = [_assets.trigger_facts(key)]
        self.need("prefect.events", "DeploymentEventTrigger")
        return _assets.trigger_source(key)

    def split_late_options(self, options: list[str], line: int) -> tuple[list[str], list[str]]:
        """``name=value`` option fragments for a function defined at ``line``: those a decorator
        there can evaluate, and those reading a name bound only later (a callback defined further
        down, or in the DAG body) which go to the call in the flow (``.with_options``)."""
        early: list[str] = []
        late: list[str] = []
        for option in options:
            _, _, value = option.partition("=")
            try:  # names read as variables (not attribute or keyword names: ``x.get(k, default=d)``)
                read = {n.id for n in ast.walk(ast.parse(value.strip(), mode="eval")) if isinstance(n, ast.Name)}
            except SyntaxError:
                read = set()
            (late if any(not self.bound_before(n, line) for n in read) else early).append(option)
        return early, late

    def kept(self, stmt: cst.BaseStatement) -> cst.BaseStatement:
        """A statement the output keeps, as it is printed: its rewrite if a rule made one, with
        ``dag.dag_id`` / ``t.task_id`` of this file's DAG and task variables written as the ids
        (the objects no longer exist once converted)."""
        line = self.analyzer.positions.line(stmt) or 0
        if isinstance(stmt, cst.FunctionDef) and id(stmt) in self.functions:
            stmt = self.functions[id(stmt)]
        stmt = rewrite_variables(self, stmt)  # Airflow Variables read as Prefect Variables
        stmt = _assets.rewrite_definition(self, stmt)  # an asset definition as Prefect's Asset
        dag_vars = {d.dag_var for d in self.model.dags if d.dag_var}
        dag_args = [
            a for a in find(stmt, cst.Arg)
            if a.keyword is not None and a.keyword.value == "dag" and isinstance(a.value, cst.Name) and a.value.value in dag_vars
        ]
        if not dag_args and not any(
            (a.attr.value in ("dag_id", "task_id") or a.attr.value in _DAG_ATTRIBUTES)
            and isinstance(a.value, cst.Name) and self.static_attribute(a) is not None
            for a in find(stmt, cst.Attribute)
        ):
            return stmt
        plan = self
        if dag_args and (line, len(dag_args)) not in self._dag_args_noted:
            self._dag_args_noted.add((line, len(dag_args)))
            self.finding(
                "IX114", line,
                f"`dag={dag_args[0].value.value}` left out of {len(dag_args)} operator(s) this code builds at run time: "  # type: ignore[attr-defined]
                "the DAG object no longer exists; each runs without it (the DAG's default_args do not apply)",
            )
        removed = {id(a) for a in dag_args}

        class StaticIds(Pruned, cst.CSTTransformer):
            def leave_Attribute(self, original, updated):  # noqa: ANN001
                known = plan.static_attribute(original)
                return known if known is not None else updated

            def leave_Call(self, original, updated):  # noqa: ANN001
                if not any(id(a) in removed for a in original.args):
                    return updated
                args = [new for old, new in zip(original.args, updated.args) if id(old) not in removed]
                last = original.args[-1]
                if args and id(last) in removed:
                    # the last argument goes: the one before it ends the call as it did
                    end = args[-1]
                    comma = end.comma
                    if isinstance(comma, cst.Comma):
                        comma = comma.with_changes(whitespace_after=cst.SimpleWhitespace(""))
                    if not isinstance(last.comma, cst.Comma):
                        comma = cst.MaybeSentinel.DEFAULT
                    args[-1] = end.with_changes(comma=comma, whitespace_after_arg=last.whitespace_after_arg)
                return updated.with_changes(args=args)

        return stmt.visit(StaticIds())  # type: ignore[return-value]

    def _substitutes_nothing(self, node: cst.BaseExpression, task: Task, env: dict[str, Any]) -> bool:
        """Is ``node`` sure to come out of :meth:`substitute` as written? Most arguments are (a
        string, a number, a module-level name): they skip its transformer (a walk and a rebuild of
        every node, 5% of the corpus's convert time). Sure when no name under it is bound in the
        task's loop environment or reads an id (``t.task_id``), no call under it makes a task or
        an XComArg, and no f-string is there to have its constants inlined."""
        read = names_in(node)
        if read & env.keys() or read & {"dag_id", "task_id", "XComArg", "PlainXComArg"}:
            return False
        if find(node, cst.FormattedString):
            return False
        arg_calls = task.options.get("_arg_calls", {})
        call_tasks = self.model.call_tasks
        return not any(id(c) in arg_calls or id(c) in call_tasks for c in find(node, cst.Call))

    def substitute(self, node: cst.BaseExpression, task: Task, dag: Dag, blocking: list[str] | None = None) -> str:
        """Source of ``node`` for the flow body: loop constants inlined, XComArgs -> futures."""
        env: dict[str, Any] = task.options.get("_env", {})
        if self._substitutes_nothing(node, task, env):
            return code_of(node).strip()
        plan = self

        class Sub(Pruned, cst.CSTTransformer):
            def _ref(self, original: cst.BaseExpression) -> Any:
                if isinstance(original, cst.Name):
                    return env.get(original.value)
                if isinstance(original, cst.Call) and plan.model.call_tasks.get(id(original)):
                    return None
                if isinstance(original, cst.Attribute) and original.attr.value == "output":
                    base = self._ref(original.value)
                    return XComArgRef(base.task_id) if isinstance(base, TaskRef) else None
                if (
                    isinstance(original, cst.Subscript)
                    and len(original.slice) == 1
                    and isinstance(original.slice[0].slice, cst.Index)
                    and isinstance(original.slice[0].slice.value, cst.SimpleString)
                ):
                    base = self._ref(original.value)
                    if isinstance(base, XComArgRef) and base.key == "return_value":
                        return XComArgRef(base.task_id, original.slice[0].slice.value.evaluated_value)
                return None

            def _replace(self, original: cst.BaseExpression, updated: cst.BaseExpression) -> cst.BaseExpression:
                known = plan.static_id(original)
                if known is not None:
                    return cst.SimpleString(repr(known))
                ref = self._ref(original)
                if isinstance(original, cst.Name) and isinstance(ref, list) and ref and all(
                    isinstance(r, (XComArgRef, TaskRef)) and r.task_id in dag.tasks for r in ref
                ):
                    # results = [a(), b()]; f(results): the list is rebuilt from the futures in the flow
                    return cst.List([cst.Element(self._one(r, updated)) for r in ref])
                return self._one(ref, updated, original)

            def _one(self, ref: Any, updated: cst.BaseExpression, original: cst.BaseExpression | None = None) -> cst.BaseExpression:
                if isinstance(ref, (XComArgRef, TaskRef)) and ref.task_id in dag.tasks and dag.tasks[ref.task_id].kind in ("empty", "unsupported"):
                    # the upstream is not a task of the flow (removed, or left to a hand): no value to pass
                    plan.manual(task, "IX107", f"reads the result of {ref.task_id!r}, which the flow does not run; pass the value in by hand")
                    return cst.Name("None")
                if isinstance(ref, (XComArgRef, TaskRef)) and ref.task_id in dag.tasks:
                    up = dag.tasks[ref.task_id]
                    fut = plan.future(dag, ref.task_id)
                    key = ref.key if isinstance(ref, XComArgRef) else "return_value"
                    if key == "return_value" and up.returns != "xcoms":
                        task.data_inputs[fut] = ref.task_id
                        return cst.Name(fut)
                    if blocking is not None:
                        blocking.append(ref.task_id)
                    plan.need("prefect.utilities.annotations", "quote")
                    return cst.parse_expression(f"quote({fut}.result()[{key!r}])")
                if original is not None and isinstance(original, cst.Name) and isinstance(ref, Const) and original.value in task.options.get("_loop_vars", set()):
                    try:
                        return cst.parse_expression(repr(ref.value))
                    except Exception:  # noqa: BLE001
                        return updated
                return updated

            def leave_Call(self, original, updated):  # noqa: ANN001
                func = original.func
                called = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
                if called in ("XComArg", "PlainXComArg"):
                    plan.analyzer._dag = dag
                    ref = plan.analyzer.eval(original, dict(env))
                    if isinstance(ref, XComArgRef) and ref.task_id in dag.tasks:
                        up = dag.tasks[ref.task_id]
                        fut = plan.future(dag, ref.task_id)
                        if ref.key == "return_value" and up.returns != "xcoms":
                            task.data_inputs[fut] = ref.task_id
                            return cst.Name(fut)
                        if blocking is not None:
                            blocking.append(ref.task_id)
                        if up.returns != "xcoms":
                            return cst.Name("None")
                        plan.need("prefect.utilities.annotations", "quote")
                        return cst.parse_expression(f"quote({fut}.result().get({ref.key!r}))")
                tid = task.options.get("_arg_calls", {}).get(id(original)) or plan.model.call_tasks.get(id(original))
                if tid is not None and tid in dag.tasks:
                    up = dag.tasks[tid]
                    fut = plan.future(dag, tid)
                    if up.returns != "xcoms":
                        task.data_inputs[fut] = tid
                        return cst.Name(fut)
                    if blocking is not None:
                        blocking.append(tid)
                    plan.need("prefect.utilities.annotations", "quote")
                    return cst.parse_expression(f"quote({fut}.result()['return_value'])")
                return updated

            def leave_Name(self, original, updated):  # noqa: ANN001
                return self._replace(original, updated)

            def visit_Attribute(self, node: cst.Attribute) -> bool:
                # t.task_id is the id, not t's result: its name is no data input of the task
                return plan.static_id(node) is None

            def leave_Attribute(self, original, updated):  # noqa: ANN001
                return self._replace(original, updated)

            def leave_Subscript(self, original, updated):  # noqa: ANN001
                return self._replace(original, updated)

            def leave_FormattedString(self, original, updated):  # noqa: ANN001
                # loop constants put into an f-string are written into its text: a quoted
                # literal inside the braces is valid only from Python 3.12
                return inline_fstring_constants(updated)

        new = node.visit(Sub())
        return code_of(new).strip()


def inline_fstring_constants(node: cst.FormattedString) -> cst.BaseExpression:
    """``f'move_{'yellow'}'`` -> ``'move_yellow'``: the parts of an f-string whose expression is
    a literal are formatted into its text (as Python would at run time); a string literal left
    inside the braces is re-quoted so that it differs from the f-string's quote (Python 3.10)."""
    raw = "r" in node.prefix.lower()
    quote = node.quote[0]
    parts: list[cst.BaseFormattedStringContent] = []
    changed = False
    for part in node.parts:
        text = _formatted_constant(part, quote, raw)
        if text is None:
            if isinstance(part, cst.FormattedStringExpression):
                requoted = part.expression.visit(_Requote(quote))
                if requoted is not part.expression:
                    part = part.with_changes(expression=requoted)
                    changed = True
            parts.append(part)
            continue
        changed = True
        if parts and isinstance(parts[-1], cst.FormattedStringText):
            parts[-1] = cst.FormattedStringText(parts[-1].value + text)
        else:
            parts.append(cst.FormattedStringText(text))
    if not changed:
        return node
    if all(isinstance(p, cst.FormattedStringText) for p in parts):
        prefix = node.prefix.replace("f", "").replace("F", "")
        body = "".join(p.value for p in parts).replace("{{", "{").replace("}}", "}")  # type: ignore[union-attr]
        return cst.SimpleString(f"{prefix}{node.quote}{body}{node.quote}", lpar=node.lpar, rpar=node.rpar)
    return node.with_changes(parts=parts)


def _formatted_constant(part: cst.BaseFormattedStringContent, quote: str, raw: bool) -> str | None:
    """The source text of a ``{literal}`` part of an f-string, formatted; None if it is not one."""
    if not isinstance(part, cst.FormattedStringExpression) or part.equal is not None:
        return None
    if part.format_spec and not all(isinstance(p, cst.FormattedStringText) for p in part.format_spec):
        return None
    try:
        value = ast.literal_eval(code_of(part.expression).strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    conversion = {"r": repr, "a": ascii, "s": str}.get(part.conversion or "", None)
    spec = "".join(p.value for p in part.format_spec or ()).replace("{{", "{").replace("}}", "}")  # type: ignore[union-attr]
    try:
        text = format(conversion(value) if conversion else value, spec)
    except (ValueError, TypeError):
        return None
    if raw:
        if any(c in text for c in ("\\", quote, "\n", "\r")) or not text.isprintable():
            return None
        escaped = text
    else:
        escaped = "".join(_escape(c, quote) for c in text)
    return escaped.replace("{", "{{").replace("}", "}}")


def _escape(c: str, quote: str) -> str:
    if c == "\\" or c == quote:
        return "\\" + c
    if c.isprintable():
        return c
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c) or repr(c)[1:-1]


class _Requote(Pruned, cst.CSTTransformer):
    """String literals inside an f-string's braces written with the other quote."""

    def __init__(self, quote: str) -> None:
        self.quote = quote

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.SimpleString:
        if updated.quote[0] != self.quote or len(updated.quote) != 1:
            return updated
        other = '"' if self.quote == "'" else "'"
        body = updated.value[len(updated.prefix) + 1 : -1]
        if other in body or "\\" in body:
            return updated
        return updated.with_changes(value=f"{updated.prefix}{other}{body}{other}")


def const_value(node: cst.BaseExpression | None, task: Task | None, analyzer: Analyzer) -> Any:
    """The static value of an argument, with the task's loop constants bound; or None."""
    if node is None:
        return None
    env = dict(task.options.get("_env", {})) if task else {}
    analyzer._dag = None  # type: ignore[assignment]
    try:
        value = analyzer.eval(node, env)
    except Exception:  # noqa: BLE001
        return None
    return value
