"""Changes to what decides the messages (triggers, frequency caps, event sources) go into the audit log."""

from __future__ import annotations

import dataclasses

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.engage.models import Trigger
from forewarn.engage.services import rules as rules_service
from forewarn.engage.services import sources as source_service
from forewarn.engage.services.triggers import TemplateIn, trigger_input_of, update_trigger
from forewarn.privacy.models import AuditAction, AuditEntry


def _settings() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.SETTING).order_by("seq"))


def test_a_trigger_change_is_logged_field_by_field_with_its_templates(
    order_shipped: Trigger, maksym: User
) -> None:
    created = AuditEntry.objects.get(detail__what="engage.trigger")
    assert (created.detail["id"], created.detail["change"]) == (order_shipped.pk, "created")
    assert created.detail["fields"]["priority"] == 70
    assert len(created.detail["fields"]["templates"]) == 3
    data = trigger_input_of(order_shipped)
    changed = dataclasses.replace(
        data,
        priority=80,
        templates=[
            *data.templates[:2],
            TemplateIn(language="en", channel="email", subject="Shipped", body="Call +380 67 123 45 67."),
        ],
    )
    update_trigger(actor=Actor.of(maksym), trigger=order_shipped, data=changed)
    entry = _settings()[-1]
    assert entry.actor_user_id == maksym.pk
    assert (entry.detail["id"], entry.detail["name"]) == (order_shipped.pk, "Order shipped")
    assert set(entry.detail["fields"]) == {"priority", "templates"}
    assert entry.detail["fields"]["priority"] == [70, 80]
    old, new = entry.detail["fields"]["templates"]
    assert any("Order {{ payload.order_id }} shipped" in t for t in old)
    assert not any("123 45 67" in t for t in new)  # typed numbers are masked here too
    # Saving the same again changes nothing and records nothing.
    count = len(_settings())
    update_trigger(actor=Actor.of(maksym), trigger=order_shipped, data=changed)
    assert len(_settings()) == count


def test_frequency_caps_are_logged_as_a_whole_before_and_after(ada: User) -> None:
    actor = Actor.of(ada)
    rules_service.replace_caps(actor=actor, caps=[{"topic": "marketing", "limit": 1, "window_hours": 24}])
    rules_service.replace_caps(
        actor=actor,
        caps=[
            {"topic": "marketing", "limit": 2, "window_hours": 24},
            {"topic": "", "limit": 5, "window_hours": 168, "active": False},
        ],
    )
    first, second = _settings()[-2:]
    assert first.detail["what"] == second.detail["what"] == "engage.frequencycap"
    assert second.detail["id"] is None
    assert second.detail["fields"]["caps"] == [
        ["marketing: 1/24h"],
        ["non-transactional: 5/168h (off)", "marketing: 2/24h"],
    ]


def test_an_event_source_logs_a_new_secret_but_never_the_secret(ada: User) -> None:
    actor = Actor.of(ada)
    source, secret = source_service.configure_source(actor=actor, slug="billing", name="Billing")
    source_service.configure_source(actor=actor, slug="billing", name="Billing", unknown_customer="create")
    _same, rotated = source_service.configure_source(
        actor=actor, slug="billing", name="Billing", unknown_customer="create", new_secret=True
    )
    made, changed, rotation = _settings()[-3:]
    assert made.detail["change"] == "created"
    assert made.detail["fields"]["new_webhook_secret"] is True
    assert changed.detail["fields"] == {"unknown_customer": ["reject", "create"]}
    assert rotation.detail["fields"] == {"new_webhook_secret": [False, True]}
    assert rotation.detail["id"] == source.pk
    logged = str([e.detail for e in _settings()])
    assert secret not in logged
    assert rotated not in logged
