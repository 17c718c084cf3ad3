"""``interop convert PATH... [--out DIR | --in-place] [--diff] [--check] [--report FILE]``."""

from __future__ import annotations

import difflib
import json
import multiprocessing
import os
import signal
import sys
import tempfile
from multiprocessing.connection import wait
from pathlib import Path

import click

from interop.ledger import summarize

EXIT_OK, EXIT_MANUAL, EXIT_ERROR = 0, 1, 2
PARALLEL_THRESHOLD = 16


def discover(paths: tuple[str, ...]) -> list[tuple[Path, Path]]:
    """(file, path relative to its argument) for every .py file under the arguments."""
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*.py")):
                if any(part.startswith(".") or part == "__pycache__" for part in f.relative_to(p).parts):
                    continue
                found.append((f, f.relative_to(p)))
        else:
            found.append((p, Path(p.name)))
    return found


def _convert_one(path: str):  # runs in worker processes too
    from converters import convert_file

    result = convert_file(path)
    result.dags = result.dags  # the model is picklable: plain dataclasses and libcst nodes
    return path, result.source, result.output, result.status, result.error, result.report()


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:  # line endings as they are
            fh.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write flows under DIR, mirroring the input paths.")
@click.option("--in-place", is_flag=True, help="Rewrite the DAG files themselves (atomically).")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of each change.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any file would change.")
@click.option("--report", "report_file", type=click.Path(dir_okay=False), help="Write the JSON ledger to FILE.")
@click.option("-j", "--jobs", type=int, default=0, help="Worker processes for batches (default: every core).")
def convert(paths, out_dir, in_place, show_diff, check, report_file, jobs):
    """Convert Airflow DAG files to Prefect 3 flows.

    One file with no --out/--in-place prints the flow to stdout. The ledger (every task:
    converted, shimmed or manual) goes to stderr and, with --report, to a JSON file.

    Exit codes: 0 everything converted (or no DAG), 1 some task needs a hand or --check found
    changes, 2 a file could not be read or parsed.
    """
    if out_dir and in_place:
        raise click.UsageError("--out and --in-place are exclusive")
    files = discover(paths)
    missing = [str(f) for f, _ in files if not f.exists()]
    to_stdout = not (out_dir or in_place or check or show_diff)
    if to_stdout and len(files) > 1:
        raise click.UsageError("several files: give --out DIR or --in-place (or --check / --diff)")
    results = _run([str(f) for f, _ in files], jobs)
    err = click.get_text_stream("stderr")
    exit_code = EXIT_OK
    changed_any = False
    reports = []
    total = len(files)
    for i, ((path, rel), (_, source, output, status, error, report)) in enumerate(zip(files, results), 1):
        reports.append(report)
        if error:
            exit_code = EXIT_ERROR
        elif status in ("partial", "failed") and exit_code == EXIT_OK:
            exit_code = EXIT_MANUAL
        changed = status in ("converted", "partial") and output != source
        changed_any |= changed
        if total > 1:
            err.write(f"[{i}/{total}] {path}: {status}\n")
        for f in report["findings"]:
            if f["code"] in ("IX001", "IX002", "IX003", "IX004", "IX005", "IX999") or status == "failed":
                err.write(f"{path}:{f['line']}: {f['code']} {f['message']}\n")
        if show_diff and changed:
            _write_stdout("".join(_unified_diff(source, output, path)))
        if check:
            continue
        if to_stdout:
            if status in ("converted", "partial"):
                _write_stdout(output)
            continue
        if in_place and changed:
            _atomic_write(path, output)
        elif out_dir and status in ("converted", "partial", "skipped") and not error:
            target = Path(out_dir) / rel
            if target.resolve() == path.resolve():
                err.write(f"{path}: --out would overwrite the input; not written\n")
                exit_code = EXIT_ERROR
                continue
            _atomic_write(target, output)
    summary = summarize(reports)
    for f in missing:
        err.write(f"{f}: no such file\n")
    err.write(_ledger_text(reports, summary, verbose=total == 1))
    if report_file:
        Path(report_file).parent.mkdir(parents=True, exist_ok=True)
        Path(report_file).write_text(json.dumps({"files": reports, "summary": summary}, indent=2) + "\n", encoding="utf-8")
    if check and changed_any and exit_code == EXIT_OK:
        exit_code = EXIT_MANUAL
    sys.exit(exit_code)


def _run(paths: list[str], jobs: int):
    if len(paths) < PARALLEL_THRESHOLD or jobs == 1:
        return [_convert_one(p) for p in paths]
    return _run_workers(paths, max(1, min(jobs or os.cpu_count() or 1, len(paths))))


def _run_workers(paths: list[str], workers: int) -> list[tuple]:
    """Convert ``paths`` in worker processes, one file at a time each: a worker that dies (a
    crash in native code, the out-of-memory killer) costs only the file it was converting,
    which is reported ``failed``; a new worker takes its place."""
    context = multiprocessing.get_context()
    results: list[tuple | None] = [None] * len(paths)
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
    finally:
        for conn, (process, _) in list(busy.items()):
            process.kill()
            conn.close()
    return results  # type: ignore[return-value]


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


def _unified_diff(source: str, output: str, path: str):
    """``diff -u`` of two texts as diff tools split lines (at ``\\n`` only: a CRLF line keeps its
    ``\\r``, a form feed does not split a line), so that ``git apply`` or ``patch`` gives the output."""
    for line in difflib.unified_diff(_lines(source), _lines(output), f"a/{path}", f"b/{path}"):
        yield line
        if not line.endswith("\n"):
            yield "\n\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def _write_stdout(text: str) -> None:
    """``text`` to stdout as UTF-8 bytes: line endings and characters as they are."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8"))
    buffer.flush()


def _ledger_text(reports: list[dict], summary: dict, verbose: bool) -> str:
    lines = []
    for report in reports:
        for dag in report["dags"]:
            if verbose:
                lines.append(f"DAG {dag['dag_id']} ({report['path']}):")
                for t in dag["tasks"]:
                    lines.append(f"  {t['disposition']:<9} {t['task_id']} ({t['operator']}, line {t['line']})")
        if verbose:
            for f in report["findings"]:
                lines.append(f"  {f['code']} line {f['line']}: {f['message']}")
    t = summary["tasks"]
    lines.append(
        f"{summary['files']} file(s): {summary['converted']} converted, {summary['partial']} partial, "
        f"{summary['skipped']} skipped, {summary['failed']} failed; tasks: {t['converted']} converted, "
        f"{t['shimmed']} shimmed, {t['manual']} manual"
    )
    return "\n".join(lines) + "\n"
