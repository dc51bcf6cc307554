"""The inbox pages: the list with its counts per status, and a ticket with masked words."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client

from forewarn.accounts.models import User
from forewarn.customers.models import Customer
from forewarn.inbox.models import Ticket, TicketStatus

from .test_email import gateway, mail  # noqa: F401 - the fixture


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_inbox_lists_tickets_with_counts_and_a_ticket_shows_masked_words(
    gateway: Any,  # noqa: F811 - the fixture, imported by name
    olena: User,
    taras: User,
    maria: Customer,
) -> None:
    gateway(mail("Картка 4111 1111 1111 1111 заблокована"))
    gateway(mail("Друге питання", subject="Інше"))
    Ticket.objects.filter(subject="Інше").update(status=TicketStatus.SOLVED)
    agent = signed_in(olena)
    page = agent.get("/inbox/").content.decode()
    assert "Де моя посилка?" in page
    assert 'aria-current="page">Inbox' in page.replace("\n", "")
    only_new = agent.get("/inbox/", {"status": "new"}).content.decode()
    assert "Де моя посилка?" in only_new
    assert "Інше" not in only_new
    ticket = Ticket.objects.get(subject="Де моя посилка?")
    shown = agent.get(f"/inbox/{ticket.pk}/").content.decode()
    assert "4111 •••• •••• 1111" in shown
    assert "4111 1111 1111 1111" not in shown
    assert "/reveal/" not in shown
    assert "/reveal/" in signed_in(taras).get(f"/inbox/{ticket.pk}/").content.decode()


def test_the_inbox_is_not_for_marketers(maksym: User) -> None:
    assert signed_in(maksym).get("/inbox/").status_code == 403


def test_the_customer_timeline_names_channels_and_statuses_in_the_readers_language(
    gateway: Any,  # noqa: F811 - the fixture, imported by name
    taras: User,
    maria: Customer,
) -> None:
    gateway(mail())
    client = signed_in(taras)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"

    timeline = client.get(f"/inbox/customers/{maria.pk}/timeline/").content.decode()

    assert " · Эл. почта" in timeline
    assert " · email" not in timeline


def test_why_to_be_careful_with_a_customer_reads_in_the_agents_language(
    gateway: Any,  # noqa: F811 - the fixture, imported by name
    olena: User,
    maria: Customer,
) -> None:
    Customer.objects.filter(pk=maria.pk).update(attributes={"churn_risk": True})
    gateway(mail())
    ticket = Ticket.objects.get()
    client = signed_in(olena)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"

    page = client.get(f"/inbox/{ticket.pk}/").content.decode()

    assert '<span class="badge status-denied">може піти</span>' in page
    assert "churn_risk" not in page
