"""A ticket an agent opens on behalf of a customer: one who called, wrote somewhere the inbox does not hear,
or stands at the desk. It comes in by the one way in (``engage.services.intake``) like every message, so the
ticket gets its SLA clocks and its routing and the customer's journey a ``message_received`` event; what the
customer said is its first inbound entry, or the agent writes it down as an internal note instead (then the
journey event holds no text, since a note is never the customer's words)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.channels.inbound import Inbound
from forewarn.core import clock
from forewarn.core.errors import FieldError, NotFound, ValidationFailed
from forewarn.core.vocab import Channel
from forewarn.customers.models import Customer
from forewarn.customers.services.profiles import get_customer_for, require_active
from forewarn.customers.services.reach import addresses_of
from forewarn.engage.services import intake
from forewarn.engage.services.intake import Filed
from forewarn.inbox.models import Priority, Ticket
from forewarn.inbox.services import replies
from forewarn.inbox.services.intake.inbound import open_ticket, record_inbound

PROVIDER = "desk"
MAX_SUBJECT = 300
MAX_TEXT = 20000


@dataclass(frozen=True)
class NewTicketIn:
    customer_id: int | None
    channel: str
    subject: str
    text: str
    note: bool = False  # True: the first words are the agent's internal note, not the customer's
    priority: str = ""  # empty: normal


def _checked(actor: Actor, data: NewTicketIn) -> Customer:
    errors: list[FieldError] = []
    customer = None
    if data.customer_id is None:
        errors.append(FieldError("customer_id", "required", _("Choose the customer.")))
    else:
        try:
            customer = get_customer_for(actor, data.customer_id)
        except NotFound as exc:
            errors.append(FieldError("customer_id", "customer_not_found", exc.message))
    if data.channel not in Channel.values:
        errors.append(FieldError("channel", "invalid", _("Choose a channel.")))
    if not data.subject.strip():
        errors.append(FieldError("subject", "required", _("Give the ticket a subject.")))
    elif len(data.subject.strip()) > MAX_SUBJECT:
        errors.append(FieldError("subject", "too_long", _("At most %(n)s characters.") % {"n": MAX_SUBJECT}))
    if not data.text.strip():
        errors.append(FieldError("text", "required", _("Write what the customer said.")))
    elif len(data.text.strip()) > MAX_TEXT:
        errors.append(FieldError("text", "too_long", _("At most %(n)s characters.") % {"n": MAX_TEXT}))
    if data.priority and data.priority not in Priority.values:
        errors.append(FieldError("priority", "invalid", _("Choose a priority.")))
    if errors:
        raise ValidationFailed(errors)
    assert customer is not None
    return customer


def open_for_customer(*, actor: Actor, data: NewTicketIn) -> Ticket:
    """Open a ticket for a customer, with what they said (or the agent's note) as its first entry."""
    actor.require(Perm.TICKETS_ANSWER)
    customer = _checked(actor, data)
    require_active(customer)
    text = data.text.replace("\r\n", "\n").strip()
    subject = " ".join(data.subject.split())
    with transaction.atomic():
        filed = intake.take_in(
            Inbound(
                channel=data.channel,
                provider=PROVIDER,
                provider_message_id=f"desk:{secrets.token_hex(12)}",
                customer_id=customer.pk,
                text="" if data.note else text,
                subject=subject,
                address=addresses_of([customer.pk]).get(customer.pk, {}).get(data.channel, ""),
                details={"priority": data.priority},
            )
        ).filed
        assert filed is not None  # the inbox files every ticket opened at the desk (file_desk)
        assert filed.ticket_id is not None
        ticket = Ticket.objects.get(pk=filed.ticket_id)
        if data.note:
            replies.add_entry(actor=actor, ticket=ticket, text=text, note=True)
            ticket.refresh_from_db()
    return ticket


def file_desk(customer: Customer, inbound: Inbound) -> Filed:
    """A ticket opened at the desk is always a new one, its first words an inbound entry when there are
    any (an internal note is added by :func:`open_for_customer` once the ticket exists)."""
    now = clock.now()
    ticket = open_ticket(
        customer, inbound.channel, inbound.subject, now, priority=inbound.details.get("priority", "")
    )
    if not inbound.text:
        return Filed("created", ticket.pk)
    entry = record_inbound(
        ticket, channel=inbound.channel, text=inbound.text, address=inbound.address, now=now
    )
    return Filed("created", ticket.pk, entry.pk)
