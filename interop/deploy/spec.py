"""From a converted folder and its ledger to the deployments of ``prefect.yaml``.

One deployment per DAG: the DAG's flow as entrypoint, its dag_id as name, its description
(``description`` then ``doc_md``), tags, the params' defaults as parameters, its schedule as
Prefect schedules (the timezone of ``start_date``), ``max_active_runs`` as the deployment's
``concurrency_limit``, and the work pool given on the command line. What the ledger says a
deployment cannot carry (an asset schedule, ``@once``, a pool with no known size) is returned
as a note, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from converters.task_options import POOL_TAG  # the tag a converted task of an Airflow pool has

#: the package converted flows import their runtime helpers from
RUNTIME_PACKAGE = "airflow-interop"
#: with a shimmed operator: Airflow itself (the extra pins the Airflow the shim is tested with)
SHIM_PACKAGE = "airflow-interop[runtime]"
WORK_POOL_TYPES = ("process", "docker", "kubernetes")
#: where the flows are inside the image for docker / kubernetes work pools (the image's WORKDIR)
IMAGE_WORKDIR = "/opt/prefect/flows"
#: sub-packages of ``airflow.providers.*`` that end a provider's name
_PROVIDER_STOP = {"operators", "sensors", "hooks", "transfers", "triggers", "utils", "decorators", "cloud", "aws", "example_dags"}


@dataclass
class Note:
    """Something about one DAG's deployment a person should know (printed, and exit 1 if ``hand``)."""

    dag_id: str
    message: str
    hand: bool = False


@dataclass
class Plan:
    """Everything ``interop deploy`` writes and applies."""

    deployments: list[dict[str, Any]] = field(default_factory=list)
    #: tag -> slots of the tag-based concurrency limits to create (Airflow pools)
    concurrency_limits: dict[str, int] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    #: dag_id -> whether it had ``catchup=True`` (for ``interop backfill``)
    catchup: dict[str, bool] = field(default_factory=dict)
    #: dag_id -> start_date (ISO, the DAG's timezone) of a ``@once`` DAG: ``--apply`` makes its one run
    once: dict[str, str | None] = field(default_factory=dict)


def provider_package(module: str) -> str | None:
    """The pip package of an operator's module: ``airflow.providers.google.cloud.operators.x`` ->
    ``apache-airflow-providers-google``; Airflow's own operators -> ``apache-airflow``; a team's
    own module -> None (it ships with the flows)."""
    parts = module.split(".")
    if parts[:2] == ["airflow", "providers"]:
        name = []
        for part in parts[2:]:
            if part in _PROVIDER_STOP:
                break
            name.append(part.replace("_", "-"))
        return "apache-airflow-providers-" + "-".join(name) if name else None
    if parts[0] == "airflow":
        return "apache-airflow"
    return None


def locate(flows_dir: Path, ledger_path: str) -> Path | None:
    """The converted file for a ledger path: the longest tail of it that exists under ``flows_dir``
    (``interop convert dags --out flows`` writes ``dags/a/b.py`` as ``flows/a/b.py``)."""
    parts = [p for p in PurePosixPath(ledger_path.replace("\\", "/")).parts if p != "/" and not p.endswith(":")]
    for i in range(len(parts)):
        candidate = flows_dir.joinpath(*parts[i:])
        if candidate.is_file():
            return candidate
    return None


def schedules_for(facts: dict[str, Any], default_major: int | None = None) -> tuple[list[dict[str, Any]] | None, str | None]:
    """Prefect schedules for a DAG's ledger facts, or (None, why not)."""
    source = facts.get("schedule_source") or ""
    schedules = facts.get("schedules")
    if source.startswith("absent"):
        major = default_major or facts.get("airflow_major") or 2
        schedules = [{"interval": 86400}] if major == 2 else []
    if schedules is None:
        return None, f"schedule {facts.get('airflow_schedule', '?')} has no Prefect schedule (see the IX403 finding)"
    out = []
    tz = facts.get("timezone") or "UTC"
    for entry in schedules:
        item = dict(entry)
        item.setdefault("timezone", tz)
        if "interval" in item and facts.get("start_date"):
            item["anchor_date"] = facts["start_date"]
        if facts.get("is_paused_upon_creation") is True:
            item["active"] = False
        out.append(item)
    return out, None


