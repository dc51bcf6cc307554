"""SMS, Telegram and Viber in: a customer's message, heard by the provider callbacks and taken in by the
intake pipeline (``engage.services.intake``), becomes an entry of their open ticket on that channel, or
of a new one.

The callbacks check the provider's signature and drop STOP replies (those are opt-outs); the pipeline
finds the customer and records the journey event; this only files what is left. The provider's message id
makes a callback sent twice one entry. A ticket is "open on that channel" while it is not closed and the
customer wrote in it within ``REOPEN_WITHIN``; after that, a new message starts a new conversation.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction

from forewarn.channels.inbound import Inbound
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.engage.services.intake import Filed
from forewarn.inbox.models import Entry, Ticket, TicketStatus
from forewarn.inbox.services.intake import limits
from forewarn.inbox.services.intake.inbound import open_ticket, record_inbound

REOPEN_WITHIN = timedelta(days=7)
logger = logging.getLogger(__name__)


def file_reply(customer: Customer, inbound: Inbound) -> Filed:
    """File one SMS or messenger message in the customer's open ticket on that channel, or a new one."""
    provider_id = f"{inbound.provider}:{inbound.provider_message_id}" if inbound.provider_message_id else ""
    if provider_id:
        filed = Entry.objects.filter(channel=inbound.channel, provider_id=provider_id).first()
        if filed is not None:
            return Filed("duplicate", filed.ticket_id, filed.pk)
    try:
        limits.check("sms", f"{inbound.channel}:{inbound.address}")
    except limits.Limited:
        # A flood from one number is not filed (the journey still hears it): answering each would cost
        # more than the flood, so the block list, not a reply, is what stops it.
        logger.warning("inbound %s from a limited sender dropped", inbound.channel)
        return Filed("dropped")
    now = clock.now()
    try:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update()
                .filter(customer=customer, channel=inbound.channel, last_inbound_at__gte=now - REOPEN_WITHIN)
                .exclude(status=TicketStatus.CLOSED)
                .order_by("-last_inbound_at")
                .first()
            )
            status = "threaded"
            if ticket is None:
                first_line = inbound.text.split("\n", 1)[0][:120]
                ticket, status = open_ticket(customer, inbound.channel, first_line, now), "created"
            entry = record_inbound(
                ticket,
                channel=inbound.channel,
                text=inbound.text,
                provider_id=provider_id,
                address=inbound.address,
                at=inbound.occurred_at,
                now=now,
            )
    except IntegrityError:  # the same callback, filed a moment ago by another request
        return Filed("duplicate")
    return Filed(status, ticket.pk, entry.pk)
