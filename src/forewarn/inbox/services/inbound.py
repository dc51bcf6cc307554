"""What every inbound channel does once it knows the customer and the ticket: the ticket opens again if it
was waiting, the words are kept masked, and the entry is written."""

from __future__ import annotations

from datetime import datetime

from forewarn.customers.models import Customer
from forewarn.inbox.models import Entry, EntryKind, Ticket, TicketStatus
from forewarn.privacy.services.protect import mask_text, store_values

REOPENED_BY_THE_CUSTOMER = (TicketStatus.SOLVED, TicketStatus.CLOSED, TicketStatus.PENDING)


def open_ticket(customer: Customer, channel: str, first_line: str, now: datetime) -> Ticket:
    """A new ticket, its subject the first words (masked) of what opened it."""
    subject, _hidden = mask_text(first_line, limit=300)
    return Ticket.objects.create(
        customer=customer, channel=channel, subject=subject, created_at=now, updated_at=now
    )


def record_inbound(
    ticket: Ticket,
    *,
    channel: str,
    text: str,
    now: datetime,
    html: str = "",
    provider_id: str = "",
    references: list[str] | None = None,
    at: datetime | None = None,
) -> Entry:
    """The customer wrote: their words (masked) as an inbound entry; a ticket that waited opens again."""
    if ticket.status in REOPENED_BY_THE_CUSTOMER:
        ticket.status = TicketStatus.OPEN  # the customer wrote again: it is theirs to answer
    ticket.last_inbound_at = ticket.updated_at = now
    ticket.save(update_fields=["status", "last_inbound_at", "updated_at"])
    masked_text, hidden = mask_text(text, "text")
    masked_html, hidden_html = mask_text(html, "html") if html else ("", [])
    entry = Entry.objects.create(
        ticket=ticket,
        kind=EntryKind.INBOUND,
        channel=channel,
        text=masked_text,
        html=masked_html,
        provider_id=provider_id,
        references=references or [],
        created_at=at or now,
    )
    store_values([("inbox.entry", entry.pk, ticket.customer_id, hidden + hidden_html)])
    return entry
