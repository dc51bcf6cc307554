"""What an agent should know about the person in front of them, beside the conversation: open incidents
that affect them, what Forewarn told them lately, what their journey says is on its way (deliveries,
bills), how satisfied they are and in which segments, and their other open tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.engage.models import Event, Incident, Message
from forewarn.engage.reasons import describe_risk
from forewarn.engage.services.incidents import affected_customers
from forewarn.engage.services.risk import of_attributes
from forewarn.engage.services.words import ANSWER_KIND
from forewarn.inbox.models import Ticket
from forewarn.inbox.services.assignment import ACTIVE
from forewarn.inbox.services.tickets import tickets_visible_to

# Journey events that mean something is on its way or owed: an agent is asked about these first.
PENDING_EVENT_TYPES = (
    "order_shipped", "order_delayed", "bill_issued", "payment_due", "flight_delayed", "delivery_scheduled",
    "parcel_arrived",
)  # fmt: skip
RECENT = timedelta(days=30)


@dataclass
class Hints:
    incidents: list[Incident] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    pending: list[Event] = field(default_factory=list)
    other_tickets: list[Ticket] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    risk: str = ""  # why a promotion would be unwelcome, in the reader's words
    satisfaction: dict[str, Any] = field(default_factory=dict)


def hints_for(actor: Actor, ticket: Ticket) -> Hints:
    actor.require(Perm.TICKETS_VIEW)
    customer = ticket.customer
    now = clock.now()
    hints = Hints(
        segments=list(customer.segments.values_list("name", flat=True)),
        risk=describe_risk(of_attributes(customer.attributes or {}, now)),
        satisfaction={
            k: v for k, v in (customer.attributes or {}).items() if k in {"last_nps", "last_csat", "last_ces"}
        },
        other_tickets=list(
            tickets_visible_to(actor)
            .filter(customer=customer, status__in=ACTIVE)
            .exclude(pk=ticket.pk)
            .order_by("-updated_at")[:5]
        ),
    )
    if actor.may(Perm.ENGAGE_VIEW):
        hints.incidents = [
            incident
            for incident in Incident.objects.filter(status=Incident.Status.OPEN).order_by("-started_at")[:20]
            if affected_customers(incident.audience).filter(pk=customer.pk).exists()
        ]
        hints.messages = list(
            Message.objects.filter(customer=customer, planned_at__gte=now - RECENT)
            .exclude(kind=ANSWER_KIND)
            .select_related("trigger", "incident")
            .order_by("-planned_at")[:5]
        )
        hints.pending = list(
            Event.objects.filter(
                customer=customer, type__in=PENDING_EVENT_TYPES, occurred_at__gte=now - RECENT
            ).order_by("-occurred_at")[:5]
        )
    return hints
