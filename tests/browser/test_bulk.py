"""Bulk actions on the inbox list in a real browser: "select all on this page" ticks every row, the rows
stop reloading while some are chosen, and one action changes them all; a ticket is split from its page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.customers.models import Customer
from forewarn.inbox.models import Ticket
from forewarn.inbox.services import replies
from forewarn.inbox.services.intake.email import receive_email
from forewarn.inbox.tests.test_email import mail

from .steps import sign_in


def _ticket(n: int) -> Ticket:
    received = receive_email(mail(f"Посилка {n} не прийшла", subject=f"Посилка {n}").as_bytes())
    assert received.ticket_id is not None
    return Ticket.objects.get(pk=received.ticket_id)


def test_an_agent_solves_every_ticket_on_the_page_at_once(page: Page, olena: User, maria: Customer) -> None:
    tickets = [_ticket(n) for n in range(3)]
    sign_in(page, olena)
    page.goto("/inbox/")
    page.get_by_label("Select all on this page").check()
    for t in tickets:
        expect(page.get_by_label(f"Choose #{t.pk}")).to_be_checked()
    expect(page.locator("#bulk .chosen")).to_have_text("Chosen: 3")
    page.get_by_label(f"Choose #{tickets[1].pk}").uncheck()
    expect(page.locator("#bulk .chosen")).to_have_text("Chosen: 2")
    page.locator("#bulk").get_by_label("Status").select_option(label="Solved")
    page.get_by_role("button", name="Set status").click()
    expect(page.get_by_role("status").filter(has_text="changed")).to_have_text("2 tickets changed.")
    states = dict(Ticket.objects.values_list("pk", "status"))
    assert states[tickets[0].pk] == states[tickets[2].pk] == "solved"
    assert states[tickets[1].pk] != "solved"


def test_an_agent_splits_a_second_question_into_a_new_ticket(
    page: Page, olena: User, maria: Customer
) -> None:
    ticket = _ticket(0)
    note = replies.add_entry(
        actor=Actor.of(olena), ticket=ticket, text="Окреме питання: повернення", note=True
    )
    sign_in(page, olena)
    page.goto(f"/inbox/{ticket.pk}/")
    page.get_by_text("Split into a new ticket").click()
    page.locator(f"input[name=entry][value='{note.pk}']").check()
    page.get_by_role("button", name="Split", exact=True).click()
    new = Ticket.objects.exclude(pk=ticket.pk).get()
    expect(page).to_have_url(f"{page.url.split('/inbox/')[0]}/inbox/{new.pk}/")
    expect(page.locator("#entries")).to_contain_text("Окреме питання")
    assert list(new.entries.values_list("pk", flat=True)) == [note.pk]
