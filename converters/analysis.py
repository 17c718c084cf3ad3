"""Build the analysed model of a DAG file from its libcst tree.

One pass over the module: an import table (local name -> qualified name), module constants,
top-level functions, then every DAG found (``with DAG(...)``, ``dag = DAG(...)`` with
``dag=dag``, ``@dag`` functions). A DAG body is evaluated statically: loops over literal
iterables are unrolled, lists of tasks and ``>>`` chains become edges. Nothing is imported or
executed.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Iterable

import libcst as cst

from converters.walk import Lines, calls_in, children, dotted, find, is_docstring, iter_nodes, names_in

from converters import census, names
from converters.model import Const, Dag, Finding, GroupRef, Task, TaskRef, XComArgRef
from converters.rules import AIRFLOW_HEADER, Rule, converts, marks, refuses


class ConversionError(Exception):
    """A file-level problem that stops conversion of that file (reported, never raised out)."""

    def __init__(self, code: str, line: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.line = line
        self.message = message


@dataclass
class FileModel:
    """Everything the rules know about one DAG file."""

    module: cst.Module
    imports: dict[str, str]
    import_nodes: list[cst.SimpleStatementLine]
    constants: dict[str, Any]
    functions: dict[str, cst.FunctionDef]
    taskflow_functions: dict[str, cst.FunctionDef]
    dags: list[Dag] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: helper functions that only build operators, evaluated in place (dropped from the output)
    inlined_factories: set[str] = field(default_factory=set)
    #: id(Call node) -> task id it created (operator instantiation or TaskFlow call)
    call_tasks: dict[int, str] = field(default_factory=dict)
    #: helpers and task-group functions whose tasks were listed by evaluating them in place
    evaluated_builders: set[str] = field(default_factory=set)
    #: id(module statement kept as it was) -> marker text put above it (``# interop: TODO(...)``)
    kept_markers: dict[int, str] = field(default_factory=dict)
    positions: Any = None

    def line_of(self, node: cst.CSTNode) -> int:
        line = self.positions.line(node) if self.positions is not None else None
        return line or 0


def code_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


_LITERAL_KINDS = (
    cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float, cst.Imaginary, cst.List, cst.Tuple,
    cst.Dict, cst.Set, cst.UnaryOperation, cst.Name, cst.BinaryOperation,
)


def literal(node: cst.BaseExpression) -> Any:
    """The Python value of a literal expression, or raise ValueError."""
    if isinstance(node, cst.SimpleString):
        raw = node.value
        if raw[0] in "\"'" and "\\" not in raw:  # no prefix, no escapes: the text between the quotes
            return raw[3:-3] if raw[:3] in ('"""', "\'\'\'") and len(raw) >= 6 else raw[1:-1]
    if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float)):
        value = node.evaluated_value
        if isinstance(value, bytes) or value is None and isinstance(node, cst.SimpleString):
            raise ValueError("not a str literal")
        return value
    if isinstance(node, cst.Name):
        if node.value in ("None", "True", "False"):
            return {"None": None, "True": True, "False": False}[node.value]
        raise ValueError(node.value)
    if not isinstance(node, _LITERAL_KINDS):
        raise ValueError(type(node).__name__)
    return ast.literal_eval("(" + code_of(node).strip() + "\n)")


def _blocks(stmt: cst.CSTNode) -> list[list[cst.CSTNode]]:
    out: list[list[cst.CSTNode]] = []
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.IndentedBlock):
        out.append(list(body.body))
    for handler in getattr(stmt, "handlers", ()) or ():
        if isinstance(handler.body, cst.IndentedBlock):
            out.append(list(handler.body.body))
    orelse = getattr(stmt, "orelse", None)
    if isinstance(orelse, cst.Else) and isinstance(orelse.body, cst.IndentedBlock):
        out.append(list(orelse.body.body))
    return out


def _import_table(module: cst.Module) -> tuple[dict[str, str], list[cst.SimpleStatementLine]]:
    table: dict[str, str] = {}
    nodes: list[cst.SimpleStatementLine] = []
    statements: list[cst.CSTNode] = []
    for stmt in module.body:
        statements.append(stmt)
        # imports under `try:`/`except ImportError:` or `if TYPE_CHECKING:` count too (first wins)
        if isinstance(stmt, (cst.Try, cst.If)):
            for block in _blocks(stmt):
                statements.extend(block)
    for stmt in statements:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
                mod = dotted(small.module)
                if mod is None or isinstance(small.names, cst.ImportStar):
                    continue
                for alias in small.names:
                    name = dotted(alias.name)
                    local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
                    table.setdefault(local, f"{mod}.{name}")
                nodes.append(stmt)
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    name = dotted(alias.name) or ""
                    if alias.asname:
                        table[alias.asname.name.value] = name  # type: ignore[union-attr]
                    else:
                        table[name.split(".")[0]] = name.split(".")[0]
                nodes.append(stmt)
    return table, nodes


