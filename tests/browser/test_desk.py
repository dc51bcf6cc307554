"""At the desk, in a real browser: an agent creates a customer, changes them, and opens a ticket for what
they said on the phone, from the customer's page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from forewarn.accounts.models import User
from forewarn.inbox.models import Ticket

from .steps import sign_in

pytestmark = pytest.mark.browser


def test_an_agent_creates_a_customer_edits_them_and_opens_a_ticket_for_them(page: Page, olena: User) -> None:
    page.goto("/customers/")
    sign_in(page, olena)
    page.goto("/customers/")
    page.get_by_role("link", name="New customer").click()
    page.get_by_role("button", name="Save").click()  # nobody: refused, the reason beside the name
    expect(page.locator("#given_name-error")).to_be_visible()
    page.get_by_role("textbox", name=re.compile("^Given name")).fill("Ганна")
    page.get_by_label("Family name", exact=True).fill("Мельник")
    page.get_by_label("Phone", exact=True).fill("063 555 12 34")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ганна Мельник")

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("City", exact=True).fill("Полтава")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Customer saved.")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Полтава")

    page.get_by_role("link", name="New ticket").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New ticket")
    page.locator("select[name=channel]").select_option("voice")
    page.get_by_label("Subject", exact=True).fill("Лічильник")
    page.get_by_label("What the customer said").fill("Телефонувала: лічильник не передає показники.")
    page.get_by_role("button", name="Open the ticket").click()
    ticket = Ticket.objects.get(subject="Лічильник")
    expect(page).to_have_url(re.compile(rf"/inbox/{ticket.pk}/$"))
    expect(page.locator("#entries")).to_contain_text("лічильник не передає показники")
