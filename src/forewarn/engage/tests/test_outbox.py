"""The outbox: claiming under a lease, sending through the local provider, retries, fallbacks, send-time
checks, digests and opt-outs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from forewarn.accounts.models import User
from forewarn.channels.base import Outbound, PermanentError, SendResult, TransientError
from forewarn.channels.models import LocalDelivery
from forewarn.channels.registry import substitute_provider
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.engage.models import Message, Suppression, Trigger
from forewarn.engage.services import responses
from forewarn.engage.services.outbox import claim_due_messages, deliver, dispatch_once
from forewarn.engage.services.words import compose

from .test_events import shipped


class Flaky:
    """A provider that fails on cue, then records like the local one."""

    name = "flaky"

    def __init__(self, failures: list[Exception], *, channel: str) -> None:
        self.channel = channel
        self.failures = failures
        self.sent: list[Outbound] = []

    def send(self, message: Outbound) -> SendResult:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return SendResult(provider=self.name, provider_message_id=f"f-{len(self.sent)}")


@pytest.fixture
def queued(
    api_as: Callable[..., Any], shop: User, maria: Customer, order_shipped: Trigger, afternoon: Any
) -> Message:
    api_as(shop).post("/api/v1/events", shipped())
    return Message.objects.get(customer=maria)


def test_a_due_message_is_sent_once_through_its_provider(queued: Message) -> None:
    assert dispatch_once() == 1
    queued.refresh_from_db()
    assert (queued.status, queued.provider, queued.attempts) == ("sent", "local", 1)
    record = LocalDelivery.objects.get()
    assert (record.channel, record.address, record.idempotency_key) == (
        "sms",
        "+380671234567",
        f"fw-{queued.pk}-sms",
    )
    assert record.body == queued.body
    assert dispatch_once() == 0


def test_composing_hands_back_the_words_and_the_sender_stores_them(queued: Message) -> None:
    message = claim_due_messages(now=clock.now())[0]
    outgoing = compose(message)
    assert outgoing is not None
    assert (outgoing.language, outgoing.body) == ("uk", "Марія, замовлення A-1 вже в дорозі.")
    # Composing writes nothing on the row; what was written is a value the sender hands on.
    assert (message.language, message.subject, message.body) == ("", "", "")
    deliver(message, now=clock.now())
    message.refresh_from_db()
    assert (message.status, message.language, message.body) == ("sent", "uk", outgoing.kept_body)
    assert LocalDelivery.objects.get().body == outgoing.body


def test_a_message_deferred_to_the_morning_is_not_sent_before(queued: Message) -> None:
    Message.objects.filter(pk=queued.pk).update(send_after=clock.now() + timedelta(hours=8))
    assert claim_due_messages(now=clock.now()) == []
    clock.advance(timedelta(hours=8))
    assert [m.pk for m in claim_due_messages(now=clock.now())] == [queued.pk]


def test_a_sender_that_died_leaves_its_messages_to_another_after_the_lease(queued: Message) -> None:
    claimed = claim_due_messages(now=clock.now())
    assert [m.pk for m in claimed] == [queued.pk]
    # The first sender dies here. Before the lease runs out nobody else takes the message...
    assert claim_due_messages(now=clock.now()) == []
    clock.advance(timedelta(minutes=2))
    again = claim_due_messages(now=clock.now())
    assert [m.pk for m in again] == [queued.pk]
    deliver(again[0], now=clock.now())
    # ...and the dead sender's late word cannot overwrite the new one's.
    assert deliver(claimed[0], now=clock.now()) in {"sent", "queued"}
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("sent", 2)
    assert LocalDelivery.objects.get().attempts == 2  # the provider saw the key twice and kept one


def test_a_transient_failure_is_retried_with_back_off(queued: Message) -> None:
    provider = Flaky([TransientError("busy")], channel="sms")
    with substitute_provider("sms", provider):
        dispatch_once()
        queued.refresh_from_db()
        assert (queued.status, queued.reason) == ("queued", "provider_unavailable")
        assert queued.send_after > clock.now()
        clock.advance(timedelta(minutes=5))
        dispatch_once()
    queued.refresh_from_db()
    assert queued.status == "sent"
    assert len(provider.sent) == 1


def test_a_hard_failure_falls_back_to_the_next_channel_in_its_words(queued: Message) -> None:
    with substitute_provider("sms", Flaky([PermanentError("unknown number")], channel="sms")):
        dispatch_once()
        queued.refresh_from_db()
        assert (queued.status, queued.channel, queued.address) == (
            "queued",
            "email",
            "maria.petrenko@example.com",
        )
        dispatch_once()
    queued.refresh_from_db()
    assert queued.status == "sent"
    record = LocalDelivery.objects.get(channel="email")
    assert record.body == queued.body
    assert [step[1] for step in queued.trail if step[0] == "send"] == ["fallback", "sent"]


def test_when_every_channel_fails_the_message_fails_with_the_reason(queued: Message) -> None:
    with (
        substitute_provider(
            "sms", Flaky([PermanentError("unknown number", code="address_rejected")], channel="sms")
        ),
        substitute_provider(
            "email", Flaky([PermanentError("mailbox gone", code="address_rejected")], channel="email")
        ),
    ):
        dispatch_once()
        dispatch_once()
    queued.refresh_from_db()
    assert (queued.status, queued.reason) == ("failed", "address_rejected")


def test_a_consent_withdrawn_after_planning_stops_the_message(queued: Message, maria: Customer) -> None:
    Message.objects.filter(pk=queued.pk).update(topic="service")
    responses.record_opt_out(customer=maria, channel="sms", text="STOP")
    dispatch_once()
    queued.refresh_from_db()
    assert (queued.status, queued.reason) == ("suppressed", "consent_denied")
    assert LocalDelivery.objects.count() == 0


def test_a_global_unsubscribe_stops_everything_it_names(queued: Message, maria: Customer) -> None:
    Suppression.objects.create(customer=maria, scope="everything", reason="gdpr", created_at=clock.now())
    dispatch_once()
    queued.refresh_from_db()
    assert (queued.status, queued.reason) == ("suppressed", "unsubscribed_everything")


def test_a_message_past_its_time_to_live_expires_instead_of_arriving_late(queued: Message) -> None:
    Message.objects.filter(pk=queued.pk).update(expires_at=clock.now() - timedelta(minutes=1))
    dispatch_once()
    queued.refresh_from_db()
    assert (queued.status, queued.reason) == ("expired", "past_ttl")


def test_messages_close_together_go_as_one_digest(
    api_as: Callable[..., Any],
    shop: User,
    maria: Customer,
    make_trigger: Callable[..., Trigger],
    afternoon: Any,
) -> None:
    from forewarn.engage.services.triggers import TemplateIn

    make_trigger(
        event_type="parcel_update",
        topic="service",
        allow_digest=True,
        templates=[TemplateIn(language="uk", body="Посилка {{ payload.parcel }}: {{ payload.status }}")],
    )
    client = api_as(shop)
    for n, status in enumerate(["прибула", "видана"]):
        client.post(
            "/api/v1/events",
            {
                "source": "post",
                "id": f"p{n}",
                "type": "parcel_update",
                "customer": {"customer_id": maria.pk},
                "payload": {"parcel": "P-7", "status": status},
            },
        )
    statuses = list(Message.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["queued", "merged"]
    clock.advance(timedelta(minutes=11))
    dispatch_once()
    record = LocalDelivery.objects.get()
    assert record.body == "Посилка P-7: прибула\n\nПосилка P-7: видана"


def test_an_unsubscribe_link_refuses_the_topic_on_that_channel(queued: Message, maria: Customer) -> None:
    Message.objects.filter(pk=queued.pk).update(topic="marketing", channel="email")
    queued.refresh_from_db()
    token = responses.unsubscribe_token(queued)
    responses.unsubscribe(message=responses.message_for_unsubscribe(token))
    assert maria.consents.get(topic="marketing", channel="email").status == "denied"
    change = maria.consent_history.get(topic="marketing", channel="email", source="unsubscribe")
    assert change.previous == "granted"
