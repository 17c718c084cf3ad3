"""Fast read-only traversal of libcst trees, and line numbers without metadata resolution.

``node.visit(CSTVisitor)`` rebuilds every node it passes and ``PositionProvider`` renders the
whole module with position tracking; on Airflow's example DAGs those two cost more than parsing
and printing together. Rules only need to *read* subtrees and to know the line of a handful of
nodes, so this module walks dataclass fields directly (in source order) and takes line numbers
from Python's own ``ast`` (a C parser), matched to libcst nodes by order of appearance.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Iterator

import libcst as cst

from converters.source_text import parsed_tree

_SKIP_PREFIXES = (
    "whitespace",
    "lpar",
    "rpar",
    "leading_lines",
    "lines_after",
    "comma",
    "semicolon",
    "header",
    "footer",
    "equal",
    "colon",
    "dot",
    "lbracket",
    "rbracket",
    "lbrace",
    "rbrace",
    "first_line",
    "empty_lines",
    "trailing_whitespace",
    "operator",
    "asynchronous",
    "newline",
    "encoding",
    "default_indent",
    "default_newline",
    "has_trailing_newline",
)
_FIELDS: dict[type, tuple[str, ...]] = {}
#: libcst field order that differs from source order
_SOURCE_ORDER = {
    cst.IfExp: ("body", "test", "orelse"),
    cst.FunctionDef: ("decorators", "name", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "bases", "keywords", "body"),
}


def _fields(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        if kind in _SOURCE_ORDER:
            names = _SOURCE_ORDER[kind]
        else:
            names = tuple(f.name for f in dataclasses.fields(kind) if not f.name.startswith(_SKIP_PREFIXES))
        _FIELDS[kind] = names
    return names


#: type -> is it a libcst node type (``isinstance`` on libcst's ABCs is slow; types are few)
_IS_NODE: dict[type, bool] = {}


def _is_node(kind: type) -> bool:
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return known


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Direct child nodes in source order (whitespace and punctuation left out)."""
    out: list[cst.CSTNode] = []
    known = _IS_NODE.get
    kind = type(node)
    for name in _FIELDS.get(kind) or _fields(kind):
        value = getattr(node, name)
        flag = known(type(value))
        if flag is None:
            flag = _is_node(type(value))
        if flag:
            out.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:  # a loop, not a generator: this is the converter's most frequent walk
                flag = known(type(v))
                if flag or (flag is None and _is_node(type(v))):
                    out.append(v)
    return out


#: (type, kinds) -> isinstance(instance of type, kinds): libcst's node classes are ABCs, and
#: ``isinstance`` through ``ABCMeta`` is the converter's most frequent call; types are few
_KIND_OF: dict[tuple[type, object], bool] = {}


def is_kind(node: object, kinds: type | tuple[type, ...]) -> bool:
    """``isinstance(node, kinds)``, cached by the node's type (same answer, a dict lookup)."""
    key = (type(node), kinds)
    known = _KIND_OF.get(key)
    if known is None:
        known = _KIND_OF[key] = isinstance(node, kinds)
    return known


def iter_nodes(node: cst.CSTNode, prune: type | tuple[type, ...] | None = None) -> Iterator[cst.CSTNode]:
    """Every node under ``node`` (itself included), pre-order, in source order.

    Children of nodes of the ``prune`` types are not entered (the node itself is yielded).
    """
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if prune is not None and current is not node and is_kind(current, prune):
            continue
        stack.extend(reversed(children(current)))


