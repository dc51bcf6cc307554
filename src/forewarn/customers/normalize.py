"""Normalising what people type into the forms Forewarn stores and matches on.

Every function returns the normalised value or raises :class:`~forewarn.core.errors.ValidationFailed`
naming the field (relative path ``value``), so the API, the UI and the CSV import report the same reason.
"""

from __future__ import annotations

import importlib.resources
import re
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from typing import ParamSpec, TypeVar

import email_validator
import phonenumbers
from anyascii import anyascii
from django.conf import settings
from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email
from phonenumbers.timezone import time_zones_for_number

from forewarn.core import clock
from forewarn.core.errors import FieldError, ValidationFailed
from forewarn.core.vocab import Channel, Language
from forewarn.customers.models import IdentityKind

TELEGRAM_USERNAME = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{4,31})$")
TELEGRAM_CHAT_ID = re.compile(r"^-?\d{5,20}$")
VIBER_ID = re.compile(r"^[A-Za-z0-9+/=_-]{6,64}$")
EXTERNAL_ID = re.compile(r"^[\w.:/#-]{1,128}$")
# An address this simple (ASCII dot-atom before the @, host names of letters, digits and single hyphens,
# a TLD of letters, 64 characters at most) is one email-validator accepts and returns unchanged but for the
# case of the domain, unless the domain is special-use: checking that here is much quicker. Anything else
# goes to email-validator. The tests hold the two to the same answers.
PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@((?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\.)+[A-Za-z]{2,63})", re.ASCII
)
IDENTITY_KINDS = frozenset(IdentityKind.values)
LANGUAGES = frozenset(Language.values)
CHANNELS = frozenset(Channel.values)

P = ParamSpec("P")
T = TypeVar("T")


