"""``manage check`` (and ``migrate``) report wrong provider settings at start-up, not at the first send."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from forewarn.channels.registry import build_provider, close_provider


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
    return errors
