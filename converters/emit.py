"""Assemble the converted module as text.

Kept statements are printed by libcst exactly as they were (comments, formatting, multi-line
strings untouched); generated tasks and flows are text, parsed once with Python's ``ast`` to
check that they compile and to read the names they use. The imports are then scheduled from
the names the assembled module reads (:mod:`converters.imports`): added when used, dropped
when nothing uses them any more.
"""

from __future__ import annotations

import ast
import warnings
from itertools import accumulate

import libcst as cst

from converters import dags, names, plain_context
from converters.analysis import code_of, dotted
from converters.local_imports import rewrite_local_imports
from converters.source_text import ast_children, comment_lines
from converters.imports import ImportSchedule, added_imports, names_read, rewrite_import_text, unbound_globals
from converters.names import RUNTIME_STANDINS
from converters.plan import Plan
from converters.walk import names_in

ORDER = 90


def _is_import(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)


def _is_docstring_or_future(stmt: cst.BaseStatement) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
        return True
    return isinstance(small, cst.ImportFrom) and small.module is not None and dotted(small.module) == "__future__"


def _spaced(text: str) -> str:
    return "\n\n" + text.lstrip("\n")


def assemble(plan: Plan, module: cst.Module, orders: dict[str, list[str]]) -> str | None:
    model = plan.model
    texts = _statement_texts(plan, module)

    def code(node: cst.CSTNode) -> str:
        text = texts.get(id(node))
        return module.code_for_node(node) if text is None else text

    owned = {id(s) for d in model.dags for s in d.owned_statements}
    dag_nodes = {id(d.node): d for d in model.dags}
    decorator_calls = {d.decorator_func.name.value for d in model.dags if d.decorator_func is not None}
    default_args_names = {d.default_args_name for d in model.dags if d.default_args_name}

    #: classes of operators whose tasks are not run by the flow (mapped operators left to a hand)
    unconverted_operators = {
        t.operator for d in model.dags for t in d.tasks.values() if t.options.get("_mapped_unsupported")
    }
    parts: list[str] = ["".join(code(line) for line in module.header)]
    imports: list[tuple[int, cst.SimpleStatementLine]] = []
    default_parts: dict[int, str] = {}
    kept: list[ast.stmt] = []  # the original statements kept as they were (their names count)
    default_asts: dict[int, list[ast.stmt]] = {}  # default_args assignments: kept only if still read
    factory_parts: dict[int, tuple[str, list[ast.stmt]]] = {}  # task factories evaluated in place
    dropped_stmts: dict[int, cst.BaseStatement] = {}  # statements that may go: their comments stay
    guarded_parts: dict[int, set[str]] = {}  # try/except blocks of Airflow imports: names they bind
    fresh: list[str] = []  # generated or rewritten text: compiled here, its names count
    first_generated: int | None = None  # where the first statement that needs a scheduled import is
    head_end = 0  # after the docstring / __future__ imports
    lines = plan.analyzer.positions
    for index, stmt in enumerate(module.body):
        text: str | None = None  # the statement's code, once generated
        in_kept = False  # printed as it was, its ast among ``kept``
        if id(stmt) in dag_nodes:
            dag = dag_nodes[id(stmt)]
            generated, flow_text = dags.flow_function(plan, dag, orders[dag.dag_id])
            generated, flow_text = plain_context.apply(plan, dag, generated, flow_text)
            generated, flow_text = _carry_comments(plan, dag, stmt, generated, flow_text)
            if first_generated is None:
                first_generated = len(parts)
            if generated:
                parts.append(_spaced("\n" + generated))
                fresh.append(generated)
            parts.append(_spaced("\n" + flow_text))
            fresh.append(flow_text)
            plan.serve.append((dag, dags.schedule(plan, dag)))
            continue
        if id(stmt) in owned or _is_dag_function_call(stmt, decorator_calls):
            continue
        if isinstance(stmt, cst.If) and "__main__" in code_of(stmt.test) and _mentions_airflow_runtime(stmt, model):
            continue
        if isinstance(stmt, cst.FunctionDef) and id(stmt) in plan.functions:
            node = plan.kept(stmt)
            if first_generated is None:
                first_generated = len(parts)
            text = code(node)
            moved = rewrite_local_imports(plan, node, text)
            if moved is not node:
                text = code(moved)
            parts.append(text)
            fresh.append(text)
            continue
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value in model.inlined_factories:
            factory_parts[len(parts)] = (stmt.name.value, lines.ast_of.get(id(stmt), []))
            dropped_stmts[len(parts)] = stmt
            parts.append(code(stmt))
            continue
        guarded = _guarded_airflow_imports(stmt)
        if guarded is not None:
            guarded_parts[len(parts)] = guarded
            dropped_stmts[len(parts)] = stmt
            parts.append(code(stmt))
            continue
        if _is_import(stmt):
            imports.append((len(parts), stmt))  # type: ignore[arg-type]
        else:
            if index == len([p for p in parts if p]) - 1 and _is_docstring_or_future(stmt):
                head_end = len(parts) + 1
            if isinstance(stmt, cst.ClassDef) and stmt.name.value in plan.shim_names:
                # an in-house operator run through the shim: its Airflow names are expected
                plan.shim_names |= names_in(stmt)
            elif isinstance(stmt, cst.ClassDef) and stmt.name.value in unconverted_operators:
                message = f"operator class `{stmt.name.value}` is only used by a task left to a hand (see its marker)"
                parts.append(f"# interop: TODO(IX105): {message}\n")
            if id(stmt) in model.kept_markers:
                parts.append(model.kept_markers[id(stmt)] + "\n")
            node = plan.kept(stmt)  # ids of replaced DAG/task objects written as the ids
            original = lines.ast_of.get(id(stmt)) if node is stmt else None
            text = code(node)
            if (
                isinstance(node, (cst.FunctionDef, cst.ClassDef))
                and node.name.value not in plan.shim_names
                and node.name.value not in unconverted_operators
            ):
                moved = rewrite_local_imports(plan, node, text)
                if moved is not node:  # kept code, but its Airflow imports moved or marked
                    text = code(moved)
                    fresh.append(text)
                    parts.append(text)
                    continue
            if original is None:
                fresh.append(text)
            else:
                kept.extend(original)
                in_kept = True
        name = _assigned_name(stmt)
        if name in default_args_names and in_kept:
            size = len(lines.ast_of[id(stmt)])
            default_parts[len(parts)] = name  # type: ignore[assignment]
            dropped_stmts[len(parts)] = stmt
            default_asts[len(parts)] = kept[len(kept) - size :]
            del kept[len(kept) - size :]
        parts.append(code(stmt) if text is None else text)
    guard = dags.main_guard(plan)
    if guard is not None:
        parts.append(_spaced("\n" + guard))
        fresh.append(guard)
    parts.append("".join(code(line) for line in module.footer))

    fresh.extend(plan.helpers.values())  # printed after the imports (below)
    # generated text must compile; the names the module reads schedule its imports
    try:
        fresh_tree = ast.parse("\n".join(fresh), plan.path)  # one parse for all generated fragments
        with warnings.catch_warnings():  # (a SyntaxWarning of kept code is the team's, not printed)
            warnings.simplefilter("ignore")
            compile(fresh_tree, plan.path, "exec")
    except (SyntaxError, ValueError):
        return None
    # the original's statements are walked once: what each reads serves both sides
    tree = lines.tree
    by_stmt = {id(s): names_read([s]) for s in tree.body} if tree is not None else {}
    read = _names_read_by(kept, by_stmt) | names_read(fresh_tree.body)
    for pos, (name, asts) in factory_parts.items():
        if name in read:
            read |= _names_read_by(asts, by_stmt)
        else:
            parts[pos] = _comments_only(plan, dropped_stmts[pos])  # every call was evaluated into tasks
    for pos, name in default_parts.items():
        if name in read:
            read |= _names_read_by(default_asts[pos], by_stmt)
        else:
            parts[pos] = _comments_only(plan, dropped_stmts[pos])  # only the DAG read it
    schedule = ImportSchedule(
        read=read,
        # without the original's tree, no import but Airflow's is dropped
        read_before=set().union(*by_stmt.values()),
        # names imported from Prefect/shims shadow Airflow's (``task``)
        provided={n for names in plan.imports.values() for n in names},
    )
    used = read - schedule.provided
    for pos, bound in guarded_parts.items():
        if not bound & used:
            parts[pos] = _comments_only(plan, dropped_stmts[pos])  # `try: from airflow...` nobody needs now
    existing: dict[str, set[str]] = {}
    for pos, stmt in imports:
        parts[pos] = rewrite_import_text(stmt, schedule.keeps, code, existing, parts[pos])
        leftovers = _airflow_leftovers(stmt, used - plan.shim_names)
        if leftovers:
            message = (
                f"Airflow name(s) {', '.join(leftovers)} still used by the flow's own code; "
                "replace them (or keep Airflow installed where the flow runs)"
            )
            plan.finding("IX110", lines.line(stmt) or 0, message, manual=True)
            parts[pos] = f"# interop: TODO(IX110): {message}\n" + parts[pos]
    added = _stdlib_imports(plan, read, existing) + added_imports(plan.imports, read, existing)
    helpers = "".join(_spaced("\n" + text) for text in plan.helpers.values())
    if added or helpers:
        # after the file's own imports that come before the first generated statement
        before = [pos for pos, _ in imports if first_generated is None or pos < first_generated]
        at = before[-1] + 1 if before else max(head_end, 1)
        after = next((p for p in parts[at:] if p), "")
        parts.insert(at, added + helpers + ("\n" if helpers and not after.startswith("\n\n") else ""))
    # every fragment compiled; import lines are generated well-formed
    newline = module.default_newline
    if newline != "\n":
        fresh_ids = {id(t) for t in fresh}
        parts = [p.replace("\n", newline) if id(p) in fresh_ids or p.startswith("\n\n") or p.startswith("from ") else p for p in parts]
    return _mark_dangling(plan, "".join(parts), newline)


