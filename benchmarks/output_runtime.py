"""What does the converted code still need at run time? Issue 11's measures over a folder of DAGs.

Converts the folder (``interop convert DIR --out TMP --report TMP.json``, nothing written next to
the inputs; the converter of the tree this file is in) and prints, for the outputs of files that
converted (``converted`` / ``partial``):

- **free where no operator is shimmed**: of the outputs whose ledger has no ``shimmed`` task, the
  share that imports neither ``airflow`` nor this project (``airflow_interop``, ``interop``, ``converters``)
  anywhere (module level or inside a function): they run with Prefect, the standard library and
  the team's own code. The same share over every output;
- the **runtime names** still imported from this project and from Airflow, with the number of
  files importing each (over every output, and over the unshimmed ones);
- **comment lines kept**: of the inputs' comments (``tokenize`` COMMENT tokens), the share that
  appears in the output (the same text, counted as a multiset per file; ``# interop:`` markers
  are the converter's and never count);
- **new ruff F401 / F821**: from ``benchmarks/output_hygiene.py`` (its ruff run, reused): outputs
  against inputs, per file, only the excess counted.

    python benchmarks/output_runtime.py [DIR] [-j 2] [--keep OUT | --report-only OUT]
        [--json FILE] [--against FILE] [--list runtime|airflow|comments|F401|F821]

``DIR`` defaults to the shared corpus (``~/.cache/interop-corpus/dags``). ``--against FILE``
prints a saved ``--json`` run beside the figures (a baseline).
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import sys
import tempfile
import tokenize
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import output_hygiene  # noqa: E402 - the hygiene benchmark's convert and ruff runs, reused

CORPUS = Path.home() / ".cache" / "interop-corpus" / "dags"
#: the top-level packages of this project (converted code importing them depends on airflow-interop)
PROJECT = ("airflow_interop", "shims", "interop", "converters")  # shims: the runtime's name before issue 11


def runtime_imports(source: str) -> tuple[set[str], set[str]] | None:
    """``(project names, airflow names)`` imported anywhere in ``source`` (``module:name``, or the
    module for ``import x``), or None when it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    project: set[str] = set()
    airflow: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top = node.module.split(".")[0]
            names = {f"{node.module}:{a.name}" for a in node.names}
            if top in PROJECT:
                project |= names
            elif top == "airflow":
                airflow |= names
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in PROJECT:
                    project.add(alias.name)
                elif top == "airflow":
                    airflow.add(alias.name)
    return project, airflow


def comments(source: str) -> Counter:
    """The file's comments (stripped text), as a multiset; ``# interop:`` markers excluded."""
    out: Counter = Counter()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT and not tok.string.startswith("# interop:"):
                out[tok.string.strip()] += 1
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def measure(folder: Path, out_dir: Path, jobs: int, convert: bool = True) -> dict:
    report_path = out_dir.parent / (out_dir.name + "-report.json")
    if convert:
        output_hygiene._convert(folder, out_dir, report_path, jobs)
    elif not report_path.exists():
        raise SystemExit(f"no {report_path}: convert with --keep {out_dir} first")
    report = json.loads(report_path.read_text())
    rows = []
    for entry in report["files"]:
        if entry["status"] not in ("converted", "partial"):
            continue
        src = Path(entry["path"]).resolve()
        dst = (out_dir / src.relative_to(folder.resolve())).resolve()
        if not dst.exists():
            continue
        shimmed = any(t["disposition"] == "shimmed" for d in entry["dags"] for t in d["tasks"])
        rows.append((src, dst, shimmed, entry["status"]))
    ruff = output_hygiene.ruff_counts([p for src, dst, _, _ in rows for p in (src, dst)])

    files: dict[str, dict] = {}
    for src, dst, shimmed, status in rows:
        rel = str(src.relative_to(folder.resolve()))
        before, after = src.read_text(encoding="utf-8"), dst.read_text(encoding="utf-8")
        found = runtime_imports(after)
        project, airflow = found if found is not None else (set(), set())
        c_in, c_out = comments(before), comments(after)
        kept = sum(min(n, c_out[text]) for text, n in c_in.items())
        files[rel] = {
            "status": status,
            "shimmed": shimmed,
            "parses": found is not None,
            "project": sorted(project),
            "airflow": sorted(airflow),
            "comments_in": sum(c_in.values()),
            "comments_kept": kept,
            "new_F401": max(0, ruff[str(dst)]["F401"] - ruff[str(src)]["F401"]),
            "new_F821": max(0, ruff[str(dst)]["F821"] - ruff[str(src)]["F821"]),
            "F401_in": ruff[str(src)]["F401"], "F401_out": ruff[str(dst)]["F401"],
            "F821_in": ruff[str(src)]["F821"], "F821_out": ruff[str(dst)]["F821"],
            "new_names": sorted(
                f"{key} (+{n - ruff[str(src)].get(key, 0)})"
                for key, n in ruff[str(dst)].items()
                if key[:5] in ("F401:", "F821:") and n > ruff[str(src)].get(key, 0)
            ),
        }
    return {"folder": str(folder), "files": files, "summary": summarize(files)}


