"""Email as it arrives: one raw message (from the SMTP receiver, an IMAP poll or a mail gateway) parsed into
the one shape every channel hands to the intake pipeline (``channels.inbound.Inbound``).

It is parsed with the standard library's modern policy, which reads broken MIME as far as it can and
records defects instead of failing. Auto-replies and bounces are recognised (``Auto-Submitted``,
``X-Autoreply``, ``Precedence``, out-of-office subjects in uk/ru/en; ``multipart/report`` delivery reports,
mailer-daemon senders) and never become inbound messages: an out-of-office answer to an answer would
otherwise open a ticket of its own. The Message-ID (or, without one, a digest of the message) is its
provider id, so the same message twice is one. The words are the plain-text part (or the HTML part made
text) and the HTML part sanitised with ``nh3`` (no scripts, no event handlers, no styles that load
anything); attachments are kept up to a size per file and per message, larger ones listed as refused.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

import nh3
from django.conf import settings

from forewarn.channels.inbound import Inbound, InboundFile, Sender

MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")
AUTO_SUBJECT_RE = re.compile(
    r"^\s*(?:auto(?:matic)?[\s:-]*(?:reply|response)|out of (?:the )?office|autoreply|автовідповідь"
    r"|автоответ|автоматична відповідь|автоматический ответ|відсутн\w* в офісі|нет на месте)",
    re.IGNORECASE,
)
BOUNCE_SENDERS = ("mailer-daemon", "postmaster")
BOUNCE, AUTO_REPLY = "bounce", "auto_reply"


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


def _sent_at(message: EmailMessage, now: datetime) -> datetime:
    try:
        when = parsedate_to_datetime(_header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return now
    if when.tzinfo is None or when > now:
        return now
    return when


def parse_email(raw: bytes, *, provider: str, received_at: datetime) -> Inbound | str:
    """The message as an inbound email (its sender's address as written: the pipeline normalises it),
    or ``BOUNCE`` / ``AUTO_REPLY`` for what is no customer speaking."""
    message: Any = message_from_bytes(raw, policy=policy.default)
    senders = getaddresses([_header(message, "From")])
    display, address = senders[0] if senders else ("", "")
    if _is_bounce(message, address):
        return BOUNCE
    if _is_auto_reply(message):
        return AUTO_REPLY
    ids = MESSAGE_ID_RE.findall(_header(message, "Message-ID"))
    references = MESSAGE_ID_RE.findall(_header(message, "In-Reply-To")) + list(
        reversed(MESSAGE_ID_RE.findall(_header(message, "References")))
    )
    text, safe_html = _words(message)
    return Inbound(
        channel="email",
        provider=provider,
        provider_message_id=ids[0] if ids else f"<sha256:{hashlib.sha256(raw).hexdigest()}>",
        identities=(("email", address),),
        sender=Sender.named(display),
        subject=_header(message, "Subject")[:300],
        text=text,
        html=safe_html,
        address=address,
        occurred_at=_sent_at(message, received_at),
        references=tuple(references),
        files=tuple(_attachments(message)),
        details={"received_at": received_at},
    )
