"""Event sources: the systems that send events, what each does with a customer it does not know, and the
secret each signs its webhooks with. A change is audited; a new secret is logged as made, never its value."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.core.errors import FieldError, NotFound, ServiceError, ValidationFailed
from forewarn.engage.models import EventSource, UnknownCustomer
from forewarn.privacy.services import audit


def configure_source(
    *,
    actor: Actor,
    slug: str,
    name: str = "",
    unknown_customer: str = UnknownCustomer.REJECT,
    new_secret: bool = False,
) -> tuple[EventSource, str]:
    """Register or change a source system; returns it and, when one was made, its new webhook secret
    (shown once: the source signs its webhooks with it)."""
    actor.require(Perm.POLICY_MANAGE)
    errors = []
    if not slug or len(slug) > 64 or not all(ch.isalnum() or ch in "-_" for ch in slug):
        errors.append(FieldError("slug", "invalid", _("Letters, digits, - and _ (at most 64).")))
    if unknown_customer not in UnknownCustomer.values:
        errors.append(FieldError("unknown_customer", "invalid", _("Use reject or create.")))
    if errors:
        raise ValidationFailed(errors)
    source, created = EventSource.objects.get_or_create(slug=slug, defaults={"created_at": clock.now()})
    audited = ("name", "unknown_customer")
    before = audit.values_of(source, audited)
    source.name = name or source.name
    source.unknown_customer = unknown_customer
    secret = ""
    if new_secret or (created and not source.webhook_secret):
        secret = source.webhook_secret = secrets.token_urlsafe(32)
    source.save(update_fields=["name", "unknown_customer", "webhook_secret"])
    # The secret itself never goes into the log: only that a new one was made.
    values = {**audit.values_of(source, audited), "new_webhook_secret": bool(secret)}
    if created:
        audit.record_setting(actor, source, "created", values)
    else:
        audit.record_setting(actor, source, "changed", values, {**before, "new_webhook_secret": False})
    return source, secret


def verify_webhook(*, source: str, body: bytes, signature: str) -> EventSource:
    """The source whose secret signed this body (``X-Forewarn-Signature: sha256=<hex>``), or 401."""
    record = EventSource.objects.filter(slug=source).first()
    if record is None:
        raise NotFound(_("No event source “%(s)s”.") % {"s": source}, code="source_not_found")
    expected = "sha256=" + hmac.new(record.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    if not record.webhook_secret or not hmac.compare_digest(expected, signature.strip()):
        raise SignatureInvalid(_("The signature does not match this source's secret."))
    return record


class SignatureInvalid(ServiceError):
    status = 401
    code = "signature_invalid"
