"""Canned replies: prepared answers per language, their variables filled in for one ticket when an agent
inserts one (the agent reads and may change the words before sending)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core.errors import NotFound
from forewarn.customers.services.reach import CONTEXT_FIELDS, context_of, customer_context
from forewarn.engage.templating import render
from forewarn.inbox.models import CannedReply, Ticket


def _context(customer: dict[str, Any], ticket_id: int | None, subject: str, agent: str) -> dict[str, Any]:
    return {"customer": customer, "ticket": {"id": ticket_id, "subject": subject}, "agent": {"name": agent}}


# What a canned reply may print: what ``fill`` fills in, read off the same context so the two cannot part
# (``customer.first_name``...; the attributes are each customer's own, so any ``customer.attributes.x``).
ATTRIBUTES = "customer.attributes."
VARIABLES = tuple(
    f"{part}.{name}"
    for part, values in _context(context_of([""] * len(CONTEXT_FIELDS)), None, "", "").items()
    for name in values
    if f"{part}.{name}." != ATTRIBUTES
)


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
    context = _context(customer_context(ticket.customer), ticket.pk, ticket.subject, str(actor))
    return render(canned.body, context)
