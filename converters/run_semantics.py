"""Rules: where a converted task runs but Prefect hands it values Airflow did not.

Differences a run shows and the syntax predicts (found by ``interop compare`` on real DAGs,
``docs/not-supported.md``):

- **A task changes an upstream value in place** (``data["valid"] = True``, ``rows.append(...)``):
  Airflow hands each task its own copy (the value goes through XCom, serialized); the flow hands
  it the upstream's own object, so the upstream's result and every other reader see the change.
  IX209, on the task; copy the value first (``data = dict(data)``) where that matters.
- **Pendulum-only methods on a run date** (``data_interval_end.in_timezone("Asia/Seoul")``,
  ``logical_date.add(days=1)``, ``{{ ds_nodash }}`` is fine, ``{{ logical_date.format(...) }}`` is
  not): Airflow's dates are ``pendulum.DateTime``; the flow's are ``datetime.datetime``, which has no
  such method. IX210, on the task; write it with ``datetime``/``zoneinfo`` (``astimezone``,
  ``+ timedelta``, ``strftime``).

- **A task function that yields** (``yield Metadata(asset, extra)``): Airflow turns the yields into
  asset events; the flow's task would return the generator. IX211, on the task (manual).

- **A task a mapped task expands over returns what Airflow cannot map** (``return map(f, xs)``, a
  generator, a set, ``d.keys()``): Airflow maps only over ordered collections (a list, a tuple, a
  dict: ``is_mappable_value``) and fails the task (``UnmappableXComTypePushed``), its mapped
  tasks never run; the flow's ``.map()`` iterates over anything. IX212, on the task; return a list.

- **A template rendered at run time reads the DAG's `user_defined_macros` / `user_defined_filters`**
  (``"echo {{ author }}"``, ``"{{ name | first_word }}"``): the flow's ``render_template`` (and the
  operator shim's DAG) does not have them, the task fails (``UndefinedError``). IX213, manual.

- **`trigger_rule="one_success"` below two or more tasks**: Airflow runs the task as soon as one
  upstream task succeeds, a failed one included; the flow waits for all of them and a failed one
  stops it (upstream failed) and fails the run. IX214, on the task (the runs agree while no
  upstream task fails); where one may, wait with ``allow_failure`` and check the states.

All are facts about the task's own code (its callable, as rewritten, and its templated
arguments); a task run through the operator shim gets Airflow's own values and is not checked.
"""

from __future__ import annotations

import re

import libcst as cst

from converters.analysis import code_of
from converters.model import Dag, Task
from converters.plan import Plan
from converters.python_operator import user_macros
from converters.rules import AIRFLOW_HEADER, Rule, converts, marks
from converters.walk import find

ORDER = 90

#: methods that change a list, dict or set in place
_MUTATORS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "popitem", "add", "discard", "sort", "reverse"}
)

#: the run's dates, as the context and templates name them
_DATES = (
    "logical_date|execution_date|data_interval_start|data_interval_end|prev_execution_date|next_execution_date"
    "|prev_logical_date|next_logical_date|prev_data_interval_start_success|prev_data_interval_end_success"
    "|prev_start_date_success|prev_end_date_success"
)
#: ``pendulum.DateTime`` methods and properties ``datetime.datetime`` does not have
_PENDULUM_ONLY = (
    "in_timezone|in_tz|add|subtract|format|to_date_string|to_datetime_string|to_iso8601_string|to_time_string"
    "|to_day_datetime_string|to_formatted_date_string|start_of|end_of|diff|diff_for_humans|naive|int_timestamp"
    "|float_timestamp|day_of_week|day_of_year|days_in_month|week_of_year|week_of_month|quarter|is_future|is_past"
    "|is_leap_year|is_same_day|on|at|average|closest|farthest|timezone_name|tz|offset_hours"
)
#: ``data_interval_end.in_timezone(``, ``kwargs["logical_date"].add(``, ``context['ds']``-free forms
_PENDULUM_CALL = re.compile(
    r"(?<![\w.])(?:" + _DATES + r")(?:['\"]\s*\])?\s*\.\s*(" + _PENDULUM_ONLY + r")\b"
)


