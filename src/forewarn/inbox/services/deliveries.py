"""Answers that could not be sent: where each stands, for the agent on the ticket page and in the API,
and sending one again, on its channel or on another the customer can be reached on."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.core.errors import NotFound
from forewarn.customers.services.reach import addresses_of
from forewarn.engage.services.answers import Delivery, delivery_of, is_stuck, retry_answer
from forewarn.inbox.models import Entry, Ticket


def deliveries_of(entries: Sequence[Entry]) -> dict[int, Delivery]:
    """{entry id: where its answer stands} for the entries that carry one; the addresses of the
    customers whose answers could not go are read once, for the page's "send by" choice."""
    carried = [(e.pk, e.message) for e in entries if e.message_id is not None and e.message is not None]
    stuck = {m.customer_id for _pk, m in carried if is_stuck(m)}
    reachable = addresses_of(stuck) if stuck else {}
    return {pk: delivery_of(m, reachable.get(m.customer_id, {})) for pk, m in carried}


def delivery_for(entry: Entry) -> Delivery | None:
    """Where one entry's answer stands; None for an entry that carries none."""
    return delivery_of(entry.message) if entry.message_id is not None and entry.message is not None else None


@transaction.atomic
def send_again(*, actor: Actor, ticket: Ticket, entry_id: int, channel: str = "") -> Entry:
    """Send an answer that could not be sent again now, on its channel or on ``channel``; the entry then
    says where it went. The ticket is one ``actor`` may see (``get_ticket_for``)."""
    actor.require(Perm.TICKETS_ANSWER)
    entry = ticket.entries.select_related("message").filter(pk=entry_id, message__isnull=False).first()
    if entry is None or entry.message is None:
        raise NotFound(_("No such answer in this ticket."), code="answer_not_found")
    message = retry_answer(entry.message, now=clock.now(), by=str(actor), channel=channel)
    if (entry.channel, entry.address) != (message.channel, message.address):
        entry.channel, entry.address = message.channel, message.address
        entry.save(update_fields=["channel", "address"])
    entry.message = message
    return entry
