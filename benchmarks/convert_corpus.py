"""Sweep the converter over a folder of DAG files and count what happens to each.

For every ``*.py`` under the folders given (recursively), runs ``converters.convert_file`` and
classifies the file:

- ``crash``: an internal error inside the converter (finding IX999, or an exception escaping
  ``convert_file``), which is always a converter bug;
- its status: ``converted``, ``partial``, ``skipped`` or ``failed`` (a crash is also ``failed``);
- whether the output compiles (``compile()``), for converted and partial files;
- whether the output is idempotent: converting it again gives no DAG (skipped) or the same text;
- the ``# interop: TODO(CODE)`` markers left in the output, and the findings, by code.

- dangling names: global names the output reads but never binds (and the source did bind), such
  as a DAG variable the flow replaced; these fail when the flow module is imported or run;
- with ``--airflow-python PY`` (an interpreter with Airflow installed, e.g. an Airflow 2 venv):
  for every file that imports there, whether the converter's tasks and edges per DAG equal the
  ones Airflow builds (``graph-mismatch`` otherwise; files that do not import are not compared).

    python benchmarks/convert_corpus.py DIR [DIR ...] [--json FILE] [--list CLASS] [--airflow-python PY]

``--list crash`` (or ``failed``, ``partial``, ``non-compiling``, ``non-idempotent``,
``dangling-names``, ``graph-mismatch``) prints the files in that class with their first relevant finding. Nothing is
written next to the corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from converters import convert_file, convert_source  # noqa: E402
from converters.imports import unbound_globals  # noqa: E402

_MARKER = re.compile(r"# interop: TODO\((IX\d+)\)")


def classify(path: Path) -> dict:
    """Convert one file and return its classification (never raises)."""
    row: dict = {"path": str(path), "crash": False, "compiles": None, "idempotent": None, "markers": {}, "findings": {}}
    try:
        result = convert_file(str(path))
    except Exception as exc:  # noqa: BLE001 - an escaping exception is itself the finding
        row.update(status="failed", crash=True, detail=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}")
        return row
    row["status"] = result.status
    row["findings"] = dict(Counter(f.code for f in result.findings))
    crash = [f for f in result.findings if f.code == "IX999"]
    if crash:
        row.update(crash=True, detail=crash[0].message)
    elif result.status == "failed":
        first = result.findings[0] if result.findings else None
        row["detail"] = f"{first.code} line {first.line}: {first.message}" if first else ""
    if result.status in ("converted", "partial"):
        row["markers"] = dict(Counter(_MARKER.findall(result.output)))
        try:
            compile(result.output, str(path), "exec")
            row["compiles"] = True
        except SyntaxError as exc:
            row.update(compiles=False, detail=f"line {exc.lineno}: {exc.msg}")
        before, after = unbound_globals(result.source), unbound_globals(result.output)
        if before is not None and after is not None and after - before:
            row["dangling"] = sorted(after - before)
        try:
            again = convert_source(result.output, str(path))
            row["idempotent"] = again.status == "skipped" or again.output == result.output
            if not row["idempotent"]:
                row["detail"] = f"second pass: {again.status} {[f.code for f in again.findings][:5]}"
        except Exception as exc:  # noqa: BLE001
            row.update(idempotent=False, detail=f"second pass raised {type(exc).__name__}: {exc}")
    return row


#: run by the Airflow interpreter: one JSON line per file, {dag_id: {"tasks": [...], "edges": [...]}}
_AIRFLOW_GRAPHS = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from airflow.models.dagbag import DagBag
for path in sys.argv[1:]:
    try:
        bag = DagBag(dag_folder=path, include_examples=False, safe_mode=False)
        if bag.import_errors:
            raise ImportError(next(iter(bag.import_errors.values())).splitlines()[-1])
        out = {k: {"tasks": sorted(d.task_ids), "edges": sorted([u, t.task_id] for t in d.tasks for u in t.upstream_task_ids)}
               for k, d in bag.dags.items() if not getattr(d, "is_subdag", False)}
    except BaseException as exc:  # noqa: BLE001
        out = {"__error__": f"{type(exc).__name__}: {exc}"[:200]}
    print(json.dumps(out), flush=True)
"""