class Analyzer:
    """Evaluates a DAG file statically into a :class:`FileModel`."""

    def __init__(self, module: cst.Module, path: str, source: str | None = None) -> None:
        self.path = path
        self._module_values: dict[str, Any] = {}
        self._loop_vars: list[set[str]] = []
        self._inlining: set[str] = set()
        #: set when an evaluation reads ``__file__``; module constants computed from it
        self._read_file = False
        self._file_names: set[str] = set()
        self._groups_used: dict[str, set[str]] = {}  # dag_id -> task group ids made by @task_group calls
        self._dag_calls: set[int] = set()  # id() of the DAG(...) calls of the DAGs found
        self._bindings: dict[str, int] | None = None
        #: names a team module's star or relative import may bind (``census``), read once
        self.team_names: frozenset[str] | None = None
        self._dag: Dag | None = None
        self._group: str | None = None
        self.module = module
        self.source = source if source is not None else module.code
        self.positions = Lines(module, self.source)
        self._stmt_line = 0
        self._classes: dict[str, cst.ClassDef] | None = None  # the file's classes by name, read when needed
        imports, import_nodes = _import_table(self.module)
        self.model = FileModel(
            module=self.module,
            imports=imports,
            import_nodes=import_nodes,
            constants={},
            functions={},
            taskflow_functions={},
            positions=self.positions,
        )

    # ------------------------------------------------------------------ names
    def qualname(self, node: cst.BaseExpression | None) -> str | None:
        """The qualified name of ``node`` through the import table."""
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.model.imports:
            base = self.model.imports[head]
            return f"{base}.{rest}" if rest else base
        return name

    def line(self, node: cst.CSTNode) -> int:
        return self.model.line_of(node) or self._stmt_line

    def finding(self, code: str, node: cst.CSTNode | int, message: str, manual: bool = False) -> None:
        line = node if isinstance(node, int) else self.line(node)
        self.model.findings.append(Finding(code, line, message, manual))

    def gap(self, dag: Dag, code: str, node: cst.CSTNode | int, message: str) -> None:
        """Something Airflow builds for ``dag`` that cannot be listed statically: a manual finding
        that also refuses the DAG (see :mod:`converters.census`)."""
        line = node if isinstance(node, int) else self.line(node)
        if any(g.line == line for g in dag.gaps):
            return  # one finding a place (a helper call met by two checks)
        self.finding(code, line, message, manual=True)
        dag.gaps.append(self.model.findings[-1])

    def builds_tasks(self, node: cst.CSTNode) -> bool:
        return census.builds_tasks(node, self)

    def dag_decorator(self, func: cst.FunctionDef) -> cst.Decorator | None:
        return self._dag_decorator(func)

    def is_task_group_function(self, func: cst.FunctionDef) -> bool:
        for dec in func.decorators:
            target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            qn = self.qualname(target) or ""
            if names.is_airflow(qn) and qn.rsplit(".", 1)[-1] == "task_group":
                return True
        return False

    # ------------------------------------------------------------------ entry
    def run(self) -> FileModel:
        body = self.module.body
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef):
                self.model.functions[stmt.name.value] = stmt
                if self._taskflow_decorator(stmt) is not None:
                    self.model.taskflow_functions[stmt.name.value] = stmt
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                        target = small.targets[0].target if isinstance(small, cst.Assign) else small.target
                        if isinstance(small, cst.Assign) and len(small.targets) != 1:
                            continue
                        if isinstance(target, cst.Name):
                            try:
                                self.model.constants[target.value] = literal(small.value)
                            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                                pass
        bindings = self._module_bindings()
        for name in [n for n in self.model.constants if bindings.get(n, 0) > 1]:
            del self.model.constants[name]
        for stmt in body:
            self._find_dags(stmt)
        self._check_dynamic_dags()
        self._check_unplaced_dags()
        return self.model

    def _check_unplaced_dags(self) -> None:
        """A DAG Airflow builds that the converter did not find (under a module-level ``try``/``if``,
        inside another ``with``, in an expression) refuses the file: never a DAG silently missing."""
        placed = {id(d.decorator_func) for d in self.model.dags if d.decorator_func is not None}
        placed |= self._dag_calls
        if all(id(node) in placed for node in census.dag_nodes(self.module, self)):
            return
        # (the walk that tells each node's statement, in the order the refusal has always named)
        for node, stmt in census.dag_constructions(self.module, self):
            if id(node) not in placed:
                raise ConversionError(
                    "IX003",
                    self.line(stmt),
                    "DAG built where the converter cannot place it (under a module-level `try`/`if`, inside another "
                    "`with`, or in an expression); move it to the top level of the module, or run it unconverted "
                    "through the shim",
                )

    # ------------------------------------------------------------------ DAG discovery
    def _is_dag_call(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Call) and self.qualname(node.func) in names.DAG_CLASSES

    def _dag_decorator(self, func: cst.FunctionDef) -> cst.Decorator | None:
        for dec in func.decorators:
            target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            if self.qualname(target) in names.DAG_DECORATORS:
                return dec
        return None

    def _taskflow_decorator(self, func: cst.FunctionDef) -> cst.Decorator | None:
        for dec in func.decorators:
            target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
            qn = self.qualname(target) or ""
            base = qn.rsplit(".", 1)[0] if qn.count(".") > 2 else qn
            if qn in names.TASK_DECORATORS or base in names.TASK_DECORATORS:
                return dec
        return None

    def _find_dags(self, stmt: cst.CSTNode) -> None:
        if isinstance(stmt, cst.With):
            for item in stmt.items:
                if self._is_dag_call(item.item):
                    var = item.asname.name.value if item.asname and isinstance(item.asname.name, cst.Name) else None
                    dag = self._new_dag(stmt, item.item, "with", var)
                    env: dict[str, Any] = {}
                    self._eval_body(dag, stmt.body.body, env, group=None)
                    if var:
                        # operators created after the block with dag=dag, and their wiring
                        self._collect_assign_style(dag, env, after=stmt)
                    return
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and self._is_dag_call(small.value):
                    target = small.targets[0].target
                    var = target.value if isinstance(target, cst.Name) else None
                    dag = self._new_dag(stmt, small.value, "assign", var)
                    dag.owned_statements.append(stmt)
                    self._collect_assign_style(dag)
                    return
        elif isinstance(stmt, cst.FunctionDef):
            dec = self._dag_decorator(stmt)
            if dec is not None:
                call = dec.decorator if isinstance(dec.decorator, cst.Call) else None
                dag = self._new_dag(stmt, call, "decorator", None, default_id=stmt.name.value)
                dag.decorator_func = stmt
                self._decorator_params(dag, stmt)
                self._eval_body(dag, stmt.body.body, {}, group=None)

    def _check_dynamic_dags(self) -> None:
        """DAGs built in a function or a loop: the converter cannot know how many there are."""
        loops = (cst.FunctionDef, cst.For, cst.While, cst.Lambda, cst.ClassDef)

        def scan(node: cst.CSTNode, depth: int, line: int) -> None:
            for child in _children(node):
                child_line = self.model.line_of(child) or line
                nested_dag = isinstance(child, cst.Call) and self._is_dag_call(child)
                nested_dag = nested_dag or (isinstance(child, cst.FunctionDef) and self._dag_decorator(child) is not None)
                if depth and nested_dag:
                    raise ConversionError(
                        "IX003",
                        child_line,
                        "DAG built inside a function or a loop (a DAG factory): the number of DAGs "
                        "and their ids are only known at run time; convert one generated DAG by hand "
                        "or run the DAG through the shim (`airflow_dag`)",
                    )
                scan(child, depth + (1 if isinstance(child, loops) else 0), child_line)

        if not self._nested_dag_call_possible():
            return
        for stmt in self.module.body:
            if isinstance(stmt, cst.FunctionDef) and self._dag_decorator(stmt) is not None:
                continue
            scan(stmt, 1 if isinstance(stmt, loops) else 0, self.model.line_of(stmt))
        # A @dag function called in a loop is a factory too.
        if not self.model.dags:
            for stmt in self.module.body:
                if isinstance(stmt, cst.FunctionDef) and any(
                    self._is_dag_call(n) for n in _calls_in(stmt)
                ):
                    raise ConversionError("IX003", self.line(stmt), "DAG built inside a function")

    def _nested_dag_call_possible(self) -> bool:
        """Cheap text check: is a DAG class called, or a ``@dag`` decorator used, on an indented line?"""
        locals_ = [r"\b" + re.escape(local) + r"\s*\(" for local, qn in self.model.imports.items() if qn in names.DAG_CLASSES]
        locals_ += [r"\b" + re.escape(local) + r"\.(?:models\.)?(?:dag\.)?DAG\s*\(" for local, qn in self.model.imports.items() if qn in ("airflow", "airflow.models", "airflow.sdk")]
        locals_ += ["@" + re.escape(local) + r"\b" for local, qn in self.model.imports.items() if qn in names.DAG_DECORATORS]
        if not locals_:
            return False
        # each match, then its line's indentation: ``^[ \t]+.*(?:...)`` backtracks over every line
        for match in re.finditer("|".join(locals_), self.source):
            start = self.source.rfind("\n", 0, match.start()) + 1
            if start < match.start() and self.source[start] in " \t":
                return True
        return False

    def _new_dag(
        self,
        node: cst.CSTNode,
        call: cst.Call | None,
        style: str,
        var: str | None,
        default_id: str | None = None,
    ) -> Dag:
        kwargs: dict[str, cst.BaseExpression] = {}
        dag_id = default_id
        unknown_star: list[str] = []
        if call is not None:
            for i, arg in enumerate(call.args):
                if arg.keyword is None and i == 0 and not arg.star:
                    kwargs["dag_id"] = arg.value
                elif arg.keyword is not None:
                    kwargs[arg.keyword.value] = arg.value
            kwargs, unknown_star = self._with_star_kwargs(call, kwargs)
        if "dag_id" not in kwargs and unknown_star:
            raise ConversionError(
                "IX003", self.line(node), f"DAG arguments come from `**{unknown_star[0]}`, not known statically: no dag_id"
            )
        if "dag_id" in kwargs:
            self._read_file = False
            value = self.eval(kwargs["dag_id"], {})
            if self._read_file and isinstance(value, Const):
                raise ConversionError(
                    "IX003",
                    self.line(kwargs["dag_id"]) or self.line(node),
                    f"dag_id `{code_of(kwargs['dag_id']).strip()[:80]}` is derived from the file's own path "
                    f"({value.value!r} here): Airflow names the DAG from where it loads the file, which a copy "
                    "or a move changes; write the dag_id as a literal, then convert",
                )
            if not isinstance(value, Const) or not isinstance(value.value, str):
                raise ConversionError(
                    "IX003",
                    self.line(kwargs["dag_id"]) or self.line(node),
                    f"dag_id `{code_of(kwargs['dag_id']).strip()[:80]}` is computed at run time; cannot convert statically",
                )
            dag_id = value.value
        if dag_id is None:
            raise ConversionError("IX003", self.line(node), "DAG without a dag_id")
        if call is not None:
            self._dag_calls.add(id(call))
        dag = Dag(dag_id=dag_id, style=style, line=self.line(node), node=node, dag_var=var, kwargs=kwargs)  # type: ignore[arg-type]
        if "default_args" in kwargs:
            dag.default_args, dag.default_args_name = self._dict_of(kwargs["default_args"])
            dag.default_args_refs = self.dict_references(kwargs["default_args"])
        if "params" in kwargs:
            dag.params_dict, _ = self._dict_of(kwargs["params"])
        self.model.dags.append(dag)
        return dag

    def _with_star_kwargs(
        self, call: cst.Call, explicit: dict[str, cst.BaseExpression]
    ) -> tuple[dict[str, cst.BaseExpression], list[str]]:
        """``Op(task_id="t", **common)`` / ``DAG(**dag_params)``: the keywords of a literal dict
        (module-level name, ``{...}`` or ``dict(...)``) merged under the explicit ones, and the
        ``**`` arguments that are not known statically."""
        merged: dict[str, cst.BaseExpression] = {}
        unknown: list[str] = []
        for arg in call.args:
            if arg.star != "**":
                continue
            items, _ = self._dict_of(arg.value)
            if items:
                merged.update(items)
            else:
                unknown.append(code_of(arg.value).strip())
        merged.update(explicit)
        return merged, unknown

    def _dict_of(self, node: cst.BaseExpression) -> tuple[dict[str, cst.BaseExpression], str | None]:
        name = None
        if isinstance(node, cst.Name):
            name = node.value
            found = self._module_assignment(node.value)
            if found is None:
                return {}, name
            node = found
        result: dict[str, cst.BaseExpression] = {}
        if isinstance(node, cst.Dict):
            for el in node.elements:
                if isinstance(el, cst.StarredDictElement):  # {**BASE_ARGS, "retries": 2}
                    result.update(self._dict_of(el.value)[0])
                elif isinstance(el, cst.DictElement):
                    try:
                        key = literal(el.key)
                    except (ValueError, SyntaxError):
                        continue
                    result[str(key)] = el.value
        elif isinstance(node, cst.Call) and dotted(node.func) == "dict":
            for arg in node.args:
                if arg.keyword is not None:
                    result[arg.keyword.value] = arg.value
                elif arg.star == "**" or (arg.star == "" and not result):
                    result.update(self._dict_of(arg.value)[0])
        return result, name

    def dict_references(self, node: cst.BaseExpression) -> list[str]:
        """The parts of a dict expression that cannot be read statically, as source, in merge order:
        ``DEFAULT_ARGS`` imported from a helper module, ``{**BASE, "retries": 2}`` with ``BASE``
        imported (-> ``["BASE"]``), ``make_args()``. Rules carry them by reference
        (``retries=DEFAULT_ARGS.get("retries", 0)``) instead of dropping them."""
        if isinstance(node, cst.Name):
            found = self._module_assignment(node.value)
            return [node.value] if found is None else self.dict_references(found)
        if isinstance(node, cst.Dict):
            out: list[str] = []
            for el in node.elements:
                if isinstance(el, cst.StarredDictElement):
                    out.extend(self.dict_references(el.value))
            return out
        if isinstance(node, cst.Call) and dotted(node.func) == "dict":
            out = []
            for i, arg in enumerate(node.args):
                if arg.star == "**" or (arg.keyword is None and not arg.star and i == 0):
                    out.extend(self.dict_references(arg.value))
            return out
        return [code_of(node).strip()]

    def _module_bindings(self) -> dict[str, int]:
        """How many times each name is bound by module-level statements (computed once)."""
        if self._bindings is None:
            counts: dict[str, int] = {}
            for stmt in self.module.body:
                bound: list[str] = []
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if isinstance(small, cst.Assign):
                            for t in small.targets:
                                bound.extend(_target_names(t.target))
                        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)) and isinstance(small.target, cst.Name):
                            if not isinstance(small, cst.AnnAssign) or small.value is not None:
                                bound.append(small.target.value)
                elif isinstance(stmt, (cst.For, cst.If, cst.Try, cst.While, cst.With)):
                    # bound in a block: a second binding whose value depends on the path taken
                    bound.extend(n for n in _assigned_in(stmt))
                for name in bound:
                    counts[name] = counts.get(name, 0) + 1
            self._bindings = counts
        return self._bindings

    def _module_assignment(self, name: str) -> cst.BaseExpression | None:
        """The value of a module-level name bound exactly once (a name rebound later, e.g.
        ``task_id = f"..."`` before each operator, has no single value)."""
        if self._module_bindings().get(name, 0) > 1:
            return None
        for stmt in self.module.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if (
                        isinstance(small, cst.Assign)
                        and len(small.targets) == 1
                        and isinstance(small.targets[0].target, cst.Name)
                        and small.targets[0].target.value == name
                    ):
                        return small.value
                    if (  # DEFAULT_ARGS: dict[str, Any] = {...}; DAG_ID: Final = "bbga"
                        isinstance(small, cst.AnnAssign)
                        and small.value is not None
                        and isinstance(small.target, cst.Name)
                        and small.target.value == name
                    ):
                        return small.value
        return None

    def _decorator_params(self, dag: Dag, func: cst.FunctionDef) -> None:
        """``@dag`` function parameters are the DAG's params."""
        for param in func.params.params + func.params.kwonly_params:
            default = param.default
            if default is not None:
                dag.params_dict.setdefault(param.name.value, default)
            else:
                dag.params_dict.setdefault(param.name.value, cst.Name("None"))

    def _collect_assign_style(self, dag: Dag, env: dict[str, Any] | None = None, after: cst.CSTNode | None = None) -> None:
        """``dag = DAG(...)``: operators with ``dag=dag`` and the wiring between them."""
        env = {} if env is None else env
        started = after is None
        joined = self._joined_by_wiring(dag)
        for stmt in self.module.body:
            if not started:
                started = stmt is after
                continue
            if stmt is dag.node:
                continue
            if isinstance(stmt, cst.SimpleStatementLine) and self._plain_rebinding(stmt, env):
                continue  # ``task_id = f"{table}_load"`` before each operator: read in order
            if isinstance(stmt, cst.SimpleStatementLine) and self._statement_mentions_dag(stmt, dag):
                before = (len(dag.tasks), len(dag.edges))
                self._eval_statement(dag, stmt, env, group=None, keep=False)
                if (len(dag.tasks), len(dag.edges)) == before:
                    self._stranded(stmt, dag)  # helper(dag=dag) that makes no task known statically
                else:
                    dag.owned_statements.append(stmt)
            elif isinstance(stmt, cst.SimpleStatementLine) and _operator_target(stmt) in joined:
                dag.owned_statements.append(stmt)
                before = set(dag.tasks)
                self._eval_statement(dag, stmt, env, group=None, keep=False)
                for task_id in set(dag.tasks) - before:
                    # made outside the DAG, so Airflow never gave it the DAG's default_args
                    dag.tasks[task_id].options["_no_default_args"] = True
            elif isinstance(stmt, cst.SimpleStatementLine) and self._statement_wires_tasks(stmt, env):
                dag.owned_statements.append(stmt)
                self._eval_statement(dag, stmt, env, group=None, keep=False)
            elif isinstance(stmt, cst.For) and self._statement_mentions_dag(stmt, dag):
                dag.owned_statements.append(stmt)
                self._eval_statement(dag, stmt, env, group=None, keep=False)
            elif isinstance(stmt, cst.For) and self._loop_wires_tasks(stmt, env):
                # ``for i in range(len(tasks) - 1): tasks[i] >> tasks[i + 1]`` after the tasks were made
                dag.owned_statements.append(stmt)
                self._eval_statement(dag, stmt, env, group=None, keep=False)
            elif isinstance(stmt, cst.With) and self._enters_dag(stmt, dag):
                # ``dag = DAG(...)`` then ``with dag:``: the block is the DAG's body, as in ``with DAG(...)``
                dag.owned_statements.append(stmt)
                self._eval_body(dag, stmt.body.body, env, group=None)
            elif isinstance(stmt, cst.If) and _is_main_guard(stmt) and dag.dag_var and dag.dag_var in _names_in(stmt):
                dag.owned_statements.append(stmt)
            elif isinstance(stmt, cst.SimpleStatementLine) and _sets_attribute_of(stmt, dag.dag_var):
                # dag.doc_md = __doc__: dropped with an IX401 note by _eval_small
                dag.owned_statements.append(stmt)
                self._eval_statement(dag, stmt, env, group=None, keep=False)
            elif isinstance(stmt, cst.SimpleStatementLine) and _bare_name(stmt) == dag.dag_var and dag.dag_var:
                # ``dag`` alone on a line (a habit to "register" the DAG): it does nothing; it goes
                dag.owned_statements.append(stmt)
            elif isinstance(stmt, cst.SimpleStatementLine) and self._sets_task_attribute(stmt, env):
                # ``t1.doc_md = ...`` after the block: read as if set in it (dropped with IX401, or an argument)
                dag.owned_statements.append(stmt)
                self._eval_statement(dag, stmt, env, group=None, keep=False)
            elif isinstance(stmt, cst.SimpleStatementLine) and dag.dag_var and dag.dag_var in _names_in(stmt):
                self._stranded(stmt, dag)

    def _plain_rebinding(self, stmt: cst.SimpleStatementLine, env: dict[str, Any]) -> bool:
        """``name = value`` of a name the module binds more than once, with no call but pure ones:
        its value at this point goes into ``env`` (unknown values too), so later statements read
        the binding in force, as Python does. Returns True when the statement was such a binding."""
        bindings = self._module_bindings()
        smalls = stmt.body
        if not all(
            isinstance(sm, cst.Assign) and len(sm.targets) == 1 and isinstance(sm.targets[0].target, cst.Name)
            and bindings.get(sm.targets[0].target.value, 0) > 1
            and all(self._pure_call(c) for c in _calls_in(sm.value))
            for sm in smalls
        ):
            return False
        for sm in smalls:
            value = self.eval(sm.value, env)  # type: ignore[union-attr]
            env[sm.targets[0].target.value] = value if isinstance(value, Const) else None  # type: ignore[union-attr]
        return True

    def _loop_wires_tasks(self, stmt: cst.For, env: dict[str, Any]) -> bool:
        """A module-level loop whose body only wires tasks already known (expression statements)."""
        if not any(_holds_tasks(env.get(n)) for n in _names_in(stmt)):
            return False
        body = stmt.body.body if isinstance(stmt.body, cst.IndentedBlock) else [stmt.body]
        return stmt.orelse is None and all(
            isinstance(s, cst.SimpleStatementLine) and all(isinstance(small, cst.Expr) for small in s.body) for s in body
        )

    @staticmethod
    def _enters_dag(stmt: cst.With, dag: Dag) -> bool:
        """``with dag:`` (or ``with dag as d:``) on the variable a ``DAG(...)`` was assigned to."""
        return bool(dag.dag_var) and len(stmt.items) == 1 and dotted(stmt.items[0].item) == dag.dag_var

    def _stranded(self, stmt: cst.SimpleStatementLine, dag: Dag) -> None:
        """A module statement that reads the DAG object but makes no task the converter can see
        (``helper(..., dag)``, ``Group(dag=dag)``, ``print(dag)``): kept as it is, with a marker, as
        the DAG object no longer exists in the converted module."""
        message = (
            f"statement reads the DAG object `{dag.dag_var}` (DAG {dag.dag_id!r}), which the flow replaces; "
            "tasks it makes are not converted; convert it by hand"
        )
        if any(True for _ in _calls_in(stmt)):
            self.gap(dag, "IX101", stmt, message)
        else:
            self.finding("IX101", stmt, message, manual=True)
        self.model.kept_markers[id(stmt)] = f"# interop: TODO(IX101): {message}"

    def _joined_by_wiring(self, dag: Dag) -> set[str]:
        """Module-level operators made without ``dag=`` that join the DAG by being wired to one of
        its tasks (Airflow gives ``set_upstream``/``>>`` partners the DAG of the other side)."""
        if not dag.dag_var:
            return set()
        members: set[str] = set()
        loose: set[str] = set()
        wiring: list[set[str]] = []
        for stmt in self.module.body:
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            found = _operator_assignment(stmt)
            if found and found[1] and self._statement_mentions_dag(stmt, dag):
                members.add(found[0])
            elif found and not found[1]:
                loose.add(found[0])
            elif not found and all(isinstance(small, cst.Expr) for small in stmt.body):
                wiring.append(_names_in(stmt))
        joined: set[str] = set()
        grew = True
        while grew:
            grew = False
            for names_ in wiring:
                if names_ & (members | joined):
                    new = (names_ & loose) - joined
                    joined |= new
                    grew = grew or bool(new)
        return joined

    def _statement_mentions_dag(self, stmt: cst.CSTNode, dag: Dag) -> bool:
        if not dag.dag_var:
            return False
        for node in _calls_in(stmt):
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "dag" and dotted(arg.value) == dag.dag_var:
                    return True
        return False

    def _sets_task_attribute(self, stmt: cst.SimpleStatementLine, env: dict[str, Any]) -> bool:
        """``t.attr = value`` on every small statement of the line, ``t`` a task of this DAG."""
        return all(
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Attribute)
            and isinstance(small.targets[0].target.value, cst.Name)
            and isinstance(env.get(small.targets[0].target.value.value), TaskRef)
            for small in stmt.body
        )

    def _statement_wires_tasks(self, stmt: cst.SimpleStatementLine, env: dict[str, Any]) -> bool:
        refs = _names_in(stmt)
        if not any(isinstance(env.get(n), (TaskRef, list, XComArgRef, GroupRef)) for n in refs):
            return False
        for small in stmt.body:
            if isinstance(small, cst.Expr):
                return True
        return False

    # ------------------------------------------------------------------ DAG body evaluation
    def _eval_body(self, dag: Dag, body: Iterable[cst.BaseStatement], env: dict[str, Any], group: str | None) -> None:
        for stmt in body:
            self._eval_statement(dag, stmt, env, group, keep=True)

    def _eval_statement(self, dag: Dag, stmt: cst.CSTNode, env: dict[str, Any], group: str | None, keep: bool) -> None:
        self._stmt_line = self.model.line_of(stmt) or self._stmt_line
        before_tasks = len(dag.tasks)
        before_edges = len(dag.edges)
        if isinstance(stmt, cst.SimpleStatementLine):
            consumed = True
            for small in stmt.body:
                if not self._eval_small(dag, small, env, group):
                    consumed = False
            if not consumed and len(dag.tasks) == before_tasks and len(dag.edges) == before_edges:
                hidden = census.hidden_builder(stmt, self)
                if hidden is not None:
                    self.gap(
                        dag,
                        "IX101",
                        stmt,
                        f"`{hidden}` in DAG {dag.dag_id!r} may build tasks or edges the converter cannot list statically",
                    )
            if not consumed and keep:
                if len(dag.tasks) != before_tasks or len(dag.edges) != before_edges:
                    self.finding(
                        "IX101",
                        stmt,
                        f"statement mixes task creation with other code in DAG {dag.dag_id!r}; left in the flow",
                        manual=True,
                    )
                dag.preamble.extend(self._loop_bindings(stmt, env))
                dag.preamble.append(stmt)  # type: ignore[arg-type]
            return
        if isinstance(stmt, cst.For):
            items = self.eval(stmt.iter, env)
            changed = self._changed_in_place(stmt.iter, env)
            if changed is not None:
                message = (
                    f"loop over `{code_of(stmt.iter)}` in DAG {dag.dag_id!r}, a value line {changed} changes in place at "
                    "module level: how many tasks the loop builds is only known when Airflow loads the file"
                )
                self.gap(dag, "IX101", stmt, message)
                if keep:
                    dag.preamble.append(stmt)  # type: ignore[arg-type]
                return
            if isinstance(items, Const) and isinstance(items.value, (list, tuple, range, str, dict)):
                items = [Const(v) for v in items.value]
            if isinstance(items, list):
                self._loop_vars.append(_target_names(stmt.target))
                for item in items:
                    local = dict(env)
                    if not self._bind(stmt.target, item, local):
                        break
                    self._eval_body(dag, stmt.body.body, local, group)
                    for key, value in local.items():
                        if key not in env or env[key] is not value:
                            env[key] = value
                self._loop_vars.pop()
                return
            message = f"loop over a value only known at run time in DAG {dag.dag_id!r}: tasks created in it are not converted"
            if self.builds_tasks(stmt):
                self.gap(dag, "IX101", stmt, message)
            else:
                self.finding("IX101", stmt, message, manual=True)
            if keep:
                dag.preamble.append(stmt)  # type: ignore[arg-type]
            return
        if isinstance(stmt, cst.With):
            for item in stmt.items:
                call = item.item
                if isinstance(call, cst.Call) and self.qualname(call.func) in names.TASK_GROUP_CLASSES:
                    gid_node = call.args[0].value if call.args and call.args[0].keyword is None else None
                    for arg in call.args:
                        if arg.keyword is not None and arg.keyword.value == "group_id":
                            gid_node = arg.value
                    gid = self.eval(gid_node, env) if gid_node is not None else None
                    if not isinstance(gid, Const):
                        break
                    full = f"{group}.{gid.value}" if group else str(gid.value)
                    ref = GroupRef(full)
                    if item.asname and isinstance(item.asname.name, cst.Name):
                        env[item.asname.name.value] = ref
                    start = len(dag.tasks)
                    self._eval_body(dag, stmt.body.body, env, full)
                    ref.task_ids.extend(list(dag.tasks)[start:])
                    return
            message = f"`with` block in DAG {dag.dag_id!r} not understood; left in the flow"
            if self.builds_tasks(stmt):
                self.gap(dag, "IX101", stmt, message + " (it builds tasks the converter cannot list)")
            else:
                self.finding("IX101", stmt, message, manual=True)
            if keep:
                dag.preamble.append(stmt)  # type: ignore[arg-type]
            return
        if isinstance(stmt, cst.FunctionDef):
            if self._taskflow_decorator(stmt) is not None:
                self.model.taskflow_functions[stmt.name.value] = stmt
            else:
                self.model.functions.setdefault(stmt.name.value, stmt)
            if keep:
                dag.preamble.append(stmt)
            return
        if isinstance(stmt, (cst.If, cst.Try, cst.While)):
            message = f"control flow in DAG {dag.dag_id!r} left in the flow body: tasks inside it are not converted"
            if self.builds_tasks(stmt):
                self.gap(dag, "IX101", stmt, message)
            else:
                self.finding("IX101", stmt, message, manual=True)
        if keep:
            dag.preamble.append(stmt)  # type: ignore[arg-type]

    #: list/dict/set methods that change the value in place
    _MUTATORS = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "update", "setdefault", "add", "discard", "sort", "reverse"})

    def _changed_in_place(self, node: cst.BaseExpression, env: dict[str, Any]) -> int | None:
        """The line of a module-level statement outside any DAG block (a plain line or an
        ``if``/``try``/``while`` block) that changes a module-level value ``node`` reads in place
        (``DIRS.append(x)``, ``DIRS[k] = v``): the value a loop over it sees is not the literal."""
        read = {n.value for n in iter_nodes(node) if type(n) is cst.Name} - set(env)
        if not read:
            return None
        for stmt in self.module.body:
            if not isinstance(stmt, (cst.SimpleStatementLine, cst.If, cst.Try, cst.While)):
                continue
            line = None
            for sub in iter_nodes(stmt, prune=(cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                if type(sub) is cst.SimpleStatementLine:
                    line = self.positions.line(sub)
                if (
                    type(sub) is cst.Call
                    and isinstance(sub.func, cst.Attribute)
                    and isinstance(sub.func.value, cst.Name)
                    and sub.func.value.value in read
                    and sub.func.attr.value in self._MUTATORS
                ) or (
                    type(sub) is cst.AssignTarget
                    and isinstance(sub.target, cst.Subscript)
                    and isinstance(sub.target.value, cst.Name)
                    and sub.target.value.value in read
                ):
                    return line or self.positions.line(stmt) or 0
        return None

    def _loop_bindings(self, stmt: cst.CSTNode, env: dict[str, Any]) -> list[cst.BaseStatement]:
        """A statement of an unrolled loop kept in the flow body reads the loop variable: bind it to
        this iteration's value first (``i = 2``), or the flow would read an undefined name."""
        if not self._loop_vars:
            return []
        out: list[cst.BaseStatement] = []
        for name in sorted(set().union(*self._loop_vars) & _names_in(stmt)):
            value = env.get(name)
            if isinstance(value, Const) and _is_plain_literal(value.value):
                out.append(cst.parse_statement(f"{name} = {value.value!r}\n"))
        return out

    def _bind(self, target: cst.BaseAssignTargetExpression, value: Any, env: dict[str, Any]) -> bool:
        if isinstance(target, cst.Name):
            env[target.value] = value
            return True
        if isinstance(target, (cst.Tuple, cst.List)):
            seq = value.value if isinstance(value, Const) else value
            if not isinstance(seq, (list, tuple)) or len(seq) != len(target.elements):
                return False
            for el, v in zip(target.elements, seq):
                if not self._bind(el.value, v if not isinstance(value, Const) else Const(v), env):  # type: ignore[arg-type]
                    return False
            return True
        return False

    def _eval_small(self, dag: Dag, small: cst.BaseSmallStatement, env: dict[str, Any], group: str | None) -> bool:
        """Evaluate one small statement; True when it is fully consumed by the model."""
        self._dag = dag
        self._group = group
        if isinstance(small, cst.Assign):
            value = self.eval(small.value, env)
            if _holds_tasks(value):
                for t in small.targets:
                    self._bind(t.target, value, env)
                    if isinstance(t.target, cst.Name) and isinstance(value, TaskRef):
                        task = dag.tasks.get(value.task_id)
                        if task is not None and task.var is None:
                            task.var = t.target.value
                return True
            targets_tasks = [t for t in small.targets if isinstance(t.target, cst.Attribute) and isinstance(self.eval(t.target.value, env), TaskRef)]
            if targets_tasks and len(small.targets) == 1:
                # t.doc_md = "..."; t.trigger_rule = TriggerRule.NONE_FAILED: attributes set after creation
                ref = self.eval(targets_tasks[0].target.value, env)
                attr = targets_tasks[0].target.attr.value  # type: ignore[union-attr]
                task = dag.tasks.get(ref.task_id)
                if task is not None:
                    if attr.startswith("doc") or attr in names.LEDGER_ONLY_ARGS:
                        self.finding("IX401", small, f"task {task.task_id!r}: `{attr}` set after creation, dropped (no Prefect meaning)")
                    elif attr in _READ_AFTER_CREATION:
                        task.kwargs[attr] = small.value
                    else:
                        # pre_execute, post_execute, ...: no rule reads them; the task needs a hand
                        message = f"`{code_of(small).strip()[:200]}` set after creation is not carried over; port it by hand"
                        self.finding("IX101", small, f"task {task.task_id!r}: {message}", manual=True)
                        task.disposition = "manual"
                        task.options.setdefault("_markers", []).append(f"# interop: TODO(IX101): {message}")
                    return True
            for t in small.targets:
                if isinstance(t.target, cst.Name):
                    env[t.target.value] = value if isinstance(value, Const) else None
                # assignments to attributes of the DAG (dag.doc_md = ...) are dropped
                if isinstance(t.target, cst.Attribute) and dag.dag_var and dotted(t.target.value) == dag.dag_var:
                    self.finding("IX401", small, f"DAG attribute `{code_of(t.target)}` dropped (no Prefect meaning)")
                    return True
            return False
        if isinstance(small, cst.Expr):
            before = (len(dag.tasks), len(dag.edges))
            value = self.eval(small.value, env)
            if (len(dag.tasks), len(dag.edges)) != before or _holds_tasks(value):
                return True
            if isinstance(small.value, cst.SimpleString):  # a docstring
                return True
            return False
        if isinstance(small, cst.Pass):
            return True
        if isinstance(small, cst.Return) and dag.style == "decorator" and not self._inlining and group is None:
            # ``return result`` at the end of a @dag function: Airflow evaluates it and ignores the
            # value (the tasks it makes are made); the flow returns its own results
            before = (len(dag.tasks), len(dag.edges))
            value = self.eval(small.value, env)
            return small.value is None or (len(dag.tasks), len(dag.edges)) != before or _holds_tasks(value)
        return False

    # ------------------------------------------------------------------ expressions
    def eval(self, node: cst.BaseExpression | None, env: dict[str, Any]) -> Any:  # noqa: C901 - one dispatcher
        """Evaluate ``node`` statically; tasks are created as a side effect."""
        if node is None:
            return None
        if isinstance(node, cst.Name):
            if node.value in env:
                return env[node.value]
            if node.value in self.model.constants:
                return Const(self.model.constants[node.value])
            if node.value == "__file__" and self.path.endswith(".py"):
                # the DAG file's own name (dag_id=os.path.basename(__file__).replace(".py", "")):
                # evaluated, but remembered, as it is only right where Airflow loads the file
                self._read_file = True
                return Const(self.path)
            if node.value in ("None", "True", "False"):
                return Const({"None": None, "True": True, "False": False}[node.value])
            return self._module_constant(node.value)
        if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)):
            try:
                return Const(literal(node))
            except (ValueError, SyntaxError):
                return None
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            inner = self.eval(node.expression, env)
            return Const(-inner.value) if isinstance(inner, Const) and isinstance(inner.value, (int, float)) else None
        if isinstance(node, cst.FormattedString):
            out = []
            for part in node.parts:
                if isinstance(part, cst.FormattedStringText):
                    out.append(part.value)
                else:
                    v = self.eval(part.expression, env)
                    if not isinstance(v, Const) or part.format_spec or part.conversion:
                        return None
                    out.append(str(v.value))
            return Const("".join(out).replace("{{", "{").replace("}}", "}"))
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            values: list[Any] = []
            for el in node.elements:
                v = self.eval(el.value, env)
                if isinstance(el, cst.StarredElement):
                    if isinstance(v, list):
                        values.extend(v)
                        continue
                    if isinstance(v, Const) and isinstance(v.value, (list, tuple)):
                        values.extend(Const(x) for x in v.value)
                        continue
                    return None
                values.append(v)
            if all(isinstance(v, Const) for v in values):
                seq = [v.value for v in values]
                return Const(tuple(seq) if isinstance(node, cst.Tuple) else seq)
            return values
        if isinstance(node, cst.Dict):
            values = []
            for el in node.elements:
                if isinstance(el, cst.DictElement):
                    self.eval(el.key, env)
                values.append(self.eval(el.value, env))
            if all(isinstance(v, Const) for v in values):
                try:
                    return Const(literal(node))
                except (ValueError, SyntaxError):
                    return None
            return DictValue(values)
        if isinstance(node, cst.ListComp):
            return self._eval_comp(node, env)
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, (cst.RightShift, cst.LeftShift)):
                left = self.eval(node.left, env)
                right = self.eval(node.right, env)
                up, down = (left, right) if isinstance(node.operator, cst.RightShift) else (right, left)
                # a >> Label("x") >> b: the label only names the edge a -> b
                if isinstance(down, EdgeLabel):
                    down.upstream = up
                    return right
                if isinstance(up, EdgeLabel):
                    up = up.upstream
                self._add_edges(up, down, node)
                return right
            left = self.eval(node.left, env)
            right = self.eval(node.right, env)
            if isinstance(left, Const) and isinstance(right, Const):
                try:
                    return Const(_binop(node.operator, left.value, right.value))
                except Exception:  # noqa: BLE001
                    return None
            if isinstance(left, list) and isinstance(right, list) and isinstance(node.operator, cst.Add):
                return left + right
            return None
        if isinstance(node, cst.Attribute):
            if node.attr.value in _PATH_PARTS and isinstance(node.value, cst.Call) and self.qualname(node.value.func) == "pathlib.Path":
                # dag_id=Path(__file__).stem: only the string part is kept, never a Path object
                arg = self.eval(node.value.args[0].value, env) if len(node.value.args) == 1 else None
                return Const(getattr(PurePosixPath(arg.value), node.attr.value)) if isinstance(arg, Const) and isinstance(arg.value, str) else None
            qn = self.qualname(node) or ""
            if names.is_airflow(qn) and qn.rsplit(".", 2)[-2:-1] == ["TriggerRule"]:
                return Const(node.attr.value.lower())  # a str enum: TriggerRule.ALL_SUCCESS == "all_success"
            base = self.eval(node.value, env)
            if isinstance(base, TaskRef) and node.attr.value == "output":
                return XComArgRef(base.task_id)
            return None
        if isinstance(node, cst.Subscript):
            base = self.eval(node.value, env)
            if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
                idx = self.eval(node.slice[0].slice.value, env)
                if isinstance(base, list) and isinstance(idx, Const) and isinstance(idx.value, int):
                    try:
                        return base[idx.value]
                    except IndexError:
                        return None
                if isinstance(base, Const) and isinstance(idx, Const):
                    try:
                        return Const(base.value[idx.value])
                    except Exception:  # noqa: BLE001
                        return None
                if isinstance(base, XComArgRef) and isinstance(idx, Const) and isinstance(idx.value, str):
                    return XComArgRef(base.task_id, idx.value)
            return None
        if isinstance(node, cst.Call):
            return self._eval_call(node, env)
        return None

    def _eval_comp(self, node: cst.ListComp, env: dict[str, Any]) -> Any:
        comp = node.for_in
        if comp.inner_for_in is not None or comp.ifs:
            return None
        items = self.eval(comp.iter, env)
        if isinstance(items, Const) and isinstance(items.value, (list, tuple, range, str)):
            items = [Const(v) for v in items.value]
        if not isinstance(items, list):
            return None
        out = []
        self._loop_vars.append(_target_names(comp.target))
        try:
            for item in items:
                local = dict(env)
                if not self._bind(comp.target, item, local):
                    return None
                out.append(self.eval(node.elt, local))
        finally:
            self._loop_vars.pop()
        return out

    def _eval_call(self, node: cst.Call, env: dict[str, Any]) -> Any:
        func = node.func
        qn = self.qualname(func) or ""
        dag = self._dag
        if qn == "range":
            args = [self.eval(a.value, env) for a in node.args]
            if all(isinstance(a, Const) and isinstance(a.value, int) for a in args):
                return Const(list(range(*[a.value for a in args])))
            return None
        if qn in ("str", "len", "int") and len(node.args) == 1:
            v = self.eval(node.args[0].value, env)
            if isinstance(v, Const):
                try:
                    return Const({"str": str, "len": len, "int": int}[qn](v.value))
                except Exception:  # noqa: BLE001
                    return None
            if qn == "len" and isinstance(v, list):
                return Const(len(v))
            return None
        if qn in names.CHAIN_FUNCTIONS:
            parts = []
            for a in node.args:
                value = self.eval(a.value, env)
                if a.star == "*" and isinstance(value, list):
                    parts.extend(value)
                elif a.star == "*" and isinstance(value, Const) and isinstance(value.value, (list, tuple)):
                    parts.extend(Const(v) for v in value.value)
                else:
                    parts.append(value)
            for up, down in zip(parts, parts[1:]):
                if isinstance(up, list) and isinstance(down, list) and len(up) == len(down):
                    for u, d in zip(up, down):
                        self._add_edges(u, d, node)
                else:
                    self._add_edges(up, down, node)
            return Const(None)
        if qn in names.CROSS_DOWNSTREAM_FUNCTIONS:
            kw = {a.keyword.value: a.value for a in node.args if a.keyword}
            pos = [a.value for a in node.args if not a.keyword]
            ups = self.eval(kw.get("from_tasks", pos[0] if pos else None), env)
            downs = self.eval(kw.get("to_tasks", pos[1] if len(pos) > 1 else None), env)
            for u in _flat(ups):
                for d in _flat(downs):
                    self._add_edges(u, d, node)
            return Const(None)
        if isinstance(func, cst.Attribute) and func.attr.value in ("set_downstream", "set_upstream"):
            base = self.eval(func.value, env)
            other = self.eval(node.args[0].value, env) if node.args else None
            # a side not known statically is reported by _add_edges (IX107), never dropped silently
            if _holds_tasks(base) or _holds_tasks(other):
                if func.attr.value == "set_downstream":
                    self._add_edges(base, other, node)
                else:
                    self._add_edges(other, base, node)
                return Const(None)
            return None
        if isinstance(func, cst.Attribute) and func.attr.value in _STR_METHODS:
            # 'task_{0}'.format(n), name.lower(), os.path.basename(__file__).replace('.py', '')
            base = self.eval(func.value, env)
            if isinstance(base, Const) and isinstance(base.value, str):
                args = [self.eval(a.value, env) for a in node.args]
                if all(isinstance(a, Const) for a in args) and not any(a.star for a in node.args):
                    try:
                        value = getattr(base.value, func.attr.value)(
                            *[v.value for a, v in zip(node.args, args) if a.keyword is None],
                            **{a.keyword.value: v.value for a, v in zip(node.args, args) if a.keyword is not None},
                        )
                    except Exception:  # noqa: BLE001 - a bad format string is a run-time error, not ours
                        return None
                    return Const(value)
            return None
        if qn in _PATH_FUNCTIONS and len(node.args) == 1:
            arg = self.eval(node.args[0].value, env)
            return Const(_PATH_FUNCTIONS[qn](arg.value)) if isinstance(arg, Const) and isinstance(arg.value, str) else None
        if isinstance(func, cst.Attribute) and func.attr.value in _DICT_VIEWS and not node.args:
            # for name, conf in CONFIGS.items(): ... over a literal dict
            base = self.eval(func.value, env)
            if isinstance(base, Const) and isinstance(base.value, dict):
                return Const(_DICT_VIEWS[func.attr.value](base.value))
            return None
        if isinstance(func, cst.Attribute) and func.attr.value in ("append", "extend") and isinstance(func.value, cst.Name):
            grown = self._grow_task_list(func.value.value, func.attr.value, node, env)
            if grown is not None:
                return grown
        if isinstance(func, cst.Attribute) and func.attr.value in ("expand", "expand_kwargs"):
            return self._mapped_task(node, func, env)
        if isinstance(func, cst.Attribute) and func.attr.value == "partial":
            return None  # evaluated with the .expand(...) that follows it
        if isinstance(func, cst.Attribute) and func.attr.value in ("as_setup", "as_teardown"):
            base = self.eval(func.value, env)
            if isinstance(base, (TaskRef, XComArgRef)) and base.task_id in dag.tasks:
                task = dag.tasks[base.task_id]
                for arg in node.args:
                    if arg.keyword is not None and arg.keyword.value == "setups":
                        for ref in _flat(self.eval(arg.value, env)):
                            if isinstance(ref, (TaskRef, XComArgRef)):
                                dag.edges.append((ref.task_id, task.task_id))
                if func.attr.value == "as_teardown":
                    task.kwargs.setdefault("trigger_rule", cst.SimpleString('"all_done_setup_success"'))
                return base
            return None
        # TaskFlow: my_task(...), my_task.override(...)(...)
        tf_name, override = self._taskflow_target(func)
        if tf_name is not None:
            return self._taskflow_task(node, tf_name, override, env)
        if qn in names.TASK_GROUP_CLASSES or qn in names.DAG_CLASSES:
            return None
        if qn.rsplit(".", 1)[-1] == "Label" and names.is_airflow(qn):
            return EdgeLabel()
        if qn.rsplit(".", 1)[-1] in ("XComArg", "PlainXComArg") and node.args:
            base = self.eval(node.args[0].value, env)
            key = "return_value"
            for a in node.args[1:]:
                v = self.eval(a.value, env)
                if (a.keyword is None or a.keyword.value == "key") and isinstance(v, Const):
                    key = str(v.value)
            if isinstance(base, TaskRef):
                return XComArgRef(base.task_id, key)
            return None
        # An operator: a class called with task_id=
        kw = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        kw, unknown_star = self._with_star_kwargs(node, kw)
        if unknown_star and "task_id" in kw and (qn[:1].isupper() or qn.rsplit(".", 1)[-1][:1].isupper()):
            self.finding(
                "IX101",
                node,
                f"operator arguments passed as `**{unknown_star[0]}`, not known statically, in DAG {dag.dag_id!r}: "
                "they are not carried over; pass them by hand",
                manual=True,
            )
        if "task_id" in kw and (qn[:1].isupper() or qn.rsplit(".", 1)[-1][:1].isupper()):
            return self._operator_task(node, qn, kw, env)
        if isinstance(func, cst.Name) and func.value in self.model.functions and func.value not in self._inlining:
            fdef = self.model.functions[func.value]
            factory = self._task_factory(node, fdef, env)
            if factory is not _NOT_A_FACTORY:
                return factory
            if self.is_task_group_function(fdef) or self.builds_tasks(fdef.body):
                inlined = self._inline_builder(node, fdef, env)
                if inlined is not _NOT_A_FACTORY:
                    return inlined
        for a in node.args:  # evaluate nested expressions for their side effects (tasks in lists)
            self.eval(a.value, env)
        return None

    def _module_constant(self, name: str) -> Any:
        """A module-level name bound to an expression that only computes a value from literals
        (``DAG_ID = os.path.basename(__file__).replace(".py", "")``), evaluated once."""
        if name in self._module_values:
            self._read_file = self._read_file or name in self._file_names
            return self._module_values[name]
        self._module_values[name] = None  # a name defined from itself stays unknown
        value = self._module_assignment(name)
        if value is not None and all(self._pure_call(c) for c in _calls_in(value)):
            outer, self._read_file = self._read_file, False
            self._module_values[name] = self.eval(value, {})
            if self._read_file:
                self._file_names.add(name)
            self._read_file = outer or self._read_file
        return self._module_values[name]

    def _pure_call(self, node: cst.Call) -> bool:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in (*_STR_METHODS, *_DICT_VIEWS):
            return True
        return (self.qualname(func) or "") in (*_PATH_FUNCTIONS, "pathlib.Path", "str", "len", "int", "range")

    def _grow_task_list(self, name: str, method: str, node: cst.Call, env: dict[str, Any]) -> list[Any] | None:
        """``tasks.append(op)`` / ``tasks.extend([...])`` on a list of tasks (or an empty list):
        the list in ``env`` grows, so later ``tasks[i] >> tasks[i + 1]`` or ``chain(*tasks)`` wire them."""
        if len(node.args) != 1 or node.args[0].keyword is not None or node.args[0].star:
            return None
        current = self.eval(cst.Name(name), env)
        if not (isinstance(current, list) or (isinstance(current, Const) and current.value in ([], ()))):
            return None
        added = self.eval(node.args[0].value, env)
        new_items = [added] if method == "append" else _flat(added)
        if not any(_holds_tasks(v) for v in new_items):
            return None
        if isinstance(current, list):
            current.extend(new_items)
        else:
            current = new_items
        env[name] = current
        return current

    def _mapped_task(self, node: cst.Call, func: cst.Attribute, env: dict[str, Any]) -> Any:
        """``X.partial(...).expand(...)`` / ``task_fn.expand(...)``: a mapped task."""
        dag = self._dag
        base = func.value
        partial_kw: dict[str, cst.BaseExpression] = {}
        target = base
        if isinstance(base, cst.Call) and isinstance(base.func, cst.Attribute) and base.func.attr.value == "partial":
            partial_kw = {a.keyword.value: a.value for a in base.args if a.keyword is not None}
            target = base.func.value
        expand_kw = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        if isinstance(target, cst.Name) and target.value in self.model.functions:
            fdef = self.model.functions[target.value]
            if self.is_task_group_function(fdef) and target.value not in self._inlining:
                return self._mapped_group(node, base, fdef, env)
        tf_name, override = self._taskflow_target(target)
        ref: Any = None
        if tf_name is not None:
            ref = self._taskflow_task(node, tf_name, override, env)
            task = dag.tasks[ref.task_id]
            task.pos_args = []
        else:
            qn = self.qualname(target) or ""
            if "task_id" not in partial_kw:
                self.gap(dag, "IX105", node, f"mapped task without a static task_id in DAG {dag.dag_id!r}; not converted")
                return None
            ref = self._operator_task(node, qn, partial_kw, env)
            if ref is None:
                return None
            task = dag.tasks[ref.task_id]
            task.operator = (dotted(target) or task.operator).rsplit(".", 1)[-1]
        task.options["_mapped"] = True
        task.options["_expand"] = expand_kw
        task.options["_partial"] = {k: v for k, v in partial_kw.items() if k != "task_id"} if tf_name else {}
        if func.attr.value == "expand_kwargs":
            task.options["_expand_kwargs"] = True
        # the TaskFlow call above evaluated the expand arguments, _operator_task the partial ones;
        # evaluating them again would build their TaskFlow calls twice (``get_items__1``)
        once = partial_kw.values() if tf_name is not None else expand_kw.values()
        for value in once:
            for r in _flat(self.eval(value, env)):
                if isinstance(r, (TaskRef, XComArgRef)) and (r.task_id, task.task_id) not in dag.edges:
                    dag.edges.append((r.task_id, task.task_id))
        self.model.call_tasks[id(node)] = task.task_id
        return XComArgRef(task.task_id) if tf_name else TaskRef(task.task_id)

    def _task_factory(self, node: cst.Call, fdef: cst.FunctionDef, env: dict[str, Any]) -> Any:
        """A helper that only builds and returns operators (``def make(n): return Op(task_id=f"t{n}")``):
        evaluated in place with its arguments bound, like a loop body."""
        body = [s for s in fdef.body.body if not is_docstring(s)] if isinstance(fdef.body, cst.IndentedBlock) else []
        if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine) or not isinstance(body[0].body[0], cst.Return):
            return _NOT_A_FACTORY
        returned = body[0].body[0].value
        if returned is None or not any(isinstance(n, cst.Call) and "task_id" in {a.keyword.value for a in n.args if a.keyword} for n in calls_in(returned)):
            return _NOT_A_FACTORY
        bound = self._bind_call(node, fdef, env)
        if bound is None:
            return _NOT_A_FACTORY
        local, names_ = bound
        self._loop_vars.append(set(names_))
        self._inlining.add(fdef.name.value)
        self.model.inlined_factories.add(fdef.name.value)
        try:
            return self.eval(returned, local)
        finally:
            self._inlining.discard(fdef.name.value)
            self._loop_vars.pop()

    def _inline_builder(self, node: cst.Call, fdef: cst.FunctionDef, env: dict[str, Any]) -> Any:
        """A helper or ``@task_group`` function that builds tasks, called in a DAG body: its body is
        evaluated in place with its arguments bound, as Airflow runs it while parsing the file.

        A ``@task_group`` function puts its tasks in a group (``group_id=`` or the function's name,
        ``__1``, ``__2`` ... on repeated calls, as Airflow's ``add_suffix_on_collision``); the call's
        value is what the function returns, else the group. A task that reads a value of the helper
        only known at run time is a gap (never a dangling name in the flow)."""
        dag = self._dag
        bound = self._bind_call(node, fdef, env)
        if bound is None:
            return _NOT_A_FACTORY
        local, params = bound
        group = self._group
        if self.is_task_group_function(fdef):
            gid: Any = fdef.name.value
            for dec in fdef.decorators:
                if isinstance(dec.decorator, cst.Call):
                    for arg in dec.decorator.args:
                        if (arg.keyword is not None and arg.keyword.value == "group_id") or (arg.keyword is None and arg is dec.decorator.args[0]):
                            value = self.eval(arg.value, env)
                            if not isinstance(value, Const):
                                self.gap(dag, "IX106", node, f"task group id computed at run time in DAG {dag.dag_id!r}")
                                return None
                            gid = str(value.value)
            full = f"{group}.{gid}" if group else str(gid)
            used = self._groups_used.setdefault(dag.dag_id, set())
            if full in used:
                n = 1
                while f"{full}__{n}" in used:
                    n += 1
                full = f"{full}__{n}"
            used.add(full)
            group = full
        assigned = set(params)
        for stmt in fdef.body.body if isinstance(fdef.body, cst.IndentedBlock) else []:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign):
                        for t in small.targets:
                            assigned |= _target_names(t.target)
            elif isinstance(stmt, (cst.For, cst.With)):
                assigned |= _names_in(stmt)
        start = len(dag.tasks)
        returned: Any = Const(None)
        self._inlining.add(fdef.name.value)
        self._loop_vars.append(assigned)
        self.model.inlined_factories.add(fdef.name.value)
        self.model.evaluated_builders.add(fdef.name.value)
        saved_group = self._group
        try:
            for stmt in fdef.body.body if isinstance(fdef.body, cst.IndentedBlock) else []:
                if is_docstring(stmt):
                    continue
                if isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Return):
                    self._group = group
                    returned = self.eval(stmt.body[0].value, local) if stmt.body[0].value is not None else Const(None)
                    break
                self._eval_statement(dag, stmt, local, group, keep=False)
        finally:
            self._group = saved_group
            self._loop_vars.pop()
            self._inlining.discard(fdef.name.value)
        created = list(dag.tasks)[start:]
        for task_id in created:
            task = dag.tasks[task_id]
            read = set()
            for key, value in task.kwargs.items():
                if key not in ("dag", "task_id"):
                    read |= _names_in(value)
            for arg in task.pos_args:
                read |= _names_in(arg.value)
            for name in sorted(read & assigned):
                value = local.get(name)
                if not isinstance(value, Const) and not _holds_tasks(value):
                    self.gap(
                        dag,
                        "IX101",
                        node,
                        f"task {task_id!r} built by `{fdef.name.value}` reads `{name}`, only known at run time; "
                        "convert it by hand",
                    )
                    break
        if group != self._group and not _holds_tasks(returned):
            return GroupRef(group, created)
        return returned

    def _mapped_group(self, node: cst.Call, base: cst.BaseExpression, fdef: cst.FunctionDef, env: dict[str, Any]) -> Any:
        """``group_fn.expand(...)`` / ``group_fn.partial(...).expand(...)``: a mapped task group.
        Its tasks are listed under Airflow's ids (the group evaluated once, the mapped arguments
        unknown) and left to a hand (IX105): Prefect has no mapped group; ``.map`` per task is
        not the same run when the group branches or joins."""
        call_args = [*base.args] if isinstance(base, cst.Call) else []
        unknown = [a.with_changes(value=cst.Name("None")) if a.keyword is not None else a for a in node.args]
        call = cst.Call(func=cst.Name(fdef.name.value), args=[*call_args, *unknown])
        start = len(self._dag.tasks)
        ref = self._inline_builder(call, fdef, env)
        if ref is _NOT_A_FACTORY:
            self.gap(self._dag, "IX105", node, f"mapped task group `{fdef.name.value}` in DAG {self._dag.dag_id!r}: not converted")
            return None
        for task_id in list(self._dag.tasks)[start:]:
            task = self._dag.tasks[task_id]
            task.options["_mapped_group"] = fdef.name.value
        # the group's code stays, with the marker where the hand goes
        self.model.inlined_factories.discard(fdef.name.value)
        self.model.kept_markers[id(fdef)] = (
            f"# interop: TODO(IX105): mapped task group `{fdef.name.value}` (DAG {self._dag.dag_id!r}): "
            "Prefect has no mapped group; call its tasks with .map(...) by hand"
        )
        return ref

    def _bind_call(self, node: cst.Call, fdef: cst.FunctionDef, env: dict[str, Any]) -> tuple[dict[str, Any], list[str]] | None:
        """The callee's parameters bound to the call's arguments (evaluated statically), or None
        for ``*args``/``**kwargs`` on either side."""
        params = fdef.params
        if isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None or any(a.star for a in node.args):
            return None
        local = dict(env)
        names_ = [p.name.value for p in params.posonly_params + params.params + params.kwonly_params]
        for p in params.posonly_params + params.params + params.kwonly_params:
            if p.default is not None:
                local[p.name.value] = self.eval(p.default, env)
        positional = [a for a in node.args if a.keyword is None]
        if len(positional) > len(params.posonly_params) + len(params.params):
            return None
        for name, arg in zip(names_, positional):
            local[name] = self.eval(arg.value, env)
        for arg in node.args:
            if arg.keyword is not None:
                local[arg.keyword.value] = self.eval(arg.value, env)
        if not all(n in local for n in names_):
            return None
        return local, names_

    def _taskflow_target(self, func: cst.BaseExpression) -> tuple[str | None, dict[str, cst.BaseExpression]]:
        if isinstance(func, cst.Name) and func.value in self.model.taskflow_functions:
            return func.value, {}
        if (
            isinstance(func, cst.Call)
            and isinstance(func.func, cst.Attribute)
            and func.func.attr.value == "override"
            and isinstance(func.func.value, cst.Name)
            and func.func.value.value in self.model.taskflow_functions
        ):
            return func.func.value.value, {a.keyword.value: a.value for a in func.args if a.keyword}
        return None, {}

    def _task_id(self, base: str, node: cst.CSTNode) -> str:
        task_id = f"{self._group}.{base}" if self._group else base
        if task_id in self._dag.tasks:
            # Airflow's TaskFlow de-duplicates repeated calls as id__1, id__2 ...
            n = 1
            while f"{task_id}__{n}" in self._dag.tasks:
                n += 1
            task_id = f"{task_id}__{n}"
        return task_id

    def _taskflow_task(
        self, node: cst.Call, func_name: str, override: dict[str, cst.BaseExpression], env: dict[str, Any]
    ) -> Any:
        dag = self._dag
        fdef = self.model.taskflow_functions[func_name]
        dec = self._taskflow_decorator(fdef)
        dec_kwargs: dict[str, cst.BaseExpression] = {}
        dec_name = ""
        if dec is not None:
            if isinstance(dec.decorator, cst.Call):
                dec_kwargs = {a.keyword.value: a.value for a in dec.decorator.args if a.keyword}
                dec_name = code_of(dec.decorator.func)
            else:
                dec_name = code_of(dec.decorator)
        base_id = func_name
        tid_node = override.get("task_id") or dec_kwargs.get("task_id")
        if tid_node is not None:
            tid = self.eval(tid_node, env)
            if isinstance(tid, Const):
                base_id = str(tid.value)
        kind = "taskflow"
        suffix = dec_name.rsplit(".", 1)[-1]
        if suffix in ("branch", "short_circuit"):
            kind = "branch"
        elif suffix in ("bash",):
            kind = "taskflow_bash"
        elif suffix not in ("task", "python", "python_task"):
            kind = "taskflow_other"  # @task.virtualenv, @task.docker, @task.sensor ...
        task_id = self._task_id(base_id, node)
        kwargs = {**dec_kwargs, **override}
        task = Task(
            task_id=task_id,
            kind=kind,
            operator=f"@{dec_name or 'task'}",
            qualname=self.qualname(cst.parse_expression(dec_name)) if dec_name else "task",  # type: ignore[arg-type]
            line=self.line(node),
            call=node,
            kwargs=kwargs,
            pos_args=list(node.args),
            taskflow_func=func_name,
            override=override,
            group=self._group,
        )
        dag.tasks[task_id] = task
        self.model.call_tasks[id(node)] = task_id
        # data edges from XComArgs passed as arguments
        for arg in node.args:
            value = self.eval(arg.value, env)
            self._record_arg_calls(task, arg.value, value)
            for ref in _flat(value):
                if isinstance(ref, (TaskRef, XComArgRef)):
                    dag.edges.append((ref.task_id, task_id))
        self._env_snapshot(task, env)
        return XComArgRef(task_id)

    def _local_branch_class(self, qn: str, depth: int = 0) -> bool:
        """A class of this file whose base is a branch operator run through the shim
        (``class Pick(BaseBranchOperator): def choose_branch(...)``): it chooses as its base does."""
        if "." in qn or depth > 5:
            return False
        if self._classes is None:
            self._classes = {c.name.value: c for c in find(self.module, cst.ClassDef)}
        cls = self._classes.get(qn)
        if cls is None:
            return False
        for base in cls.bases:
            bqn = self.qualname(base.value) or ""
            if bqn in names.BRANCH_OPERATORS and not bqn.endswith(("PythonOperator", "ShortCircuitOperator")):
                return True
            if bqn != qn and self._local_branch_class(bqn, depth + 1):
                return True
        return False

    def _operator_task(self, node: cst.Call, qn: str, kw: dict[str, cst.BaseExpression], env: dict[str, Any]) -> Any:
        dag = self._dag
        tid = self.eval(kw["task_id"], env)
        if not isinstance(tid, Const):
            self.gap(dag, "IX106", node, f"task_id computed at run time in DAG {dag.dag_id!r}: `{code_of(kw['task_id'])}`; task not converted")
            return None
        if qn in names.PYTHON_OPERATORS:
            kind = "python"
        elif qn in names.BASH_OPERATORS:
            kind = "bash"
        elif qn in names.EMPTY_OPERATORS:
            kind = "empty"
        elif qn in names.BRANCH_OPERATORS or self._local_branch_class(qn):
            kind = "branch"
        elif qn in names.UNSUPPORTED_OPERATORS:
            kind = "unsupported"
        else:
            kind = "shim"
        task_id = f"{self._group}.{tid.value}" if self._group else str(tid.value)
        if task_id in dag.tasks:
            # Airflow refuses the file (DuplicateTaskIdFound); only TaskFlow calls get id__1, id__2
            raise ConversionError(
                "IX006",
                self.line(node),
                f"task_id {task_id!r} is used twice in DAG {dag.dag_id!r} (line {dag.tasks[task_id].line} and line "
                f"{self.line(node)}): Airflow refuses this file (DuplicateTaskIdFound); give each task its own id",
            )
        task = Task(
            task_id=task_id,
            kind=kind,
            operator=(dotted(node.func) or code_of(node.func)).rsplit(".", 1)[-1],
            qualname=qn,
            line=self.line(node),
            call=node,
            kwargs=dict(kw),
            pos_args=[a for a in node.args if a.keyword is None and not a.star],
            group=self._group,
        )
        callable_node = kw.get("python_callable")
        if callable_node is not None:
            task.callable_expr = callable_node
            task.callable_name = callable_node.value if isinstance(callable_node, cst.Name) else None
        dag.tasks[task_id] = task
        self.model.call_tasks[id(node)] = task_id
        # XComArgs passed as operator arguments are data edges, as in Airflow
        for key, value in kw.items():
            if key in ("task_id", "dag", "python_callable"):
                continue
            evaluated = self.eval(value, env)
            self._record_arg_calls(task, value, evaluated)
            for ref in _flat(evaluated):
                if isinstance(ref, XComArgRef):
                    dag.edges.append((ref.task_id, task_id))
        self._env_snapshot(task, env)
        return TaskRef(task_id)

    @staticmethod
    def _record_arg_calls(task: Task, expr: cst.BaseExpression, value: Any) -> None:
        """The task each TaskFlow call in ``task``'s arguments made *in this evaluation*
        (``task_2(task_1(value))`` unrolled per loop iteration or helper call: each copy reads
        its own ``task_1``, never the last one made from the same source)."""
        calls: dict[int, str] = task.options.setdefault("_arg_calls", {})
        if isinstance(expr, cst.Call) and isinstance(value, (TaskRef, XComArgRef)):
            calls[id(expr)] = value.task_id
        elif isinstance(expr, (cst.List, cst.Tuple)) and isinstance(value, list) and len(value) == len(expr.elements):
            for el, v in zip(expr.elements, value):
                Analyzer._record_arg_calls(task, el.value, v)

    def _env_snapshot(self, task: Task, env: dict[str, Any]) -> None:
        """Constants bound by loops at creation time: substituted into the task's arguments."""
        consts = {k: v.value for k, v in env.items() if isinstance(v, Const)}
        task.options["_loop_env"] = consts
        task.options["_env"] = dict(env)
        task.options["_loop_vars"] = set().union(*self._loop_vars) if self._loop_vars else set()

    def _add_edges(self, up: Any, down: Any, node: cst.CSTNode) -> None:
        ups = self._task_ids_of(up, last=True)
        downs = self._task_ids_of(down, last=False)
        one_side_unknown = (up is None and bool(downs)) or (down is None and bool(ups))
        if (up is not None and not ups) or (down is not None and not downs) or one_side_unknown:
            if not _holds_tasks(up) or not _holds_tasks(down):
                self.gap(
                    self._dag,
                    "IX107",
                    node,
                    f"dependency `{code_of(node).strip()[:80]}` in DAG {self._dag.dag_id!r} refers to something "
                    "that is not a task known statically; edge not converted",
                )
                return
        for u in ups:
            for d in downs:
                self._dag.edges.append((u, d))

    def _task_ids_of(self, value: Any, last: bool) -> list[str]:
        out: list[str] = []
        for v in _flat(value):
            if isinstance(v, (TaskRef, XComArgRef)):
                out.append(v.task_id)
            elif isinstance(v, GroupRef):
                out.extend(self._group_ends(v, last))
        return out

    def _group_ends(self, group: GroupRef, last: bool) -> list[str]:
        # members as they are when the group is wired (``chain(begin, group, end)`` inside its own
        # ``with TaskGroup`` block sees the tasks made so far), as Airflow computes roots and leaves
        members = [
            tid for tid, t in self._dag.tasks.items() if t.group == group.group_id or (t.group or "").startswith(group.group_id + ".")
        ]
        for tid in members:
            if tid not in group.task_ids:
                group.task_ids.append(tid)
        inside = set(group.task_ids)
        edges = [(u, d) for u, d in self._dag.edges if u in inside and d in inside]
        if last:
            return [t for t in group.task_ids if not any(u == t for u, _ in edges)]
        return [t for t in group.task_ids if not any(d == t for _, d in edges)]


