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
class Sender:
    """What a channel says about who wrote, besides their identities: a profile made from their first
    message is filled with it; a profile that exists keeps what it holds."""

    given_name: str = ""
    family_name: str = ""
    # A language tag as the channel gives it ("uk", "en-US": the app's or the phone's language).
    language: str = ""
    # ISO 3166-1 alpha-2 ("UA"), where the channel says (Viber's sender, Twilio's FromCountry).
    country: str = ""

    @classmethod
    def named(cls, name: str, *, language: str = "", country: str = "") -> Sender:
        """A sender whose channel gives the whole name as one string (an email's display name, Viber's
        name): the first word is the given name, the rest the family name."""
        given, _sep, family = " ".join(name.split()).partition(" ")
        return cls(given_name=given, family_name=family, language=language, country=country)


@dataclass(frozen=True)
class Inbound:
    channel: str  # core.vocab.Channel
    provider: str  # who handed it over: smtp, imap, gateway, twilio, telegram, viber, webchat, portal...
    # The provider's id of the message, unique on its channel (an email's Message-ID, "call:<id>"): the
    # same message heard twice is one. Empty where the channel has none (a chat line): each is new.
    provider_message_id: str = ""
    # Who wrote, as the channel knows them: every (identity kind, value) pair it gives, the most specific
    # first (a Telegram user id before their @username); the pipeline matches on all of them.
    identities: tuple[tuple[str, str], ...] = ()
    # The customer, when the channel knows them already (a chat session, a signed portal link).
    customer_id: int | None = None
    sender: Sender = field(
        default_factory=Sender
    )  # the name, language and country the channel gave, for a new profile
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
