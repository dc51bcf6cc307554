"""Consent per topic and channel: the current answer, and the history of every change.

No row means the customer was never asked. Transactional notices (order status, outages, security) are
sent on the lawful basis of the contract, so the contact policy treats "never asked" differently per
topic; this module only records what the customer said, where and when.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock, preferences
from forewarn.core.errors import FieldError, ValidationFailed
from forewarn.core.vocab import Channel
from forewarn.customers.models import Consent, ConsentChange, Customer
from forewarn.customers.services.profiles import ConsentIn, clean_consents, require_active
from forewarn.privacy.services.protect import mask_text, store_values


def apply_consents(
    *,
    actor: Actor,
    customer: Customer,
    items: list[ConsentIn],
    source: str,
    note: str = "",
    moment: datetime | None = None,
) -> list[ConsentChange]:
    """Set each (topic, channel) to its status; unchanged answers leave no history entry."""
    actor.require(Perm.CONSENT_EDIT)
    # An answer recorded on a merged profile would never reach the profile messages are sent to.
    require_active(customer)
    errors: list[FieldError] = []
    clean_consents(errors, items)
    if errors:
        raise ValidationFailed(errors)
    at = moment or clock.now()
    # What a person said on a call can hold their card or passport number: the note keeps masks only.
    note, hidden = mask_text(note, "note", limit=255)
    current = {(c.topic, c.channel): c for c in customer.consents.all()}
    changes: list[ConsentChange] = []
    with transaction.atomic():
        for item in items:
            row = current.get((item.topic, item.channel))
            previous = row.status if row else ""
            if previous == item.status:
                continue
            if row is None:
                row = Consent.objects.create(
                    customer=customer,
                    topic=item.topic,
                    channel=item.channel,
                    status=item.status,
                    source=source,
                    updated_at=at,
                )
                current[(item.topic, item.channel)] = row
            else:
                row.status, row.source, row.updated_at = item.status, source, at
                row.save(update_fields=["status", "source", "updated_at"])
            changes.append(
                ConsentChange(
                    customer=customer,
                    topic=item.topic,
                    channel=item.channel,
                    previous=previous,
                    status=item.status,
                    source=source,
                    note=note,
                    actor_id=actor.user_id,
                    changed_at=at,
                )
            )
        ConsentChange.objects.bulk_create(changes)
        if hidden:
            store_values(("customers.consent_change", c.pk, customer.pk, hidden) for c in changes)
    return changes


def record_consent(
    *,
    actor: Actor,
    customer: Customer,
    topic: str,
    channel: str,
    status: str,
    source: str,
    note: str = "",
) -> ConsentChange | None:
    try:
        changes = apply_consents(
            actor=actor,
            customer=customer,
            items=[ConsentIn(topic=topic, channel=channel, status=status)],
            source=source,
            note=note,
        )
    except ValidationFailed as exc:
        # One answer, not a list: name its fields as the caller sent them ("topic", not "consents.0.topic").
        raise ValidationFailed(
            [FieldError(f.path.removeprefix("consents.0."), f.code, f.message) for f in exc.fields]
        ) from exc
    return changes[0] if changes else None


def consent_matrix(
    customer: Customer, topics: list[preferences.TopicInfo] | None = None
) -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """Rows of (topic, label, [(channel, label, status or "")]) for a profile page: every active topic
    (of ``topics``, read if not given), and a retired one the customer has answered for."""
    current = {(c.topic, c.channel): c.status for c in customer.consents.all()}
    answered = {topic for topic, _channel in current}
    return [
        (
            topic.code,
            topic.label,
            [(ch.value, str(ch.label), current.get((topic.code, ch.value), "")) for ch in Channel],
        )
        for topic in (preferences.topics() if topics is None else topics)
        if topic.active or topic.code in answered
    ]


def consents_of(actor: Actor, customer: Customer) -> list[Consent]:
    """The customer's consent as it stands now, read afresh."""
    actor.require(Perm.CUSTOMERS_VIEW)
    return list(Consent.objects.filter(customer=customer))