def _fail(path: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed.single(path, code, message)


@lru_cache(maxsize=100_000)
def _parse_phone(text: str, region: str) -> tuple[str, str]:
    """``(E.164, "")`` or ``("", reason code)``. Parsing is the costly part of reading an event or an
    import row and the same people's numbers recur, so results are kept; errors are put into words by
    the caller, in the reader's language."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return "", "phone_unparseable"
    if not phonenumbers.is_valid_number(number):
        return "", "phone_invalid"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def normalize_phone(raw: str, *, region: str | None = None, path: str = "value") -> str:
    """E.164 (+380671234567); numbers without a country code are read in the default region."""
    text = raw.strip()
    if not text:
        raise _fail(path, "required", _("A phone number is required."))
    e164, problem = _parse_phone(text, region or settings.DEFAULT_PHONE_REGION)
    if problem == "phone_unparseable":
        raise _fail(path, problem, _("“%(v)s” is not a phone number.") % {"v": text})
    if problem:
        raise _fail(path, problem, _("“%(v)s” is not a valid phone number for its country.") % {"v": text})
    return e164


def normalize_sender_phone(raw: str, *, path: str = "value") -> str:
    """A number as an SMS provider or a phone system writes the sender: E.164, a national number, or the
    international digits without their "+" (``14155550147``, as many gateways send them)."""
    try:
        return normalize_phone(raw, path=path)
    except ValidationFailed:
        digits = raw.strip()
        if not (digits.isascii() and digits.isdigit() and len(digits) >= 8):
            raise
        return normalize_phone(f"+{digits}", path=path)


def format_phone(e164: str) -> str:
    """A stored phone written for people (+380 67 123 4567)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def plain_email(text: str) -> str | None:
    """The address in lower case when it is plainly valid (see ``PLAIN_EMAIL``), else None."""
    if len(text) > 64:
        return None
    match = PLAIN_EMAIL.fullmatch(text)
    if match is None:
        return None
    domain = match.group(1).lower()
    for special in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        if domain == special or domain.endswith("." + special):
            return None
    return text.lower()


def normalize_email(raw: str, *, path: str = "value") -> str:
    """A syntactically valid address, lower-cased (mailboxes are case-insensitive in practice)."""
    text = raw.strip()
    if not text:
        raise _fail(path, "required", _("An email address is required."))
    plain = plain_email(text)
    if plain is not None:
        return plain
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise _fail(path, "email_invalid", _("“%(v)s” is not a valid email address.") % {"v": text}) from exc
    return checked.normalized.lower()


def normalize_telegram(raw: str, *, path: str = "value") -> str:
    """A numeric chat id as is, or a user name as ``@name`` in lower case."""
    text = raw.strip()
    if TELEGRAM_CHAT_ID.match(text):
        return text
    match = TELEGRAM_USERNAME.match(text)
    if not match:
        raise _fail(
            path,
            "telegram_invalid",
            _("“%(v)s” is neither a Telegram chat id nor a user name.") % {"v": text},
        )
    return "@" + match.group(1).lower()


def normalize_viber(raw: str, *, path: str = "value") -> str:
    text = raw.strip()
    if not VIBER_ID.match(text):
        raise _fail(path, "viber_invalid", _("“%(v)s” is not a Viber user id.") % {"v": text})
    return text


def normalize_external_id(raw: str, *, path: str = "value") -> str:
    text = raw.strip()
    if not EXTERNAL_ID.match(text):
        raise _fail(
            path,
            "external_id_invalid",
            _("An external id is 1 to 128 letters, digits or . : / # _ -."),
        )
    return text


NORMALIZERS = {
    IdentityKind.PHONE: normalize_phone,
    IdentityKind.EMAIL: normalize_email,
    IdentityKind.TELEGRAM: normalize_telegram,
    IdentityKind.VIBER: normalize_viber,
    IdentityKind.EXTERNAL: normalize_external_id,
}


def normalize_identity(kind: str, raw: str, *, path: str = "value") -> str:
    if kind not in IDENTITY_KINDS:
        raise _fail(
            path.rsplit(".", 1)[0] + ".kind" if "." in path else "kind",
            "identity_kind_unknown",
            _("Unknown identity kind “%(v)s”.") % {"v": kind},
        )
    return NORMALIZERS[IdentityKind(kind)](raw, path=path)


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(raw: str, *, path: str = "time_zone") -> str:
    text = raw.strip()
    if text not in _time_zones():
        raise _fail(
            path,
            "time_zone_unknown",
            _("“%(v)s” is not a known time zone (use an IANA name such as Europe/Kyiv).") % {"v": text},
        )
    return text


def language_of(tag: str) -> str | None:
    """The language Forewarn speaks that a language tag names ("uk", "ru-RU", "en_GB"); None for one it
    does not speak, or none."""
    code = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
    return code if code in LANGUAGES else None


def _offsets(zone: str) -> tuple[timedelta | None, timedelta | None]:
    year = clock.now().year
    info = zoneinfo.ZoneInfo(zone)
    return (
        datetime(year, 1, 15, 12, tzinfo=info).utcoffset(),
        datetime(year, 7, 15, 12, tzinfo=info).utcoffset(),
    )


@cache
def _zones_of_countries() -> dict[str, tuple[list[str], str | None]]:
    """Each country's zones in the time zone database's zone.tab, and the one it says is for most of the
    country, if it says so ("most of Ukraine": Crimea keeps another time)."""
    table = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    found: dict[str, tuple[list[str], str | None]] = {}
    for line in table.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _where, zone, *comment = line.split("\t")
        zones, most = found.get(country, ([], None))
        zones.append(zone)
        if comment and comment[0].lower().startswith("most of"):
            most = zone
        found[country] = (zones, most)
    return found


def zone_of_country(country: str) -> str | None:
    """A country's time zone when one is the country's (Ukraine, Poland, the United Kingdom; not the
    United States or Russia): its only zone, the one for most of it, or its zones' one time; else None."""
    zones, most = _zones_of_countries().get(country.strip().upper(), ([], None))
    if most is None and zones and len({_offsets(zone) for zone in zones}) == 1:
        most = zones[0]
    return most if most in _time_zones() else None


def zone_of_phone(e164: str) -> str | None:
    """A phone number's time zone when its numbering places it in one time (a Ukrainian or a Californian
    number; not a Russian mobile, which may be anywhere from Kaliningrad to Kamchatka)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    zones = [zone for zone in time_zones_for_number(number) if zone in _time_zones()]
    if not zones or len({_offsets(zone) for zone in zones}) != 1:
        return None
    # Zones that keep one time (London and the Channel Islands): the country's own, if it is one of them.
    country = zone_of_country(phonenumbers.region_code_for_number(number) or "")
    return country if country in zones else sorted(zones)[0]


def check_language(raw: str, *, path: str = "language") -> str:
    text = raw.strip().lower()
    if text not in LANGUAGES:
        raise _fail(
            path,
            "language_unsupported",
            _("“%(v)s” is not a supported language (%(choices)s).")
            % {"v": raw, "choices": ", ".join(Language.values)},
        )
    return text


def check_channel(raw: str, *, path: str = "preferred_channel") -> str:
    text = raw.strip().lower()
    if text not in CHANNELS:
        raise _fail(
            path,
            "channel_unknown",
            _("“%(v)s” is not a channel (%(choices)s).") % {"v": raw, "choices": ", ".join(Channel.values)},
        )
    return text


def parse_birth_date(raw: str, *, path: str = "birth_date") -> date:
    text = raw.strip()
    try:
        value = date.fromisoformat(text)
    except ValueError as exc:
        raise _fail(path, "date_invalid", _("“%(v)s” is not a date (YYYY-MM-DD).") % {"v": text}) from exc
    if value.year < 1900 or value > date.today():  # noqa: DTZ011 - a calendar date, no zone involved
        raise _fail(path, "date_out_of_range", _("The date of birth is out of range."))
    return value


def fold(text: str) -> str:
    """Case-folded text plus its Latin transliteration, for matching across scripts (Олена ~ Olena)."""
    words = text.casefold().split()
    folded = " ".join(words)
    in_latin = " ".join(_latin_word(w) for w in words)
    return folded if in_latin == folded else f"{folded} {in_latin}"


def collect(errors: list[FieldError], fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """Run a check, adding its errors to ``errors`` instead of raising; None when it failed."""
    try:
        return fn(*args, **kwargs)
    except ValidationFailed as exc:
        errors.extend(exc.fields)
        return None


@lru_cache(maxsize=200_000)
def _latin_word(word: str) -> str:
    return anyascii(word).lower()


def latin(text: str) -> str:
    """Lower-case Latin spelling of a name or address, word by word (cached: names repeat a lot)."""
    return " ".join(_latin_word(w) for w in text.casefold().split())
