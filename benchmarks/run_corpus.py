"""Sweep ``interop run`` over a folder of DAG files and classify each outcome.

Usage::

    python benchmarks/run_corpus.py DIR [--jobs 2] [--timeout 60] [--out results.json] [--root DIR] [--only NAME ...]

Each file (and, for a file with several DAGs, each DAG id) runs in a fresh subprocess with its own
temporary ``AIRFLOW_HOME``::

    .venv/bin/interop run FILE --no-daemon --logical-date 2024-01-01 --json OUT [--dag-id ID]

and ends as one of:

* ``ran:success`` / ``ran:failed``: the run happened (exit 0 or 1, JSON written). A task failing
  on a missing database, cloud or connection is a run, not a bug. ``not_run`` counts the tasks
  the logical date left out (their ``start_date`` is later, as in Airflow).
* ``bad_input:<kind>``: exit 2 with a one-line ``error:`` message, ``kind`` read from the message
  (``syntax_error``, ``unbridgeable``, ``missing_provider``, ``missing_module``,
  ``removed_airflow_name``, ``variable``, ``connection``, ``no_dag``, ``operator_arguments``,
  ``import_error``, ``other``).
* ``traceback``: a Python traceback reached the user outside a task's log (a bug in our code),
  or the exit code was none of 0, 1, 2.
* ``timeout``: the run did not end within the timeout.

No DAG file is embedded here: the folder is given on the command line. The summary goes to
stdout; ``--out`` writes every file's outcome and message as JSON.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTEROP = ROOT / ".venv" / "bin" / "interop"

#: (kind, pattern on the ``error:`` message), first match wins.
BAD_INPUT_KINDS: list[tuple[str, str]] = [
    ("syntax_error", r"syntax error"),
    ("unbridgeable", r"cannot run under Airflow 3"),
    ("missing_provider", r"needs the provider package"),
    ("missing_module", r"needs the module|No module named"),
    ("removed_airflow_name", r"was removed in Airflow 3|does not exist in Airflow 3|from Airflow 3's"),
    ("variable", r"Airflow Variable"),
    ("connection", r"Airflow connection"),
    ("no_dag", r"Found DAGs: \[\]"),
    ("operator_arguments", r"TypeError|ValueError|Invalid arguments"),
    ("import_error", r"failed to import|cannot import|ImportError|Error:"),
]

SEVERAL_DAGS = re.compile(r"defines several DAGs; choose one with --dag-id\. Found DAGs: (\[.*\])")


def _kind(message: str) -> str:
    for kind, pattern in BAD_INPUT_KINDS:
        if re.search(pattern, message):
            return kind
    return "other"


def run_one(path: Path, dag_id: str | None, timeout: float, root: Path | None = None) -> dict:
    """One ``interop run`` of ``path`` in a fresh subprocess; its classified outcome.

    ``root``: run the project's code from this folder (e.g. an exported older commit) instead of
    the installed one, to measure a before/after.
    """
    with tempfile.TemporaryDirectory(prefix="run-corpus-") as home:
        out = Path(home) / "out.json"
        interop = [str(INTEROP)] if root is None else [str(INTEROP.parent / "python"), "-m", "interop.cli"]
        cmd = [*interop, "run", str(path), "--no-daemon", "--logical-date", "2024-01-01", "--json", str(out)]
        if dag_id is not None:
            cmd += ["--dag-id", dag_id]
        env = {**os.environ, "AIRFLOW_HOME": home, "PREFECT_HOME": str(Path(home) / "prefect")}
        env.pop("INTEROP_AIRFLOW_PYTHON", None)
        if root is not None:
            env["PYTHONPATH"] = str(root)
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=home, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return {"file": path.name, "dag_id": dag_id, "outcome": "timeout", "message": f"no end within {timeout:.0f} s", "seconds": timeout}
        seconds = round(time.monotonic() - start, 1)
        stderr = proc.stderr
        errors = [line[len("error: "):] for line in stderr.splitlines() if line.startswith("error: ")]
        result = {"file": path.name, "dag_id": dag_id, "exit": proc.returncode, "seconds": seconds}
        if proc.returncode in (0, 1) and out.exists():
            payload = json.loads(out.read_text())
            states = collections.Counter(t.get("state") for t in payload.get("tasks", {}).values())
            result.update(outcome=f"ran:{payload.get('state')}", message=dict(states))
            left_out = re.search(r"^note: (\d+) task\(s\) did not run on this logical date", stderr, re.M)
            if left_out:  # tasks whose start_date is after the logical date (as in Airflow)
                result["not_run"] = int(left_out.group(1))
            if payload.get("error"):
                result["message"] = {"states": dict(states), "error": str(payload["error"])[:300]}
        elif proc.returncode == 2 and errors and "Traceback (most recent call last)" not in stderr:
            result.update(outcome=f"bad_input:{_kind(errors[-1])}", message=errors[-1][:400])
        else:
            result.update(outcome="traceback", message=stderr[-1500:])
        return result


def run_file(path: Path, timeout: float, root: Path | None = None) -> list[dict]:
    """Every DAG of one file (a second pass per DAG id when the file has several)."""
    first = run_one(path, None, timeout, root)
    match = SEVERAL_DAGS.search(str(first.get("message", "")))
    if first["outcome"].startswith("bad_input") and match:
        try:
            ids = json.loads(match.group(1).replace("'", '"'))
        except json.JSONDecodeError:
            return [first]
        return [run_one(path, dag_id, timeout, root) for dag_id in ids]
    return [first]


def main(argv: list[str] | None = None) -> int:
    """Run the sweep and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--root", type=Path, default=None, help="run the project's code from this folder (an exported commit)")
    parser.add_argument("--only", nargs="*", default=None, help="file names to run (default: all .py files)")
    args = parser.parse_args(argv)
    files = sorted(p for p in args.folder.glob("*.py") if args.only is None or p.name in args.only)
    results: list[dict] = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for rows in pool.map(lambda p: run_file(p, args.timeout, args.root), files):
            for row in rows:
                results.append(row)
                print(f"{row['outcome']:<28} {row['file']}{' :: ' + row['dag_id'] if row['dag_id'] else ''}  {str(row.get('message', ''))[:160]!s}", flush=True)
    by_file = collections.Counter()
    for name in {r["file"] for r in results}:
        outcomes = [r["outcome"] for r in results if r["file"] == name]
        by_file[outcomes[0] if len(set(outcomes)) == 1 else "mixed"] += 1
    counts = collections.Counter(r["outcome"] for r in results)
    print(f"\n{len(files)} files, {len(results)} runs")
    for outcome, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:4d}  {outcome}")
    dated = sum(1 for r in results if r.get("not_run"))
    print(f"  ({dated} of the runs left tasks out: start_date after the logical date)")
    if args.out:
        args.out.write_text(json.dumps({"counts": dict(counts), "files": dict(by_file), "runs": results}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
