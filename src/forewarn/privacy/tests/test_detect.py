"""The detector and its masks: pure functions, judged on the labelled set and on cases people write."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forewarn.privacy.detect import (
    BULLET,
    Kind,
    find,
    iban_ok,
    inn_ok,
    luhn_ok,
    mask_text,
    rnokpp_ok,
    snils_ok,
)
from forewarn.privacy.tests.corpus import Sample, build, score


@pytest.fixture(scope="module")
def corpus() -> list[Sample]:
    return build(3000)


def test_the_labelled_set_is_found_with_the_precision_and_recall_we_promise(corpus: list[Sample]) -> None:
    precision, recall, notes = score(corpus, lambda text: [(f.kind, f.start, f.end) for f in find(text)])
    assert precision >= 0.99, notes
    assert recall >= 0.98, notes


def test_the_labelled_set_holds_every_kind_and_decoys(corpus: list[Sample]) -> None:
    kinds = {kind for sample in corpus for kind, _a, _b in sample.spans}
    assert kinds == set(Kind)
    assert sum(1 for s in corpus if not s.spans) > 50  # sentences with nothing to find


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Мій номер +380 67 123 45 67, дякую", Kind.PHONE, "+380671234567"),
        ("передзвоніть на 067-123-45-67", Kind.PHONE, "+380671234567"),
        ("тел. 8 (912) 345-67-89", Kind.PHONE, "+79123456789"),
        ("call (212) 555-0147 today", Kind.PHONE, "+12125550147"),
        ("картка 4111 1111 1111 1111", Kind.CARD, "4111111111111111"),
        ("card 4111-1111-1111-1111", Kind.CARD, "4111111111111111"),
        ("IBAN UA21 3223 1300 0002 6007 2335 6600 1", Kind.IBAN, "UA213223130000026007233566001"),
        ("пишіть на Maria.Petrenko@Example.com", Kind.EMAIL, "maria.petrenko@example.com"),
        ("паспорт КВ 123456", Kind.PASSPORT, "КВ123456"),
        ("паспорт серия 45 06 123456", Kind.PASSPORT, "4506123456"),
        ("мій ІПН 3184710691", Kind.RNOKPP, "3184710691"),
        ("ИНН 500100732259", Kind.INN, "500100732259"),
        ("СНИЛС 112-233-445 95", Kind.SNILS, "11223344595"),
        ("дата народження: 12.03.1985", Kind.BIRTH_DATE, "1985-03-12"),
        ("дата рождения 5 марта 1979 г.", Kind.BIRTH_DATE, "1979-03-05"),
        ("DOB: March 12, 1985", Kind.BIRTH_DATE, "1985-03-12"),
    ],
)
def test_values_in_the_forms_people_write_them(text: str, kind: Kind, value: str) -> None:
    [found] = find(text)
    assert (found.kind, found.normalized) == (kind, value)
    assert text[found.start : found.end] == found.value


@pytest.mark.parametrize(
    "text",
    [
        "Замовлення №4837261950 ще не прийшло",  # an order number is no phone
        "ТТН 20450012345678",  # a waybill is no card
        "Оплачено 1 250,00 грн 12.05.2024 о 10:30",  # amounts, dates, times
        "картка 4111 1111 1111 1112 не проходить",  # fails Luhn
        "рахунок UA22 3223 1300 0002 6007 2335 6600 1",  # fails mod 97
        "ІПН 3184710692",  # wrong check digit
        "Рейс PS 1234 затримано на 35 хвилин",
        "код 3184710691",  # ten digits nobody named: not a tax id
        "Договір від 12.03.1985",  # a date, but nobody's birthday
        "Оцінка 9 з 10, дякую!",
    ],
)
def test_decoys_are_left_alone(text: str) -> None:
    assert find(text) == []


def test_a_phone_and_a_count_in_one_run_of_digits_are_told_apart() -> None:
    [found] = find("Передзвоніть на 067 123 45 67 2 рази")
    assert found.value == "067 123 45 67"


def test_an_ibans_digits_are_not_a_phone_and_an_emails_digits_not_a_card() -> None:
    text = "UA213223130000026007233566001 і 4111111111111111@example.com"
    assert [f.kind for f in find(text)] == [Kind.IBAN, Kind.EMAIL]


def test_masks_show_enough_to_recognise_and_never_enough_to_use() -> None:
    masked, placed = mask_text(
        "Номер +380 67 123 45 67, картка 4111 1111 1111 1111, "
        "UA213223130000026007233566001, maria@example.com"
    )
    assert masked == (
        f"Номер +380 {BULLET * 2} {BULLET * 3} {BULLET * 2} 67, картка 4111 {BULLET * 4} {BULLET * 4} 1111, "
        f"UA21 {' '.join([BULLET * 4] * 5)} {BULLET} 6001, m{BULLET * 3}@example.com"
    )
    for _found, start, end, shown in placed:
        assert masked[start:end] == shown


@given(
    st.lists(
        st.sampled_from(
            ["Мій номер", "+380671234567", "картка", "4111111111111111", " ", ", ", "ІПН 3184710691"]
        )
    )
)
def test_masked_text_keeps_what_is_between_values_and_no_value_survives(parts: list[str]) -> None:
    text = " ".join(parts)  # values glued to words are codes, not values (see the detector)
    masked, placed = mask_text(text)
    for found, start, end, shown in placed:
        assert masked[start:end] == shown
        assert found.normalized not in masked
    assert "671234567" not in masked
    assert "11111111" not in masked


def test_check_digits() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert iban_ok("UA213223130000026007233566001")
    assert not iban_ok("UA213223130000026007233566002")
    assert rnokpp_ok("3184710691")
    assert not rnokpp_ok("3184710692")
    assert inn_ok("500100732259")
    assert inn_ok("7830002293")
    assert not inn_ok("500100732258")
    assert snils_ok("11223344595")
    assert not snils_ok("11223344596")


def test_a_payload_is_masked_field_by_field_with_the_keys_read_as_labels() -> None:
    from forewarn.privacy.services.protect import mask_payload

    payload = {
        "order_id": "4837261950",  # a number the key calls an order
        "tracking": "20450012345678",
        "departure": "2026-12-03T14:20:00+00:00",
        "birth_date": "1985-03-12",
        "card": 4111111111111111,
        "contacts": [{"phone": "0671234567"}],
        "vip": True,
        "text": "Мій ІПН 3184710691",
    }
    masked, hidden = mask_payload(payload)
    assert masked["order_id"] == "4837261950"
    assert masked["tracking"] == "20450012345678"
    assert masked["departure"] == "2026-12-03T14:20:00+00:00"
    assert masked["birth_date"] == f"{BULLET * 4}-{BULLET * 2}-{BULLET * 2}"
    assert masked["card"] == f"4111 {BULLET * 4} {BULLET * 4} 1111"
    assert masked["contacts"][0]["phone"].startswith("+380 ")
    assert masked["vip"] is True
    assert {(h.field, h.kind) for h in hidden} == {
        ("payload.birth_date", "birth_date"),
        ("payload.card", "card"),
        ("payload.contacts.0.phone", "phone"),
        ("payload.text", "rnokpp"),
    }
