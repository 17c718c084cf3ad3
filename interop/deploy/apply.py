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
