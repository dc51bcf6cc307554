"""Triggers: the rules that turn a journey event into a message, as staff keep them.

A trigger names an event type, conditions on the event and the customer, an optional wait (and the
event that cancels it), the topic, priority and delivery class of its message, and templates per
channel, language and variant. Saving checks every condition and template, so a broken rule is refused
with the path of the part at fault rather than failing when the event comes. A trigger can be previewed
with every template rendered for a customer and an example payload. What a trigger does when its event
comes is ``firing``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils.text import slugify
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock, preferences
from forewarn.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from forewarn.core.vocab import Channel, Language, label_of
from forewarn.customers.models import Customer
from forewarn.customers.services.reach import customer_context
from forewarn.engage import policy
from forewarn.engage.conditions import check_conditions
from forewarn.engage.models import (
    Event,
    MessageTemplate,
    Trigger,
    Variant,
    WhenBumped,
    WhenLate,
)
from forewarn.engage.services.words import subject_from
from forewarn.engage.templating import check_template, render
from forewarn.privacy.services import audit

TRIGGER_FIELDS = (
    "name", "event_type", "conditions", "wait_seconds", "cancel_on_event", "cancel_match", "topic",
    "priority", "critical", "allow_digest", "ttl_seconds", "when_late", "when_bumped", "dedup_key",
    "extras", "active",
)  # fmt: skip


@dataclass
class TemplateIn:
    language: str
    body: str
    channel: str = ""
    variant: str = Variant.STANDARD
    subject: str = ""


@dataclass
class TriggerIn:
    name: str
    event_type: str
    topic: str
    templates: list[TemplateIn]
    conditions: list[dict[str, Any]] = field(default_factory=list)
    wait_seconds: int = 0
    cancel_on_event: str = ""
    cancel_match: list[str] = field(default_factory=list)
    priority: int = 50
    critical: bool = False
    allow_digest: bool = False
    ttl_seconds: int | None = None
    when_late: str = WhenLate.EXPIRE
    when_bumped: str = WhenBumped.DEFER
    dedup_key: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    slug: str = ""


SAMPLE_CUSTOMER = {
    "first_name": "Марія",
    "full_name": "Марія Петренко",
    "language": "uk",
    "city": "Київ",
    "time_zone": "Europe/Kyiv",
    "attributes": {},
}


def _check_trigger(data: TriggerIn) -> list[FieldError]:
    errors: list[FieldError] = []
    if not data.name.strip() or len(data.name) > 120:
        errors.append(FieldError("name", "invalid", _("Give the trigger a name (at most 120 characters).")))
    if not data.event_type.strip() or len(data.event_type) > 64:
        errors.append(FieldError("event_type", "invalid", _("Name the event type (at most 64 characters).")))
    known = {t.code: t for t in preferences.topics()}
    if data.topic not in known:
        errors.append(FieldError("topic", "topic_unknown", _("Unknown topic.")))
    elif data.active and not known[data.topic].active:
        errors.append(
            FieldError("topic", "topic_retired", _("This topic is retired; an active trigger needs another."))
        )
    if not 0 <= data.priority <= 100:
        errors.append(FieldError("priority", "out_of_range", _("Priority runs from 0 to 100.")))
    if data.wait_seconds < 0 or data.wait_seconds > 90 * 86400:
        errors.append(FieldError("wait_seconds", "out_of_range", _("Wait at most 90 days.")))
    if data.ttl_seconds is not None and data.ttl_seconds <= 0:
        errors.append(FieldError("ttl_seconds", "out_of_range", _("A time to live must be positive.")))
    if data.when_late not in WhenLate.values:
        errors.append(FieldError("when_late", "invalid", _("Use hold, expire or drop.")))
    if data.when_bumped not in WhenBumped.values:
        errors.append(FieldError("when_bumped", "invalid", _("Use defer or drop.")))
    if data.cancel_match and not data.cancel_on_event:
        errors.append(FieldError("cancel_match", "needs_event", _("Name the event that cancels the wait.")))
    errors.extend(check_conditions(data.conditions))
    errors.extend(f for f in check_template(data.dedup_key, "dedup_key") if data.dedup_key)
    errors.extend(_check_templates(data.templates))
    return errors


def _check_templates(templates: list[TemplateIn]) -> list[FieldError]:
    errors: list[FieldError] = []
    if not templates:
        errors.append(FieldError("templates", "required", _("Write the message in at least one language.")))
    seen: set[tuple[str, str, str]] = set()
    for i, t in enumerate(templates):
        where = f"templates.{i}"
        if t.language not in Language.values:
            errors.append(FieldError(f"{where}.language", "language_unknown", _("Use uk, ru or en.")))
        if t.channel and t.channel not in Channel.values:
            errors.append(FieldError(f"{where}.channel", "channel_unknown", _("Unknown channel.")))
        if t.variant not in Variant.values:
            errors.append(FieldError(f"{where}.variant", "invalid", _("Use standard or retention.")))
        if not t.body.strip():
            errors.append(FieldError(f"{where}.body", "required", _("The message needs words.")))
        if t.channel == Channel.EMAIL and not t.subject.strip():
            # A template for any channel may leave it out: its email takes its first sentence instead.
            errors.append(FieldError(f"{where}.subject", "required", _("An email needs a subject.")))
        key = (t.variant, t.channel, t.language)
        if key in seen:
            errors.append(
                FieldError(where, "duplicate", _("Two templates for the same channel and language."))
            )
        seen.add(key)
        errors.extend(check_template(t.body, f"{where}.body"))
        errors.extend(check_template(t.subject, f"{where}.subject"))
    return errors


def _slug_for(data: TriggerIn) -> str:
    return (data.slug or slugify(data.name) or "trigger")[:64]


@transaction.atomic
def create_trigger(*, actor: Actor, data: TriggerIn) -> Trigger:
    actor.require(Perm.TRIGGERS_MANAGE)
    errors = _check_trigger(data)
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    trigger = Trigger(slug=_slug_for(data), created_at=now, updated_at=now)
    for name in TRIGGER_FIELDS:
        setattr(trigger, name, getattr(data, name))
    try:
        with transaction.atomic():
            trigger.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(
            _("A trigger named “%(slug)s” exists already.") % {"slug": trigger.slug}, code="trigger_exists"
        ) from exc
    _replace_templates(trigger, data.templates)
    audit.record_setting(actor, trigger, "created", _audited(data))
    return trigger


@transaction.atomic
def update_trigger(*, actor: Actor, trigger: Trigger, data: TriggerIn) -> Trigger:
    actor.require(Perm.TRIGGERS_MANAGE)
    errors = _check_trigger(data)
    if errors:
        raise ValidationFailed(errors)
    before = {**audit.values_of(trigger, TRIGGER_FIELDS), "templates": _templates_of(trigger)}
    for name in TRIGGER_FIELDS:
        setattr(trigger, name, getattr(data, name))
    trigger.updated_at = clock.now()
    trigger.save(update_fields=[*TRIGGER_FIELDS, "updated_at"])
    _replace_templates(trigger, data.templates)
    audit.record_setting(actor, trigger, "changed", _audited(data), before)
    return trigger


def _audited(data: TriggerIn) -> dict[str, Any]:
    """A trigger's settings as the audit log compares them: its fields and its templates in order."""
    values = {name: getattr(data, name) for name in TRIGGER_FIELDS}
    return {**values, "templates": sorted(_template_key(t) for t in data.templates)}


