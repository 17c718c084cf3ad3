"""The source text around the libcst parse: Python's own verdict, line endings, a deep stack.

libcst's native parser has no guard against deep nesting: 5,000 nested parentheses overflow
its stack and kill the process (a segfault, not an exception), and a 3,000-long ``a >> b >> ...``
chain, valid Python, exhausts the default recursion limit in every tree walk after it (libcst's
visitors and code generation, the analyzer's evaluator, ``ast``). So, before libcst sees a file:

- Python's own parser reads it first (``compile(..., ast.PyCF_ONLY_AST)``, about 2% of convert
  time): a syntax error is reported with Python's line and column, and what Python refuses
  (more than 200 nested brackets, expressions too complex for its parser) never reaches libcst;
- code nested deeper than :data:`MAX_DEPTH` (in valid Python: left-nested chains such as
  ``a.b.c...`` or ``a >> b >> ...``, or thousands of prefix operators) is refused with the line;
- the conversion runs in a thread with a stack of :data:`STACK_BYTES` and a recursion limit of
  :data:`RECURSION_LIMIT`, both several times what :data:`MAX_DEPTH` was measured to need.

Line endings: Python reads ``\\r\\n`` and a lone ``\\r`` as ``\\n`` (a string literal spanning a
CRLF line break has ``\\n`` in its value), so the converter works on the text with ``\\n`` only
and the original endings are put back on the output: every line the output keeps gets its own
ending back, generated lines get the file's most common one.
"""

from __future__ import annotations

import ast
import gc
import re
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Callable, TypeVar

#: the deepest nesting of the Python syntax tree converted. Python's own parser accepts about
#: 6,000 levels of prefix operators and any length of left-nested chain; libcst's parse time
#: grows far faster than the depth (``>>`` chains of 1,000 / 2,000 / 3,000: 0.25 / 1.5 / 12 s;
#: 3,000 chained ``[0]``: 87 s), so deeper code is refused rather than left to run for many minutes.
MAX_DEPTH = 5_000
#: the conversion thread's stack (address space; only the pages used are committed). Measured
#: need: at most 4 KB per level (2,000 nested lambdas: 8 MB), so 20 MB at MAX_DEPTH
STACK_BYTES = 256 * 1024 * 1024
#: Python frames allowed in the conversion thread (measured need: 2 per level)
RECURSION_LIMIT = 10 * MAX_DEPTH

_EOL = re.compile(r"\r\n|\r|\n")

T = TypeVar("T")


@dataclass(frozen=True)
class Refusal:
    """Why Python's parser (or the depth limit) refuses a file: IX001 at ``line``."""

    line: int
    message: str


def python_refusal(text: str, path: str) -> Refusal | None:
    """What Python's own parser says against ``text``, or None when the file may go to libcst.

    Run it inside :func:`run_deep`: reading a long chain builds a deep ``ast`` tree.
    """
    text = text[1:] if text.startswith("\ufeff") else text  # Python reads a BOM as the encoding's mark
    try:
        tree = compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or 1
        return Refusal(line, f"syntax error at line {line}, column {exc.offset or 0}: {exc.msg}")
    except (RecursionError, MemoryError):
        return Refusal(1, "cannot parse: nested too deeply for Python's own parser")
    except ValueError as exc:  # e.g. "source code string cannot contain null bytes"
        return Refusal(1, f"cannot parse: {exc}")
    # every level of nesting takes at least one character: a short file cannot be too deep
    if len(text) > MAX_DEPTH - 100:
        depth, line = nesting(tree)
        if depth > MAX_DEPTH:
            return Refusal(
                line,
                f"cannot convert: code nested {depth} levels deep at line {line} "
                f"(the converter's limit is {MAX_DEPTH}); split the expression",
            )
    _parsed.last = (text, tree)
    return None


#: the ``ast`` tree :func:`python_refusal` built last in this thread, with its text
_parsed = threading.local()


def parsed_tree(text: str) -> ast.Module | None:
    """The ``ast`` tree of ``text`` if :func:`python_refusal` just built it in this thread (then
    forgotten: each tree is handed out once), else None. Saves a second parse of every file."""
    last = getattr(_parsed, "last", None)
    _parsed.last = None
    if last is not None and last[0] == text:
        return last[1]
    return None


def ast_children(node: ast.AST) -> list[ast.AST]:
    """``list(ast.iter_child_nodes(node))``, same order, without its generator: the converter walks
    every file's tree and its output's several times (a third less time per walk)."""
    out: list[ast.AST] = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            out.append(value)
        elif isinstance(value, list):
            out.extend([v for v in value if isinstance(v, ast.AST)])
    return out