def _statement_texts(plan: Plan, module: cst.Module) -> dict[int, str]:
    """id -> the file's own text of each top-level statement (its leading blank and comment lines
    included): what libcst prints for it unchanged (its round trip is exact), without the codegen.
    Each statement starts where its leading lines do; empty (every statement printed by libcst)
    when the lines cannot be trusted to cut the file so: ``\r`` line ends, a statement
    whose first line does not begin at column 0, or a header / footer that does not match.
    """
    source = plan.analyzer.source
    if "\r" in source or not module.body:
        return {}
    if not module.has_trailing_newline:
        source += "\n"  # libcst prints the last line's newline, and leaves it out of the module only
    offsets = [0, *accumulate(len(line) + 1 for line in source.split("\n"))]
    starts: list[int] = []
    for stmt in module.body:
        span = _span(plan, stmt)
        first = plan.analyzer.positions.lines.get(id(stmt))
        if span is None or first is None or first > len(offsets) or span[0] < 1:
            return {}
        line = source[offsets[first - 1] : offsets[first - 1] + 1]
        decorated = isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and bool(stmt.decorators)
        if not line or line in " \t\x0c#\n\\" or (decorated and line != "@"):
            return {}
        starts.append(offsets[span[0] - 1])
    footer = "".join(module.code_for_node(line) for line in module.footer)
    end = len(source) - len(footer)
    header = "".join(module.code_for_node(line) for line in module.header)
    bounds = [*starts, end]
    if source[: starts[0]] != header or not source.endswith(footer) or any(a >= b for a, b in zip(bounds, bounds[1:])):
        return {}
    return {id(stmt): source[a:b] for stmt, a, b in zip(module.body, bounds, bounds[1:])}


