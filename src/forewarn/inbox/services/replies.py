"""Staff answers and notes in a ticket.

An answer in a web chat is delivered by the chat itself (the visitor's widget receives it). Answers on
email, SMS and messengers will go through the engage outbox, as every outbound message does; until then
the form offers answers only where the chat delivers them, and notes everywhere.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.core.errors import Conflict, ValidationFailed
from forewarn.core.vocab import Channel
from forewarn.inbox.models import Entry, EntryKind, Ticket, TicketStatus
from forewarn.privacy.services.protect import mask_text, store_values

ANSWERED_HERE = {Channel.WEBCHAT}


def may_answer(ticket: Ticket) -> bool:
    return ticket.channel in ANSWERED_HERE


def add_entry(*, actor: Actor, ticket: Ticket, text: str, note: bool = False) -> Entry:
    actor.require(Perm.TICKETS_ANSWER)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed.single("text", "required", _("Write the answer first."))
    if not note and not may_answer(ticket):
        raise Conflict(
            _("Answers on this channel are not available yet; add a note."), code="channel_not_answerable"
        )
    now = clock.now()
    with transaction.atomic():
        masked, hidden = mask_text(text, "text")
        entry = Entry.objects.create(
            ticket=ticket,
            kind=EntryKind.NOTE if note else EntryKind.OUTBOUND,
            channel=ticket.channel,
            author_id=actor.user_id,
            text=masked,
            created_at=now,
        )
        store_values([("inbox.entry", entry.pk, ticket.customer_id, hidden)])
        fields = ["updated_at"]
        ticket.updated_at = now
        if not note:
            if ticket.first_response_at is None:
                ticket.first_response_at = now
                fields.append("first_response_at")
            if ticket.status == TicketStatus.NEW:
                ticket.status = TicketStatus.OPEN
                fields.append("status")
        ticket.save(update_fields=fields)
    return entry