def _templates_of(trigger: Trigger) -> list[tuple[str, ...]]:
    return sorted(_template_key(t) for t in trigger.templates.all())


def _template_key(t: TemplateIn | MessageTemplate) -> tuple[str, ...]:
    return (t.variant, t.channel, t.language, t.subject, t.body)


def _replace_templates(trigger: Trigger, templates: list[TemplateIn]) -> None:
    trigger.templates.all().delete()
    MessageTemplate.objects.bulk_create(
        MessageTemplate(
            trigger=trigger,
            channel=t.channel,
            language=t.language,
            variant=t.variant,
            subject=t.subject,
            body=t.body,
        )
        for t in templates
    )


def get_trigger_for(actor: Actor, trigger_id: int) -> Trigger:
    actor.require(Perm.ENGAGE_VIEW)
    trigger = Trigger.objects.prefetch_related("templates").filter(pk=trigger_id).first()
    if trigger is None:
        raise NotFound(_("No trigger #%(id)d.") % {"id": trigger_id}, code="trigger_not_found")
    return trigger


def list_triggers(actor: Actor) -> list[Trigger]:
    actor.require(Perm.ENGAGE_VIEW)
    return list(
        Trigger.objects.prefetch_related("templates")
        .annotate(message_count=Count("messages"))
        .order_by("name")
    )


