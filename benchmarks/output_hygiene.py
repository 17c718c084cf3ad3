"""Is the converted code clean? Inputs against outputs, metric by metric, over a folder of DAGs.

Converts the folder with ``interop convert DIR --out TMP --report TMP.json -j N`` (nothing is
written next to the inputs) and compares each written output with its input:

- ``compile 3.10``: files that ``ast.parse(src, feature_version=(3, 10))`` refuses (an f-string
  with quotes of its own kind inside ``{}`` is valid only from Python 3.12);
- ``F821 undefined``: ruff's undefined names; *new* counts, per file, how many more the output
  has than its input (a file whose output has fewer counts 0);
- ``F401 unused import``: ruff's unused imports, counted the same way;
- ``airflow imports``: every ``from airflow... import X`` / ``import airflow...`` (module level or
  in a function) of an output that its input does not write the same way, resolved by importing
  it with the Airflow of ``--airflow-python`` (default: this project's ``.venv``, or
  ``$INTEROP_VENV``) in a subprocess,
  cached per Airflow version under ``~/.cache/interop-hygiene``. A name under a provider that
  is not installed there cannot be checked and is counted apart (``unverifiable``);
- the files' statuses from the report.

The converter is the one of the tree this file is in (run from a worktree of another commit to
measure that commit). Ruff runs with ``--isolated`` (no project configuration) on inputs and outputs alike.

    python benchmarks/output_hygiene.py DIR [-j 2] [--list F821|F401|compile|airflow] [--json FILE]
        [--against FILE]

``--json FILE`` writes the figures; ``--against FILE`` prints a saved run's figures beside
them (a baseline). ``--keep DIR`` keeps the outputs there instead of a temporary folder;
``--report-only DIR`` measures such a kept folder again without converting.
``F821 ... with no marker above`` counts new undefined names that no ``# interop: TODO``
comment announces: the silent ones.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = Path(os.environ.get("INTEROP_VENV", ROOT / ".venv")) / "bin" / "python"
CACHE_DIR = Path.home() / ".cache" / "interop-hygiene"

_RESOLVE = r"""
import importlib, json, sys, warnings
warnings.simplefilter("ignore")
out = {}
for key in json.load(sys.stdin):
    module, _, name = key.partition(":")
    try:
        mod = importlib.import_module(module)
    except BaseException as exc:  # noqa: BLE001 - anything an import can raise
        out[key] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        continue
    if name and not hasattr(mod, name):
        try:
            importlib.import_module(f"{module}.{name}")
        except BaseException as exc:  # noqa: BLE001
            out[key] = f"ImportError: cannot import name {name!r} from {module!r}"
            continue
    out[key] = ""
json.dump(out, sys.stdout)
"""
_INSTALLED = r"""
import importlib.metadata as md, json, sys
dists = sorted({(d.metadata["Name"] or "").lower() for d in md.distributions()})
print(json.dumps({"airflow": md.version("apache-airflow-core"), "dists": dists}))
"""


def airflow_imports(source: str) -> set[tuple[str, str]] | None:
    """``(module, name)`` for every Airflow import in ``source`` (``name`` empty for
    ``import airflow.x``), or None when it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "airflow":
            found.update((node.module, a.name) for a in node.names if a.name != "*")
        elif isinstance(node, ast.Import):
            found.update((a.name, "") for a in node.names if a.name.split(".")[0] == "airflow")
    return found


