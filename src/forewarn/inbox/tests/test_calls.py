"""Phone calls reported by a telephony system: one entry per call (a repeat with the transcript updates
it), the IVR path and result, masked transcripts, a caller who becomes a customer, and bad reports
refused with reasons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from forewarn.accounts.models import User
from forewarn.customers.models import Customer
from forewarn.inbox.models import Entry, Ticket, TicketStatus


def test_a_call_is_an_entry_of_the_callers_voice_ticket_and_a_repeat_updates_it(
    api_as: Callable[..., Any], ada: User, maria: Customer
) -> None:
    telephony = api_as(ada)
    call = {
        "call_id": "pbx-778",
        "caller": "067 123 45 67",
        "started_at": "2026-12-03T09:15:00+02:00",
        "outcome": "missed",
        "ivr_path": ["2", "1"],
        "ivr_result": "billing",
    }
    first = telephony.post("/api/v1/inbox/calls", call)
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "created"
    ticket = Ticket.objects.get(pk=first.json()["ticket_id"])
    assert (ticket.customer, ticket.channel, ticket.status) == (maria, "voice", TicketStatus.NEW)
    again = telephony.post(
        "/api/v1/inbox/calls",
        {**call, "transcript": "Картка 4111 1111 1111 1111 не працює", "duration_seconds": 40},
    )
    assert again.json() == {**first.json(), "status": "updated"}
    entry = Entry.objects.get()
    assert "menu 2 › 1" in entry.text
    assert "result: billing" in entry.text
    assert "4111 •••• •••• 1111" in entry.text
    assert "4111 1111 1111 1111" not in entry.text


def test_an_unknown_caller_becomes_a_customer(api_as: Callable[..., Any], ada: User) -> None:
    answer = api_as(ada).post(
        "/api/v1/inbox/calls",
        {
            "call_id": "x1",
            "caller": "+44 20 7946 0018",
            "started_at": "2026-12-03T09:00:00Z",
            "outcome": "voicemail",
        },
    )
    assert answer.status_code == 200, answer.content
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert ticket.customer.identities.get().value == "+442079460018"


def test_bad_call_reports_are_refused_with_every_reason(
    api_as: Callable[..., Any], ada: User, olena: User
) -> None:
    refused = api_as(ada).post(
        "/api/v1/inbox/calls",
        {
            "call_id": " ",
            "caller": "nope",
            "started_at": "2026-12-03T09:00:00",
            "outcome": "shrug",
            "recording_url": "ftp://x",
        },
    )
    assert refused.status_code == 422
    paths = {f["path"] for f in refused.json()["error"]["fields"]}
    assert paths == {"call_id", "caller", "started_at", "outcome", "recording_url"}
    forbidden = api_as(olena).post(
        "/api/v1/inbox/calls",
        {
            "call_id": "1",
            "caller": "+380671234567",
            "started_at": "2026-12-03T09:00:00Z",
            "outcome": "missed",
        },
    )
    assert forbidden.status_code == 403


def test_an_answered_call_is_its_own_first_response(
    api_as: Callable[..., Any], ada: User, maria: Customer
) -> None:
    answer = api_as(ada).post(
        "/api/v1/inbox/calls",
        {
            "call_id": "a1",
            "caller": "+380671234567",
            "started_at": "2026-12-03T09:00:00Z",
            "outcome": "answered",
        },
    )
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert ticket.first_response_at is not None
    assert ticket.head_office_due is None