def build(
    flows_dir: Path,
    ledger: dict[str, Any],
    *,
    work_pool: str,
    work_pool_type: str = "process",
    work_queue: str | None = None,
    image: str | None = None,
    pool_slots: dict[str, int] | None = None,
    default_major: int | None = None,
) -> Plan:
    """The deployments of every converted DAG of ``ledger`` found under ``flows_dir``.

    Args:
        flows_dir: the folder ``interop convert --out`` wrote.
        ledger: the JSON ledger (``--report``) of that conversion.
        work_pool: the Prefect work pool the deployments run on.
        work_pool_type: ``process``, ``docker`` or ``kubernetes`` (what the job variables say).
        image: the image of docker / kubernetes deployments.
        pool_slots: Airflow pool -> slots (``airflow pools export``); a pool not listed gets a note.
        default_major: 2 or 3 to say which Airflow's default applies to a DAG with no schedule
            argument (daily in Airflow 2, none in Airflow 3); None reads it from each file's imports.

    Returns:
        A :class:`Plan`; deployments are in ledger order.
    """
    if work_pool_type not in WORK_POOL_TYPES:
        raise ValueError(f"work pool type must be one of {', '.join(WORK_POOL_TYPES)}, not {work_pool_type!r}")
    pool_slots = dict(pool_slots or {})
    plan = Plan()
    all_packages: set[str] = set()
    for entry in ledger.get("files", []):
        if entry.get("status") not in ("converted", "partial") or not entry.get("dags"):
            continue
        target = locate(flows_dir, entry["path"])
        for dag in entry["dags"]:
            dag_id = dag["dag_id"]
            facts = dag.get("deployment") or {}
            if target is None:
                plan.notes.append(Note(dag_id, f"no converted file for {entry['path']} under {flows_dir}", hand=True))
                continue
            if not facts.get("flow_function"):
                plan.notes.append(Note(dag_id, "the ledger has no deployment facts: convert again with this version", hand=True))
                continue
            rel = target.relative_to(flows_dir).as_posix()
            deployment: dict[str, Any] = {"name": dag_id, "entrypoint": f"{rel}:{facts['flow_function']}"}
            description = "\n\n".join(t for t in (facts.get("description"), facts.get("doc_md")) if t)
            if description:
                deployment["description"] = description
            if facts.get("tags"):
                deployment["tags"] = list(facts["tags"])
            if facts.get("parameters"):
                deployment["parameters"] = dict(facts["parameters"])
            schedules, why = schedules_for(facts, default_major)
            if schedules is None and facts.get("airflow_schedule", "").strip("\"'") == "@once":
                # Airflow runs it once, as soon as it can from start_date: --apply makes that run
                plan.once[dag_id] = facts.get("start_date")
                plan.notes.append(Note(dag_id, "@once: no Prefect schedule; `interop deploy --apply` creates its one run "
                                               "(at start_date, or now) when the deployment has none"))
                schedules = []
            elif schedules is None:
                plan.notes.append(Note(dag_id, f"deployed without a schedule: {why}", hand=True))
                schedules = []
            deployment["schedules"] = schedules
            if facts.get("triggers"):  # a DAG scheduled on an asset: runs on its materialization event
                deployment["triggers"] = [dict(t) for t in facts["triggers"]]
            if isinstance(facts.get("max_active_runs"), int) and facts["max_active_runs"] > 0:
                deployment["concurrency_limit"] = {"limit": facts["max_active_runs"], "collision_strategy": "ENQUEUE"}
            packages = {RUNTIME_PACKAGE}
            if any(task.get("disposition") == "shimmed" for task in dag.get("tasks", [])):
                packages.add(SHIM_PACKAGE)
            for module in facts.get("shimmed_modules") or []:
                package = provider_package(module)
                if package and package != "apache-airflow":
                    packages.add(package)
            if SHIM_PACKAGE in packages:
                packages.discard(RUNTIME_PACKAGE)
            all_packages |= packages
            job_variables: dict[str, Any] = {}
            if work_pool_type in ("docker", "kubernetes"):
                if image:
                    job_variables["image"] = image
                job_variables["env"] = {"EXTRA_PIP_PACKAGES": " ".join(sorted(packages))}
            deployment["work_pool"] = {"name": work_pool, "work_queue_name": work_queue, "job_variables": job_variables}
            for pool, task_ids in (facts.get("pools") or {}).items():
                tag = POOL_TAG.format(pool=pool)
                if pool in pool_slots:
                    plan.concurrency_limits[tag] = pool_slots[pool]
                elif tag not in plan.concurrency_limits:
                    plan.notes.append(
                        Note(dag_id, f"pool {pool!r} (tasks {', '.join(task_ids)}): its size is not known; "
                             f"give --pool {pool}=SLOTS or --pools-file (airflow pools export)", hand=True)
                    )
            if facts.get("catchup"):
                plan.catchup[dag_id] = True
                plan.notes.append(
                    Note(dag_id, "catchup=True: Prefect schedules no past runs; create them with "
                         f"`interop backfill {dag_id}/{dag_id} --start ... --end ...`")
                )
            plan.deployments.append(deployment)
    if SHIM_PACKAGE in all_packages:
        all_packages.discard(RUNTIME_PACKAGE)
    plan.requirements = sorted(all_packages)
    return plan


def document(plan: Plan, flows_dir: Path, *, work_pool_type: str = "process", workdir: str | None = None,
             install_requirements: bool = False) -> dict[str, Any]:
    """The ``prefect.yaml`` document of ``plan`` (pull steps: the flows' folder on the worker)."""
    from prefect import __version__ as prefect_version

    directory = workdir or (str(flows_dir.resolve()) if work_pool_type == "process" else IMAGE_WORKDIR)
    pull: list[dict[str, Any]] = [{"prefect.deployments.steps.set_working_directory": {"directory": directory}}]
    if install_requirements and plan.requirements:
        pull.append({"prefect.deployments.steps.pip_install_requirements": {"requirements_file": "requirements.txt"}})
    return {
        "name": flows_dir.resolve().name,
        "prefect-version": prefect_version,
        "build": None,
        "push": None,
        "pull": pull,
        "deployments": plan.deployments,
    }
