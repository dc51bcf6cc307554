"""Message templates: sandboxed Jinja2, so a template written in the UI can read its variables and
nothing else (no attribute games, no imports, no file access), and a mistake is reported, not sent.

Variables: ``customer`` (first_name, full_name, language, city, attributes), ``payload`` (the event's),
``event`` (type, occurred_at), ``incident`` (title, area, since), ``offer`` (the trigger's extras) and
``local`` (a time in the customer's zone: ``{{ local(payload.departure) }}``).

Words are rendered in the language they are written in (``render(..., language=)``), so what a filter
adds reads in it too: ``{{ payload.amount|money }}`` is «1 389,50 грн» in Ukrainian and Russian and
"1,389.50 UAH" in English; ``{{ payload.period|month }}`` turns "2026-11" into «листопад 2026»,
«ноябрь 2026» or "November 2026".

A payload is stored with personal values masked (privacy), and a template prints the masks. Only
``{{ payload.card|unmasked }}`` asks for the original: it leaves a placeholder per value in the words, which
the sender opens for the provider if, and only if, the value belongs to the person the message goes to
(``privacy.services.outbound``); the words Forewarn stores keep the masks.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _
from jinja2 import StrictUndefined, TemplateError, Undefined, pass_context
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
    # Through the context, so that Jinja never works them out once, when it compiles, in whatever
    # language was active then: they are written in the language of each message.
    env.filters["money"] = pass_context(lambda _context, value, currency="UAH": money(value, currency))
    env.filters["month"] = pass_context(lambda _context, value: month(value))
    return env


# How a currency is written in each language; one not named here is written as its code.
CURRENCY_WORDS = {"UAH": {"uk": "грн", "ru": "грн", "en": "UAH"}}


def _language() -> str:
    return (translation.get_language() or "en")[:2]


def money(value: Any, currency: str = "UAH") -> str:
    """An amount as the language writes it: «1 389,50 грн» (uk, ru), "1,389.50 UAH" (en)."""
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return str(value)
    language = _language()
    code = str(currency).upper()
    word = CURRENCY_WORDS.get(code, {}).get(language, code)
    digits = f"{amount:,.2f}"
    if language != "en":
        digits = digits.replace(",", " ").replace(".", ",")
    return f"{digits} {word}"


def month(value: Any) -> str:
    """A month ("2026-11", "2026-11-05" or a date) in words: «листопад 2026», "November 2026"."""
    try:
        found = value if isinstance(value, date) else date.fromisoformat(f"{str(value)[:7]}-01")
    except ValueError:
        return str(value)
    name = str(MONTHS[found.month])
    return f"{name if _language() == 'en' else name.lower()} {found.year}"


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


def render(source: str, context: dict[str, Any], *, strict: bool = False, language: str = "") -> str:
    """The words of a template for this context, in ``language`` (the active one if not given)."""
    if not source:
        return ""
    scope = dict(context)
    zone = scope.get("customer", {}).get("time_zone") or "UTC"
    scope["local"] = local_time(zone)
    with translation.override(language) if language else nullcontext():
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
