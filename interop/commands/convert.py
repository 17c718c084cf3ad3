"""``interop convert PATH... [--out DIR | --in-place] [--diff] [--check] [--force] [--report FILE]``."""

from __future__ import annotations

import difflib
import hashlib
import json
import multiprocessing
import os
import signal
import stat
import sys
import tempfile
from multiprocessing.connection import wait
from pathlib import Path

import click

from interop import console
from interop.files import atomic_write, reason
from interop.ledger import summarize

EXIT_OK, EXIT_MANUAL, EXIT_ERROR = 0, 1, 2
PARALLEL_THRESHOLD = 16

#: In an ``--out`` folder: the SHA-256 of every file as interop last wrote it (see docs/convert.md).
MANIFEST = ".interop-manifest.json"
MANIFEST_ABOUT = (
    "written by `interop convert --out`: the SHA-256 of each file as interop last wrote it, so that a "
    "file edited by hand since is kept (not overwritten) unless --force; commit it with the flows"
)

#: the codes printed as they happen (file-level errors); the others are in the ledger
ERROR_CODES = ("IX001", "IX002", "IX003", "IX004", "IX005", "IX999")


def discover(paths: tuple[str, ...], skip: Path | None = None) -> list[tuple[Path, Path]]:
    """(file, path relative to its argument) for every .py file under the arguments.

    Hidden folders and files, ``__pycache__`` and the folder ``skip`` (the ``--out`` folder
    when it lies inside an input folder) are not walked; a file given twice counts once.
    """
    found: list[tuple[Path, Path]] = []
    seen: set[str] = set()
    skip_real = os.path.realpath(skip) if skip is not None else None
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            # the --out folder is left out of the walk when it lies inside this folder (not
            # when it is this folder: writing over the inputs is then an error per file)
            skip_here = skip_real if skip_real is not None and skip_real != os.path.realpath(p) else None
            for f in sorted(p.rglob("*.py")):
                if any(part.startswith(".") or part == "__pycache__" for part in f.relative_to(p).parts):
                    continue
                if skip_here is not None and _inside(os.path.realpath(f), skip_here):
                    continue
                _add(found, seen, f, f.relative_to(p))
        else:
            _add(found, seen, p, Path(p.name))
    return found


def _add(found: list[tuple[Path, Path]], seen: set[str], path: Path, rel: Path) -> None:
    key = os.path.realpath(path)
    if key not in seen:
        seen.add(key)
        found.append((path, rel))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _convert_one(path: str):  # runs in worker processes too
    from converters import convert_file

    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None  # convert_file says why it cannot read it
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        return _failed(path, "IX005", "cannot read: not a regular file")
    result = convert_file(path)
    return path, result.source, result.output, result.status, result.error, result.report()


def _convert_bytes(raw: bytes, name: str):
    """:func:`_convert_one` for text read from stdin."""
    from converters import convert_source

    if b"\x00" in raw:
        return _failed(name, "IX004", "binary file, not Python source")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _failed(name, "IX004", f"not UTF-8 text: {exc.reason}")
    result = convert_source(text, name)
    return name, result.source, result.output, result.status, result.error, result.report()


def _failed(path: str, code: str, message: str) -> tuple:
    report = {"path": path, "status": "failed", "dags": [], "findings": [{"code": code, "line": 0, "message": message}]}
    return path, "", "", "failed", True, report