class InPlaceChange(Rule):
    """A converted task that changes a value it received from an upstream task is listed (IX209).

    Airflow serializes every XCom, so each task reads its own copy; in the flow the upstream's
    result object itself is passed on, and a change made in place shows in the upstream's result
    and in every other task that reads it. The code is kept as written; the finding names the
    parameter and the upstream.
    """

    CONSTRUCT = "a task changing a value it received from an upstream task in place"
    RESULT = "kept as written; finding IX209 names the parameter and its upstream (Airflow hands each task a copy)"
    CODES = ("IX209",)
    EXAMPLES = [
        converts(
            AIRFLOW_HEADER + """
            @task
            def load():
                return {"rows": 3}

            @task
            def check(data):
                data["valid"] = True
                return data

            with DAG("inplace", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
                check(load())
            """,
            'data["valid"] = True',
            title="the change is kept; the ledger lists IX209",
        ),
    ]


class YieldingTask(Rule):
    """A converted task function that yields is left to a hand (IX211).

    Airflow 3 turns what a task yields (``Metadata(asset, extra)``) into asset events and keeps no
    return value; a Prefect task that yields returns the generator. Nothing in the flow stands for
    an asset event, so the task is marked.
    """

    CONSTRUCT = "a task function that yields (`yield Metadata(asset, extra)`)"
    RESULT = "kept, marked IX211 (manual)"
    CODES = ("IX211",)
    EXAMPLES = [
        marks(
            AIRFLOW_HEADER + """
            @task
            def events():
                yield {"rows": 3}

            with DAG("yields", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
                events()
            """,
            "IX211",
            title="marked: an asset event has no flow equivalent",
        ),
    ]


class PendulumDates(Rule):
    """A converted task that calls a ``pendulum``-only method on a run date is listed (IX210).

    Airflow's context dates are ``pendulum.DateTime``; the flow's are ``datetime.datetime``.
    ``data_interval_end.in_timezone("Asia/Seoul")`` in a callable or in a template fails in the
    flow (``AttributeError``). The code is kept; the finding names the method.
    """

    CONSTRUCT = "a pendulum-only method (`in_timezone`, `add`, `format` ...) on a run date, in a callable or a template"
    RESULT = "kept as written, marked IX210 (manual) (the flow's dates are `datetime`s): rewrite with `astimezone`, `timedelta`, `strftime`"
    CODES = ("IX210",)
    EXAMPLES = [
        marks(
            AIRFLOW_HEADER + """
            @task
            def month_start(data_interval_end=None):
                return data_interval_end.in_timezone("Asia/Seoul").replace(day=1).isoformat()

            with DAG("dates", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
                month_start()
            """,
            "IX210",
            title="kept, with a marker: the task needs a hand",
        ),
    ]


class UnmappableResult(Rule):
    """A task whose result a mapped task expands over, returning what Airflow cannot map, is
    listed (IX212).

    Airflow maps only over an ordered collection (``Sequence`` or ``dict``, not ``str``/``bytes``):
    a task returning ``map(...)``, ``filter(...)``, ``zip(...)``, a generator, a set or a dict view
    (``d.keys()``) fails in Airflow (``UnmappableXComTypePushed``) and the mapped task below it never
    runs; the flow's ``.map()`` iterates over it and runs. The code is kept; the finding names the
    return.
    """

    CONSTRUCT = "a task whose result is expanded over returning `map(...)`, a generator, a set or a dict view"
    RESULT = "kept as written; finding IX212 (Airflow fails the task: UnmappableXComTypePushed; the flow maps over it): return a list"
    CODES = ("IX212",)
    EXAMPLES = [
        converts(
            AIRFLOW_HEADER + """
            @task
            def tables():
                return map(lambda day: f"table_{day}", range(3))

            @task
            def refresh(table):
                return table

            with DAG("unmappable", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
                refresh.expand(table=tables())
            """,
            'return map(lambda day: f"table_{day}", range(3))',
            title="kept; the ledger lists IX212 (Airflow fails the task, the flow maps over it)",
        ),
    ]


