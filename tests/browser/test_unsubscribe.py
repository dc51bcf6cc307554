"""A Ukrainian customer opens the unsubscribe link of a promotion on a phone whose browser speaks English:
the page is in Ukrainian, says what it stops in her words, and stops it; the staff's screens are nowhere
on it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from forewarn.accounts.actors import Actor
from forewarn.channels.models import LocalDelivery
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.customers.services.profiles import ConsentIn, IdentityIn, ProfileIn, create_customer
from forewarn.engage.demo import ensure_triggers
from forewarn.engage.services.ingest import EventIn, ingest_events
from forewarn.engage.services.outbox import dispatch_once

from .steps import PHONE, has_no_page_scroll
from .test_incident_console import NIGHT_IN_KYIV

pytestmark = pytest.mark.browser

SYSTEM = Actor.system("tests")


@pytest.fixture
def afternoon(immediate_tasks: None) -> Iterator[None]:
    with clock.frozen_at(NIGHT_IN_KYIV.replace(hour=12)):
        yield


def promoted_oksana() -> Customer:
    """Oksana, who speaks Ukrainian and takes promotions by e-mail, has looked at a TV three times: the
    demo's promotion is sent to her."""
    ensure_triggers()
    oksana = create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name="Оксана",
            language="uk",
            preferred_channel="email",
            identities=[IdentityIn(kind="email", value="oksana@example.com")],
            consents=[ConsentIn(topic="marketing", channel="email", status="granted")],
        ),
        source="tests",
    )
    ingest_events(
        actor=SYSTEM,
        items=[
            EventIn(
                source="web",
                id=f"view-{day}",
                type="product_viewed",
                customer={"email": "oksana@example.com"},
                payload={"sku": "TV-55-OLED", "name": "OLED 55"},
                occurred_at=clock.now() - timedelta(days=day),
            )
            for day in (2, 1, 0)
        ],
    )
    dispatch_once()
    return oksana


def test_a_customer_unsubscribes_in_her_own_language_from_an_english_browser(
    open_page: Callable[..., Page], afternoon: None
) -> None:
    oksana = promoted_oksana()
    mail = LocalDelivery.objects.get(address="oksana@example.com")
    assert mail.subject == "«OLED 55» зі знижкою 10% до неділі"
    (link,) = re.findall(r"Відписатися: (\S+)", mail.body)
    page = open_page(PHONE)

    page.goto("/" + link.split("/", 3)[3])

    expect(page.locator("html")).to_have_attribute("lang", "uk")
    expect(page).to_have_title("Відписатися")
    expect(page.get_by_text("Ми надсилаємо вам пропозиції та новини електронною поштою.")).to_be_visible()
    expect(page.get_by_role("link", name="Forewarn")).to_have_count(0)  # no staff header
    assert has_no_page_scroll(page)
    page.get_by_role("button", name="Більше не надсилати").click()
    expect(page.get_by_role("heading", name="Готово")).to_be_visible()
    expect(
        page.get_by_text("Ми більше не надсилатимемо вам пропозиції та новини електронною поштою.")
    ).to_be_visible()
    refused = Customer.objects.get(pk=oksana.pk).consents.get(topic="marketing", channel="email")
    assert refused.status == "denied"