def statement_starts(source: str) -> dict[int, int]:
    """Line -> first line of the innermost statement covering it (decorators included)."""
    starts: dict[int, int] = {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return starts
    for node in ast.walk(tree):  # outer statements first: inner ones overwrite their lines
        if isinstance(node, ast.stmt):
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
            last = node.end_lineno or node.lineno
            body_start = min((c.lineno for f in ("body", "orelse", "finalbody", "handlers") for c in getattr(node, f, ()) or ()), default=last + 1)
            for line in range(first, min(last, body_start - 1) + 1):
                starts[line] = first
    return starts


def _marked(lines: list[str], starts: dict[int, int], row: int) -> bool:
    """Is there a ``# interop: TODO(...)`` comment just above the statement that holds line
    ``row`` (1-based)?"""
    i = starts.get(row, row) - 2
    while i >= 0 and (not lines[i].strip() or lines[i].strip().startswith("#")):
        if lines[i].strip().startswith("# interop: TODO("):
            return True
        i -= 1
    return False


def compiles_310(source: str) -> bool:
    try:
        ast.parse(source, feature_version=(3, 10))
    except SyntaxError:
        return False
    return True


def ruff_counts(files: list[Path]) -> dict[str, Counter]:
    """Per file: Counter of codes (F821, F401) ruff reports."""
    out: dict[str, Counter] = defaultdict(Counter)
    ruff = VENV_PYTHON.parent / "ruff"
    exe = str(ruff) if ruff.exists() else "ruff"
    for start in range(0, len(files), 400):
        chunk = [str(f) for f in files[start : start + 400]]
        proc = subprocess.run(
            [exe, "check", "--isolated", "--no-cache", "--select", "F821,F401", "--output-format", "json",
             "--target-version", "py310", "--exit-zero", *chunk],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise SystemExit(f"ruff failed: {proc.stderr[:500]}")
        for item in json.loads(proc.stdout or "[]"):
            if item.get("code"):
                counter = out[str(Path(item["filename"]).resolve())]
                counter[item["code"]] += 1
                counter[f"{item['code']}:{item['message']}"] += 1
                counter[f"@{item['code']}:{item['location']['row']}"] += 1  # where, for the marker check
    return out


class Resolver:
    """Whether ``from module import name`` works under the Airflow of ``python`` (cached)."""

    def __init__(self, python: str) -> None:
        self.python = python
        info = json.loads(subprocess.run([python, "-c", _INSTALLED], capture_output=True, text=True, check=True).stdout)
        self.version = info["airflow"]
        self.providers = {d[len("apache-airflow-providers-"):].replace("-", ".") for d in info["dists"] if d.startswith("apache-airflow-providers-")}
        self.path = CACHE_DIR / f"resolve-airflow-{self.version}.json"
        self.cache: dict[str, str] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def installed(self, module: str) -> bool:
        """False for a module of a provider that is not installed (cannot be checked here)."""
        parts = module.split(".")
        if parts[:2] != ["airflow", "providers"]:
            return True
        dotted = ".".join(parts[2:])
        return any(dotted == p or dotted.startswith(p + ".") for p in self.providers)

    def resolve(self, keys: set[str]) -> dict[str, str]:
        """key ``module:name`` -> "" when it imports, else the error."""
        todo = sorted(k for k in keys if k not in self.cache)
        for start in range(0, len(todo), 200):
            chunk = todo[start : start + 200]
            proc = subprocess.run(
                [self.python, "-c", _RESOLVE], input=json.dumps(chunk), capture_output=True, text=True,
                check=False, env={**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"},
            )
            try:
                self.cache.update(json.loads(proc.stdout))
            except json.JSONDecodeError:
                for key in chunk:  # one key kills the interpreter: resolve one by one
                    one = subprocess.run([self.python, "-c", _RESOLVE], input=json.dumps([key]), capture_output=True, text=True, check=False)
                    try:
                        self.cache.update(json.loads(one.stdout))
                    except json.JSONDecodeError:
                        self.cache[key] = f"crash: {one.stderr.strip().splitlines()[-1:]}"
        if todo:
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.cache, indent=0, sort_keys=True))
        return {k: self.cache[k] for k in keys}


def measure(folder: Path, out_dir: Path, jobs: int, python: str, convert: bool = True) -> dict:
    report_path = out_dir.parent / (out_dir.name + "-report.json")
    if convert:
        _convert(folder, out_dir, report_path, jobs)
    elif not report_path.exists():
        raise SystemExit(f"no {report_path}: convert with --keep {out_dir} first")
    report = json.loads(report_path.read_text())
    statuses = Counter(f["status"] for f in report["files"])
    return _compare(folder, out_dir, report, statuses, python)


def _convert(folder: Path, out_dir: Path, report_path: Path, jobs: int) -> None:
    # the converter of the tree this file is in (a worktree of an older commit measures that commit)
    cmd = [str(VENV_PYTHON), "-m", "interop.cli", "convert", str(folder), "--out", str(out_dir), "--report", str(report_path)]
    if jobs:
        cmd += ["-j", str(jobs)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    if not report_path.exists():
        raise SystemExit(f"convert wrote no report (exit {proc.returncode}): {proc.stderr[-2000:]}")


def _compare(folder: Path, out_dir: Path, report: dict, statuses: Counter, python: str) -> dict:
    internal = sum(1 for f in report["files"] if any(x["code"] == "IX999" for x in f["findings"]))

    pairs: list[tuple[Path, Path]] = []
    for entry in report["files"]:
        src = Path(entry["path"])
        if entry["status"] not in ("converted", "partial"):
            continue
        target = out_dir / src.resolve().relative_to(folder.resolve())
        if target.exists():
            pairs.append((src.resolve(), target.resolve()))

    texts = {p: p.read_text(encoding="utf-8") for pair in pairs for p in pair}
    ruff = ruff_counts([p for pair in pairs for p in pair])
    resolver = Resolver(python)

    rows: dict[str, dict] = {
        "compile-3.10 failures": {"in": 0, "out": 0, "files": []},
        "F821 undefined names": {"in": 0, "out": 0, "new": 0, "files": []},
        "  of them with no marker above (silent)": {"out": 0, "files": []},
        "F401 unused imports": {"in": 0, "out": 0, "new": 0, "files": []},
        "airflow imports not in input": {"out": 0, "files": []},
        "  of them unresolvable": {"out": 0, "files": []},
        "  of them unverifiable (provider not installed)": {"out": 0, "files": []},
    }
    new_names: Counter = Counter()
    pending: dict[Path, set[tuple[str, str]]] = {}
    for src, dst in pairs:
        rel = str(src.relative_to(folder.resolve()))
        if not compiles_310(texts[src]):
            rows["compile-3.10 failures"]["in"] += 1
        if not compiles_310(texts[dst]):
            rows["compile-3.10 failures"]["out"] += 1
            rows["compile-3.10 failures"]["files"].append(rel)
        for code, label in (("F821", "F821 undefined names"), ("F401", "F401 unused imports")):
            before, after = ruff[str(src)][code], ruff[str(dst)][code]
            row = rows[label]
            row["in"] += before
            row["out"] += after
            if after > before:
                row["new"] += after - before
                row["files"].append(f"{rel} (+{after - before})")
                for key, n in ruff[str(dst)].items():
                    if key.startswith(code + ":"):
                        extra = n - ruff[str(src)].get(key, 0)
                        if extra > 0:
                            new_names[key] += extra
        if ruff[str(dst)]["F821"] > ruff[str(src)]["F821"]:
            lines = texts[dst].split("\n")
            starts = statement_starts(texts[dst])
            for key in ruff[str(dst)]:
                if key.startswith("@F821:"):
                    row = int(key.split(":")[1])
                    if not _marked(lines, starts, row):
                        rows["  of them with no marker above (silent)"]["out"] += 1
                        rows["  of them with no marker above (silent)"]["files"].append(f"{rel}:{row}: {lines[row - 1].strip()[:80]}")
        before_imports = airflow_imports(texts[src]) or set()
        after_imports = airflow_imports(texts[dst])
        if after_imports is not None:
            pending[src] = after_imports - before_imports
    keys = {f"{m}:{n}" for new in pending.values() for m, n in new if resolver.installed(m)}
    resolved = resolver.resolve(keys)
    bad_names: Counter = Counter()
    for src, new in pending.items():
        rel = str(src.relative_to(folder.resolve()))
        if not new:
            continue
        rows["airflow imports not in input"]["out"] += len(new)
        for module, name in sorted(new):
            key = f"{module}:{name}"
            if not resolver.installed(module):
                rows["  of them unverifiable (provider not installed)"]["out"] += 1
                rows["  of them unverifiable (provider not installed)"]["files"].append(f"{rel}: {key}")
            elif resolved[key]:
                rows["  of them unresolvable"]["out"] += 1
                rows["  of them unresolvable"]["files"].append(f"{rel}: {key}: {resolved[key]}")
                bad_names[key] += 1
    return {
        "folder": str(folder),
        "airflow": resolver.version,
        "files": len(report["files"]),
        "written": len(pairs),
        "statuses": dict(sorted(statuses.items())),
        "internal errors (IX999)": internal,
        "metrics": rows,
        "top new names": new_names.most_common(40),
        "top unresolvable": bad_names.most_common(20),
    }


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def show(result: dict, against: dict | None, listing: str | None) -> None:
    print(f"{result['folder']}: {result['files']} files, {result['written']} converted/partial outputs compared "
          f"(Airflow {result['airflow']} for resolution)")
    statuses = ", ".join(f"{k} {v}" for k, v in result["statuses"].items())
    print(f"statuses: {statuses}; internal errors (IX999): {result['internal errors (IX999)']}")
    if against:
        old = ", ".join(f"{k} {v}" for k, v in against["statuses"].items())
        print(f"  baseline statuses: {old}; internal errors: {against['internal errors (IX999)']}")
    header = f"{'metric':<50} {'inputs':>7} {'outputs':>8} {'new':>6}"
    if against:
        header += f"   {'baseline out':>12} {'baseline new':>12}"
    print(header)
    for label, row in result["metrics"].items():
        line = f"{label:<50} {_cell(row.get('in')):>7} {_cell(row.get('out')):>8} {_cell(row.get('new')):>6}"
        if against and label in against["metrics"]:
            old = against["metrics"][label]
            line += f"   {_cell(old.get('out')):>12} {_cell(old.get('new')):>12}"
        print(line)
    if result["top new names"]:
        print("most frequent new ruff findings:")
        for key, n in result["top new names"][:20]:
            print(f"  {n:5d}  {key}")
    if result["top unresolvable"]:
        print("unresolvable airflow imports:")
        for key, n in result["top unresolvable"]:
            print(f"  {n:5d}  {key}")
    if listing:
        wanted = {"compile": "compile-3.10 failures", "F821": "F821 undefined names", "F401": "F401 unused imports",
                  "silent": "  of them with no marker above (silent)",
                  "airflow": "  of them unresolvable", "unverifiable": "  of them unverifiable (provider not installed)"}[listing]
        print(f"--- {wanted.strip()}:")
        for item in result["metrics"][wanted]["files"]:
            print(f"  {item}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--airflow-python", default=str(VENV_PYTHON))
    parser.add_argument("--keep", type=Path, help="write the outputs here (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="write the figures to FILE")
    parser.add_argument("--against", type=Path, help="a --json file of an earlier run, printed beside")
    parser.add_argument("--list", choices=["compile", "F821", "silent", "F401", "airflow", "unverifiable"])
    parser.add_argument("--report-only", type=Path, metavar="OUT", help="measure an existing --keep folder (no convert)")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    if args.report_only:
        result = measure(folder, args.report_only.resolve(), args.jobs, args.airflow_python, convert=False)
    elif args.keep:
        if args.keep.exists() and any(args.keep.iterdir()):
            raise SystemExit(f"{args.keep} is not empty")
        result = measure(folder, args.keep.resolve(), args.jobs, args.airflow_python)
    else:
        with tempfile.TemporaryDirectory(prefix="hygiene-") as tmp:
            result = measure(folder, Path(tmp) / "out", args.jobs, args.airflow_python)
    against = json.loads(args.against.read_text()) if args.against else None
    show(result, against, args.list)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