def _names_read_by(stmts: list[ast.stmt], by_stmt: dict[int, set[str]]) -> set[str]:
    """:func:`names_read` of statements of the original module, from what each was found to read."""
    read: set[str] = set()
    for stmt in stmts:
        found = by_stmt.get(id(stmt))
        read |= found if found is not None else names_read([stmt])
    return read


#: modules besides Prefect's and the runtime's that rules import from (the standard library's
#: ``datetime``, ``prefect.runtime``): scheduled the same way, when the module reads the name
EXTRA_MODULES = ("datetime", "prefect.runtime", "prefect.states", "prefect.cache_policies")


def _stdlib_imports(plan: Plan, read: set[str], existing: dict[str, set[str]]) -> str:
    """Import lines for the standard library and the Prefect modules the rules read names of
    (``plan.need("", "subprocess")`` asks for ``import subprocess``; ``jinja2.nativetypes`` for
    ``import jinja2.nativetypes``, when ``jinja2`` is read)."""
    imports = plan.model.imports
    lines = [
        f"import {m}\n" for m in sorted(plan.imports.get("", ())) if m.split(".")[0] in read and imports.get(m) != m
    ]
    for mod in EXTRA_MODULES:
        wanted = sorted(n for n in plan.imports.get(mod, ()) if n in read and n not in existing.get(mod, set()))
        if wanted:
            lines.append(f"from {mod} import {', '.join(wanted)}\n")
    return "".join(lines)


