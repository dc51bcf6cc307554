"""Reading tickets: the inbox list with its filters, and one ticket with what was said in it."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core.errors import NotFound
from forewarn.inbox.models import Ticket


def list_tickets(
    actor: Actor, *, status: str = "", channel: str = "", customer_id: int | None = None
) -> QuerySet[Ticket]:
    actor.require(Perm.TICKETS_VIEW)
    rows = Ticket.objects.select_related("customer")
    if status:
        rows = rows.filter(status=status)
    if channel:
        rows = rows.filter(channel=channel)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows


def get_ticket_for(actor: Actor, ticket_id: int) -> Ticket:
    actor.require(Perm.TICKETS_VIEW)
    ticket = (
        Ticket.objects.select_related("customer")
        .prefetch_related("entries__attachments")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound(_("No such ticket."), code="ticket_not_found")
    return ticket
