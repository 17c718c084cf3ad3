"""Terminal output shared by the commands: verbosity, colour, progress, repeats folded.

* Verbosity: ``-q/--quiet`` and ``-v/--verbose``, given to the ``interop`` group or to a command
  (``interop -q convert ...`` and ``interop convert -q ...`` mean the same).
* Colour only on a terminal, never when ``NO_COLOR`` is set to anything (https://no-color.org);
  ``FORCE_COLOR`` turns it on where there is no terminal; ``TERM=dumb`` turns it off.
* Batches show a progress bar (rich) when stderr is a terminal, and one plain line per file when
  it is not (CI logs): never a bar's control codes in a log file.
* Findings repeated in one file (a loop unrolled 10,000 times) are folded into one line with a
  count; ``--verbose`` lists each.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import IO, Any, TypeVar

import click

QUIET, NORMAL, VERBOSE = -1, 0, 1

#: More than this many findings with the same key in one file are folded into one line.
REPEAT_LIMIT = 3

#: ``ctx.meta`` key where the group's ``-q``/``-v`` are kept for the commands.
META_KEY = "interop.verbosity"

T = TypeVar("T")


def verbosity(quiet: bool = False, verbose: bool = False) -> int:
    """QUIET, NORMAL or VERBOSE from a command's own flags and the group's."""
    level = NORMAL
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        level = ctx.find_root().meta.get(META_KEY, NORMAL)
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose are exclusive")
    if quiet:
        return QUIET
    if verbose:
        return VERBOSE
    return level


def color_enabled(stream: IO[Any] | None = None) -> bool:
    """Whether to colour what goes to ``stream`` (default stderr)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return is_tty(stream if stream is not None else sys.stderr)


def is_tty(stream: IO[Any]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed, or not a real stream
        return False


def style(text: str, color: bool, **styles: Any) -> str:
    """``click.style`` when colour is on, the text as it is otherwise."""
    return click.style(text, **styles) if color else text


def fold(items: Iterable[T], key: Callable[[T], Hashable], limit: int = REPEAT_LIMIT) -> list[tuple[T, list[T]]]:
    """``(first, all of its kind)`` for each group of items with the same ``key`` (more than
    ``limit`` of them), ``(item, [item])`` for the others; in the order of the items."""
    items = list(items)
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    out: list[tuple[T, list[T]]] = []
    for item in items:
        members = groups[key(item)]
        if len(members) <= limit:
            out.append((item, [item]))
        elif members[0] is item:
            out.append((item, members))
    return out


def lines_text(lines: Sequence[int], shown: int = 5) -> str:
    """``lines 7, 9, 11, ... 6005`` (the first few and the last)."""
    unique = sorted(set(lines))
    if len(unique) == 1:
        return f"line {unique[0]}"
    if len(unique) <= shown + 1:
        return "lines " + ", ".join(map(str, unique))
    return "lines " + ", ".join(map(str, unique[:shown])) + f", ... {unique[-1]}"


class Batch:
    """Progress of a batch of files on stderr: a rich bar on a terminal, plain lines elsewhere.

    ``message()`` prints a line that must be seen (an error, a kept file): above the bar on a
    terminal. ``done()`` advances the batch by one file, with the file's plain progress line.
    """

    def __init__(self, total: int, level: int, *, label: str = "converting", bar: bool | None = None) -> None:
        self.total = total
        self.level = level
        self.color = color_enabled(sys.stderr)
        self.count = 0
        can_bar = is_tty(sys.stderr) and total > 1 and level >= NORMAL and os.environ.get("TERM") != "dumb"
        self._progress = None
        self._task = None
        if can_bar and bar is not False:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            from rich.table import Column

            console = Console(file=sys.stderr, no_color=not self.color, highlight=False)
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[current]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
                console=console,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._task = self._progress.add_task(label, total=total, current="")

    def __enter__(self) -> Batch:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.refresh()  # the last count is drawn once before the bar goes
            self._progress.stop()

    @property
    def bar(self) -> bool:
        return self._progress is not None

    def message(self, text: str) -> None:
        """A line on stderr (above the bar, if there is one)."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(text, err=True, color=self.color)

    def done(self, plain_line: str | None = None, current: str = "") -> None:
        """One more file done; ``plain_line`` is what a log without a terminal shows for it."""
        self.count += 1
        if self._progress is not None:
            self._progress.update(self._task, advance=1, current=current)
        elif plain_line is not None and self.level >= NORMAL and self.total > 1:
            click.echo(plain_line, err=True, color=self.color)


class StdoutError(Exception):
    """stdout could not be written (a full disk behind ``> file``, ``> /dev/full``)."""


def write_stdout(data: str | bytes) -> None:
    """``data`` to stdout as it is (text as UTF-8), flushed.

    A write error other than a closed pipe (which click ends quietly) raises
    :class:`StdoutError`, after stdout is pointed at ``/dev/null`` so that nothing fails
    again when the interpreter flushes it at exit.
    """
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data  # file names as they are
    try:
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # a test runner's capture
            sys.stdout.write(raw.decode("utf-8", "surrogateescape"))
            sys.stdout.flush()
            return
        sys.stdout.flush()
        buffer.write(raw)
        buffer.flush()
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            raise
        _silence_stdout()
        raise StdoutError(exc.strerror or str(exc)) from None


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError):  # no real file descriptor
        pass
