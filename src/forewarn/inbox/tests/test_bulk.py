"""Bulk actions on the inbox list (assign, set status, add a tag, merge), all of the chosen tickets or
none of them, and splitting a ticket from its page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import Team, User
from forewarn.customers.models import Customer
from forewarn.inbox.models import Ticket, TicketEvent
from forewarn.inbox.services import replies
from forewarn.inbox.services import tickets as ticket_service
from forewarn.inbox.services.intake.email import receive_email

from .test_email import mail


def _ticket(n: int) -> Ticket:
    received = receive_email(mail(f"Посилка {n} не прийшла", subject=f"Посилка {n}").as_bytes())
    assert received.ticket_id is not None
    return Ticket.objects.get(pk=received.ticket_id)


@pytest.fixture
def three(maria: Customer) -> list[Ticket]:
    return [_ticket(n) for n in range(3)]


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _state(tickets: list[Ticket]) -> list[tuple[Any, ...]]:
    rows = Ticket.objects.filter(pk__in=[t.pk for t in tickets]).order_by("pk")
    return [(t.status, t.assignee_id, t.tags, t.merged_into_id, t.entries.count()) for t in rows]


def test_the_list_page_offers_a_box_per_row_and_the_bulk_actions(olena: User, three: list[Ticket]) -> None:
    page = _signed_in(olena).get("/inbox/").content.decode()
    assert 'class="select-all"' in page
    for t in three:
        assert f'class="pick" name="ticket" value="{t.pk}" form="bulk"' in page
    for action in ("assign", "status", "tag", "merge"):
        assert f'name="action" value="{action}"' in page


def test_bulk_assign_through_the_page_and_back_to_the_queue(
    olena: User, taras: User, three: list[Ticket]
) -> None:
    client = _signed_in(olena)
    chosen = [three[0].pk, three[1].pk]
    answer = client.post(
        "/inbox/bulk/",
        {"ticket": chosen, "action": "assign", "assignee": taras.pk, "next": "/inbox/?view=all"},
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/inbox/?view=all"
    assert [t.assignee_id for t in Ticket.objects.filter(pk__in=chosen)] == [taras.pk, taras.pk]
    assert Ticket.objects.get(pk=three[2].pk).assignee_id is None
    assert TicketEvent.objects.filter(ticket_id__in=chosen, kind=TicketEvent.Kind.ASSIGNED).count() == 2
    assert "2 tickets changed." in client.get("/inbox/").content.decode()
    client.post("/inbox/bulk/", {"ticket": chosen, "action": "assign", "assignee": ""})
    assert [t.assignee_id for t in Ticket.objects.filter(pk__in=chosen)] == [None, None]


def test_bulk_status_and_tag_through_the_page(olena: User, three: list[Ticket]) -> None:
    client = _signed_in(olena)
    Ticket.objects.filter(pk=three[0].pk).update(tags=["parcel"])
    chosen = [t.pk for t in three]
    client.post("/inbox/bulk/", {"ticket": chosen, "action": "status", "status": "pending"})
    assert {t.status for t in Ticket.objects.filter(pk__in=chosen)} == {"pending"}
    client.post("/inbox/bulk/", {"ticket": chosen, "action": "tag", "tag": " Refund "})
    tags = {t.pk: t.tags for t in Ticket.objects.filter(pk__in=chosen)}
    assert tags == {three[0].pk: ["parcel", "refund"], three[1].pk: ["refund"], three[2].pk: ["refund"]}
    assert TicketEvent.objects.filter(ticket_id__in=chosen, kind=TicketEvent.Kind.TAGS).count() == 3


def test_bulk_merge_through_the_page_lands_on_the_ticket_that_carries_on(
    olena: User, three: list[Ticket]
) -> None:
    answer = _signed_in(olena).post(
        "/inbox/bulk/", {"ticket": [t.pk for t in three], "action": "merge", "into": f"#{three[1].pk}"}
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/inbox/{three[1].pk}/"
    kept = Ticket.objects.get(pk=three[1].pk)
    assert kept.entries.count() == 3
    assert kept.merged_into_id is None
    for t in (three[0], three[2]):
        t.refresh_from_db()
        assert (t.merged_into_id, t.status) == (kept.pk, "closed")


def test_bulk_merge_into_a_ticket_not_chosen_is_refused_on_the_page(olena: User, three: list[Ticket]) -> None:
    client = _signed_in(olena)
    before = _state(three)
    client.post(
        "/inbox/bulk/", {"ticket": [three[0].pk, three[1].pk], "action": "merge", "into": three[2].pk}
    )
    assert _state(three) == before
    assert "Merge into one of the chosen tickets." in client.get("/inbox/").content.decode()


def test_bulk_through_the_api(
    api_as: Callable[..., Any], olena: User, taras: User, three: list[Ticket]
) -> None:
    client = api_as(olena)
    ids = [t.pk for t in three]
    assigned = client.post(
        "/api/v1/tickets/bulk", {"ticket_ids": ids, "action": "assign", "assignee_id": taras.pk}
    )
    assert assigned.status_code == 200, assigned.content
    assert [t["assignee_id"] for t in assigned.json()["tickets"]] == [taras.pk] * 3
    solved = client.post("/api/v1/tickets/bulk", {"ticket_ids": ids, "action": "status", "status": "solved"})
    assert [t["status"] for t in solved.json()["tickets"]] == ["solved"] * 3
    tagged = client.post("/api/v1/tickets/bulk", {"ticket_ids": ids, "action": "tag", "tag": "wholesale"})
    assert [t["tags"] for t in tagged.json()["tickets"]] == [["wholesale"]] * 3
    merged = client.post("/api/v1/tickets/bulk", {"ticket_ids": ids, "action": "merge", "into": ids[2]})
    assert merged.status_code == 200, merged.content
    assert [t["id"] for t in merged.json()["tickets"]] == [ids[2], ids[0], ids[1]]
    assert Ticket.objects.get(pk=ids[2]).entries.count() == 3


def test_a_hidden_ticket_among_the_chosen_refuses_them_all(
    api_as: Callable[..., Any], olena: User, taras: User, three: list[Ticket]
) -> None:
    retail, billing = Team.objects.create(name="Retail"), Team.objects.create(name="Billing")
    olena.teams.add(retail)
    Ticket.objects.filter(pk=three[0].pk).update(team=retail)
    Ticket.objects.filter(pk=three[2].pk).update(team=billing)
    before = _state(three)
    for body in (
        {"action": "status", "status": "solved"},
        {"action": "assign", "assignee_id": taras.pk},
        {"action": "tag", "tag": "x"},
        {"action": "merge", "into": three[0].pk},
    ):
        refused = api_as(olena).post("/api/v1/tickets/bulk", {"ticket_ids": [t.pk for t in three], **body})
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "ticket_not_found"
        assert _state(three) == before
    _signed_in(olena).post(
        "/inbox/bulk/", {"ticket": [t.pk for t in three], "action": "status", "status": "solved"}
    )
    assert _state(three) == before


def test_a_change_one_ticket_refuses_leaves_the_others_as_they_were(
    api_as: Callable[..., Any], olena: User, three: list[Ticket]
) -> None:
    received = receive_email(
        mail("Інше питання", subject="Інше", sender="Інна Бондар <inna.bondar@example.net>").as_bytes()
    )
    assert received.ticket_id is not None
    other = Ticket.objects.get(pk=received.ticket_id)
    assert other.customer_id != three[0].customer_id
    chosen = [*three, other]
    before = _state(chosen)
    refused = api_as(olena).post(
        "/api/v1/tickets/bulk", {"ticket_ids": [t.pk for t in chosen], "action": "merge", "into": three[0].pk}
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "other_customer"
    assert _state(chosen) == before


def test_more_tickets_than_the_cap_are_refused(
    api_as: Callable[..., Any], olena: User, three: list[Ticket]
) -> None:
    ids = [three[0].pk + n for n in range(ticket_service.BULK_LIMIT + 1)]
    refused = api_as(olena).post(
        "/api/v1/tickets/bulk", {"ticket_ids": ids, "action": "status", "status": "solved"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["code"] == "too_many"
    assert {t.status for t in Ticket.objects.all()} != {"solved"}
    empty = api_as(olena).post(
        "/api/v1/tickets/bulk", {"ticket_ids": [], "action": "status", "status": "solved"}
    )
    assert empty.status_code == 422
    unknown = api_as(olena).post("/api/v1/tickets/bulk", {"ticket_ids": [three[0].pk], "action": "delete"})
    assert unknown.status_code == 422


def test_split_through_the_ticket_page_lands_on_the_new_ticket(olena: User, maria: Customer) -> None:
    ticket = _ticket(0)
    note = replies.add_entry(
        actor=Actor.of(olena), ticket=ticket, text="Друге питання: повернення", note=True
    )
    client = _signed_in(olena)
    page = client.get(f"/inbox/{ticket.pk}/").content.decode()
    assert f'name="entry" value="{note.pk}"' in page
    answer = client.post(f"/inbox/{ticket.pk}/split/", {"entry": [note.pk]})
    assert answer.status_code == 302
    new = Ticket.objects.exclude(pk=ticket.pk).get()
    assert answer["Location"] == f"/inbox/{new.pk}/"
    assert list(new.entries.values_list("pk", flat=True)) == [note.pk]
    assert ticket.entries.count() == 1
    # All of them is not a split: the reason is shown on the page and nothing moves.
    client.post(f"/inbox/{new.pk}/split/", {"entry": [note.pk]})
    assert "Choose some of the ticket" in client.get(f"/inbox/{new.pk}/").content.decode()
    assert new.entries.count() == 1
