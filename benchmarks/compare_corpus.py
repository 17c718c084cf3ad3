"""``interop compare`` over every shared-corpus DAG that loads and converts; classify each DAG.

Usage::

    python benchmarks/compare_corpus.py [--corpus ~/.cache/interop-corpus] [--spec ../shared/corpus]
        [--set af3|af2|all] [--timeout 60] [--jobs 2] [--json results.json] [--only SUBSTRING ...]
        [--resume EARLIER.json ... [--rerun different error]]

Which files: every corpus file Airflow loads (``GRAPH_AF3.jsonl``: run with this venv's Airflow 3.3;
else ``GRAPH_AF2.jsonl``: run in ``.venv-airflow2`` through ``--airflow-python``) and that
``interop convert`` converts (``converted`` or ``partial``). Each is compared from its tree copy
(``LOADSPEC.jsonl``: the repository layout, with its ``sys.path`` folders as ``PYTHONPATH``);
the files of one repository (same ``sys.path``) go to one ``interop compare`` command::

    interop compare FILE... --timeout T --jobs J --out DIR [--airflow-python PY] [--logical-date D]

Each DAG ends as ``equivalent``, ``different`` (with its first difference) or ``error`` (it cannot
run offline or the comparison could not be made: network, missing connection or variable,
provider not installed, time-out ...; with the reason, reduced to a kind). The table goes to
stdout, every DAG's outcome to ``--json``. No corpus file is copied or kept here.

A sweep of the whole corpus takes hours; ``--resume`` carries the rows of earlier ``--json`` files
(each row keeps ``"from"``: the file it came from) and compares only the files they do not cover,
or whose DAGs ended with an outcome named by ``--rerun``. The ``--json`` is written after every
repository, so a stopped sweep resumes from it.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTEROP = ROOT / ".venv" / "bin" / "interop"
AIRFLOW2_PYTHON = ROOT / ".venv-airflow2" / "bin" / "python"
SPEC = ROOT.parent / "shared" / "corpus"
CORPUS = Path.home() / ".cache" / "interop-corpus"

#: (kind, pattern on an error reason), first match wins
ERROR_KINDS: list[tuple[str, str]] = [
    ("no_task_ran", r"ran no task of DAG"),  # start_date after the logical date (datetime.now() ...)
    # a task failed offline, then waited to retry (the 2.11 sidecar names its last task's state)
    ("retry_delay", r"waited \d+ s \(a retry delay or a sensor|timed out.*(up_for_retry|up_for_reschedule)"),
    ("timeout", r"timed out|not run: the worker was stopped"),
    ("connection", r"[Cc]onnection\b.*(not defined|isn't defined|not found)|conn_id|AirflowNotFoundException"),
    ("variable", r"Variable|KeyError: 'Variable"),
    ("network", r"Name or service not known|Temporary failure in name resolution|Failed to establish|Connection refused|ConnectError|getaddrinfo|Max retries exceeded|NewConnectionError|unreachable"),
    ("provider", r"provider|No module named 'airflow\.providers"),
    ("module", r"No module named|ModuleNotFoundError|ImportError"),
    ("not_converted", r"did not convert|not converted|no flow named|left to a hand|manual"),
    ("file", r"FileNotFoundError|No such file|PermissionError"),
    ("dag_failed", r"failed|Error"),
]


def error_kind(reason: str) -> str:
    for kind, pattern in ERROR_KINDS:
        if re.search(pattern, reason or ""):
            return kind
    return "other"


def difference_kind(diff: str) -> str:
    """The shape of a difference, without task names and values (``value X: values differ``)."""
    text = re.sub(r"'[^']*'", "'…'", diff)
    text = re.sub(r"^(value|state|task|edge)\s+\S+", r"\1 …", text)
    text = re.sub(r"\(.*\)$", "", text).strip()
    return text[:90]


OFFLINE_KINDS = ("network", "connection", "variable", "provider", "module")


def _offline_failure(report: Path, reason: str = "") -> str | None:
    """The first task failure (either side) that says the DAG cannot run offline, from a DAG's report."""
    if error_kind(reason) in OFFLINE_KINDS:
        return reason
    try:
        states = json.loads(report.read_text(encoding="utf-8")).get("states") or []
    except (OSError, ValueError):
        return None
    for st in states:
        detail = str(st.get("detail") or "") if isinstance(st, dict) else ""
        if detail and error_kind(detail) in OFFLINE_KINDS:
            return f"task {st.get('task_id')!r} ({st.get('airflow')} / {st.get('prefect')}): {detail[:300]}"
    # a task that failed on the network on either side, whose downstream the other side then never
    # reached (the first difference is then a task missing, not a state)
    try:
        runs = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for side in ("airflow", "prefect"):
        run = runs.get(side) if isinstance(runs.get(side), dict) else {}
        for task_id, task in sorted((run.get("tasks") or {}).items()):
            detail = str((task or {}).get("error") or "")
            if detail and error_kind(detail) in OFFLINE_KINDS:
                return f"task {task_id!r} failed in {side}: {detail[:300]}"
    return None


