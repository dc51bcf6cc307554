"""What every inbound channel does once it knows the customer and the ticket: the ticket opens again if it
was waiting, the words are kept masked, and the entry is written."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from forewarn.channels.inbound import Inbound
from forewarn.core.errors import ValidationFailed
from forewarn.customers.models import Customer
from forewarn.engage.services import intake
from forewarn.inbox.models import Entry, EntryKind, Priority, Ticket, TicketStatus
from forewarn.inbox.services import assignment, sla
from forewarn.privacy.services.protect import mask_text, store_values

REOPENED_BY_THE_CUSTOMER = (TicketStatus.SOLVED, TicketStatus.CLOSED, TicketStatus.PENDING)


def open_ticket(
    customer: Customer, channel: str, first_line: str, now: datetime, *, priority: str = ""
) -> Ticket:
    """A new ticket, its subject the first words (masked) of what opened it, with its SLA clocks running
    (those of its ``priority``, normal unless given) and routed to a team and an agent who is there to
    take it."""
    subject, _hidden = mask_text(first_line, limit=300)
    ticket = Ticket(
        customer=customer,
        channel=channel,
        subject=subject,
        language=customer.language,
        priority=priority or Priority.NORMAL,
        created_at=now,
        updated_at=now,
    )
    sla.start_clocks(ticket)
    assignment.route(ticket)
    ticket.save()
    assignment.assign_next(ticket, now)
    return ticket


def record_inbound(
    ticket: Ticket,
    *,
    channel: str,
    text: str,
    now: datetime,
    html: str = "",
    provider_id: str = "",
    references: list[str] | None = None,
    address: str = "",
    at: datetime | None = None,
) -> Entry:
    """The customer wrote: their words (masked) as an inbound entry; a ticket that waited opens again.

    The ticket is read again under its row lock first: an agent's answer, a status change or the SLA
    sweep may have changed it since the caller found it, and the clocks are worked out from what is
    stored, not from that older copy."""
    masked_text, hidden = mask_text(text, "text")
    masked_html, hidden_html = mask_text(html, "html") if html else ("", [])
    with transaction.atomic():
        ticket.refresh_from_db(from_queryset=Ticket.objects.select_for_update(of=("self",)))
        fields = ["status", "last_inbound_at", "updated_at"]
        ticket.last_inbound_at = ticket.updated_at = now
        if ticket.status in REOPENED_BY_THE_CUSTOMER:
            old, ticket.status = (
                ticket.status,
                TicketStatus.OPEN,
            )  # the customer wrote again: theirs to answer
            fields += sla.status_changed(ticket, old, now)
        fields += sla.customer_wrote(ticket)
        ticket.save(update_fields=sorted(set(fields)))
        entry = Entry.objects.create(
            ticket=ticket,
            kind=EntryKind.INBOUND,
            channel=channel,
            text=masked_text,
            html=masked_html,
            provider_id=provider_id,
            references=references or [],
            address=address,
            created_at=at or now,
        )
        store_values([("inbox.entry", entry.pk, ticket.customer_id, hidden + hidden_html)])
    return entry


def checked_text(text: str, limit: int) -> str:
    """What someone typed in a public form (the chat, the portal), trimmed; refused when empty or longer
    than ``limit``."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed.single("text", "required", _("Write a message first."))
    if len(text) > limit:
        raise ValidationFailed.single(
            "text", "too_long", _("A message can be at most %(n)s characters.") % {"n": limit}
        )
    return text


def taken_in_entry(inbound: Inbound) -> Entry:
    """Take one message in by the one way in (``engage.services.intake``) and give the entry it was filed
    as, for a channel whose own filer takes every message it sends."""
    filed = intake.take_in(inbound).filed
    assert filed is not None
    assert filed.entry_id is not None
    return Entry.objects.get(pk=filed.entry_id)
