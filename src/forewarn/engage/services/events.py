"""The event record: what a customer's journey said, acted on once by the triggers (by the job enqueued with
the events, or, when that job was lost, a while later by the sweep of forgotten events), and read back."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.engage.models import Event, Message
from forewarn.engage.services import triggers as trigger_service
from forewarn.engage.services.planning import plan
from forewarn.engage.services.waits import cancel_answered_waits, cancel_waiting_messages


def recent_events(actor: Actor, customer: Customer, limit: int = 20) -> list[Event]:
    """What the customer's journey said lately (payloads as stored: masked), newest first."""
    actor.require(Perm.ENGAGE_VIEW)
    return list(Event.objects.filter(customer=customer).order_by("-occurred_at", "-pk")[:limit])


@transaction.atomic
def process_stored_events(event_ids: list[int]) -> int:
    """Let the triggers act on stored events not yet acted on (a job runs this; run twice, it does nothing
    the second time)."""
    events = list(
        Event.objects.select_for_update()
        .filter(pk__in=event_ids, processed_at__isnull=True)
        .order_by("occurred_at", "pk")
    )
    if not events:
        return 0
    now = clock.now()
    act_on_events(events, now=now)
    Event.objects.filter(pk__in=[e.pk for e in events]).update(processed_at=now)
    return len(events)


def process_forgotten_events(*, older_than: timedelta = timedelta(minutes=2), limit: int = 1000) -> int:
    """Events whose job failed (or was deleted) are acted on all the same, a while later."""
    ids = list(
        Event.objects.filter(processed_at__isnull=True, received_at__lt=clock.now() - older_than)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    return process_stored_events(ids) if ids else 0


def act_on_events(events: list[Event], *, now: datetime) -> dict[int, int]:
    """Cancel what these events answer (a payment cancels its reminder), then fire matching triggers.
    Returns how many messages each event led to."""
    if not events:
        return {}
    # Two batches about one customer, planned at once, would each miss what the other says (its history,
    # its de-duplication keys): the second waits for the first. Ids in order, so two batches never deadlock.
    list(
        Customer.objects.select_for_update()
        .filter(pk__in={e.customer_id for e in events})
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    drafts, waiting = trigger_service.drafts_for_events(events, now=now)
    if waiting:
        Message.objects.bulk_create(waiting)
        # An answer that came before its question (a payment stored before its bill) still counts.
        cancel_answered_waits(waiting)
    # After the waits are written, so a payment in the same batch as its bill cancels the reminder.
    cancel_waiting_messages(events)
    counts: dict[int, int] = defaultdict(int)
    for message in waiting:
        if message.event_id is not None:
            counts[message.event_id] += 1
    if drafts:
        for event_id, n in plan(drafts, now=now).per_event.items():
            counts[event_id] += n
    return counts
