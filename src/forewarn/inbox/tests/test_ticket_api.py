"""Changing and answering tickets over the API: one change is one transaction, assigning is one service
for the UI and the API alike, and an answer sent again under its Idempotency-Key is sent once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from forewarn.accounts.models import User
from forewarn.customers.models import Customer
from forewarn.engage.models import Message
from forewarn.inbox.models import Entry, EntryKind, Ticket, TicketEvent
from forewarn.inbox.services.intake.email import receive_email

from .test_email import mail


def _ticket() -> Ticket:
    received = receive_email(mail("Інтернет не працює", subject="Інтернет").as_bytes())
    assert received.ticket_id is not None
    return Ticket.objects.get(pk=received.ticket_id)


def test_a_change_with_an_assignee_who_may_not_take_tickets_changes_nothing(
    api_as: Callable[..., Any], olena: User, iryna: User, maria: Customer
) -> None:
    ticket = _ticket()
    before = (ticket.status, ticket.priority, ticket.updated_at)
    answer = api_as(olena).patch(
        f"/api/v1/tickets/{ticket.pk}", {"status": "pending", "priority": "high", "assignee_id": iryna.pk}
    )
    assert answer.status_code == 422
    assert [f["path"] for f in answer.json()["error"]["fields"]] == ["assignee_id"]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.updated_at) == before
    assert not TicketEvent.objects.filter(ticket=ticket).exclude(kind=TicketEvent.Kind.ASSIGNED).exists()


def test_an_unknown_assignee_is_reported_beside_every_other_bad_field(
    api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    ticket = _ticket()
    answer = api_as(olena).patch(f"/api/v1/tickets/{ticket.pk}", {"status": "nonsense", "assignee_id": 99999})
    assert answer.status_code == 422
    fields = {f["path"]: f["code"] for f in answer.json()["error"]["fields"]}
    assert fields == {"status": "invalid", "assignee_id": "user_not_found"}


def test_assigning_the_same_person_three_times_records_it_once(
    api_as: Callable[..., Any], olena: User, taras: User, maria: Customer
) -> None:
    ticket = _ticket()
    client = api_as(taras)
    for _ in range(3):
        answer = client.patch(f"/api/v1/tickets/{ticket.pk}", {"assignee_id": olena.pk})
        assert answer.status_code == 200
        assert answer.json()["assignee_id"] == olena.pk
    events = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.ASSIGNED)
    assert [e.data for e in events] == [{"to": olena.pk, "from": None, "how": "manual"}]


def test_the_ticket_page_and_the_api_assign_alike(
    api_as: Callable[..., Any], olena: User, taras: User, maria: Customer
) -> None:
    by_api, by_page = _ticket(), _ticket()
    api_as(taras).patch(f"/api/v1/tickets/{by_api.pk}", {"assignee_id": olena.pk})
    page = Client()
    page.force_login(taras)
    for _ in range(2):
        page.post(f"/inbox/{by_page.pk}/update/", {"assignee": str(olena.pk)})

    def recorded(ticket: Ticket) -> list[dict[str, Any]]:
        return list(
            TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.ASSIGNED).values_list(
                "data", flat=True
            )
        )

    assert recorded(by_api) == recorded(by_page) == [{"to": olena.pk, "from": None, "how": "manual"}]
    api_as(taras).patch(f"/api/v1/tickets/{by_api.pk}", {"assignee_id": 0})
    page.post(f"/inbox/{by_page.pk}/update/", {"assignee": ""})
    for ticket in (by_api, by_page):
        ticket.refresh_from_db()
        assert ticket.assignee_id is None
        assert recorded(ticket)[-1] == {"to": None, "from": olena.pk, "how": "manual"}


def test_an_answer_sent_twice_with_one_idempotency_key_reaches_the_customer_once(
    api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    ticket = _ticket()
    client = api_as(olena)
    path = f"/api/v1/tickets/{ticket.pk}/entries"
    body = {"text": "Перевірили: лінію відновлено."}
    first = client.post(path, body, headers={"Idempotency-Key": "answer-1"})
    again = client.post(path, body, headers={"Idempotency-Key": "answer-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Entry.objects.filter(ticket=ticket, kind=EntryKind.OUTBOUND).count() == 1
    assert Message.objects.filter(customer=maria, kind="answer").count() == 1
    other = client.post(path, {"text": "Інший текст"}, headers={"Idempotency-Key": "answer-1"})
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Entry.objects.filter(ticket=ticket, kind=EntryKind.OUTBOUND).count() == 1


def test_a_refused_post_keeps_nothing_under_its_key(
    api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    ticket = _ticket()
    client = api_as(olena)
    path = f"/api/v1/tickets/{ticket.pk}/entries"
    refused = client.post(path, {"text": ""}, headers={"Idempotency-Key": "k"})
    assert refused.status_code == 422
    taken = client.post(path, {"text": "Тепер із текстом"}, headers={"Idempotency-Key": "k"})
    assert taken.status_code == 201


def test_every_post_offers_the_key_in_the_schema_but_secrets_are_never_replayed(
    api_as: Callable[..., Any], ada: User
) -> None:
    schema = api_as(ada).get("/api/v1/openapi.json").json()
    offered = {
        path: any(p["name"] == "Idempotency-Key" for p in ops["post"].get("parameters", []))
        for path, ops in schema["paths"].items()
        if "post" in ops
    }
    assert offered["/api/v1/tickets/{ticket_id}/entries"]
    assert offered["/api/v1/customers"]
    assert not offered["/api/v1/tokens"]
    assert not offered["/api/v1/privacy/values/{value_id}/reveal"]
    client = api_as(ada)
    first = client.post("/api/v1/tokens", {"name": "ci"}, headers={"Idempotency-Key": "t"})
    second = client.post("/api/v1/tokens", {"name": "ci"}, headers={"Idempotency-Key": "t"})
    assert first.status_code == second.status_code == 201
    assert first.json()["secret"] != second.json()["secret"]
