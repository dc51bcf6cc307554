"""The web chat's public endpoints: sessions, messages, the event stream, limits and what a visitor sees."""

from __future__ import annotations

import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.inbox.models import Entry, Ticket
from forewarn.inbox.services import replies
from forewarn.inbox.services.intake import chat, limits


def post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Origin": "https://shop.example"},
    )


def test_a_visitor_opens_a_chat_writes_and_reads_the_answer_but_never_a_note(
    olena: User, maria: Customer
) -> None:
    client = Client(enforce_csrf_checks=True)  # a page of another site sends no CSRF token
    opened = post(client, "/chat/sessions", {"name": "Марія", "email": "Maria.Petrenko@Example.com"})
    assert opened.status_code == 201
    assert opened["Access-Control-Allow-Origin"] == "*"
    token = opened.json()["token"]
    wrote = post(
        client, f"/chat/sessions/{token}/messages", {"text": "Моя картка 4111 1111 1111 1111 не працює"}
    )
    assert wrote.status_code == 201
    ticket = Ticket.objects.get()
    assert (ticket.customer, ticket.channel) == (maria, "webchat")  # known by her email
    agent = Actor.of(olena)
    replies.add_entry(actor=agent, ticket=ticket, text="Перевіряємо")
    replies.add_entry(actor=agent, ticket=ticket, text="Клієнтка VIP, не забути", note=True)
    seen = client.get(f"/chat/sessions/{token}/messages").json()["messages"]
    assert [(m["from"], m["text"]) for m in seen] == [
        ("you", "Моя картка 4111 •••• •••• 1111 не працює"),
        ("us", "Перевіряємо"),
    ]
    after = client.get(f"/chat/sessions/{token}/messages", {"after": seen[0]["id"]}).json()["messages"]
    assert [m["text"] for m in after] == ["Перевіряємо"]


def test_the_stream_sends_each_entry_as_a_server_sent_event(maria: Customer) -> None:
    session = chat.open_session(name="Гість")
    chat.write(session, "Привіт")
    response = Client().get(f"/chat/sessions/{session.token}/stream", headers={"Last-Event-ID": "0"})
    assert response["Content-Type"] == "text/event-stream"
    first = "".join(
        chunk.decode()
        for chunk, _n in zip(response.streaming_content, range(2), strict=False)  # type: ignore[attr-defined]
    )
    entry = Entry.objects.get()
    assert first.startswith("retry: 1000\n\n")
    assert f"id: {entry.pk}\ndata: " in first
    assert '"text": "Привіт"' in first
    response.close()


def test_an_unknown_chat_is_a_404_and_a_flood_is_refused_with_a_reason(db: None) -> None:
    client = Client()
    assert client.get("/chat/sessions/nope/messages").status_code == 404
    token = post(client, "/chat/sessions", {}).json()["token"]
    with clock.frozen_at(clock.now().replace(second=0, microsecond=0)):  # one window of the limits
        empty = post(client, f"/chat/sessions/{token}/messages", {"text": "  "})  # counted, and refused
        assert empty.status_code == 422
        for n in range(limits.LIMITS["chat"] - 1):
            assert post(client, f"/chat/sessions/{token}/messages", {"text": f"спам {n}"}).status_code == 201
        refused = post(client, f"/chat/sessions/{token}/messages", {"text": "ще"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"


def test_a_phone_call_takes_notes_but_no_written_answer(olena: User, maria: Customer) -> None:
    ticket = Ticket.objects.create(
        customer=maria, channel="voice", subject="x", created_at=maria.created_at, updated_at=maria.created_at
    )
    agent = Client()
    agent.force_login(olena)
    page = agent.get(f"/inbox/{ticket.pk}/").content.decode()
    assert "Send answer" not in page
    assert "Add note" in page
    agent.post(f"/inbox/{ticket.pk}/entries/", {"text": "Клієнтка дзвонила", "kind": "note"})
    agent.post(f"/inbox/{ticket.pk}/entries/", {"text": "Відповідь", "kind": "answer"})
    assert list(Entry.objects.values_list("kind", "text")) == [("note", "Клієнтка дзвонила")]


def test_the_demo_page_carries_the_widget(db: None) -> None:
    page = Client().get("/chat/demo")
    assert page.status_code == 200
    assert "/static/forewarn/chat.js" in page.content.decode()


def test_a_visitor_attaches_a_file_staff_download_it_and_a_huge_one_is_refused(
    olena: User, settings: Any
) -> None:
    client = Client()
    token = post(client, "/chat/sessions", {}).json()["token"]
    sent = client.post(
        f"/chat/sessions/{token}/files",
        {"file": SimpleUploadedFile("чек.pdf", b"%PDF-1.4 receipt", "application/pdf")},
    )
    assert sent.status_code == 201, sent.content
    entry = Entry.objects.get(pk=sent.json()["id"])
    kept = entry.attachments.get()
    assert (kept.filename, kept.size) == ("чек.pdf", 16)
    agent = Client()
    agent.force_login(olena)
    download = agent.get(f"/inbox/attachments/{kept.pk}/")
    assert download.status_code == 200
    assert download.content == b"%PDF-1.4 receipt"
    assert download["Content-Type"] == "application/octet-stream"
    assert "attachment;" in download["Content-Disposition"]
    assert Client().get(f"/inbox/attachments/{kept.pk}/").status_code in {302, 403}
    settings.FOREWARN_ATTACHMENT_MAX_BYTES = 10
    huge = client.post(f"/chat/sessions/{token}/files", {"file": SimpleUploadedFile("big.bin", b"x" * 11)})
    assert huge.status_code == 422
    assert huge.json()["error"]["fields"][0]["code"] == "too_large"
