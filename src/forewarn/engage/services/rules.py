"""The contact policy's settings that people change: frequency caps shared by every department, and
suppressions (a customer or an address nothing but what they allow may reach). Each change is audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.core.errors import FieldError, ValidationFailed
from forewarn.core.vocab import Channel, Topic
from forewarn.customers.models import Customer
from forewarn.engage.models import FrequencyCap, Suppression, SuppressionScope
from forewarn.privacy.services import audit


def list_caps(actor: Actor) -> list[FrequencyCap]:
    actor.require(Perm.ENGAGE_VIEW)
    return list(FrequencyCap.objects.all())


@transaction.atomic
def replace_caps(*, actor: Actor, caps: list[dict[str, Any]]) -> list[FrequencyCap]:
    actor.require(Perm.POLICY_MANAGE)
    errors = [
        FieldError(f"{i}.topic", "topic_unknown", _("Unknown topic."))
        for i, cap in enumerate(caps)
        if cap["topic"] and cap["topic"] not in Topic.values
    ]
    errors += [
        FieldError(f"{i}.topic", "transactional_uncapped", _("Transactional notices are never capped."))
        for i, cap in enumerate(caps)
        if cap["topic"] == Topic.TRANSACTIONAL
    ]
    if errors:
        raise ValidationFailed(errors)
    before = _caps_as_text()
    FrequencyCap.objects.all().delete()
    made = list(FrequencyCap.objects.bulk_create(FrequencyCap(**cap) for cap in caps))
    audit.record_setting(actor, FrequencyCap, "changed", {"caps": _caps_as_text()}, {"caps": before})
    return made


def _caps_as_text() -> list[str]:
    """The caps as the audit log keeps them, in their own order: ``marketing: 1/24h (off)``."""
    return [str(cap) + ("" if cap.active else " (off)") for cap in FrequencyCap.objects.all()]


def add_suppression(
    *, actor: Actor, customer_id: int | None, channel: str, address: str, scope: str, reason: str
) -> Suppression:
    actor.require(Perm.CONSENT_EDIT)
    errors = []
    if scope not in SuppressionScope.values:
        errors.append(FieldError("scope", "invalid", _("Use marketing, non_transactional or everything.")))
    if channel and channel not in Channel.values:
        errors.append(FieldError("channel", "channel_unknown", _("Unknown channel.")))
    if (customer_id is None) == (not address):
        errors.append(FieldError("customer_id", "one_of", _("Name either a customer or an address.")))
    if customer_id is not None and not Customer.objects.filter(pk=customer_id).exists():
        errors.append(FieldError("customer_id", "customer_not_found", _("No such customer.")))
    if errors:
        raise ValidationFailed(errors)
    return Suppression.objects.create(
        customer_id=customer_id,
        channel=channel,
        address=address,
        scope=scope,
        reason=reason,
        created_at=clock.now(),
    )
