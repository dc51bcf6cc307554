"""SMS, Telegram and Viber in: a customer's reply, heard by the provider callbacks (engage), becomes an
entry of their open ticket on that channel, or of a new one.

The callbacks check the provider's signature, drop STOP replies (those are opt-outs) and find the
customer; this only files what is left. The provider's message id makes a callback sent twice one entry.
A ticket is "open on that channel" while it is not closed and the customer wrote in it within
``REOPEN_WITHIN``; after that, a new message starts a new conversation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction

from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.inbox.models import Entry, EntryKind, Ticket, TicketStatus
from forewarn.privacy.services.protect import mask_text, store_values

REOPEN_WITHIN = timedelta(days=7)


def file_reply(customer: Customer, event: Any) -> Entry | None:
    """File one inbound message (``channels.callbacks.CallbackEvent``) in a ticket; None if already filed."""
    provider_id = f"{event.provider}:{event.provider_message_id}" if event.provider_message_id else ""
    if provider_id and Entry.objects.filter(channel=event.channel, provider_id=provider_id).exists():
        return None
    now = clock.now()
    try:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update()
                .filter(customer=customer, channel=event.channel, last_inbound_at__gte=now - REOPEN_WITHIN)
                .exclude(status=TicketStatus.CLOSED)
                .order_by("-last_inbound_at")
                .first()
            )
            text, hidden = mask_text(event.text or "", "text")
            if ticket is None:
                subject = text.splitlines()[0][:120] if text else ""
                ticket = Ticket.objects.create(
                    customer=customer, channel=event.channel, subject=subject, created_at=now, updated_at=now
                )
            elif ticket.status in (TicketStatus.SOLVED, TicketStatus.PENDING):
                ticket.status = TicketStatus.OPEN
            ticket.last_inbound_at = ticket.updated_at = now
            ticket.save(update_fields=["status", "last_inbound_at", "updated_at"])
            entry = Entry.objects.create(
                ticket=ticket,
                kind=EntryKind.INBOUND,
                channel=event.channel,
                text=text,
                provider_id=provider_id,
                created_at=event.occurred_at or now,
            )
            store_values([("inbox.entry", entry.pk, customer.pk, hidden)])
    except IntegrityError:  # the same callback, filed a moment ago by another request
        return None
    return entry
