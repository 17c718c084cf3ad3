"""Conversion speed: ``convert_source`` against libcst's own parse+print, measured in the same run.

Corpus case: files/s for libcst parse+print (the baseline) and for ``convert_source`` on the same
files, on one core, CPU time, and their ratio (target: <= 2.0). Files that libcst cannot parse
are left out of both sides.

Big-file case (``--big MB``): a generated DAG file of about MB megabytes (module-level callables,
several ``with DAG`` blocks of Python, Bash and Empty operators, XCom pulls, ``>>`` wiring with
lists and ``chain``) converted once in a fresh process; prints its per-byte CPU cost against the
corpus's (target: <= 3x) and the process's peak memory (max RSS; Linux and macOS).

    python benchmarks/convert_speed.py [--corpus DIR] [--repeat N] [--big MB] [--batch]

``--corpus`` defaults to Airflow's bundled example DAGs. ``--batch`` adds the throughput of
``interop convert`` across every core (wall time, incl. start-up).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import libcst as cst  # noqa: E402

from converters import convert_source  # noqa: E402
from interop.corpus import airflow_example_dag_files  # noqa: E402


def corpus(folder: str | None) -> list[tuple[str, str]]:
    if folder is None:
        files = airflow_example_dag_files()
        if not files:
            sys.exit("Airflow's example DAGs are not installed (pip install -e '.[dev]')")
    else:
        files = sorted(p for p in Path(folder).rglob("*.py") if p.is_file())
        if not files:
            sys.exit(f"no *.py file under {folder}")
    out = []
    for p in files:
        try:
            text = p.read_text(encoding="utf-8")
            cst.parse_module(text)
        except Exception:  # noqa: BLE001, S112 - unreadable or unparsable: not a speed case
            continue
        out.append((str(p), text))
    return out


def baseline(files: list[tuple[str, str]]) -> None:
    for _, text in files:
        cst.parse_module(text).code  # noqa: B018


def convert_all(files: list[tuple[str, str]]) -> None:
    for path, text in files:
        convert_source(text, path)


def _convert_chunk(chunk: list[tuple[str, str]]) -> int:
    convert_all(chunk)
    return len(chunk)


def timed(fn, files) -> float:  # noqa: ANN001
    """CPU time of this process for one run (robust to other load on the machine)."""
    start = time.process_time()
    fn(files)
    return time.process_time() - start


_CALLABLE = '''

def extract_{i}(ds=None, **context):
    """Pull batch {i} of the {name} feed for one day."""
    rows = [{{"id": n, "day": ds, "batch": {i}}} for n in range({rows})]
    context["ti"].xcom_push(key="count", value=len(rows))
    return rows


def transform_{i}(ti=None, **context):
    rows = ti.xcom_pull(task_ids="extract_{i}")
    count = ti.xcom_pull(task_ids="extract_{i}", key="count")
    if not rows:
        raise ValueError("no rows for batch {i}")
    return {{"batch": {i}, "count": count, "total": sum(r["id"] for r in rows)}}
'''

_TASKS = '''
    start_{i} = EmptyOperator(task_id="start_{i}")
    extract_task_{i} = PythonOperator(
        task_id="extract_{i}",
        python_callable=extract_{i},
        retries={retries},
        retry_delay=timedelta(minutes={i} % 7 + 1),
    )
    transform_task_{i} = PythonOperator(task_id="transform_{i}", python_callable=transform_{i})
    load_{i} = BashOperator(
        task_id="load_{i}",
        bash_command="echo loading batch {i} for {{{{ ds }}}} && test -n '{{{{ ti.xcom_pull(task_ids=\\"transform_{i}\\") }}}}'",
        env={{"BATCH": "{i}", "TARGET": "{name}"}},
    )
    check_{i} = BashOperator(task_id="check_{i}", bash_command="exit 0")
    start_{i} >> extract_task_{i} >> transform_task_{i} >> [load_{i}, check_{i}]
'''


def big_dag_source(megabytes: float, tasks_per_dag: int = 60) -> str:
    """A realistic generated DAG file of about ``megabytes`` MB: module-level callables, several
    ``with DAG`` blocks of Python, Bash and Empty operators with XComs, retries and ``>>`` wiring."""
    head = (
        '"""Generated ingestion DAGs: one per source system."""\n\n'
        "from datetime import datetime, timedelta\n\n"
        "from airflow import DAG\n"
        "from airflow.models.baseoperator import chain\n"
        "from airflow.operators.bash import BashOperator\n"
        "from airflow.operators.empty import EmptyOperator\n"
        "from airflow.operators.python import PythonOperator\n\n"
        'default_args = {"owner": "data", "retries": 2, "retry_delay": timedelta(minutes=5)}\n'
    )
    target = int(megabytes * 1_000_000)
    callables: list[str] = []
    dags: list[str] = []
    size = len(head)
    i = 0
    d = 0
    while size < target:
        d += 1
        name = f"source_{d}"
        block = [
            f"\n\nwith DAG(\n    dag_id=\"ingest_{name}\",\n    start_date=datetime(2024, 1, 1),\n"
            f"    schedule=\"@daily\",\n    catchup=False,\n    default_args=default_args,\n"
            f"    tags=[\"ingest\", \"{name}\"],\n) as dag_{d}:\n"
            f"    begin_{d} = EmptyOperator(task_id=\"begin\")\n"
            f"    end_{d} = EmptyOperator(task_id=\"end\")\n"
        ]
        firsts, lasts = [], []
        for _ in range(tasks_per_dag):
            i += 1
            fn = _CALLABLE.format(i=i, name=name, rows=i % 50 + 10)
            tasks = _TASKS.format(i=i, name=name, retries=i % 4)
            callables.append(fn)
            block.append(tasks)
            firsts.append(f"start_{i}")
            lasts.append(f"load_{i}")
            size += len(fn) + len(tasks)
            if size >= target:
                break
        block.append(f"    begin_{d} >> [{', '.join(firsts)}]\n")
        block.append(f"    chain([{', '.join(lasts)}], end_{d})\n")
        dags.append("".join(block))
        size += sum(len(b) for b in block[-2:]) + len(block[0])
    return head + "".join(callables) + "".join(dags)


def _big_run(megabytes: float) -> tuple[int, int, float, float, int, int]:
    """In a fresh process: (bytes, operators, convert CPU s, parse+print CPU s, peak RSS before
    and after the conversion, KiB)."""
    text = big_dag_source(megabytes)
    convert_source("from airflow import DAG\n", "<warm>")  # imports loaded before the peak is read
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.process_time()
    convert_source(text, "<big>")
    cpu = time.process_time() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gc.collect()
    base = timed(baseline, [("<big>", text)])
    return len(text), text.count("Operator("), cpu, base, before, after


def big_case(megabytes: float, corpus_cost: float | None) -> None:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        size, operators, cpu, base, before, after = pool.submit(_big_run, megabytes).result()
    cost = cpu / size * 1e6
    print(f"big file: {size / 1e6:.2f} MB generated ({operators} operators)")
    print(f"  convert (1 core, CPU time): {cpu:8.2f} s  {cost:6.2f} us/byte   / its own parse+print: {cpu / base:5.2f}")
    if corpus_cost:
        print(f"  per-byte cost / corpus's: {cost / corpus_cost:8.2f}   (target <= 3.0)")
    print(f"  peak memory (max RSS of a fresh process): {after / 1024:8.0f} MiB ({before / 1024:.0f} MiB before converting)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", help="a folder of DAG files (default: Airflow's bundled example DAGs)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    parser.add_argument("--big", type=float, metavar="MB", help="also convert a generated DAG file of about MB megabytes")
    parser.add_argument("--batch", action="store_true", help="also measure `interop convert` on every core")
    args = parser.parse_args()
    files = corpus(args.corpus)
    n = len(files)
    nbytes = sum(len(text) for _, text in files)
    convert_all(files[:3])  # warm imports
    # interleaved, best of N each: both sides see the same machine state
    base = conv = float("inf")
    for _ in range(args.repeat):
        base = min(base, timed(baseline, files))
        conv = min(conv, timed(convert_all, files))
    where = args.corpus or "Airflow's bundled example DAGs"
    corpus_cost = conv / nbytes * 1e6
    print(f"corpus: {n} parsable files, {nbytes / 1e6:.2f} MB ({where})")
    print(f"libcst parse+print (baseline, 1 core, CPU time): {n / base:8.1f} files/s  {base:7.2f} s")
    print(f"interop convert       (1 core, CPU time):        {n / conv:8.1f} files/s  {conv:7.2f} s  {corpus_cost:6.2f} us/byte")
    print(f"ratio convert / baseline (CPU time):   {conv / base:8.2f}   (target <= 2.0)")
    if args.batch:
        workers = os.cpu_count() or 1
        chunks = [files[i::workers] for i in range(workers)]
        start = time.perf_counter()
        with ProcessPoolExecutor(workers) as pool:
            done = sum(pool.map(_convert_chunk, chunks))
        batch = time.perf_counter() - start
        print(f"interop convert batch ({workers} cores, wall, incl. start-up): {done / batch:8.1f} files/s")
    if args.big:
        big_case(args.big, corpus_cost)


if __name__ == "__main__":
    main()
