"""How fast ``interop lint`` runs: files/s over the converted example corpora.

Corpora:

* Airflow's bundled example DAGs (``airflow/example_dags/`` and
  ``airflow/providers/standard/example_dags/`` from site-packages), converted with
  ``converters.convert_source``;
* this repository's ``sample_dags/``, converted the same way;
* for reference, the same Airflow example DAGs unconverted (full of findings, so the
  position-resolution path is exercised on every file).

Each corpus is written to a temporary folder and linted with :func:`interop.lint.lint_paths`
(reading, one parse, every rule, positions when there are findings); the best of
``--repeat`` runs is reported, and the cost of a bare libcst parse of the same files is
printed beside it.

Usage::

    python benchmarks/lint_speed.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def airflow_example_files() -> list[Path]:
    from interop.corpus import airflow_example_dag_files

    return airflow_example_dag_files()


def convert_into(files: list[Path], out: Path) -> tuple[int, list[str]]:
    """Convert ``files`` into ``out``; returns (converted count, problems)."""
    from converters import convert_source

    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    count = 0
    for i, f in enumerate(files):
        try:
            result = convert_source(f.read_text(encoding="utf-8"), str(f))
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, never stops
            problems.append(f"{f.name}: {type(exc).__name__}: {exc}")
            continue
        if result.status not in ("converted", "partial"):
            problems.append(f"{f.name}: {result.status} (not a flow; left out)")
            continue
        (out / f"{i:03d}_{f.name}").write_text(result.output, encoding="utf-8")
        count += 1
    return count, problems


def bench(folder: Path, repeat: int) -> tuple[int, float, float, int]:
    """(files, best lint seconds, best parse-only seconds, findings)."""
    import libcst as cst

    from interop.lint import lint_paths

    files = sorted(folder.rglob("*.py"))
    best_lint = best_parse = float("inf")
    findings = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        run = lint_paths([folder])
        best_lint = min(best_lint, time.perf_counter() - t0)
        findings = len(run.findings)
        t0 = time.perf_counter()
        for f in files:
            cst.parse_module(f.read_text(encoding="utf-8"))
        best_parse = min(best_parse, time.perf_counter() - t0)
    return len(files), best_lint, best_parse, findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    examples = airflow_example_files()
    samples = sorted(p for p in (REPO / "sample_dags").glob("*.py") if p.name != "__init__.py")
    with tempfile.TemporaryDirectory(prefix="interop-lint-bench-") as tmp:
        root = Path(tmp)
        corpora: list[tuple[str, Path]] = []
        try:
            import converters

            has_converter = hasattr(converters, "convert_source")
        except ImportError:
            has_converter = False
        if has_converter:
            for label, files, sub in (
                ("Airflow example DAGs, converted", examples, "examples"),
                ("sample_dags/, converted", samples, "samples"),
            ):
                n, problems = convert_into(files, root / sub)
                print(f"{label}: {n}/{len(files)} files converted to flows")
                for p in problems:
                    print(f"  {p}")
                corpora.append((label, root / sub))
        else:
            print("converters.convert_source is not available: converted corpora skipped")
        raw = root / "raw"
        raw.mkdir()
        for i, f in enumerate(examples):
            (raw / f"{i:03d}_{f.name}").write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
        corpora.append(("Airflow example DAGs, unconverted (reference)", raw))

        print(f"\nbest of {args.repeat} runs, one process, one core")
        print(f"{'corpus':50} {'files':>6} {'lint files/s':>13} {'parse-only files/s':>19} {'lint/parse':>11} {'findings':>9}")
        for label, folder in corpora:
            n, lint_s, parse_s, findings = bench(folder, args.repeat)
            if n == 0:
                print(f"{label:50} {0:>6} {'-':>13} {'-':>19} {'-':>11} {'-':>9}")
                continue
            print(f"{label:50} {n:>6} {n / lint_s:>13.1f} {n / parse_s:>19.1f} {lint_s / parse_s:>10.1f}x {findings:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
