"""Rule: Jinja in templated fields -> f-strings (or rendering at run time).

What: ``"echo {{ ds }} {{ params.region }} {{ ti.xcom_pull(task_ids='t') }}"`` becomes
``f"echo {ctx.ds} {ctx.params['region']} {t_result}"`` where ``t_result`` is a task parameter
bound to the upstream task's result.

Why: a converted flow has no Jinja environment; values are passed in at run time.

Safety: only expressions whose meaning is certain are translated (context names, params,
``var``, ``macros``, ``dag_run.conf``, literal ``xcom_pull``). Anything else (filters, control
blocks, unknown names) keeps the original template, rendered at run time by
``shims.runtime.render_template`` with Airflow's names. Templates are parsed with Jinja's own
parser.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

import jinja2
from jinja2 import nodes

from converters.names import CONTEXT_KEYS

_ENV = jinja2.Environment()


@dataclass
class Pull:
    """An ``xcom_pull`` found in a template."""

    task_ids: str | list[str]
    key: str


@dataclass
class Translation:
    """The result of translating one template string."""

    fstring: str | None  # python source of an f-string (or plain string) when translatable
    pulls: list[Pull] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # context names used
    has_jinja: bool = False
    pushes: bool = False  # the template calls ti.xcom_push


class _NotTranslatable(Exception):
    pass


def has_jinja(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def find_pulls(text: str) -> list[Pull]:
    """Every literal ``ti.xcom_pull(...)`` / ``task_instance.xcom_pull(...)`` in a template."""
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return []
    out = []
    for call in tree.find_all(nodes.Call):
        pull = _as_pull(call)
        if pull is not None:
            out.append(pull)
    return out


def find_pushes(text: str) -> list[str | None]:
    """The key of every ``ti.xcom_push(...)`` / ``task_instance.xcom_push(...)`` in a template
    (``None`` for a key that is not a literal)."""
    if "xcom_push" not in text:
        return []
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return []
    keys: list[str | None] = []
    for call in tree.find_all(nodes.Call):
        func = call.node
        if isinstance(func, nodes.Getattr) and func.attr == "xcom_push":
            key = _const(call.args[0]) if call.args else None
            for kw in call.kwargs:
                if kw.key == "key":
                    key = _const(kw.value)
            keys.append(key if isinstance(key, str) else None)
    return keys


def _as_pull(call: nodes.Call) -> Pull | None:
    func = call.node
    if not (
        isinstance(func, nodes.Getattr)
        and func.attr == "xcom_pull"
        and isinstance(func.node, nodes.Name)
        and func.node.name in ("ti", "task_instance")
    ):
        return None
    task_ids = None
    key = "return_value"
    if call.args:
        task_ids = _const(call.args[0])
    for kw in call.kwargs:
        if kw.key == "task_ids":
            task_ids = _const(kw.value)
        elif kw.key == "key":
            key = _const(kw.value)
    if isinstance(task_ids, (str, list)) and isinstance(key, str):
        return Pull(task_ids, key)
    return None


def _const(node: nodes.Node) -> object:
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.List) and all(isinstance(i, nodes.Const) for i in node.items):
        return [i.value for i in node.items]
    return None


def translate(text: str, pull_expr: Callable[[Pull], str | None], macros: Mapping[str, str] | None = None) -> Translation:
    """Translate a template into f-string source.

    Args:
        text: the template.
        pull_expr: gives the Python expression of an XCom pull's value, or None when the
            pull cannot be resolved (then the template is not translated).
        macros: the DAG's ``user_defined_macros``: macro name -> the module-level Python name
            it stands for (``{{ week_start(ds) }}`` -> ``week_start(ctx.ds)``).
    """
    if not has_jinja(text):
        return Translation(fstring=None)
    token = _MACROS.set(MappingProxyType(dict(macros or {})))
    try:
        return _translate(text, pull_expr)
    finally:
        _MACROS.reset(token)


#: the user-defined macros of the template being translated
_MACROS: ContextVar[Mapping[str, str]] = ContextVar("interop_user_macros", default=MappingProxyType({}))


def _translate(text: str, pull_expr: Callable[[Pull], str | None]) -> Translation:
    result = Translation(fstring=None, has_jinja=True)
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return result
    result.pulls = find_pulls(text)
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Getattr) and call.node.attr == "xcom_push":
            result.pushes = True
    parts: list[str] = []
    try:
        for node in tree.body:
            if not isinstance(node, nodes.Output):
                raise _NotTranslatable
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    parts.append(_escape(child.data))
                else:
                    parts.append("{" + _expr(child, pull_expr, result.names) + "}")
    except _NotTranslatable:
        return result
    body = "".join(parts)
    quote = '"""' if "\n" in text else '"'
    result.fstring = f"f{quote}{body}{quote}"
    return result


def _escape(data: str) -> str:
    out = data.replace("\\", "\\\\").replace("{", "{{").replace("}", "}}")
    if "\n" in data:
        out = out.replace('"""', '\\"\\"\\"')
        if out.endswith('"'):
            out = out[:-1] + '\\"'
    else:
        out = out.replace('"', '\\"')
    return out


def _expr(node: nodes.Node, pull_expr: Callable[[Pull], str | None], used: set[str]) -> str:  # noqa: C901
    if isinstance(node, nodes.Name):
        if node.name in CONTEXT_KEYS and node.name != "templates_dict":
            used.add(node.name)
            return CONTEXT_KEYS[node.name]
        if node.name in _MACROS.get():
            return _MACROS.get()[node.name]
        raise _NotTranslatable
    if isinstance(node, nodes.Const):
        value = node.value
        if isinstance(value, str) and ("'" in value or "\\" in value or "\n" in value or "{" in value or "}" in value):
            raise _NotTranslatable
        if isinstance(value, str):
            return "'" + value + "'"
        if isinstance(value, (int, float, bool)) or value is None:
            return repr(value)
        raise _NotTranslatable
    if isinstance(node, nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "dag_run" and node.attr == "conf":
            used.add("dag_run")
            return "ctx.conf"
        base = _expr(node.node, pull_expr, used)
        if base.startswith(("ctx.params", "ctx.conf")):  # dicts: Jinja's getattr falls back to items
            if node.attr in ("get", "keys", "items", "values"):
                return f"{base}.{node.attr}"
            return f"{base}['{node.attr}']"
        return f"{base}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        return f"{_expr(node.node, pull_expr, used)}[{_expr(node.arg, pull_expr, used)}]"
    if isinstance(node, nodes.Call):
        pull = _as_pull(node)
        if pull is not None:
            expr = pull_expr(pull)
            if expr is None:
                raise _NotTranslatable
            return expr
        if node.dyn_args or node.dyn_kwargs:
            raise _NotTranslatable
        func = node.node
        # only macros.* and dag_run.conf.get(...) calls are known to be pure
        allowed = (isinstance(func, nodes.Name) and func.name in _MACROS.get()) or (
            isinstance(func, nodes.Getattr)
            and (
                (isinstance(func.node, nodes.Name) and func.node.name == "macros")
                or (isinstance(func.node, nodes.Getattr) and func.node.attr == "conf" and func.attr == "get")
                or (isinstance(func.node, nodes.Getattr) and isinstance(func.node.node, nodes.Name) and func.node.node.name == "macros")
            )
        )
        if not allowed:
            raise _NotTranslatable
        args = [_expr(a, pull_expr, used) for a in node.args]
        args += [f"{kw.key}={_expr(kw.value, pull_expr, used)}" for kw in node.kwargs]
        return f"{_expr(func, pull_expr, used)}({', '.join(args)})"
    raise _NotTranslatable
