"""A supervisor declares an outage for one district in the browser: exactly its residents are told (one of
them in the morning, as it is night in Kyiv), the progress updates by itself, the profile says why, and
"fixed" follows to the same people."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, create_customer
from forewarn.engage.models import Message
from forewarn.engage.services.outbox import dispatch_once

from .steps import PHONE, has_no_page_scroll, sign_in

pytestmark = pytest.mark.browser

SYSTEM = Actor.system("tests")
# 22:30 in Kyiv (quiet hours), 15:30 in New York.
NIGHT_IN_KYIV = datetime(2026, 3, 10, 20, 30, tzinfo=UTC)


def resident(name: str, district: str, phone: str, **extra: Any) -> Customer:
    return create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name=name,
            family_name="Test",
            attributes={"district": district},
            identities=[IdentityIn(kind="phone", value=phone)],
            **extra,
        ),
        source="tests",
    )


@pytest.fixture
def night(immediate_tasks: None) -> Iterator[None]:
    with clock.frozen_at(NIGHT_IN_KYIV):
        yield


def test_an_outage_for_one_district_reaches_its_residents_and_resolved_follows(
    page: Page, taras: User, night: None
) -> None:
    hanna = resident("Ганна", "Podilskyi", "+380671110001")
    john = resident("John", "Podilskyi", "+380671110002", time_zone="America/New_York", language="en")
    ivan = resident("Іван", "Obolonskyi", "+380671110004")

    sign_in(page, taras)
    page.get_by_role("link", name="Incidents").click()
    page.get_by_label("What happened").fill("No electricity")
    page.get_by_label("Where (shown to customers)").fill("Podil")
    page.get_by_label("District").select_option("Podilskyi")
    page.get_by_role("button", name="Declare and notify").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("No electricity")
    expect(page.locator("#progress-summary")).to_have_text("2 of 2 decided; 0 told.")
    expect(page.locator("#progress")).to_contain_text("Ганна")  # the latest decisions, as they are made
    assert set(Message.objects.values_list("customer_id", flat=True)) == {hanna.pk, john.pk}
    assert not Message.objects.filter(customer=ivan).exists()

    # The sender runs: John (afternoon in New York) is told now; Hanna waits for 09:00 in Kyiv. The page
    # polls while anything is still on its way, so the counts change without a reload.
    dispatch_once()
    expect(page.locator("#progress-summary")).to_have_text("2 of 2 decided; 1 told.")
    expect(page.locator("#progress [data-status=queued]")).to_have_text("1")

    page.goto(f"/customers/{hanna.pk}/")
    decisions = page.locator("#customer-messages")
    expect(decisions).to_contain_text("quiet hours in the customer's time zone")
    decisions.locator("summary").first.click()
    expect(decisions.locator(".trail")).to_contain_text("Consent and channel")
    expect(decisions).to_contain_text("Ганна, ми знаємо про перебої: No electricity (Podil)")

    page.go_back()
    page.get_by_role("button", name="Resolve and tell them it is fixed").click()
    expect(page.get_by_role("status")).to_contain_text("Resolved")
    resolved = Message.objects.filter(kind="resolved")
    assert list(resolved.values_list("customer_id", flat=True)) == [john.pk]
    assert Message.objects.get(customer=hanna, kind="notice").status == "cancelled"
    # The page keeps polling until "fixed" has gone out too.
    expect(page.locator("#progress [data-kind=resolved] [data-status=queued]")).to_have_text("1")
    dispatch_once()
    expect(page.locator("#progress [data-kind=resolved] [data-status=sent]")).to_have_text("1")
    expect(page.locator("#progress [data-kind=resolved] [data-status=queued]")).to_have_count(0)


def test_the_incident_console_reads_well_on_a_phone_in_ukrainian(
    open_page: Any, taras: User, night: None
) -> None:
    resident("Ганна", "Podilskyi", "+380671110001")
    page = open_page(PHONE)
    sign_in(page, taras)
    page.goto("/engage/incidents/")
    page.locator("#language-select").select_option("uk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Інциденти")
    assert has_no_page_scroll(page)
    page.get_by_label("Що сталося").fill("Немає води")
    page.get_by_label("Район").select_option("Podilskyi")
    page.get_by_role("button", name="Оголосити й сповістити").click()
    expect(page.locator("#progress-summary")).to_contain_text("1")
    assert has_no_page_scroll(page)
