"""The agent workspace and assignment: views and filters with counts, search, ticket changes recorded,
round-robin with load caps, languages and skills, presence, take-over, the collision warning, canned
replies with variables and the customer sidebar."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import Team, User
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.engage.models import Incident, Message
from forewarn.inbox.models import AgentState, CannedReply, Presence, RoutingRule, Ticket, TicketEvent
from forewarn.inbox.services import assignment
from forewarn.inbox.services import tickets as ticket_service
from forewarn.inbox.services.intake.email import receive_email
from forewarn.inbox.services.tickets import (
    Matches,
    TicketChange,
    TicketFilters,
    find_tickets,
    list_tickets,
    update_ticket,
)

from .test_email import mail


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _online(user: User, **state: Any) -> None:
    AgentState.objects.update_or_create(user=user, defaults={"presence": Presence.ONLINE, **state})


def _new_ticket(maria: Customer, subject: str = "Питання") -> Ticket:
    received = receive_email(mail("Допоможіть", subject=subject).as_bytes())
    assert received.ticket_id is not None
    return Ticket.objects.get(pk=received.ticket_id)


def test_new_tickets_go_round_robin_to_online_agents_within_their_caps(
    olena: User, taras: User, maria: Customer
) -> None:
    _online(olena, max_open=1)
    _online(taras, max_open=5)
    first, second, third = (_new_ticket(maria, f"Питання {n}") for n in range(3))
    assert first.assignee == olena  # never given one: first in turn
    assert second.assignee == taras
    assert third.assignee == taras  # olena is at her cap
    assert TicketEvent.objects.filter(kind="assigned").count() == 3


def test_nobody_online_means_the_queue_until_someone_comes_online(olena: User, maria: Customer) -> None:
    ticket = _new_ticket(maria)
    assert ticket.assignee is None
    assignment.set_presence(actor=Actor.of(olena), presence=Presence.ONLINE)
    ticket.refresh_from_db()
    assert ticket.assignee == olena


def test_routing_sends_a_ticket_to_the_team_and_skill_it_needs(
    olena: User, taras: User, maria: Customer
) -> None:
    billing = Team.objects.create(name="Billing")
    taras.teams.add(billing)
    RoutingRule.objects.create(channel="email", language="uk", team=billing, skill="ukrainian-billing")
    _online(olena)
    _online(taras, skills=["ukrainian-billing"], languages=["uk", "en"])
    ticket = _new_ticket(maria)
    assert ticket.team == billing
    assert ticket.assignee == taras
    AgentState.objects.filter(user=taras).update(languages=["en"])
    assert _new_ticket(maria, "Інше").assignee is None  # nobody in the team speaks Ukrainian now


def test_views_filters_and_search_find_the_right_tickets(olena: User, taras: User, maria: Customer) -> None:
    mine = _new_ticket(maria, "Картка")
    other = _new_ticket(maria, "Доставка")
    assignment.assign(actor=Actor.of(olena), ticket=mine, to=olena)
    update_ticket(
        actor=Actor.of(olena), ticket=other, change=TicketChange(tags=["Доставка", " vip "], priority="high")
    )
    actor = Actor.of(olena)
    assert list(list_tickets(actor, TicketFilters(view="mine"))) == [mine]
    assert list(list_tickets(actor, TicketFilters(view="unassigned"))) == [other]
    assert list(list_tickets(actor, TicketFilters(tag="vip"))) == [other]
    assert list(list_tickets(actor, TicketFilters(priority="high"))) == [other]
    assert set(list_tickets(actor, TicketFilters(q="допоможіть"))) == {mine, other}
    assert list(list_tickets(actor, TicketFilters(q="нічого такого"))) == []
    page = signed_in(olena).get("/inbox/", {"view": "mine"}).content.decode()
    assert "Картка" in page
    assert "Доставка" not in page


def test_changes_are_recorded_and_bad_values_refused(
    api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    ticket = _new_ticket(maria)
    incident = Incident.objects.create(
        title="Немає світла", audience={}, started_at=clock.now(), created_at=clock.now()
    )
    agent = api_as(olena)
    changed = agent.patch(
        f"/api/v1/tickets/{ticket.pk}",
        {
            "status": "on_hold",
            "tags": ["Світло"],
            "incident_id": incident.pk,
            "custom_fields": {"order": "A-17"},
        },
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["status"], changed.json()["tags"], changed.json()["incident_id"]) == (
        "on_hold",
        ["світло"],
        incident.pk,
    )
    kinds = set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert {"status", "tags", "incident", "fields"} <= kinds
    refused = agent.patch(f"/api/v1/tickets/{ticket.pk}", {"status": "lost", "priority": "meh"})
    assert refused.status_code == 422
    assert {f["path"] for f in refused.json()["error"]["fields"]} == {"status", "priority"}
    answered = agent.post(f"/api/v1/tickets/{ticket.pk}/entries", {"text": "Світло дадуть о 18:00."})
    assert answered.status_code == 201
    assert answered.json()["kind"] == "outbound"


def test_the_workspace_takes_over_warns_of_a_colleague_and_fills_canned_replies(
    olena: User, taras: User, maria: Customer
) -> None:
    ticket = _new_ticket(maria)
    assignment.assign(actor=Actor.of(taras), ticket=ticket, to=taras)
    CannedReply.objects.create(
        title="Вітання",
        shortcut="hello",
        language="uk",
        body="Вітаю, {{ customer.first_name }}! Звернення №{{ ticket.id }}.",
    )
    agent, supervisor = signed_in(olena), signed_in(taras)
    supervisor.post(f"/inbox/{ticket.pk}/here/", {"typing": "1"})
    page = agent.get(f"/inbox/{ticket.pk}/").content.decode()
    assert "Тарас" in page or "taras" in page.lower()
    assert "Вітання" in page
    others = agent.post(f"/inbox/{ticket.pk}/here/").json()["others"]
    assert len(others) == 1
    assert others[0]["typing"] is True
    canned = CannedReply.objects.get()
    filled = agent.get(f"/inbox/{ticket.pk}/canned/{canned.pk}/").json()["text"]
    assert filled == f"Вітаю, Марія! Звернення №{ticket.pk}."
    agent.post(f"/inbox/{ticket.pk}/take/")
    ticket.refresh_from_db()
    assert ticket.assignee == olena
    assert TicketEvent.objects.filter(kind="assigned", data__how="take_over").exists()


def test_a_collision_keeps_the_draft_and_asks_to_confirm(olena: User, taras: User, maria: Customer) -> None:
    ticket = _new_ticket(maria)
    seen = ticket.entries.get().pk
    signed_in(taras).post(
        f"/inbox/{ticket.pk}/entries/", {"text": "Вже дивлюся", "kind": "answer", "seen_up_to": seen}
    )
    agent = signed_in(olena)
    agent.post(
        f"/inbox/{ticket.pk}/entries/", {"text": "Моя відповідь", "kind": "answer", "seen_up_to": seen}
    )
    page = agent.get(f"/inbox/{ticket.pk}/").content.decode()
    assert "answered while you were writing" in page
    assert "Моя відповідь" in page  # the draft, back in the box
    assert 'name="confirmed" value="1"' in page


@pytest.mark.parametrize("role_user", ["iryna"])
def test_an_analyst_reads_but_cannot_change(
    role_user: str, request: pytest.FixtureRequest, maria: Customer
) -> None:
    analyst: User = request.getfixturevalue(role_user)
    ticket = _new_ticket(maria)
    client = signed_in(analyst)
    assert client.get(f"/inbox/{ticket.pk}/").status_code == 200
    assert client.post(f"/inbox/{ticket.pk}/take/").status_code == 403


def test_the_sidebar_names_open_incidents_that_affect_the_customer(olena: User, maria: Customer) -> None:
    Incident.objects.create(
        title="Аварія водогону", audience={"city": "Київ"}, started_at=clock.now(), created_at=clock.now()
    )
    Incident.objects.create(
        title="Аварія в Одесі", audience={"city": "Одеса"}, started_at=clock.now(), created_at=clock.now()
    )
    page = signed_in(olena).get(f"/inbox/{_new_ticket(maria).pk}/").content.decode()
    assert "Аварія водогону" in page
    assert "Аварія в Одесі" not in page


def test_mentions_merging_and_splitting(
    api_as: Callable[..., Any], olena: User, taras: User, maria: Customer
) -> None:
    first, second = _new_ticket(maria, "Посилка"), _new_ticket(maria, "Посилка знову")
    agent = api_as(olena)
    agent.post(f"/api/v1/tickets/{first.pk}/entries", {"text": "@taras глянь, будь ласка", "note": True})
    mentioned = list_tickets(Actor.of(taras), TicketFilters(view="mentions"))
    assert list(mentioned) == [first]
    merged = agent.post(f"/api/v1/tickets/{second.pk}/merge", {"into": first.pk})
    assert merged.status_code == 200
    second.refresh_from_db()
    assert (second.merged_into_id, second.status) == (first.pk, "closed")
    assert first.entries.count() == 3
    # A reply to the merged ticket's token lands in the one that carries on.
    receive_email(mail("Ще одне", subject=f"Re: Посилка знову [#{second.pk}]").as_bytes())
    assert first.entries.count() == 4
    inbound = first.entries.filter(kind="inbound").order_by("pk")
    split = agent.post(f"/api/v1/tickets/{first.pk}/split", {"entry_ids": [inbound.last().pk]})  # type: ignore[union-attr]
    assert split.status_code == 201
    assert Ticket.objects.get(pk=split.json()["id"]).entries.get().text == "Ще одне"
    other = Ticket.objects.create(
        customer=_stranger(), channel="sms", subject="x", created_at=clock.now(), updated_at=clock.now()
    )
    refused = agent.post(f"/api/v1/tickets/{other.pk}/merge", {"into": first.pk})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "other_customer"


def test_a_merged_ticket_takes_the_state_of_what_it_holds(
    api_as: Callable[..., Any], olena: User, taras: User, maria: Customer
) -> None:
    with clock.frozen_at(clock.now() - timedelta(hours=3)):
        answered = _new_ticket(maria, "Посилка")
    waiting = _new_ticket(maria, "Посилка знову")
    agent = api_as(olena)
    agent.post(f"/api/v1/tickets/{answered.pk}/entries", {"text": "Шукаємо, відпишемо до вечора."})
    agent.patch(
        f"/api/v1/tickets/{answered.pk}", {"priority": "high", "tags": ["parcel"], "assignee_id": olena.pk}
    )
    answered.refresh_from_db()
    assert (answered.status, waiting.status) == ("open", "new")
    assert agent.post(f"/api/v1/tickets/{answered.pk}/merge", {"into": waiting.pk}).status_code == 200
    waiting.refresh_from_db()
    assert (waiting.status, waiting.priority, waiting.tags, waiting.assignee_id) == (
        "open",
        "high",
        ["parcel"],
        olena.pk,
    )
    assert waiting.first_response_at == answered.first_response_at  # answered: its clock stopped
    assert waiting.first_response_due is None
    assert waiting.created_at == answered.created_at  # the conversation began with the first contact
    history = {(e.kind, e.data.get("to")) for e in waiting.events.all()}
    assert ("status", "open") in history
    said = signed_in(taras).get(f"/inbox/{waiting.pk}/").content.decode()
    assert "New → Open (merged)" in said
    assert "from #" in said
    before = signed_in(taras).get(f"/inbox/{answered.pk}/").content.decode()
    for words in ("Normal → High", "+parcel", "→ Олена Коваленко", "into #"):
        assert words in before, words
    # A solved ticket that takes in one still being handled is open again.
    solved, again = _new_ticket(maria, "Рахунок"), _new_ticket(maria, "Рахунок знову")
    agent.patch(f"/api/v1/tickets/{solved.pk}", {"status": "solved"})
    agent.patch(f"/api/v1/tickets/{again.pk}", {"status": "pending"})
    agent.post(f"/api/v1/tickets/{again.pk}/merge", {"into": solved.pk})
    solved.refresh_from_db()
    assert (solved.status, solved.solved_at) == ("pending", None)


def _stranger() -> Customer:
    from forewarn.customers.services.profiles import ProfileIn, create_customer

    return create_customer(actor=Actor.system("tests"), data=ProfileIn(given_name="Інна"), source="tests")


def test_the_customer_page_shows_one_timeline_across_channels(olena: User, maria: Customer) -> None:
    _new_ticket(maria, "Де посилка")
    Message.objects.create(
        customer=maria,
        kind="order_shipped",
        topic="transactional",
        channel="sms",
        body="Замовлення відправлено",
        status="sent",
        planned_at=clock.now(),
        send_after=clock.now(),
        sent_at=clock.now(),
    )
    Message.objects.create(
        customer=maria,
        kind="survey_after_delivery",
        topic="surveys",
        channel="email",
        body="Як вам доставка? Оцініть від 0 до 10",
        status="delivered",
        planned_at=clock.now(),
        send_after=clock.now(),
        sent_at=clock.now(),
    )
    page = signed_in(olena).get(f"/inbox/customers/{maria.pk}/timeline/").content.decode()
    assert "Допоможіть" in page
    assert "Замовлення відправлено" in page
    assert "We reached out (transactional)" in page
    assert "Як вам доставка?" in page
    assert "We reached out (surveys)" in page
    assert 'id="customer-timeline"' in signed_in(olena).get(f"/customers/{maria.pk}/").content.decode()


def test_search_finds_recent_and_old_conversations_newest_first(olena: User, maria: Customer) -> None:
    with clock.frozen_at(clock.now() - timedelta(days=40)):
        first = receive_email(mail("Лічильник зламався", subject="Давнє").as_bytes())
        assert first.ticket_id is not None
        old = Ticket.objects.get(pk=first.ticket_id)
    again = receive_email(mail("Лічильник знову", subject="Нове").as_bytes())
    assert again.ticket_id is not None
    recent = Ticket.objects.get(pk=again.ticket_id)
    actor = Actor.of(olena)
    assert list(list_tickets(actor, TicketFilters(q="лічильн"))) == [recent, old]
    assert list(list_tickets(actor, TicketFilters(q="зламався"))) == [old]
    assert list(list_tickets(actor, TicketFilters(q="зламався", status="open"))) == []


def _meter_tickets(count: int) -> list[Ticket]:
    """``count`` tickets about a meter, an hour apart, the oldest first; the word is in what was written
    only, not in the subject, so what the search finds is what it read in the entries."""
    made = []
    for n in range(count):
        with clock.frozen_at(clock.now() - timedelta(hours=count - n)):
            made.append(
                receive_email(mail(f"Лічильник номер {n}", subject=f"Питання {n}").as_bytes()).ticket_id
            )
    return list(Ticket.objects.filter(pk__in=made).order_by("created_at"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the two-step search is PostgreSQL's")
def test_search_reads_older_entries_only_when_the_index_expects_few(
    olena: User, maria: Customer, monkeypatch: pytest.MonkeyPatch, api_as: Callable[..., Any]
) -> None:
    tickets = _meter_tickets(5)
    monkeypatch.setattr(ticket_service, "RECENT_ENTRIES", 3)
    actor = Actor.of(olena)
    # Few matches expected: the older entries are read as well, through the index.
    assert find_tickets(actor, TicketFilters(q="лічильник")).search == Matches(
        [t.pk for t in reversed(tickets)]
    )
    assert find_tickets(actor, TicketFilters(q="номер 1")).search == Matches([tickets[1].pk])
    # More expected than a search may read at once: the newest entries only, and it says so.
    monkeypatch.setattr(ticket_service, "OLDER_BUDGET", 0)
    found = find_tickets(actor, TicketFilters(q="лічильник"))
    assert found.search == Matches([t.pk for t in reversed(tickets[2:])], older_skipped=True)
    assert find_tickets(actor, TicketFilters(q="номер 1")).search == Matches([], older_skipped=True)
    deep = find_tickets(actor, TicketFilters(q="лічильник", deep=True))
    assert deep.search == Matches([t.pk for t in reversed(tickets)])
    # A narrowed view reads the older entries of its own tickets only.
    Ticket.objects.filter(pk=tickets[0].pk).update(assignee=olena)
    mine = find_tickets(actor, TicketFilters(q="номер", view="mine", deep=True)).search
    assert mine == Matches([tickets[0].pk])
    monkeypatch.setattr(ticket_service, "SEARCH_LIMIT", 4)
    assert find_tickets(actor, TicketFilters(q="лічильн", deep=True)).search == Matches(
        [t.pk for t in reversed(tickets[1:])], capped=True
    )
    monkeypatch.setattr(ticket_service, "SEARCH_LIMIT", 200)
    api = api_as(olena)
    listed = api.get("/api/v1/tickets", q="лічильник").json()
    assert listed["search"] == {"older_skipped": True, "capped": False}
    assert [t["id"] for t in listed["items"]] == [t.pk for t in reversed(tickets[2:])]
    everything = api.get("/api/v1/tickets", q="лічильник", deep="true").json()
    assert (everything["count"], everything["search"]["older_skipped"]) == (5, False)
    assert api.get("/api/v1/tickets").json()["search"] is None
    page = signed_in(olena).get("/inbox/?q=лічильник").content.decode()
    assert "Search older conversations too" in page
    assert "deep=1" in page
    assert (
        "Search older conversations too"
        not in signed_in(olena).get("/inbox/?q=лічильник&deep=1").content.decode()
    )


def test_search_says_when_it_shows_only_the_newest_matches(
    olena: User, maria: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = _meter_tickets(3)
    monkeypatch.setattr(ticket_service, "SEARCH_LIMIT", 2)
    found = find_tickets(Actor.of(olena), TicketFilters(q="лічильник"))
    assert found.search == Matches([tickets[2].pk, tickets[1].pk], capped=True)
    assert list(found.rows) == [tickets[2], tickets[1]]
    page = signed_in(olena).get("/inbox/?q=лічильник").content.decode()
    assert "2 newest matching messages" in page
    assert find_tickets(Actor.of(olena), TicketFilters(q="жодного")).search == Matches([])
    nothing = signed_in(olena).get("/inbox/?q=жодного")
    assert nothing.status_code == 200
    assert "лічильник" not in nothing.content.decode()


def test_the_inbox_link_is_current_on_every_inbox_page(olena: User, maria: Customer) -> None:
    ticket = _new_ticket(maria, "Де посилка")
    current = 'href="/inbox/" aria-current="page">Inbox'
    for url in ("/inbox/", f"/inbox/{ticket.pk}/", "/inbox/?view=mine"):
        assert current in signed_in(olena).get(url).content.decode(), url
    assert current not in signed_in(olena).get(f"/customers/{maria.pk}/").content.decode()
