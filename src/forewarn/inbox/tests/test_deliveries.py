"""An answer that cannot be sent says so on the ticket page and in the API (retrying at, failed, why,
fell back), and the agent can try again or send it on another channel the customer can be reached on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from forewarn.accounts.models import Team, User
from forewarn.channels.base import PermanentError, TransientError
from forewarn.channels.models import LocalDelivery
from forewarn.channels.registry import substitute_provider
from forewarn.customers.models import Customer
from forewarn.engage.models import Message
from forewarn.engage.services.outbox import dispatch_once
from forewarn.engage.tests.test_outbox import Flaky
from forewarn.inbox.models import Entry, Ticket

from .test_answers import sms_ticket


def _message(entry: Entry) -> Message:
    assert entry.message_id is not None
    return Message.objects.get(pk=entry.message_id)


def _agent(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _answer(agent: Client, ticket: Ticket) -> Entry:
    agent.post(f"/inbox/{ticket.pk}/entries/", {"text": "Завтра до 18:00.", "kind": "answer"})
    return ticket.entries.get(kind="outbound")


def test_a_retrying_answer_says_when_and_why_and_a_failed_one_can_go_by_another_channel(
    olena: User, maria: Customer, api_as: Callable[..., Any]
) -> None:
    ticket, agent = sms_ticket(maria), _agent(olena)
    entry = _answer(agent, ticket)
    with substitute_provider("sms", Flaky([TransientError("twilio could not be reached")], channel="sms")):
        dispatch_once()
    page = agent.get(f"/inbox/{ticket.pk}/").content.decode()
    assert "Retrying" in page
    assert "twilio could not be reached" in page
    assert "next try" in page
    delivery = api_as(olena).get(f"/api/v1/tickets/{ticket.pk}").json()["entries"][-1]["delivery"]
    assert (delivery["state"], delivery["reason"]) == ("retrying", "twilio could not be reached")
    assert delivery["retry_at"] is not None

    Message.objects.filter(pk=_message(entry).pk).update(status="failed", error="unknown number", attempts=5)
    page = agent.get(f"/inbox/{ticket.pk}/").content.decode()
    assert "Failed" in page
    assert "unknown number" in page
    assert "Try again now" in page
    assert '<option value="email">Email</option>' in page  # Maria has an e-mail address
    agent.post(f"/inbox/{ticket.pk}/entries/{entry.pk}/again/", {"channel": "email"})
    message = _message(entry)
    assert (message.channel, message.address, message.status, message.attempts) == (
        "email",
        "maria.petrenko@example.com",
        "queued",
        0,
    )
    assert message.trail[-1][:2] == ["resend", "by_hand"]
    entry.refresh_from_db()
    assert entry.channel == "email"
    dispatch_once()
    sent = LocalDelivery.objects.get()
    assert (sent.channel, sent.address, sent.body) == (
        "email",
        "maria.petrenko@example.com",
        "Завтра до 18:00.",
    )
    assert "Sent" in agent.get(f"/inbox/{ticket.pk}/").content.decode()


def test_trying_again_on_its_own_channel_through_the_api(
    olena: User, maria: Customer, api_as: Callable[..., Any]
) -> None:
    ticket, agent = sms_ticket(maria), _agent(olena)
    entry = _answer(agent, ticket)
    with substitute_provider("sms", Flaky([PermanentError("carrier refused")], channel="sms")):
        dispatch_once()
    assert _message(entry).status == "failed"
    api = api_as(olena)
    again = api.post(f"/api/v1/tickets/{ticket.pk}/entries/{entry.pk}/again", {})
    assert again.status_code == 200, again.content
    assert again.json()["delivery"]["state"] == "queued"
    dispatch_once()
    assert LocalDelivery.objects.get().channel == "sms"
    refused = api.post(f"/api/v1/tickets/{ticket.pk}/entries/{entry.pk}/again", {})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "not_stuck")


def test_an_answer_cannot_be_sent_again_where_the_customer_cannot_be_reached_nor_by_another_team(
    olena: User, taras: User, maria: Customer, api_as: Callable[..., Any]
) -> None:
    ticket, agent = sms_ticket(maria), _agent(taras)
    entry = _answer(agent, ticket)
    Message.objects.filter(pk=_message(entry).pk).update(status="failed", error="carrier refused")
    unreachable = api_as(taras).post(
        f"/api/v1/tickets/{ticket.pk}/entries/{entry.pk}/again", {"channel": "viber"}
    )
    assert unreachable.status_code == 422
    assert unreachable.json()["error"]["fields"][0]["code"] == "unreachable"
    Ticket.objects.filter(pk=ticket.pk).update(team=Team.objects.create(name="Billing"))
    hidden = api_as(olena).post(f"/api/v1/tickets/{ticket.pk}/entries/{entry.pk}/again", {})
    assert hidden.status_code == 404
    assert _message(entry).status == "failed"