# ---------------------------------------------------------------------- helpers
@dataclass
class EdgeLabel:
    """``Label("x")`` in a chain: remembers the left side until the right side arrives."""

    upstream: Any = None


@dataclass
class DictValue:
    """A dict literal holding task references (``op_kwargs={"x": t.output}``)."""

    values: list[Any]


_STR_METHODS = frozenset(
    {"format", "lower", "upper", "replace", "strip", "lstrip", "rstrip", "capitalize", "title", "removesuffix", "removeprefix"}
)
_PATH_PARTS = frozenset({"stem", "name", "suffix"})
_PATH_FUNCTIONS = {"os.path.basename": os.path.basename, "os.path.splitext": os.path.splitext}
_DICT_VIEWS = {"items": lambda d: list(d.items()), "keys": lambda d: list(d), "values": lambda d: list(d.values())}


def _is_plain_literal(value: Any) -> bool:
    """A value whose ``repr`` is Python source for the same value."""
    if isinstance(value, (list, tuple)):
        return all(_is_plain_literal(v) for v in value)
    if isinstance(value, dict):
        return all(_is_plain_literal(k) and _is_plain_literal(v) for k, v in value.items())
    return value is None or isinstance(value, (bool, int, float, str))


#: task attributes the rules read when set after creation (``t.retries = 3``)
_READ_AFTER_CREATION = names.TASK_OPTION_ARGS | set(names.CALLBACK_ARGS) | {"trigger_rule", "pool"}


