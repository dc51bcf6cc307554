"""What a channel heard, in one shape for every channel: the value an adapter makes of an email, an SMS,
a messenger update, a chat line, a portal answer or a phone call, and hands to the intake pipeline
(``engage.services.intake``), which finds the customer, records the journey event and has it filed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class InboundFile:
    name: str
    content_type: str
    size: int
    data: bytes | None  # None: refused (too large), listed but not kept


@dataclass(frozen=True)
class Inbound:
    channel: str  # core.vocab.Channel
    provider: str  # who handed it over: smtp, imap, gateway, twilio, telegram, viber, webchat, portal...
    # The provider's id of the message, unique on its channel (an email's Message-ID, "call:<id>"): the
    # same message heard twice is one. Empty where the channel has none (a chat line): each is new.
    provider_message_id: str = ""
    # Who wrote, as the channel knows them: (identity kind, value) pairs, the most specific first.
    identities: tuple[tuple[str, str], ...] = ()
    # The customer, when the channel knows them already (a chat session, a signed portal link).
    customer_id: int | None = None
    name: str = ""  # the sender's name as the channel gave it, for a new profile
    language: str = ""
    text: str = ""
    html: str = ""
    subject: str = ""
    address: str = ""  # where an answer on this channel goes back to
    occurred_at: datetime | None = None
    references: tuple[str, ...] = ()  # the ids of the messages it answers (email threading)
    in_reply_to: str = ""  # our message it answers, as the provider names it
    files: tuple[InboundFile, ...] = ()
    # What only one channel knows (a call's outcome, the chat session, the portal's ticket).
    details: dict[str, Any] = field(default_factory=dict)
