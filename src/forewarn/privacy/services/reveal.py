"""Revealing one masked value to a person allowed to see it, for a reason, on the record."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core.errors import Forbidden, NotFound, ValidationFailed
from forewarn.privacy.crypto import keyring
from forewarn.privacy.models import AuditAction, PersonalValue
from forewarn.privacy.services import audit

MIN_REASON = 5


def get_value_for(actor: Actor, value_id: int) -> PersonalValue:
    """A value's mask and where it is, for anyone who may see customers (the original stays sealed)."""
    actor.require(Perm.CUSTOMERS_VIEW)
    value = PersonalValue.objects.filter(pk=value_id).first()
    if value is None:
        raise NotFound(_("No such personal value."), code="value_not_found")
    return value


def reveal_value(*, actor: Actor, value: PersonalValue, reason: str) -> str:
    """The original of one value (fetched with ``get_value_for``). Refusals are recorded too: a pattern of
    them is worth an admin's look."""
    reason = (reason or "").strip()
    if not actor.may(Perm.PII_REVEAL):
        audit.record(
            AuditAction.REVEAL_DENIED,
            actor=actor,
            customer_id=value.customer_id,
            value_id=value.pk,
            value_kind=value.kind,
            reason=reason,
        )
        raise Forbidden(
            _("Your role may not reveal personal values (%(perm)s).") % {"perm": Perm.PII_REVEAL},
            code="permission_denied",
        )
    if len(reason) < MIN_REASON:
        raise ValidationFailed.single(
            "reason", "reason_required", _("Say why you need to see this value (at least a few words).")
        )
    with transaction.atomic():
        original = keyring().open(value.key_id, value.sealed, value.context)
        audit.record(
            AuditAction.REVEAL,
            actor=actor,
            customer_id=value.customer_id,
            value_id=value.pk,
            value_kind=value.kind,
            reason=reason,
        )
    return original
