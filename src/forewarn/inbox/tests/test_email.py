"""Email in: the SMTP receiver, threading, idempotency, auto-replies and bounces, broken MIME, attachments,
sanitised HTML and masked personal values. Messages are built with the standard library, as mail clients
send them, and handed over through the real SMTP receiver or the gateway API."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.channels.smtp import start_receiver
from forewarn.customers.models import Customer
from forewarn.inbox.models import Attachment, Entry, Ticket, TicketStatus
from forewarn.inbox.services.intake.email import attachment_path, take_raw_email
from forewarn.privacy.models import PersonalValue
from forewarn.privacy.services import subjects

SYSTEM = Actor.system("tests")


def mail(
    body: str = "Добрий день, посилка не прийшла.",
    *,
    sender: str = "Марія Петренко <maria.petrenko@example.com>",
    subject: str = "Де моя посилка?",
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "care@forewarn.example"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


@pytest.fixture
def gateway(api_as: Callable[..., Any], ada: User) -> Callable[[Any], Any]:
    client = api_as(ada)

    def send(message: EmailMessage | bytes) -> Any:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        return client.client.post(
            "/api/v1/inbox/email", data=raw, content_type="message/rfc822", headers=client.headers
        )

    return send


def test_an_email_becomes_a_ticket_of_the_customer_it_is_from(gateway: Any, maria: Customer) -> None:
    answer = gateway(mail())
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "created"
    ticket = Ticket.objects.get()
    assert (ticket.customer, ticket.channel, ticket.subject, ticket.status) == (
        maria,
        "email",
        "Де моя посилка?",
        TicketStatus.NEW,
    )
    assert ticket.entries.get().text == "Добрий день, посилка не прийшла."


def test_a_stranger_becomes_a_customer_with_their_address_and_name(gateway: Any) -> None:
    gateway(mail(sender="Олег Сидоренко <Oleh@Example.ua>"))
    customer = Ticket.objects.get().customer
    assert (customer.given_name, customer.family_name) == ("Олег", "Сидоренко")
    assert customer.identities.get().value == "oleh@example.ua"


def test_a_reply_threads_into_its_ticket_and_opens_it_again(gateway: Any, maria: Customer) -> None:
    first = mail()
    gateway(first)
    Ticket.objects.update(status=TicketStatus.SOLVED)
    reply = mail("Все ще чекаю", subject="Re: Де моя посилка?", In_Reply_To=first["Message-ID"])
    answer = gateway(reply)
    assert answer.json()["status"] == "threaded"
    ticket = Ticket.objects.get()
    assert ticket.entries.count() == 2
    assert ticket.status == TicketStatus.OPEN
    # A reply that only quotes the ticket's number in its subject joins it too, if it is the same person's.
    gateway(mail("І ще одне", subject=f"Re: [#{ticket.pk}] посилка"))
    assert Ticket.objects.get().entries.count() == 3
    gateway(mail("Чужий номер", sender="eve@example.org", subject=f"[#{ticket.pk}] hijack"))
    assert Ticket.objects.count() == 2


def test_the_same_message_twice_is_stored_once(gateway: Any, maria: Customer) -> None:
    message = mail()
    assert gateway(message).json()["status"] == "created"
    assert gateway(message).json()["status"] == "duplicate"
    assert Entry.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"X_Autoreply": "yes"},
        {"Precedence": "bulk"},
        {"subject": "Автовідповідь: Де моя посилка?"},
        {"subject": "Out of Office: your ticket"},
    ],
)
def test_auto_replies_are_not_tickets(gateway: Any, maria: Customer, headers: dict[str, str]) -> None:
    answer = gateway(mail(**headers))
    assert answer.json()["status"] == "auto_reply"
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.com", "someone@example.com"])
def test_a_bounce_is_not_a_ticket(gateway: Any, sender: str) -> None:
    report = (
        f"From: Mail Delivery System <{sender}>\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n--b--\r\n"
    ).encode()
    assert gateway(report).json()["status"] == "bounce"
    assert not Ticket.objects.exists()


def test_broken_mime_is_read_as_far_as_it_goes(gateway: Any, maria: Customer) -> None:
    raw = (
        b"From: maria.petrenko@example.com\r\nSubject: =?utf-8?B?broken\r\n"
        b'Content-Type: multipart/mixed; boundary="never-closed"\r\n\r\n'
        b"--never-closed\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\n"
        b"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd1\x96\xd1\x82 \xff\xfe\r\n"
    )
    answer = gateway(raw)
    assert answer.status_code == 200, answer.content
    assert Ticket.objects.get().customer == maria


def test_a_message_without_a_sender_is_refused_with_a_reason(gateway: Any) -> None:
    answer = gateway(b"Subject: hello\r\n\r\nnobody sent this\r\n")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "sender_invalid"


def test_html_is_sanitised_and_scripts_never_stored(gateway: Any, maria: Customer) -> None:
    message = mail("plain version")
    message.add_alternative(
        '<p onclick="steal()">Привіт<script>alert(1)</script> <a href="javascript:evil()">тут</a>'
        '<img src="https://tracker.example/p.gif"></p>',
        subtype="html",
    )
    gateway(message)
    entry = Entry.objects.get()
    assert "script" not in entry.html
    assert "onclick" not in entry.html
    assert "javascript" not in entry.html
    assert "Привіт" in entry.html
    assert entry.text == "plain version"


def test_a_huge_attachment_is_listed_as_refused_and_not_stored(
    gateway: Any, maria: Customer, settings: Any
) -> None:
    settings.FOREWARN_ATTACHMENT_MAX_BYTES = 1000
    message = mail()
    message.add_attachment(b"x" * 500, maintype="application", subtype="pdf", filename="receipt.pdf")
    message.add_attachment(b"y" * 5000, maintype="video", subtype="mp4", filename="unboxing.mp4")
    gateway(message)
    kept, refused = Attachment.objects.order_by("size")
    assert (kept.filename, kept.refused, kept.size) == ("receipt.pdf", "", 500)
    assert attachment_path(kept.sha256).read_bytes() == b"x" * 500
    assert (refused.filename, refused.refused, refused.sha256) == ("unboxing.mp4", "too_large", "")


def test_personal_values_in_an_email_are_masked_and_erased_with_the_person(
    gateway: Any, maria: Customer
) -> None:
    gateway(mail("Картка 4111 1111 1111 1111, паспорт КВ 123456"))
    entry = Entry.objects.get()
    assert entry.text == "Картка 4111 •••• •••• 1111, паспорт •• ••••56"
    assert PersonalValue.objects.filter(source="inbox.entry", customer=maria).count() == 2
    needles = subjects.needles_of([maria.pk])
    subjects.erase_person(actor=SYSTEM, customer_id=maria.pk, reason="she asked in writing")
    assert subjects.scan_for(needles) == []
    assert Entry.objects.get().text == ""  # the entry stays, for the counts


def test_agents_read_tickets_and_the_gateway_needs_its_permission(
    gateway: Any, api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    gateway(mail())
    agent = api_as(olena)
    page = agent.get("/api/v1/tickets", status="new").json()
    assert page["count"] == 1
    detail = agent.get(f"/api/v1/tickets/{page['items'][0]['id']}").json()
    assert detail["entries"][0]["text"] == "Добрий день, посилка не прийшла."
    refused = agent.client.post(
        "/api/v1/inbox/email", data=mail().as_bytes(), content_type="message/rfc822", headers=agent.headers
    )
    assert refused.status_code == 403


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.django_db(transaction=True)
def test_mail_sent_with_smtplib_to_the_receiver_becomes_a_ticket_and_a_reply_threads() -> None:
    port = _free_port()
    receiver = start_receiver("127.0.0.1", port, receive=take_raw_email)
    try:
        first = mail()
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(first)
            smtp.send_message(mail("Дякую", subject="Re: Де моя посилка?", In_Reply_To=first["Message-ID"]))
    finally:
        receiver.stop()
    ticket = Ticket.objects.get()
    assert [e.text for e in ticket.entries.all()] == ["Добрий день, посилка не прийшла.", "Дякую"]
    assert ticket.customer.identities.get().value == "maria.petrenko@example.com"
