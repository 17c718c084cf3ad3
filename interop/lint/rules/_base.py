"""Context tracking shared by rules: enclosing functions, shim calls, ``__main__`` guards."""

from __future__ import annotations

import libcst as cst

from interop.lint import names
from interop.lint.rule import LintRule


def is_main_guard(node: cst.If) -> bool:
    """Whether ``node`` is ``if __name__ == "__main__":``."""
    test = node.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    left, right = test.left, test.comparisons[0].comparator
    if not isinstance(test.comparisons[0].operator, cst.Equal):
        return False
    pair = {type(left), type(right)}
    if pair != {cst.Name, cst.SimpleString}:
        return False
    name = left if isinstance(left, cst.Name) else right
    string = right if isinstance(right, cst.SimpleString) else left
    return name.value == "__name__" and string.evaluated_value == "__main__"  # type: ignore[union-attr]


class ScopedRule(LintRule):
    """A rule that knows where it is: in which functions, in a shim call, under ``__main__``.

    Subclasses that override a tracked ``visit_``/``leave_`` method must call ``super()``.
    """

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        #: enclosing function definitions, innermost last
        self.functions: list[cst.FunctionDef] = []
        self.lambda_depth = 0
        #: depth inside the arguments of ``run_operator(...)``
        self.shim_depth = 0
        #: depth inside the arguments of ``render_template(...)``
        self.render_depth = 0
        self.main_guard_depth = 0
        self._shim_calls: list[bool] = []

    # functions
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.lambda_depth += 1

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.lambda_depth -= 1

    # shim calls
    def visit_Call(self, node: cst.Call) -> None:
        qual = self.context.qualified(node.func)
        kind = "shim" if qual in names.RUN_OPERATOR else "render" if self.context.is_render_call(node) else ""
        self._shim_calls.append(kind)  # type: ignore[arg-type]
        if kind == "shim":
            self.shim_depth += 1
        elif kind == "render":
            self.render_depth += 1

    def leave_Call(self, original_node: cst.Call) -> None:
        kind = self._shim_calls.pop()
        if kind == "shim":
            self.shim_depth -= 1
        elif kind == "render":
            self.render_depth -= 1

    # __main__
    def visit_If(self, node: cst.If) -> None:
        if is_main_guard(node):
            self.main_guard_depth += 1

    def leave_If(self, original_node: cst.If) -> None:
        if is_main_guard(original_node):
            self.main_guard_depth -= 1

    @property
    def at_module_level(self) -> bool:
        """Code that runs at import time (not in a function, lambda or ``__main__`` block)."""
        return not self.functions and not self.lambda_depth and not self.main_guard_depth


class ShimClassIndex(ScopedRule):
    """Not a rule: finds the file's custom Airflow operator classes used only through the shim.

    It also indexes the file's functions and classes and the uses of every name, so that a
    converter marker over every use of a helper speaks for the helper too.

    A class of the flow file that derives from an Airflow class (a custom operator) and is
    only ever constructed as the operator of ``run_operator(...)``/``airflow_task(...)`` is
    Airflow-side code that the shim runs with a real Airflow context: no rule reports
    inside it. The engine runs this visitor with the rules and drops reports inside the
    classes in :attr:`shim_classes`.
    """

    CODE = ""

    def __init__(self, context) -> None:  # type: ignore[no-untyped-def]
        super().__init__(context)
        self.classes: dict[str, cst.ClassDef] = {}
        #: every function and class the file defines, by name (for converter markers)
        self.definitions: dict[str, list[cst.FunctionDef | cst.ClassDef]] = {}
        #: every use of a name, by name
        self.use_nodes: dict[str, list[cst.Name]] = {}
        self._uses: dict[str, list[bool]] = {}
        self._skip: set[int] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        super().visit_FunctionDef(node)
        self._skip.add(id(node.name))
        self.definitions.setdefault(node.name.value, []).append(node)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is not None:
            self._skip.add(id(node.keyword))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._skip.add(id(node.name))
        self.definitions.setdefault(node.name.value, []).append(node)
        for base in node.bases:
            qual = self.context.qualified(base.value)
            if names.is_airflow(qual) or (isinstance(base.value, cst.Name) and base.value.value in self.classes):
                self.classes[node.name.value] = node
                return

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._skip.add(id(node.attr))

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self._skip:
            self._uses.setdefault(node.value, []).append(self.shim_depth > 0)
            self.use_nodes.setdefault(node.value, []).append(node)

    @property
    def shim_classes(self) -> list[cst.ClassDef]:
        return [c for name, c in self.classes.items() if self._uses.get(name) and all(self._uses[name])]
