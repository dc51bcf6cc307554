"""Events through the HTTP API: validation, idempotency, customer matching, triggers and their waits."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult
from typer.testing import CliRunner

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.channels.models import LocalDelivery
from forewarn.cli import app
from forewarn.core import clock, periodic
from forewarn.customers.models import Customer
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, create_customer
from forewarn.engage.models import Event, EventSource, Message, MessageStatus, Trigger, UnknownCustomer
from forewarn.engage.services.events import process_forgotten_events, process_stored_events
from forewarn.engage.services.ingest import EventIn, ingest_events
from forewarn.engage.services.outbox import dispatch_once
from forewarn.engage.services.triggers import TemplateIn, TriggerIn, create_trigger


def shipped(order: str = "A-1", phone: str = "+380671234567", **extra: Any) -> dict[str, Any]:
    return {
        "source": "shop",
        "id": f"evt-{order}",
        "type": "order_shipped",
        "customer": {"phone": phone},
        "payload": {"order_id": order, **extra},
    }


def test_an_event_for_a_known_customer_plans_one_message_in_their_language(
    api_as: Callable[..., Any], shop: User, maria: Customer, order_shipped: Trigger, afternoon: Any
) -> None:
    response = api_as(shop).post("/api/v1/events", shipped(phone="067 123 45 67"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 1
    message = Message.objects.get(customer=maria)
    assert (message.status, message.channel, message.address) == ("queued", "sms", "+380671234567")
    # The words are written as it goes, in Maria's language.
    dispatch_once()
    message.refresh_from_db()
    assert (message.status, message.language) == ("sent", "uk")
    assert message.body == "Марія, замовлення A-1 вже в дорозі."
    assert LocalDelivery.objects.get().body == message.body
    assert message.event_id == body["results"][0]["event_id"]
    assert message.dedup_key == "order-shipped:A-1"


def test_the_same_event_twice_is_stored_and_acted_on_once(
    api_as: Callable[..., Any], shop: User, maria: Customer, order_shipped: Trigger, afternoon: Any
) -> None:
    client = api_as(shop)
    first = client.post("/api/v1/events", shipped())
    again = client.post("/api/v1/events", shipped())
    assert first.json()["accepted"] == 1
    assert again.json()["duplicates"] == 1
    assert again.json()["results"][0]["status"] == "duplicate"
    assert Event.objects.count() == 1
    assert Message.objects.count() == 1


def test_a_new_event_about_the_same_order_is_not_said_twice(
    api_as: Callable[..., Any], shop: User, maria: Customer, order_shipped: Trigger, afternoon: Any
) -> None:
    client = api_as(shop)
    client.post("/api/v1/events", shipped())
    retry = {**shipped(), "id": "evt-A-1-resent"}
    client.post("/api/v1/events", retry)
    statuses = sorted(Message.objects.values_list("status", "reason"))
    assert statuses == [("queued", "ok"), ("suppressed", "already_said")]


def test_a_batch_takes_every_good_event_and_reports_each_bad_one(
    api_as: Callable[..., Any], shop: User, maria: Customer, order_shipped: Trigger, afternoon: Any
) -> None:
    events = [
        shipped("A-1"),
        {**shipped("A-2"), "customer": {"phone": "not a phone"}},
        {**shipped("A-3"), "type": ""},
        {"source": "shop", "id": "x"},
        {**shipped("A-4"), "customer": {"phone": "+380501112299"}},
        {**shipped("A-5"), "occurred_at": "2031-01-01T00:00:00Z"},
        shipped("A-6"),
    ]
    response = api_as(shop).post("/api/v1/events", {"events": events})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "accepted", "rejected", "rejected", "rejected", "rejected", "rejected", "accepted"
    ]  # fmt: skip
    assert results[1]["error"]["fields"][0]["path"] == "customer.phone"
    assert results[1]["error"]["fields"][0]["code"] == "phone_unparseable"
    assert results[2]["error"]["fields"][0]["path"] == "type"
    assert {f["path"] for f in results[3]["error"]["fields"]} >= {"type", "customer"}
    assert results[4]["error"]["code"] == "unknown_customer"
    assert results[5]["error"]["fields"][0]["code"] == "in_future"
    assert Event.objects.count() == 2


def test_a_single_rejected_event_is_a_422_with_the_reason(
    api_as: Callable[..., Any], shop: User, afternoon: Any
) -> None:
    response = api_as(shop).post("/api/v1/events", shipped(phone="+380991234500"))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_customer"
    assert Event.objects.count() == 0


def test_a_source_set_to_create_makes_a_profile_for_an_unknown_customer(
    api_as: Callable[..., Any], shop: User, order_shipped: Trigger, afternoon: Any
) -> None:
    EventSource.objects.create(slug="shop", unknown_customer=UnknownCustomer.CREATE, created_at=clock.now())
    response = api_as(shop).post("/api/v1/events", shipped(phone="+380991234500"))
    assert response.json()["accepted"] == 1
    customer = Customer.objects.get(identities__value="+380991234500")
    assert Event.objects.get().customer == customer


def test_bodies_that_are_not_events_are_refused_clearly(api_as: Callable[..., Any], shop: User) -> None:
    client = api_as(shop)
    raw = client.client.post(
        "/api/v1/events", data=b"{not json", content_type="application/json", headers=client.headers
    )
    assert raw.status_code == 400
    assert raw.json()["error"]["code"] == "malformed_body"
    too_many = client.post("/api/v1/events", {"events": [shipped(str(i)) for i in range(1001)]})
    assert too_many.status_code == 422
    assert too_many.json()["error"]["fields"][0]["code"] == "too_many"


def test_sending_events_needs_the_permission(
    api_as: Callable[..., Any], olena: User, maria: Customer, order_shipped: Trigger
) -> None:
    response = api_as(olena).post("/api/v1/events", shipped())
    assert response.status_code == 403
    assert Event.objects.count() == 0


def _signed(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_signed_webhook_is_taken_and_a_wrong_signature_is_401(
    maria: Customer, order_shipped: Trigger, afternoon: Any
) -> None:
    EventSource.objects.create(slug="shop", webhook_secret="s3cret", created_at=clock.now())
    body = json.dumps(shipped()).encode()
    client = Client()
    bad = client.post(
        "/api/v1/events/webhook/shop",
        data=body,
        content_type="application/json",
        headers={"X-Forewarn-Signature": _signed("wrong", body)},
    )
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "signature_invalid"
    assert Event.objects.count() == 0
    good = client.post(
        "/api/v1/events/webhook/shop",
        data=body,
        content_type="application/json",
        headers={"X-Forewarn-Signature": _signed("s3cret", body)},
    )
    assert good.status_code == 200
    assert good.json()["accepted"] == 1
    replayed = client.post(
        "/api/v1/events/webhook/shop",
        data=body,
        content_type="application/json",
        headers={"X-Forewarn-Signature": _signed("s3cret", body)},
    )
    assert replayed.json()["duplicates"] == 1
    assert Message.objects.count() == 1


def test_conditions_on_the_payload_and_history_decide_whether_a_trigger_fires(
    api_as: Callable[..., Any],
    shop: User,
    maria: Customer,
    make_trigger: Callable[..., Trigger],
    afternoon: Any,
) -> None:
    make_trigger(
        event_type="product_viewed",
        topic="service",
        conditions=[{"history": {"type": "product_viewed", "same": ["sku"], "within_days": 7, "min": 3}}],
        dedup_key="viewed-thrice:{{ payload.sku }}",
    )
    client = api_as(shop)

    def view(n: int, sku: str) -> dict[str, Any]:
        return {
            "source": "web",
            "id": f"v{n}",
            "type": "product_viewed",
            "customer": {"email": "maria.petrenko@example.com"},
            "payload": {"sku": sku},
        }

    planned = []
    for n, sku in enumerate("AABAA"):
        client.post("/api/v1/events", view(n, sku))
        planned.append(Message.objects.count())
    assert planned == [0, 0, 0, 1, 2]
    # The fourth view of A fired it; the fifth was the same news, so it was not said again.
    assert sorted(Message.objects.values_list("status", flat=True)) == ["queued", "suppressed"]


def test_a_waiting_reminder_goes_when_no_payment_came_and_is_cancelled_when_one_did(
    api_as: Callable[..., Any],
    shop: User,
    maria: Customer,
    oleh: Customer,
    make_trigger: Callable[..., Trigger],
) -> None:
    make_trigger(
        event_type="bill_issued",
        topic="service",
        wait_seconds=3 * 86400,
        cancel_on_event="payment_received",
        cancel_match=["bill_id"],
        templates=[],
    )
    client = api_as(shop)
    with clock.frozen_at(clock.now().replace(hour=10, minute=0, second=0, microsecond=0)):
        for who, bill in ((maria, "B-1"), (oleh, "B-2")):
            client.post(
                "/api/v1/events",
                {
                    "source": "billing",
                    "id": bill,
                    "type": "bill_issued",
                    "customer": {"customer_id": who.pk},
                    "payload": {"bill_id": bill, "amount": 420},
                },
            )
        assert Message.objects.filter(status=MessageStatus.WAITING).count() == 2
        clock.advance(timedelta(days=1))
        client.post(
            "/api/v1/events",
            {
                "source": "billing",
                "id": "P-1",
                "type": "payment_received",
                "customer": {"customer_id": maria.pk},
                "payload": {"bill_id": "B-1"},
            },
        )
        assert Message.objects.get(customer=maria).status == MessageStatus.CANCELLED
        clock.advance(timedelta(days=2, minutes=1))
        # The periodic runner of every ``forewarn dispatch`` releases it, not the sender's batches.
        dispatch_once()
        assert Message.objects.get(customer=oleh).status == MessageStatus.WAITING
        periodic.run_due({}, time.monotonic())
    reminder = Message.objects.get(customer=oleh)
    assert reminder.status == MessageStatus.QUEUED
    assert reminder.trail[0][:3] == ["wait", "wait", "trigger_wait"]


@pytest.mark.django_db(transaction=True)
def test_events_from_json_lines_and_csv_files_go_the_same_way_as_the_api(tmp_path: Path) -> None:
    maria = create_customer(
        actor=Actor.system("tests"),
        data=ProfileIn(given_name="Марія", identities=[IdentityIn(kind="phone", value="+380671234567")]),
    )
    lines = [
        json.dumps(shipped("J-1")),
        "{broken",
        json.dumps({**shipped("J-2"), "occurred_at": "2026-03-10T10:00:00"}),
        json.dumps(shipped("J-1")),
    ]
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "events", str(jsonl)])
    assert result.exit_code == 0, result.output
    assert "accepted=1 duplicates=1 rejected=2" in result.output
    assert "line 2: not_json" in result.output
    assert "line 3: timezone_aware" in result.output
    table = tmp_path / "events.csv"
    table.write_text(
        "source,id,type,occurred_at,customer.phone,payload.order_id\n"
        "shop,C-1,order_shipped,2026-03-10T10:00:00+02:00,067 123 45 67,C-1\n"
        "shop,C-2,order_shipped,,+380501112299,C-2\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["import", "events", str(table)])
    assert "accepted=1 duplicates=0 rejected=1" in result.output
    assert "line 3: unknown_customer" in result.output
    assert Event.objects.get(external_id="C-1").payload == {"order_id": "C-1"}
    assert set(Event.objects.values_list("customer_id", flat=True)) == {maria.pk}


@pytest.mark.usefixtures("maria", "order_shipped", "afternoon")
def test_an_admin_registers_a_source_and_its_webhook_secret_is_shown_once(
    api_as: Callable[..., Any], ada: User, taras: User
) -> None:
    client = api_as(ada)
    made = client.put("/api/v1/event-sources/crm", {"name": "CRM", "unknown_customer": "create"})
    assert made.status_code == 200
    secret = made.json()["webhook_secret"]
    assert len(secret) > 30
    again = client.put("/api/v1/event-sources/crm", {"name": "CRM", "unknown_customer": "create"})
    assert again.json()["webhook_secret"] == ""
    body = json.dumps({**shipped(phone="+380991112233"), "source": "crm"}).encode()
    answer = Client().post(
        "/api/v1/events/webhook/crm",
        data=body,
        content_type="application/json",
        headers={"X-Forewarn-Signature": _signed(secret, body)},
    )
    assert answer.json()["accepted"] == 1
    assert Customer.objects.filter(identities__value="+380991112233").exists()
    assert api_as(taras).put("/api/v1/event-sources/crm", {"new_secret": True}).status_code == 403


def test_a_payment_stored_before_its_bill_still_cancels_the_reminder(
    api_as: Callable[..., Any],
    shop: User,
    maria: Customer,
    make_trigger: Callable[..., Trigger],
    afternoon: Any,
) -> None:
    make_trigger(
        event_type="bill_issued",
        wait_seconds=3 * 86400,
        cancel_on_event="payment_received",
        cancel_match=["bill_id"],
    )
    client = api_as(shop)

    def event(kind: str, key: str, minutes_ago: int) -> dict[str, Any]:
        moment = (clock.now() - timedelta(minutes=minutes_ago)).isoformat()
        return {
            "source": "billing",
            "id": key,
            "type": kind,
            "occurred_at": moment,
            "customer": {"customer_id": maria.pk},
            "payload": {"bill_id": "B-9"},
        }

    # The payment (a minute after the bill) reaches Forewarn first.
    client.post("/api/v1/events", event("payment_received", "P-9", 1))
    client.post("/api/v1/events", event("bill_issued", "B-9", 2))
    reminder = Message.objects.get(kind="bill_issued")
    assert (reminder.status, reminder.reason) == ("cancelled", "cancelled_by_event")


def test_a_batch_costs_a_few_queries_whatever_its_size(
    api_as: Callable[..., Any], shop: User, make_trigger: Callable[..., Trigger], afternoon: Any
) -> None:
    """History conditions, customers, waits and decisions are read per batch, not per event."""
    make_trigger(
        event_type="product_viewed",
        conditions=[{"history": {"type": "product_viewed", "same": ["sku"], "within_days": 7, "min": 2}}],
        dedup_key="viewed:{{ payload.sku }}",
    )
    make_trigger(event_type="bill_issued", wait_seconds=3600, cancel_on_event="payment_received")
    people = [
        create_customer(
            actor=Actor.system("tests"),
            data=ProfileIn(
                given_name=f"C{i}", identities=[IdentityIn(kind="phone", value=f"+38067100{i:04d}")]
            ),
        )
        for i in range(40)
    ]

    def batch(size: int, tag: str) -> list[dict[str, Any]]:
        kinds = ["product_viewed", "bill_issued", "payment_received"]
        return [
            {
                "source": "web",
                "id": f"{tag}-{n}",
                "type": kinds[n % 3],
                "customer": {"customer_id": people[n % len(people)].pk},
                "payload": {"sku": "TV", "bill_id": f"B{n}"},
            }
            for n in range(size)
        ]

    client = api_as(shop)
    counts = []
    for size, tag in ((30, "small"), (300, "large")):
        with CaptureQueriesContext(connection) as queries:
            answer = client.post("/api/v1/events", {"events": batch(size, tag)})
        assert answer.json()["accepted"] == size
        counts.append(len(queries))
    # Ten times the events: the statements grow only with the multi-row inserts' chunks, never per event.
    assert counts[1] <= 2 * counts[0] + 10, counts
    assert counts[1] < 300 // 5, counts


@pytest.mark.django_db(transaction=True)
def test_the_answer_does_not_wait_for_the_triggers_and_a_worker_acts_once(
    settings: Any, tmp_path: Path
) -> None:
    """With the real database task backend: the events and their job commit together; the worker plans
    the messages; a job run again, or events whose job was lost, change nothing twice."""
    queues = settings.TASKS["default"]["QUEUES"]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": queues}}
    system = Actor.system("tests")
    maria = create_customer(
        actor=system,
        data=ProfileIn(given_name="Марія", identities=[IdentityIn(kind="phone", value="+380671234567")]),
    )
    create_trigger(
        actor=system,
        data=TriggerIn(
            name="Order shipped",
            event_type="order_shipped",
            topic="transactional",
            templates=[TemplateIn(language="uk", body="{{ payload.order_id }}")],
        ),
    )
    result = ingest_events(actor=system, items=[EventIn(**shipped("Q-1")), EventIn(**shipped("Q-2"))])
    assert [o.status for o in result.outcomes] == ["accepted", "accepted"]
    assert not Message.objects.exists()
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, interval=0.1)
    assert Message.objects.filter(customer=maria).count() == 2
    assert not Event.objects.filter(processed_at__isnull=True).exists()
    ids = list(Event.objects.values_list("pk", flat=True))
    assert process_stored_events(ids) == 0
    assert Message.objects.count() == 2

    # A job that never ran: a while later the periodic sweep acts on its events.
    Event.objects.update(processed_at=None)
    Message.objects.all().delete()
    with clock.frozen_at(clock.now() + timedelta(minutes=5)):
        assert process_forgotten_events(older_than=timedelta(minutes=10)) == 0
        assert periodic.JOBS["engage.forgotten_events"].run() == 2
    assert Message.objects.count() == 2
