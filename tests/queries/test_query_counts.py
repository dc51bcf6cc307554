"""How many queries the busiest pages make, against baselines committed beside this file: the inbox list,
a ticket and a customer's profile. A page that makes one query more per row (an N+1) fails at once; a
change to a page's queries shows in review as a change to baselines.json. After a deliberate change,
run with FOREWARN_UPDATE_QUERY_BASELINES=1 to write the new numbers, and commit them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from forewarn.accounts.models import User
from forewarn.customers.models import Customer
from forewarn.inbox.models import Ticket
from forewarn.inbox.services.intake.email import receive_email
from forewarn.inbox.tests.test_email import mail

BASELINES = Path(__file__).with_name("baselines.json")
UPDATE = os.environ.get("FOREWARN_UPDATE_QUERY_BASELINES") == "1"


def _tickets(maria: Customer, n: int) -> list[Ticket]:
    made = []
    for i in range(n):
        received = receive_email(mail(f"Питання {i}: картка не працює", subject=f"Питання {i}").as_bytes())
        assert received.ticket_id is not None
        made.append(Ticket.objects.get(pk=received.ticket_id))
    return made


def _count(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        answer = client.get(path)
    assert answer.status_code == 200, answer.content[:500]
    return len(queries.captured_queries)


@pytest.mark.parametrize("page", ["inbox list", "ticket", "customer"])
def test_the_busiest_pages_make_as_many_queries_as_their_baseline_whatever_the_rows(
    page: str, taras: User, maria: Customer
) -> None:
    client = Client()
    client.force_login(taras)

    def path(tickets: list[Ticket]) -> str:
        return {
            "inbox list": "/inbox/",
            "ticket": f"/inbox/{tickets[0].pk}/",
            "customer": f"/customers/{maria.pk}/",
        }[page]

    few = _tickets(maria, 2)
    _count(client, path(few))  # caches that a first request warms (the session, translations)
    with_few = _count(client, path(few))
    _tickets(maria, 8)
    with_more = _count(client, path(few))
    assert with_more == with_few, f"{page}: {with_few} queries with 2 tickets, {with_more} with 10 (an N+1?)"
    key = f"{page} ({connection.vendor})"
    known = json.loads(BASELINES.read_text()) if BASELINES.exists() else {}
    if UPDATE:
        BASELINES.write_text(json.dumps({**known, key: with_few}, indent=2, sort_keys=True) + "\n")
        return
    assert key in known, f"no baseline for {key}: run with FOREWARN_UPDATE_QUERY_BASELINES=1 and commit it"
    assert with_few == known[key], f"{key}: {with_few} queries, the baseline says {known[key]}"
