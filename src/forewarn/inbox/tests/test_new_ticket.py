"""A ticket an agent opens on behalf of a customer, through the page and the API: it comes in by the one
way in, so it has its first inbound entry (or a note), its SLA clocks and a journey event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from forewarn.accounts.models import User
from forewarn.customers.models import Customer
from forewarn.engage.models import Event
from forewarn.engage.services.intake import MESSAGE_RECEIVED
from forewarn.inbox.models import EntryKind, SlaPolicy, Ticket


@pytest.fixture
def policy(db: None) -> SlaPolicy:
    return SlaPolicy.objects.create(name="Standard", first_response_minutes=60, resolution_minutes=480)


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_agent_finds_the_customer_and_opens_a_ticket_with_what_they_said(
    policy: SlaPolicy, olena: User, maria: Customer
) -> None:
    client = _signed_in(olena)
    found = client.get(reverse("inbox:new"), {"q": "Петренко"})
    assert found.status_code == 200
    assert f"?customer={maria.pk}" in found.content.decode()
    chosen = client.get(reverse("inbox:new"), {"customer": maria.pk})
    assert "Марія Петренко" in chosen.content.decode()
    answer = client.post(
        reverse("inbox:new"),
        {
            "customer": maria.pk,
            "channel": "voice",
            "priority": "high",
            "subject": "Посилка не прийшла",
            "text": "Телефонувала: посилки досі нема, картка 4111 1111 1111 1111.",
            "as": "inbound",
        },
    )
    ticket = Ticket.objects.get(customer=maria)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("inbox:ticket", args=[ticket.pk])
    assert (ticket.channel, ticket.subject, ticket.priority) == ("voice", "Посилка не прийшла", "high")
    [entry] = ticket.entries.all()
    assert entry.kind == EntryKind.INBOUND
    assert "посилки досі нема" in entry.text
    assert "4111 1111 1111 1111" not in entry.text  # masked where it arrived
    assert ticket.sla_policy == policy
    assert ticket.first_response_due is not None
    assert ticket.last_inbound_at is not None
    [event] = Event.objects.filter(type=MESSAGE_RECEIVED, customer=maria)
    assert event.payload["channel"] == "voice"
    assert event.payload["subject"] == "Посилка не прийшла"


def test_the_first_words_may_be_an_internal_note_kept_out_of_the_journey(
    policy: SlaPolicy, olena: User, maria: Customer
) -> None:
    answer = _signed_in(olena).post(
        reverse("inbox:new"),
        {
            "customer": maria.pk,
            "channel": "email",
            "subject": "Візит до офісу",
            "text": "Прийшла сама",
            "as": "note",
        },
    )
    assert answer.status_code == 302
    ticket = Ticket.objects.get(customer=maria)
    [entry] = ticket.entries.all()
    assert (entry.kind, entry.text) == (EntryKind.NOTE, "Прийшла сама")
    assert ticket.first_response_due is not None
    [event] = Event.objects.filter(type=MESSAGE_RECEIVED, customer=maria)
    assert event.payload["text"] == ""


def test_a_ticket_without_its_subject_and_words_is_refused_beside_the_fields_in_the_users_language(
    olena: User, maria: Customer
) -> None:
    with translation.override("uk"):
        answer = _signed_in(olena).post(
            reverse("inbox:new"),
            {"customer": maria.pk, "channel": "voice", "subject": " ", "text": ""},
            HTTP_ACCEPT_LANGUAGE="uk",
        )
    assert answer.status_code == 422
    page = answer.content.decode()
    assert 'id="subject-error"' in page
    assert 'id="text-error"' in page
    assert not Ticket.objects.exists()


def test_the_customer_page_offers_a_new_ticket_for_them(olena: User, maria: Customer) -> None:
    page = _signed_in(olena).get(reverse("customers:detail", args=[maria.pk])).content.decode()
    assert f"{reverse('inbox:new')}?customer={maria.pk}" in page


def test_an_analyst_may_not_open_a_ticket(iryna: User, maria: Customer) -> None:
    assert _signed_in(iryna).get(reverse("inbox:new")).status_code == 403


def test_the_api_opens_a_ticket_for_a_customer(
    policy: SlaPolicy, api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    answer = api_as(olena).post(
        "/api/v1/tickets",
        {"customer_id": maria.pk, "channel": "sms", "subject": "Рахунок", "text": "Написала у Facebook"},
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["customer_id"], body["channel"], body["priority"]) == (maria.pk, "sms", "normal")
    assert body["first_response_due"] is not None
    ticket = Ticket.objects.get(pk=body["id"])
    [entry] = ticket.entries.all()
    assert (entry.kind, entry.address) == (EntryKind.INBOUND, "+380671234567")
    assert Event.objects.filter(type=MESSAGE_RECEIVED, customer=maria).count() == 1


def test_the_api_names_each_bad_field(api_as: Callable[..., Any], olena: User) -> None:
    answer = api_as(olena).post(
        "/api/v1/tickets",
        {"customer_id": 999999, "channel": "pigeon", "subject": "", "text": "x", "priority": "asap"},
    )
    assert answer.status_code == 422
    paths = {f["path"] for f in answer.json()["error"]["fields"]}
    assert paths == {"customer_id", "channel", "subject", "priority"}


def test_the_inbox_offers_a_new_ticket_to_those_who_answer(olena: User, iryna: User) -> None:
    agent, analyst = Client(), Client()
    agent.force_login(olena)
    analyst.force_login(iryna)
    assert 'href="/inbox/new/"' in agent.get("/inbox/").content.decode()
    assert 'href="/inbox/new/"' not in analyst.get("/inbox/").content.decode()