def _manual_codes(report: Path) -> list[str]:
    """The IX codes of the DAG's findings that account for a difference: those that need a hand
    (``converters.codes``: "yes ...") and the run differences ``converters.run_semantics`` lists
    (IX209: a task changing its upstream's value in place, which needs no hand where it does not matter)."""
    sys.path.insert(0, str(ROOT))
    from converters import run_semantics
    from converters.codes import CODES
    from converters.rules import Rule

    listed = {code for rule in vars(run_semantics).values()
              if isinstance(rule, type) and issubclass(rule, Rule) and rule is not Rule for code in rule.CODES}

    try:
        findings = json.loads(report.read_text(encoding="utf-8")).get("findings") or []
    except (OSError, ValueError):
        return []
    codes = {str(f).split()[0] for f in findings if str(f).startswith("IX")}
    # IX110 (an Airflow import the flow still reads) says nothing about what the flow does
    return sorted(c for c in codes if c != "IX110" and (c in listed or str(CODES.get(c, ("", ""))[1]).startswith("yes")))


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def select(spec: Path, which: str) -> list[dict]:
    """Corpus files that load: ``{"local_file", "tree_file", "tree_base", "syspath", "airflow", "dags"}``."""
    loads = {}
    for version, name in (("af3", "GRAPH_AF3.jsonl"), ("af2", "GRAPH_AF2.jsonl")):
        for row in _jsonl(spec / name):
            if not row["import_error"] and row["dags"] and row["local_file"] not in loads:
                loads[row["local_file"]] = (version, [d["dag_id"] for d in row["dags"]])
    out = []
    for row in _jsonl(spec / "LOADSPEC.jsonl"):
        hit = loads.get(row["local_file"])
        if hit and which in ("all", hit[0]):
            out.append({**row, "airflow": hit[0], "dags": hit[1]})
    return out