class Manifest:
    """``DIR/.interop-manifest.json``: what interop last wrote in an ``--out`` folder.

    A file whose bytes no longer hash to what is recorded was edited since (by a person, or
    it was never written by interop): it is kept unless ``--force``.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / MANIFEST
        self.files: dict[str, str] = {}
        self.problem: str | None = None
        self.dirty = False
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            self.problem = f"cannot read {self.path} ({reason(exc) if isinstance(exc, OSError) else 'not JSON'})"
            return
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            self.problem = f"{self.path} is not an interop manifest"
            return
        self.files = dict(files)

    def recorded(self, rel: Path) -> str | None:
        return self.files.get(rel.as_posix())

    def record(self, rel: Path, digest: str) -> None:
        if self.files.get(rel.as_posix()) != digest:
            self.files[rel.as_posix()] = digest
            self.dirty = True

    def save(self) -> None:
        data = {"about": MANIFEST_ABOUT, "version": 1, "files": dict(sorted(self.files.items()))}
        atomic_write(self.path, json.dumps(data, indent=2) + "\n")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _plan_out(target: Path, rel: Path, output: str, manifest: Manifest, force: bool) -> tuple[str, bytes | None]:
    """What ``--out`` does with ``target``: ``write`` (new, or as interop left it), ``unchanged``,
    ``kept`` (edited by hand, the DAG converts as before), ``stale`` (edited by hand and the DAG
    now converts differently), ``foreign`` (there, different, and not recorded as interop's),
    with the bytes there now. Raises OSError when it cannot be read."""
    new = output.encode("utf-8")
    try:
        existing = target.read_bytes()
    except FileNotFoundError:
        return "write", None
    if existing == new:
        return "unchanged", existing
    if force:
        return "write", existing
    recorded = manifest.recorded(rel)
    if recorded is None:
        return "foreign", existing  # not written by interop (or its manifest was lost)
    if recorded == _sha(existing):
        return "write", existing  # as interop wrote it: the DAG changed, the flow follows
    if recorded == _sha(new):
        return "kept", existing
    return "stale", existing


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out_dir", metavar="DIR", type=click.Path(file_okay=False), help="Write flows under DIR, mirroring the input paths.")
@click.option("--in-place", is_flag=True, help="Rewrite the DAG files themselves (atomically).")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of each change (with --out: against the file in DIR).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any file would change (with --out: if DIR is out of date).")
@click.option("--force", is_flag=True, help="With --out: overwrite files edited by hand since interop wrote them.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), help="Write the JSON ledger to FILE.")
@click.option("--stdin-filename", metavar="NAME", help="The file name shown for '-' (stdin) in messages and the report.")
@click.option("-j", "--jobs", metavar="N", type=click.IntRange(min=0), default=0, help="Worker processes for batches (default: every core).")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and the files kept or not written.")
@click.option("-v", "--verbose", is_flag=True, help="Print every task and every finding (repeats not folded).")
def convert(paths, out_dir, in_place, show_diff, check, force, report_file, stdin_filename, jobs, quiet, verbose):
    """Convert Airflow DAG files to Prefect 3 flows.

    One file (or '-' for stdin) with no --out/--in-place prints the flow to stdout. The ledger
    (every task: converted, shimmed or manual) goes to stderr and, with --report, to a JSON file.
    With --out, a file edited by hand since interop wrote it is kept unless --force (DIR's
    .interop-manifest.json records what interop wrote).

    Exit codes: 0 everything converted (or no DAG), 1 some task needs a hand, a file edited by
    hand was kept while its DAG changed, or --check found changes, 2 a file could not be read,
    parsed or written, or two inputs would be written to the same place.
    """
    level = console.verbosity(quiet, verbose)
    if out_dir and in_place:
        raise click.UsageError("--out and --in-place are exclusive")
    if force and not out_dir:
        raise click.UsageError("--force goes with --out (it overwrites files edited by hand there)")
    if "-" in paths:
        if len(paths) > 1:
            raise click.UsageError("'-' (stdin) cannot be mixed with other paths")
        if out_dir or in_place:
            raise click.UsageError("'-' (stdin) writes the flow to stdout: --out and --in-place do not apply")
    elif stdin_filename:
        raise click.UsageError("--stdin-filename goes with '-' (stdin)")
    run = _Convert(level, out_dir, in_place, show_diff, check, force)
    try:
        if paths == ("-",):
            code = run.stdin(stdin_filename or "-", report_file)
        else:
            code = run.batch(paths, jobs, report_file)
    except KeyboardInterrupt:
        click.echo("interop convert: interrupted", err=True)
        code = 130
    except console.StdoutError as exc:
        click.echo(f"interop convert: cannot write to stdout: {exc}", err=True)
        code = EXIT_ERROR
    sys.exit(code)


class _Convert:
    """One ``interop convert`` run: converts, writes, prints, and keeps the exit code."""

    def __init__(self, level: int, out_dir: str | None, in_place: bool, show_diff: bool, check: bool, force: bool) -> None:
        self.level = level
        self.out = Path(out_dir) if out_dir else None
        self.in_place = in_place
        self.show_diff = show_diff
        self.check = check
        self.force = force
        self.to_stdout = not (out_dir or in_place or check or show_diff)
        self.color = console.color_enabled(sys.stderr)
        self.exit_code = EXIT_OK
        self.reports: list[dict] = []
        self.shown: dict[int, set[int]] = {}  # report index -> the findings already printed
        self.outcomes: dict[str, int] = {}
        self.manifest: Manifest | None = None
        self.batch_: console.Batch | None = None
        self.from_stdin = False

    # -- exit code and messages --------------------------------------------------------------
    def raise_to(self, code: int) -> None:
        if code == EXIT_ERROR or (code == EXIT_MANUAL and self.exit_code == EXIT_OK):
            self.exit_code = code

    def say(self, text: str, *, always: bool = False) -> None:
        """A line on stderr: errors and files kept are ``always`` shown, even with --quiet."""
        if always or self.level >= console.NORMAL:
            if self.batch_ is not None:
                self.batch_.message(text)
            else:
                click.echo(text, err=True, color=self.color)

    def problem(self, path: str, text: str, code: int = EXIT_ERROR) -> None:
        self.raise_to(code)
        self.say(f"{console.style(path, self.color, bold=True)}: {console.style(text, self.color, fg='red' if code == EXIT_ERROR else 'yellow')}", always=True)

    # -- the two ways in -----------------------------------------------------------------------
    def stdin(self, name: str, report_file: str | None) -> int:
        self.from_stdin = True
        raw = click.get_binary_stream("stdin").read()
        result = _convert_bytes(raw, name)
        self.handle(Path(name), Path(name), result, 1)
        self.finish(1, report_file)
        return self.exit_code

    def batch(self, paths: tuple[str, ...], jobs: int, report_file: str | None) -> int:
        files = discover(paths, skip=self.out)
        if not files:
            self.say(f"interop convert: no *.py file found under {', '.join(paths)}")
        if self.to_stdout and len(files) > 1:
            raise click.UsageError("several files: give --out DIR or --in-place (or --check / --diff)")
        if report_file and any(os.path.realpath(report_file) == os.path.realpath(f) for f, _ in files):
            raise click.UsageError(f"--report {report_file} is one of the files to convert: it would be overwritten")
        if self.out is not None:
            clashes = _clashes(files, self.out)
            if clashes:
                for target, sources in clashes.items():
                    both = " and ".join(str(s) for s in sources)
                    self.problem(str(target), f"would be written from both {both}: two inputs, one output")
                self.say("interop convert: nothing was written; convert those inputs into different --out folders", always=True)
                return EXIT_ERROR
            self.manifest = Manifest(self.out)
            if self.manifest.problem:
                self.say(f"interop convert: {self.manifest.problem}: every existing file that differs is kept", always=True)
        total = len(files)
        try:
            with console.Batch(total, self.level) as batch:
                self.batch_ = batch
                for i, result in enumerate(_results([str(f) for f, _ in files], jobs), 1):
                    path, rel = files[i - 1]
                    self.handle(path, rel, result, total)
                    status = result[3]
                    batch.done(f"[{i}/{total}] {path}: {status}", current=path.name)
                self.batch_ = None
        finally:  # interrupted too: what was written is recorded as interop's
            self.save_manifest()
        self.finish(total, report_file)
        return self.exit_code

    def save_manifest(self) -> None:
        if self.manifest is None or not self.manifest.dirty or self.check:
            return
        try:
            self.manifest.save()
        except OSError as exc:
            self.batch_ = None
            self.problem(str(self.manifest.path), f"cannot write: {reason(exc)} (files written now are not recorded as interop's)")

    # -- one file ----------------------------------------------------------------------------
    def handle(self, path: Path, rel: Path, result: tuple, total: int) -> None:
        _, source, output, status, error, report = result
        index = len(self.reports)
        self.reports.append(report)
        if error:
            self.raise_to(EXIT_ERROR)
        elif status in ("partial", "failed"):
            self.raise_to(EXIT_MANUAL)
        shown = [i for i, f in enumerate(report["findings"]) if f["code"] in ERROR_CODES or status == "failed"]
        if shown:
            self.shown[index] = set(shown)
            for line in _finding_lines(str(path), [report["findings"][i] for i in shown], self.level, self.color):
                self.say(line, always=bool(error))
        ok = status in ("converted", "partial", "skipped") and not error
        if self.out is not None:
            if ok:
                self.to_out(path, rel, output, report)
            return
        changed = status in ("converted", "partial") and output != source
        if changed and self.check:
            self.raise_to(EXIT_MANUAL)
            self.say(f"{path}: would change")
        if self.show_diff and changed:
            _write_stdout("".join(_unified_diff(source, output, f"a/{path}", f"b/{path}")))
        if self.check:
            return
        if self.to_stdout:
            if status in ("converted", "partial") or (self.from_stdin and status == "skipped"):
                _write_stdout(output)  # stdin: a file without a DAG comes back as it is
            return
        if self.in_place and changed:
            try:
                atomic_write(path, output)
            except OSError as exc:
                self.problem(str(path), f"cannot write: {reason(exc)}")
                report["output"] = {"path": str(path), "result": "error", "message": f"cannot write: {reason(exc)}"}
                self.count("not written (errors)")
                return
            report["output"] = {"path": str(path), "result": "written"}
            self.count("written")

    def to_out(self, path: Path, rel: Path, output: str, report: dict) -> None:
        assert self.out is not None and self.manifest is not None
        target = self.out / rel
        if os.path.realpath(target) == os.path.realpath(path):
            self.problem(str(path), "--out would overwrite the input; not written")
            report["output"] = {"path": str(target), "result": "error", "message": "--out would overwrite the input"}
            self.count("not written (errors)")
            return
        try:
            action, existing = _plan_out(target, rel, output, self.manifest, self.force)
        except OSError as exc:
            self.problem(str(target), f"cannot read: {reason(exc)}; not written")
            report["output"] = {"path": str(target), "result": "error", "message": f"cannot read: {reason(exc)}"}
            self.count("not written (errors)")
            return
        if action == "unchanged":
            self.manifest.record(rel, _sha(existing or b""))
            report["output"] = {"path": str(target), "result": "unchanged"}
            self.count("unchanged")
            return
        if action in ("kept", "stale", "foreign"):
            message = _kept_message(action, path, self.manifest)
            if action == "kept":
                self.say(f"{target}: {message}", always=True)
            else:
                self.problem(str(target), message, EXIT_MANUAL)
            report["output"] = {"path": str(target), "result": "kept", "message": message}
            self.count("kept (edited by hand)")
            return
        # write (new, as interop left it, or --force)
        if self.check:
            self.raise_to(EXIT_MANUAL)
            self.say(f"{target}: {'missing' if existing is None else f'out of date ({path} converts differently)'}")
        if self.show_diff:
            old = existing.decode("utf-8", "replace") if existing is not None else ""
            _write_stdout("".join(_unified_diff(old, output, f"a/{target}" if existing is not None else "/dev/null", f"b/{target}")))
        if self.check:
            return
        try:
            atomic_write(target, output)
        except OSError as exc:
            self.problem(str(target), f"cannot write: {reason(exc)}")
            report["output"] = {"path": str(target), "result": "error", "message": f"cannot write: {reason(exc)}"}
            self.count("not written (errors)")
            return
        self.manifest.record(rel, _sha(output.encode("utf-8")))
        report["output"] = {"path": str(target), "result": "written"}
        self.count("written")

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    # -- the end -----------------------------------------------------------------------------
    def finish(self, total: int, report_file: str | None) -> None:
        summary = summarize(self.reports)
        if self.level >= console.NORMAL:
            ledger = _ledger_text(self.reports, summary, self.shown, self.level, tasks=total == 1 or self.level >= console.VERBOSE)
            click.echo(ledger, err=True, nl=False, color=self.color)
            if self.outcomes:
                where = f"{self.out}: " if self.out is not None else ""
                click.echo(where + ", ".join(f"{n} {what}" for what, n in self.outcomes.items()), err=True, color=self.color)
        if report_file:
            data = json.dumps({"files": self.reports, "summary": summary}, indent=2) + "\n"
            try:
                atomic_write(report_file, data)
            except OSError as exc:
                self.problem(report_file, f"cannot write the report: {reason(exc)}{_fallback_report(data)}")


def _fallback_report(data: str) -> str:
    """Write the report to the temporary folder instead (a long batch's ledger is not lost);
    the words that say where, for the error message."""
    try:
        fd, path = tempfile.mkstemp(prefix="interop-report-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
    except OSError:
        return ""
    return f"; written to {path} instead"


def _clashes(files: list[tuple[Path, Path]], out: Path) -> dict[Path, list[Path]]:
    """Outputs two different inputs would both be written to."""
    by_target: dict[str, list[Path]] = {}
    for path, rel in files:
        by_target.setdefault(os.path.normpath(out / rel), []).append(path)
    return {Path(t): sources for t, sources in by_target.items() if len(sources) > 1}


def _kept_message(action: str, path: Path, manifest: Manifest) -> str:
    if action == "kept":
        return "edited since interop wrote it: kept (its DAG converts as before; --force overwrites)"
    if action == "stale":
        return f"edited since interop wrote it, and {path} now converts differently: kept, not updated (merge by hand, or --force overwrites)"
    return f"exists and was not written by interop (not in {manifest.path.name}): kept, not overwritten (--force overwrites)"


def _finding_lines(path: str, findings: list[dict], level: int, color: bool) -> list[str]:
    """``path:line: CODE message`` per finding (``path: CODE message`` for the whole file); a
    code repeated at one line (a loop unrolled) is one line with its count, unless --verbose."""
    limit = len(findings) if level >= console.VERBOSE else console.REPEAT_LIMIT
    lines = []
    for first, group in console.fold(findings, key=lambda f: (f["code"], f["line"]), limit=limit):
        where = f"{path}:{first['line']}" if first["line"] else path
        code = console.style(first["code"], color, fg="red", bold=True)
        message = _first_line(first["message"], level)
        if len(group) > 1:
            lines.append(f"{where}: {code} x{len(group)} {message} (and {len(group) - 1} more like it; --verbose lists each)")
        else:
            lines.append(f"{where}: {code} {message}")
    return lines


def _first_line(message: str, level: int) -> str:
    """A message's first line (an internal error's traceback stays in the report), all of it
    with --verbose."""
    if level >= console.VERBOSE or "\n" not in message.strip():
        return message.rstrip()
    return message.strip().splitlines()[0] + " (the traceback: --verbose, or the report)"


def _results(paths: list[str], jobs: int):
    """The result of each path, in the order of ``paths`` (converted in worker processes for
    batches of ``PARALLEL_THRESHOLD`` files or more)."""
    if len(paths) < PARALLEL_THRESHOLD or jobs == 1:
        for p in paths:
            yield _convert_one(p)
        return
    yield from _iter_workers(paths, max(1, min(jobs or os.cpu_count() or 1, len(paths))))


def _run_workers(paths: list[str], workers: int) -> list[tuple]:
    """:func:`_iter_workers` as a list."""
    return list(_iter_workers(paths, workers))


def _iter_workers(paths: list[str], workers: int):
    """Convert ``paths`` in worker processes, one file at a time each: a worker that dies (a
    crash in native code, the out-of-memory killer) costs only the file it was converting,
    which is reported ``failed``; a new worker takes its place. Results are yielded in the
    order of ``paths`` as soon as they are there."""
    context = multiprocessing.get_context()
    results: dict[int, tuple] = {}
    next_index = 0
    todo = list(range(len(paths)))[::-1]
    busy: dict = {}  # connection -> (process, index of the file it converts)

    def start():
        here, there = context.Pipe()
        process = context.Process(target=_worker, args=(there,), daemon=True)
        process.start()
        there.close()
        return here, process

    def feed(conn, process) -> None:
        while todo:
            index = todo.pop()
            try:
                conn.send(paths[index])
            except OSError:  # the worker is gone: another one takes the file
                todo.append(index)
                _stop(conn, process)
                conn, process = start()
                continue
            busy[conn] = (process, index)
            return
        _stop(conn, process)

    try:
        for _ in range(workers):
            feed(*start())
        while busy:
            ready = wait([*busy, *(process.sentinel for process, _ in busy.values())])
            for conn in [c for c in busy if c in ready or busy[c][0].sentinel in ready]:
                process, index = busy.pop(conn)
                try:
                    results[index] = conn.recv()
                except (EOFError, OSError):  # died on this file
                    process.join()
                    results[index] = _crashed(paths[index], process.exitcode)
                    conn.close()
                    conn, process = start()
                feed(conn, process)
            while next_index in results:
                yield results.pop(next_index)
                next_index += 1
    finally:
        for conn, (process, _) in list(busy.items()):
            process.kill()
            conn.close()


def _worker(conn) -> None:  # noqa: ANN001 - a batch worker process: one path in, one result out
    while True:
        try:
            path = conn.recv()
        except EOFError:  # the batch is gone
            return
        if path is None:
            return
        conn.send(_convert_one(path))


def _stop(conn, process) -> None:  # noqa: ANN001
    try:
        conn.send(None)
    except OSError:
        pass
    conn.close()
    process.join(timeout=5)


def _crashed(path: str, exitcode: int | None) -> tuple:
    """The result of a file whose worker process died while converting it."""
    if exitcode is not None and exitcode < 0:
        try:
            how = f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"killed by signal {-exitcode}"
        if exitcode == -signal.SIGKILL:
            how += ", out of memory?"
    else:
        how = f"exit code {exitcode}"
    message = f"the converter's process died on this file ({how}); the other files are not affected"
    report = {"path": path, "status": "failed", "dags": [], "findings": [{"code": "IX999", "line": 0, "message": message}]}
    return path, "", "", "failed", True, report


def _unified_diff(source: str, output: str, old_label: str, new_label: str):
    """``diff -u`` of two texts as diff tools split lines (at ``\\n`` only: a CRLF line keeps its
    ``\\r``, a form feed does not split a line), so that ``git apply`` or ``patch`` gives the output."""
    for line in difflib.unified_diff(_lines(source), _lines(output), old_label, new_label):
        yield line
        if not line.endswith("\n"):
            yield "\n\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _write_stdout(text: str) -> None:
    """``text`` to stdout as UTF-8 bytes: line endings and characters as they are."""
    console.write_stdout(text)


def _ledger_text(reports: list[dict], summary: dict, shown: dict[int, set[int]], level: int, tasks: bool) -> str:
    """Per DAG its tasks and per file its findings (when ``tasks``), then the summary line.

    Tasks of one source line with the same disposition (a loop unrolled) and findings repeated
    at one line are folded into one line with a count, unless --verbose; a finding already
    printed (a file's error) is not repeated."""
    folding = level < console.VERBOSE
    lines = []
    for index, report in enumerate(reports):
        if not tasks:
            continue
        for dag in report["dags"]:
            lines.append(f"DAG {dag['dag_id']} ({report['path']}):")
            limit = console.REPEAT_LIMIT if folding else len(dag["tasks"])
            for first, group in console.fold(dag["tasks"], key=lambda t: (t["disposition"], t["operator"], t["line"]), limit=limit):
                where = f"({first['operator']}, line {first['line']})"
                if len(group) > 1:
                    ids = ", ".join(t["task_id"] for t in group[:3]) + f", ... {group[-1]['task_id']}"
                    lines.append(f"  {first['disposition']:<9} {len(group)} tasks {ids} {where}")
                else:
                    lines.append(f"  {first['disposition']:<9} {first['task_id']} {where}")
        findings = [f for i, f in enumerate(report["findings"]) if i not in shown.get(index, ())]
        limit = console.REPEAT_LIMIT if folding else len(findings)
        for first, group in console.fold(findings, key=lambda f: (f["code"], f["line"]), limit=limit):
            where = f" line {first['line']}" if first["line"] else ""
            count = f" x{len(group)}" if len(group) > 1 else ""
            more = f" (and {len(group) - 1} more like it; --verbose lists each)" if len(group) > 1 else ""
            lines.append(f"  {first['code']}{count}{where}: {_first_line(first['message'], level)}{more}")
    t = summary["tasks"]
    lines.append(
        f"{summary['files']} file(s): {summary['converted']} converted, {summary['partial']} partial, "
        f"{summary['skipped']} skipped, {summary['failed']} failed; tasks: {t['converted']} converted, "
        f"{t['shimmed']} shimmed, {t['manual']} manual"
    )
    return "\n".join(lines) + "\n"