def _bare_name(stmt: cst.SimpleStatementLine) -> str | None:
    """The name of a line that is only a name (``dag``), else None."""
    if len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, cst.Name):
        return stmt.body[0].value.value
    return None


def _sets_attribute_of(stmt: cst.SimpleStatementLine, var: str | None) -> bool:
    """``var.attr = value`` (every small statement of the line)."""
    return bool(var) and all(
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Attribute)
        and dotted(small.targets[0].target.value) == var
        for small in stmt.body
    )


def _operator_assignment(stmt: cst.SimpleStatementLine) -> tuple[str, bool] | None:
    """``name = SomeOperator(task_id=..., ...)``: the name and whether ``dag=`` is passed."""
    if len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Assign) or len(stmt.body[0].targets) != 1:
        return None
    target, value = stmt.body[0].targets[0].target, stmt.body[0].value
    if not isinstance(target, cst.Name) or not isinstance(value, cst.Call):
        return None
    keywords = {a.keyword.value for a in value.args if a.keyword is not None}
    return (target.value, "dag" in keywords) if "task_id" in keywords else None


def _operator_target(stmt: cst.SimpleStatementLine) -> str | None:
    """``name = SomeOperator(task_id=..., ...)`` with no ``dag=``: the name, else None."""
    found = _operator_assignment(stmt)
    return found[0] if found and not found[1] else None


