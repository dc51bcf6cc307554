"""Creating and changing a customer on the customers' pages: the same services as the API, each refusal
beside its field and in the reader's language."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from forewarn.accounts.models import User
from forewarn.customers.models import Customer


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(**values: str) -> dict[str, Any]:
    fields = ("given_name", "middle_name", "family_name", "city", "language", "time_zone")
    blank = dict.fromkeys((*fields, "preferred_channel", "phone", "email", "telegram", "viber"), "")
    return {**blank, "language": "uk", "time_zone": "Europe/Kyiv", **values}


def test_an_agent_creates_a_customer_from_the_list(olena: User) -> None:
    client = _signed_in(olena)
    assert reverse("customers:new") in client.get(reverse("customers:list")).content.decode()
    answer = client.post(
        reverse("customers:new"),
        _form(
            given_name="Ірина",
            family_name="Коваль",
            city="Львів",
            phone="067 765 43 21",
            email="Iryna@Example.com",
            preferred_channel="email",
        ),
    )
    assert answer.status_code == 302
    customer = Customer.objects.get(family_name="Коваль")
    assert answer["Location"] == reverse("customers:detail", args=[customer.pk])
    assert (customer.given_name, customer.city, customer.preferred_channel) == ("Ірина", "Львів", "email")
    found = dict(customer.identities.values_list("kind", "value"))
    assert found == {"phone": "+380677654321", "email": "iryna@example.com"}


def test_an_empty_customer_is_refused_with_the_reason_beside_the_name_in_the_users_language(
    olena: User,
) -> None:
    answer = _signed_in(olena).post(reverse("customers:new"), _form(), HTTP_ACCEPT_LANGUAGE="uk")
    assert answer.status_code == 422
    page = answer.content.decode()
    assert 'id="given_name-error"' in page
    assert not Customer.objects.exists()


def test_a_bad_phone_is_shown_beside_the_phone(olena: User) -> None:
    answer = _signed_in(olena).post(reverse("customers:new"), _form(given_name="Ірина", phone="12"))
    assert answer.status_code == 422
    assert 'id="phone-error"' in answer.content.decode()
    assert not Customer.objects.exists()


def test_an_agent_edits_a_customer_and_their_ways_to_reach_them(olena: User, maria: Customer) -> None:
    client = _signed_in(olena)
    detail = client.get(reverse("customers:detail", args=[maria.pk])).content.decode()
    assert reverse("customers:edit", args=[maria.pk]) in detail
    shown = client.get(reverse("customers:edit", args=[maria.pk])).content.decode()
    assert 'value="Марія"' in shown
    assert "+380671234567" in shown
    answer = client.post(
        reverse("customers:edit", args=[maria.pk]),
        _form(
            given_name="Марія",
            family_name="Іваненко",
            city="Одеса",
            language="ru",
            time_zone="Europe/Warsaw",
            preferred_channel="telegram",
            phone="067 123 45 67",
            email="",
            telegram="@maria_iv",
        ),
    )
    assert answer.status_code == 302
    maria.refresh_from_db()
    assert (maria.family_name, maria.city, maria.language, maria.time_zone, maria.preferred_channel) == (
        "Іваненко",
        "Одеса",
        "ru",
        "Europe/Warsaw",
        "telegram",
    )
    assert dict(maria.identities.values_list("kind", "value")) == {
        "phone": "+380671234567",
        "telegram": "@maria_iv",
    }


def test_an_edit_that_would_leave_nobody_is_refused_and_changes_nothing(olena: User, maria: Customer) -> None:
    answer = _signed_in(olena).post(
        reverse("customers:edit", args=[maria.pk]), _form(time_zone="Mars/Olympus")
    )
    assert answer.status_code == 422
    page = answer.content.decode()
    assert 'id="given_name-error"' in page or 'id="time_zone-error"' in page
    maria.refresh_from_db()
    assert maria.family_name == "Петренко"
    assert maria.identities.count() == 2


def test_an_analyst_may_not_edit(iryna: User, maria: Customer) -> None:
    client = _signed_in(iryna)
    assert client.get(reverse("customers:edit", args=[maria.pk])).status_code == 403
    assert client.get(reverse("customers:new")).status_code == 403
    assert (
        reverse("customers:edit", args=[maria.pk])
        not in client.get(reverse("customers:detail", args=[maria.pk])).content.decode()
    )
