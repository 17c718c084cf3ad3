"""The in-memory source transform of a 1.10/2.x DAG file for Airflow 3.

:func:`transform_source` returns the rewritten text and one :class:`Rename` per change, each
with its line. Every edit stays on the line it came from, so tracebacks and reports point at
the user's own file. What Airflow 3 has no equivalent for raises :class:`CompatError` naming
the construct and the line. The facts come from ``converters.names``; this module only applies
them:

* imports from moved modules (``ALL_MOVED_MODULES``) point at the current module, renamed
  classes keep their local name (``from ...empty import EmptyOperator as DummyOperator``);
* removed names with a same-meaning replacement (``REMOVED_NAMES``: ``days_ago``);
* ``DAG(...)``/``@dag(...)`` arguments (``DAG_ARG_RENAMES``, ``DAG_ARGS_DROPPED``) and operator
  arguments (``OPERATOR_ARG_RENAMES``, ``OPERATOR_ARGS_DROPPED``: ``provide_context``);
* context keys (``CONTEXT_KEY_RENAMES``, ``TEMPLATE_KEY_REWRITES``) inside Jinja blocks of string
  literals, in ``context["key"]``/``kwargs.get("key")`` lookups and as a callable's parameter.
"""

from __future__ import annotations

import importlib
import re
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from converters import names, walk

__all__ = ["Rename", "CompatError", "transform_source", "LEGACY_HINTS"]

def _hint_words() -> frozenset[str]:
    """Every word any table reacts to: a file containing none of them needs no transform."""
    words = {
        *names.ALL_MOVED_MODULES,
        *names.UNBRIDGEABLE_MODULES,
        *(q.rpartition(".")[2] for q in names.REMOVED_NAMES),
        *names.DAG_ARG_RENAMES,
        *names.DAG_ARGS_DROPPED,
        *names.OPERATOR_ARG_RENAMES,
        *names.OPERATOR_ARGS_DROPPED,
        *names.CONTEXT_KEY_RENAMES,
        *names.TEMPLATE_KEY_REWRITES,
        *(k for k in names.REMOVED_CONTEXT_KEYS if k != "conf"),
        *(k.rpartition(".")[0] for k in names.LEGACY_PACKAGE_EXPORTS),
        *names.TRIGGER_RULE_RENAMES,
        *(k.upper() for k in names.TRIGGER_RULE_RENAMES),
    }
    return frozenset(words - {"airflow", "airflow.models"})  # prefixes of every import; their names still import


#: the words of every table (see airflow_interop.compat.detect.PREFILTER, a cheaper superset)
HINT_WORDS = _hint_words()
#: a file whose text contains none of these needs no transform (a cheap pre-check)
LEGACY_HINTS = re.compile("|".join(re.escape(w) for w in sorted(HINT_WORDS, key=len, reverse=True)))

_CONTEXT_NAMES = {"context", "kwargs", "kw", "ctx", "ti_context"}
_JINJA_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


@dataclass(frozen=True)
class Rename:
    """One change the compat loader applied, in memory.

    Attributes:
        file: the DAG file.
        line: 1-based line of the construct.
        kind: ``module``, ``name``, ``removed_name``, ``dag_arg``, ``operator_arg``,
            ``dropped_arg``, ``call_arg``, ``trigger_rule``, ``context_key`` or ``template_key``.
        old: what the file says.
        new: what Airflow 3 was given instead (empty when the argument was dropped).
        note: why, when the change is more than a rename.
    """

    file: str
    line: int
    kind: str
    old: str
    new: str
    note: str = ""
    #: ``False`` for an old path that still imports under Airflow 3 (deprecated): rewritten
    #: when the file is compat-loaded anyway, but no reason on its own to compat-load it
    required: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        arrow = f"{self.old} -> {self.new}" if self.new else f"{self.old} dropped"
        return f"{self.file}:{self.line}: {self.kind}: {arrow}" + (f" ({self.note})" if self.note else "")


