"""A new member of staff in a real browser: sign in, find a customer, read and change the profile, switch
the language, and do it all again on a phone-sized screen."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import translation
from playwright.sync_api import Locator, Page, expect

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.customers.models import ConsentChange, Customer
from forewarn.customers.services.dedup import find_duplicates
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, create_customer

from .steps import PHONE, has_no_page_scroll, sign_in

pytestmark = pytest.mark.browser

SYSTEM = Actor.system("tests")
# The address once the search for "Петр" has answered (htmx puts the query in the URL).
SEARCHED_PETR = re.compile(r"[?&]q=%D0%9F%D0%B5%D1%82%D1%80(&|$)")


def search(page: Page, text: str) -> None:
    box = page.get_by_role("searchbox")
    box.fill("")
    box.press_sequentially(text)


def results(page: Page) -> Locator:
    return page.locator("#results")


def test_an_agent_signs_in_finds_a_customer_and_reads_the_profile(
    page: Page, olena: User, maria: Customer, oleh: Customer
) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))
    sign_in(page, olena)
    expect(page).to_have_url(re.compile(r"/inbox/$"))  # an agent's day starts on her inbox
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    expect(page.locator("#result-count")).to_have_text("2 customers")

    # A part of a Cyrillic name, typed key by key: htmx replaces the results without reloading the page.
    search(page, "Петр")
    expect(page.locator("#result-count")).to_have_text("1 customer")
    expect(results(page)).to_contain_text("Марія Петренко")
    expect(results(page)).not_to_contain_text("Олег Сидоренко")
    expect(page).to_have_url(SEARCHED_PETR)

    # A phone number as people say it, with spaces.
    search(page, "050 111 22 33")
    expect(results(page)).to_contain_text("Олег Сидоренко")
    expect(page.locator("#result-count")).to_have_text("1 customer")
    search(page, "067 123 45 67")
    expect(results(page)).to_contain_text("Марія Петренко")
    expect(results(page)).to_contain_text("+380 67 123 4567")

    results(page).get_by_role("link", name="Марія Петренко").click()

    expect(page).to_have_url(re.compile(rf"/customers/{maria.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Марія Петренко")
    identities = page.locator("section", has=page.get_by_role("heading", name="Identities"))
    expect(identities).to_contain_text("+380 67 123 4567")
    expect(identities).to_contain_text("maria.petrenko@example.com")
    consent = page.locator("section", has=page.get_by_role("heading", name="Consent", exact=True))
    marketing = consent.get_by_role("row", name=re.compile("^Marketing"))
    expect(marketing.locator(".status-granted")).to_have_text("yes")
    timeline = page.locator("section", has=page.get_by_role("heading", name="Timeline"))
    expect(timeline).to_contain_text("Consent for Marketing by Email: — → Granted")


def test_an_agent_records_what_a_customer_said_about_consent(
    page: Page, olena: User, maria: Customer
) -> None:
    sign_in(page, olena)
    page.goto(f"/customers/{maria.pk}/")

    page.get_by_label("Topic").select_option("surveys")
    page.get_by_label("Channel").select_option("viber")
    page.get_by_label("Answer").select_option("denied")
    page.get_by_label("Note").fill("said on a call")
    page.get_by_role("button", name="Record consent").click()

    expect(page.get_by_role("status")).to_have_text("Consent recorded.")
    timeline = page.locator("section", has=page.get_by_role("heading", name="Timeline"))
    expect(timeline.locator("li").first).to_contain_text("Consent for Surveys by Viber: — → Denied")
    expect(timeline.locator("li").first).to_contain_text("said on a call")
    change = ConsentChange.objects.get(customer=maria, topic="surveys", channel="viber")
    assert (change.status, change.actor_id) == ("denied", olena.pk)


def translated(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def test_the_interface_switches_to_ukrainian_and_russian_and_back(
    page: Page, olena: User, maria: Customer, oleh: Customer
) -> None:
    sign_in(page, olena)
    page.goto("/customers/")
    search(page, "Петр")
    expect(page).to_have_url(SEARCHED_PETR)
    expect(page.locator("#result-count")).to_have_text("1 customer")
    switcher = page.locator("#language-select")

    for code, own_name in [("uk", "Українська"), ("ru", "Русский"), ("en", "English")]:
        switcher.select_option(code)

        expect(page.locator("html")).to_have_attribute("lang", code)
        expect(switcher.locator("option:checked")).to_have_text(own_name)
        # Whatever the catalogs hold today, the heading says what gettext says for this language.
        expect(page.get_by_role("heading", level=1)).to_have_text(translated(code, "Customers"))
        # The switch keeps the search typed before it.
        expect(page).to_have_url(SEARCHED_PETR)
        expect(results(page)).to_contain_text("Марія Петренко")
        expect(results(page)).not_to_contain_text("Олег Сидоренко")


def test_every_page_fits_a_phone_screen(
    open_page: Callable[..., Page], taras: User, maria: Customer, oleh: Customer, tmp_path: Path
) -> None:
    create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name="Марія",
            family_name="Петренко",
            birth_date="1988-04-12",
            city="Київ",
            identities=[IdentityIn(kind="email", value="maria.petrenko.from.the.shop.form@example.org")],
        ),
        source="tests",
    )
    find_duplicates(actor=SYSTEM)
    page = open_page(PHONE)
    sign_in(page, taras)
    page.goto("/customers/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    search(page, "Петренко")
    expect(page).to_have_url(re.compile(r"[?&]q=%D0%9F%D0%B5%D1%82%D1%80%D0%B5%D0%BD%D0%BA%D0%BE(&|$)"))
    expect(page.locator("#result-count")).to_have_text("2 customers")
    assert has_no_page_scroll(page)
    page.screenshot(path=tmp_path / "phone-list.png", full_page=True)

    results(page).get_by_role("link", name="Марія Петренко").first.click()
    expect(page.get_by_role("heading", name="Identities")).to_be_visible()
    expect(page.get_by_role("button", name="Record consent")).to_be_visible()
    assert has_no_page_scroll(page)
    page.screenshot(path=tmp_path / "phone-profile.png", full_page=True)

    pages = [
        ("/customers/duplicates/", "Possible duplicates"),
        ("/customers/imports/", "Import customers"),
        ("/inbox/", "Inbox"),
    ]
    for path, heading in pages:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert has_no_page_scroll(page), path
        page.screenshot(path=tmp_path / f"phone-{path.strip('/').replace('/', '-')}.png", full_page=True)

    # The language switcher stays within reach on the small screen.
    expect(page.locator("#language-select")).to_be_in_viewport()


def test_six_wrong_passwords_lock_the_account(page: Page, olena: User) -> None:
    for _attempt in range(6):
        sign_in(page, olena, password="not-her-password")

    expect(page.get_by_role("heading", level=1)).to_have_text("Too many failed sign-ins")
    # Locked means locked: even the right password is refused until the cool-off ends.
    sign_in(page, olena)
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many failed sign-ins")


def test_the_api_docs_render_every_endpoint(page: Page) -> None:
    """The interactive docs the README points to: Swagger UI renders the whole schema (a schema it cannot
    parse shows an error box instead), served from local files."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto("/api/v1/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.locator(".errors-wrapper")).to_have_count(0)
    expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/incidents/{incident_id}/call-list")
    ).to_be_visible()
    assert page.locator(".opblock").count() > 20
    assert not [e for e in errors if "YAMLException" in e or "Parser error" in e], errors