def convert_status(corpus: Path, files: list[dict], jobs: int) -> dict[str, str]:
    """``interop convert``'s status per tree file (``converted``/``partial``/``failed``...)."""
    # two inputs of one name cannot share an --out folder (convert refuses the batch): one batch
    # per repeat of a name
    batches: list[dict[str, str]] = []
    for f in files:
        path = str(corpus / f["tree_file"])
        batch = next((b for b in batches if Path(path).name not in b), None)
        if batch is None:
            batches.append(batch := {})
        batch[Path(path).name] = path
    status = {}
    for batch in batches:
        with tempfile.TemporaryDirectory(prefix="compare-corpus-convert-") as tmp:
            report = Path(tmp) / "report.json"
            subprocess.run([str(INTEROP), "convert", *batch.values(), "--out", str(Path(tmp) / "out"), "--report", str(report),
                            "-j", str(jobs)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp, check=False)
            if not report.exists():
                print(f"interop convert wrote no report for {len(batch)} files", file=sys.stderr, flush=True)
                continue
            for f in json.loads(report.read_text(encoding="utf-8"))["files"]:
                status[str(Path(f["path"]).resolve())] = f["status"]
    return status


def compare_group(corpus: Path, group: list[dict], args: argparse.Namespace, out: Path) -> list[dict]:
    """One ``interop compare`` for the files of one repository and ``sys.path``; a row per DAG."""
    first = group[0]
    base = corpus / first["tree_base"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(base / p) if p else str(base) for p in first["syspath"])}
    cmd = [str(INTEROP), "compare", *[str(corpus / f["tree_file"]) for f in group], "--timeout", str(args.timeout),
           "--jobs", str(args.jobs), "--out", str(out)]
    if args.logical_date:
        cmd += ["--logical-date", args.logical_date]
    if first["airflow"] == "af2":
        cmd += ["--airflow-python", str(AIRFLOW2_PYTHON)]
    shutil.rmtree(out, ignore_errors=True)  # no summary of an earlier run read as this one's
    started = time.monotonic()
    limit = 240 + args.timeout * sum(max(1, len(f["dags"])) for f in group) * 2 / max(1, args.jobs)
    try:
        proc = subprocess.run(cmd, cwd=base, env=env, capture_output=True, text=True, timeout=limit, check=False)
        tail = (proc.stderr or "").strip().splitlines()[-3:]
    except subprocess.TimeoutExpired:
        tail = [f"the whole compare command took more than {limit:.0f} s"]
    summary = out / "summary.json"
    rows = json.loads(summary.read_text(encoding="utf-8"))["dags"] if summary.exists() else []
    by_file: dict[str, list[dict]] = collections.defaultdict(list)
    for r in rows:
        by_file[str(Path(r["file"]).resolve() if Path(r["file"]).is_absolute() else (base / r["file"]).resolve())].append(r)
    results = []
    for f in group:
        seen = by_file.get(str((corpus / f["tree_file"]).resolve()), [])
        for r in seen:
            diffs = r.get("differences") or []
            if r.get("error"):
                outcome, reason = "error", r["error"]
            elif r.get("equivalent"):
                outcome, reason = "equivalent", ""
            else:
                outcome, reason = "different", (diffs[0] if diffs else r.get("verdict", ""))
                offline = _offline_failure(out / (r.get("report") or "").replace(".html", ".json"), str(reason))
                if offline:  # a task failed on the network, a connection or a variable: not a difference
                    outcome, reason = "error", offline
            results.append({"file": f["local_file"], "airflow": f["airflow"], "dag_id": r["dag_id"], "outcome": outcome,
                            "manual": _manual_codes(out / (r.get("report") or "").replace(".html", ".json")),
                            "reason": str(reason), "kind": error_kind(str(reason)) if outcome == "error" else
                            difference_kind(str(reason)) if outcome == "different" else "",
                            "differences": diffs, "report": str(out / (r.get("report") or ""))})
        if not seen:
            reason = " / ".join(tail) or "no comparison written"
            results.append({"file": f["local_file"], "airflow": f["airflow"], "dag_id": None, "outcome": "error",
                            "reason": reason, "kind": error_kind(reason), "differences": [], "report": ""})
    print(f"  {first['tree_base']} ({first['airflow']}, {len(group)} files): {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return results


def resumed(earlier: list[Path], wanted: set[str], rerun: set[str]) -> list[dict]:
    """The rows of earlier ``--json`` files for the ``wanted`` files, the newest file first; a file
    with a DAG whose outcome is in ``rerun`` is left out (compared again)."""
    by_file: dict[str, list[dict]] = {}
    for path in reversed(earlier):
        rows = json.loads(path.read_text(encoding="utf-8"))["results"]
        mine: dict[str, list[dict]] = collections.defaultdict(list)
        for r in rows:
            if r["file"] in wanted and r["file"] not in by_file:
                mine[r["file"]].append({**r, "from": r.get("from") or str(path)})
        by_file.update(mine)
    return [r for rows in by_file.values() if not any(r["outcome"] in rerun for r in rows) for r in rows]


def table(results: list[dict]) -> str:
    lines = []
    for version in ("af3", "af2"):
        rows = [r for r in results if r["airflow"] == version]
        if not rows:
            continue
        counts = collections.Counter(r["outcome"] for r in rows)
        name = {"af3": "Airflow 3.3", "af2": "Airflow 2.11 (sidecar)"}[version]
        lines.append(f"{name}: {len(rows)} DAGs: equivalent {counts['equivalent']}, different {counts['different']}, error {counts['error']}")
        flagged = sum(1 for r in rows if r["outcome"] == "different" and r.get("manual"))
        lines.append(f"  different with a finding (IX..., needing a hand or a listed run difference): {flagged}; "
                     f"without: {counts['different'] - flagged}")
        for outcome in ("different", "error"):
            kinds = collections.Counter(r["kind"] for r in rows if r["outcome"] == outcome)
            for kind, n in kinds.most_common():
                lines.append(f"  {outcome:<9} {n:>4}  {kind}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--spec", type=Path, default=SPEC)
    ap.add_argument("--set", choices=["af3", "af2", "all"], default="all")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--logical-date", help="of both runs (default: compare's own, now: a fixed date before a DAG's start_date runs no task)")
    ap.add_argument("--json", type=Path, help="write every DAG's outcome here")
    ap.add_argument("--out", type=Path, help="keep the compare reports here (default: a temporary folder)")
    ap.add_argument("--only", nargs="*", default=[], help="only files whose local_file contains one of these")
    ap.add_argument("--resume", type=Path, nargs="*", default=[],
                    help="earlier --json files: their files' rows are carried over, those files not compared again")
    ap.add_argument("--rerun", nargs="*", default=[], choices=["equivalent", "different", "error"],
                    help="with --resume: compare again the files with a DAG of these outcomes")
    ap.add_argument("--reclassify", type=Path, help="re-read the reports of an earlier --json (kept with --out) and print the table")
    args = ap.parse_args(argv)
    if args.reclassify:
        results = json.loads(args.reclassify.read_text(encoding="utf-8"))["results"]
        for r in results:
            if r["outcome"] == "different" and r["report"]:
                offline = _offline_failure(Path(r["report"]).with_suffix(".json"), r["reason"])
                if offline:
                    r["outcome"], r["reason"] = "error", offline
            if r["report"]:
                r["manual"] = _manual_codes(Path(r["report"]).with_suffix(".json"))
            r["kind"] = error_kind(r["reason"]) if r["outcome"] == "error" else difference_kind(r["reason"]) if r["outcome"] == "different" else ""
        data = json.loads(args.reclassify.read_text(encoding="utf-8"))
        data.update(results=results, table=table(results))
        args.reclassify.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(data["table"])
        return 0
    corpus = args.corpus.expanduser()
    files = [f for f in select(args.spec, args.set) if not args.only or any(s in f["local_file"] for s in args.only)]
    started = time.monotonic()
    status = convert_status(corpus, files, args.jobs)
    skipped = [f for f in files if status.get(str((corpus / f["tree_file"]).resolve())) not in ("converted", "partial")]
    todo = [f for f in files if f not in skipped]
    print(f"{len(files)} files load; {len(todo)} convert (converted/partial), {len(skipped)} do not", file=sys.stderr, flush=True)
    carried = resumed(args.resume, {f["local_file"] for f in todo}, set(args.rerun))
    if carried:
        todo = [f for f in todo if f["local_file"] not in {r["file"] for r in carried}]
        print(f"{len({r['file'] for r in carried})} files carried from {', '.join(map(str, args.resume))}; "
              f"{len(todo)} to compare", file=sys.stderr, flush=True)
    groups: dict[tuple, list[dict]] = collections.defaultdict(list)
    for f in todo:
        groups[(f["airflow"], f["tree_base"], tuple(f["syspath"]))].append(f)
    results: list[dict] = list(carried)
    with tempfile.TemporaryDirectory(prefix="compare-corpus-") as tmp:
        out_root = args.out or Path(tmp)
        for i, (key, group) in enumerate(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))):  # biggest first
            results += compare_group(corpus, group, args, out_root / f"{i:03d}_{key[0]}_{Path(key[1]).name}")
            if args.json:
                args.json.write_text(json.dumps({"results": results}, indent=1) + "\n", encoding="utf-8")
    report = table(results)
    print(report)
    print(f"({len(skipped)} loading files not compared: the converter refused them; {time.monotonic() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "not_converted": [
            {"file": f["local_file"], "airflow": f["airflow"], "status": status.get(str((corpus / f["tree_file"]).resolve()))} for f in skipped
        ], "table": report}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
