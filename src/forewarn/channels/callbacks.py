"""What providers tell us after a send: delivery receipts, customers' replies and opt-outs.

:func:`parse_callback` checks that a callback really comes from the provider (each signs in its own way,
with a secret from the channel's settings) before it trusts any of it, and turns it into
:class:`CallbackEvent` values the inbox and the outbox act on. A callback that cannot be checked, because
the signature is missing, wrong or there is no secret to check it with, is :class:`SignatureInvalid`
(answer 401); one that is signed but unreadable is :class:`MalformedCallback` (answer 400). A callback
that is genuine but carries nothing we act on (Viber's webhook check, a Telegram edit) gives no events:
answer 200 so the provider does not send it again.

Each provider reads its own callbacks in its module (``providers/<name>.py``, its ``KIND.parse_callback``);
this module holds what they share: the events, the errors, the opt-out words and the signature helpers.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from forewarn.channels.inbound import Sender
from forewarn.channels.registry import KINDS, kind_of, providers_hearing

# A message that is one of these words and nothing else withdraws consent on the channel it came from.
OPT_OUT_WORDS = frozenset(
    word.casefold() for word in ("STOP", "UNSUBSCRIBE", "СТОП", "ВІДПИСАТИСЯ", "ОТПИСАТЬСЯ")
)


class CallbackKind(models.TextChoices):
    RECEIPT = "receipt", _("Delivery receipt")
    REPLY = "reply", _("Reply")
    OPT_OUT = "opt_out", _("Opt-out")


class ReceiptStatus(models.TextChoices):
    """How far a message got, in one vocabulary for every provider."""

    QUEUED = "queued", _("Queued at the provider")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Not delivered")


@dataclass(frozen=True)
class CallbackEvent:
    kind: str
    provider: str
    channel: str
    # A receipt: the id the provider gave our message when it took it (SendResult.provider_message_id).
    # A reply or an opt-out: the provider's id of the customer's message, to drop a callback sent twice.
    provider_message_id: str
    # Who the customer is on that channel: the phone number, chat id or Viber user id.
    address: str
    status: str = ""
    text: str = ""
    occurred_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # A reply: the provider_message_id (Telegram) or idempotency key (Viber) of our message it answers.
    in_reply_to: str = ""
    # A failed receipt: why, as the provider put it (Twilio's ErrorCode, Viber's description).
    reason: str = ""
    # A reply or an opt-out: every identity the provider gives of who wrote, as (identity kind, value),
    # the most specific first (a Telegram user id, then their "@name"; a Viber user id; a phone number as
    # the provider writes it). The customer is found by any of them.
    identities: tuple[tuple[str, str], ...] = ()
    # And what it says of them besides (name, language, country), for the profile of someone new.
    sender: Sender = field(default_factory=Sender)


class CallbackError(Exception):
    pass


class SignatureInvalid(CallbackError):
    """Not provably from the provider: answer 401 and act on nothing."""


class MalformedCallback(CallbackError):
    """Signed, but not what this provider sends: answer 400."""


def is_opt_out(text: str) -> bool:
    return text.strip().casefold() in OPT_OUT_WORDS


def parse_callback(
    provider: str, *, url: str, headers: Mapping[str, str], body: bytes
) -> list[CallbackEvent]:
    """The events in one callback request from ``provider``, a kind in the registry's table whose module
    reads callbacks ("twilio", "telegram", "viber", "webhook").

    ``url`` is the full URL the provider called, as it sees it (scheme, host, path and query): Twilio
    signs it. ``headers`` may come in any letter case.
    """
    parser = kind_of(provider).parse_callback if provider in KINDS else None
    if parser is None:
        # Nothing to check a signature with, as for a provider that has no secret configured.
        raise SignatureInvalid(f"no callbacks are expected from {provider!r}")
    lowered = {name.lower(): value for name, value in headers.items()}
    return parser(url, lowered, body)


def signing_secrets(kind: str, attribute: str) -> list[tuple[str, str]]:
    """(channel, secret) for every configured provider of this kind that has the secret set: the
    provider's ``attribute`` (its auth token, webhook secret) is what its callbacks are signed with. A
    demo channel that hears this kind's callbacks (``providers/demo.py``) keeps its secret as ``secret``."""
    found = []
    for configured in providers_hearing(kind):
        secret = getattr(configured, attribute if configured.name == kind else "secret", "")
        if secret:
            found.append((configured.channel, secret))
    if not found:
        raise SignatureInvalid(f"no {kind} provider with a secret is configured")
    return found


def same_signature(given: str, expected: str) -> bool:
    """Constant-time comparison; as bytes, because a header may carry any character."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def json_body(body: bytes) -> Any:
    """The body as JSON, or :class:`MalformedCallback`."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedCallback(f"the body is not JSON: {exc}") from exc


def from_epoch(seconds: Any) -> datetime | None:
    """An aware UTC time from seconds since the epoch; None for anything that is not a number."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return datetime.fromtimestamp(seconds, UTC)
