"""What every channel adapter speaks: one outbound message in, a provider's answer or a typed failure out.

The outbox (``engage``) owns when and whether a message goes; an adapter only knows how to hand one
message to one provider. Adapters never retry on their own: they say whether a failure is worth a retry
(``TransientError``: time-outs, 5xx, rate limits) or not (``PermanentError``: a blocked bot, an unknown
number, a rejected address), and the outbox retries with back-off or falls back to the next channel.

Every message carries an ``idempotency_key`` that stays the same across retries; adapters pass it to the
provider wherever the provider accepts one, so a retry after a crash is not sent twice.

Each provider's module also says what it is (:class:`ProviderKind`): the channels it serves, the options
it takes, how it reads its ``FOREWARN_*`` variables and how it reads its callbacks. The registry's table
names the modules and builds providers from what they say.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext_lazy as _

from forewarn.core.vocab import label_of

if TYPE_CHECKING:
    from forewarn.channels.callbacks import CallbackEvent


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


@dataclass(frozen=True)
class Option:
    """One setting a provider takes in its ``FOREWARN_PROVIDERS`` entry (a keyword of its class)."""

    name: str
    required: bool = False
    # A password, token or signing key: a settings mistake is reported at start-up and in logs, and never
    # repeats its value.
    secret: bool = False


class Environment:
    """The ``FOREWARN_*`` variables as a provider's ``from_env`` reads them: by the name after the prefix,
    stripped, and empty when unset."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str) -> str:
        return self._environ.get(f"FOREWARN_{name}", "").strip()

    def require(self, *names: str) -> None:
        """Each of ``names`` is set, or ``ImproperlyConfigured`` names those that are not."""
        missing = [f"FOREWARN_{name}" for name in names if not self.get(name)]
        if missing:
            raise ImproperlyConfigured(f"{', '.join(missing)} must be set as well")


@dataclass(frozen=True)
class ProviderKind:
    """What a provider's module says of itself, as its ``KIND``; ``channels.registry.KINDS`` lists it."""

    # What ``FOREWARN_PROVIDERS`` names it by (``"provider": "twilio"``); also the callback URL's last part.
    name: str
    # The channels it can send on; None: any (the local record, a gateway of one's own).
    channels: tuple[str, ...] | None
    # Called with ``channel=`` and the options; a ``ValueError`` says the options cannot work.
    factory: Callable[..., Provider]
    # Exactly the factory's keywords besides ``channel`` (the registry's tests hold it to that).
    options: tuple[Option, ...] = ()
    # ``FOREWARN_PROVIDERS`` entries, by channel, from the environment; {} when its variables are unset.
    from_env: Callable[[Environment], dict[str, dict[str, Any]]] | None = None
    # Reads one callback request (the URL it came to, its headers in lower case, its body) after checking
    # its signature: ``channels.callbacks.parse_callback`` hands it the requests for this provider.
    parse_callback: Callable[[str, dict[str, str], bytes], list[CallbackEvent]] | None = None
