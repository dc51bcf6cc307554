"""SMS, Telegram and Viber in: a customer's reply, heard by the provider callbacks (engage), becomes an
entry of their open ticket on that channel, or of a new one.

The callbacks check the provider's signature, drop STOP replies (those are opt-outs) and find the
customer; this only files what is left. The provider's message id makes a callback sent twice one entry.
A ticket is "open on that channel" while it is not closed and the customer wrote in it within
``REOPEN_WITHIN``; after that, a new message starts a new conversation.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction

from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.inbox.models import Entry, Ticket, TicketStatus
from forewarn.inbox.services import limits
from forewarn.inbox.services.inbound import open_ticket, record_inbound

REOPEN_WITHIN = timedelta(days=7)
logger = logging.getLogger(__name__)


def file_reply(customer: Customer, event: Any) -> Entry | None:
    """File one inbound message (``channels.callbacks.CallbackEvent``) in a ticket; None if already filed."""
    provider_id = f"{event.provider}:{event.provider_message_id}" if event.provider_message_id else ""
    if provider_id and Entry.objects.filter(channel=event.channel, provider_id=provider_id).exists():
        return None
    try:
        limits.check("sms", f"{event.channel}:{event.address}")
    except limits.Limited:
        # A flood from one number is not filed (the journey still hears it): answering each would cost
        # more than the flood, so the block list, not a reply, is what stops it.
        logger.warning("inbound %s from a limited sender dropped", event.channel)
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
            if ticket is None:
                ticket = open_ticket(customer, event.channel, (event.text or "").split("\n", 1)[0][:120], now)
            entry = record_inbound(
                ticket,
                channel=event.channel,
                text=event.text or "",
                provider_id=provider_id,
                address=event.address,
                at=event.occurred_at,
                now=now,
            )
    except IntegrityError:  # the same callback, filed a moment ago by another request
        return None
    return entry
