"""Email in, as the inbox files it: parsed by the channel (``channels.email``: auto-replies and bounces
recognised, words sanitised, attachments read), taken in by the pipeline (``engage.services.intake``:
the customer by the sender's address, a journey event), then here:

1. **Idempotency**: the Message-ID (or a digest of the message) is the entry's provider id; the same
   message twice is stored once.
2. **Threading**: a message that answers (``In-Reply-To``, ``References``) an entry of a ticket joins that
   ticket; failing that, a ``[#123]`` token in the subject joins ticket 123 if it is the same customer's;
   otherwise a new ticket opens. A solved ticket the customer writes to again opens again
   (``inbound.record_inbound``, shared by every channel).
3. **Words** are masked (privacy) as every inbound entry's are.
4. **Attachments** are kept by content (sha256) under the data directory; refused ones are listed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Q
from django.utils.translation import gettext as _

from forewarn.channels.email import parse_email
from forewarn.channels.inbound import Inbound
from forewarn.core import clock
from forewarn.core.errors import ServiceError
from forewarn.core.vocab import Channel
from forewarn.customers import normalize as norm
from forewarn.customers.models import Customer
from forewarn.engage.services import intake
from forewarn.engage.services.intake import Filed
from forewarn.inbox.models import Attachment, Entry, Ticket
from forewarn.inbox.services.intake.inbound import open_ticket, record_inbound

TICKET_TOKEN_RE = re.compile(r"\[#(\d{1,12})\]")


@dataclass
class Received:
    status: str  # created, threaded, duplicate, auto_reply, bounce
    ticket_id: int | None = None
    entry_id: int | None = None


def _thread(references: list[str], subject: str, customer: Customer) -> Ticket | None:
    if references:
        # What the customer answers: a message of theirs, or one of our answers (its Message-ID is the
        # one the outbox's provider gave it).
        entry = (
            Entry.objects.filter(
                Q(provider_id__in=references) | Q(message__provider_message_id__in=references),
                channel=Channel.EMAIL,
            )
            .select_related("ticket")
            .order_by("-created_at")
            .first()
        )
        if entry is not None:
            return _surviving(entry.ticket)
    token = TICKET_TOKEN_RE.search(subject)
    if token:
        found = Ticket.objects.filter(pk=int(token.group(1)), customer=customer).first()
        return _surviving(found) if found else None
    return None


def _surviving(ticket: Ticket) -> Ticket:
    """A ticket merged into another is continued there."""
    seen = {ticket.pk}
    while ticket.merged_into_id is not None and ticket.merged_into_id not in seen:
        seen.add(ticket.merged_into_id)
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


def receive_email(raw: bytes, *, received_at: datetime | None = None, provider: str = "email") -> Received:
    """Turn one raw message into a ticket entry (or recognise it as an auto-reply, bounce or repeat):
    parsed by the channel (``channels.email``), then taken in like every inbound message
    (``engage.services.intake``), which has the inbox file it (``file_email``)."""
    now = received_at or clock.now()
    parsed = parse_email(raw, provider=provider, received_at=now)
    if isinstance(parsed, str):
        return Received(parsed)
    try:
        address = norm.normalize_email(parsed.address, path="from")
    except ServiceError as exc:
        raise ServiceError(_("The sender's address is missing or not valid."), code="sender_invalid") from exc
    existing = Entry.objects.filter(channel=Channel.EMAIL, provider_id=parsed.provider_message_id).first()
    if existing is not None:
        return Received("duplicate", existing.ticket_id, existing.pk)
    try:
        filed = intake.take_in(replace(parsed, address=address, identities=(("email", address),))).filed
    except IntegrityError:  # the same message, stored a moment ago by another receiver
        existing = Entry.objects.filter(channel=Channel.EMAIL, provider_id=parsed.provider_message_id).first()
        if existing is None:
            raise
        return Received("duplicate", existing.ticket_id, existing.pk)
    assert filed is not None  # the inbox files every email (file_email)
    return Received(filed.status, filed.ticket_id, filed.entry_id)


def file_email(customer: Customer, inbound: Inbound) -> Filed:
    """File an email: threaded into the ticket it answers, or a new ticket; its files kept."""
    existing = Entry.objects.filter(channel=Channel.EMAIL, provider_id=inbound.provider_message_id).first()
    if existing is not None:
        return Filed("duplicate", existing.ticket_id, existing.pk)
    now = inbound.details.get("received_at") or clock.now()
    ticket = _thread(list(inbound.references), inbound.subject, customer)
    status = "threaded"
    if ticket is None:
        ticket, status = open_ticket(customer, Channel.EMAIL, inbound.subject, now), "created"
    entry = record_inbound(
        ticket,
        channel=Channel.EMAIL,
        text=inbound.text,
        html=inbound.html,
        provider_id=inbound.provider_message_id,
        references=list(inbound.references),
        address=inbound.address,
        at=inbound.occurred_at,
        now=now,
    )
    for file in inbound.files:
        keep_attachment(entry, file.name, file.content_type, file.data, size=file.size)
    return Filed(status, ticket.pk, entry.pk)


def keep_attachment(
    entry: Entry, name: str, content_type: str, data: bytes | None, *, size: int | None = None
) -> Attachment:
    """Store a file of an entry by its content (or list it as refused when ``data`` is None)."""
    digest = ""
    if data is not None:
        digest = hashlib.sha256(data).hexdigest()
        _keep(digest, data)
    return Attachment.objects.create(
        entry=entry,
        filename=name,
        content_type=content_type[:127],
        size=size if size is not None else len(data or b""),
        sha256=digest,
        refused="" if data is not None else "too_large",
    )


def attachment_path(digest: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "attachments" / digest[:2] / digest


def _keep(digest: str, data: bytes) -> None:
    path = attachment_path(digest)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def take_raw_email(raw: bytes, provider: str) -> str:
    """The SMTP receiver's and the IMAP poller's way in (``channels.smtp``, ``channels.imap``): what
    became of the message, in a word."""
    return receive_email(raw, provider=provider).status