class CompatError(Exception):
    """A construct Airflow 3 has no equivalent for.

    Attributes:
        construct: the name as written (``airflow.operators.subdag_operator.SubDagOperator``).
        file: the DAG file.
        line: 1-based line.
        reason: why it cannot be bridged and what to use instead.
    """

    def __init__(self, construct: str, file: str, line: int, reason: str) -> None:
        self.construct, self.file, self.line, self.reason = construct, file, line, reason
        super().__init__(f"{file}:{line}: {construct} cannot run under Airflow 3: {reason}")


def _has_name(module: str, name: str) -> bool:
    """Whether ``module`` imports under this Airflow and has ``name`` (alias modules do not count)."""
    try:
        with warnings.catch_warnings():  # deprecated paths warn on import and on attribute access
            warnings.simplefilter("ignore")
            mod = importlib.import_module(module)
            restored = getattr(getattr(mod, name, None), "__module__", None) == "airflow_interop.compat.runtime"  # see finder
            return hasattr(mod, name) and not hasattr(mod, "__interop_alias_of__") and not restored
    except Exception:  # noqa: BLE001 - the provider is not installed, or the module is gone
        return False


_EMPTY_KWARGS = cst.Arg(value=cst.Dict(elements=[]), star="**")


class _Transformer(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file
        self.renames: list[Rename] = []
        #: local name -> qualified name, from the file's imports
        self.imported: dict[str, str] = {}
        self.docstrings: set[int] = set()
        self.func_stack: list[tuple[str | None, bool]] = []  # (**kwargs name, renaming execution_date)

    # ------------------------------------------------------------------ helpers
    def _line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def _add(self, node: cst.CSTNode, kind: str, old: str, new: str, note: str = "", required: bool = True) -> None:
        self.renames.append(Rename(self.file, self._line(node), kind, old, new, note, required))

    def _fail(self, node: cst.CSTNode, construct: str, reason: str) -> None:
        raise CompatError(construct, self.file, self._line(node), reason)

    def _qualified(self, func: cst.BaseExpression) -> str | None:
        dotted = walk.dotted(func)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.imported:
            return self.imported[head] + (f".{rest}" if rest else "")
        return dotted

    # ------------------------------------------------------------------ imports
    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            module = walk.dotted(alias.name) or ""
            if module in names.UNBRIDGEABLE_MODULES:
                self._fail(node, module, names.UNBRIDGEABLE_MODULES[module])
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else module.split(".")[0]
            self.imported[local] = module if alias.asname else module.split(".")[0]
            new = names.ALL_MOVED_MODULES.get(module)
            if new and new != module and not _has_name(module, "__name__"):
                self._add(node, "module", module, new, "served by an alias module")

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
        body: list[cst.BaseSmallStatement] = []
        changed = False
        for orig_stmt, stmt in zip(original.body, updated.body):
            if isinstance(stmt, cst.ImportFrom) and isinstance(orig_stmt, cst.ImportFrom):
                parts = self._import_from(orig_stmt, stmt)
                if parts is not None:
                    body.extend(parts)
                    changed = True
                    continue
            body.append(stmt)
        if not changed:
            return updated
        fixed = [s.with_changes(semicolon=cst.MaybeSentinel.DEFAULT) for s in body]
        return updated.with_changes(body=fixed)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or isinstance(node.names, cst.ImportStar):
            return
        module = walk.dotted(node.module) or ""
        if module in names.UNBRIDGEABLE_MODULES:
            self._fail(node, module, names.UNBRIDGEABLE_MODULES[module])
        for alias in node.names:
            name = alias.name.value if isinstance(alias.name, cst.Name) else walk.dotted(alias.name) or ""
            qualified = f"{module}.{name}"
            if qualified in names.UNBRIDGEABLE_NAMES:
                self._fail(node, qualified, names.UNBRIDGEABLE_NAMES[qualified])
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            self.imported[local] = names.LEGACY_PACKAGE_EXPORTS.get(qualified, qualified)

    def _import_from(self, original: cst.ImportFrom, stmt: cst.ImportFrom) -> list[cst.ImportFrom] | None:
        """The import split by the names' current modules, or ``None`` when nothing moved."""
        if stmt.relative or isinstance(stmt.names, cst.ImportStar):
            return None
        module = walk.dotted(stmt.module) or ""
        groups: dict[str, list[cst.ImportAlias]] = {}
        changed = False
        for alias in stmt.names:
            if not isinstance(alias.name, cst.Name):
                groups.setdefault(module, []).append(alias)
                continue
            name = alias.name.value
            qualified = f"{module}.{name}"
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            target = self._target(original, module, name, qualified)
            if target is None:
                groups.setdefault(module, []).append(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
                continue
            new_module, new_name = target
            changed = True
            asname = None if new_name == local else cst.AsName(name=cst.Name(local))
            groups.setdefault(new_module, []).append(cst.ImportAlias(name=cst.Name(new_name), asname=asname))
        if not changed:
            return None
        out = []
        for new_module, aliases in groups.items():
            aliases = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in aliases]
            out.append(cst.ImportFrom(module=cst.parse_expression(new_module), names=aliases))
        return out

    def _target(self, node: cst.CSTNode, module: str, name: str, qualified: str) -> tuple[str, str] | None:
        legacy = names.LEGACY_PACKAGE_EXPORTS.get(qualified)
        if legacy is not None and not _has_name(module, name):  # ``from airflow.operators import BashOperator``
            old_module, _, old_name = legacy.rpartition(".")
            target = self._target(node, old_module, old_name, legacy)
            if target is None:  # its provider is not installed: the 1.10 path, which the alias finder names
                self._add(node, "module", qualified, legacy, "1.10 package export")
                return old_module, old_name
            return target
        if qualified in names.REMOVED_NAMES and not _has_name(module, name):
            replacement, note = names.REMOVED_NAMES[qualified]
            new_module, _, new_name = replacement.rpartition(".")
            self._add(node, "removed_name", qualified, replacement, note)
            return new_module, new_name
        new_module = names.ALL_MOVED_MODULES.get(module)
        if not new_module or new_module == module:
            return None
        new_name = names.ALL_RENAMED_NAMES.get(qualified, name)
        if not _has_name(new_module, new_name):
            return None  # leave it: it may still import, or fail with Python's own message
        still_imports = _has_name(module, name)
        note = "deprecated path, still imports under Airflow 3" if still_imports else ""
        self._add(node, "name" if new_name != name else "module", qualified, f"{new_module}.{new_name}", note, not still_imports)
        return new_module, new_name

    # ------------------------------------------------------------------ calls
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        qualified = self._qualified(original.func) or ""
        is_dag = qualified in names.DAG_CLASSES or qualified in names.DAG_DECORATORS or qualified.rsplit(".", 1)[-1] == "DAG"
        args = list(updated.args)
        present = {a.keyword.value for a in args if a.keyword is not None}
        changed = False
        for i, arg in enumerate(args):
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            orig_arg = original.args[i]
            if is_dag and key in names.DAG_ARG_RENAMES:
                new = names.DAG_ARG_RENAMES[key]
                if new in present:
                    self._fail(orig_arg, f"DAG({key}=...)", f"both {key!r} and {new!r} given; keep only {new!r}")
                args[i] = arg.with_changes(keyword=cst.Name(new))
                present.add(new)
                self._add(orig_arg, "dag_arg", key, new)
                changed = True
            elif is_dag and key in names.DAG_ARGS_DROPPED:
                args[i] = _EMPTY_KWARGS.with_changes(comma=arg.comma)
                self._add(orig_arg, "dropped_arg", key, "", names.DAG_ARGS_DROPPED[key])
                changed = True
            elif not is_dag and key in names.OPERATOR_ARGS_DROPPED:
                args[i] = _EMPTY_KWARGS.with_changes(comma=arg.comma)
                self._add(orig_arg, "dropped_arg", key, "", names.OPERATOR_ARGS_DROPPED[key])
                changed = True
            elif key == "trigger_rule" and isinstance(arg.value, cst.SimpleString) and arg.value.evaluated_value in names.TRIGGER_RULE_RENAMES:
                old_rule = arg.value.evaluated_value
                new_rule = names.TRIGGER_RULE_RENAMES[old_rule]
                args[i] = arg.with_changes(value=arg.value.with_changes(value=arg.value.value.replace(old_rule, new_rule)))
                self._add(orig_arg, "trigger_rule", old_rule, new_rule)
                changed = True
            elif key in names.CALL_ARG_RENAMES.get(qualified, {}):
                new = names.CALL_ARG_RENAMES[qualified][key]
                args[i] = arg.with_changes(keyword=cst.Name(new))
                self._add(orig_arg, "call_arg", f"{qualified.rpartition('.')[2]}({key}=)", new)
                changed = True
            elif not is_dag and key in names.OPERATOR_ARG_RENAMES and names.OPERATOR_ARG_RENAMES[key] not in present:
                args[i] = arg.with_changes(keyword=cst.Name(names.OPERATOR_ARG_RENAMES[key]))
                self._add(orig_arg, "operator_arg", key, names.OPERATOR_ARG_RENAMES[key])
                changed = True
        # kwargs.get("execution_date") / context.get(...)
        func = updated.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "get"
            and self._is_context_name(func.value)
            and args
            and isinstance(args[0].value, cst.SimpleString)
        ):
            new_value = self._context_key(original.args[0].value, args[0].value)
            if new_value is not None:
                args[0] = args[0].with_changes(value=new_value)
                changed = True
        return updated.with_changes(args=args) if changed else updated

    # ------------------------------------------------------------------ context keys
    def _is_context_name(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.Name):
            return False
        star = self.func_stack[-1][0] if self.func_stack else None
        return node.value in _CONTEXT_NAMES or (star is not None and node.value == star)

    def _context_key(self, original: cst.SimpleString, node: cst.SimpleString) -> cst.SimpleString | None:
        key = node.evaluated_value
        if not isinstance(key, str):
            return None
        if key in names.CONTEXT_KEY_RENAMES:
            new = names.CONTEXT_KEY_RENAMES[key]
            self._add(original, "context_key", key, new)
            return node.with_changes(value=node.value.replace(key, new))
        if key in names.REMOVED_CONTEXT_KEYS and key != "conf":
            self._fail(original, f"context key {key!r}", f"removed in Airflow 3; use {names.REMOVED_CONTEXT_KEYS[key]}")
        return None

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.Subscript:
        if not self._is_context_name(updated.value) or len(updated.slice) != 1:
            return updated
        index = updated.slice[0].slice
        if not isinstance(index, cst.Index) or not isinstance(index.value, cst.SimpleString):
            return updated
        new_value = self._context_key(original.slice[0].slice.value, index.value)  # type: ignore[attr-defined]
        if new_value is None:
            return updated
        return updated.with_changes(slice=[updated.slice[0].with_changes(slice=index.with_changes(value=new_value))])

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        star = node.params.star_kwarg.name.value if node.params.star_kwarg else None
        params = {p.name.value for p in (*node.params.params, *node.params.kwonly_params, *node.params.posonly_params)}
        renaming = "execution_date" in params and "logical_date" not in params
        if renaming:
            self._add(node, "context_key", "execution_date", "logical_date", f"parameter of {node.name.value}()")
        inherited = self.func_stack[-1][1] if self.func_stack else False
        self.func_stack.append((star, renaming or (inherited and "execution_date" not in params)))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.func_stack.pop()
        return updated

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if updated.value == "execution_date" and self.func_stack and self.func_stack[-1][1]:
            return updated.with_changes(value="logical_date")
        return updated

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        # ``airflow.utils.dates.days_ago(1)`` after ``import airflow``: a removed name used by its path
        qualified = self._qualified(original)
        if qualified in names.REMOVED_NAMES and not _has_name(*qualified.rsplit(".", 1)):
            replacement, note = names.REMOVED_NAMES[qualified]
            module, _, name = replacement.rpartition(".")
            self._add(original, "removed_name", qualified, replacement, note)
            return cst.parse_expression(f"__import__({module!r}, fromlist=[{name!r}]).{name}")
        # ``TriggerRule.NONE_FAILED_OR_SKIPPED``
        old_rule = original.attr.value.lower()
        if original.attr.value.isupper() and old_rule in names.TRIGGER_RULE_RENAMES and (walk.dotted(original.value) or "").endswith("TriggerRule"):
            new_rule = names.TRIGGER_RULE_RENAMES[old_rule]
            self._add(original, "trigger_rule", original.attr.value, new_rule.upper())
            return updated.with_changes(attr=cst.Name(new_rule.upper()))
        # ``obj.execution_date`` is an attribute, not the parameter: undo leave_Name's rename
        if original.attr.value == "execution_date" and updated.attr.value != "execution_date":
            return updated.with_changes(attr=original.attr)
        return updated

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        # a call's ``execution_date=`` keyword is the callee's name, not the parameter
        if original.keyword is not None and updated.keyword is not None and updated.keyword.value != original.keyword.value and original.keyword.value == "execution_date":
            return updated.with_changes(keyword=original.keyword)
        return updated

    # ------------------------------------------------------------------ templates
    def visit_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, cst.SimpleString):  # a docstring is not a template
            self.docstrings.add(id(node.value))

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.SimpleString:
        text = updated.value
        if id(original) in self.docstrings:
            return updated
        if "{{" not in text and "{%" not in text:
            return updated
        new_text = _JINJA_BLOCK.sub(lambda m: self._jinja_block(original, m.group(0)), text)
        return updated.with_changes(value=new_text) if new_text != text else updated

    def _jinja_block(self, node: cst.CSTNode, block: str) -> str:
        def word(match: re.Match) -> str:
            key = match.group(0)
            if key in names.CONTEXT_KEY_RENAMES:
                self._add(node, "template_key", key, names.CONTEXT_KEY_RENAMES[key])
                return names.CONTEXT_KEY_RENAMES[key]
            if key in names.TEMPLATE_KEY_REWRITES:
                self._add(node, "template_key", key, names.TEMPLATE_KEY_REWRITES[key])
                return f"({names.TEMPLATE_KEY_REWRITES[key]})"
            if key in names.REMOVED_CONTEXT_KEYS and key != "conf":
                self._fail(node, f"template variable {key!r}", f"removed in Airflow 3; use {names.REMOVED_CONTEXT_KEYS[key]}")
            return key

        keys = sorted({*names.CONTEXT_KEY_RENAMES, *names.TEMPLATE_KEY_REWRITES, *names.REMOVED_CONTEXT_KEYS}, key=len, reverse=True)
        pattern = re.compile(r"(?<![\w'\"])(?:" + "|".join(map(re.escape, keys)) + r")(?![\w'\"])")
        # only words outside quoted strings inside the block; ``.execution_date`` attributes too
        pieces = re.split(r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", block)
        return "".join(p if i % 2 else pattern.sub(word, p) for i, p in enumerate(pieces))


def transform_source(source: str, file: str = "<dag>") -> tuple[str, list[Rename]]:
    """Apply Airflow's 2->3 renames to a DAG file's text, in memory.

    Args:
        source: the file's text.
        file: its path, for the reports.

    Returns:
        ``(new_source, renames)``; the same text and ``[]`` when nothing needed a change.
        Line numbers are unchanged.

    Raises:
        CompatError: a construct with no Airflow 3 equivalent (the construct and line named).
        SyntaxError: the file does not parse.
    """
    if not LEGACY_HINTS.search(source):
        return source, []
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise SyntaxError(f"{file}:{exc.raw_line}: {exc.message}") from exc
    transformer = _Transformer(file)
    new = MetadataWrapper(module).visit(transformer)
    if not transformer.renames:
        return source, []
    return new.code, sorted(transformer.renames, key=lambda r: (r.line, r.kind, r.old))
