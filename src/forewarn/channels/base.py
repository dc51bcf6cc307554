"""What every channel adapter speaks: one outbound message in, a provider's answer or a typed failure out.

The outbox (``engage``) owns when and whether a message goes; an adapter only knows how to hand one
message to one provider. Adapters never retry on their own: they say whether a failure is worth a retry
(``TransientError``: time-outs, 5xx, rate limits) or not (``PermanentError``: a blocked bot, an unknown
number, a rejected address), and the outbox retries with back-off or falls back to the next channel.

Every message carries an ``idempotency_key`` that stays the same across retries; adapters pass it to the
provider wherever the provider accepts one, so a retry after a crash is not sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import models
from django.utils.translation import gettext_lazy as _

from forewarn.core.vocab import label_of


@dataclass(frozen=True)
class Outbound:
    idempotency_key: str
    channel: str
    # The address on that channel: E.164 phone, email, Telegram chat id, Viber user id, or a URL.
    address: str
    body: str
    subject: str = ""
    html: str = ""
    language: str = "en"
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_message_id: str
    # True when the provider told us it had this idempotency key already (a retry after a crash).
    duplicate: bool = False


class FailureCode(models.TextChoices):
    """Why a send failed, as a stable code the outbox stores; the label is what people read."""

    PROVIDER_ERROR = "provider_error", _("The provider reported an error")
    PROVIDER_UNAVAILABLE = "provider_unavailable", _("The provider could not be reached or failed")
    RATE_LIMITED = "rate_limited", _("The provider asked to slow down")
    PROVIDER_MISCONFIGURED = "provider_misconfigured", _("The channel's provider settings are wrong")
    PROVIDER_REJECTED = "provider_rejected", _("The provider refused the message")
    ADDRESS_INVALID = "address_invalid", _("The address does not exist on this channel")
    RECIPIENT_BLOCKED = "recipient_blocked", _("The recipient blocked or left this channel")
    MESSAGE_INVALID = "message_invalid", _("The message cannot be sent as it is")
    CHANNEL_UNSUPPORTED = "channel_unsupported", _("Forewarn cannot send on this channel")

    @classmethod
    def describe(cls, code: str) -> str:
        return label_of(cls, code)


class DeliveryError(Exception):
    def __init__(self, message: str, *, code: str = "provider_error") -> None:
        super().__init__(message)
        self.code = code


class TransientError(DeliveryError):
    """Worth a retry later: the provider was down, slow, or asked us to slow down."""

    def __init__(self, message: str, *, code: str = "provider_unavailable", retry_after: float | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Not worth a retry on this channel: the outbox falls back to the next one."""


class Provider(Protocol):
    name: str
    channel: str

    def send(self, message: Outbound) -> SendResult: ...