def _source_comments(plan: Plan) -> list[tuple[int, str]]:
    """(line, text) of every comment of the DAG file, read once per file."""
    if plan.source_comments is None:
        plan.source_comments = comment_lines(plan.analyzer.source)
    return plan.source_comments


def _span(plan: Plan, stmt: cst.CSTNode) -> tuple[int, int] | None:
    """First line (its leading comment lines included) and last line of a statement."""
    lines = plan.analyzer.positions
    start = lines.lines.get(id(stmt))
    end = lines.end_lines.get(id(stmt))
    if start is None or end is None:
        return None
    if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and stmt.decorators:
        lead = len(stmt.leading_lines)
    else:
        lead = len(getattr(stmt, "leading_lines", ()))
    return start - lead, end


def comments_in(plan: Plan, stmt: cst.CSTNode) -> list[str]:
    """The comments written in a statement of the DAG file (its leading comments included)."""
    span = _span(plan, stmt)
    if span is None:
        return []
    return [text for line, text in _source_comments(plan) if span[0] <= line <= span[1]]


def _carry_comments(plan: Plan, dag, node: cst.CSTNode, generated: str, flow_text: str) -> tuple[str, str]:  # noqa: ANN001
    """Comments of the DAG's statements that the flow replaced are not lost: a comment on a
    statement that made a task goes above that task's call in the flow (a statement that made
    none, such as ``a >> b``, gives its comments to the next task, else to the flow's end); the
    comments above the DAG and in its header go above what the DAG became."""
    comments = _source_comments(plan)
    if not comments:
        return generated, flow_text
    tops = [node, *dag.owned_statements]
    spans = [s for s in (_span(plan, t) for t in tops) if s is not None]
    if not spans:
        return generated, flow_text
    wanted = [(line, text) for line, text in comments if any(a <= line <= b for a, b in spans)]
    if not wanted:
        return generated, flow_text
    # comments the output already holds (kept statements print theirs) are not repeated
    present: dict[str, int] = {}
    for text in (generated, flow_text):
        for _, c in comment_lines(text):
            present[c] = present.get(c, 0) + 1
    missing: list[tuple[int, str]] = []
    for line, text in wanted:
        if present.get(text, 0):
            present[text] -= 1
        else:
            missing.append((line, text))
    if not missing:
        return generated, flow_text
    # statements of the DAG body (and the DAG's own statements outside it), with their tasks
    body = getattr(node, "body", None)
    inner = list(body.body) if isinstance(body, cst.IndentedBlock) else []
    blocks = sorted(s for s in (_span(plan, t) for t in [*inner, *dag.owned_statements]) if s is not None)
    submitted = [t for t in dag.tasks.values() if t.function_name and plan.future_names.get((dag.dag_id, t.task_id))]
    first_body = blocks[0][0] if blocks else None
    header: list[str] = []
    placed: dict[str, list[str]] = {}
    tail: list[str] = []
    for line, text in missing:
        block = next(((a, b) for a, b in blocks if a <= line <= b), None)
        if block is None:
            if first_body is None or line < first_body or not inner:
                header.append(text)
            else:
                tail.append(text)
            continue
        # the first task made in this statement, else in the statements after it
        target = None
        for a, b in blocks:
            if b < block[0]:
                continue
            made = sorted((t for t in submitted if a <= t.line <= b), key=lambda t: t.line)
            if made:
                target = made[0]
                break
        if target is None:
            tail.append(text)
        else:
            placed.setdefault(target.task_id, []).append(text)
    lines = flow_text.split("\n")
    for tid, texts in placed.items():
        task = dag.tasks[tid]
        heads = [f"    {task.options['_skip_flag']} = "] if task.options.get("_skip_flag") else []
        heads.append(f"    {plan.future(dag, tid)} = ")
        at = next((i for i, ln in enumerate(lines) for h in heads if ln.startswith(h)), None)
        if at is None:
            tail.extend(texts)
            continue
        while at > 0 and lines[at - 1].startswith("    # interop: TODO("):
            at -= 1
        lines[at:at] = [f"    {t}" for t in texts]
    if tail:
        at = max((i for i, ln in enumerate(lines) if ln.startswith("    return ")), default=None)
        if at is not None:
            lines[at:at] = [f"    {t}" for t in tail]
        else:
            header.extend(tail)
    flow_text = "\n".join(lines)
    if header:
        lead = "".join(f"{t}\n" for t in header)
        if generated:
            generated = lead + generated
        else:
            flow_text = lead + flow_text
    return generated, flow_text


