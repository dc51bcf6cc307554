"""Who sees which tickets: agents those of their teams, those no team holds yet and those given to them;
supervisors and admins all of them. Another team's ticket is a 404 by id, and absent from lists, search,
files and the customer's timeline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from forewarn.accounts.models import Team, User
from forewarn.customers.models import Customer
from forewarn.inbox.models import Attachment, Ticket
from forewarn.inbox.services.intake.email import receive_email

from .test_email import mail


@pytest.fixture
def teams(olena: User, taras: User, maria: Customer) -> dict[str, Ticket]:
    """Olena answers for retail; one of Maria's tickets is billing's, one retail's, one nobody's yet."""
    retail, billing = Team.objects.create(name="Retail"), Team.objects.create(name="Billing")
    olena.teams.add(retail)
    made = {}
    for name, team in (("retail", retail), ("billing", billing), ("unrouted", None)):
        received = receive_email(mail(f"Рахунок {name} неправильний", subject=f"Рахунок {name}").as_bytes())
        assert received.ticket_id is not None
        Ticket.objects.filter(pk=received.ticket_id).update(team=team)
        made[name] = Ticket.objects.get(pk=received.ticket_id)
    return made


def test_an_agent_of_one_team_gets_404_for_another_teams_ticket(
    api_as: Callable[..., Any], olena: User, teams: dict[str, Ticket]
) -> None:
    client = api_as(olena)
    assert client.get(f"/api/v1/tickets/{teams['retail'].pk}").status_code == 200
    assert client.get(f"/api/v1/tickets/{teams['unrouted'].pk}").status_code == 200
    hidden = client.get(f"/api/v1/tickets/{teams['billing'].pk}")
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "ticket_not_found"
    changed = client.patch(f"/api/v1/tickets/{teams['billing'].pk}", {"status": "solved"})
    assert changed.status_code == 404
    teams["billing"].refresh_from_db()
    assert teams["billing"].status != "solved"
    answered = client.post(f"/api/v1/tickets/{teams['billing'].pk}/entries", {"text": "Чужий"})
    assert answered.status_code == 404
    assert teams["billing"].entries.count() == 1


def test_another_teams_ticket_is_not_listed_nor_found_by_search(
    api_as: Callable[..., Any], olena: User, taras: User, teams: dict[str, Ticket]
) -> None:
    listed = {t["id"] for t in api_as(olena).get("/api/v1/tickets").json()["items"]}
    assert listed == {teams["retail"].pk, teams["unrouted"].pk}
    found = {t["id"] for t in api_as(olena).get("/api/v1/tickets", q="Рахунок").json()["items"]}
    assert found == {teams["retail"].pk, teams["unrouted"].pk}
    supervised = {t["id"] for t in api_as(taras).get("/api/v1/tickets", q="Рахунок").json()["items"]}
    assert supervised == {t.pk for t in teams.values()}


def test_a_ticket_given_to_the_agent_is_theirs_to_see_whatever_its_team(
    api_as: Callable[..., Any], olena: User, taras: User, teams: dict[str, Ticket]
) -> None:
    api_as(taras).patch(f"/api/v1/tickets/{teams['billing'].pk}", {"assignee_id": olena.pk})
    assert api_as(olena).get(f"/api/v1/tickets/{teams['billing'].pk}").status_code == 200


def test_the_customer_timeline_shows_only_the_tickets_one_may_see(
    olena: User, taras: User, maria: Customer, teams: dict[str, Ticket]
) -> None:
    def timeline(user: User) -> str:
        client = Client()
        client.force_login(user)
        return client.get(f"/inbox/customers/{maria.pk}/timeline/").content.decode()

    seen = timeline(olena)
    assert "Рахунок retail" in seen
    assert "Рахунок billing" not in seen
    assert "Рахунок billing" in timeline(taras)


def test_another_teams_file_is_not_found(olena: User, teams: dict[str, Ticket]) -> None:
    entry = teams["billing"].entries.get()
    kept = Attachment.objects.create(
        entry=entry, filename="bill.pdf", content_type="application/pdf", size=3, sha256="ab" * 32
    )
    client = Client()
    client.force_login(olena)
    assert client.get(f"/inbox/attachments/{kept.pk}/").status_code == 404


def test_the_status_counts_count_only_what_one_may_see_and_stop_at_the_cap(
    olena: User, taras: User, teams: dict[str, Ticket], monkeypatch: pytest.MonkeyPatch
) -> None:
    from forewarn.accounts.actors import Actor
    from forewarn.inbox.services import tickets

    Ticket.objects.filter(pk=teams["unrouted"].pk).update(status="pending")
    seen = tickets.status_counts(tickets.list_tickets(Actor.of(olena), view="all"))
    assert seen == dict.fromkeys(seen, 0) | {"new": 1, "pending": 1}
    everything = tickets.status_counts(tickets.list_tickets(Actor.of(taras), view="all"))
    assert (everything["new"], everything["pending"], sum(everything.values())) == (2, 1, 3)
    nothing = tickets.list_tickets(Actor.of(taras), view="all", q="словонікогоненаписав")
    assert tickets.status_counts(nothing) == dict.fromkeys(seen, 0)
    monkeypatch.setattr(tickets, "COUNT_CAP", 1)
    Ticket.objects.filter(pk=teams["unrouted"].pk).update(status="new")
    capped = tickets.status_counts(tickets.list_tickets(Actor.of(taras), view="all"))
    assert capped["new"] == 2  # three new, counted to COUNT_CAP + 1: shown as "1+"
