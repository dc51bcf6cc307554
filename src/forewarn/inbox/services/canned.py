"""Canned replies: prepared answers per language, their variables filled in for one ticket when an agent
inserts one (the agent reads and may change the words before sending)."""

from __future__ import annotations

from django.db.models import QuerySet

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core.errors import NotFound
from forewarn.engage.services.planning import customer_context
from forewarn.engage.templating import render
from forewarn.inbox.models import CannedReply, Ticket


def canned_for(actor: Actor, ticket: Ticket) -> QuerySet[CannedReply]:
    """The replies in the ticket's language (the customer's), falling back to every language."""
    actor.require(Perm.TICKETS_VIEW)
    language = ticket.language or ticket.customer.language
    rows = CannedReply.objects.filter(language=language) if language else CannedReply.objects.all()
    return rows if rows.exists() else CannedReply.objects.all()


def fill(actor: Actor, ticket: Ticket, canned_id: int) -> str:
    actor.require(Perm.TICKETS_ANSWER)
    canned = CannedReply.objects.filter(pk=canned_id).first()
    if canned is None:
        raise NotFound("No such canned reply.", code="canned_reply_not_found")
    context = {
        "customer": customer_context(ticket.customer),
        "ticket": {"id": ticket.pk, "subject": ticket.subject},
        "agent": {"name": str(actor)},
    }
    return render(canned.body, context)
