"""The agent workspace in a real browser: a colleague in the same ticket is shown, a canned reply fills
the answer with the customer's name, Ctrl+Enter sends it through the outbox, and the ticket's settings
change from the sidebar."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from forewarn.accounts.models import User
from forewarn.customers.models import Customer
from forewarn.engage.models import Message
from forewarn.inbox.models import CannedReply, Entry, Ticket, TicketEvent
from forewarn.inbox.services.intake.email import receive_email
from forewarn.inbox.tests.test_email import mail

from .steps import sign_in


def test_an_agent_answers_with_a_canned_reply_while_a_colleague_looks_on(
    open_page: Callable[..., Page], olena: User, taras: User, maria: Customer
) -> None:
    received = receive_email(mail().as_bytes())
    assert received.ticket_id is not None
    ticket = Ticket.objects.get(pk=received.ticket_id)
    CannedReply.objects.create(
        title="Вітання",
        shortcut="hello",
        language="uk",
        body="Вітаю, {{ customer.first_name }}! Уже перевіряємо.",
    )
    supervisor = open_page()
    sign_in(supervisor, taras)
    supervisor.goto(f"/inbox/{ticket.pk}/")

    agent = open_page()
    sign_in(agent, olena)
    agent.goto(f"/inbox/{ticket.pk}/")
    expect(agent.locator("#others")).to_contain_text("also in this ticket")
    expect(agent.locator("#others")).to_contain_text("Тарас")

    agent.get_by_label("Canned reply").select_option(label="Вітання (uk)")
    answer = agent.locator("#reply textarea[name=text]")
    expect(answer).to_have_value("Вітаю, Марія! Уже перевіряємо.")
    answer.press("Control+Enter")
    expect(agent.locator(".entry-outbound")).to_contain_text("Вітаю, Марія! Уже перевіряємо.")
    expect(agent.locator(".entry-outbound .badge")).to_have_text("Queued")
    assert Message.objects.get().channel == "email"

    agent.get_by_label("Status").select_option(label="Pending on customer")
    agent.get_by_label("Tags").fill("доставка")
    agent.get_by_role("button", name="Save").click()
    expect(agent.locator("h1 + p .badge").first).to_have_text("Pending on customer")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.tags) == ("pending", ["доставка"])
    assert TicketEvent.objects.filter(ticket=ticket, kind="status").exists()


def test_an_agent_sees_what_an_sms_answer_takes_and_a_note_stays_plainly_internal(
    page: Page, olena: User, maria: Customer
) -> None:
    ticket = Ticket.objects.create(
        customer=maria,
        channel="sms",
        subject="Посилка",
        created_at=maria.created_at,
        updated_at=maria.created_at,
    )
    letter = "Добрий день. " + "Пишу довго про посилку. " * 400 + "КІНЕЦЬ"
    Entry.objects.create(
        ticket=ticket,
        kind="inbound",
        channel="sms",
        text=letter,
        address="+380671234567",
        created_at=maria.created_at,
    )
    sign_in(page, olena)
    page.goto(f"/inbox/{ticket.pk}/")

    first = page.locator(".entry-inbound")
    expect(first).to_contain_text("Добрий день.")
    expect(first).not_to_contain_text("КІНЕЦЬ")
    first.get_by_text(f"Show all ({len(letter)} characters)").click()
    expect(first).to_contain_text("КІНЕЦЬ")
    first.get_by_text("Show less").click()
    expect(first.locator(".preview")).to_be_visible()

    answer = page.locator("#reply textarea[name=text]")
    meter = page.locator("#length")
    send = page.get_by_role("button", name="Send answer")
    answer.fill("Ok, tomorrow by 18:00.")
    expect(meter).to_contain_text(
        "22 characters · SMS parts: 1 of at most 10 (160 characters a part, plain Latin text)"
    )
    answer.fill("я" * 71)
    expect(meter).to_contain_text(
        "71 characters · SMS parts: 2 of at most 10 (67 characters a part, Cyrillic"
    )
    answer.fill("Так. " * 140)
    expect(meter).to_contain_text("SMS parts: 11 of at most 10")
    expect(meter).to_contain_text("Too long to send as an answer")
    expect(send).to_be_disabled()

    answer.fill("Клієнтка просила дзвонити після 18:00.")
    expect(send).to_be_enabled()
    page.get_by_role("button", name="Add note").click()
    note = page.locator(".entry-note")
    expect(note).to_contain_text("Staff only: not sent to the customer")
    expect(note).to_contain_text("Клієнтка просила дзвонити після 18:00.")
    assert not Message.objects.exists()
    assert page.evaluate(
        "getComputedStyle(document.querySelector('.entry-note')).borderStyle"
    ) != page.evaluate("getComputedStyle(document.querySelector('.entry-inbound')).borderStyle")
