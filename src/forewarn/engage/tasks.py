"""Background jobs for engage: thin wrappers that call services."""

from __future__ import annotations

from django_tasks import task

from forewarn.engage.services import events, incidents


@task(queue_name="events")
def process_events(event_ids: list[int]) -> int:
    return events.process_stored_events(event_ids)


@task(queue_name="broadcasts")
def broadcast_incident(incident_id: int, kind: str) -> int:
    return incidents.broadcast(incident_id, kind)