def _free(row: dict) -> bool:
    return row["parses"] and not row["project"] and not row["airflow"]


def summarize(files: dict[str, dict]) -> dict:
    rows = list(files.values())
    unshimmed = [r for r in rows if not r["shimmed"]]
    names_all: Counter = Counter()
    names_unshimmed: Counter = Counter()
    airflow_unshimmed: Counter = Counter()
    for row in rows:
        for name in row["project"]:
            names_all[name.split(":")[-1] if ":" in name else name] += 1
            if not row["shimmed"]:
                names_unshimmed[name.split(":")[-1] if ":" in name else name] += 1
        if not row["shimmed"]:
            for name in row["airflow"]:
                airflow_unshimmed[name] += 1
    c_in = sum(r["comments_in"] for r in rows)
    c_kept = sum(r["comments_kept"] for r in rows)
    return {
        "outputs": len(rows),
        "unshimmed": len(unshimmed),
        "unshimmed free": sum(_free(r) for r in unshimmed),
        "all free": sum(_free(r) for r in rows),
        "unshimmed importing project": sum(bool(r["project"]) for r in unshimmed),
        "unshimmed importing airflow": sum(bool(r["airflow"]) for r in unshimmed),
        "all importing project": sum(bool(r["project"]) for r in rows),
        "all importing airflow": sum(bool(r["airflow"]) for r in rows),
        "project names (files, all)": dict(names_all.most_common()),
        "project names (files, unshimmed)": dict(names_unshimmed.most_common()),
        "airflow names (files, unshimmed)": dict(airflow_unshimmed.most_common(25)),
        "comments in": c_in,
        "comments kept": c_kept,
        "files losing every comment": sum(1 for r in rows if r["comments_in"] and not r["comments_kept"]),
        "F401 in": sum(r["F401_in"] for r in rows),
        "F401 out": sum(r["F401_out"] for r in rows),
        "F401 new": sum(r["new_F401"] for r in rows),
        "F401 new files": sum(1 for r in rows if r["new_F401"]),
        "F821 in": sum(r["F821_in"] for r in rows),
        "F821 out": sum(r["F821_out"] for r in rows),
        "F821 new": sum(r["new_F821"] for r in rows),
        "F821 new files": sum(1 for r in rows if r["new_F821"]),
    }


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}% ({n}/{d})" if d else "-"


