"""Weather stations QA, written with the TaskFlow API (``airflow.sdk``).

Shows: ``@dag`` / ``@task``, data passed between tasks by return values and arguments,
``@task(multiple_outputs=True)`` whose dict keys become separate XComs, one task reused under
two ids with ``.override(task_id=...)``, ``get_current_context()`` and DAG ``params``.
"""

from __future__ import annotations

import pendulum

from airflow.sdk import dag, get_current_context, task

READINGS = {
    "north": [3.5, 4.0, -1.0, 2.5],
    "south": [12.0, 11.5, 13.0, 99.0],
}


@dag(
    dag_id="weather_taskflow",
    schedule="@hourly",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    params={"max_celsius": 50.0},
    tags=["taskflow", "weather"],
)
def weather_taskflow():
    @task
    def fetch(station: str) -> list[float]:
        """Readings of one station for the run's day."""
        return list(READINGS[station])

    @task(multiple_outputs=True)
    def clean(north: list[float], south: list[float]) -> dict:
        """Drop readings above the plausible maximum; report what was dropped."""
        limit = get_current_context()["params"]["max_celsius"]
        kept = {"north": [r for r in north if r <= limit], "south": [r for r in south if r <= limit]}
        dropped = len(north) + len(south) - len(kept["north"]) - len(kept["south"])
        return {"kept": kept, "dropped": dropped}

    @task
    def summarise(kept: dict, dropped: int) -> dict:
        """Mean per station, with the run's date."""
        ds = get_current_context()["ds"]
        means = {name: round(sum(vals) / len(vals), 3) for name, vals in sorted(kept.items())}
        return {"ds": ds, "means": means, "dropped": dropped}

    north = fetch.override(task_id="fetch_north")("north")
    south = fetch.override(task_id="fetch_south")("south")
    cleaned = clean(north, south)
    summarise(cleaned["kept"], cleaned["dropped"])


weather_taskflow()