def _comments_only(plan: Plan, stmt: cst.CSTNode) -> str:
    """What is left of a statement the output drops: its comments, one a line."""
    texts = comments_in(plan, stmt)
    return ("\n" + "".join(f"{t}\n" for t in texts)) if texts else ""




def _mark_dangling(plan: Plan, output: str, newline: str) -> str:
    """A name the converted module reads that nothing defines any more (an object the flow
    replaced, a loop variable of an unrolled loop ...) is never left silently: a manual finding,
    and a marker above each statement that reads it."""
    after = unbound_globals(output)
    if not after:
        return output
    tree = plan.analyzer.positions.tree
    before = unbound_globals(plan.analyzer.source)
    if before is None or tree is None:
        return output  # a ``*`` import: what the original read from it is unknowable
    dangling = after - before
    if not dangling:
        return output
    bound_at: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in dangling and isinstance(node.ctx, ast.Store):
            bound_at[node.id] = min(bound_at.get(node.id, node.lineno), node.lineno)
    readers: dict[int, tuple[int, set[str]]] = {}  # output line -> (indent, names)
    stack: list[tuple[ast.AST, ast.stmt | None]] = [(ast.parse(output), None)]
    while stack:
        node, stmt = stack.pop()
        if isinstance(node, ast.stmt):
            stmt = node
        if isinstance(node, ast.Name) and node.id in dangling and not isinstance(node.ctx, ast.Store) and stmt is not None:
            first = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", ()))])
            readers.setdefault(first, (stmt.col_offset, set()))[1].add(node.id)
        stack.extend((child, stmt) for child in ast_children(node))
    for name in sorted(dangling):
        where = f" (bound at line {bound_at[name]} of the DAG file)" if name in bound_at else ""
        plan.finding(
            "IX111", bound_at.get(name, 0),
            f"`{name}`{where} is read by the converted code but no longer defined: it stood for an object "
            "the flow replaces or a value the conversion could not carry over; define it by hand (see its marker)",
            manual=True,
        )
    if newline not in ("\n", "\r\n"):
        return output
    lines = output.split("\n")  # as Python counts lines (str.splitlines also splits at \x0c ...)
    for line in sorted(readers, reverse=True):
        indent, names = readers[line]
        what = ", ".join(f"`{n}`" for n in sorted(names))
        lines.insert(line - 1, f"{' ' * indent}# interop: TODO(IX111): {what} no longer defined here; define it by hand{newline[:-1]}")
    return "\n".join(lines)


