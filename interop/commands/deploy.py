"""``interop deploy``, ``interop backfill`` and ``interop import-variables``.

``interop deploy FLOWS --report LEDGER`` writes ``FLOWS/prefect.yaml`` (one deployment per
converted DAG) and, with ``--apply``, creates the work pool and the pools' concurrency limits
and runs ``prefect deploy --all`` against the server of the current Prefect profile.

Exit codes (all three commands): 0 done; 1 done, but something needs a hand (a DAG deployed
without its schedule, a pool of unknown size, a merge conflict, a variable skipped); 2 an error
(a missing file, an unreadable ledger, a server or ``prefect deploy`` failure).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
import yaml

from interop.deploy import merge as merging
from interop.deploy import spec

EXIT_OK, EXIT_HAND, EXIT_ERROR = 0, 1, 2
#: the last generated prefect.yaml, the base of the next merge
GENERATED = Path(".interop") / "prefect.generated.yaml"
HEADER = (
    "# Written by `interop deploy` from the conversion ledger. Edit freely: the next\n"
    "# `interop deploy` keeps every edit that does not conflict with a change of the DAGs\n"
    "# (the last generated version is in .interop/prefect.generated.yaml).\n"
)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _pools(pool: tuple[str, ...], pools_file: str | None) -> dict[str, int]:
    slots: dict[str, int] = {}
    if pools_file:
        data = json.loads(Path(pools_file).read_text(encoding="utf-8"))
        # `airflow pools export`: {"name": {"slots": N, "description": ...}} (or a list of such records)
        items = data.items() if isinstance(data, dict) else ((d.get("pool") or d.get("name"), d) for d in data)
        for name, record in items:
            slots[str(name)] = int(record["slots"] if isinstance(record, dict) else record)
    for item in pool:
        name, sep, value = item.rpartition("=")
        if not sep or not name or not value.isdigit():
            raise click.BadParameter(f"{item!r}: give NAME=SLOTS", param_hint="--pool")
        slots[name] = int(value)
    return slots


def _dump(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


@click.command()
@click.argument("flows", type=click.Path(exists=True, file_okay=False))
@click.option("--report", "report_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The JSON ledger `interop convert --report` wrote for FLOWS.")
@click.option("--work-pool", default="airflow-interop", show_default=True, help="The Prefect work pool of every deployment.")
@click.option("--work-pool-type", type=click.Choice(spec.WORK_POOL_TYPES), default="process", show_default=True,
              help="Its type: job variables (image, EXTRA_PIP_PACKAGES) and the flows' folder on the worker follow it.")
@click.option("--work-queue", default=None, help="A work queue of the pool (default: the pool's default queue).")
@click.option("--image", default=None, help="The image of docker / kubernetes deployments (flows under /opt/prefect/flows).")
@click.option("--workdir", default=None, help="The flows' folder on the worker (default: FLOWS for process pools).")
@click.option("--pool", multiple=True, metavar="NAME=SLOTS", help="An Airflow pool's size (repeatable).")
@click.option("--pools-file", type=click.Path(exists=True, dir_okay=False), help="Pool sizes from `airflow pools export FILE`.")
@click.option("--no-schedule-default", "default_major", flag_value=3, default=None,
              help="A DAG with no schedule argument is unscheduled (Airflow 3). Default: read from each file's imports.")
@click.option("--daily-default", "default_major", flag_value=2,
              help="A DAG with no schedule argument runs daily (Airflow 1.10/2.x).")
@click.option("--install-requirements", is_flag=True,
              help="Add a pull step installing FLOWS/requirements.txt on the worker before each run (process pools).")
@click.option("--apply", "do_apply", is_flag=True,
              help="Create the work pool and the pools' concurrency limits and run `prefect deploy --all`.")
def deploy(flows, report_file, work_pool, work_pool_type, work_queue, image, workdir, pool, pools_file, default_major,
           install_requirements, do_apply):
    """Write FLOWS/prefect.yaml, one deployment per converted DAG, and optionally apply it.

    A prefect.yaml edited by hand is merged, not overwritten: edits that do not conflict with a
    change of the DAGs are kept. FLOWS/requirements.txt lists what the worker needs (the
    operator shim's providers). Exit codes: 0 done, 1 something needs a hand, 2 an error.
    """
    flows_dir = Path(flows)
    try:
        ledger = json.loads(Path(report_file).read_text(encoding="utf-8"))
        slots = _pools(pool, pools_file)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _fail(f"cannot read {report_file if not pools_file else 'the ledger or pools file'}: {exc}")
    plan = spec.build(flows_dir, ledger, work_pool=work_pool, work_pool_type=work_pool_type, work_queue=work_queue,
                      image=image, pool_slots=slots, default_major=default_major)
    ours = spec.document(plan, flows_dir, work_pool_type=work_pool_type, workdir=workdir,
                         install_requirements=install_requirements)
    target = flows_dir / "prefect.yaml"
    base_file = flows_dir / GENERATED
    theirs = yaml.safe_load(target.read_text(encoding="utf-8")) if target.exists() else None
    base = yaml.safe_load(base_file.read_text(encoding="utf-8")) if base_file.exists() else None
    merged = merging.merge(base, ours, theirs)
    target.write_text(HEADER + _dump(merged.document), encoding="utf-8")
    base_file.parent.mkdir(parents=True, exist_ok=True)
    base_file.write_text(_dump(ours), encoding="utf-8")
    (flows_dir / "requirements.txt").write_text("".join(f"{r}\n" for r in plan.requirements), encoding="utf-8")
    needs_hand = bool(merged.conflicts) or any(n.hand for n in plan.notes)
    for note in plan.notes:
        click.echo(f"{note.dag_id}: {note.message}", err=True)
    for path in merged.kept:
        click.echo(f"prefect.yaml: kept the hand edit of {path}", err=True)
    for conflict in merged.conflicts:
        click.echo(f"prefect.yaml: conflict at {conflict}", err=True)
    click.echo(f"{target}: {len(plan.deployments)} deployment(s), work pool {work_pool!r} ({work_pool_type}); "
               f"{len(plan.concurrency_limits)} pool limit(s); requirements: {', '.join(plan.requirements) or 'none'}")
    if do_apply:
        from interop.deploy import apply

        try:
            for line in apply.ensure_server_objects(work_pool, work_pool_type, plan.concurrency_limits):
                click.echo(line)
            apply.prefect_deploy(flows_dir)
            timezones = {d["dag_id"]: (d.get("deployment") or {}).get("timezone") for f in ledger.get("files", []) for d in f.get("dags", [])}
            for line in apply.run_once(plan.once, timezones):
                click.echo(line)
        except apply.ApplyError as exc:
            _fail(str(exc))
        click.echo(f"applied: {len(merged.document.get('deployments') or [])} deployment(s) on the Prefect server")
    sys.exit(EXIT_HAND if needs_hand else EXIT_OK)


def _when(value: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date or date-time (2024-01-01, 2024-01-01T06:00+02:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


@click.command()
@click.argument("deployment")
@click.option("--start", required=True, help="First time of the range (ISO; UTC when no offset).")
@click.option("--end", required=True, help="Last time of the range, inclusive (ISO; UTC when no offset).")
@click.option("--dry-run", is_flag=True, help="List the runs it would create; create none.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def backfill(deployment, start, end, dry_run, as_json):
    """Create one flow run per interval of DEPLOYMENT's schedules between --start and --end.

    Airflow's catchup: each run is Scheduled at the time Airflow would have run it (the flow's
    logical_date), once; times that already have a run are skipped. DEPLOYMENT is
    FLOW/DEPLOYMENT (converted DAGs: DAG_ID/DAG_ID; a bare DAG_ID means that).
    """
    from interop.deploy.backfill import backfill as run_backfill

    name = deployment if "/" in deployment else f"{deployment}/{deployment}"
    try:
        result = run_backfill(name, _when(start), _when(end), dry_run=dry_run)
    except click.BadParameter:
        raise
    except Exception as exc:  # noqa: BLE001 - the server's answer, named
        _fail(f"backfill of {name}: {type(exc).__name__}: {exc}")
    if as_json:
        click.echo(json.dumps({
            "deployment": result.deployment,
            "created": [t.isoformat() for t in result.created],
            "existing": [t.isoformat() for t in result.existing],
            "dry_run": dry_run,
        }, indent=2))
    else:
        verb = "would create" if dry_run else "created"
        for when in result.created:
            click.echo(f"{verb} {when.isoformat()}")
        click.echo(f"{name}: {len(result.times)} interval(s) in range, {len(result.created)} {verb}, "
                   f"{len(result.existing)} already had a run")
    sys.exit(EXIT_OK)


@click.command("import-variables")
@click.option("--from-api", "api_url", default=None,
              help="A live Airflow's base URL (credentials: AIRFLOW_API_TOKEN or AIRFLOW_API_USERNAME/AIRFLOW_API_PASSWORD).")
@click.option("--api-version", type=click.Choice(["v1", "v2"]), default=None, help="Skip detection (v2: Airflow 3, v1: 2.x).")
@click.option("--from-file", "export_file", type=click.Path(exists=True, dir_okay=False),
              help="The JSON of `airflow variables export FILE`.")
@click.option("--sensitive", type=click.Choice(["variable", "secret-block", "skip"]), default="variable", show_default=True,
              help="Keys Airflow masks (password, secret, token ...): a Prefect Variable, a Secret block, or skipped.")
@click.option("--overwrite/--no-overwrite", default=True, show_default=True, help="Replace Prefect Variables that exist.")
@click.option("--dry-run", is_flag=True, help="Say what would be imported; write nothing.")
def import_variables(api_url, api_version, export_file, sensitive, overwrite, dry_run):
    """Import Airflow Variables into Prefect Variables (never printing a value).

    From a live Airflow's REST API (v2 or v1) or an `airflow variables export` file. Keys
    become Prefect names (lowercase; characters other than a-z 0-9 - _ become _).
    """
    from interop.deploy import variables

    if bool(api_url) == bool(export_file):
        raise click.UsageError("give one of --from-api URL or --from-file FILE")
    try:
        values = variables.from_export(Path(export_file)) if export_file else variables.from_api(api_url, api_version)
    except Exception as exc:  # noqa: BLE001 - the client's messages are redacted; a file's never holds a value
        _fail(f"cannot read the Airflow Variables: {type(exc).__name__}: {exc}")
    try:
        outcome = variables.import_variables(values, overwrite=overwrite, sensitive=sensitive, dry_run=dry_run)
    except Exception as exc:  # noqa: BLE001
        _fail(f"cannot write Prefect Variables: {type(exc).__name__}")
    verb = "would import" if dry_run else "imported"
    for key, name in outcome.imported:
        flag = " (sensitive)" if variables.is_sensitive(key) else ""
        click.echo(f"{verb} {key} -> Prefect Variable {name}{flag}")
    for key, block in outcome.secrets:
        click.echo(f"{verb} {key} -> Prefect Secret block {block} (sensitive)")
    for key, why in outcome.skipped:
        click.echo(f"skipped {key}: {why}", err=True)
    click.echo(f"{len(outcome.imported)} variable(s), {len(outcome.secrets)} secret block(s) {verb}; {len(outcome.skipped)} skipped")
    sys.exit(EXIT_HAND if outcome.skipped else EXIT_OK)
