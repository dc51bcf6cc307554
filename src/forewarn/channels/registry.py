"""Which provider sends on which channel, from ``settings.FOREWARN_PROVIDERS``.

The setting maps a channel to its provider and that provider's options::

    FOREWARN_PROVIDERS = {
        "email": {"provider": "smtp", "host": "smtp.example.com", "from_address": "care@example.com", ...},
        "sms": {"provider": "twilio", "account_sid": "AC...", "auth_token": "...", "from_number": "+380..."},
    }

A channel that is not there goes to the local provider, which records instead of sending (the demo, the
tests). :func:`providers_from_env` builds the setting from ``FOREWARN_*`` variables; it imports nothing
from Django's models, so ``settings.py`` can call it.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from forewarn.channels.base import FailureCode, PermanentError, Provider

CHANNELS = ("email", "sms", "telegram", "viber", "webhook")
# The channels each kind of provider can serve; None: any channel (the local record, a custom gateway).
KINDS: dict[str, tuple[str, ...] | None] = {
    "local": None,
    "smtp": ("email",),
    "twilio": ("sms",),
    "telegram": ("telegram",),
    "viber": ("viber",),
    "webhook": None,
}


class UnknownChannel(PermanentError):
    """No provider can exist for this channel (a phone call, web chat): the outbox tries the next one."""

    def __init__(self, channel: str) -> None:
        super().__init__(
            f"Forewarn does not send on channel {channel!r}", code=FailureCode.CHANNEL_UNSUPPORTED
        )
        self.channel = channel


def _factory(kind: str) -> Callable[..., Provider]:
    # Imported here, not at the top: the local provider needs the app registry, and settings.py imports
    # this module for providers_from_env before there is one.
    if kind == "local":
        from forewarn.channels.providers.local import LocalProvider  # noqa: PLC0415 - a provider's module loads only when it is configured

        return LocalProvider
    if kind == "smtp":
        from forewarn.channels.providers.email import SmtpProvider  # noqa: PLC0415 - a provider's module loads only when it is configured

        return SmtpProvider
    from forewarn.channels.providers import http  # noqa: PLC0415 - a provider's module loads only when it is configured

    factories: dict[str, Callable[..., Provider]] = {
        "twilio": http.TwilioSmsProvider,
        "telegram": http.TelegramProvider,
        "viber": http.ViberProvider,
        "webhook": http.WebhookProvider,
    }
    return factories[kind]


def configured(channel: str) -> dict[str, Any]:
    """The settings for one channel's provider: its entry in ``FOREWARN_PROVIDERS``, else the local one."""
    providers: Mapping[str, Any] = getattr(settings, "FOREWARN_PROVIDERS", None) or {}
    config = providers.get(channel) or {"provider": "local"}
    if not isinstance(config, Mapping):
        raise ImproperlyConfigured(f"FOREWARN_PROVIDERS[{channel!r}]: a dict of settings with a 'provider'")
    # A copy: the cache compares it with the settings later, and those may be changed in place.
    return dict(config)


def build_provider(channel: str, config: Mapping[str, Any]) -> Provider:
    """A new provider for a channel from its settings; a mistake in them is ``ImproperlyConfigured``."""
    where = f"FOREWARN_PROVIDERS[{channel!r}]"
    if not isinstance(config, Mapping):
        raise ImproperlyConfigured(f"{where}: a dict of settings with a 'provider'")
    if channel not in CHANNELS:
        raise ImproperlyConfigured(f"{where}: unknown channel; channels are {', '.join(CHANNELS)}")
    kind = config.get("provider", "local")
    if kind not in KINDS:
        raise ImproperlyConfigured(f"{where}: unknown provider {kind!r}; providers are {', '.join(KINDS)}")
    serves = KINDS[kind]
    if serves is not None and channel not in serves:
        raise ImproperlyConfigured(f"{where}: provider {kind!r} sends on {', '.join(serves)} only")
    options = {name: value for name, value in config.items() if name != "provider"}
    factory = _factory(kind)
    try:
        # Binding first names a misspelt or missing option without calling anything.
        inspect.signature(factory).bind(channel=channel, **options)
    except TypeError as exc:
        raise ImproperlyConfigured(f"{where} ({kind}): {exc}") from exc
    try:
        return factory(channel=channel, **options)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{where} ({kind}): {exc}") from exc


_lock = threading.Lock()
# channel -> (the settings it was built from, the provider): rebuilt when the settings change.
_built: dict[str, tuple[dict[str, Any], Provider]] = {}
_substitutes: dict[str, Provider] = {}


def provider_for(channel: str) -> Provider:
    """The provider that sends on ``channel``, built once and shared (HTTP providers keep connections).

    Raises :class:`UnknownChannel` (a ``PermanentError``) for a channel Forewarn cannot send on, and
    ``ImproperlyConfigured`` when its settings are wrong.
    """
    if channel not in CHANNELS:
        raise UnknownChannel(channel)
    substitute = _substitutes.get(channel)
    if substitute is not None:
        return substitute
    return _configured_provider(channel)


def _configured_provider(channel: str) -> Provider:
    config = configured(channel)
    with _lock:
        cached = _built.get(channel)
        if cached is not None and cached[0] == config:
            return cached[1]
        provider = build_provider(channel, config)
        _built[channel] = (config, provider)
    if cached is not None:
        close_provider(cached[1])
    return provider


def providers_named(kind: str) -> list[Provider]:
    """Every configured provider of one kind ("twilio", "viber"...), to check the callbacks it signs."""
    return [
        _configured_provider(channel) for channel in CHANNELS if configured(channel).get("provider") == kind
    ]


