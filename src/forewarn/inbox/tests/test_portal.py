"""The customer portal: a signed link shows a customer their own tickets (never notes, never anyone
else's), lets them answer, and stops working when tampered with or old."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.inbox.models import EntryKind, Ticket, TicketStatus
from forewarn.inbox.services import replies
from forewarn.inbox.services.intake import portal
from forewarn.inbox.services.intake.email import receive_email

from .test_email import mail


def _path(link: str) -> str:
    return urlsplit(link).path


def test_a_customer_reads_and_answers_their_own_ticket_and_nobody_elses(
    olena: User, maria: Customer, oleh: Customer
) -> None:
    received = receive_email(mail().as_bytes())
    assert received.ticket_id is not None
    ticket = Ticket.objects.get(pk=received.ticket_id)
    replies.add_entry(actor=Actor.of(olena), ticket=ticket, text="Клієнтка сердита", note=True)
    replies.add_entry(actor=Actor.of(olena), ticket=ticket, text="Посилка у відділенні №5.")
    others = Ticket.objects.create(
        customer=oleh, channel="sms", subject="Чужое", created_at=clock.now(), updated_at=clock.now()
    )
    home = _path(portal.link_for(maria))
    client = Client()
    page = client.get(home).content.decode()
    assert "Де моя посилка?" in page
    assert "Чужое" not in page
    shown = client.get(f"{home}{ticket.pk}/").content.decode()
    assert "Посилка у відділенні №5." in shown
    assert "Клієнтка сердита" not in shown
    assert client.get(f"{home}{others.pk}/").status_code == 404
    Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.PENDING)
    answered = client.post(f"{home}{ticket.pk}/", {"text": "Дякую, заберу завтра."})
    assert answered.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN  # the customer answered: it is the agents' turn again
    assert ticket.entries.filter(kind=EntryKind.INBOUND).last().text == "Дякую, заберу завтра."  # type: ignore[union-attr]


def test_a_tampered_or_old_link_shows_nothing(maria: Customer, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _path(portal.link_for(maria))
    client = Client()
    response = client.get(home)
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    token = home.strip("/").split("/")[-1]
    tampered = home.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert client.get(tampered).status_code == 404
    # Signed links carry the moment they were made (the signer reads the wall clock).
    later = time.time() + timedelta(days=portal.LINK_DAYS + 1).total_seconds()
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    expired = client.get(home)
    assert expired.status_code == 404
    assert "expired" in expired.content.decode()