def _guarded_airflow_imports(stmt: cst.BaseStatement) -> set[str] | None:
    """Names bound by a ``try:``/``except ImportError:`` made only of Airflow imports, else None."""
    if not isinstance(stmt, cst.Try) or stmt.orelse is not None or stmt.finalbody is not None:
        return None
    blocks = [stmt.body, *[h.body for h in stmt.handlers]]
    bound: set[str] = set()
    for block in blocks:
        if not isinstance(block, cst.IndentedBlock):
            return None
        for line in block.body:
            if not isinstance(line, cst.SimpleStatementLine):
                return None
            for small in line.body:
                if isinstance(small, cst.Pass):
                    continue
                if isinstance(small, cst.ImportFrom) and small.module is not None and names.is_airflow(dotted(small.module) or "") and not isinstance(small.names, cst.ImportStar):
                    bound |= {(a.asname.name.value if a.asname else dotted(a.name) or "") for a in small.names}  # type: ignore[union-attr]
                elif isinstance(small, cst.Import) and all(names.is_airflow(dotted(a.name) or "") for a in small.names):
                    bound |= {(a.asname.name.value if a.asname else (dotted(a.name) or "").split(".")[0]) for a in small.names}  # type: ignore[union-attr]
                else:
                    return None
    return bound


def _airflow_leftovers(stmt: cst.SimpleStatementLine, used: set[str]) -> list[str]:
    """Local names an Airflow import binds that flow code (not the operator shim) still reads."""
    out = []
    for small in stmt.body:
        if isinstance(small, cst.ImportFrom) and small.module is not None and not isinstance(small.names, cst.ImportStar):
            if not names.is_airflow(dotted(small.module) or ""):
                continue
            for alias in small.names:
                local = alias.asname.name.value if alias.asname else dotted(alias.name) or ""  # type: ignore[union-attr]
                if f"{dotted(small.module)}.{dotted(alias.name)}" in RUNTIME_STANDINS:
                    continue  # imported from airflow_interop.runtime instead
                if local in used:
                    out.append(local)
        elif isinstance(small, cst.Import):
            for alias in small.names:
                name = dotted(alias.name) or ""
                local = alias.asname.name.value if alias.asname else name.split(".")[0]  # type: ignore[union-attr]
                if names.is_airflow(name) and local in used:
                    out.append(local)
    return out


def _assigned_name(stmt: cst.BaseStatement) -> str | None:
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and len(stmt.body[0].targets) == 1
        and isinstance(stmt.body[0].targets[0].target, cst.Name)
    ):
        return stmt.body[0].targets[0].target.value
    return None


def _is_dag_function_call(stmt: cst.BaseStatement, names: set[str]) -> bool:
    if not names or not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
    return isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value in names


def _mentions_airflow_runtime(stmt: cst.BaseStatement, model) -> bool:  # noqa: ANN001
    from converters.walk import names_in

    text = code_of(stmt)
    dag_vars = {d.dag_var for d in model.dags if d.dag_var} | {
        d.decorator_func.name.value for d in model.dags if d.decorator_func
    }
    return bool(dag_vars & names_in(stmt)) or ".test(" in text or ".cli(" in text
