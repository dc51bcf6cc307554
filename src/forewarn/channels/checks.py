"""``manage check`` (and ``migrate``) report wrong provider settings at start-up, not at the first send, and
warn while the demo's channels, which anyone can write to, are on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from forewarn.channels.registry import DEMO, build_provider, close_provider


def check_providers(**_kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    providers = getattr(settings, "FOREWARN_PROVIDERS", None) or {}
    if not isinstance(providers, dict):
        return [checks.Error("FOREWARN_PROVIDERS must be a dict of channel settings", id="channels.E001")]
    for channel, config in providers.items():
        try:
            provider = build_provider(channel, config)
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), id="channels.E001"))
            continue
        # Built only to be checked: let go of its connections at once.
        close_provider(provider)
    demo = sorted(channel for channel, config in providers.items() if _kind(config) == DEMO)
    if demo:
        errors.append(
            checks.Warning(
                f"the demo's channels are on ({', '.join(demo)}): they hear callbacks signed with the secrets"
                " published in docs/callbacks.md, so anyone can write as any customer",
                hint="Never in production: unset FOREWARN_DEMO_CHANNELS and configure the real providers.",
                id="channels.W001",
            )
        )
    return errors


def _kind(config: Any) -> Any:
    return config.get("provider") if isinstance(config, dict) else None
