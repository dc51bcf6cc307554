"""Web chat: a visitor's session, what they write (an inbound entry of their ticket), and what they see
(the answers since the last one they saw).

A session is opened by the widget with an optional name and email. With an email the visitor is the
customer of that address (or a new one with it); without, a new customer with no identities stands for
them until someone learns more. The first message opens a webchat ticket; later ones join it. A visitor
writes at most ``limits.LIMITS["chat"]`` messages a minute (and an IP address sends at most
``limits.LIMITS["ip"]`` requests); more is refused with a clear message, and a flood is blocked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from forewarn.channels.inbound import Inbound
from forewarn.core import clock
from forewarn.core.errors import NotFound, ValidationFailed
from forewarn.core.vocab import Channel
from forewarn.customers import normalize as norm
from forewarn.customers.models import Customer
from forewarn.customers.services.identify import INTAKE, customer_for, split_name
from forewarn.customers.services.profiles import ProfileIn, create_customer
from forewarn.engage.services.intake import Filed
from forewarn.inbox.models import ChatSession, Entry, EntryKind, TicketStatus
from forewarn.inbox.services.intake import limits
from forewarn.inbox.services.intake.email import keep_attachment
from forewarn.inbox.services.intake.inbound import checked_text, open_ticket, record_inbound, taken_in_entry

MAX_TEXT = 4000


def open_session(*, name: str = "", email: str = "", origin: str = "", ip: str = "") -> ChatSession:
    limits.check("ip", ip)
    identities = [("email", norm.normalize_email(email, path="email"))] if email.strip() else []
    # Without an email, a new customer with no identities stands for the visitor.
    given, family = split_name(name)
    customer = (
        customer_for(identities, source="webchat", given_name=given, family_name=family)
        if identities
        else None
    )
    if customer is None:
        customer = create_customer(
            actor=INTAKE,
            data=ProfileIn(given_name=given[:100], family_name=family[:100]),
            source="webchat",
            anonymous=True,
        )
    return ChatSession.objects.create(
        token=secrets.token_urlsafe(24), customer=customer, origin=origin[:255], created_at=clock.now()
    )


def get_session(token: str) -> ChatSession:
    session = ChatSession.objects.select_related("customer").filter(token=token).first()
    if session is None:
        raise NotFound(_("This chat has ended; open a new one."), code="chat_not_found")
    return session


def write(session: ChatSession, text: str, *, ip: str = "") -> Entry:
    """What the visitor wrote, as an inbound entry of the session's ticket (``limits``: at most
    ``LIMITS["chat"]`` a minute per session, ``LIMITS["ip"]`` per address)."""
    limits.check("ip", ip)
    limits.check("chat", session.token)
    text = checked_text(text, MAX_TEXT)
    return taken_in_entry(
        Inbound(
            channel=Channel.WEBCHAT,
            provider="webchat",
            customer_id=session.customer_id,
            text=text,
            details={"chat_session": session.pk},
        )
    )


def file_chat_line(customer: Customer, inbound: Inbound) -> Filed:
    """A chat line joins the session's ticket, or opens one (the first line, or after it was closed, or
    when the visitor's profile was merged into another since)."""
    now = clock.now()
    session = ChatSession.objects.select_for_update().get(pk=inbound.details["chat_session"])
    ticket = session.ticket
    status = "threaded"
    if ticket is None or ticket.status == TicketStatus.CLOSED or ticket.customer_id != customer.pk:
        first_line = inbound.text.splitlines()[0][:120]
        ticket, status = open_ticket(customer, Channel.WEBCHAT, first_line, now), "created"
        session.ticket = ticket
        session.save(update_fields=["ticket"])
    entry = record_inbound(ticket, channel=Channel.WEBCHAT, text=inbound.text, now=now)
    return Filed(status, ticket.pk, entry.pk)


def conversation(session: ChatSession, *, after: int = 0) -> list[dict[str, Any]]:
    """What the visitor sees: their words and the answers, after entry ``after`` (notes never)."""
    if session.ticket_id is None:
        return []
    rows = Entry.objects.filter(ticket_id=session.ticket_id, pk__gt=after).exclude(kind=EntryKind.NOTE)
    return [
        {
            "id": e.pk,
            "from": "you" if e.kind == EntryKind.INBOUND else "us",
            "text": e.text,
            "at": e.created_at.isoformat(),
        }
        for e in rows.order_by("pk")
    ]


def attach(
    session: ChatSession, *, name: str, content_type: str, size: int, read: Callable[[], bytes], ip: str = ""
) -> Entry:
    """A file the visitor sent: an inbound entry naming it, with the file kept (or refused if too large:
    the visitor is told, nothing is stored, and a large file is never read into memory)."""
    limits.check("ip", ip)
    limits.check("chat", session.token)
    if size > settings.FOREWARN_ATTACHMENT_MAX_BYTES:
        raise ValidationFailed.single(
            "file",
            "too_large",
            _("Files can be at most %(mb)s MB.")
            % {"mb": settings.FOREWARN_ATTACHMENT_MAX_BYTES // (1024 * 1024)},
        )
    data = read() if size else b""
    if not data:
        raise ValidationFailed.single("file", "required", _("Choose a file first."))
    name = (name or "file")[:255]
    entry = write(session, f"📎 {name}", ip="")
    keep_attachment(entry, name, content_type, data)
    return entry