def is_docstring(stmt: cst.CSTNode) -> bool:
    """A statement that is only a string literal (a docstring)."""
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def dotted(node: cst.CSTNode | None) -> str | None:
    """``a.b.c`` for Name/Attribute chains, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


#: id(node) -> (node, the names read or bound under it); rules ask again for the same statements
_NAMES_CACHE: dict[int, tuple[cst.CSTNode, frozenset[str]]] = {}


def names_in(node: cst.CSTNode) -> set[str]:
    """Every ``Name`` under ``node`` (a new set; cached by subtree, see :func:`cache_clear`)."""
    hit = _NAMES_CACHE.get(id(node))
    if hit is None or hit[0] is not node:
        hit = _NAMES_CACHE[id(node)] = (node, frozenset(n.value for n in _of_kind(node, cst.Name)))
    return set(hit[1])


#: id(node) -> (node, the names it binds); see :func:`bound_names`
_BOUND_CACHE: dict[int, tuple[cst.CSTNode, frozenset[str]]] = {}
_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.BaseComp)


def bound_names(stmt: cst.CSTNode) -> set[str]:
    """Names a statement binds in its own scope: assignment, loop, ``with`` and ``except``
    targets, imports, function and class names (nested blocks included, function bodies not).
    A new set; cached by subtree (see :func:`cache_clear`)."""
    hit = _BOUND_CACHE.get(id(stmt))
    if hit is None or hit[0] is not stmt:
        hit = _BOUND_CACHE[id(stmt)] = (stmt, frozenset(_bound_names(stmt)))
    return set(hit[1])


def _bound_names(stmt: cst.CSTNode) -> set[str]:
    if type(stmt) in (cst.FunctionDef, cst.ClassDef):
        return {stmt.name.value}
    out: set[str] = set()
    for node in iter_nodes(stmt, prune=_SCOPES):
        kind = type(node)
        if kind is cst.FunctionDef or kind is cst.ClassDef:
            out.add(node.name.value)
        elif kind is cst.AssignTarget:
            out |= _target_names(node.target)
        elif kind is cst.AnnAssign or kind is cst.AugAssign or kind is cst.For or kind is cst.NamedExpr:
            out |= _target_names(node.target)
        elif kind is cst.AsName:
            out |= _target_names(node.name)
        elif kind is cst.Import:
            out |= {dotted(a.name).split(".")[0] for a in node.names if a.asname is None and dotted(a.name)}
        elif kind is cst.ImportFrom and not isinstance(node.names, cst.ImportStar):
            out |= {dotted(a.name) or "" for a in node.names if a.asname is None}
    return out


def _target_names(target: cst.CSTNode) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return set().union(*[_target_names(e.value) for e in target.elements]) if target.elements else set()
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    return find(node, cst.Call)


#: id(node) -> (node, its subtree's nodes, by kind asked: the nodes of that kind). The rules ask
#: about the same statements again and again (its names, its calls, its arguments ...): each
#: subtree is walked once a file, whatever is asked of it (see :func:`cache_clear`)
_FIND_CACHE: dict[int, tuple[cst.CSTNode, list[cst.CSTNode], dict[type, list[cst.CSTNode]]]] = {}


def _of_kind(node: cst.CSTNode, kind: type) -> list:
    """The cached list of the nodes of ``kind`` under ``node`` (not to be changed)."""
    hit = _FIND_CACHE.get(id(node))
    if hit is None or hit[0] is not node:
        hit = (node, list(iter_nodes(node)), {})
        _FIND_CACHE[id(node)] = hit
    found = hit[2].get(kind)
    if found is None:
        found = hit[2][kind] = [n for n in hit[1] if is_kind(n, kind)]
    return found


def find(node: cst.CSTNode, kind: type) -> list:
    """Nodes of ``kind`` under ``node`` (a new list); cached by subtree and kind (see :func:`cache_clear`)."""
    return list(_of_kind(node, kind))


#: node types that live in the fields :func:`children` leaves out: a transformer that handles one
#: of them is never pruned
_UNWALKED = (
    cst.BaseParenthesizableWhitespace, cst.EmptyLine, cst.Comment, cst.TrailingWhitespace, cst.Newline,
    cst.Comma, cst.Dot, cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket,
    cst.LeftCurlyBrace, cst.RightCurlyBrace, cst.Colon, cst.Semicolon, cst.AssignEqual, cst.BaseBinaryOp,
    cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseUnaryOp, cst.BaseAugOp, cst.Asynchronous,
)
#: transformer class -> the node types its ``visit_*`` / ``leave_*`` methods handle (None: unknown)
_HANDLED: dict[tuple[str, str, tuple[type, ...]], tuple[type, ...] | None] = {}


def _handled(kind: type) -> tuple[type, ...] | None:
    # a class defined in a function is a new class object per call: keyed by where it is defined
    key = (kind.__module__, kind.__qualname__, kind.__mro__[1:])
    if key in _HANDLED:
        return _HANDLED[key]
    found: set[type] = set()
    known: tuple[type, ...] | None = None
    own = {n for k in kind.__mro__ if not k.__module__.startswith("libcst") for n in vars(k)}
    for name in sorted(own):
        if not name.startswith(("visit_", "leave_")):
            continue
        node_type = getattr(cst, name.split("_")[1], None)
        if not (isinstance(node_type, type) and issubclass(node_type, cst.CSTNode)) or issubclass(node_type, _UNWALKED):
            break
        found.add(node_type)
    else:
        known = tuple(sorted(found, key=lambda t: t.__name__))
    _HANDLED[key] = known
    return known


def paths_to(root: cst.CSTNode, targets: object) -> set[int]:
    """Ids of the nodes under ``root`` (itself included) that are, or hold, a target: a node of a
    ``targets`` type, or (a set of ids) one of those nodes."""
    nodes = [root]
    parents = [-1]
    stack = [0]
    while stack:
        i = stack.pop()
        for child in children(nodes[i]):
            nodes.append(child)
            parents.append(i)
            stack.append(len(nodes) - 1)
    hit = [False] * len(nodes)
    by_id = isinstance(targets, (set, frozenset))
    for i in range(len(nodes) - 1, -1, -1):
        if hit[i] or (id(nodes[i]) in targets if by_id else is_kind(nodes[i], targets)):  # type: ignore[operator, arg-type]
            hit[i] = True
            if parents[i] >= 0:
                hit[parents[i]] = True
    return {id(n) for n, h in zip(nodes, hit) if h}


class Pruned:
    """Mixin for a ``CSTTransformer``/``CSTVisitor``: libcst rebuilds every node a visit enters,
    so subtrees that hold nothing the class handles are not entered (same result, less work).

    What it handles: the nodes of the types of its ``visit_*``/``leave_*`` methods, or the nodes
    :meth:`targets` returns for the tree visited. Only the tree the visit started on is pruned;
    a nested ``.visit(self)`` on a node of that tree is pruned the same way.
    """

    _keep: set[int] | None = None
    _root: int | None = None

    def targets(self, root: cst.CSTNode) -> object:
        """Node types, or a set of node ids, that the visit must reach (default: handled types)."""
        return _handled(type(self))

    def on_visit(self, node: cst.CSTNode) -> bool:
        if self._keep is None:
            wanted = self.targets(node)
            if wanted is not None:
                self._keep = paths_to(node, wanted)
                self._root = id(node)
        if self._keep is not None and id(node) not in self._keep:
            return False
        return super().on_visit(node)  # type: ignore[misc]

    def on_leave(self, original_node: cst.CSTNode, *updated: cst.CSTNode):  # noqa: ANN201
        result = super().on_leave(original_node, *updated)  # type: ignore[misc]
        if id(original_node) == self._root:
            self._keep = self._root = None
        return result


def cache_clear() -> None:
    """Forget cached subtrees (the pipeline calls this once per file)."""
    _FIND_CACHE.clear()
    _NAMES_CACHE.clear()
    _BOUND_CACHE.clear()


# ---------------------------------------------------------------------- line numbers
_COMPOUND = {
    cst.With: (ast.With, ast.AsyncWith),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.If: (ast.If,),
    cst.Try: (ast.Try,),
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.Match: (ast.Match,),
}
if hasattr(ast, "TryStar"):
    _COMPOUND[cst.TryStar] = (ast.TryStar,)


def _ast_key(node: ast.AST) -> tuple[int, int, int, int]:
    return (node.lineno, node.col_offset, -(node.end_lineno or 0), -(node.end_col_offset or 0))


def _dotted_ast(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted_ast(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


class Lines:
    """Line numbers of libcst statements, from ``ast`` by a parallel walk of the statement trees.

    Expressions get the line of their statement (callers fall back to it). When the two trees
    do not line up (never seen on real files, but cheap to guard), libcst's PositionProvider is
    used instead.
    """

    def __init__(self, module: cst.Module, source: str) -> None:
        self.module = module
        self.lines: dict[int, int] = {}
        self.end_lines: dict[int, int] = {}
        #: id(libcst statement) -> its ast statements (empty when metadata was used instead)
        self.ast_of: dict[int, list[ast.stmt]] = {}
        self.tree: ast.Module | None = None
        try:
            text = source.lstrip("\ufeff")
            tree = self.tree = parsed_tree(text) or ast.parse(text)
            ok = self._block(list(module.body), list(tree.body))
        except (SyntaxError, ValueError, _Mismatch):
            ok = False
        if not ok:
            self._use_metadata()

    def _block(self, stmts: list, nodes: list) -> bool:
        i = 0
        for stmt in stmts:
            if isinstance(stmt, cst.SimpleStatementLine):
                smalls = stmt.body
                chunk = nodes[i : i + len(smalls)]
                if len(chunk) != len(smalls) or any(isinstance(a, _COMPOUND_AST) for a in chunk):
                    raise _Mismatch
                for small, a in zip(smalls, chunk):
                    self.lines[id(small)] = a.lineno
                self.lines[id(stmt)] = chunk[0].lineno
                self.end_lines[id(stmt)] = chunk[-1].end_lineno or chunk[0].lineno
                self.ast_of[id(stmt)] = chunk
                i += len(smalls)
                continue
            if i >= len(nodes):
                raise _Mismatch
            a = nodes[i]
            i += 1
            kinds = _COMPOUND.get(type(stmt))
            if kinds is None or not isinstance(a, kinds):
                raise _Mismatch
            line = a.lineno
            if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and a.decorator_list:
                line = a.decorator_list[0].lineno
            self.lines[id(stmt)] = line
            self.end_lines[id(stmt)] = a.end_lineno or line
            self.ast_of[id(stmt)] = [a]
            self._compound(stmt, a)
        if i != len(nodes):
            raise _Mismatch
        return True

    def _compound(self, stmt: cst.CSTNode, a: ast.AST) -> None:
        body = getattr(stmt, "body", None)
        if isinstance(body, cst.IndentedBlock):
            self._block(list(body.body), list(a.body))  # type: ignore[attr-defined]
        elif isinstance(body, cst.SimpleStatementSuite):
            pass
        if isinstance(stmt, cst.If):
            orelse = stmt.orelse
            if isinstance(orelse, cst.If):
                self._block([orelse], list(a.orelse))  # type: ignore[attr-defined]
            elif isinstance(orelse, cst.Else) and isinstance(orelse.body, cst.IndentedBlock):
                self._block(list(orelse.body.body), list(a.orelse))  # type: ignore[attr-defined]
        elif isinstance(stmt, (cst.For, cst.While)) and isinstance(stmt.orelse, cst.Else):
            if isinstance(stmt.orelse.body, cst.IndentedBlock):
                self._block(list(stmt.orelse.body.body), list(a.orelse))  # type: ignore[attr-defined]
        elif isinstance(stmt, cst.Try):
            for h, ah in zip(stmt.handlers, a.handlers):  # type: ignore[attr-defined]
                if isinstance(h.body, cst.IndentedBlock):
                    self._block(list(h.body.body), list(ah.body))
            if stmt.orelse is not None and isinstance(stmt.orelse.body, cst.IndentedBlock):
                self._block(list(stmt.orelse.body.body), list(a.orelse))  # type: ignore[attr-defined]
            if stmt.finalbody is not None and isinstance(stmt.finalbody.body, cst.IndentedBlock):
                self._block(list(stmt.finalbody.body.body), list(a.finalbody))  # type: ignore[attr-defined]

    def _use_metadata(self) -> None:
        from libcst.metadata import MetadataWrapper, PositionProvider

        wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        positions = wrapper.resolve(PositionProvider)
        self.lines = {id(node): pos.start.line for node, pos in positions.items()}

    def line(self, node: cst.CSTNode) -> int | None:
        return self.lines.get(id(node))


class _Mismatch(Exception):
    pass


_COMPOUND_AST = tuple(k for kinds in _COMPOUND.values() for k in kinds)
