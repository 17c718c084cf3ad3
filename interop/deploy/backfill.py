"""``interop backfill``: Airflow's catchup on Prefect, one flow run per missed interval.

Prefect schedules only future runs. For a deployment and a time range, the runs its schedules
would have made in that range are created as Scheduled flow runs at their scheduled times (the
converted flow's ``logical_date`` defaults to the run's scheduled start). A time that already
has a run of the deployment (an earlier backfill, or the scheduler's own) is not made twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

#: at most this many runs per call (a guard against a typo in --start)
MAX_RUNS = 10000


@dataclass
class Backfill:
    """What ``interop backfill`` did for one deployment."""

    deployment: str
    times: list[dt.datetime] = field(default_factory=list)
    created: list[dt.datetime] = field(default_factory=list)
    existing: list[dt.datetime] = field(default_factory=list)


async def occurrences(schedules: list[Any], start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Every time in ``[start, end]`` of the deployment's active schedules, sorted, in UTC."""
    from prefect.server.schemas import schedules as server_schedules

    kinds = {"cron": server_schedules.CronSchedule, "interval": server_schedules.IntervalSchedule,
             "rrule": server_schedules.RRuleSchedule}
    times: set[dt.datetime] = set()
    for item in schedules:
        if getattr(item, "active", True) is False:
            continue
        raw = item.schedule.model_dump(mode="json", exclude_none=True)
        kind = next(k for k in kinds if k in raw)
        schedule = kinds[kind](**raw)
        for when in await schedule.get_dates(n=MAX_RUNS, start=start, end=end):
            if start <= when <= end:
                times.add(when.astimezone(dt.timezone.utc))
    return sorted(times)


async def _backfill(name: str, start: dt.datetime, end: dt.datetime, dry_run: bool) -> Backfill:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
    )
    from prefect.states import Scheduled

    async with get_client() as client:
        deployment = await client.read_deployment_by_name(name)
        out = Backfill(name, await occurrences(deployment.schedules or [], start, end))
        have: set[dt.datetime] = set()
        offset = 0
        while True:  # every run of the deployment in the range, a page at a time
            page = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                flow_run_filter=FlowRunFilter(expected_start_time=FlowRunFilterExpectedStartTime(after_=start, before_=end)),
                limit=200,
                offset=offset,
            )
            have |= {r.expected_start_time.astimezone(dt.timezone.utc) for r in page if r.expected_start_time}
            offset += len(page)
            if len(page) < 200:
                break
        for when in out.times:
            if when in have:
                out.existing.append(when)
                continue
            out.created.append(when)
            if not dry_run:
                await client.create_flow_run_from_deployment(
                    deployment.id,
                    state=Scheduled(scheduled_time=when),
                    idempotency_key=f"interop-backfill:{deployment.id}:{when.isoformat()}",
                    tags=["backfill"],
                )
    return out


def backfill(name: str, start: dt.datetime, end: dt.datetime, dry_run: bool = False) -> Backfill:
    """Create the flow runs of deployment ``name`` (``flow/deployment``) in ``[start, end]``.

    Naive ``start``/``end`` are taken as UTC."""
    import asyncio

    start, end = (t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc) for t in (start, end))
    if end < start:
        raise ValueError(f"--end {end.isoformat()} is before --start {start.isoformat()}")
    return asyncio.run(_backfill(name, start, end, dry_run))
