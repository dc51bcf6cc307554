"""Engage pages through the test client: who may do what, the trigger editor with its preview and its
errors, the message log's filters, and the unsubscribe link a customer follows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from forewarn.accounts.models import User
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.engage.models import Incident, Message, Trigger
from forewarn.engage.services.responses import unsubscribe_token

from .test_events import shipped


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def trigger_form(**changes: str) -> dict[str, str]:
    form = {
        "name": "Parcel arrived",
        "event_type": "parcel_arrived",
        "topic": "service",
        "priority": "55",
        "wait_minutes": "0",
        "when_late": "expire",
        "when_bumped": "defer",
        "active": "on",
        "dedup_key": "parcel:{{ payload.parcel }}",
        "conditions": '[{"path": "payload.weight", "op": "lte", "value": 30}]',
        "extras": "{}",
        "body-standard-uk": "{{ customer.first_name }}, посилка {{ payload.parcel }} чекає у відділенні.",
        "body-standard-en": "{{ customer.first_name }}, parcel {{ payload.parcel }} is waiting for you.",
        "sample_payload": '{"parcel": "P-9", "weight": 2}',
    }
    form.update(changes)
    return form


def test_a_marketer_writes_a_trigger_previews_it_and_saves_it(maksym: User) -> None:
    client = signed_in(maksym)
    preview = client.post("/engage/triggers/new/", {**trigger_form(), "preview": "1"})
    assert preview.status_code == 200
    assert "Марія, посилка P-9 чекає у відділенні." in preview.content.decode()
    assert not Trigger.objects.exists()
    saved = client.post("/engage/triggers/new/", {**trigger_form(), "save": "1"})
    trigger = Trigger.objects.get()
    assert saved.status_code == 302
    assert saved["Location"] == f"/engage/triggers/{trigger.pk}/"
    assert (trigger.event_type, trigger.priority, trigger.topic) == ("parcel_arrived", 55, "service")
    assert trigger.conditions == [{"path": "payload.weight", "op": "lte", "value": 30}]
    assert sorted(trigger.templates.values_list("language", flat=True)) == ["en", "uk"]


def test_a_broken_trigger_is_refused_with_the_fields_at_fault(maksym: User) -> None:
    answer = signed_in(maksym).post(
        "/engage/triggers/new/",
        {
            **trigger_form(),
            "conditions": '[{"path": "weight", "op": "about"}]',
            "body-standard-uk": "{{ customer.first_name ",
            "save": "1",
        },
    )
    assert answer.status_code == 422
    page = answer.content.decode()
    assert "conditions.0.path" in page
    assert "conditions.0.op" in page
    assert "templates.0.body" in page
    assert not Trigger.objects.exists()


def test_an_analyst_may_read_triggers_but_not_change_them(iryna: User, order_shipped: Trigger) -> None:
    client = signed_in(iryna)
    page = client.get(f"/engage/triggers/{order_shipped.pk}/")
    assert page.status_code == 200
    assert 'name="save"' not in page.content.decode()
    refused = client.post(f"/engage/triggers/{order_shipped.pk}/", {**trigger_form(), "save": "1"})
    assert refused.status_code == 403
    order_shipped.refresh_from_db()
    assert order_shipped.name == "Order shipped"


def test_an_agent_sees_incidents_but_may_not_declare_one(olena: User, oleh: Customer) -> None:
    client = signed_in(olena)
    page = client.get("/engage/incidents/")
    assert page.status_code == 200
    assert "Declare and notify" not in page.content.decode()
    refused = client.post("/engage/incidents/", {"title": "Outage", "city": "Одеса"})
    assert refused.status_code == 403
    assert not Incident.objects.exists()


def test_declaring_without_saying_who_is_affected_is_explained(taras: User) -> None:
    answer = signed_in(taras).post("/engage/incidents/", {"title": "Outage"})
    assert answer.status_code == 422
    assert "Say who is affected" in answer.content.decode()
    assert not Incident.objects.exists()


@pytest.mark.usefixtures("maria", "order_shipped", "afternoon")
def test_the_message_log_filters_by_status_and_reason(
    api_as: Callable[..., Any], shop: User, taras: User
) -> None:
    client = api_as(shop)
    client.post("/api/v1/events", shipped())
    client.post("/api/v1/events", {**shipped(), "id": "again"})
    log = signed_in(taras)
    everything = log.get("/engage/messages/").content.decode()
    assert "2 messages" in everything
    only = log.get("/engage/messages/", {"reason": "already_said"}).content.decode()
    assert "1 message" in only
    assert "already said to this customer" in only
    part = log.get("/engage/messages/", {"status": "queued"}, headers={"HX-Request": "true"})
    assert "<html" not in part.content.decode()
    assert "1 message" in part.content.decode()


@pytest.mark.usefixtures("order_shipped", "afternoon")
def test_the_profile_section_lists_decisions_with_their_steps(
    api_as: Callable[..., Any], shop: User, olena: User, maria: Customer
) -> None:
    api_as(shop).post("/api/v1/events", shipped())
    section = signed_in(olena).get(f"/engage/customers/{maria.pk}/messages/").content.decode()
    assert "Order shipped" in section  # the trigger's name, not its slug
    assert "order-shipped" not in section
    assert "Марія, замовлення A-1 вже в дорозі." in section
    assert "Consent and channel" in section
    assert "the customer&#x27;s preferred channel" in section


def test_an_unsubscribe_link_works_without_an_account_and_a_forged_one_does_not(
    api_as: Callable[..., Any], shop: User, maria: Customer, order_shipped: Trigger, afternoon: Any
) -> None:
    api_as(shop).post("/api/v1/events", shipped())
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(topic="marketing", channel="email")
    message.refresh_from_db()
    url = f"/u/{unsubscribe_token(message)}/"
    client = Client()
    assert client.get(url).status_code == 200
    done = client.post(url, {"scope": "topic"})
    assert done.status_code == 200
    assert maria.consents.get(topic="marketing", channel="email").status == "denied"
    assert client.get("/u/forged-token/").status_code == 404


def test_a_deferral_reads_as_a_local_date_and_time_in_the_viewers_language(
    api_as: Callable[..., Any], shop: User, olena: User, maria: Customer, order_shipped: Trigger
) -> None:
    with clock.frozen_at(datetime(2026, 3, 10, 21, 30, tzinfo=UTC)):  # 23:30 in Kyiv: quiet hours
        api_as(shop).post("/api/v1/events", shipped())
    message = Message.objects.get()
    until = next(detail for step, outcome, _r, detail in message.trail if outcome == "defer")
    client = signed_in(olena)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"

    section = client.get(f"/engage/customers/{maria.pk}/messages/").content.decode()

    assert until not in section
    assert "T0" not in section
    assert "(11.03.2026 09:00)" in section  # the end of Maria's quiet hours, as Ukrainians write it
    assert "Тихі години</span>: відкладено —" in section


def test_the_trigger_preview_names_its_variant_language_and_channel_in_the_editors_language(
    maksym: User,
) -> None:
    client = signed_in(maksym)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"

    preview = client.post("/engage/triggers/new/", {**trigger_form(), "preview": "1"}).content.decode()

    assert '<span class="badge">Стандартний · Українська' in preview
    assert "standard · uk" not in preview
