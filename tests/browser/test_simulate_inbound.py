"""A newcomer tries the demo's Telegram in the browser: from the message log to the simulation page, a
customer the demo knows by her @username writes, and her message is a ticket in the Inbox; then someone
new with her name writes, and the two are proposed under Duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.channels.registry import providers_from_env, reset_providers
from forewarn.customers.models import Customer
from forewarn.customers.services.profiles import add_identity

from .steps import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_channels(settings: Any) -> Iterator[None]:
    settings.FOREWARN_PROVIDERS = providers_from_env({"FOREWARN_DEMO_CHANNELS": "on"})
    reset_providers()
    yield
    reset_providers()


def test_a_telegram_message_arrives_as_a_ticket_and_a_namesake_as_a_duplicate(
    page: Page, taras: User, maria: Customer, demo_channels: None
) -> None:
    add_identity(actor=Actor.system("tests"), customer=maria, kind="telegram", value="@maria_p", source="crm")

    sign_in(page, taras)
    page.get_by_role("link", name="Messages", exact=True).click()
    page.get_by_role("link", name="Simulate an inbound message").click()
    page.get_by_role("link", name="Telegram").click()
    page.get_by_role("link", name="Марія Петренко, a customer the demo knows").click()
    expect(page.get_by_label("Telegram user name (optional)")).to_have_value("maria_p")
    page.get_by_label("What they write").fill("Де моя посилка? Чекаю з понеділка.")
    page.get_by_role("button", name="Send to the demo").click()

    expect(page.get_by_role("status")).to_contain_text("The message arrived.")
    page.get_by_role("link", name="Open the customer's profile").click()
    expect(page.get_by_role("heading", name="Марія Петренко")).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="Open ticket").click()
    expect(page.get_by_text("Де моя посилка? Чекаю з понеділка.", exact=True)).to_be_visible()

    page.goto("/engage/messages/simulate/?channel=telegram")
    page.get_by_role("link", name="Someone new named Марія Петренко, like a customer the demo knows").click()
    page.get_by_role("button", name="Send to the demo").click()
    expect(page.get_by_role("status")).to_contain_text("The message arrived.")
    page.get_by_role("status").get_by_role("link", name="Duplicates").click()
    expect(page.get_by_text("a new sender with this name")).to_be_visible()
