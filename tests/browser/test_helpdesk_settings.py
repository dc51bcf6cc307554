"""The helpdesk's settings in a real browser: a supervisor sets up a business calendar (a day whose hours
run backwards is refused with what was typed kept), an SLA policy counted in it and a canned reply's
words; an agent sees no link to the settings and is refused them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from forewarn.accounts.models import User
from forewarn.inbox.models import BusinessCalendar, CannedReply, SlaPolicy

from .steps import sign_in

pytestmark = pytest.mark.browser


def test_a_supervisor_sets_up_the_helpdesk_and_an_agent_is_kept_out(
    open_page: Callable[..., Page], taras: User, olena: User
) -> None:
    CannedReply.objects.create(
        title="Посилка", shortcut="parcel", language="uk", body="Посилка в дорозі, {{ customer.first_name }}."
    )
    page = open_page()
    sign_in(page, taras)
    settings_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Helpdesk settings")
    settings_link.click()
    expect(page.get_by_role("heading", name="Helpdesk settings")).to_be_visible()

    page.get_by_role("link", name="Business calendars").click()
    expect(settings_link).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="New calendar").click()
    expect(settings_link).to_have_attribute("aria-current", "page")
    page.get_by_label("Name").fill("Kyiv office")
    page.get_by_label("Time zone").fill("Europe/Kyiv")
    page.get_by_label("Country").fill("UA")
    wednesday = page.get_by_label("Wednesday")
    wednesday.fill("18:00-09:00")
    page.get_by_role("button", name="Save").click()

    summary = page.get_by_role("alert").first
    expect(summary).to_have_text("Some fields are not valid; see the messages beside them.")
    expect(wednesday).to_have_attribute("aria-invalid", "true")
    expect(wednesday).to_have_accessible_description(
        "“18:00-09:00” is not a span such as 09:00-18:00 that runs forwards within one day."
    )
    expect(wednesday).to_have_value("18:00-09:00")
    expect(page.get_by_label("Name")).to_have_value("Kyiv office")
    expect(page.get_by_label("Country")).to_have_value("UA")
    expect(page.get_by_label("Monday")).to_have_value("09:00-18:00")
    assert not BusinessCalendar.objects.exists()

    wednesday.fill("09:00-13:00, 14:00-18:00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Calendar saved.")
    office = page.get_by_role("row").filter(has_text="Kyiv office")
    expect(office).to_contain_text("Wed 09:00-13:00, 14:00-18:00")
    expect(office).to_contain_text("no policy")

    page.get_by_role("link", name="SLA policies").click()
    page.get_by_role("link", name="New SLA policy").click()
    page.get_by_label("Name").fill("Standard")
    page.get_by_label("First response within").fill("60")
    page.get_by_label("Resolution within").fill("480")
    page.get_by_label("Counted in").select_option(label="Kyiv office")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text(
        "SLA policy saved; the clocks of the open tickets it governs or matches are being recomputed."
    )
    standard = page.get_by_role("row").filter(has_text="Standard")
    expect(standard).to_contain_text("every ticket")
    expect(standard).to_contain_text("1 h")
    expect(standard).to_contain_text("8 h")
    expect(standard).to_contain_text("Kyiv office")
    policy = SlaPolicy.objects.get()
    assert (policy.calendar_id, policy.first_response_minutes) == (BusinessCalendar.objects.get().pk, 60)

    page.get_by_role("link", name="Canned replies").click()
    page.get_by_role("link", name="parcel").click()
    expect(settings_link).to_have_attribute("aria-current", "page")
    page.get_by_label("Text").fill("Посилка вже у відділенні, {{ customer.first_name }}.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Canned reply saved.")
    expect(page.get_by_role("row").filter(has_text="parcel")).to_contain_text("Посилка вже у відділенні")
    assert CannedReply.objects.get().body == "Посилка вже у відділенні, {{ customer.first_name }}."

    agent = open_page()
    sign_in(agent, olena)
    expect(agent.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox")).to_be_visible()
    expect(agent.get_by_role("link", name="Helpdesk settings")).to_have_count(0)
    for address in ("/inbox/settings/", "/inbox/settings/calendars/", "/inbox/settings/canned-replies/"):
        refused = agent.goto(address)
        assert refused is not None
        assert refused.status == 403, address
        expect(agent.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(agent.get_by_role("alert")).to_contain_text("You do not have permission to do this")
