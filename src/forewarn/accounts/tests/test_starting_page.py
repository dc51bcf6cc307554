"""Where a person lands after signing in: each role on its own work, and a page asked for before signing
in still wins."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from forewarn.accounts.models import User


def _landing(user: User, next_url: str = "") -> str:
    client = Client()
    form = {"username": user.username, "password": f"{user.username}-long-password-1"}
    if next_url:
        form["next"] = next_url
    answer = client.post(reverse("login"), form, follow=True)
    assert answer.status_code == 200
    return str(answer.redirect_chain[-1][0])


@pytest.mark.parametrize(
    ("persona", "page"),
    [
        ("olena", "inbox:list"),
        ("taras", "inbox:list"),
        ("ada", "inbox:list"),
        ("maksym", "engage:triggers"),
        ("iryna", "engage:messages"),
    ],
)
def test_each_role_starts_on_its_own_work(persona: str, page: str, request: pytest.FixtureRequest) -> None:
    user: User = request.getfixturevalue(persona)

    assert _landing(user) == reverse(page)


def test_a_page_asked_for_before_signing_in_opens_instead(olena: User) -> None:
    assert _landing(olena, reverse("customers:duplicates")) == reverse("customers:duplicates")


def test_the_front_door_sends_a_stranger_to_sign_in(db: None) -> None:
    assert Client().get(reverse("home"))["Location"] == reverse("login")
