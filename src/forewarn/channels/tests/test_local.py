"""The local provider: what it records, and how a repeated idempotency key is one message sent twice."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections

from forewarn.channels.base import Outbound, SendResult
from forewarn.channels.models import LocalDelivery
from forewarn.channels.providers.local import LocalProvider
from forewarn.core import clock

MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def reminder(
    key: str = "outbox:41:sms",
    *,
    channel: str = "sms",
    address: str = "+380671234567",
    body: str = "Марія, ваше замовлення готове до видачі.",
    subject: str = "",
    html: str = "",
    language: str = "uk",
) -> Outbound:
    return Outbound(
        idempotency_key=key,
        channel=channel,
        address=address,
        body=body,
        subject=subject,
        html=html,
        language=language,
    )


@pytest.mark.django_db
def test_the_first_hand_over_is_recorded_as_it_would_be_sent() -> None:
    with clock.frozen_at(MONDAY):
        result = LocalProvider(channel="sms").send(reminder())

    delivery = LocalDelivery.objects.get()
    assert result == SendResult(provider="local", provider_message_id=delivery.provider_message_id)
    assert delivery.provider_message_id.startswith("local-")
    assert (delivery.idempotency_key, delivery.channel, delivery.address, delivery.language) == (
        "outbox:41:sms",
        "sms",
        "+380671234567",
        "uk",
    )
    assert delivery.body == "Марія, ваше замовлення готове до видачі."
    assert delivery.attempts == 1
    assert delivery.first_sent_at == delivery.last_sent_at == MONDAY


@pytest.mark.django_db
def test_the_same_key_again_is_one_message_handed_over_twice() -> None:
    provider = LocalProvider(channel="email")
    email = reminder(channel="email", address="maria@example.com", subject="Замовлення", html="<p>Так</p>")
    with clock.frozen_at(MONDAY):
        first = provider.send(email)
        clock.advance(timedelta(minutes=5))
        # A retry after a crash carries the same key; what it says cannot change the message already taken.
        again = provider.send(reminder(channel="email", address="maria@example.com", body="інший текст"))

    assert again.provider_message_id == first.provider_message_id
    assert (first.duplicate, again.duplicate) == (False, True)
    delivery = LocalDelivery.objects.get()
    assert delivery.attempts == 2
    assert delivery.first_sent_at == MONDAY
    assert delivery.last_sent_at == MONDAY + timedelta(minutes=5)
    assert (delivery.subject, delivery.html) == ("Замовлення", "<p>Так</p>")
    assert delivery.body == "Марія, ваше замовлення готове до видачі."


@pytest.mark.django_db
def test_different_keys_are_different_messages() -> None:
    provider = LocalProvider(channel="sms")
    ids = {provider.send(reminder(key=f"outbox:{n}:sms")).provider_message_id for n in range(3)}
    assert len(ids) == 3
    assert LocalDelivery.objects.count() == 3
    assert set(LocalDelivery.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_workers_handing_over_one_key_at_once_make_one_message() -> None:
    workers = 4
    start = threading.Barrier(workers)
    results: list[SendResult] = []
    failures: list[BaseException] = []

    def hand_over() -> None:
        try:
            start.wait()
            results.append(LocalProvider(channel="sms").send(reminder()))
        except BaseException as exc:  # noqa: BLE001 - any failure in the thread is reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hand_over) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len({result.provider_message_id for result in results}) == 1
    assert sorted(result.duplicate for result in results) == [False, True, True, True]
    assert LocalDelivery.objects.get().attempts == workers
