"""What every rule may ask about the file being linted, computed once per file.

The :class:`FileContext` is built from one parse of the file by walking statements only
(never expressions), which is cheap: the import table (local name -> qualified name), the
Prefect tasks and flows the file defines, and the conversion report when ``--report`` was
given. Rules share it instead of re-deriving it (the Fixit/LibCST lesson: resolve once per
file, share with every rule; full scope analysis is not needed and costs ~7x).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import libcst as cst

from interop.lint import names


@dataclass
class TaskDef:
    """A function the file decorates with Prefect's ``@task`` or ``@flow``.

    Attributes:
        function: The function's name in the file.
        name: The ``name=`` given to the decorator (``None`` if none was given).
        decorator: The decorator node (``@task`` or ``@task(...)``).
        kwargs: The decorator's keyword arguments, by name.
        node: The function definition.
    """

    function: str
    name: str | None
    decorator: cst.Decorator
    kwargs: dict[str, cst.Arg]
    node: cst.FunctionDef
    #: made by ``t = task(f)``: ``decorator`` and ``node`` are stand-ins, not in the tree
    synthetic: bool = False


@dataclass
class ReportIndex:
    """The per-task options of a conversion report, by DAG id then task id."""

    dags: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ReportIndex":
        """Index a report as written by ``interop convert --report``.

        Raises:
            ValueError: The data has no ``files`` list (not a conversion report).
        """
        if not isinstance(data, dict) or not isinstance(data.get("files"), list):
            found = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"not a conversion report: expected a 'files' list, found keys {found}")
        dags: dict[str, dict[str, dict[str, Any]]] = {}
        for entry in data["files"]:
            for dag in entry.get("dags") or []:
                tasks = dags.setdefault(str(dag.get("dag_id")), {})
                for t in dag.get("tasks") or []:
                    tasks[str(t.get("task_id"))] = dict(t.get("options") or {})
        return cls(dags)


class FileContext:
    """Facts about one file, shared by every rule that lints it.

    Args:
        path: The file's path as it is shown in findings.
        source: The file's text.
        module: The parsed module (parsed once, by the engine).
        report: The conversion report index, when ``--report`` was given.
    """

    def __init__(self, path: str, source: str, module: cst.Module, report: ReportIndex | None = None):
        self.path = path
        self.source = source
        self.module = module
        self.report = report
        #: local name -> qualified name, from every import statement of the file
        self.imports: dict[str, str] = {}
        #: Prefect tasks by function name
        self.tasks: dict[str, TaskDef] = {}
        #: Prefect flows by function name
        self.flows: dict[str, TaskDef] = {}
        #: functions handed to ``airflow_interop.runtime.airflow_callback(...)`` in a decorator
        self.callbacks: set[str] = set()
        #: functions of the file that call their argument with a context dict (the converter's
        #: ``task_callback`` / ``flow_callback`` adapters): name -> the keys of that dict
        self.adapters: dict[str, frozenset[str]] = {}
        #: callbacks handed to such an adapter: name -> the keys they get
        self.callback_keys: dict[str, frozenset[str]] = {}
        #: functions of the file that render their first argument as a Jinja template
        #: (``env.from_string(template).render(...)``: the converter's ``render_jinja``)
        self.renderers: set[str] = set()
        #: memo of :meth:`qualified` by node id (every rule asks about the same calls; the
        #: module, and so every node, lives as long as this context)
        self._qualified: dict[int, str | None] = {}
        self._scan(module.body, top=True)
        self._qualified.clear()  # answers given while the import table was still filling

    # -- name resolution -------------------------------------------------------------
    def qualified(self, expr: cst.BaseExpression) -> str | None:
        """The dotted name ``expr`` refers to, through the file's imports.

        ``PO`` after ``from airflow.operators.python import PythonOperator as PO`` gives
        ``airflow.operators.python.PythonOperator``; a name not imported gives itself;
        anything that is not a name or attribute chain gives ``None``.
        """
        key = id(expr)
        if key in self._qualified:
            return self._qualified[key]
        dotted = dotted_name(expr)
        if dotted is None:
            found = None
        else:
            head, _, rest = dotted.partition(".")
            target = self.imports.get(head)
            found = dotted if target is None else (f"{target}.{rest}" if rest else target)
        self._qualified[key] = found
        return found

    def called_task(self, call: cst.Call) -> tuple[str, str] | None:
        """``(function name, how)`` when ``call`` calls a task or flow of this file.

        ``how`` is ``"call"``, ``"submit"`` or ``"map"``; ``t(...)``, ``t.submit(...)``,
        ``t.map(...)`` and ``t.with_options(...).submit(...)`` are recognised.
        """
        func = call.func
        how = "call"
        if isinstance(func, cst.Attribute) and func.attr.value in ("submit", "map"):
            how = func.attr.value
            func = func.value
        if (
            isinstance(func, cst.Call)
            and isinstance(func.func, cst.Attribute)
            and func.func.attr.value == "with_options"
        ):
            func = func.func.value
            if how == "call":
                return None  # t.with_options(...) makes a task, it does not run one
        if isinstance(func, cst.Name) and (func.value in self.tasks or func.value in self.flows):
            return func.value, how
        return None

    def is_task_call(self, call: cst.Call) -> bool:
        """Whether ``call`` calls a task or flow of this file (plainly, ``.submit`` or ``.map``)."""
        return self.called_task(call) is not None

    def is_submit_call(self, call: cst.Call) -> bool:
        """Whether ``call`` is ``<task>.submit(...)`` or ``<task>.map(...)``: it returns futures."""
        found = self.called_task(call)
        return found is not None and found[1] != "call" and found[0] in self.tasks

    # -- the statement walk --------------------------------------------------------------
    def _scan(self, body: Any, top: bool) -> None:
        for stmt in iter_statements(body):
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self._add_import(small)
                    elif isinstance(small, cst.Assign):
                        self._add_assigned_task(small)
            elif isinstance(stmt, cst.FunctionDef):
                if top:
                    self._add_adapter(stmt)
                    self._add_renderer(stmt)
                self._add_function(stmt)

    def is_render_call(self, call: cst.Call) -> bool:
        """Does ``call`` render a Jinja template at run time (``airflow_interop.runtime.render_template``,
        or a function of the file that renders its first argument)?"""
        if isinstance(call.func, cst.Name) and call.func.value in self.renderers and call.func.value not in self.imports:
            return True
        return self.qualified(call.func) in names.RENDER_TEMPLATE

    def _add_renderer(self, fn: cst.FunctionDef) -> None:
        params = fn.params.params
        if not params:
            return
        first = params[0].name.value
        for node in iter_calls(fn.body):
            if (
                isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "from_string"
                and len(node.args) == 1
                and isinstance(node.args[0].value, cst.Name)
                and node.args[0].value.value == first
            ):
                self.renderers.add(fn.name.value)
                return

    def _add_import(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.imports[alias.asname.name.value] = full
                else:
                    head = full.split(".")[0]
                    self.imports.setdefault(head, head)
            return
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = dotted_name(node.module) or ""
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self.imports[local] = f"{module}.{name}"

    def _decorator_kind(self, deco: cst.Decorator) -> str | None:
        expr = deco.decorator
        if isinstance(expr, cst.Call):
            expr = expr.func
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        qual = self.qualified(expr)
        if qual in names.PREFECT_TASK or (dotted == "task" and "task" not in self.imports):
            return "task"
        if qual in names.PREFECT_FLOW or (dotted == "flow" and "flow" not in self.imports):
            return "flow"
        return None

    def _add_adapter(self, fn: cst.FunctionDef) -> None:
        """``def task_callback(callback): ... callback({"ti": ..., ...})``: an adapter that hands
        its callback a dict of context keys (what the converter writes for a file's callbacks)."""
        if not fn.params.params or any(p.default is None for p in fn.params.params[1:]):
            return  # ``(callback)``, or ``(callback, retry=False)``
        param = fn.params.params[0].name.value
        for call in iter_calls(fn.body):
            if (
                isinstance(call.func, cst.Name) and call.func.value == param and len(call.args) == 1
                and isinstance(call.args[0].value, cst.Dict)
            ):
                keys = [string_value(e.key) for e in call.args[0].value.elements if isinstance(e, cst.DictElement)]
                if all(isinstance(k, str) for k in keys):
                    self.adapters[fn.name.value] = frozenset(keys)  # type: ignore[arg-type]
                return

    def _add_callbacks(self, expr: cst.BaseExpression) -> None:
        if isinstance(expr, (cst.List, cst.Tuple)):
            for el in expr.elements:
                self._add_callbacks(el.value)
        elif isinstance(expr, cst.Call):
            if self.qualified(expr.func) in names.AIRFLOW_CALLBACK:
                if expr.args and isinstance(expr.args[0].value, cst.Name):
                    self.callbacks.add(expr.args[0].value.value)
                return
            if isinstance(expr.func, cst.Name) and expr.func.value in self.adapters and expr.func.value not in self.imports:
                if expr.args and isinstance(expr.args[0].value, cst.Name) and all(a.keyword is not None for a in expr.args[1:]):
                    self.callbacks.add(expr.args[0].value.value)
                    self.callback_keys[expr.args[0].value.value] = self.adapters[expr.func.value]
                return
            for arg in expr.args:
                self._add_callbacks(arg.value)

    def _add_function(self, fn: cst.FunctionDef) -> None:
        for deco in fn.decorators:
            if isinstance(deco.decorator, cst.Call):
                self._add_callbacks(deco.decorator)
        for deco in fn.decorators:
            kind = self._decorator_kind(deco)
            if kind is None:
                continue
            kwargs: dict[str, cst.Arg] = {}
            if isinstance(deco.decorator, cst.Call):
                kwargs = {a.keyword.value: a for a in deco.decorator.args if a.keyword is not None}
            name = string_value(kwargs["name"].value) if "name" in kwargs else None
            td = TaskDef(fn.name.value, name, deco, kwargs, fn)
            (self.tasks if kind == "task" else self.flows)[fn.name.value] = td
            return

    def _add_assigned_task(self, assign: cst.Assign) -> None:
        # t = task(f) / t = task(name="x")(f) / t = airflow_task(Op(...), name="x")
        value = assign.value
        if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
            return
        if not isinstance(value, cst.Call):
            return
        func = value.func.func if isinstance(value.func, cst.Call) else value.func
        qual = self.qualified(func)
        if qual in names.PREFECT_TASK or self.qualified(value.func) in names.TASK_FACTORIES:
            target = assign.targets[0].target.value
            fake = cst.FunctionDef(name=cst.Name(target), params=cst.Parameters(), body=cst.IndentedBlock(body=[]))
            self.tasks[target] = TaskDef(target, None, cst.Decorator(decorator=func), {}, fake, synthetic=True)


def iter_statements(body: Any) -> Iterator[cst.CSTNode]:
    """Every statement under ``body``, in source order, recursing into compound statements,
    functions and classes (expressions are never walked)."""
    for stmt in body:
        yield stmt
        yield from iter_statements(_child_statements(stmt))


def _child_statements(stmt: cst.CSTNode) -> list[cst.CSTNode]:
    children: list[cst.CSTNode] = []
    for attr in ("body", "orelse", "finalbody"):
        part = getattr(stmt, attr, None)
        if isinstance(part, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            children.extend(part.body)
        elif isinstance(part, cst.If):  # elif
            children.append(part)
        elif isinstance(part, (cst.Else, cst.Finally)):
            children.extend(part.body.body)
    for handler in getattr(stmt, "handlers", ()) or ():
        children.extend(handler.body.body)
    for case in getattr(stmt, "cases", ()) or ():
        children.extend(case.body.body)
    return children


def dotted_name(expr: cst.CSTNode) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else ``None``."""
    parts: list[str] = []
    while isinstance(expr, cst.Attribute):
        parts.append(expr.attr.value)
        expr = expr.value
    if not isinstance(expr, cst.Name):
        return None
    parts.append(expr.value)
    return ".".join(reversed(parts))


def string_value(expr: cst.BaseExpression) -> str | None:
    """The value of a plain string literal (or concatenation of them), else ``None``."""
    if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString)):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def iter_calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    """Every call under ``node``."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Call):
            yield current
        stack.extend(current.children)
