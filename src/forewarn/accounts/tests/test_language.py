"""The interface language a person chose is theirs: kept on their profile when they switch, and applied
when they sign in again, in another browser too."""

from __future__ import annotations

from django.conf import settings
from django.test import Client
from django.urls import reverse

from forewarn.accounts.models import User


def _sign_in(client: Client, user: User) -> None:
    answer = client.post(
        reverse("login"), {"username": user.username, "password": f"{user.username}-long-password-1"}
    )
    assert answer.status_code == 302


def _switch(client: Client, language: str) -> None:
    answer = client.post(reverse("set_language"), {"language": language, "next": "/inbox/"})
    assert answer.status_code == 302


def test_switching_language_keeps_it_on_the_profile(olena: User) -> None:
    client = Client()
    _sign_in(client, olena)

    _switch(client, "uk")

    olena.refresh_from_db()
    assert olena.language == "uk"


def test_a_new_sign_in_in_another_browser_opens_in_the_language_she_chose(olena: User) -> None:
    first = Client()
    _sign_in(first, olena)
    _switch(first, "ru")
    first.post(reverse("logout"))

    second = Client()
    _sign_in(second, olena)
    page = second.get(reverse("inbox:list"))

    assert second.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ru"
    assert page.headers["Content-Language"] == "ru"
    assert '<html lang="ru">' in page.content.decode()


def test_her_own_language_wins_over_what_the_browser_was_left_in(olena: User) -> None:
    olena.language = "uk"
    olena.save(update_fields=["language"])
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    _sign_in(client, olena)

    assert '<html lang="uk">' in client.get(reverse("inbox:list")).content.decode()


def test_a_language_chosen_on_the_sign_in_page_becomes_hers_when_she_has_none(olena: User) -> None:
    client = Client()
    _switch(client, "uk")

    _sign_in(client, olena)

    olena.refresh_from_db()
    assert olena.language == "uk"


def test_a_stranger_switching_language_changes_no_profile(olena: User) -> None:
    _switch(Client(), "ru")

    olena.refresh_from_db()
    assert olena.language == ""


def test_an_unknown_language_is_not_kept(olena: User) -> None:
    client = Client()
    _sign_in(client, olena)

    client.post(reverse("set_language"), {"language": "xx", "next": "/inbox/"})

    olena.refresh_from_db()
    assert olena.language == ""
