"""A new member of staff's first day in a real browser: each role lands on its own work, the top bar
stays one line at 1440 px in every language, and codes are shown as words in Ukrainian and Russian."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.core import clock

from .steps import sign_in
from .test_incident_console import NIGHT_IN_KYIV
from .test_unsubscribe import promoted_oksana

pytestmark = pytest.mark.browser

WIDE = {"width": 1440, "height": 900}
SYSTEM = Actor.system("tests")
# Codes as stored (channels, statuses, a decision's steps): none may reach a Ukrainian or Russian page.
CODES = re.compile(r"\b(email|sms|webchat|sent|queued|delivered|pass|defer|skip|standard|uk|ru)\b")


def in_language(page: Page, code: str) -> None:
    page.locator("#language-select").select_option(code)
    expect(page.locator("html")).to_have_attribute("lang", code)


@pytest.mark.parametrize(
    ("persona", "path", "heading"),
    [
        ("olena", "/inbox/", "Inbox"),
        ("maksym", "/engage/triggers/", "Triggers"),
        ("iryna", "/engage/messages/", "Messages"),
    ],
)
def test_each_role_lands_on_its_own_work(
    open_page: Callable[..., Page], persona: str, path: str, heading: str, request: pytest.FixtureRequest
) -> None:
    page = open_page()
    sign_in(page, request.getfixturevalue(persona))

    expect(page).to_have_url(re.compile(f"{re.escape(path)}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.locator("[aria-current=page]")).to_have_text(heading)


@pytest.mark.parametrize("language", ["uk", "ru", "en"])
def test_the_top_bar_is_one_line_at_1440_pixels(
    open_page: Callable[..., Page], ada: User, language: str
) -> None:
    ada.first_name, ada.last_name = "Олександра", "Коваленко-Шевчук"  # a name as long as they come
    ada.save(update_fields=["first_name", "last_name"])
    page = open_page(WIDE)
    sign_in(page, ada)  # the administrator sees every section
    in_language(page, language)

    bar = page.locator("header.topbar").bounding_box()
    items = page.locator("nav.mainnav a")
    first, last = items.first.bounding_box(), items.last.bounding_box()
    sign_out = page.locator("header.topbar form[action='/logout/'] button").bounding_box()
    assert bar
    assert first
    assert last
    assert sign_out
    assert last["y"] == first["y"], "the navigation wrapped"
    assert bar["height"] < 60, "the top bar takes more than one line"
    assert abs(sign_out["y"] + sign_out["height"] / 2 - (first["y"] + first["height"] / 2)) < 8


@pytest.mark.parametrize("language", ["uk", "ru"])
def test_codes_read_as_words_on_ukrainian_and_russian_pages(
    open_page: Callable[..., Page], taras: User, immediate_tasks: None, language: str
) -> None:
    with clock.frozen_at(NIGHT_IN_KYIV.replace(hour=12)):
        oksana = promoted_oksana()
    page = open_page()
    sign_in(page, taras)
    page.goto(f"/customers/{oksana.pk}/")
    in_language(page, language)

    conversations = page.locator("#customer-timeline .entries .muted").first
    expect(conversations).to_contain_text(translated(language, "Email"))
    decisions = page.locator("#customer-messages .decisions").first
    expect(decisions).to_be_visible()
    decisions.locator("summary").first.click()
    trail = decisions.locator(".trail").first
    expect(trail).to_contain_text(translated(language, "Quiet hours"))
    for shown in (conversations, decisions.locator("summary").first, trail):
        assert not CODES.search(shown.inner_text()), shown.inner_text()

    page.goto("/engage/messages/sent/")
    channel = page.locator("main table tbody td").nth(1)
    expect(channel).to_have_text(translated(language, "Email"))


def translated(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)
