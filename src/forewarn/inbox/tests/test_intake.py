"""One way in: every inbound channel, sent through its real entry point, produces a journey event of the
customer and a ticket entry through the same pipeline, and a customer whose profile was merged lands on
the profile that lives on, whatever the channel."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client

from forewarn.accounts.models import User
from forewarn.channels.providers.twilio import twilio_signature
from forewarn.channels.registry import reset_providers
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.customers.services.merging import merge_customers
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, create_customer
from forewarn.engage.models import Event
from forewarn.engage.services.intake import MESSAGE_RECEIVED
from forewarn.inbox.models import ChatSession, Entry, EntryKind, Ticket
from forewarn.inbox.services.intake import portal

from .test_email import mail

SYSTEM_TESTS = "tests"
TWILIO_TOKEN = "twilio-auth-token"
TELEGRAM_SECRET = "tg-secret_0123456789"
VIBER_TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
# Who writes: one person's address on every channel.
PHONE, EMAIL, TELEGRAM, VIBER = "+380671234567", "maria.petrenko@example.com", "5512345678", "01234567890A="
CHANNELS = ["email", "sms", "telegram", "viber", "webchat", "portal", "voice"]


@pytest.fixture(autouse=True)
def _providers(settings: Any) -> Iterator[None]:
    settings.FOREWARN_PROVIDERS = {
        "sms": {"provider": "twilio", "account_sid": "AC1", "auth_token": TWILIO_TOKEN, "from_number": "+1"},
        "telegram": {"provider": "telegram", "bot_token": "1:A", "webhook_secret": TELEGRAM_SECRET},
        "viber": {"provider": "viber", "auth_token": VIBER_TOKEN},
    }
    reset_providers()
    yield
    reset_providers()


def _person(given: str, *identities: tuple[str, str]) -> Customer:
    from forewarn.accounts.actors import Actor

    return create_customer(
        actor=Actor.system(SYSTEM_TESTS),
        data=ProfileIn(
            given_name=given, family_name="Петренко", identities=[IdentityIn(*i) for i in identities]
        ),
        source=SYSTEM_TESTS,
    )


@dataclass
class Writer:
    """Writes as the person on one channel through its public entry point. ``prepare`` is what the
    channel knows of them beforehand (a chat session, a portal link, a ticket to answer)."""

    channel: str
    telephony: Any

    def prepare(self, customer: Customer) -> dict[str, Any]:
        if self.channel == "webchat":  # the widget opened with her email: the session is hers
            body = json.dumps({"name": "Марія", "email": EMAIL})
            opened = Client().post("/chat/sessions", data=body, content_type="application/json")
            token = opened.json()["token"]
            assert ChatSession.objects.get(token=token).customer_id == customer.pk
            return {"token": token}
        if self.channel == "portal":
            ticket = Ticket.objects.create(
                customer=customer,
                channel="email",
                subject="Де посилка?",
                created_at=clock.now(),
                updated_at=clock.now(),
            )
            return {"link": urlsplit(portal.link_for(customer)).path, "ticket": ticket.pk}
        return {}

    def write(self, known: dict[str, Any], text: str) -> Any:  # noqa: PLR0911 - one entry point a channel
        if self.channel == "email":
            raw = mail(text, sender=f"Марія <{EMAIL}>").as_bytes()
            return self.telephony.client.post(
                "/api/v1/inbox/email", data=raw, content_type="message/rfc822", headers=self.telephony.headers
            )
        if self.channel == "sms":
            pairs = sorted({"From": PHONE, "To": "+1", "MessageSid": "SM1", "Body": text}.items())
            url = "http://testserver/api/v1/channels/callbacks/twilio"
            return Client().post(
                "/api/v1/channels/callbacks/twilio",
                data=urlencode(pairs),
                content_type="application/x-www-form-urlencoded",
                headers={"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url, pairs)},
            )
        if self.channel == "telegram":
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 7,
                    "from": {"id": int(TELEGRAM), "first_name": "Марія"},
                    "chat": {"id": int(TELEGRAM), "type": "private"},
                    "date": int(clock.now().timestamp()),
                    "text": text,
                },
            }
            return Client().post(
                "/api/v1/channels/callbacks/telegram",
                data=json.dumps(update),
                content_type="application/json",
                headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
            )
        if self.channel == "viber":
            event = {
                "event": "message",
                "timestamp": int(clock.now().timestamp() * 1000),
                "message_token": 4912661846655238145,
                "sender": {"id": VIBER, "name": "Марія"},
                "message": {"type": "text", "text": text},
            }
            body = json.dumps(event, ensure_ascii=False).encode()
            signature = hmac.new(VIBER_TOKEN.encode(), body, hashlib.sha256).hexdigest()
            return Client().post(
                "/api/v1/channels/callbacks/viber",
                data=body,
                content_type="application/json",
                headers={"X-Viber-Content-Signature": signature},
            )
        if self.channel == "webchat":
            return Client().post(
                f"/chat/sessions/{known['token']}/messages",
                data=json.dumps({"text": text}),
                content_type="application/json",
            )
        if self.channel == "portal":
            return Client().post(f"{known['link']}{known['ticket']}/", {"text": text})
        call = {
            "call_id": "c-1",
            "caller": PHONE,
            "started_at": clock.now().isoformat(),
            "outcome": "missed",
            "transcript": text,
        }
        return self.telephony.post("/api/v1/inbox/calls", call)


@pytest.fixture
def writer_for(api_as: Callable[..., Any], ada: User) -> Callable[[str], Writer]:
    telephony = api_as(ada, scopes=["events.send"])
    return lambda channel: Writer(channel, telephony)


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_gives_a_journey_event_and_a_ticket_through_one_pipeline(
    channel: str, writer_for: Callable[[str], Writer]
) -> None:
    maria = _person("Марія", ("phone", PHONE), ("email", EMAIL), ("telegram", TELEGRAM), ("viber", VIBER))
    writer = writer_for(channel)
    answer = writer.write(writer.prepare(maria), "Інтернет не працює з ранку")
    assert answer.status_code < 400, answer.content
    [event] = Event.objects.filter(type=MESSAGE_RECEIVED)
    assert (event.customer_id, event.payload["channel"]) == (
        maria.pk,
        "email" if channel == "portal" else channel,
    )
    assert "Інтернет не працює з ранку" in event.payload["text"]
    [entry] = Entry.objects.filter(kind=EntryKind.INBOUND)
    assert entry.ticket.customer_id == maria.pk
    assert "Інтернет не працює з ранку" in entry.text
    assert Customer.objects.count() == 1  # nobody new: she was known on every channel


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_merged_customer_writing_on_any_channel_lands_on_the_survivor(
    channel: str, writer_for: Callable[[str], Writer]
) -> None:
    from forewarn.accounts.actors import Actor

    survivor = _person("Марія", ("email", "maria@work.example"))
    absorbed = _person("Маша", ("phone", PHONE), ("email", EMAIL), ("telegram", TELEGRAM), ("viber", VIBER))
    writer = writer_for(channel)
    known = writer.prepare(absorbed)  # the chat session and the portal link were made before the merge
    merge_customers(actor=Actor.system(SYSTEM_TESTS), survivor_id=survivor.pk, absorbed_id=absorbed.pk)
    answer = writer.write(known, "Знову без зв'язку")
    assert answer.status_code < 400, answer.content
    [event] = Event.objects.filter(type=MESSAGE_RECEIVED)
    assert event.customer_id == survivor.pk
    [entry] = Entry.objects.filter(kind=EntryKind.INBOUND)
    if channel == "portal":  # the customer answered the ticket they had: it is theirs, on the survivor now
        assert entry.ticket_id == known["ticket"]
    else:
        assert entry.ticket.customer_id == survivor.pk
    assert Customer.objects.count() == 2
