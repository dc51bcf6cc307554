"""A demo world: staff with generated passwords, and customers in Ukrainian, Russian and English.

Customers are written as CSV and go through the real importer, so the demo shows what an import does:
normalised phones and emails, consents with history, and look-alike profiles (about 3 % of people are
entered twice with other contacts and a typo or another spelling of the name) flagged for review.
"""

from __future__ import annotations

import csv
import io
import random
import secrets
from collections.abc import Callable
from datetime import date
from pathlib import Path

import phonenumbers
from anyascii import anyascii
from django.conf import settings
from faker import Faker

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.accounts.roles import Role
from forewarn.accounts.services import create_staff_user
from forewarn.customers.models import Customer
from forewarn.customers.services.importing import Importer

STAFF = [
    ("admin", Role.ADMIN, "Admin", "Forewarn", ["Head office"]),
    ("taras", Role.SUPERVISOR, "Тарас", "Шевчук", ["Kyiv support", "Head office"]),
    ("olena", Role.AGENT, "Олена", "Коваленко", ["Kyiv support"]),
    ("andrii", Role.AGENT, "Андрій", "Мельник", ["Kyiv support"]),
    ("iryna", Role.ANALYST, "Ірина", "Бондар", ["Head office"]),
    ("maksym", Role.MARKETER, "Максим", "Ткаченко", ["Marketing"]),
]
LOCALES = [("uk_UA", "uk", 0.55), ("ru_RU", "ru", 0.2), ("en_GB", "en", 0.15), ("en_US", "en", 0.1)]
ZONES = {
    "uk_UA": ["Europe/Kyiv"] * 9 + ["Europe/Warsaw", "Europe/Berlin"],
    "ru_RU": ["Europe/Kyiv"] * 3 + ["Europe/Riga", "Asia/Tbilisi", "Asia/Almaty"],
    "en_GB": ["Europe/London"] * 3 + ["Europe/Kyiv", "Europe/Dublin"],
    "en_US": ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Kyiv"],
}
UA_MOBILE = ["50", "63", "66", "67", "68", "73", "93", "95", "96", "97", "98", "99"]
DISTRICTS = [
    "Podilskyi",
    "Shevchenkivskyi",
    "Pecherskyi",
    "Obolonskyi",
    "Darnytskyi",
    "Holosiivskyi",
]
HEADER = [
    "external_id",
    "given_name",
    "middle_name",
    "family_name",
    "birth_date",
    "city",
    "address",
    "language",
    "time_zone",
    "preferred_channel",
    "phone",
    "email",
    "telegram",
    "viber",
    "segments",
    "consent_transactional",
    "consent_service",
    "consent_marketing",
    "consent_surveys",
    "attr.district",
    "attr.plan",
]


def credentials_file() -> Path:
    return settings.DATA_DIR / "demo-credentials.txt"


def world_exists() -> bool:
    return Customer.objects.exists()


def credentials_text() -> str:
    path = credentials_file()
    if not path.exists():
        return "No demo staff were created by this installation."
    return path.read_text()


def _ensure_staff() -> None:
    lines = ["Demo sign-in (user / password / role):"]
    for username, role, first, last, teams in STAFF:
        if User.objects.filter(username=username).exists():
            continue
        password = secrets.token_urlsafe(9)
        create_staff_user(
            actor=Actor.system("demo"),
            username=username,
            password=password,
            role=role,
            first_name=first,
            last_name=last,
            teams=teams,
            check_password=False,
        )
        lines.append(f"  {username:<8} {password:<14} {role}")
    if len(lines) > 1:
        path = credentials_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)


def _phone(rng: random.Random, locale: str) -> str:
    while True:
        if locale in {"uk_UA", "ru_RU"}:
            raw = f"+380{rng.choice(UA_MOBILE)}{rng.randrange(10**7):07d}"
        elif locale == "en_GB":
            raw = f"+447{rng.choice(['4', '5', '7', '8', '9'])}{rng.randrange(10**8):08d}"
        else:
            area = rng.choice(["212", "312", "415", "617", "646"])
            raw = f"+1{area}{rng.randrange(2, 10)}{rng.randrange(10**6):06d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(raw, None)):
            return raw


def _typo(rng: random.Random, name: str) -> str:
    if len(name) < 4:
        return name
    i = rng.randrange(1, len(name) - 1)
    if rng.random() < 0.5:
        return name[:i] + name[i + 1 :]
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def _consent(rng: random.Random, channels: list[str], p_yes: float, p_no: float) -> str:
    parts = []
    for channel in channels:
        roll = rng.random()
        if roll < p_yes:
            parts.append(f"{channel}=yes")
        elif roll < p_yes + p_no:
            parts.append(f"{channel}=no")
    return ";".join(parts)


