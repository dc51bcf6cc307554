"""The customer portal: a customer reads and answers their own tickets through a signed link, with no
account. The link names the customer and when it was made; it is good for ``LINK_DAYS`` and only for that
customer's tickets. Internal notes are never shown. What a customer writes there is an inbound entry of
the ticket, as if they had written on its channel, and the answer goes back on that channel."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from forewarn.channels.inbound import Inbound
from forewarn.core import clock
from forewarn.core.errors import NotFound
from forewarn.customers.models import Customer
from forewarn.customers.services.merging import surviving
from forewarn.engage.services.intake import Filed
from forewarn.inbox.models import Entry, EntryKind, Ticket
from forewarn.inbox.services.intake import limits
from forewarn.inbox.services.intake.inbound import checked_text, record_inbound, taken_in_entry

SALT = "forewarn.portal"
PROVIDER = "portal"
LINK_DAYS = 30
MAX_TEXT = 4000


def link_for(customer: Customer) -> str:
    token = signing.dumps({"c": customer.pk}, salt=SALT, compress=True)
    return settings.FOREWARN_PUBLIC_URL.rstrip("/") + reverse("portal:home", args=[token])


def customer_of(token: str) -> Customer:
    try:
        data = signing.loads(token, salt=SALT, max_age=timedelta(days=LINK_DAYS))
    except signing.SignatureExpired as exc:
        raise NotFound(_("This link has expired; ask us for a new one."), code="link_expired") from exc
    except signing.BadSignature as exc:
        raise NotFound(_("This link is not valid."), code="link_invalid") from exc
    customer = Customer.objects.filter(pk=data.get("c")).first()
    if customer is None:
        raise NotFound(_("This link is not valid."), code="link_invalid")
    return surviving(customer)  # a link made before a merge serves the profile that lives on


def tickets_of(customer: Customer) -> QuerySet[Ticket]:
    """The customer's tickets, those of the profiles merged into theirs included."""
    whose = Q(customer=customer) | Q(customer__merged_into=customer)
    return Ticket.objects.filter(whose, merged_into__isnull=True).order_by("-updated_at")


def ticket_of(customer: Customer, ticket_id: int) -> Ticket:
    ticket = tickets_of(customer).filter(pk=ticket_id).first()
    if ticket is None:  # someone else's, or none: the same answer, so ids cannot be probed
        raise NotFound(_("No such request."), code="ticket_not_found")
    return ticket


def conversation(ticket: Ticket) -> QuerySet[Entry]:
    return ticket.entries.exclude(kind=EntryKind.NOTE).order_by("created_at", "pk")


def write(customer: Customer, ticket: Ticket, text: str, *, ip: str = "") -> Entry:
    limits.check("ip", ip)
    limits.check("portal", str(customer.pk))
    text = checked_text(text, MAX_TEXT)
    return taken_in_entry(
        Inbound(
            channel=ticket.channel,
            provider=PROVIDER,
            customer_id=customer.pk,
            text=text,
            address=PROVIDER,
            details={"ticket_id": ticket.pk},
        )
    )


def file_portal_answer(customer: Customer, inbound: Inbound) -> Filed:
    """What a customer wrote in the portal joins the ticket they answered, as if on its channel."""
    ticket = tickets_of(customer).select_for_update(of=("self",)).get(pk=inbound.details["ticket_id"])
    now = clock.now()
    entry = record_inbound(ticket, channel=ticket.channel, text=inbound.text, address=PROVIDER, now=now)
    return Filed("threaded", ticket.pk, entry.pk)
