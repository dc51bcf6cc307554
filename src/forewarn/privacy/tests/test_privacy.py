"""Masking at ingestion, reveal by permission, the append-only audit log, key rotation, export and erasure.

Through the public surface where there is one: events and consent notes come in through the API, values
are revealed through the API and the profile page, the audit log is read through the API.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.test import Client

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.customers.models import Customer, Identity
from forewarn.engage.models import Event
from forewarn.privacy import crypto
from forewarn.privacy.models import AuditAction, AuditEntry, PersonalValue
from forewarn.privacy.services import audit, keys, subjects

SYSTEM = Actor.system("tests")
CARD = "4111 1111 1111 1111"
PASSPORT = "КВ 123456"


def _personal() -> QuerySet[AuditEntry]:
    """The entries about personal values; staff, tokens and settings made by the fixtures are logged too."""
    return AuditEntry.objects.exclude(action=AuditAction.SETTING)


@pytest.fixture(autouse=True)
def _keys_of_their_own(settings: Any, tmp_path: Path) -> None:
    settings.FOREWARN_PII_KEYS = ""
    settings.FOREWARN_PII_KEY_FILE = tmp_path / "pii_keys"
    crypto.keyring.cache_clear()


def complaint(client: Any, event_id: str = "c-1", text: str = "") -> Event:
    body = {
        "source": "support-line",
        "id": event_id,
        "type": "complaint",
        "customer": {"phone": "067 123 45 67"},
        "payload": {
            "text": text
            or f"Списали двічі з картки {CARD}, паспорт {PASSPORT}, передзвоніть на 050 111 22 33",
            "order_id": "4837261950",
        },
    }
    response = client.post("/api/v1/events", body)
    assert response.status_code in (200, 201), response.content
    return Event.objects.get(external_id=event_id)


@pytest.fixture
def event(api_as: Callable[..., Any], ada: User, maria: Customer) -> Event:
    return complaint(api_as(ada))


def test_an_events_payload_is_stored_masked_and_the_originals_sealed(event: Event, maria: Customer) -> None:
    text = event.payload["text"]
    assert CARD not in text
    assert "123456" not in text
    assert "050 111 22 33" not in text
    assert "4111 •••• •••• 1111" in text
    assert event.payload["order_id"] == "4837261950"  # the key says it is an order: left alone
    values = list(
        PersonalValue.objects.filter(source="engage.event", source_id=str(event.pk)).order_by("start")
    )
    assert [v.kind for v in values] == ["card", "passport", "phone"]
    for v in values:
        assert v.customer_id == maria.pk
        assert text[v.start : v.end] == v.mask
        assert CARD.encode() not in bytes(v.sealed)


def test_an_agent_cannot_reveal_and_the_refusal_is_on_record(
    api_as: Callable[..., Any], olena: User, event: Event
) -> None:
    card = PersonalValue.objects.get(kind="card")
    response = api_as(olena).post(f"/api/v1/privacy/values/{card.pk}/reveal", {"reason": "customer asks"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert CARD.replace(" ", "") not in response.content.decode().replace(" ", "")
    entry = _personal().get()
    assert (entry.action, entry.actor_user_id, entry.value_id) == (
        AuditAction.REVEAL_DENIED,
        olena.pk,
        card.pk,
    )
    # The mask and where it is may be seen by anyone who sees customers.
    shown = api_as(olena).get(f"/api/v1/privacy/values/{card.pk}")
    assert shown.status_code == 200
    assert shown.json()["mask"] == "4111 •••• •••• 1111"


def test_a_supervisor_reveals_one_value_with_a_reason_and_it_is_audited(
    api_as: Callable[..., Any], taras: User, event: Event, maria: Customer
) -> None:
    card = PersonalValue.objects.get(kind="card")
    client = api_as(taras)
    no_reason = client.post(f"/api/v1/privacy/values/{card.pk}/reveal", {"reason": " "})
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["fields"][0]["path"] == "reason"
    assert not _personal().exists()

    response = client.post(
        f"/api/v1/privacy/values/{card.pk}/reveal", {"reason": "refund to card ending 1111, call 0501112233"}
    )
    assert response.status_code == 200
    assert response.json() == {"id": card.pk, "kind": "card", "value": CARD}
    assert response["Cache-Control"] == "no-store"
    entry = _personal().get()
    assert (entry.action, entry.customer_id, entry.value_kind) == (AuditAction.REVEAL, maria.pk, "card")
    assert "0501112233" not in entry.reason  # reasons are masked too


def test_the_profile_page_reveals_for_a_supervisor_and_not_for_an_agent(
    olena: User, taras: User, event: Event
) -> None:
    card = PersonalValue.objects.get(kind="card")
    url = f"/privacy/values/{card.pk}/reveal/"
    agent, supervisor = Client(), Client()
    agent.force_login(olena)
    supervisor.force_login(taras)
    refused = agent.post(url, {"reason": "customer on the line"})
    assert refused.status_code == 403
    assert "1111 1111" not in refused.content.decode()
    shown = supervisor.post(url, {"reason": "customer on the line"})
    assert shown.status_code == 200
    assert CARD in shown.content.decode()
    assert [e.action for e in _personal().order_by("seq")] == [
        AuditAction.REVEAL_DENIED,
        AuditAction.REVEAL,
    ]


def test_the_audit_log_is_for_admins_and_the_database_refuses_to_change_it(
    api_as: Callable[..., Any], olena: User, taras: User, ada: User, event: Event
) -> None:
    card = PersonalValue.objects.get(kind="card")
    api_as(taras).post(f"/api/v1/privacy/values/{card.pk}/reveal", {"reason": "refund needs it"})
    assert api_as(olena).get("/api/v1/privacy/audit").status_code == 403
    assert api_as(taras).get("/api/v1/privacy/audit").status_code == 403
    page = api_as(ada).get("/api/v1/privacy/audit", action="reveal").json()
    assert page["count"] == 1
    assert page["items"][0]["reason"] == "refund needs it"

    for sql in (
        "UPDATE privacy_auditentry SET reason = 'nothing happened'",
        "DELETE FROM privacy_auditentry",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert _personal().get().reason == "refund needs it"
    assert api_as(ada).get("/api/v1/privacy/audit/verify").json() == {
        "entries": AuditEntry.objects.count(),
        "intact": True,
        "first_broken": None,
    }


def test_an_entry_changed_behind_the_databases_back_breaks_the_chain(
    taras: User, ada: User, event: Event
) -> None:
    for n in range(3):
        audit.record(AuditAction.EXPORT, actor=Actor.of(ada), customer_id=n, reason=f"request {n}")
    assert audit.verify_audit_chain(actor=SYSTEM).intact
    drop = {
        "sqlite": ["DROP TRIGGER privacy_auditentry_no_update"],
        "postgresql": ["DROP TRIGGER privacy_auditentry_append_only ON privacy_auditentry"],
    }[connection.vendor]
    with connection.cursor() as cursor:
        for sql in drop:
            cursor.execute(sql)
        cursor.execute("UPDATE privacy_auditentry SET reason = 'nothing to see' WHERE seq = 2")
    report = audit.verify_audit_chain(actor=SYSTEM)
    assert (report.intact, report.first_broken) == (False, 2)


def test_keys_rotate_and_every_value_still_opens(
    api_as: Callable[..., Any], taras: User, event: Event
) -> None:
    assert keys.keys_in_use() == {"k1": 3}
    assert crypto.new_key() == "k2"
    assert keys.reencrypt_values(actor=SYSTEM, batch=2) == 3
    assert keys.keys_in_use() == {"k2": 3}
    assert crypto.drop_keys_except({"k2"}) == ["k1"]
    card = PersonalValue.objects.get(kind="card")
    response = api_as(taras).post(f"/api/v1/privacy/values/{card.pk}/reveal", {"reason": "after rotation"})
    assert response.json()["value"] == CARD
    assert AuditEntry.objects.filter(action=AuditAction.REENCRYPT).count() == 1


def test_a_value_moved_to_another_kind_does_not_open(event: Event) -> None:
    card = PersonalValue.objects.get(kind="card")
    ring = crypto.keyring()
    with pytest.raises(ValueError, match="altered or moved"):
        ring.open(card.key_id, card.sealed, "forewarn.privacy:phone")


def test_an_export_holds_everything_about_the_person_for_an_admin_only(
    api_as: Callable[..., Any], olena: User, ada: User, event: Event, maria: Customer
) -> None:
    assert api_as(olena).get(f"/api/v1/customers/{maria.pk}/personal-data").status_code == 403
    response = api_as(ada).get(f"/api/v1/customers/{maria.pk}/personal-data", reason="subject access request")
    assert response.status_code == 200
    data = response.json()
    [profile] = data["sections"]["customers"]["profiles"]
    assert profile["family_name"] == "Петренко"
    assert {i["value"] for i in profile["identities"]} == {"+380671234567", "maria.petrenko@example.com"}
    assert {v["value"] for v in data["sections"]["privacy"]} == {CARD, PASSPORT, "050 111 22 33"}
    assert data["sections"]["engage"]["events"][0]["type"] == "complaint"
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert (entry.customer_id, entry.actor_user_id) == (maria.pk, ada.pk)


def test_an_erased_person_leaves_no_personal_value_in_any_text_column(  # noqa: PLR0917 - fixtures
    api_as: Callable[..., Any],
    olena: User,
    ada: User,
    maria: Customer,
    twin: Customer,
    oleh: Customer,
    card_notice: Any,
    immediate_tasks: None,
) -> None:
    from forewarn.customers.services.consent import record_consent
    from forewarn.customers.services.merging import merge_customers

    client = api_as(ada)
    complaint(client, "c-1")
    complaint(client, "c-2", text="Дата народження: 12.04.1988, ІПН 3184710691, пишіть на maria.p@ukr.net")
    record_consent(
        actor=SYSTEM,
        customer=maria,
        topic="marketing",
        channel="sms",
        status="denied",
        source="call",
        note="Said on the phone from 067 123 45 67: no more SMS",
    )
    merge_customers(actor=SYSTEM, survivor_id=maria.pk, absorbed_id=twin.pk, reason="the same person")
    # A message went to her: its address, words and the provider's record of it hold her values too.
    replaced = {"card": "5168 7422 1234 5676", "old_card": CARD, "note": "Марії Петренко"}
    client.post(
        "/api/v1/events",
        {
            "source": "bank",
            "id": "r-1",
            "type": "card_replaced",
            "customer": {"customer_id": maria.pk},
            "payload": replaced,
        },
    )
    from forewarn.channels.models import LocalDelivery
    from forewarn.engage.models import Message
    from forewarn.engage.services.outbox import dispatch_once

    assert dispatch_once() == 1
    assert "5168 7422 1234 5676" in LocalDelivery.objects.get().body
    messages_before = Message.objects.count()
    needles = subjects.needles_of(subjects._people(maria.pk))
    assert {"Марія Петренко", "+380671234567", CARD, "3184710691", "maria.p@ukr.net"} <= needles
    assert subjects.scan_for(needles)  # before: everywhere
    oleh_phone = Identity.objects.get(customer=oleh).value
    events_before = Event.objects.count()
    assert "5168 7422 1234 5676" in needles

    assert client.post(f"/api/v1/customers/{maria.pk}/erase", {"reason": "ok"}).status_code == 422
    assert (
        api_as(olena).post(f"/api/v1/customers/{maria.pk}/erase", {"reason": "she asked"}).status_code == 403
    )
    response = client.post(f"/api/v1/customers/{maria.pk}/erase", {"reason": "she asked, letter 2026-12-01"})
    assert response.status_code == 200, response.content
    report = response.json()
    assert sorted(report["profiles"]) == sorted([maria.pk, twin.pk])
    assert report["erased"]["privacy.values"] == 9  # 3 + 3 in the complaints, 1 in the note, 2 cards

    assert subjects.scan_for(needles) == []
    # Anonymous counts stay: the events happened, the profile rows remain, erased.
    assert Event.objects.count() == events_before
    assert Message.objects.count() == messages_before
    assert set(Customer.objects.filter(pk__in=[maria.pk, twin.pk]).values_list("status", flat=True)) == {
        "erased"
    }
    # Other people are untouched.
    assert Identity.objects.get(customer=oleh).value == oleh_phone
    entry = AuditEntry.objects.get(action=AuditAction.ERASE)
    assert entry.customer_id == maria.pk
    assert entry.detail["erased"]["customers.identities"] >= 2
    assert not set(subjects.scan_for(needles)) & {("privacy_auditentry", "reason")}


@pytest.fixture
def card_notice(db: None) -> Any:
    from forewarn.engage.services.triggers import TemplateIn, TriggerIn, create_trigger

    return create_trigger(
        actor=SYSTEM,
        data=TriggerIn(
            name="Card replaced",
            event_type="card_replaced",
            topic="transactional",
            priority=80,
            critical=True,
            templates=[
                TemplateIn(
                    language="uk",
                    body="Нова картка {{ payload.card|unmasked }} (стара {{ payload.old_card }}), "
                    "довідка для {{ payload.note|unmasked }}",
                )
            ],
        ),
    )


def test_a_template_prints_an_original_only_to_its_owner_and_stores_masks(
    api_as: Callable[..., Any], ada: User, maria: Customer, card_notice: Any, immediate_tasks: None
) -> None:
    from forewarn.channels.models import LocalDelivery
    from forewarn.engage.models import Message
    from forewarn.engage.services.outbox import dispatch_once

    body = {
        "source": "bank",
        "id": "r-1",
        "type": "card_replaced",
        "customer": {"phone": "067 123 45 67"},
        "payload": {"card": "5168 7422 1234 5676", "old_card": CARD, "note": "брата, тел. 050 111 22 33"},
    }
    assert api_as(ada).post("/api/v1/events", body).status_code in (200, 201)
    # The note's phone is said to be someone else's: it stays masked even where the template unmasks.
    PersonalValue.objects.filter(kind="phone").update(customer=None)
    assert dispatch_once() == 1
    sent = LocalDelivery.objects.get()
    assert "5168 7422 1234 5676" in sent.body  # her own card, asked for with |unmasked
    assert CARD not in sent.body  # printed without |unmasked: the mask
    assert "4111 •••• •••• 1111" in sent.body
    assert "050 111 22 33" not in sent.body
    stored = Message.objects.get(customer=maria)
    assert stored.status == "sent"
    assert "5168 7422 1234 5676" not in stored.body
    assert "5168 •••• •••• 5676" in stored.body
    assert "\u2060" not in stored.body


def test_the_command_line_rotates_keys_checks_the_log_and_erases_with_proof(
    event: Event, maria: Customer
) -> None:
    from typer.testing import CliRunner

    from forewarn.cli import app

    runner = CliRunner()
    assert "k1 (seals new values): 3 values" in runner.invoke(app, ["privacy", "keys"]).output
    assert "New key k2" in runner.invoke(app, ["privacy", "new-key"]).output
    moved = runner.invoke(app, ["privacy", "reencrypt", "--drop-old-keys"])
    assert "3 values re-encrypted under k2" in moved.output
    assert "Dropped keys: k1" in moved.output
    exported = runner.invoke(app, ["privacy", "export", str(maria.pk), "--reason", "subject access"])
    assert CARD in exported.output
    erased = runner.invoke(app, ["privacy", "erase", str(maria.pk), "--reason", "she asked in writing"])
    assert erased.exit_code == 0, erased.output
    assert "Verified: no text column holds any of the erased values." in erased.output
    checked = runner.invoke(app, ["privacy", "verify-audit"])
    assert checked.exit_code == 0
    assert f"{AuditEntry.objects.count()} entries are intact" in checked.output
    assert [e.action for e in _personal().order_by("seq")] == [
        AuditAction.REENCRYPT,
        AuditAction.EXPORT,
        AuditAction.ERASE,
    ]