def nesting(tree: ast.AST) -> tuple[int, int]:
    """The depth of the deepest node of ``tree`` and the line where it is (no recursion)."""
    best, best_line = 0, 1
    stack: list[tuple[ast.AST, int, int]] = [(tree, 1, 1)]
    while stack:
        node, depth, line = stack.pop()
        line = getattr(node, "lineno", line)
        if depth > best:
            best, best_line = depth, line
        for child in ast_children(node):
            stack.append((child, depth + 1, line))
    return best, best_line


_limit_lock = threading.Lock()
_running = 0
_saved_limit = 0


_gc_was_enabled = False


def _pause_gc() -> None:
    # Python's cyclic collector scans every live object on each full collection: with the
    # libcst tree of a large file alive (millions of nodes, acyclic, freed by reference counts)
    # the per-byte cost grew with the file. Measured on a generated 1 MB DAG file: 16.9 -> 11.4 s
    # CPU, peak memory 638 -> 660 MB.
    global _gc_was_enabled
    _gc_was_enabled = gc.isenabled()
    gc.disable()


def _resume_gc() -> None:
    if _gc_was_enabled:
        gc.enable()


def run_deep(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)`` in a thread with a deep stack and a high recursion limit, Python's cyclic
    garbage collector paused; its result or its exception.

    The recursion limit is the interpreter's, raised while any such call runs and restored
    after the last one; the collector likewise. Where no such thread can be started, ``fn``
    runs here.
    """
    global _running, _saved_limit
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    with _limit_lock:
        if _running == 0:
            _saved_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_saved_limit, RECURSION_LIMIT))
            _pause_gc()
        _running += 1
        thread: threading.Thread | None = threading.Thread(target=target, name="interop-convert", daemon=True)
        try:
            previous = threading.stack_size(STACK_BYTES)
            try:
                thread.start()
            finally:
                threading.stack_size(previous)
        except (ValueError, RuntimeError):  # no such stack here (address space limited: ulimit -v)
            thread = None
            _running -= 1
            if _running == 0:
                sys.setrecursionlimit(_saved_limit)
                _resume_gc()
    if thread is None:
        return fn(*args)
    try:
        thread.join()
    finally:
        with _limit_lock:
            _running -= 1
            if _running == 0:
                sys.setrecursionlimit(_saved_limit)
                _resume_gc()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def normalize_newlines(text: str) -> tuple[str, list[str] | None]:
    """``text`` with every line ending as ``\\n``, and the original endings (None if all were)."""
    if "\r" not in text:
        return text, None
    return _EOL.sub("\n", text), _EOL.findall(text)


def restore_newlines(output: str, normalized: str, original: str, endings: list[str] | None) -> str:
    """The original line endings put back on ``output`` (converted from ``normalized``).

    Lines the output keeps from the source (matched line by line) get their own endings back;
    the others get the most common ending of the file.
    """
    if endings is None:
        return output
    if output == normalized:
        return original
    usual = Counter(endings).most_common(1)[0][0]
    if len(set(endings)) == 1:
        return output.replace("\n", usual)
    source_lines = normalized.split("\n")
    output_lines = output.split("\n")
    ends = [usual] * (len(output_lines) - 1)
    matcher = SequenceMatcher(None, source_lines, output_lines, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            i, j = block.a + k, block.b + k
            if i < len(endings) and j < len(ends):
                ends[j] = endings[i]
    return "".join(line + end for line, end in zip(output_lines, ends)) + output_lines[-1]


#: what the comment scanner stops at outside a string: a comment, or a string's opening quotes
_COMMENT_OR_QUOTE = re.compile(r"#[^\r\n]*|'''|\"\"\"|'|\"")
#: the rest of a string after its opening quotes (a backslash escapes the next character, also
#: in raw strings as far as the end of the string goes)
_STRING_REST = {
    "'": re.compile(r"(?:[^'\\\n]|\\.)*'", re.DOTALL),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"', re.DOTALL),
    "'''": re.compile(r"(?:[^\\]|\\.)*?'''", re.DOTALL),
    '"""': re.compile(r'(?:[^\\]|\\.)*?"""', re.DOTALL),
}


def comment_lines(text: str) -> list[tuple[int, str]]:
    """``(line, comment)`` for every comment of Python source ``text`` (right-stripped), as
    ``tokenize`` finds them (COMMENT tokens), without its cost: strings are skipped by their
    quotes, so a ``#`` inside one is no comment. Lines count from 1, by ``\\n``."""
    out: list[tuple[int, str]] = []
    pos = line = 0
    counted = 0  # ``line`` is the number of newlines before ``counted``
    search = _COMMENT_OR_QUOTE.search
    while True:
        found = search(text, pos)
        if found is None:
            return out
        token = found.group()
        if token[0] == "#":
            line += text.count("\n", counted, found.start())
            counted = found.start()
            out.append((line + 1, token.rstrip()))
            pos = found.end()
            continue
        rest = _STRING_REST[token].match(text, found.end())
        if rest is None:
            return out  # an unterminated string: nothing after it is code
        pos = rest.end()
