"""Message templates: sandboxed Jinja2, so a template written in the UI can read its variables and
nothing else (no attribute games, no imports, no file access), and a mistake is reported, not sent.

Variables: ``customer`` (first_name, full_name, language, city, attributes), ``payload`` (the event's),
``event`` (type, occurred_at), ``incident`` (title, area, since), ``offer`` (the trigger's extras) and
``local`` (a time in the customer's zone: ``{{ local(payload.departure) }}``).

A payload is stored with personal values masked (privacy), and a template prints the masks. Only
``{{ payload.card|unmasked }}`` asks for the original: it leaves a placeholder per value in the words, which
the sender opens for the provider if, and only if, the value belongs to the person the message goes to
(``privacy.services.outbound``); the words Forewarn stores keep the masks.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from forewarn.core.errors import FieldError
from forewarn.privacy.services.outbound import unmasked


class _Lenient(Undefined):
    """A missing variable renders as nothing at send time (a template must never stop a notice)."""


@lru_cache(maxsize=2)
def _environment(*, strict: bool) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        autoescape=False,
        undefined=StrictUndefined if strict else _Lenient,
        keep_trailing_newline=False,
    )
    env.filters["unmasked"] = unmasked
    env.filters["money"] = lambda value, currency="UAH": f"{float(value):,.2f} {currency}".replace(",", " ")
    return env


@lru_cache(maxsize=2048)
def _compiled(source: str, *, strict: bool) -> Any:
    return _environment(strict=strict).from_string(source)


def local_time(zone_name: str) -> Any:
    zone = ZoneInfo(zone_name)

    def convert(value: Any, fmt: str = "%d.%m.%Y %H:%M") -> str:
        if isinstance(value, str):
            text = value
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                return text
        if not isinstance(value, datetime) or value.tzinfo is None:
            return str(value)
        return value.astimezone(zone).strftime(fmt)

    return convert


def render(source: str, context: dict[str, Any], *, strict: bool = False) -> str:
    if not source:
        return ""
    scope = dict(context)
    zone = scope.get("customer", {}).get("time_zone") or "UTC"
    scope["local"] = local_time(zone)
    return str(_compiled(source, strict=strict).render(scope)).strip()


def check_template(source: str, path: str, sample: dict[str, Any] | None = None) -> list[FieldError]:
    """Why a template cannot be used: a syntax error, or (given a sample) a variable it cannot find."""
    try:
        compiled = _compiled(source, strict=True)
    except TemplateError as exc:
        return [FieldError(path, "template_syntax", _("Template error: %(error)s") % {"error": exc})]
    if sample is not None:
        try:
            scope = {**sample, "local": local_time("UTC")}
            compiled.render(scope)
        except TemplateError as exc:
            return [FieldError(path, "template_error", _("Template error: %(error)s") % {"error": exc})]
    return []
