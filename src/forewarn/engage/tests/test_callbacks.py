"""Provider callbacks: a delivery receipt moves a message on, a STOP reply refuses at once, a reply becomes
a journey event, and an unsigned callback changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from forewarn.channels.providers.twilio import twilio_signature
from forewarn.channels.registry import reset_providers
from forewarn.customers.models import Customer
from forewarn.engage.models import Event, Message, MessageStatus
from forewarn.engage.services.outbox import dispatch_once
from forewarn.privacy.models import PersonalValue

from .test_events import shipped

URL = "http://testserver/api/v1/channels/callbacks/twilio"
TOKEN = "twilio-auth-token"


@pytest.fixture
def twilio(settings: Any) -> Iterator[None]:
    settings.FOREWARN_PROVIDERS = {
        "sms": {
            "provider": "twilio",
            "account_sid": "AC123",
            "auth_token": TOKEN,
            "from_number": "+380440000000",
        }
    }
    reset_providers()
    yield
    reset_providers()


def post_signed(params: dict[str, str], token: str = TOKEN) -> Any:
    pairs = sorted(params.items())
    return Client().post(
        "/api/v1/channels/callbacks/twilio",
        data=urlencode(pairs),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": twilio_signature(token, URL, pairs)},
    )


def test_a_stop_reply_refuses_every_refusable_topic_on_sms(twilio: None, maria: Customer) -> None:
    answer = post_signed(
        {"MessageSid": "SM1", "From": "+380671234567", "To": "+380440000000", "Body": "СТОП"}
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["opt_outs"] == 1
    refused = dict(maria.consents.filter(channel="sms").values_list("topic", "status"))
    assert refused == {"service": "denied", "marketing": "denied", "surveys": "denied"}
    assert maria.consent_history.filter(source="opt-out").count() == 3


def test_a_reply_becomes_a_journey_event_of_the_customer(twilio: None, maria: Customer) -> None:
    answer = post_signed(
        {"MessageSid": "SM2", "From": "+380671234567", "To": "+380440000000", "Body": "Дякую!"}
    )
    assert answer.json()["replies"] == 1
    event = Event.objects.get(type="message_received")
    assert (event.customer, event.payload["text"]) == (maria, "Дякую!")
    post_signed({"MessageSid": "SM2", "From": "+380671234567", "To": "+380440000000", "Body": "Дякую!"})
    assert Event.objects.filter(type="message_received").count() == 1


def test_a_reply_with_a_card_number_is_kept_masked(twilio: None, maria: Customer) -> None:
    body = "Списали двічі з картки 4111 1111 1111 1111"
    post_signed({"MessageSid": "SM3", "From": "+380671234567", "To": "+380440000000", "Body": body})
    event = Event.objects.get(type="message_received")
    assert event.payload["text"] == "Списали двічі з картки 4111 •••• •••• 1111"
    [value] = PersonalValue.objects.filter(source="engage.event", source_id=str(event.pk))
    assert (value.kind, value.customer_id) == ("card", maria.pk)


def test_a_delivery_receipt_marks_the_message_delivered(
    api_as: Any, shop: Any, maria: Customer, order_shipped: Any, afternoon: Any
) -> None:
    api_as(shop).post("/api/v1/events", shipped())
    dispatch_once()
    message = Message.objects.get()
    assert message.status == MessageStatus.SENT
    # The local provider recorded it; a provider's receipt names the id it gave the message.
    Message.objects.filter(pk=message.pk).update(provider="twilio", provider_message_id="SM-out-1")
    from django.conf import settings

    settings.FOREWARN_PROVIDERS = {
        "sms": {
            "provider": "twilio",
            "account_sid": "AC123",
            "auth_token": TOKEN,
            "from_number": "+380440000000",
        }
    }
    reset_providers()
    try:
        answer = post_signed({"MessageSid": "SM-out-1", "MessageStatus": "delivered", "To": "+380671234567"})
    finally:
        settings.FOREWARN_PROVIDERS = {}
        reset_providers()
    assert answer.json()["receipts"] == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


def test_an_unsigned_or_forged_callback_is_refused_and_changes_nothing(twilio: None, maria: Customer) -> None:
    forged = post_signed({"MessageSid": "SM3", "From": "+380671234567", "Body": "STOP"}, token="guess")
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "signature_invalid"
    assert not maria.consents.filter(channel="sms", status="denied").exists()
    unknown = Client().post("/api/v1/channels/callbacks/pigeon", data=b"{}", content_type="application/json")
    assert unknown.status_code == 401
