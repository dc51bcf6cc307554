"""What an agent writes in a ticket is as long as where it goes takes: an SMS answer at most ten parts and
says how many it takes, Telegram 4,096 characters, a note 20,000; a longer one is refused whole and
nothing is stored or sent. A note says it is one, in the API and on the page, and a long entry is shown
cut on the ticket page (which reloads every two seconds) with the whole of it a click away."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from forewarn.accounts.models import User
from forewarn.customers.models import Customer
from forewarn.engage.models import Message
from forewarn.inbox.models import Entry, EntryKind, Ticket
from forewarn.inbox.services.intake.email import receive_email

from .test_email import mail


def _ticket_on(channel: str, customer: Customer, address: str) -> Ticket:
    ticket = Ticket.objects.create(
        customer=customer,
        channel=channel,
        subject="Де посилка?",
        created_at=customer.created_at,
        updated_at=customer.created_at,
    )
    Entry.objects.create(
        ticket=ticket,
        kind=EntryKind.INBOUND,
        channel=channel,
        text="Де посилка?",
        address=address,
        created_at=customer.created_at,
    )
    return ticket


def _entries(ticket: Ticket) -> str:
    return f"/api/v1/tickets/{ticket.pk}/entries"


def test_a_three_megabyte_note_is_refused_and_nothing_is_kept(
    api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    ticket = _ticket_on("sms", maria, "+380671234567")
    answer = api_as(olena).post(_entries(ticket), {"text": "x" * 3_000_000, "note": True})
    assert answer.status_code == 422, answer.content[:300]
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    assert [(f["path"], f["code"]) for f in error["fields"]] == [("text", "too_long")]
    assert error["fields"][0]["message"] == "A note can be at most 20000 characters; this one has 3000000."
    assert list(ticket.entries.values_list("kind", flat=True)) == ["inbound"]
    assert not Message.objects.exists()


def test_an_sms_answer_says_its_parts_and_one_of_more_than_ten_is_refused(
    api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    ticket = _ticket_on("sms", maria, "+380671234567")
    client = api_as(olena)
    two_parts = "Посилка вже у відділенні №5, заберіть її до п'ятниці, будь ласка. " * 2
    answered = client.post(_entries(ticket), {"text": two_parts})
    assert answered.status_code == 201, answered.content
    entry = answered.json()
    assert (entry["kind"], entry["internal"], entry["parts"]) == ("outbound", False, 2)
    assert Message.objects.get().channel == "sms"

    too_long = client.post(_entries(ticket), {"text": "Так. " * 140})  # 700 characters of Cyrillic
    assert too_long.status_code == 422
    field = too_long.json()["error"]["fields"][0]
    assert (field["path"], field["code"]) == ("text", "too_long")
    assert "would take 11" in field["message"]
    assert Message.objects.count() == 1

    latin = client.post(_entries(ticket), {"text": "Ok, " * 380})  # 1,520 GSM-7 characters: 10 parts
    assert latin.status_code == 201, latin.content
    assert latin.json()["parts"] == 10


def test_a_telegram_answer_takes_at_most_what_telegram_does(
    api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    ticket = _ticket_on("telegram", maria, "5550001")
    client = api_as(olena)
    refused = client.post(_entries(ticket), {"text": "ж" * 4097})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["message"] == (
        "An answer by Telegram can be at most 4096 characters; this one has 4097."
    )
    taken = client.post(_entries(ticket), {"text": "ж" * 4096})
    assert taken.status_code == 201
    assert taken.json()["parts"] is None


def test_a_note_says_it_is_internal_and_reaches_nobody(
    api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    ticket = _ticket_on("sms", maria, "+380671234567")
    answer = api_as(olena).post(_entries(ticket), {"text": "Клієнтка дзвонила двічі.", "note": True})
    assert answer.status_code == 201
    assert (answer.json()["kind"], answer.json()["internal"], answer.json()["parts"]) == ("note", True, None)
    read = api_as(olena).get(f"/api/v1/tickets/{ticket.pk}").json()
    assert [(e["kind"], e["internal"]) for e in read["entries"]] == [("inbound", False), ("note", True)]
    assert not Message.objects.exists()


def test_a_form_sends_its_line_breaks_as_two_characters_and_they_count_as_one(
    client: Client, olena: User, maria: Customer
) -> None:
    ticket = _ticket_on("sms", maria, "+380671234567")
    client.force_login(olena)
    text = "\r\n".join(["a" * 79] * 2)  # 159 characters as typed: one SMS
    client.post(f"/inbox/{ticket.pk}/entries/", {"text": text, "kind": "answer"})
    entry = ticket.entries.get(kind=EntryKind.OUTBOUND)
    assert entry.text == "\n".join(["a" * 79] * 2)
    assert Message.objects.get().channel == "sms"


def test_a_long_entry_is_shown_cut_and_whole_on_request(client: Client, olena: User, maria: Customer) -> None:
    letter = "Добрий день. " + "Дуже довгий лист про посилку. " * 2000 + "КІНЕЦЬ ЛИСТА"
    received = receive_email(mail(letter).as_bytes())
    assert received.ticket_id is not None
    ticket = Ticket.objects.get(pk=received.ticket_id)
    entry = ticket.entries.get()
    client.force_login(olena)
    page = client.get(f"/inbox/{ticket.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Добрий день." in body
    assert "КІНЕЦЬ ЛИСТА" not in body
    assert "Show all" in body
    assert len(page.content) < 60_000
    part = client.get(f"/inbox/{ticket.pk}/", headers={"HX-Request": "true"})
    assert "КІНЕЦЬ ЛИСТА" not in part.content.decode()
    assert len(part.content) < 20_000
    whole = client.get(f"/inbox/{ticket.pk}/entries/{entry.pk}/")
    assert whole.status_code == 200
    assert "КІНЕЦЬ ЛИСТА" in whole.content.decode()


def test_the_whole_of_an_entry_is_only_for_those_who_may_read_its_ticket(
    client: Client, olena: User, maria: Customer, oleh: Customer
) -> None:
    received = receive_email(mail("Перший лист.").as_bytes())
    assert received.ticket_id is not None
    ticket = Ticket.objects.get(pk=received.ticket_id)
    other = _ticket_on("sms", oleh, "+380501112233")
    client.force_login(olena)
    entry = ticket.entries.get()
    assert client.get(f"/inbox/{other.pk}/entries/{entry.pk}/").status_code == 404
    client.logout()
    assert client.get(f"/inbox/{ticket.pk}/entries/{entry.pk}/").status_code in {302, 403}