def show(result: dict, against: dict | None, listing: str | None) -> None:
    s = result["summary"]
    b = against["summary"] if against else None

    def line(label: str, now: str, then: str | None) -> None:
        print(f"{label:<58} {now:>22}" + (f"   baseline {then}" if then is not None else ""))

    print(f"{result['folder']}: {s['outputs']} converted/partial outputs, {s['unshimmed']} with no shimmed task")
    line("free of airflow+project, no shimmed task (>= 95%)", _pct(s["unshimmed free"], s["unshimmed"]),
         _pct(b["unshimmed free"], b["unshimmed"]) if b else None)
    line("free of airflow+project, every output", _pct(s["all free"], s["outputs"]),
         _pct(b["all free"], b["outputs"]) if b else None)
    line("  no shimmed task, importing this project", _pct(s["unshimmed importing project"], s["unshimmed"]),
         _pct(b["unshimmed importing project"], b["unshimmed"]) if b else None)
    line("  no shimmed task, importing airflow", _pct(s["unshimmed importing airflow"], s["unshimmed"]),
         _pct(b["unshimmed importing airflow"], b["unshimmed"]) if b else None)
    line("  every output, importing this project", _pct(s["all importing project"], s["outputs"]),
         _pct(b["all importing project"], b["outputs"]) if b else None)
    line("  every output, importing airflow", _pct(s["all importing airflow"], s["outputs"]),
         _pct(b["all importing airflow"], b["outputs"]) if b else None)
    line("comment lines of the inputs kept (>= 98%)", _pct(s["comments kept"], s["comments in"]),
         _pct(b["comments kept"], b["comments in"]) if b else None)
    line("  files losing every comment", str(s["files losing every comment"]),
         str(b["files losing every comment"]) if b else None)
    for code in ("F401", "F821"):
        now = f"in {s[f'{code} in']} out {s[f'{code} out']} new {s[f'{code} new']} ({s[f'{code} new files']} files)"
        then = f"new {b[f'{code} new']} ({b[f'{code} new files']} files)" if b else None
        line(f"ruff {code} (new must be 0)", now, then)
    print("runtime names imported from this project (files: every output / no shimmed task):")
    old = b["project names (files, all)"] if b else {}
    for name, n in s["project names (files, all)"].items():
        extra = f"   baseline {old.get(name, 0)}" if b else ""
        print(f"  {n:5d} / {s['project names (files, unshimmed)'].get(name, 0):5d}  {name}{extra}")
    for name in old:
        if name not in s["project names (files, all)"]:
            print(f"      0 /     0  {name}   baseline {old[name]}")
    print("airflow names still imported where no task is shimmed (files):")
    for name, n in s["airflow names (files, unshimmed)"].items():
        print(f"  {n:5d}  {name}")
    files = result["files"]
    if listing == "runtime":
        for rel, row in sorted(files.items()):
            if not row["shimmed"] and row["project"]:
                print(f"  {rel}: {', '.join(row['project'])}")
    elif listing == "airflow":
        for rel, row in sorted(files.items()):
            if not row["shimmed"] and row["airflow"]:
                print(f"  {rel}: {', '.join(row['airflow'])}")
    elif listing == "comments":
        lost = sorted(files.items(), key=lambda kv: kv[1]["comments_kept"] - kv[1]["comments_in"])
        for rel, row in lost[:60]:
            if row["comments_kept"] < row["comments_in"]:
                print(f"  {rel}: kept {row['comments_kept']} of {row['comments_in']}")
    elif listing in ("F401", "F821"):
        for rel, row in sorted(files.items()):
            if row[f"new_{listing}"]:
                names = [n for n in row["new_names"] if n.startswith(listing)]
                print(f"  {rel}: +{row[f'new_{listing}']}: {'; '.join(names)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=CORPUS)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="write the outputs here (default: a temporary folder)")
    parser.add_argument("--report-only", type=Path, metavar="OUT", help="measure an existing --keep folder (no convert)")
    parser.add_argument("--json", type=Path, help="write the figures to FILE")
    parser.add_argument("--against", type=Path, help="a --json file of an earlier run, printed beside")
    parser.add_argument("--list", choices=["runtime", "airflow", "comments", "F401", "F821"])
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    if not folder.is_dir():
        raise SystemExit(f"{folder} is missing: rebuild the corpus (../shared/corpus/README.md)")
    if args.report_only:
        result = measure(folder, args.report_only.resolve(), args.jobs, convert=False)
    elif args.keep:
        if args.keep.exists() and any(args.keep.iterdir()):
            raise SystemExit(f"{args.keep} is not empty")
        result = measure(folder, args.keep.resolve(), args.jobs)
    else:
        with tempfile.TemporaryDirectory(prefix="runtime-") as tmp:
            result = measure(folder, Path(tmp) / "out", args.jobs)
    against = json.loads(args.against.read_text()) if args.against else None
    show(result, against, args.list)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