def airflow_graphs(files: list[Path], python: str) -> list[dict]:
    """Each file's DAG graphs as Airflow builds them (``{"__error__": ...}`` when it does not import)."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        proc = subprocess.run([python, "-c", _AIRFLOW_GRAPHS, *map(str, files)], capture_output=True, text=True, env=env, timeout=1800)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if len(lines) != len(files):
        sys.exit(f"the Airflow interpreter answered for {len(lines)} of {len(files)} files:\n{proc.stderr[-2000:]}")
    return lines


def compare_graph(row: dict, path: Path, truth: dict) -> None:
    """Set ``row["graph"]``: ``same``, ``not-imported`` or ``mismatch`` (with the difference)."""
    if "__error__" in truth:
        row["graph"] = "not-imported"
        return
    result = convert_file(str(path))
    ours = {d.dag_id: {"tasks": sorted(d.tasks), "edges": sorted(list(e) for e in d.edge_set())} for d in result.dags}
    if result.status in ("failed", "skipped") or ours == truth:
        row["graph"] = "same" if ours == truth else "not-converted"
        return
    row["graph"] = "mismatch"
    diffs = []
    for dag_id in sorted(set(ours) | set(truth)):
        a, b = ours.get(dag_id, {"tasks": [], "edges": []}), truth.get(dag_id, {"tasks": [], "edges": []})
        for key in ("tasks", "edges"):
            only_ours = [x for x in a[key] if x not in b[key]]
            only_airflow = [x for x in b[key] if x not in a[key]]
            if only_ours or only_airflow:
                diffs.append(f"{dag_id} {key}: converter only {only_ours[:4]}, Airflow only {only_airflow[:4]}")
    row["detail"] = "; ".join(diffs)


def summary(rows: list[dict]) -> dict:
    """Counts over the classified rows."""
    markers: Counter = Counter()
    findings: Counter = Counter()
    for r in rows:
        markers.update(r["markers"])
        findings.update(r["findings"])
    return {
        "files": len(rows),
        "crash": sum(r["crash"] for r in rows),
        **{s: sum(r["status"] == s for r in rows) for s in ("converted", "partial", "skipped", "failed")},
        "non-compiling": sum(r["compiles"] is False for r in rows),
        "non-idempotent": sum(r["idempotent"] is False for r in rows),
        "dangling-names": sum(bool(r.get("dangling")) for r in rows),
        **({"graph-compared": sum(r["graph"] in ("same", "mismatch") for r in rows),
            "graph-mismatch": sum(r["graph"] == "mismatch" for r in rows),
            # a mismatch in a file reported as fully converted: nothing told the user
            "graph-mismatch-unreported": sum(r["graph"] == "mismatch" and r["status"] == "converted" for r in rows)}
           if any("graph" in r for r in rows) else {}),
        "markers": dict(markers.most_common()),
        "findings": dict(findings.most_common()),
    }


def _in_class(row: dict, name: str) -> bool:
    if name == "crash":
        return row["crash"]
    if name == "non-compiling":
        return row["compiles"] is False
    if name == "non-idempotent":
        return row["idempotent"] is False
    if name == "dangling-names":
        return bool(row.get("dangling"))
    if name == "graph-mismatch":
        return row.get("graph") == "mismatch"
    return row["status"] == name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write every row and the summary as JSON")
    parser.add_argument("--list", action="append", default=[], help="print the files of a class")
    parser.add_argument("--airflow-python", help="an interpreter with Airflow, to compare task graphs")
    args = parser.parse_args(argv)
    files = sorted(p for d in args.dirs for p in (d.rglob("*.py") if d.is_dir() else [d]) if "__pycache__" not in p.parts)
    if not files:
        parser.error(f"no *.py files under {', '.join(map(str, args.dirs))}")
    rows = [classify(p) for p in files]
    if args.airflow_python:
        for row, path, truth in zip(rows, files, airflow_graphs(files, args.airflow_python)):
            compare_graph(row, path, truth)
    counts = summary(rows)
    for name in args.list:
        for r in rows:
            if _in_class(r, name):
                print(f"{name}: {r['path']}: {r.get('dangling') or r.get('detail', '')}".rstrip())
    print(json.dumps(counts, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"summary": counts, "files": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
