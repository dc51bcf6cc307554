"""What a channel says of a sender, read as Forewarn keeps it: a provider's phone number in the formats
gateways write, a language tag, and the time zone of a number or a country that keeps one time."""

from __future__ import annotations

import pytest

from forewarn.core.errors import ValidationFailed
from forewarn.customers.normalize import language_of, normalize_sender_phone, zone_of_country, zone_of_phone


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("+380671234567", "+380671234567"),
        ("380671234567", "+380671234567"),
        ("0671234567", "+380671234567"),
        ("+380 (67) 123-45-67", "+380671234567"),
        ("14155550147", "+14155550147"),
        ("447400123456", "+447400123456"),
    ],
)
def test_a_sender_s_number_is_read_in_any_format_a_gateway_writes(written: str, e164: str) -> None:
    assert normalize_sender_phone(written) == e164


@pytest.mark.parametrize("written", ["12345", "not a number", "١٤١٥٥٥٥٠١٤٧"])
def test_what_is_no_number_stays_refused(written: str) -> None:
    with pytest.raises(ValidationFailed):
        normalize_sender_phone(written)


@pytest.mark.parametrize(
    ("tag", "language"),
    [("uk", "uk"), ("ru-UA", "ru"), ("en_GB", "en"), ("EN", "en"), ("pt-BR", None), ("", None)],
)
def test_a_language_tag_names_a_language_forewarn_speaks_or_none(tag: str, language: str | None) -> None:
    assert language_of(tag) == language


@pytest.mark.parametrize(
    ("country", "zone"),
    [
        ("UA", "Europe/Kyiv"),  # Crimea keeps another time; the table names Kyiv's for most of Ukraine
        ("ua", "Europe/Kyiv"),
        ("GB", "Europe/London"),
        ("PL", "Europe/Warsaw"),
        ("DE", "Europe/Berlin"),
        ("US", None),
        ("RU", None),
        ("XX", None),
        ("", None),
    ],
)
def test_a_country_that_keeps_one_time_has_its_zone(country: str, zone: str | None) -> None:
    assert zone_of_country(country) == zone


@pytest.mark.parametrize(
    ("number", "zone"),
    [
        ("+380671234567", "Europe/Kyiv"),
        ("+14155550147", "America/Los_Angeles"),
        ("+12125550147", "America/New_York"),
        ("+447400123456", "Europe/London"),  # also the Channel Islands' numbers, which keep London's time
        ("+79123456789", None),  # a Russian mobile may be in any of eleven times
        ("not a number", None),
    ],
)
def test_a_number_whose_plan_places_it_in_one_time_has_its_zone(number: str, zone: str | None) -> None:
    assert zone_of_phone(number) == zone