def trigger_input_of(trigger: Trigger) -> TriggerIn:
    """A saved trigger as input, to edit it or preview it."""
    return TriggerIn(
        **{name: getattr(trigger, name) for name in TRIGGER_FIELDS},
        slug=trigger.slug,
        templates=[
            TemplateIn(
                language=t.language, body=t.body, channel=t.channel, variant=t.variant, subject=t.subject
            )
            for t in trigger.templates.all()
        ],
    )


@dataclass
class Preview:
    variant: str
    channel: str
    language: str
    subject: str
    body: str
    dedup_key: str

    # The codes as the editor's reader says them ("Standard · Ukrainian · SMS").
    @property
    def variant_label(self) -> str:
        return label_of(Variant, self.variant)

    @property
    def language_label(self) -> str:
        return label_of(Language, self.language)

    @property
    def channel_label(self) -> str:
        return label_of(Channel, self.channel)


def preview_trigger(
    *, actor: Actor, data: TriggerIn, payload: dict[str, Any], customer: Customer | None = None
) -> list[Preview]:
    """Every template of a trigger rendered for a customer (or a sample one) and an example payload."""
    actor.require(Perm.ENGAGE_VIEW)
    errors = _check_trigger(data)
    if errors:
        raise ValidationFailed(errors)
    now = clock.now()
    context = {
        "customer": customer_context(customer) if customer else SAMPLE_CUSTOMER,
        "payload": payload,
        "event": {"type": data.event_type, "occurred_at": now.isoformat()},
        "offer": data.extras,
    }
    previews = []
    for t in data.templates:
        body = render(t.body, context, language=t.language)
        subject = render(t.subject, context, language=t.language)
        if not subject and t.channel in {"", Channel.EMAIL}:
            subject = subject_from(body)  # what its email will carry (words.write)
        previews.append(
            Preview(
                variant=t.variant,
                channel=t.channel,
                language=t.language,
                subject=subject,
                body=body,
                dedup_key=render(data.dedup_key, context),
            )
        )
    return previews


def example_payload(actor: Actor, event_type: str) -> dict[str, Any]:
    """The payload of the latest event of this type, to preview a trigger with real-looking data."""
    actor.require(Perm.ENGAGE_VIEW)
    found = Event.objects.filter(type=event_type).order_by("-id").values_list("payload", flat=True).first()
    return found if isinstance(found, dict) else {}


def intent_of(trigger: Trigger, dedup_key: str) -> policy.Intent:
    """What a trigger's settings ask of the contact policy for one of its messages."""
    return policy.Intent(
        topic=trigger.topic,
        priority=trigger.priority,
        critical=trigger.critical,
        allow_digest=trigger.allow_digest,
        dedup_key=dedup_key,
        ttl=timedelta(seconds=trigger.ttl_seconds) if trigger.ttl_seconds else None,
        when_late=trigger.when_late,
    )