class UserMacrosAtRunTime(Rule):
    """A template rendered at run time that reads the DAG's ``user_defined_macros`` or
    ``user_defined_filters`` is left to a hand (IX213).

    A template the converter turns into an f-string calls a macro function of the file where the
    template called it; ``render_template`` (IX301) is given the macros that are functions of the
    file (``user_defined_macros={"wk": week_start}``). What the run-time rendering still lacks (a
    macro that is a value, ``{{ author }}``; a filter, ``| first_word``; anything the operator
    shim renders) is undefined there and the task fails where Airflow's rendered. The task is marked.
    """

    CONSTRUCT = "a template rendered at run time reading a `user_defined_macros` value or a `user_defined_filters` filter"
    RESULT = "kept, marked IX213 (manual): pass the values to `render_template(...)` or write the command in Python"
    CODES = ("IX213",)
    EXAMPLES = [
        marks(
            AIRFLOW_HEADER + """
            def first_word(text):
                return text.split()[0]

            with DAG("user_macros", schedule=None, start_date=pendulum.datetime(2024, 1, 1),
                     user_defined_macros={"author": "me"}, user_defined_filters={"first_word": first_word}):
                BashOperator(task_id="hello", bash_command="echo {{ author }} {{ 'a b' | first_word }}")
            """,
            "IX213",
            title="marked: the run-time rendering has neither the macro nor the filter",
        ),
    ]


class OneSuccessAfterFailure(Rule):
    """A task with ``trigger_rule="one_success"`` below two or more tasks is listed (IX214).

    Airflow runs it once one upstream task succeeded, even when another failed, and the run
    succeeds with it; the flow submits it waiting on every upstream task, so a failed one stops it
    and the flow fails. While no upstream task fails the runs agree (a branch join: the skipped
    branches are handled), so the code is kept and the finding names the task.
    """

    CONSTRUCT = '`trigger_rule="one_success"` on a task below two or more tasks'
    RESULT = "kept; finding IX214 (the runs differ when an upstream task fails): wait with `allow_failure(...)` and check the states"
    CODES = ("IX214",)
    EXAMPLES = [
        converts(
            AIRFLOW_HEADER + """
            with DAG("one_success", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):
                a = BashOperator(task_id="a", bash_command="echo a")
                b = BashOperator(task_id="b", bash_command="exit 1")
                c = BashOperator(task_id="c", bash_command="echo c", trigger_rule="one_success")
                [a, b] >> c
            """,
            "wait_for=[a_future, b_future]",
            title="kept; the ledger lists IX214 (a failed upstream stops the flow's task, Airflow's runs)",
        ),
    ]


#: calls whose result Airflow cannot map over (not a ``Sequence`` or a ``dict``)
_UNMAPPABLE_CALLS = frozenset({"map", "filter", "zip", "iter", "reversed", "enumerate", "set", "frozenset"})
#: dict methods returning a view (not a ``Sequence``)
_DICT_VIEWS = frozenset({"keys", "values", "items"})


def apply(plan: Plan, dag: Dag) -> None:
    dated = _PENDULUM_CALL.search(plan.analyzer.source) is not None  # one look at the text first
    yields = "yield" in plan.analyzer.source
    for task in dag.tasks.values():
        if task.options.get("_mapped"):
            _unmappable(plan, dag, task)
    if "user_defined_macros" in dag.kwargs or "user_defined_filters" in dag.kwargs:
        _user_macros(plan, dag)
    for task in dag.tasks.values():
        if task.options.get("_trigger_rule") == "one_success" and not task.options.get("_allow_failure") \
                and task.disposition not in ("removed", "manual"):
            upstream = {u for u, v in dag.edge_set() if v == task.task_id}
            if len(upstream) > 1:
                plan.finding("IX214", task.line, f"task {task.task_id!r}: trigger_rule='one_success' below {len(upstream)} "
                                                  "tasks: Airflow runs it once one succeeded, a failed one included; the flow's "
                                                  "task waits on all of them and a failed one stops it (where one may fail: wait "
                                                  "with allow_failure and check the states)")
    if not dated and not yields and not any(t.data_inputs for t in dag.tasks.values()):
        return
    for task in dag.tasks.values():
        if task.kind in ("shim", "empty", "unsupported") or task.disposition in ("removed", "manual"):
            continue
        fdef = _function_of(task, plan)
        if task.data_inputs:
            _in_place(plan, task, fdef)
        if dated:
            _pendulum(plan, task, fdef)
        if yields and fdef is not None and task.kind in ("taskflow", "python") and _yields(fdef):
            plan.manual(
                task,
                "IX211",
                f"`{fdef.name.value}` yields (asset event `Metadata`, or a generator): Airflow turns the yields into asset "
                "events and keeps no return value, the flow's task would return the generator; write it by hand",
            )


