"""The contact policy's settings in a real browser: an administrator loosens a cap and adds one (a
mistyped limit is refused beside its row, the rest kept as typed), moves the default quiet hours, and
adds a topic that needs a yes; a supervisor sees no link and is refused the pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

import pytest
from playwright.sync_api import Page, expect

from forewarn.accounts.models import User
from forewarn.core.models import ContactDefaults, Topic
from forewarn.engage.models import FrequencyCap

from .steps import sign_in

pytestmark = pytest.mark.browser


def test_an_administrator_keeps_the_contact_policy_and_a_supervisor_is_kept_out(
    open_page: Callable[..., Page], ada: User, taras: User
) -> None:
    FrequencyCap.objects.all().delete()
    FrequencyCap.objects.create(topic="marketing", limit=1, window_hours=24)
    page = open_page()
    sign_in(page, ada)
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Contact policy")
    link.click()
    expect(page.get_by_role("heading", name="Contact policy")).to_be_visible()
    expect(link).to_have_attribute("aria-current", "page")

    page.get_by_label("Messages allowed by cap 1").fill("2")
    page.get_by_label("Topic of cap 2").select_option(label="Surveys")
    page.get_by_label("Messages allowed by cap 2").fill("1000000")  # a few zeros too many
    page.get_by_label("Hours counted by cap 2").fill("720")
    page.get_by_role("button", name="Save caps").click()
    mistyped = page.get_by_label("Messages allowed by cap 2")
    expect(mistyped).to_have_attribute("aria-invalid", "true")
    expect(mistyped).to_have_accessible_description("From 0 to 1000 messages.")
    expect(mistyped).to_have_value("1000000")
    expect(page.get_by_label("Messages allowed by cap 1")).to_have_value("2")
    assert list(FrequencyCap.objects.values_list("topic", "limit")) == [("marketing", 1)]

    mistyped.fill("10")
    page.get_by_role("button", name="Save caps").click()
    expect(page.get_by_role("status")).to_contain_text("Frequency caps saved")
    assert sorted(FrequencyCap.objects.values_list("topic", "limit", "window_hours")) == [
        ("marketing", 2, 24),
        ("surveys", 10, 720),
    ]
    expect(page.get_by_label("Hours counted by cap 2")).to_have_value("720")
    expect(page.get_by_role("row").filter(has_text="30 days")).to_be_visible()

    page.get_by_role("link", name="Quiet hours").click()
    expect(link).to_have_attribute("aria-current", "page")
    page.get_by_label("Quiet from").fill("22:00")
    page.get_by_label("until").fill("08:00")
    page.get_by_role("button", name="Save quiet hours").click()
    expect(page.get_by_role("status")).to_contain_text("Default quiet hours saved")
    row = ContactDefaults.objects.get()
    assert (row.quiet_hours_start, row.quiet_hours_end) == (time(22, 0), time(8, 0))

    page.get_by_role("link", name="Topics").click()
    page.get_by_role("link", name="New topic").click()
    page.get_by_label("Code").fill("product_news")
    page.get_by_label("Ukrainian").fill("Новинки")
    page.get_by_label("English").fill("Product news")
    expect(page.get_by_label("Needs a yes")).to_be_checked()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Topic saved.")
    news = page.get_by_role("row").filter(has_text="Product news")
    expect(news).to_contain_text("needs a yes (opt-in)")
    expect(news).to_contain_text("0 active triggers, 0 caps")
    assert Topic.objects.get(code="product_news").names == {"uk": "Новинки", "en": "Product news"}

    supervisor = open_page()
    sign_in(supervisor, taras)
    expect(
        supervisor.get_by_role("navigation", name="Main").get_by_role("link", name="Helpdesk settings")
    ).to_be_visible()
    expect(
        supervisor.get_by_role("navigation", name="Main").get_by_role("link", name="Contact policy")
    ).to_have_count(0)
    refused = supervisor.goto("/engage/policy/caps/")
    assert refused is not None
    assert refused.status == 403