def _flat(value: Any) -> list[Any]:
    if isinstance(value, DictValue):
        return _flat(value.values)
    if isinstance(value, list):
        out: list[Any] = []
        for v in value:
            out.extend(_flat(v))
        return out
    return [] if value is None else [value]


def _holds_tasks(value: Any) -> bool:
    if isinstance(value, DictValue):
        return False
    return any(isinstance(v, (TaskRef, XComArgRef, GroupRef)) for v in _flat(value))


def _binop(op: cst.BaseBinaryOp, a: Any, b: Any) -> Any:
    if isinstance(op, cst.Add):
        return a + b
    if isinstance(op, cst.Subtract):
        return a - b
    if isinstance(op, cst.Multiply):
        return a * b
    if isinstance(op, cst.Modulo):
        return a % b
    raise ValueError(op)


_calls_in = calls_in
_names_in = names_in


_children = children


_NOT_A_FACTORY = object()


def _target_names(target: cst.CSTNode) -> set[str]:
    return _names_in(target)


def _assigned_in(stmt: cst.CSTNode) -> set[str]:
    """Names assigned anywhere inside a compound statement (targets of =, for, with ... as)."""
    out: set[str] = set()
    stack: list[cst.CSTNode] = [stmt]
    while stack:
        node = stack.pop()
        kind = type(node)  # exact types (none has subclasses): isinstance on libcst's ABCs is slow
        if kind is cst.AssignTarget or kind is cst.For:
            out |= _target_names(node.target)
        elif (kind is cst.AnnAssign or kind is cst.AugAssign) and type(node.target) is cst.Name:
            out.add(node.target.value)
        elif kind is cst.AsName and type(node.name) is cst.Name:
            out.add(node.name.value)
        if kind not in _SCOPES or node is stmt:
            stack.extend(children(node))
    return out


