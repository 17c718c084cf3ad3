"""IXL2xx: dependencies and concurrency of Prefect tasks and futures."""

from __future__ import annotations

import libcst as cst

from interop.lint import names
from interop.lint.context import dotted_name
from interop.lint.rule import Invalid, Valid
from interop.lint.rules._base import ScopedRule

_SHIFTS = (cst.RightShift, cst.LeftShift)


class TaskBitshiftDependency(ScopedRule):
    """
    ## What it does
    Reports `>>` and `<<` between Prefect tasks, task calls or futures (or lists of
    them), and any `a >> b` statement whose result is thrown away.

    ## Why is this bad?
    In Airflow `a >> b` set an edge. Prefect tasks and futures do not overload `>>`: the
    line raises `TypeError`, or (on plain values) computes a number nobody uses. The
    order it meant is lost.

    ## Example
    ```python
    from prefect import flow, task


    @task
    def extract():
        return 1


    @task
    def load():
        return 2


    @flow
    def etl():
        a = extract.submit()
        b = load.submit()
        a >> b
    ```

    ## Use instead
    ```python
    from prefect import flow, task


    @task
    def extract():
        return 1


    @task
    def load():
        return 2


    @flow
    def etl():
        a = extract.submit()
        b = load.submit(wait_for=[a])
        b.wait()
    ```

    ## Fix safety
    No fix: the edge belongs in `wait_for=` (or a data parameter) of the downstream call.
    """

    CODE = "IXL201"
    NAME = "task-bitshift-dependency"
    MESSAGE = "`>>`/`<<` between Prefect tasks or futures sets no dependency"
    VALID = [
        Valid(
            """
def scale(x):
    flags = x >> 2
    return flags << 1
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from prefect import flow, task


@task
def extract():
    return 1


@task
def load():
    return 2


@flow
def etl():
    a = extract.submit()
    b = load.submit()
    a >> b
""",
            line=19,
        ),
        Invalid(
            """
from prefect import flow, task


@task
def a():
    pass


@task
def b():
    pass


@flow
def etl():
    a() << [b()]
""",
            line=17,
        ),
        Invalid(
            """
def wire(first, second, third):
    first >> second >> third
""",
            line=3,
        ),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self._task_values: set[str] = set()
        self._inner: set[int] = set()
        self._bare: set[int] = set()

    def visit_Assign(self, node: cst.Assign) -> None:
        if isinstance(node.value, cst.Call) and self.context.is_task_call(node.value):
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    self._task_values.add(t.target.value)

    def visit_Expr(self, node: cst.Expr) -> None:
        self._bare.add(id(node.value))

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if not isinstance(node.operator, _SHIFTS) or id(node) in self._inner:
            return
        operands: list[cst.BaseExpression] = []
        stack: list[cst.BaseExpression] = [node]
        while stack:
            cur = stack.pop()
            if isinstance(cur, cst.BinaryOperation) and isinstance(cur.operator, _SHIFTS):
                self._inner.add(id(cur))
                stack.extend([cur.left, cur.right])
            else:
                operands.append(cur)
        if id(node) in self._bare or any(self._task_like(o) for o in operands):
            op = ">>" if isinstance(node.operator, cst.RightShift) else "<<"
            self.report(node, f"`{op}` between Prefect tasks or futures sets no dependency: pass `wait_for=[...]` or the upstream result")

    def _task_like(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, (cst.List, cst.Tuple)):
            return any(self._task_like(e.value) for e in expr.elements)
        if isinstance(expr, cst.Name):
            return expr.value in self._task_values or expr.value in self.context.tasks
        if isinstance(expr, cst.Call):
            return self.context.is_task_call(expr)
        return False


class SetUpstreamDownstream(ScopedRule):
    """
    ## What it does
    Reports `.set_upstream(...)` / `.set_downstream(...)` calls and Airflow's `chain` and
    `cross_downstream` helpers.

    ## Why is this bad?
    These are Airflow's ways to add edges between operators. Prefect tasks and futures
    have no such methods: the call fails, and the ordering it meant is not there.

    ## Example
    ```python
    from prefect import flow, task


    @task
    def extract():
        return 1


    @flow
    def etl():
        a = extract.submit()
        b = extract.submit()
        a.set_downstream(b)
    ```

    ## Use instead
    ```python
    from prefect import flow, task


    @task
    def extract():
        return 1


    @flow
    def etl():
        a = extract.submit()
        b = extract.submit(wait_for=[a])
        b.wait()
    ```

    ## Fix safety
    No fix: the edge belongs in `wait_for=` of the downstream submit.
    """

    CODE = "IXL202"
    NAME = "set-upstream-downstream"
    MESSAGE = "Airflow dependency call on a Prefect task or future"
    VALID = [
        Valid(
            """
from prefect import flow, task


@task
def extract():
    return 1


@flow
def etl():
    a = extract.submit()
    b = extract.submit(wait_for=[a])
    b.wait()
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from prefect import flow, task


@task
def extract():
    return 1


@flow
def etl():
    a = extract.submit()
    b = extract.submit()
    a.set_downstream(b)
""",
            line=14,
        ),
        Invalid(
            """
from airflow.sdk import chain


def wire(a, b, c):
    chain(a, b, c)
""",
            line=6,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("set_upstream", "set_downstream"):
            self.report(node, f"`.{func.attr.value}()` is Airflow's edge API: pass `wait_for=[...]` to the downstream call instead")
            return
        if self.context.qualified(func) in names.CHAIN_HELPERS:
            self.report(node, f"Airflow's `{dotted_name(func)}()` sets no dependency between Prefect tasks: pass `wait_for=[...]` instead")


class UnwaitedFuture(ScopedRule):
    """
    ## What it does
    Reports a future from `task.submit(...)` or `task.map(...)` that is thrown away, or
    kept in a variable that nothing reads: never waited on, returned or passed on.

    ## Why is this bad?
    Prefect 3 does not wait for futures on its own. The flow can finish before the task
    does, and a failure of the task never fails the flow: lost work, lost failures.

    ## Example
    ```python
    from prefect import flow, task


    @task
    def load(x):
        return x


    @flow
    def etl():
        load.submit(1)
    ```

    ## Use instead
    ```python
    from prefect import flow, task


    @task
    def load(x):
        return x


    @flow
    def etl():
        future = load.submit(1)
        return future.result()
    ```

    ## Fix safety
    No fix: waiting where the future is made would serialise the flow; where to wait is a
    choice.
    """

    CODE = "IXL203"
    NAME = "unwaited-future"
    MESSAGE = "submitted future is never waited on, returned or passed on"
    VALID = [
        Valid(
            """
from prefect import flow, task


@task
def load(x):
    return x


@flow
def etl():
    a = load.submit(1)
    b = load.submit(2, wait_for=[a])
    futures = load.map([1, 2, 3])
    futures.wait()
    return b
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from prefect import flow, task


@task
def load(x):
    return x


@flow
def etl():
    load.submit(1)
""",
            line=12,
        ),
        Invalid(
            """
from prefect import flow, task


@task
def load(x):
    return x


@flow
def etl():
    future = load.submit(1)
    return 0
""",
            line=12,
        ),
        Invalid(
            """
from prefect import flow, task


@task
def load(x):
    return x


@flow
def etl(items):
    for item in items:
        load.submit(item)
    [load.submit(i) for i in items]
""",
            line=13,
        ),
        Invalid(
            """
from prefect import flow, task


@task
def load(x):
    return x


@flow
def etl(items):
    futures = [load.submit(i) for i in items]
    return len(items)
""",
            line=12,
        ),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        #: per function: assigned future names -> assign node, and names read
        self._frames: list[tuple[dict[str, cst.CSTNode], set[str]]] = []
        self._targets: set[int] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self._frames.append(({}, set()))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        super().leave_FunctionDef(original_node)
        assigned, used = self._frames.pop()
        for name, node in assigned.items():
            if name not in used:
                self.report(node, f"future `{name}` is never waited on, returned or passed on: the flow may end before it, and its failure is lost")

    def visit_Expr(self, node: cst.Expr) -> None:
        if not self._frames:
            return
        value = node.value
        if isinstance(value, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            value = value.elt
        if isinstance(value, cst.Call) and self.context.is_submit_call(value):
            self.report(node, f"future of `{dotted_name(value.func)}(...)` is thrown away: never waited on, returned or passed on")

    def visit_Assign(self, node: cst.Assign) -> None:
        if not self._frames or len(node.targets) != 1:
            return
        target = node.targets[0].target
        value = node.value
        if isinstance(value, (cst.ListComp, cst.SetComp)):
            value = value.elt  # a list of futures
        if isinstance(target, cst.Name) and isinstance(value, cst.Call) and self.context.is_submit_call(value):
            self._frames[-1][0].setdefault(target.value, node)
            self._targets.add(id(target))

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) in self._targets:
            return
        for _, used in self._frames:
            used.add(node.value)


class ResultInSubmitLoop(ScopedRule):
    """
    ## What it does
    Reports `.result()` or `.wait()` on a future submitted in the same loop iteration
    (or comprehension).

    ## Why is this bad?
    Each iteration waits for its task before the next one is submitted: the tasks run
    one at a time, though the DAG ran them in parallel.

    ## Example
    ```python
    from prefect import flow, task


    @task
    def load(x):
        return x


    @flow
    def etl(items):
        out = []
        for item in items:
            future = load.submit(item)
            out.append(future.result())
        return out
    ```

    ## Use instead
    ```python
    from prefect import flow, task


    @task
    def load(x):
        return x


    @flow
    def etl(items):
        futures = [load.submit(item) for item in items]
        return [f.result() for f in futures]
    ```

    ## Fix safety
    No fix: splitting the loop in two changes the code's shape.
    """

    CODE = "IXL204"
    NAME = "result-in-submit-loop"
    MESSAGE = "`.result()` inside the loop that submits the future serialises the tasks"
    VALID = [
        Valid(
            """
from prefect import flow, task


@task
def load(x):
    return x


@flow
def etl(items):
    futures = [load.submit(item) for item in items]
    return [f.result() for f in futures]
"""
        ),
    ]
    INVALID = [
        Invalid(
            """
from prefect import flow, task


@task
def load(x):
    return x


@flow
def etl(items):
    out = []
    for item in items:
        future = load.submit(item)
        out.append(future.result())
    return out
""",
            line=15,
        ),
        Invalid(
            """
from prefect import flow, task


@task
def load(x):
    return x


@flow
def etl(items):
    return [load.submit(item).result() for item in items]
""",
            line=12,
        ),
    ]

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        #: (is a loop, names assigned a future in it), innermost last; functions reset
        self._frames: list[tuple[bool, set[str]]] = []

    def _push_loop(self, node: cst.CSTNode) -> None:
        self._frames.append((True, set()))

    def _pop(self, original_node: cst.CSTNode) -> None:
        self._frames.pop()

    def visit_For(self, node: cst.For) -> None:
        self._push_loop(node)

    def leave_For(self, original_node: cst.For) -> None:
        self._pop(original_node)

    def visit_While(self, node: cst.While) -> None:
        self._push_loop(node)

    def leave_While(self, original_node: cst.While) -> None:
        self._pop(original_node)

    def visit_ListComp(self, node: cst.ListComp) -> None:
        self._push_loop(node)

    def leave_ListComp(self, original_node: cst.ListComp) -> None:
        self._pop(original_node)

    def visit_SetComp(self, node: cst.SetComp) -> None:
        self._push_loop(node)

    def leave_SetComp(self, original_node: cst.SetComp) -> None:
        self._pop(original_node)

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> None:
        self._push_loop(node)

    def leave_GeneratorExp(self, original_node: cst.GeneratorExp) -> None:
        self._pop(original_node)

    def visit_DictComp(self, node: cst.DictComp) -> None:
        self._push_loop(node)

    def leave_DictComp(self, original_node: cst.DictComp) -> None:
        self._pop(original_node)


    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self._frames.append((False, set()))  # a function body starts outside any loop

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        super().leave_FunctionDef(original_node)
        self._frames.pop()

    def _loop_frames(self) -> list[set[str]]:
        out: list[set[str]] = []
        for is_loop, assigned in reversed(self._frames):
            if not is_loop:
                break
            out.append(assigned)
        return out

    def visit_Assign(self, node: cst.Assign) -> None:
        loops = self._loop_frames()
        if not loops or not isinstance(node.value, cst.Call) or not self.context.is_submit_call(node.value):
            return
        for t in node.targets:
            if isinstance(t.target, cst.Name):
                loops[0].add(t.target.value)

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("result", "wait"):
            return
        loops = self._loop_frames()
        if not loops:
            return
        receiver = func.value
        fresh = isinstance(receiver, cst.Call) and self.context.is_submit_call(receiver)
        named = isinstance(receiver, cst.Name) and any(receiver.value in assigned for assigned in loops)
        if fresh or named:
            self.report(node, f"`.{func.attr.value}()` on a future submitted in the same loop: the tasks run one at a time; submit all first, then collect")


RULES = [TaskBitshiftDependency, SetUpstreamDownstream, UnwaitedFuture, ResultInSubmitLoop]
