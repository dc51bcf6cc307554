"""The event record: what a customer's journey said, acted on once by the triggers (by the job enqueued with
the events, or, when that job was lost, a while later by the sweep of forgotten events), and read back."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.engage.models import Event
from forewarn.engage.services.firing import act_on_events


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


# How many forgotten events are acted on in one transaction.
FORGOTTEN_BATCH = 1000


def process_forgotten_events(
    *, older_than: timedelta = timedelta(minutes=2), limit: int = FORGOTTEN_BATCH
) -> int:
    """Events whose job failed (or was deleted) are acted on all the same, a while later."""
    ids = list(
        Event.objects.filter(processed_at__isnull=True, received_at__lt=clock.now() - older_than)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
    return process_stored_events(ids) if ids else 0


def sweep_forgotten_events(*, batches: int = 10) -> int:
    """The periodic duty: forgotten events are acted on a batch at a time, until none is left or
    ``batches`` were (the rest are taken next time). Safe in several processes at once: each batch locks
    its events, and one already acted on is passed over."""
    acted = 0
    for _n in range(batches):
        count = process_forgotten_events()
        acted += count
        if count < FORGOTTEN_BATCH:
            break
    return acted
