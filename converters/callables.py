"""Rule: python callables that read the run context and push or pull XComs.

What: inside a ``PythonOperator`` callable,

* ``ti.xcom_push(key="k", value=v)`` (``ti`` a parameter, ``context["ti"]``,
  ``kwargs["task_instance"]``) becomes ``xcom["k"] = v`` and the task returns the dict of its
  XComs (its return value under ``"return_value"``);
* ``ti.xcom_pull(task_ids="t", key="k")`` becomes a keyword parameter bound to task ``t``'s
  result (``t_result["k"]``, or ``t_result`` for the return value);
* ``kwargs["ds"]``, ``context.get("params")``, ``get_current_context()["ds"]`` become
  keyword parameters (``ds``, ``params``) that the flow passes from its run context.

Why: in Prefect, data flows through return values and parameters; there is no XCom table
and no context dict.

Safety: a pull whose task ids or key are only known at run time goes through
``airflow_interop.runtime.xcom_lookup`` over all upstream results (report entry IX201); a use of ``ti``
or of the context that has no equivalent keeps its code and gets a
``# interop: TODO(CODE)`` marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import libcst as cst

from converters import names
from converters.analysis import code_of, literal
from converters.walk import Pruned, find, is_docstring, names_in

MARKER = "# interop: TODO({code}): {message}"
_EQ = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def ident(task_id: str) -> str:
    """A Python identifier for a task id (``group.load-1`` -> ``group_load_1``)."""
    out = re.sub(r"\W", "_", task_id)
    if not out or out[0].isdigit():
        out = "t_" + out
    return out


def result_param(task_id: str) -> str:
    return f"{ident(task_id)}_result"


@dataclass
class CallableScan:
    """What a callable does with the context and XComs (first pass, before rewriting)."""

    pushed_keys: set[str] = field(default_factory=set)
    dynamic_push: bool = False
    pulls_from: set[str] = field(default_factory=set)
    dynamic_pull: bool = False
    context_names: list[str] = field(default_factory=list)
    var_kw: str | None = None

    @property
    def pushes(self) -> bool:
        return bool(self.pushed_keys) or self.dynamic_push


@dataclass
class PullResolver:
    """How pulls are answered: the shapes of the upstream tasks."""

    shapes: dict[str, str | None]  # task_id -> "value" | "xcoms" | None (removed)
    pushed: dict[str, set[str]]  # task_id -> keys it is known to push
    multi: set[str] = field(default_factory=set)  # tasks with multiple_outputs=True (dict keys are XComs)


@dataclass
class RewriteResult:
    function: cst.FunctionDef
    data_params: dict[str, str]  # param -> upstream task id
    context_params: list[str]  # context keys the flow must pass
    needs_upstream_xcoms: bool
    findings: list[tuple[str, str, bool]]  # (code, message, manual)
    skips: bool = False  # raises AirflowSkipException somewhere (now returns skipped(...))
    #: context parameters whose flow value is not :func:`names.context_value`'s (``conf`` -> ``ctx.conf``)
    context_sources: dict[str, str] = field(default_factory=dict)


class _Roles:
    """Which names are the context dict and which are the task instance."""

    def __init__(self, func: cst.FunctionDef, qualname: Callable[[cst.BaseExpression], str | None]) -> None:
        self.qualname = qualname
        self.ctx_vars: set[str] = set()
        self.ti_vars: set[str] = set()
        self.named_context: list[str] = []
        self.airflow_only: list[str] = []
        star = func.params.star_kwarg
        self.var_kw = star.name.value if star is not None else None
        self.param_names = {p.name.value for p in (*func.params.params, *func.params.kwonly_params, *func.params.posonly_params)}
        if self.var_kw:
            self.ctx_vars.add(self.var_kw)
        for p in func.params.params + func.params.kwonly_params:
            n = p.name.value
            if n in names.TI_KEYS:
                self.ti_vars.add(n)
            elif n in names.CONTEXT_KEYS:
                self.named_context.append(n)
            elif n in names.AIRFLOW_ONLY_CONTEXT_KEYS and (p.default is None or _is_none(p.default)):
                # ``def f(*, outlet_events=None)``: Airflow fills it from the context all the same
                self.airflow_only.append(n)
        # assignments: x = get_current_context(); ti = context["ti"]
        for _ in range(2):
            for node in _walk(func, cst.Assign):
                if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
                    continue
                name = node.targets[0].target.value
                if self.is_context_call(node.value):
                    self.ctx_vars.add(name)
                elif self.context_key(node.value) in names.TI_KEYS:
                    self.ti_vars.add(name)

    def is_context_call(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Call) and self.qualname(node.func) in names.GET_CURRENT_CONTEXT

    def context_key(self, node: cst.BaseExpression) -> str | None:
        """``context["ds"]`` / ``context.get("ds")`` / ``get_current_context()["ds"]`` -> ``ds``."""
        base: cst.BaseExpression | None = None
        key_node: cst.BaseExpression | None = None
        if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            base, key_node = node.value, node.slice[0].slice.value
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "get"
            and node.args
        ):
            base, key_node = node.func.value, node.args[0].value
        if base is None or key_node is None:
            return None
        if not ((isinstance(base, cst.Name) and base.value in self.ctx_vars) or self.is_context_call(base)):
            return None
        try:
            key = literal(key_node)
        except (ValueError, SyntaxError):
            return None
        return key if isinstance(key, str) else None

    def is_ti(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name) and node.value in self.ti_vars:
            return True
        return self.context_key(node) in names.TI_KEYS


def _walk(node: cst.CSTNode, kind: type) -> list:
    return find(node, kind)


def _names(stmt: cst.CSTNode) -> set[str]:
    """The names under one statement (its walk cached: :func:`find`)."""
    return {n.value for n in find(stmt, cst.Name)}


def _xcom_call(node: cst.CSTNode, roles: _Roles, method: str) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == method
        and roles.is_ti(node.func.value)
    )


def _call_args(call: cst.Call, positional: list[str]) -> dict[str, cst.BaseExpression]:
    out: dict[str, cst.BaseExpression] = {}
    pos = [a for a in call.args if a.keyword is None and not a.star]
    for name, arg in zip(positional, pos):
        out[name] = arg.value
    for a in call.args:
        if a.keyword is not None:
            out[a.keyword.value] = a.value
    return out


def _static(node: cst.BaseExpression | None) -> object:
    if node is None:
        return None
    try:
        return literal(node)
    except (ValueError, SyntaxError):
        return _DYNAMIC


_DYNAMIC = object()


def scan_callable(func: cst.FunctionDef, qualname: Callable[[cst.BaseExpression], str | None]) -> CallableScan:
    """First pass: pushes, pulls and context names of a callable."""
    roles = _Roles(func, qualname)
    scan = CallableScan(var_kw=roles.var_kw)
    for call in _walk(func, cst.Call):
        if _xcom_call(call, roles, "xcom_push"):
            key = _static(_call_args(call, ["key", "value"]).get("key"))
            if isinstance(key, str):
                scan.pushed_keys.add(key)
            else:
                scan.dynamic_push = True
        elif _xcom_call(call, roles, "xcom_pull"):
            args = _call_args(call, ["task_ids", "dag_id", "key"])
            tids = _static(args.get("task_ids"))
            if isinstance(tids, str):
                scan.pulls_from.add(tids)
            elif isinstance(tids, (list, tuple)) and all(isinstance(t, str) for t in tids):
                scan.pulls_from.update(tids)
            else:
                scan.dynamic_pull = True
    return scan


class _Rewriter(Pruned, cst.CSTTransformer):
    def targets(self, root: cst.CSTNode) -> set[int]:
        # what this rewriter changes reads a context or task instance root, or is a raise/return
        # (from the cached walks of ``root``: rewrite_callable has walked it for its names already)
        return {id(n) for n in find(root, cst.Name) if n.value in self.roots} | {
            id(n) for n in find(root, (cst.Raise, cst.Return))
        }

    def __init__(
        self, roles: _Roles, resolver: PullResolver, xcom_name: str, known_tasks: set[str],
        later: frozenset[str] = frozenset(), airflow2: bool = False,
    ) -> None:
        self.roles = roles
        self.resolver = resolver
        self.xcom = xcom_name
        self.known = known_tasks
        self.later = later  # tasks that run after every task calling this function (downstream of it)
        self.airflow2 = airflow2  # the file is an Airflow 1.10/2.x DAG (how a pull finding nothing answers)
        self.data_params: dict[str, str] = {}
        self.context_params: list[str] = []
        self.attribute_bases: dict[int, str] = {}  # id of ``context["dag"]`` in ``context["dag"].dag_id`` -> param
        self.supplied: frozenset[str] = frozenset()  # op_kwargs keys: read through **kwargs, not context
        self.needs_upstream = False
        self.findings: list[tuple[str, str, bool]] = []
        self.pending: list[str] = []
        self.depth = 0

    # markers go on the statement that holds the construct
    def _mark(self, code: str, message: str, manual: bool = True) -> None:
        self.findings.append((code, message, manual))
        if manual:
            self.pending.append(MARKER.format(code=code, message=message))

    def _attach(self, node: cst.BaseStatement) -> cst.BaseStatement:
        if not self.pending:
            return node
        lines = [cst.EmptyLine(comment=cst.Comment(m)) for m in dict.fromkeys(self.pending)]
        self.pending = []
        return node.with_changes(leading_lines=[*node.leading_lines, *lines])

    #: names a line must read to hold anything this rewriter changes, besides ``raise``/``return``
    #: (the context and task instance variables, roots of a ``get_current_context`` name)
    roots: frozenset[str] = frozenset()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        # libcst rebuilds every node it enters: a line with nothing to rewrite is left as it is
        if any(isinstance(small, (cst.Raise, cst.Return)) for small in node.body):
            return True
        return not self.roots.isdisjoint(names_in(node))

    def leave_SimpleStatementLine(self, original, updated):  # noqa: ANN001
        return self._attach(updated)

    def leave_If(self, original, updated):  # noqa: ANN001
        return self._attach(updated)

    def leave_For(self, original, updated):  # noqa: ANN001
        return self._attach(updated)

    def leave_While(self, original, updated):  # noqa: ANN001
        return self._attach(updated)

    def leave_With(self, original, updated):  # noqa: ANN001
        return self._attach(updated)

    def leave_Try(self, original, updated):  # noqa: ANN001
        return self._attach(updated)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.depth += 1
        return True

    def leave_FunctionDef(self, original, updated):  # noqa: ANN001
        self.depth -= 1
        return self._attach(updated)

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.depth += 1
        return True

    def leave_Lambda(self, original, updated):  # noqa: ANN001
        self.depth -= 1
        return updated

    # pushes: ti.xcom_push(key=k, value=v) as a statement -> xcom[k] = v
    def leave_Expr(self, original: cst.Expr, updated: cst.Expr) -> cst.BaseSmallStatement:
        call = original.value
        if _xcom_call(call, self.roles, "xcom_push"):
            args = _call_args(call, ["key", "value"])  # type: ignore[arg-type]
            if "key" in args and "value" in args:
                upd_args = _call_args(updated.value, ["key", "value"])  # type: ignore[arg-type]
                return cst.Assign(
                    targets=[
                        cst.AssignTarget(
                            cst.Subscript(
                                value=cst.Name(self.xcom),
                                slice=[cst.SubscriptElement(cst.Index(upd_args["key"]))],
                            )
                        )
                    ],
                    value=upd_args["value"],
                )
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if _xcom_call(original, self.roles, "xcom_pull"):
            return self._pull(original, updated)
        key = self.roles.context_key(original)
        if key is not None and id(original) not in self.attribute_bases:
            return self._context(key, updated)
        return updated

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
        key = self.roles.context_key(original)
        if key is not None and id(original) not in self.attribute_bases:
            return self._context(key, updated)
        return updated

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        # context["dag"].dag_id: the attribute has a flow equivalent though the object has none
        param = names.CONTEXT_ATTRIBUTES.get((self.roles.context_key(node.value) or "", node.attr.value))
        if param is not None and param not in self.roles.param_names:
            self.attribute_bases[id(node.value)] = param
        return True

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        param = self.attribute_bases.get(id(original.value))
        if param is None:
            return updated
        if param not in self.context_params:
            self.context_params.append(param)
        return cst.Name(param)

    def _context(self, key: str, node: cst.BaseExpression) -> cst.BaseExpression:
        if key in names.TI_KEYS:
            return node  # receiver of xcom calls; other uses are reported below
        if key in self.supplied and key not in names.CONTEXT_KEYS:
            return node  # an op_kwargs value the task passes: it arrives in **kwargs as before
        if key in names.CONTEXT_KEYS:
            if key not in self.context_params:
                self.context_params.append(key)
            return cst.Name(key)
        self._mark("IX202", f"context key {key!r} has no equivalent in a Prefect flow")
        return node

    def _pull(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        args = _call_args(original, ["task_ids", "dag_id", "key"])
        if "dag_id" in args:
            self._mark("IX201", "xcom_pull from another DAG; pass the value in by hand")
            return updated
        tids = _static(args.get("task_ids"))
        key_node = args.get("key")
        key = "return_value" if key_node is None else _static(key_node)
        if args.get("task_ids") is None:
            self._mark("IX201", "xcom_pull without task_ids cannot be resolved statically")
            return updated
        if tids is _DYNAMIC or key is _DYNAMIC and not isinstance(tids, str):
            return self._runtime_pull(updated)
        ids = [tids] if isinstance(tids, str) else list(tids)  # type: ignore[arg-type]
        exprs = []
        for tid in ids:
            if tid not in self.known:
                self._mark("IX201", f"xcom_pull from task {tid!r}, which is not a task of this DAG")
                return updated
            prior = _call_args(updated, ["task_ids", "dag_id", "key", "include_prior_dates"]).get("include_prior_dates")
            if tid in self.later and (prior is None or _static(prior) is False):
                # Airflow runs ``tid`` after this task: the pull finds no XCom of this run. Airflow 2
                # answers a one-task pull with its ``default`` and leaves the task out of a list;
                # Airflow 3 answers None in both (its ``default`` only counts with ``map_indexes``)
                default = _call_args(updated, ["task_ids", "dag_id", "key"]).get("default")
                answer = default if self.airflow2 and default is not None else cst.Name("None")
                self.findings.append((
                    "IX215",
                    f"xcom_pull from {tid!r}, which runs after this task (downstream of it): Airflow finds no XCom "
                    f"of the run there and answers {code_of(answer).strip() if isinstance(tids, str) or not self.airflow2 else 'without it'}, "
                    "as the flow does",
                    False,
                ))
                if isinstance(tids, str) or not self.airflow2:
                    exprs.append(answer)
                continue
            exprs.append(self._pull_expr(tid, key, key_node))
        if isinstance(tids, str):
            return exprs[0]
        return cst.List([cst.Element(e) for e in exprs])

    def _pull_expr(self, tid: str, key: object, key_node: cst.BaseExpression | None) -> cst.BaseExpression:
        shape = self.resolver.shapes.get(tid)
        if shape is None:
            self.findings.append(("IX201", f"xcom_pull from {tid!r}, which pushes nothing: None", False))
            return cst.Name("None")
        param = result_param(tid)
        self.data_params[param] = tid
        if key is _DYNAMIC:
            self.findings.append(("IX201", f"XCom key read from {tid!r} is computed at run time", False))
            if shape == "xcoms":
                return cst.parse_expression(f"{param}.get({code_of(key_node)})")  # type: ignore[arg-type]
            return cst.parse_expression(f"({param} if {code_of(key_node)} == 'return_value' else None)")  # type: ignore[arg-type]
        if shape == "xcoms":
            if key in self.resolver.pushed.get(tid, set()):
                return cst.parse_expression(f"{param}[{key!r}]")
            return cst.parse_expression(f"{param}.get({key!r})")
        if key == "return_value":
            return cst.Name(param)
        if tid in self.resolver.multi:
            return cst.parse_expression(f"{param}.get({key!r})")
        self.findings.append(("IX201", f"xcom_pull of key {key!r} from {tid!r}, which never pushes it: None", False))
        return cst.Name("None")

    def _runtime_pull(self, updated: cst.Call) -> cst.BaseExpression:
        self.needs_upstream = True
        self.findings.append(
            ("IX201", "xcom_pull with task ids or key computed at run time: answered by airflow_interop.runtime.xcom_lookup", False)
        )
        args = _call_args(updated, ["task_ids", "dag_id", "key"])
        parts = [code_of(args["task_ids"])]
        if "key" in args:
            parts.append(f"key={code_of(args['key'])}")
        return cst.parse_expression(f"xcom_lookup(upstream_xcoms, {', '.join(parts)})")

    def leave_Raise(self, original: cst.Raise, updated: cst.Raise) -> cst.BaseSmallStatement:
        exc = original.exc
        target = exc.func if isinstance(exc, cst.Call) else exc
        if target is not None and (self.roles.qualname(target) or "").endswith("AirflowSkipException"):
            self.skips = True
            args = ", ".join(code_of(a.value) for a in exc.args[:1]) if isinstance(exc, cst.Call) else ""
            return cst.Return(value=cst.parse_expression(f"skipped({args})"))
        return updated

    skips = False

    def leave_Return(self, original: cst.Return, updated: cst.Return) -> cst.Return:
        if self.depth != 1 or self.xcom is None or not self._pushes:
            return updated
        if updated.value is None:
            return updated.with_changes(value=cst.Name(self.xcom), whitespace_after_return=cst.SimpleWhitespace(" "))
        returned = code_of(updated.value)
        if isinstance(updated.value, cst.Tuple) and not updated.value.lpar:
            returned = f"({returned})"  # return a, b
        return updated.with_changes(value=cst.parse_expression(f'{{**{self.xcom}, "return_value": {returned}}}'))

    _pushes = False


def _context_root(name: str, qualname: Callable[[cst.BaseExpression], str | None]) -> bool:
    """Can a dotted name starting with ``name`` be ``get_current_context``?"""
    q = qualname(cst.Name(name)) or name
    return any(full == q or full.startswith(q + ".") for full in names.GET_CURRENT_CONTEXT)


def rewrite_callable(
    func: cst.FunctionDef,
    scan: CallableScan,
    resolver: PullResolver,
    known_tasks: set[str],
    qualname: Callable[[cst.BaseExpression], str | None],
    keep_var_kw: bool,
    supplied_kwargs: frozenset[str] = frozenset(),
    later: frozenset[str] = frozenset(),
    airflow2: bool = False,
) -> RewriteResult:
    """Second pass: rewrite a callable's XCom and context use (see module docstring).

    ``supplied_kwargs`` are the ``op_kwargs`` keys the tasks pass: ``kwargs["product"]`` reads
    one of them (it still arrives through ``**kwargs``), not the run context. A pull from a task
    of ``later`` (downstream of every task calling the function) is what Airflow answers when it
    finds no XCom (``airflow2``: the pull's ``default``; Airflow 3: None)."""
    roles = _Roles(func, qualname)
    used_names = {n.value for n in _walk(func, cst.Name)}
    context_funcs = {n for n in used_names if qualname(cst.Name(n)) in names.GET_CURRENT_CONTEXT}
    raises_skip = any(
        (qualname(r.exc.func if isinstance(r.exc, cst.Call) else r.exc) or "").endswith("AirflowSkipException")
        for r in _walk(func, cst.Raise) if r.exc is not None
    )
    if not (roles.airflow_only or raises_skip or context_funcs or roles.ti_vars or roles.named_context or (roles.ctx_vars & used_names - {roles.var_kw}) or (roles.var_kw and roles.var_kw in {n.value for n in _walk(func.body, cst.Name)})):
        # nothing reads the context or XComs: the function is kept as it is
        return RewriteResult(function=func, data_params={}, context_params=[], needs_upstream_xcoms=False, findings=[])
    xcom_name = "xcom" if "xcom" not in used_names else "interop_xcom"
    rw = _Rewriter(roles, resolver, xcom_name, known_tasks, later, airflow2)
    rw.roots = frozenset(roles.ctx_vars | roles.ti_vars | {n for n in used_names if _context_root(n, qualname)})
    rw.supplied = supplied_kwargs
    rw._pushes = scan.pushes
    new: cst.FunctionDef = func.visit(rw)  # type: ignore[assignment]

    # statements `context = get_current_context()` are dropped once nothing else reads them
    body = list(new.body.body)
    read_by = [_names(stmt) for stmt in body]  # each statement walked once, not once per candidate
    kept = []
    for stmt in body:
        drop = False
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
            assign = stmt.body[0]
            target = assign.targets[0].target if len(assign.targets) == 1 else None
            if isinstance(target, cst.Name) and (
                roles.is_context_call(assign.value) or roles.context_key(assign.value) in names.TI_KEYS
            ):
                if not any(target.value in read for s, read in zip(body, read_by) if s is not stmt):
                    drop = True
        if not drop:
            kept.append(stmt)
    body = kept
    # any ti/context left over has no equivalent
    left = set().union(*[_names(stmt) for stmt in body])
    for name in roles.airflow_only:
        message = f"parameter `{name}` is an Airflow context value with no flow equivalent; pass it in by hand"
        rw.findings.append(("IX202", message, True))
    leftover_ti = sorted(set(left) & (roles.ti_vars))
    if leftover_ti:
        rw.findings.append(("IX203", f"task instance `{leftover_ti[0]}` used for more than XCom; rewrite by hand", True))
        comment = cst.EmptyLine(comment=cst.Comment(MARKER.format(code="IX203", message=f"`{leftover_ti[0]}` (the Airflow task instance) has no Prefect equivalent here")))
        for i, stmt in enumerate(body):
            if set(leftover_ti) & _names(stmt):
                body[i] = stmt.with_changes(leading_lines=[*stmt.leading_lines, comment])
    leftover_ctx = sorted((set(left) & roles.ctx_vars) - ({roles.var_kw} if keep_var_kw else set()))
    if leftover_ctx:
        message = f"the run context `{leftover_ctx[0]}` is used as a whole; pass the values it needs"
        rw.findings.append(("IX204", message, True))
        comment = cst.EmptyLine(comment=cst.Comment(MARKER.format(code="IX204", message=message)))
        for i, stmt in enumerate(body):
            if set(leftover_ctx) & _names(stmt):
                body[i] = stmt.with_changes(leading_lines=[*stmt.leading_lines, comment])

    if scan.pushes:
        doc = 1 if body and is_docstring(body[0]) else 0
        body.insert(doc, cst.parse_statement(f"{xcom_name} = {{}}"))
        if not isinstance(body[-1], cst.SimpleStatementLine) or not isinstance(body[-1].body[-1], (cst.Return, cst.Raise)):
            body.append(cst.parse_statement(f"return {xcom_name}"))

    # signature
    params = new.params
    positional = [p for p in params.params if p.name.value not in roles.ti_vars]
    kwonly = [p for p in params.kwonly_params if p.name.value not in roles.ti_vars]
    existing = {p.name.value for p in positional + kwonly}
    # a task instance parameter still read (marked IX203 above) stays bound: the flow passes
    # nothing for it, so the marked line is where the task fails, not an undefined name
    kept_ti = [
        p.name.value for p in (*params.params, *params.kwonly_params)
        if p.name.value in leftover_ti
    ]
    kwonly += [cst.Param(cst.Name(n), default=cst.Name("None"), equal=_EQ) for n in kept_ti]
    existing |= set(kept_ti)
    additions = [n for n in rw.context_params if n not in existing]
    additions += [p for p in rw.data_params if p not in existing]
    if rw.needs_upstream and "upstream_xcoms" not in existing:
        additions.append("upstream_xcoms")
    kwonly += [cst.Param(cst.Name(n)) for n in additions]
    star_kwarg = params.star_kwarg
    remaining = set().union(*[_names(stmt) for stmt in body])
    if star_kwarg is not None and not keep_var_kw and star_kwarg.name.value not in remaining:
        star_kwarg = None
    star_arg = params.star_arg
    if kwonly and not isinstance(star_arg, cst.Param):
        star_arg = cst.ParamStar()
    if not kwonly and isinstance(star_arg, cst.ParamStar):
        star_arg = cst.MaybeSentinel.DEFAULT
    # keep `def f(a, b=1, /...)` shapes simple: positional params keep their order
    positional = [p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in positional]
    kwonly = [p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in kwonly]
    if star_kwarg is not None:
        star_kwarg = star_kwarg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    if isinstance(star_arg, cst.Param):
        star_arg = star_arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    new_params = params.with_changes(
        params=positional,
        kwonly_params=kwonly,
        star_kwarg=star_kwarg,
        star_arg=star_arg,
    )
    new = new.with_changes(params=new_params, body=new.body.with_changes(body=body))
    context_params = list(dict.fromkeys(rw.context_params + [n for n in roles.named_context if n in existing]))
    sources: dict[str, str] = {}
    if "dag_run" in context_params:
        plain = _plain_dag_run(new)
        if plain is not None:
            new, sources = plain
            at = context_params.index("dag_run")
            context_params[at:at + 1] = [p for p in sources if p not in context_params]
    return RewriteResult(
        function=new,
        data_params=dict(rw.data_params),
        context_params=context_params,
        needs_upstream_xcoms=rw.needs_upstream,
        findings=rw.findings,
        skips=rw.skips,
        context_sources=sources,
    )


#: ``dag_run.X`` read by a callable -> the run context's plain value the flow passes instead
DAG_RUN_VALUES = {
    "conf": "ctx.conf",
    "run_id": "ctx.run_id",
    "dag_id": "ctx.dag_id",
    "logical_date": "ctx.logical_date",
    "execution_date": "ctx.logical_date",
    "data_interval_start": "ctx.data_interval_start",
    "data_interval_end": "ctx.data_interval_end",
}


def _plain_dag_run(func: cst.FunctionDef) -> tuple[cst.FunctionDef, dict[str, str]] | None:
    """A callable that reads only plain values of ``dag_run`` (``dag_run.conf``, ``.run_id`` ...)
    takes those values as parameters instead (``conf``; ``dag_run_conf`` where ``conf`` is taken):
    no run object crosses the task boundary. None when ``dag_run`` is used otherwise."""
    reads = [n for n in _walk(func.body, cst.Name) if n.value == "dag_run"]
    attrs = [a for a in _walk(func.body, cst.Attribute) if isinstance(a.value, cst.Name) and a.value.value == "dag_run"]
    if not reads or len(attrs) != len(reads) or any(a.attr.value not in DAG_RUN_VALUES for a in attrs):
        return None
    attr_names = {id(a.attr) for a in _walk(func, cst.Attribute)}
    taken = {n.value for n in _walk(func, cst.Name) if id(n) not in attr_names} - {"dag_run"}
    names_for: dict[str, str] = {}
    sources: dict[str, str] = {}
    for attr in dict.fromkeys(a.attr.value for a in attrs):
        base = "logical_date" if attr == "execution_date" else attr
        name = base if base not in taken else f"dag_run_{base}"
        if name in taken:
            return None
        names_for[attr] = name
        sources[name] = DAG_RUN_VALUES[attr]

    class Swap(Pruned, cst.CSTTransformer):
        def targets(self, root: cst.CSTNode) -> set[int]:
            return {id(a) for a in attrs}

        def leave_Attribute(self, original, updated):  # noqa: ANN001
            if isinstance(original.value, cst.Name) and original.value.value == "dag_run":
                return cst.Name(names_for[original.attr.value])
            return updated

    def params(group):  # noqa: ANN001, ANN202
        out = []
        for p in group:
            if p.name.value == "dag_run":
                out += [p.with_changes(name=cst.Name(n), default=None, equal=cst.MaybeSentinel.DEFAULT) for n in sources if n not in {q.name.value for q in out}]
            else:
                out.append(p)
        return [p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in out]

    ps = func.params
    if "dag_run" not in {p.name.value for p in (*ps.params, *ps.kwonly_params)}:
        return None
    new_params = ps.with_changes(params=params(ps.params), kwonly_params=params(ps.kwonly_params))
    return func.with_changes(params=new_params, body=func.body.visit(Swap())), sources


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"
