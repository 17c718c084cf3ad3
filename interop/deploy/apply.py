"""Apply a generated ``prefect.yaml``: the work pool, the pools' concurrency limits, ``prefect deploy --all``.

Talks to the Prefect server of the current profile (``PREFECT_API_URL``); Prefect is imported
here only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class ApplyError(RuntimeError):
    """``prefect deploy`` or a Prefect API call failed; the message says which and why."""


async def _ensure(work_pool: str, work_pool_type: str, limits: dict[str, int]) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    done = []
    async with get_client() as client:
        try:
            await client.read_work_pool(work_pool)
        except ObjectNotFound:
            await client.create_work_pool(WorkPoolCreate(name=work_pool, type=work_pool_type))
            done.append(f"work pool {work_pool!r} ({work_pool_type}) created")
        for tag, slots in sorted(limits.items()):
            await client.create_concurrency_limit(tag=tag, concurrency_limit=slots)
            done.append(f"concurrency limit {tag!r}: {slots} slot(s)")
    return done


def ensure_server_objects(work_pool: str, work_pool_type: str, limits: dict[str, int]) -> list[str]:
    """Create the work pool if it does not exist and a tag-based concurrency limit per pool."""
    import asyncio

    try:
        return asyncio.run(_ensure(work_pool, work_pool_type, limits))
    except Exception as exc:  # noqa: BLE001 - reported with the server's URL
        raise ApplyError(f"Prefect API at {os.environ.get('PREFECT_API_URL', '(profile)')}: {type(exc).__name__}: {exc}") from None


def prefect_deploy(flows_dir: Path, names: list[str] | None = None, timeout: float = 900) -> str:
    """``prefect --no-prompt deploy --all`` (or ``--name`` each) in ``flows_dir``; its output."""
    cmd = [sys.executable, "-m", "prefect", "--no-prompt", "deploy"]
    if names:
        for name in names:
            cmd += ["--name", name]
    else:
        cmd.append("--all")
    env = dict(os.environ)
    # the flows import their own folder's modules (helpers, plugins/) as Airflow's dags folder did
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(flows_dir.resolve()), env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(cmd, cwd=flows_dir, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise ApplyError(f"`prefect deploy` failed ({done.returncode}):\n{output[-4000:]}")
    return output


async def _run_once(once: dict[str, str | None], timezones: dict[str, str]) -> list[str]:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.states import Scheduled

    done = []
    now = dt.datetime.now(dt.timezone.utc)
    async with get_client() as client:
        for dag_id, start in sorted(once.items()):
            deployment = await client.read_deployment_by_name(f"{dag_id}/{dag_id}")
            runs = await client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])), limit=1)
            if runs:
                continue
            when = now
            if start:
                begin = dt.datetime.fromisoformat(start)
                begin = begin if begin.tzinfo else begin.replace(tzinfo=ZoneInfo(timezones.get(dag_id) or "UTC"))
                when = max(now, begin)
            await client.create_flow_run_from_deployment(
                deployment.id, state=Scheduled(scheduled_time=when), idempotency_key=f"interop-once:{deployment.id}",
            )
            done.append(f"{dag_id}: its @once run scheduled at {when.isoformat()}")
    return done


def run_once(once: dict[str, str | None], timezones: dict[str, str]) -> list[str]:
    """The one run of each ``@once`` DAG (Airflow runs it as soon as it can from its start_date),
    made only when its deployment has no run yet."""
    import asyncio

    if not once:
        return []
    try:
        return asyncio.run(_run_once(once, timezones))
    except Exception as exc:  # noqa: BLE001 - reported with the server's URL
        raise ApplyError(f"Prefect API at {os.environ.get('PREFECT_API_URL', '(profile)')}: {type(exc).__name__}: {exc}") from None
