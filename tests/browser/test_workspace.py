"""The agent workspace in a real browser: a colleague in the same ticket is shown, a canned reply fills
the answer with the customer's name, Ctrl+Enter sends it through the outbox, and the ticket's settings
change from the sidebar."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from forewarn.accounts.models import User
from forewarn.customers.models import Customer
from forewarn.engage.models import Message
from forewarn.inbox.models import CannedReply, Ticket, TicketEvent
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