def _yields(fdef: cst.FunctionDef) -> bool:
    """A ``yield`` in the function itself (nested functions and lambdas are their own)."""
    return bool(_own(fdef, cst.Yield))


def _own(fdef: cst.FunctionDef, kind: type) -> list:
    """The nodes of ``kind`` in the function itself (nested functions and lambdas are their own)."""
    out: list = []
    stack: list[cst.CSTNode] = [fdef.body]
    while stack:
        node = stack.pop()
        if isinstance(node, kind):
            out.append(node)
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            continue
        stack.extend(node.children)
    return out


def _unmappable(plan: Plan, dag: Dag, mapped: Task) -> None:
    """IX212 on each task ``mapped`` expands over (named in its ``expand(...)`` arguments, not
    itself mapped: Airflow checks only those) whose function returns an unmappable value."""
    expanded = " ".join(code_of(v) for v in (mapped.options.get("_expand") or {}).values())
    for upstream_id, below in dag.edge_set():
        upstream = dag.tasks.get(upstream_id)
        if below != mapped.task_id or upstream is None or upstream.options.get("_mapped"):
            continue
        names = {n for n in (upstream.var, upstream.taskflow_func) if n}
        if not any(re.search(rf"(?<![\w.]){re.escape(n)}\b", expanded) for n in names):
            continue
        fdef = _function_of(upstream, plan, rewritten=False)
        if fdef is None or (upstream.kind not in ("taskflow", "python") and upstream.callable_name is None):
            continue
        for ret in _own(fdef, cst.Return):
            what = _unmappable_value(ret.value)
            if what:
                plan.finding(
                    "IX212",
                    plan.analyzer.line(ret) or upstream.line,
                    f"task {upstream.task_id!r} returns {what}, which {mapped.task_id!r} expands over: Airflow maps only "
                    "over a list, a tuple or a dict and fails the task (UnmappableXComTypePushed), the flow's .map() "
                    "runs over it; return a list",
                )
                break


_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def _dict_keys(node: cst.BaseExpression | None) -> list[str]:
    if not isinstance(node, cst.Dict):
        return []
    return [el.key.evaluated_value for el in node.elements
            if isinstance(el, cst.DictElement) and isinstance(el.key, cst.SimpleString)]


def _user_macros(plan: Plan, dag: Dag) -> None:
    """IX213 on each task whose template, rendered at run time, reads a user macro or filter."""
    macros = _dict_keys(dag.kwargs.get("user_defined_macros"))
    filters = _dict_keys(dag.kwargs.get("user_defined_filters"))
    patterns = [(m, re.compile(rf"(?<![\w.]){re.escape(m)}\b")) for m in macros if m.isidentifier()]
    patterns += [(f"| {f}", re.compile(rf"\|\s*{re.escape(f)}\b")) for f in filters if f.isidentifier()]
    if not patterns:
        return
    at_run_time = {f.message.split(":", 1)[0] for f in plan.model.findings if f.code == "IX301"}
    # macros that are module-level functions are passed to render_template (python_operator.user_macros)
    passed = set(user_macros(plan, dag))
    for task in dag.tasks.values():
        if task.disposition in ("removed", "manual"):
            continue
        if task.kind != "shim" and f"task {task.task_id!r}" not in at_run_time:
            continue  # an f-string: a macro function is called in place (converters.templates)
        blocks = [b for v in task.kwargs.values() for b in _JINJA.findall(code_of(v))]
        used = sorted({
            name for name, pat in patterns for b in blocks
            if pat.search(b) and (task.kind == "shim" or name not in passed)
        })
        if used:
            plan.manual(
                task,
                "IX213",
                f"its template, rendered at run time, reads the DAG's user_defined_macros/filters ({', '.join(used)}), "
                "which the flow's rendering does not have (UndefinedError); pass them to render_template(...) or write "
                "the value in Python",
            )


