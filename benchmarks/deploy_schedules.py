"""Deployment schedules against Airflow's own over the shared corpus.

Usage::

    python benchmarks/deploy_schedules.py [--report corpus-report.json] [--corpus ~/.cache/interop-corpus]
        [--spec ../shared/corpus] [--list 20] [--json out.json]

Without ``--report`` it runs ``interop convert`` over ``CORPUS/dags`` first. For every DAG Airflow
built (``GRAPH_*.jsonl``: ``schedule`` is the ``repr`` of the DAG's schedule as Airflow holds it)
whose file the converter did not refuse, the deployment ``interop deploy`` writes for it (the
ledger's ``deployment`` facts through :func:`interop.deploy.spec.schedules_for`) is held against
Airflow's schedule: the same cron strings (presets expanded) or the same interval in seconds; no
schedule against ``None``. The truth of a file is the GRAPH of the Airflow its imports point to
(``airflow_major`` in the ledger: AF3 for 3, AF2 then AF2_PROVIDERS for 2), else the first
GRAPH that loaded it. Each DAG ends ``equal``, ``different`` (with both sides), or ``not
deployable`` (a schedule Prefect has no schedule for: ``@once``, assets, custom timetables;
the ledger has an IX403 finding for each).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from converters.names import CRON_PRESETS  # noqa: E402
from interop.deploy.spec import schedules_for  # noqa: E402

INTEROP = ROOT / ".venv" / "bin" / "interop"
SPEC = ROOT.parent / "shared" / "corpus"
CORPUS = Path.home() / ".cache" / "interop-corpus"
GRAPHS = {"AF2": "GRAPH_AF2.jsonl", "AF2_PROVIDERS": "GRAPH_AF2_PROVIDERS.jsonl", "AF3": "GRAPH_AF3.jsonl"}
ORDER = {2: ("AF2", "AF2_PROVIDERS", "AF3"), 3: ("AF3", "AF2", "AF2_PROVIDERS")}


def airflow_schedule(text: str) -> tuple[str, frozenset | None]:
    """(kind, schedule set) of a GRAPH ``schedule`` repr: kind ``none``, ``cron``, ``interval`` or
    ``other`` (set None: ``@once``, assets, datasets, timetables)."""
    if text == "None":
        return "none", frozenset()
    match = re.fullmatch(r"'(.*)'", text)
    if match:
        value = match.group(1)
        cron = CRON_PRESETS.get(value, value)
        if cron.startswith("@") or not re.fullmatch(r"[\d*/,\-A-Za-z#? ]+", cron) or len(cron.split()) not in (5, 6):
            return "other", None
        return "cron", frozenset({("cron", " ".join(cron.split()))})
    match = re.fullmatch(r"datetime\.timedelta\((.*)\)", text)
    if match:
        kwargs = dict(part.split("=") for part in match.group(1).split(", ") if part)
        seconds = datetime.timedelta(**{k: float(v) for k, v in kwargs.items()}).total_seconds()
        return "interval", frozenset({("interval", seconds)})
    return "other", None


def ours(facts: dict) -> frozenset | None:
    schedules, _ = schedules_for(facts)
    if schedules is None:
        return None
    out = set()
    for item in schedules:
        if "cron" in item:
            out.add(("cron", " ".join(item["cron"].split())))
        elif "interval" in item:
            out.add(("interval", float(item["interval"])))
        else:
            out.add(("rrule", item.get("rrule")))
    return frozenset(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", type=Path)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument("--list", type=int, default=20, help="list N differences")
    parser.add_argument("--json", type=Path, help="every DAG's outcome")
    args = parser.parse_args()
    report = args.report
    if report is None:
        tmp = Path(tempfile.mkdtemp(prefix="deploy-schedules-"))
        report = tmp / "report.json"
        subprocess.run([str(INTEROP), "convert", str(args.corpus / "dags"), "--check", "--report", str(report)],
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ledger = json.loads(report.read_text())
    by_file: dict[str, dict] = {}
    for entry in ledger["files"]:
        path = entry["path"].replace("\\", "/")
        key = path[path.index("/dags/") + 1:] if "/dags/" in path else path
        by_file[key] = entry
    truths: dict[str, dict[str, dict]] = collections.defaultdict(dict)
    for name, file in GRAPHS.items():
        for line in (args.spec / file).read_text().splitlines():
            row = json.loads(line)
            if row["dags"]:
                truths[row["local_file"]][name] = {d["dag_id"]: d for d in row["dags"]}
    outcomes = []
    counts = collections.Counter()
    for local_file, graphs in sorted(truths.items()):
        entry = by_file.get(local_file)
        ledger_dags = {d["dag_id"]: d for d in (entry or {}).get("dags", [])}
        major = next((d.get("deployment", {}).get("airflow_major") for d in ledger_dags.values()), 2) or 2
        graph_name = next((g for g in ORDER[major] if g in graphs), next(iter(graphs)))
        for dag_id, truth in sorted(graphs[graph_name].items()):
            kind, theirs = airflow_schedule(truth["schedule"])
            dag = ledger_dags.get(dag_id)
            if dag is None:
                outcome = "refused" if entry is None or entry["status"] == "failed" else "missing"
                mine = None
            else:
                mine = ours(dag.get("deployment") or {})
                if theirs is None:
                    outcome = "not deployable (Airflow: @once, assets or a timetable)" if mine is None else "deployed, Airflow's is not cron/interval"
                elif mine is None:
                    outcome = "not deployable (ours)"
                else:
                    outcome = "equal" if mine == theirs else "different"
            counts[(kind, outcome)] += 1
            outcomes.append({"file": local_file, "dag_id": dag_id, "graph": graph_name, "airflow": truth["schedule"],
                             "timetable": truth.get("timetable"), "ours": sorted(mine) if mine is not None else None,
                             "outcome": outcome})
    compared = [o for o in outcomes if o["outcome"] not in ("refused", "missing")]
    scheduled = [o for o in compared if o["airflow"] != "None"]
    cron_like = [o for o in scheduled if airflow_schedule(o["airflow"])[1] is not None]
    equal = sum(o["outcome"] == "equal" for o in cron_like)
    print(f"DAGs Airflow builds: {len(outcomes)}; in the ledger: {len(compared)} "
          f"(refused files: {sum(o['outcome'] == 'refused' for o in outcomes)})")
    print(f"with a schedule (Airflow's not None): {len(scheduled)}; of them cron or interval: {len(cron_like)}")
    print(f"deployment schedule equal to Airflow's: {equal} / {len(cron_like)}")
    unscheduled = [o for o in compared if o["airflow"] == "None"]
    print(f"no schedule in Airflow: {len(unscheduled)}; deployment unscheduled too: "
          f"{sum(o['outcome'] == 'equal' for o in unscheduled)}")
    print("by Airflow schedule kind and outcome:")
    for (kind, outcome), n in sorted(counts.items()):
        print(f"  {kind:9} {outcome:55} {n}")
    different = [o for o in compared if o["outcome"] not in ("equal",)]
    for o in different[: args.list]:
        print(f"  {o['outcome']}: {o['file']} {o['dag_id']}: Airflow {o['airflow'][:60]} ({o['timetable']}), ours {o['ours']}")
    if args.json:
        args.json.write_text(json.dumps(outcomes, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
