"""Which provider sends on which channel, from ``settings.FOREWARN_PROVIDERS``.

The setting maps a channel to its provider and that provider's options::

    FOREWARN_PROVIDERS = {
        "email": {"provider": "smtp", "host": "smtp.example.com", "from_address": "care@example.com", ...},
        "sms": {"provider": "twilio", "account_sid": "AC...", "auth_token": "...", "from_number": "+380..."},
    }

A channel that is not there goes to the local provider, which records instead of sending (the demo, the
tests). Each kind of provider is one module under ``providers/``, which says what it is (its ``KIND``: the
channels it serves, its options, its environment variables, its callback parser); :data:`KINDS` lists
them, and a module is imported only when it is needed. :func:`providers_from_env` builds the setting from
``FOREWARN_*`` variables; it imports nothing from Django's models, so ``settings.py`` can call it.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from forewarn.channels.base import Environment, FailureCode, PermanentError, Provider, ProviderKind

CHANNELS = ("email", "sms", "telegram", "viber", "webhook")


@dataclass(frozen=True)
class Row:
    """One kind of provider in the table: the module that holds it (its ``KIND``), imported on first use."""

    module: str
    # settings.py calls providers_from_env before Django's models exist, so that imports only the modules
    # that read variables. The local record's module needs the models (and reads none).
    reads_env: bool = True
    # What its variables configure goes only to channels no other kind's variables configure (the demo's
    # channels stand in where no real provider is set), instead of being refused as configured twice.
    fills_gaps: bool = False


# Every kind of provider. A new one is a module under providers/ that ends in its KIND, and a row here.
KINDS: dict[str, Row] = {
    "local": Row("forewarn.channels.providers.local", reads_env=False),
    "smtp": Row("forewarn.channels.providers.smtp"),
    "twilio": Row("forewarn.channels.providers.twilio"),
    "telegram": Row("forewarn.channels.providers.telegram"),
    "viber": Row("forewarn.channels.providers.viber"),
    "webhook": Row("forewarn.channels.providers.webhook"),
    "demo": Row("forewarn.channels.providers.demo", fills_gaps=True),
}
# The kind that records like the local one and hears callbacks signed with the published demo secrets.
DEMO = "demo"


def kind_of(name: str) -> ProviderKind:
    """What the module of a kind in :data:`KINDS` says of it, the module imported on first use."""
    kind: ProviderKind = importlib.import_module(KINDS[name].module).KIND
    return kind


class UnknownChannel(PermanentError):
    """No provider can exist for this channel (a phone call, web chat): the outbox tries the next one."""

    def __init__(self, channel: str) -> None:
        super().__init__(
            f"Forewarn does not send on channel {channel!r}", code=FailureCode.CHANNEL_UNSUPPORTED
        )
        self.channel = channel


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
    name = config.get("provider", "local")
    if name not in KINDS:
        raise ImproperlyConfigured(f"{where}: unknown provider {name!r}; providers are {', '.join(KINDS)}")
    kind = kind_of(name)
    if kind.channels is not None and channel not in kind.channels:
        raise ImproperlyConfigured(f"{where}: provider {name!r} sends on {', '.join(kind.channels)} only")
    options = {option: value for option, value in config.items() if option != "provider"}
    # Checked against what the module declares before anything is called: a misspelt or missing option
    # is named as such.
    wrong = _wrong_options(kind, options)
    if wrong:
        raise ImproperlyConfigured(f"{where} ({name}): {wrong}")
    try:
        return kind.factory(channel=channel, **options)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{where} ({name}): {_without_secrets(str(exc), kind, options)}") from exc


def _wrong_options(kind: ProviderKind, options: Mapping[str, Any]) -> str:
    declared = [option.name for option in kind.options]
    unknown = sorted(set(options) - set(declared))
    missing = [option.name for option in kind.options if option.required and option.name not in options]
    wrong = [f"unknown option {', '.join(unknown)}"] if unknown else []
    if missing:
        wrong.append(f"{', '.join(missing)} must be set")
    if not wrong:
        return ""
    return f"{'; '.join(wrong)} (it takes {', '.join(declared) or 'no options'})"


def _without_secrets(message: str, kind: ProviderKind, options: Mapping[str, Any]) -> str:
    # The message is shown at start-up and logged: a provider's refusal must not repeat a secret. Only
    # where it stands as a word of its own, so a short test token does not blank letters of other words.
    for option in kind.options:
        value = options.get(option.name)
        if option.secret and isinstance(value, str) and value:
            message = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", "***", message)
    return message


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


def providers_hearing(kind: str) -> list[Provider]:
    """Every configured provider whose callbacks come as ``kind``'s ("twilio", "viber"...), to check their
    signatures: the providers of that kind, and a demo channel that stands in for it (its ``hears``)."""
    found = []
    for channel in CHANNELS:
        name = configured(channel).get("provider")
        if name in (kind, DEMO):
            provider = _configured_provider(channel)
            if name == kind or getattr(provider, "hears", "") == kind:
                found.append(provider)
    return found


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

    Each provider's module reads its own (its ``KIND.from_env``; the README's "Channels" lists them all),
    in the table's order; two kinds whose variables configure one channel are a mistake, except that a
    kind that fills gaps (the demo's channels, ``FOREWARN_DEMO_CHANNELS``) takes only the channels left.
    Only those modules are imported: none needs Django's models.
    """
    env = Environment(os.environ if environ is None else environ)
    providers: dict[str, dict[str, Any]] = {}
    # Those that fill gaps last, whatever their place in the table.
    for name, row in sorted(KINDS.items(), key=lambda item: item[1].fills_gaps):
        from_env = kind_of(name).from_env if row.reads_env else None
        for channel, config in (from_env(env) if from_env is not None else {}).items():
            if channel in providers and row.fills_gaps:
                continue
            if channel in providers:
                first = providers[channel].get("provider")
                raise ImproperlyConfigured(
                    f"the environment configures {channel} twice (the {first} and the {name} variables)"
                )
            providers[channel] = config
    return providers
