"""Personal data in the browser: a supervisor reveals a masked card number in place, with a reason; an
agent sees only the mask; the reveal is in the audit log an administrator reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.customers.models import Customer
from forewarn.engage.services.ingest import EventIn, ingest_events

from .steps import sign_in

CARD = "4111 1111 1111 1111"


def a_reply_with_a_card(customer: Customer) -> None:
    ingest_events(
        actor=Actor.system("tests"),
        items=[
            EventIn(
                source="sms",
                id="reply-1",
                type="message_replied",
                customer={"customer_id": customer.pk},
                payload={"channel": "sms", "text": f"Списали двічі з картки {CARD}, поверніть"},
            )
        ],
    )


def test_a_supervisor_reveals_a_card_number_in_place_and_the_admin_reads_why(  # noqa: PLR0917 - fixtures
    open_page: Callable[..., Page], olena: User, taras: User, ada: User, maria: Customer, immediate_tasks: Any
) -> None:
    a_reply_with_a_card(maria)

    agent = open_page()
    sign_in(agent, olena)
    agent.goto(f"/customers/{maria.pk}/")
    events = agent.locator("ul.events")
    expect(events).to_contain_text("4111 •••• •••• 1111")
    expect(events.get_by_text("Reveal")).to_have_count(0)

    supervisor = open_page()
    sign_in(supervisor, taras)
    supervisor.goto(f"/customers/{maria.pk}/")
    supervisor.locator("ul.events").get_by_text("Reveal").click()
    supervisor.get_by_label("Why do you need to see it?").fill("Refund of the double charge")
    supervisor.get_by_role("button", name="Show once").click()
    expect(supervisor.locator("ul.events mark")).to_have_text(CARD)
    assert CARD not in agent.content()

    admin = open_page()
    sign_in(admin, ada)
    admin.goto("/privacy/audit/")
    row = admin.locator("tbody tr").first
    expect(row).to_contain_text("Refund of the double charge")
    expect(row).to_contain_text("revealed a value")