_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


def _is_main_guard(stmt: cst.If) -> bool:
    return "__main__" in code_of(stmt.test)


def analyse(module: cst.Module, path: str, source: str | None = None) -> FileModel:
    """Build the :class:`FileModel` of a parsed DAG file."""
    return Analyzer(module, path, source).run()


class DagDiscovery(Rule):
    """Every DAG Airflow builds is found at the module's top level, under Airflow's own id, or the
    file is refused with the reason: a DAG built where it cannot be placed, an id computed at run
    time or derived from the file's path, a task_id used twice."""

    CONSTRUCT = "`with DAG(...)`, `dag = DAG(...)`, `@dag`; module constants and annotated literals as ids"
    RESULT = "one `@flow` per DAG, named with the `dag_id`"
    CODES = ("IX003", "IX006")
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            from typing import Final
            DAG_ID: Final = "annotated"
            with DAG(DAG_ID, schedule=None):
                BashOperator(task_id="a", bash_command="echo a")
            """, "@flow(name='annotated')", title="an annotated literal as dag_id"),
        refuses(AIRFLOW_HEADER + """
            from pathlib import Path
            with DAG(Path(__file__).stem, schedule=None):
                BashOperator(task_id="a", bash_command="echo a")
            """, "IX003", title="a dag_id derived from the file's path"),
        refuses(AIRFLOW_HEADER + """
            import os
            if os.environ.get("ENV") == "qa":
                with DAG("only_in_qa", schedule=None):
                    BashOperator(task_id="a", bash_command="echo a")
            """, "IX003", title="a DAG under a module-level if"),
        refuses(AIRFLOW_HEADER + """
            with DAG("dup", schedule=None):
                BashOperator(task_id="load", bash_command="echo 1")
                BashOperator(task_id="load", bash_command="echo 2")
            """, "IX006", title="a task_id used twice: Airflow refuses the file"),
    ]


class BuilderEvaluation(Rule):
    """Helpers defined in the file and ``@task_group`` functions that build tasks are evaluated in
    place with their arguments bound, as Airflow runs them while parsing the file."""

    CONSTRUCT = "helpers that build operators, `@task_group` functions, `with TaskGroup(...)`"
    RESULT = "the tasks they build, with Airflow's ids (`group.task`, `group__1.task` on repeated calls)"
    EXAMPLES = [
        converts(AIRFLOW_HEADER + """
            def pipeline(suffix):
                first = BashOperator(task_id=f"first_{suffix}", bash_command="echo 1")
                last = BashOperator(task_id=f"last_{suffix}", bash_command="echo 2")
                first >> last

            with DAG("helpers", schedule=None):
                pipeline("a")
                pipeline("b")
            """, "def first_a():", "def last_b():", title="a helper with several statements"),
        converts(AIRFLOW_HEADER + """
            @task
            def one(v):
                return v

            @task_group
            def g(value):
                one(value)

            with DAG("groups", schedule=None):
                for i in range(2):
                    g(i)
            """, "'g.one'", "'g__1.one'", title="a @task_group called twice"),
        converts(AIRFLOW_HEADER + """
            @task
            def one(v):
                return v

            @task
            def two(v):
                return v * 2

            @task_group
            def g(value):
                two(one(value))

            with DAG("nested", schedule=None):
                for i in range(2):
                    g(i)
            """, "submit(g_one_future)", "submit(g__1_one_future)",
            title="nested TaskFlow calls: each copy reads its own upstream"),
        marks(AIRFLOW_HEADER + """
            @task_group
            def op(num):
                @task
                def add_1(num):
                    return num + 1

                add_1(num)

            with DAG("mapped_group", schedule=None):
                op.expand(num=[1, 2, 3])
            """, "IX105", title="a mapped task group: its tasks listed under Airflow's ids, left to a hand"),
    ]
