"""Email in: one raw message becomes an entry of a ticket, threaded, sanitised, masked and idempotent.

What arrives is parsed with the standard library's modern policy, which reads broken MIME as far as it
can and records defects instead of failing. Then, in order:

1. **Auto-replies and bounces** are recognised (``Auto-Submitted``, ``X-Autoreply``, ``Precedence``,
   out-of-office subjects in uk/ru/en; ``multipart/report`` delivery reports, mailer-daemon senders) and
   never become tickets: an out-of-office answer to an answer would otherwise open a ticket of its own.
2. **Idempotency**: the Message-ID (or, without one, a digest of the message) is the entry's provider id;
   the same message twice is stored once.
3. **The customer** is found by the sender's address, or created with it, and the message is a journey
   event, as on every channel (``engage.services.intake``, which then has the inbox file it here).
4. **Threading**: a message that answers (``In-Reply-To``, ``References``) an entry of a ticket joins that
   ticket; failing that, a ``[#123]`` token in the subject joins ticket 123 if it is the same customer's;
   otherwise a new ticket opens. A solved ticket the customer writes to again opens again
   (``inbound.record_inbound``, shared by every channel).
5. **Words**: the plain-text part (or the HTML part made text), and the HTML part sanitised with
   ``nh3`` (no scripts, no event handlers, no styles that load anything); both masked (privacy).
6. **Attachments** are kept by content (sha256) under the data directory, up to a size per file and per
   message; larger ones are listed as refused, not stored.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

import nh3
from django.conf import settings
from django.db import IntegrityError
from django.db.models import Q
from django.utils.translation import gettext as _

from forewarn.channels.inbound import Inbound, InboundFile
from forewarn.core import clock
from forewarn.core.errors import ServiceError
from forewarn.core.vocab import Channel
from forewarn.customers import normalize as norm
from forewarn.customers.models import Customer
from forewarn.engage.services import intake
from forewarn.engage.services.intake import Filed
from forewarn.inbox.models import Attachment, Entry, Ticket
from forewarn.inbox.services.inbound import open_ticket, record_inbound

MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")
TICKET_TOKEN_RE = re.compile(r"\[#(\d{1,12})\]")
AUTO_SUBJECT_RE = re.compile(
    r"^\s*(?:auto(?:matic)?[\s:-]*(?:reply|response)|out of (?:the )?office|autoreply|автовідповідь"
    r"|автоответ|автоматична відповідь|автоматический ответ|відсутн\w* в офісі|нет на месте)",
    re.IGNORECASE,
)
BOUNCE_SENDERS = ("mailer-daemon", "postmaster")


@dataclass
class Received:
    status: str  # created, threaded, duplicate, auto_reply, bounce
    ticket_id: int | None = None
    entry_id: int | None = None


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError):  # a header the parser could not make sense of
        return ""
    return str(value or "").strip()


def _is_bounce(message: EmailMessage, sender: str) -> bool:
    if message.get_content_type() == "multipart/report":
        return True
    local = sender.partition("@")[0].lower()
    return local in BOUNCE_SENDERS


def _is_auto_reply(message: EmailMessage) -> bool:
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return True
    if _header(message, "Precedence").lower() in {"bulk", "junk", "auto_reply", "list"}:
        return True
    return bool(AUTO_SUBJECT_RE.match(_header(message, "Subject")))


def _words(message: EmailMessage) -> tuple[str, str]:
    """(text, sanitised HTML) of the message's body."""
    text = html = ""
    try:
        plain = message.get_body(preferencelist=("plain",))
        rich = message.get_body(preferencelist=("html",))
        if plain is not None:
            text = str(plain.get_content())
        if rich is not None:
            html = str(rich.get_content())
    except (LookupError, KeyError, ValueError, AssertionError):  # an unknown charset, a broken part
        payload = message.get_payload(decode=True)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    safe = nh3.clean(html, url_schemes={"http", "https", "mailto", "tel"}) if html else ""
    if not text and safe:
        text = html_lib.unescape(nh3.clean(re.sub(r"(?i)<br\s*/?>|</p>", "\n", safe), tags=set())).strip()
    return text.strip(), safe


def _attachments(message: EmailMessage) -> list[InboundFile]:
    """Each attachment, its bytes None when refused (too large for a file, or for the message)."""
    per_file = settings.FOREWARN_ATTACHMENT_MAX_BYTES
    total_left = settings.FOREWARN_MESSAGE_ATTACHMENTS_MAX_BYTES
    out = []
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        name = (part.get_filename() or "attachment")[:255]
        kept = data if len(data) <= per_file and len(data) <= total_left else None
        if kept is not None:
            total_left -= len(data)
        out.append(InboundFile(name, part.get_content_type(), len(data), kept))
    return out


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


def _sent_at(message: EmailMessage, now: datetime) -> datetime:
    try:
        when = parsedate_to_datetime(_header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return now
    if when.tzinfo is None or when > now:
        return now
    return when


def receive_email(raw: bytes, *, received_at: datetime | None = None, provider: str = "email") -> Received:
    """Turn one raw message into a ticket entry (or recognise it as an auto-reply, bounce or repeat):
    parsed here, then taken in like every inbound message (``engage.services.intake``)."""
    now = received_at or clock.now()
    message: Any = message_from_bytes(raw, policy=policy.default)
    senders = getaddresses([_header(message, "From")])
    display, address = senders[0] if senders else ("", "")
    if _is_bounce(message, address):
        return Received("bounce")
    if _is_auto_reply(message):
        return Received("auto_reply")
    try:
        address = norm.normalize_email(address, path="from")
    except ServiceError as exc:
        raise ServiceError(_("The sender's address is missing or not valid."), code="sender_invalid") from exc
    ids = MESSAGE_ID_RE.findall(_header(message, "Message-ID"))
    provider_id = ids[0] if ids else f"<sha256:{hashlib.sha256(raw).hexdigest()}>"
    existing = Entry.objects.filter(channel=Channel.EMAIL, provider_id=provider_id).first()
    if existing is not None:
        return Received("duplicate", existing.ticket_id, existing.pk)
    references = MESSAGE_ID_RE.findall(_header(message, "In-Reply-To")) + list(
        reversed(MESSAGE_ID_RE.findall(_header(message, "References")))
    )
    text, safe_html = _words(message)
    inbound = Inbound(
        channel=Channel.EMAIL,
        provider=provider,
        provider_message_id=provider_id,
        identities=(("email", address),),
        name=display,
        subject=_header(message, "Subject")[:300],
        text=text,
        html=safe_html,
        address=address,
        occurred_at=_sent_at(message, now),
        references=tuple(references),
        files=tuple(_attachments(message)),
        details={"received_at": now},
    )
    try:
        filed = intake.take_in(inbound).filed
    except IntegrityError:  # the same message, stored a moment ago by another receiver
        existing = Entry.objects.filter(channel=Channel.EMAIL, provider_id=provider_id).first()
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