def reset_providers() -> None:
    """Forget every built provider and close its connections; the next call builds from the settings."""
    with _lock:
        built = [provider for _config, provider in _built.values()]
        _built.clear()
    for provider in built:
        close_provider(provider)


@contextmanager
def substitute_provider(channel: str, provider: Provider) -> Iterator[Provider]:
    """Within the block, :func:`provider_for` answers ``provider`` for ``channel``.

    For tests of the outbox that need a provider failing on cue; nothing else should use it.
    """
    previous = _substitutes.get(channel)
    _substitutes[channel] = provider
    try:
        yield provider
    finally:
        if previous is None:
            del _substitutes[channel]
        else:
            _substitutes[channel] = previous


def close_provider(provider: Provider) -> None:
    """Let go of a provider's connections (HTTP providers keep a pool)."""
    close = getattr(provider, "close", None)
    if callable(close):
        close()


def providers_from_env(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """``FOREWARN_PROVIDERS`` from environment variables; a channel with none set stays local.

    - ``FOREWARN_SMTP_URL``: ``smtp://user:password@host:587?from=care@example.com`` (STARTTLS unless
      ``starttls=false``; ``smtps://`` for TLS from the start; also ``from_name`` and ``timeout``).
    - ``FOREWARN_SMS_ACCOUNT``, ``FOREWARN_SMS_TOKEN``, ``FOREWARN_SMS_FROM``; ``FOREWARN_SMS_URL`` for a
      Twilio-compatible provider other than Twilio; ``FOREWARN_SMS_STATUS_CALLBACK`` for delivery receipts.
    - ``FOREWARN_TELEGRAM_BOT_TOKEN``; ``FOREWARN_TELEGRAM_WEBHOOK_SECRET`` checks incoming updates.
    - ``FOREWARN_VIBER_TOKEN``; ``FOREWARN_VIBER_SENDER_NAME`` (default "Forewarn").
    - ``FOREWARN_WEBHOOK_URL`` with ``FOREWARN_WEBHOOK_SECRET``.
    """
    env = os.environ if environ is None else environ

    def get(name: str) -> str:
        return env.get(f"FOREWARN_{name}", "").strip()

    def require(*names: str) -> None:
        missing = [f"FOREWARN_{name}" for name in names if not get(name)]
        if missing:
            raise ImproperlyConfigured(f"{', '.join(missing)} must be set as well")

    providers: dict[str, dict[str, Any]] = {}
    if get("SMTP_URL"):
        providers["email"] = smtp_from_url(get("SMTP_URL"))
    if get("SMS_ACCOUNT") or get("SMS_TOKEN") or get("SMS_FROM"):
        require("SMS_ACCOUNT", "SMS_TOKEN", "SMS_FROM")
        sms: dict[str, Any] = {
            "provider": "twilio",
            "account_sid": get("SMS_ACCOUNT"),
            "auth_token": get("SMS_TOKEN"),
            "from_number": get("SMS_FROM"),
        }
        if get("SMS_URL"):
            sms["base_url"] = get("SMS_URL")
        if get("SMS_STATUS_CALLBACK"):
            sms["status_callback"] = get("SMS_STATUS_CALLBACK")
        providers["sms"] = sms
    if get("TELEGRAM_BOT_TOKEN"):
        providers["telegram"] = {
            "provider": "telegram",
            "bot_token": get("TELEGRAM_BOT_TOKEN"),
            "webhook_secret": get("TELEGRAM_WEBHOOK_SECRET"),
        }
    if get("VIBER_TOKEN"):
        providers["viber"] = {
            "provider": "viber",
            "auth_token": get("VIBER_TOKEN"),
            "sender_name": get("VIBER_SENDER_NAME") or "Forewarn",
        }
    if get("WEBHOOK_URL") or get("WEBHOOK_SECRET"):
        require("WEBHOOK_URL", "WEBHOOK_SECRET")
        providers["webhook"] = {
            "provider": "webhook",
            "url": get("WEBHOOK_URL"),
            "secret": get("WEBHOOK_SECRET"),
        }
    return providers


def smtp_from_url(url: str) -> dict[str, Any]:
    """SMTP settings from ``smtp[s]://user:password@host:port?from=...&starttls=true|false``."""
    # The URL holds a password: messages name the part at fault, never the URL.
    where = "FOREWARN_SMTP_URL"
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ImproperlyConfigured(f"{where} must start with smtp:// or smtps://")
    try:
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"{where} has a port that is not a number") from exc
    if not parts.hostname:
        raise ImproperlyConfigured(f"{where} names no host")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(query) - {"from", "from_name", "starttls", "timeout"}
    if unknown:
        raise ImproperlyConfigured(f"{where}: unknown options {', '.join(sorted(unknown))}")
    if not query.get("from"):
        raise ImproperlyConfigured(f"{where} needs ?from=<the address messages come from>")
    starttls = query.get("starttls", "true").strip().lower()
    if starttls not in ("true", "false"):
        raise ImproperlyConfigured(f"{where}: starttls is true or false")
    config: dict[str, Any] = {
        "provider": "smtp",
        "host": parts.hostname,
        "from_address": query["from"],
        "security": "ssl" if parts.scheme == "smtps" else ("starttls" if starttls == "true" else "none"),
    }
    if port:
        config["port"] = port
    if parts.username:
        config["username"] = unquote(parts.username)
        config["password"] = unquote(parts.password or "")
    if query.get("from_name"):
        config["from_name"] = query["from_name"]
    if query.get("timeout"):
        try:
            config["timeout"] = float(query["timeout"])
        except ValueError as exc:
            raise ImproperlyConfigured(f"{where}: timeout is a number of seconds") from exc
    return config
