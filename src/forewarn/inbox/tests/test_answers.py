"""Answers go back on the channel the customer used, through the outbox: email threaded (a reply to the
agent's answer lands in the same ticket), SMS to the number that wrote, and two agents answering at once
are warned."""

from __future__ import annotations

import smtplib
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.channels.models import LocalDelivery
from forewarn.channels.smtp import start_receiver
from forewarn.core.errors import Conflict
from forewarn.customers.models import Customer
from forewarn.engage.models import Message, MessageStatus
from forewarn.engage.services.outbox import dispatch_once
from forewarn.inbox.models import Entry, EntryKind, Ticket, TicketStatus
from forewarn.inbox.services import replies
from forewarn.inbox.services.intake.email import receive_email, take_raw_email

from .test_email import _free_port, mail


class Sink:
    """An SMTP server that keeps what it is sent: the customer's mailbox."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def test_an_email_answer_goes_through_the_outbox_to_the_address_that_wrote(
    olena: User, maria: Customer
) -> None:
    received = receive_email(mail(sender="Марія <maria.petrenko@example.com>").as_bytes())
    assert received.ticket_id is not None
    ticket = Ticket.objects.get(pk=received.ticket_id)
    replies.add_entry(actor=Actor.of(olena), ticket=ticket, text="Посилка вже у відділенні №5.")
    entry = Entry.objects.get(ticket=ticket, kind=EntryKind.OUTBOUND)
    assert entry.message_id is not None
    message = Message.objects.get(pk=entry.message_id)
    assert (message.kind, message.topic, message.channel) == ("answer", "transactional", "email")
    assert message.address == "maria.petrenko@example.com"
    assert message.context["thread"]["in_reply_to"] == Entry.objects.get(kind=EntryKind.INBOUND).provider_id
    dispatch_once()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    sent = LocalDelivery.objects.get()
    assert sent.subject == f"Re: Де моя посилка? [#{ticket.pk}]"
    assert sent.body == "Посилка вже у відділенні №5."
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.first_response_at is not None


def test_an_answer_is_sent_as_written_never_as_a_template(olena: User, maria: Customer) -> None:
    received = receive_email(mail().as_bytes())
    assert received.ticket_id is not None
    ticket = Ticket.objects.get(pk=received.ticket_id)
    replies.add_entry(actor=Actor.of(olena), ticket=ticket, text="Код {{ customer.first_name }} {% if %}")
    dispatch_once()
    assert LocalDelivery.objects.get().body == "Код {{ customer.first_name }} {% if %}"


@pytest.mark.django_db(transaction=True)
def test_a_reply_to_the_agents_emailed_answer_threads_into_the_same_ticket(
    settings: Any, olena: User, maria: Customer
) -> None:
    sink, sink_port, receiver_port = Sink(), _free_port(), _free_port()
    mailbox = Controller(sink, hostname="127.0.0.1", port=sink_port)
    mailbox.start()
    receiver = start_receiver("127.0.0.1", receiver_port, receive=take_raw_email)
    settings.FOREWARN_PROVIDERS = {
        "email": {
            "provider": "smtp",
            "host": "127.0.0.1",
            "port": sink_port,
            "security": "none",
            "from_address": "care@forewarn.example",
        }
    }
    try:
        question = mail(sender="Марія <maria.petrenko@example.com>")
        with smtplib.SMTP("127.0.0.1", receiver_port) as smtp:
            smtp.send_message(question)
        ticket = Ticket.objects.get()
        replies.add_entry(actor=Actor.of(olena), ticket=ticket, text="Перевіримо й напишемо.")
        dispatch_once()
        (answer,) = sink.messages
        assert answer["In-Reply-To"] == question["Message-ID"]
        assert question["Message-ID"] in answer["References"]
        assert answer["To"] == "maria.petrenko@example.com"
        # The customer answers the answer; her mail client quotes our Message-ID and changes the subject.
        reply = mail("Дякую, чекаю.", subject="Re: питання", In_Reply_To=answer["Message-ID"])
        with smtplib.SMTP("127.0.0.1", receiver_port) as smtp:
            smtp.send_message(reply)
    finally:
        receiver.stop()
        mailbox.stop()
    assert Ticket.objects.count() == 1
    assert [e.kind for e in Ticket.objects.get().entries.all()] == ["inbound", "outbound", "inbound"]


def sms_ticket(maria: Customer) -> Ticket:
    """A ticket Maria opened by SMS from her number."""
    ticket = Ticket.objects.create(
        customer=maria, channel="sms", subject="Де?", created_at=maria.created_at, updated_at=maria.created_at
    )
    Entry.objects.create(
        ticket=ticket,
        kind="inbound",
        channel="sms",
        text="Де?",
        address="+380671234567",
        created_at=maria.created_at,
    )
    return ticket


def test_an_sms_answer_goes_to_the_number_the_customer_wrote_from(olena: User, maria: Customer) -> None:
    ticket = sms_ticket(maria)
    replies.add_entry(actor=Actor.of(olena), ticket=ticket, text="Завтра до 18:00.")
    message = Message.objects.get()
    assert (message.channel, message.address, message.status) == ("sms", "+380671234567", "queued")


def test_two_agents_answering_at_once_are_warned(olena: User, taras: User, maria: Customer) -> None:
    received = receive_email(mail().as_bytes())
    assert received.ticket_id is not None
    ticket = Ticket.objects.get(pk=received.ticket_id)
    seen = ticket.entries.get().pk
    replies.add_entry(actor=Actor.of(taras), ticket=ticket, text="Вже дивлюся.", seen_up_to=seen)
    with pytest.raises(Conflict) as refused:
        replies.add_entry(actor=Actor.of(olena), ticket=ticket, text="Я теж.", seen_up_to=seen)
    assert refused.value.code == "collision"
    replies.add_entry(actor=Actor.of(olena), ticket=ticket, text="Я теж.", seen_up_to=seen, confirmed=True)
    assert Entry.objects.filter(kind=EntryKind.OUTBOUND).count() == 2


def test_the_ticket_page_shows_whether_an_answer_was_delivered(olena: User, maria: Customer) -> None:
    received = receive_email(mail().as_bytes())
    assert received.ticket_id is not None
    ticket = Ticket.objects.get(pk=received.ticket_id)
    agent = Client()
    agent.force_login(olena)
    assert "Send answer" in agent.get(f"/inbox/{ticket.pk}/").content.decode()
    agent.post(f"/inbox/{ticket.pk}/entries/", {"text": "Відповідь", "kind": "answer"})
    assert "Queued" in agent.get(f"/inbox/{ticket.pk}/").content.decode()
    dispatch_once()
    assert "Sent" in agent.get(f"/inbox/{ticket.pk}/").content.decode()