def _person(rng: random.Random, fakers: dict[str, Faker], n: int) -> dict[str, str]:
    locale = rng.choices([loc for loc, _l, _w in LOCALES], weights=[w for _a, _b, w in LOCALES])[0]
    language = next(lang for loc, lang, _w in LOCALES if loc == locale)
    fake = fakers[locale]
    female = rng.random() < 0.5
    given = fake.first_name_female() if female else fake.first_name_male()
    # Ukrainian and Russian family names have a gender (Громов, Громова): pick the one that goes with
    # the given name; the plain list mixes both.
    gendered = fake.last_name_female() if female else fake.last_name_male()
    family = gendered if locale in {"uk_UA", "ru_RU"} else fake.last_name()
    middle = ""
    if locale in {"uk_UA", "ru_RU"} and rng.random() < 0.6:
        middle = fake.middle_name_female() if female else fake.middle_name_male()
    latin_given = anyascii(given).lower().replace("'", "")
    latin_family = anyascii(family).lower().replace("'", "")
    domain = rng.choice(["gmail.com", "ukr.net", "i.ua", "outlook.com", "proton.me"])
    email = f"{latin_given}.{latin_family}{rng.randrange(1, 999)}@{domain}"
    channels = ["email", "sms"]
    telegram = f"@{latin_given[:12]}_{latin_family[:12]}_{n}" if rng.random() < 0.3 else ""
    viber = secrets.token_hex(8) if rng.random() < 0.25 else ""
    if telegram:
        channels.append("telegram")
    if viber:
        channels.append("viber")
    preferred = rng.choice(channels)
    born = date(rng.randrange(1945, 2006), rng.randrange(1, 13), rng.randrange(1, 29))
    city = fake.city()
    segments = ["retail"]
    if rng.random() < 0.05:
        segments.append("vip")
    if rng.random() < 0.1:
        segments.append("business")
    if rng.random() < 0.15:
        segments.append("new")
    return {
        "external_id": f"CRM-{n:07d}" if rng.random() < 0.6 else "",
        "given_name": given,
        "middle_name": middle,
        "family_name": family,
        "birth_date": born.isoformat(),
        "city": city,
        "address": fake.street_address(),
        "language": language,
        "time_zone": rng.choice(ZONES[locale]),
        "preferred_channel": preferred,
        "phone": _phone(rng, locale),
        "email": email if rng.random() < 0.85 else "",
        "telegram": telegram,
        "viber": viber,
        "segments": ";".join(segments),
        "consent_transactional": _consent(rng, channels, 0.9, 0.02),
        "consent_service": _consent(rng, channels, 0.6, 0.1),
        "consent_marketing": _consent(rng, channels, 0.35, 0.25),
        "consent_surveys": _consent(rng, channels, 0.45, 0.15),
        "attr.district": rng.choice(DISTRICTS) if locale in {"uk_UA", "ru_RU"} else "",
        "attr.plan": rng.choice(["basic", "basic", "plus", "premium"]),
    }


def _lookalike(rng: random.Random, person: dict[str, str]) -> dict[str, str]:
    """The same person entered again: other contacts, a typo or a Latin spelling of the name."""
    twin = dict(person)
    if rng.random() < 0.5:
        twin["family_name"] = _typo(rng, person["family_name"])
    else:
        twin["given_name"] = anyascii(person["given_name"])
        twin["family_name"] = anyascii(person["family_name"])
    twin["external_id"] = ""
    twin["phone"] = _phone(rng, "uk_UA")
    twin["email"] = ""
    twin["telegram"] = ""
    twin["viber"] = ""
    twin["segments"] = "retail"
    twin["attr.plan"] = "basic"
    return twin


def build_rows(customers: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)  # noqa: S311 - repeatable demo data, not secrets
    fakers = {locale: Faker(locale) for locale, _l, _w in LOCALES}
    for i, fake in enumerate(fakers.values()):
        fake.seed_instance(seed + i)
    rows = []
    for n in range(1, customers + 1):
        person = _person(rng, fakers, n)
        rows.append(person)
        if rng.random() < 0.03:
            rows.append(_lookalike(rng, person))
    return rows[:customers]


def write_csv(rows: list[dict[str, str]], handle: io.TextIOBase) -> None:
    writer = csv.DictWriter(handle, fieldnames=HEADER)
    writer.writeheader()
    writer.writerows(rows)


def build_world(*, customers: int, seed: int, progress: Callable[[int, int], None] | None = None) -> None:
    _ensure_staff()
    buffer = io.StringIO()
    write_csv(build_rows(customers, seed), buffer)
    buffer.seek(0)
    Importer(actor=Actor.system("demo"), source="demo", job=None).run(
        buffer, total=customers, progress=progress
    )
    from forewarn.engage.demo import play_journeys  # noqa: PLC0415 - engage builds on customers

    play_journeys(seed=seed)
    from forewarn.inbox.demo import set_up_helpdesk  # noqa: PLC0415 - the inbox builds on both

    set_up_helpdesk(seed=seed)
