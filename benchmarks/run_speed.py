"""Wall time of ``airflow dags test`` against ``interop run`` for the same DAGs, in one run.

Usage::

    .venv/bin/python benchmarks/run_speed.py [--dags example_xcom,tutorial_dag,...] [--repeat N]

For each DAG (by default the bundled examples of the conformance list), both commands run as
fresh subprocesses on the same DAG file and logical date, so both pay interpreter start-up and
imports:

* ``airflow dags test DAG_ID DATE`` on a temporary ``AIRFLOW_HOME`` whose database was migrated
  once beforehand (the migration is not timed);
* ``interop run FILE --dag-id DAG_ID --logical-date DATE --json OUT --no-daemon``: a cold start
  that imports Airflow itself;
* the same ``interop run`` served by ``interop daemon`` (started once in this benchmark; its
  start-up, about 2 s, is added to the served total), whose JSON must equal the cold run's.

It also times the runner alone inside one warm process (``run_dag`` after imports), which is
what a Prefect flow calling ``airflow_dag`` pays. Prints a table and the ratios of the totals;
the goal (>= 10x) is judged on the served total including the daemon's start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DAGS = [
    "example_xcom",
    "tutorial_dag",
    "example_task_group",
    "example_skip_dag",
    "example_dynamic_task_mapping",
    "example_branch_labels",
    "example_short_circuit_operator",
    "example_trigger_target_dag",
    "example_complex",
]
LOGICAL_DATE = "2024-01-01T00:00:00+00:00"


def _example_files() -> list[Path]:
    from interop.corpus import airflow_example_dag_files

    return airflow_example_dag_files()


def _file_of(dag_id: str, files: list[Path]) -> Path:
    for path in files:
        if path.stem == dag_id:
            return path
    for path in files:
        text = path.read_text()
        if f'"{dag_id}"' in text or f"def {dag_id}(" in text:
            return path
    raise SystemExit(f"example DAG {dag_id!r} not found in the installed Airflow")


def _normal(result: dict) -> dict:
    """Airflow records the tasks a short-circuit or branch skipped in set order, which changes
    from process to process (string hashing); compare them as sets."""
    for task in result["tasks"].values():
        for key, value in task["xcoms"].items():
            if key.startswith("skipmixin_key") and isinstance(value, dict):
                task["xcoms"][key] = {k: sorted(v) if isinstance(v, list) else v for k, v in value.items()}
    return result


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc.returncode, (proc.stdout + proc.stderr)[-1500:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dags", default=",".join(DEFAULT_DAGS), help="comma-separated DAG ids of bundled examples")
    parser.add_argument("--repeat", type=int, default=1, help="runs per DAG and command (median is used)")
    args = parser.parse_args()
    dag_ids = [d for d in args.dags.split(",") if d]

    bin_dir = Path(sys.executable).parent
    airflow_cli = str(bin_dir / "airflow")
    files = _example_files()
    work = Path(tempfile.mkdtemp(prefix="interop-bench-"))
    dags_folder = work / "dags"
    dags_folder.mkdir()
    paths = {dag_id: _file_of(dag_id, files) for dag_id in dag_ids}
    for path in set(paths.values()):
        shutil.copy(path, dags_folder / path.name)
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(work),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{work / 'airflow.db'}",
    )
    env["INTEROP_DAEMON_DIR"] = str(work / "daemon")  # this benchmark's own daemon, not the user's
    (work / "daemon").mkdir(mode=0o700)
    print(f"migrating a fresh Airflow database in {work} (not timed) ...", flush=True)
    subprocess.run([airflow_cli, "db", "migrate"], env=env, check=True, capture_output=True)

    # the runner alone, warm: imports paid once, then each DAG run timed
    os.environ.update({k: v for k, v in env.items() if k.startswith("AIRFLOW")})
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from airflow_interop.runner import run_dag

    warm: dict[str, float] = {}
    for dag_id in dag_ids:
        run_dag(dags_folder / paths[dag_id].name, dag_id, logical_date=LOGICAL_DATE, echo=False)  # warm-up
        start = time.perf_counter()
        run_dag(dags_folder / paths[dag_id].name, dag_id, logical_date=LOGICAL_DATE, echo=False)
        warm[dag_id] = time.perf_counter() - start

    interop_cli = str(bin_dir / "interop")
    started, rc, tail = _timed([interop_cli, "daemon", "start", "--idle-timeout", "600"], env)
    if rc != 0:
        raise SystemExit(f"interop daemon start exited {rc}:\n{tail}")
    print(f"interop daemon started in {started:.2f} s (counted in the served total)", flush=True)

    rows = []
    mismatched = []
    try:
        for dag_id in dag_ids:
            file = dags_folder / paths[dag_id].name
            run_args = [interop_cli, "run", str(file), "--dag-id", dag_id, "--logical-date", LOGICAL_DATE]
            airflow_times, cold_times, served_times = [], [], []
            for _ in range(args.repeat):
                t, rc, tail = _timed([airflow_cli, "dags", "test", dag_id, LOGICAL_DATE], env)
                if rc != 0:
                    print(f"warning: airflow dags test {dag_id} exited {rc}:\n{tail}", file=sys.stderr)
                airflow_times.append(t)
                cold_json, served_json = work / f"{dag_id}.cold.json", work / f"{dag_id}.served.json"
                t, rc, tail = _timed([*run_args, "--json", str(cold_json), "--no-daemon"], env)
                if rc not in (0, 1):
                    print(f"warning: interop run {dag_id} exited {rc}:\n{tail}", file=sys.stderr)
                cold_times.append(t)
                t, rc, tail = _timed([*run_args, "--json", str(served_json)], env)
                if rc not in (0, 1):
                    print(f"warning: interop run (daemon) {dag_id} exited {rc}:\n{tail}", file=sys.stderr)
                served_times.append(t)
                cold_result, served_result = _normal(json.loads(cold_json.read_text())), _normal(json.loads(served_json.read_text()))
                if cold_result != served_result:
                    differing = sorted(
                        t for t in set(cold_result["tasks"]) | set(served_result["tasks"])
                        if cold_result["tasks"].get(t) != served_result["tasks"].get(t)
                    )
                    mismatched.append(f"{dag_id} (tasks {differing}: cold {[cold_result['tasks'].get(t) for t in differing]}, daemon {[served_result['tasks'].get(t) for t in differing]})")
            rows.append((dag_id, statistics.median(airflow_times), statistics.median(cold_times), statistics.median(served_times), warm[dag_id]))
        _, _, status = _timed([interop_cli, "daemon", "status"], env)
    finally:
        subprocess.run([interop_cli, "daemon", "stop"], env=env, capture_output=True)

    print()
    print(f"{'DAG':<34} {'dags test s':>11} {'run s':>7} {'ratio':>7} {'daemon s':>9} {'ratio':>7} {'in-proc s':>9} {'ratio':>7}")
    for dag_id, a, c, d, w in rows:
        print(f"{dag_id:<34} {a:>11.2f} {c:>7.2f} {a / c:>6.1f}x {d:>9.3f} {a / d:>6.1f}x {w:>9.3f} {a / w:>6.0f}x")
    total_a = sum(r[1] for r in rows)
    total_c = sum(r[2] for r in rows)
    total_d = sum(r[3] for r in rows) + started
    total_w = sum(r[4] for r in rows)
    print(f"{'TOTAL (daemon: + its start-up)':<34} {total_a:>11.2f} {total_c:>7.2f} {total_a / total_c:>6.1f}x {total_d:>9.3f} {total_a / total_d:>6.1f}x {total_w:>9.3f} {total_a / total_w:>6.0f}x")
    print()
    print(f"served by the daemon: {status.strip().splitlines()[0] if status.strip() else '?'}")
    print(f"daemon results equal to cold runs: {'all' if not mismatched else 'NOT for ' + ', '.join(mismatched)}")
    print(f"airflow dags test / interop run (daemon, start-up included) wall-time ratio: {total_a / total_d:.1f}x (goal >= 10x)")
    print(f"airflow dags test / interop run (daemon, per run, start-up excluded) wall-time ratio: {total_a / (total_d - started):.1f}x")
    print(f"airflow dags test / interop run (cold, one process per run) wall-time ratio: {total_a / total_c:.1f}x")
    print(f"airflow dags test / in-process runner (warm) ratio: {total_a / total_w:.0f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
