"""Sweep the converter over a folder of DAG files and count what happens to each.

For every ``*.py`` under the folders given (recursively), runs ``converters.convert_file`` and
classifies the file:

- ``crash``: an internal error inside the converter (finding IX999, or an exception escaping
  ``convert_file``), which is always a converter bug;
- its status: ``converted``, ``partial``, ``skipped`` or ``failed`` (a crash is also ``failed``);
- whether the output compiles (``compile()``), for converted and partial files;
- whether the output is idempotent: converting it again gives no DAG (skipped) or the same text;
- the ``# interop: TODO(CODE)`` markers left in the output, and the findings, by code.

    python benchmarks/convert_corpus.py DIR [DIR ...] [--json FILE] [--list STATUS]

``--list crash`` (or ``failed``, ``partial``, ``non-compiling``, ``non-idempotent``) prints the
files in that class with their first relevant finding. Nothing is written next to the corpus.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from converters import convert_file, convert_source  # noqa: E402

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
        try:
            again = convert_source(result.output, str(path))
            row["idempotent"] = again.status == "skipped" or again.output == result.output
            if not row["idempotent"]:
                row["detail"] = f"second pass: {again.status} {[f.code for f in again.findings][:5]}"
        except Exception as exc:  # noqa: BLE001
            row.update(idempotent=False, detail=f"second pass raised {type(exc).__name__}: {exc}")
    return row


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
    return row["status"] == name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write every row and the summary as JSON")
    parser.add_argument("--list", action="append", default=[], help="print the files of a class")
    args = parser.parse_args(argv)
    files = sorted(p for d in args.dirs for p in (d.rglob("*.py") if d.is_dir() else [d]) if "__pycache__" not in p.parts)
    if not files:
        parser.error(f"no *.py files under {', '.join(map(str, args.dirs))}")
    rows = [classify(p) for p in files]
    counts = summary(rows)
    for name in args.list:
        for r in rows:
            if _in_class(r, name):
                print(f"{name}: {r['path']}: {r.get('detail', '')}".rstrip())
    print(json.dumps(counts, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"summary": counts, "files": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
