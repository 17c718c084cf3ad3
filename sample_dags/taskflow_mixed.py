"""Support-ticket triage: Airflow 2 TaskFlow (``airflow.decorators``) mixed with classic operators.

Shows: ``@dag`` / ``@task`` from ``airflow.decorators``; a ``@task`` fed by a classic operator's
``.output``; a classic ``PythonOperator`` fed by a ``@task`` result through ``op_kwargs``; a
``@task`` with ``**context`` reading ``ds`` and ``params``; a ``@task`` pushing an explicit key
with ``ti.xcom_push`` next to its return value; ``>>`` between a TaskFlow call and an operator.
"""

from __future__ import annotations

import pendulum

from airflow.decorators import dag, task
from airflow.operators.python import PythonOperator

TICKETS = [
    {"id": "T-1", "subject": "Refund not received", "priority": "high"},
    {"id": "T-2", "subject": "How do I export data?", "priority": "low"},
    {"id": "T-3", "subject": "Login broken after update", "priority": "high"},
    {"id": "T-4", "subject": "Invoice address wrong", "priority": "medium"},
]
QUEUES = {"high": "tier2", "medium": "tier1", "low": "self-service"}


def load_tickets():
    """Classic callable: the day's open tickets."""
    return TICKETS


def publish_counts(per_queue, sla_hours):
    """Classic callable fed by a TaskFlow result through ``op_kwargs``."""
    return {queue: {"tickets": n, "sla_hours": sla_hours[queue]} for queue, n in sorted(per_queue.items())}


@dag(
    dag_id="ticket_triage_mixed",
    schedule="*/30 * * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    params={"team": "support-emea"},
    tags=["support"],
)
def ticket_triage_mixed():
    tickets = PythonOperator(task_id="load_tickets", python_callable=load_tickets)

    @task
    def route(open_tickets: list, **context):
        """Assign every ticket to a queue; push the high-priority ids under their own key."""
        routed = {t["id"]: QUEUES[t["priority"]] for t in open_tickets}
        urgent = sorted(t["id"] for t in open_tickets if t["priority"] == "high")
        context["ti"].xcom_push(key="urgent", value=urgent)
        return {"ds": context["ds"], "team": context["params"]["team"], "routed": routed}

    @task
    def count_per_queue(routing: dict) -> dict:
        counts: dict[str, int] = {}
        for queue in routing["routed"].values():
            counts[queue] = counts.get(queue, 0) + 1
        return counts

    @task
    def sla_table():
        return {"tier2": 4, "tier1": 24, "self-service": 72}

    routing = route(tickets.output)
    counts = count_per_queue(routing)
    publish = PythonOperator(
        task_id="publish_counts",
        python_callable=publish_counts,
        op_kwargs={"per_queue": counts, "sla_hours": sla_table()},
    )
    tickets >> publish


ticket_triage_mixed()