def _unmappable_value(value: cst.BaseExpression | None) -> str | None:
    """What the returned expression is when Airflow cannot map over it, else ``None``."""
    if isinstance(value, cst.GeneratorExp):
        return "a generator"
    if isinstance(value, (cst.Set, cst.SetComp)):
        return "a set"
    if isinstance(value, cst.Call):
        if isinstance(value.func, cst.Name) and value.func.value in _UNMAPPABLE_CALLS:
            return f"`{value.func.value}(...)`"
        if isinstance(value.func, cst.Attribute) and value.func.attr.value in _DICT_VIEWS and not value.args:
            return f"a dict view (`.{value.func.attr.value}()`)"
    return None


def _function_of(task: Task, plan: Plan, rewritten: bool = True) -> cst.FunctionDef | None:
    """The task's callable as the rules rewrote it (the model lists the file's functions), or as
    written (``rewritten=False``: its nodes have their lines)."""
    name = task.taskflow_func or task.callable_name
    if not name:
        return None
    fdef = plan.model.taskflow_functions.get(name) or plan.model.functions.get(name)
    return plan.functions.get(id(fdef), fdef) if fdef is not None and rewritten else fdef


def _data_params(task: Task, fdef: cst.FunctionDef) -> dict[str, str]:
    """Parameter -> upstream task id, for the values the flow passes from an upstream result."""
    out: dict[str, str] = {}
    for key, source in task.call_kwargs.items():
        upstream = task.data_inputs.get(source.strip())
        if upstream is not None and key.isidentifier():
            out[key] = upstream
    positional = [p.name.value for p in [*fdef.params.posonly_params, *fdef.params.params]]
    for param, source in zip(positional, task.call_args):
        upstream = task.data_inputs.get(source.strip())
        if upstream is not None:
            out.setdefault(param, upstream)
    return out


def _in_place(plan: Plan, task: Task, fdef: cst.FunctionDef | None) -> None:
    if fdef is None:
        return
    params = _data_params(task, fdef)
    if not params:
        return
    rebound = {
        t.target.value for a in find(fdef.body, cst.Assign) for t in a.targets if isinstance(t.target, cst.Name)
    }
    changed: dict[str, int] = {}
    for param in params:
        if param in rebound:
            continue  # ``data = dict(data)`` or a new value: not the upstream's object any more (or unknown)
        for node in find(fdef.body, cst.BaseExpression):
            if _changes(node, param):
                changed.setdefault(param, plan.analyzer.line(node) or task.line)
                break
        else:
            for stmt in find(fdef.body, cst.Del):
                if any(_base_name(t) == param for t in _del_targets(stmt)):
                    changed.setdefault(param, plan.analyzer.line(stmt) or task.line)
    for node in [*find(fdef.body, cst.Assign), *find(fdef.body, cst.AugAssign)]:
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        for target in targets:
            base = _base_name(target) if isinstance(target, (cst.Subscript, cst.Attribute)) else None
            if base in params and base not in rebound:
                changed.setdefault(base, plan.analyzer.line(node) or task.line)
    for param, line in sorted(changed.items(), key=lambda kv: kv[1]):
        plan.finding(
            "IX209",
            line,
            f"task {task.task_id!r}: `{param}` (the result of {params[param]!r}) is changed in place; the flow passes the "
            "upstream's own object where Airflow passed a copy, so the upstream's result changes too: copy it first",
        )


def _changes(node: cst.CSTNode, param: str) -> bool:
    """``param.append(...)`` and the other in-place methods, on the parameter itself."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in _MUTATORS
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value == param
    )


def _base_name(node: cst.CSTNode) -> str | None:
    while isinstance(node, (cst.Subscript, cst.Attribute)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _del_targets(stmt: cst.Del) -> list[cst.BaseExpression]:
    target = stmt.target
    return [e.value for e in target.elements] if isinstance(target, (cst.Tuple, cst.List)) else [target]


def _pendulum(plan: Plan, task: Task, fdef: cst.FunctionDef | None) -> None:
    sources = [code_of(v) for v in task.kwargs.values()]
    if task.call is not None:
        sources.append(code_of(task.call))
    if fdef is not None:
        sources.append(code_of(fdef))
    for text in sources:
        match = _PENDULUM_CALL.search(text)
        if match:
            # the task fails in the flow (AttributeError): it needs a hand
            plan.manual(
                task,
                "IX210",
                f"`{match.group(0).strip()}` is a pendulum method; the flow's run dates are `datetime`s "
                "(write it with astimezone / timedelta / strftime)",
            )
            return
