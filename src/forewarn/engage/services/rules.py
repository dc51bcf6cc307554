"""The contact policy's settings that people change: frequency caps shared by every department, the
topics customers consent to, the quiet hours of everyone who has not chosen their own, and suppressions
(a customer or an address nothing but what they allow may reach). Each change is audited.

Caps, topics and the default quiet hours are the administrator's (``policy.manage``); every field is
checked here, so the API and the settings pages refuse the same things the same way. A topic is never
deleted (consents, triggers and messages name it); it is retired, which no active trigger may still use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock, preferences
from forewarn.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from forewarn.core.models import ContactDefaults, Topic
from forewarn.core.vocab import Channel, Language
from forewarn.core.vocab import Topic as BuiltIn
from forewarn.customers.models import Customer
from forewarn.engage.models import FrequencyCap, Suppression, SuppressionScope, Trigger
from forewarn.privacy.services import audit

MAX_CAPS = 50
MAX_LIMIT = 1000  # messages in one window
MAX_WINDOW_HOURS = 24 * 366
MAX_TOPICS = 100
MAX_NAME = 60
TOPIC_CODE = re.compile(r"[a-z][a-z0-9_]{1,15}")
TOPIC_FIELDS = ("code", "names", "opt_in", "active")


# --- frequency caps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapIn:
    limit: int
    window_hours: int
    topic: str = ""  # empty: every topic but transactional
    active: bool = True


def list_caps(actor: Actor) -> list[FrequencyCap]:
    actor.require(Perm.ENGAGE_VIEW)
    return list(FrequencyCap.objects.all())


def _cap_errors(caps: Sequence[CapIn]) -> list[FieldError]:
    errors: list[FieldError] = []
    if len(caps) > MAX_CAPS:
        errors.append(FieldError("", "too_many", _("At most %(n)s caps.") % {"n": MAX_CAPS}))
    known = preferences.topic_codes()
    seen: set[tuple[str, int]] = set()
    for i, cap in enumerate(caps):
        if cap.topic == BuiltIn.TRANSACTIONAL:
            errors.append(
                FieldError(
                    f"{i}.topic", "transactional_uncapped", _("Transactional notices are never capped.")
                )
            )
        elif cap.topic and cap.topic not in known:
            errors.append(FieldError(f"{i}.topic", "topic_unknown", _("Unknown topic.")))
        if not 0 <= cap.limit <= MAX_LIMIT:
            errors.append(
                FieldError(f"{i}.limit", "out_of_range", _("From 0 to %(n)s messages.") % {"n": MAX_LIMIT})
            )
        if not 1 <= cap.window_hours <= MAX_WINDOW_HOURS:
            errors.append(
                FieldError(
                    f"{i}.window_hours",
                    "out_of_range",
                    _("From 1 to %(n)s hours (a year).") % {"n": MAX_WINDOW_HOURS},
                )
            )
        if (cap.topic, cap.window_hours) in seen:
            errors.append(
                FieldError(
                    f"{i}.window_hours",
                    "cap_duplicate",
                    _("Another cap counts this topic over the same window; keep one."),
                )
            )
        seen.add((cap.topic, cap.window_hours))
    return errors


def _as_cap(cap: CapIn | Mapping[str, Any]) -> CapIn:
    if isinstance(cap, CapIn):
        return cap
    return CapIn(
        topic=cap.get("topic") or "",
        limit=cap["limit"],
        window_hours=cap["window_hours"],
        active=cap.get("active", True),
    )


@transaction.atomic
def replace_caps(*, actor: Actor, caps: Sequence[CapIn | Mapping[str, Any]]) -> list[FrequencyCap]:
    """The caps become exactly ``caps``: every one checked, all refused together or all kept."""
    actor.require(Perm.POLICY_MANAGE)
    wanted = [_as_cap(cap) for cap in caps]
    errors = _cap_errors(wanted)
    if errors:
        raise ValidationFailed(errors)
    before = _caps_as_text()
    FrequencyCap.objects.all().delete()
    FrequencyCap.objects.bulk_create(
        FrequencyCap(topic=c.topic, limit=c.limit, window_hours=c.window_hours, active=c.active)
        for c in wanted
    )
    audit.record_setting(actor, FrequencyCap, "changed", {"caps": _caps_as_text()}, {"caps": before})
    return list(FrequencyCap.objects.all())


def _caps_as_text() -> list[str]:
    """The caps as the audit log keeps them, in their own order: ``marketing: 1/24h (off)``."""
    return [str(cap) + ("" if cap.active else " (off)") for cap in FrequencyCap.objects.all()]


# --- topics --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicIn:
    code: str
    names: dict[str, str] = field(default_factory=dict)  # {"uk": ..., "ru": ..., "en": ...}
    opt_in: bool = True
    active: bool = True


def list_topics(actor: Actor) -> list[Topic]:
    actor.require(Perm.ENGAGE_VIEW)
    return list(Topic.objects.all())


def get_topic_for(actor: Actor, topic_id: int) -> Topic:
    actor.require(Perm.ENGAGE_VIEW)
    topic = Topic.objects.filter(pk=topic_id).first()
    if topic is None:
        raise NotFound(_("No such topic."), code="topic_not_found")
    return topic


def topic_input_of(topic: Topic) -> TopicIn:
    return TopicIn(code=topic.code, names=dict(topic.names or {}), opt_in=topic.opt_in, active=topic.active)


def topic_usage() -> dict[str, dict[str, int]]:
    """How many triggers (active ones) and caps name each topic, for the topics page."""
    usage: dict[str, dict[str, int]] = {}
    for code, count in Trigger.objects.filter(active=True).values_list("topic").annotate(n=Count("pk")):
        usage.setdefault(code, {"triggers": 0, "caps": 0})["triggers"] = count
    for code, count in FrequencyCap.objects.exclude(topic="").values_list("topic").annotate(n=Count("pk")):
        usage.setdefault(code, {"triggers": 0, "caps": 0})["caps"] = count
    return usage


def _names(errors: list[FieldError], names: Mapping[str, Any]) -> dict[str, str]:
    clean: dict[str, str] = {}
    for language, name in names.items():
        if language not in Language.values:
            errors.append(FieldError(f"names.{language}", "language_unknown", _("Use uk, ru or en.")))
            continue
        text = " ".join(str(name or "").split())
        if len(text) > MAX_NAME:
            errors.append(
                FieldError(f"names.{language}", "too_long", _("At most %(n)s characters.") % {"n": MAX_NAME})
            )
        if text:
            clean[language] = text
    return clean


def _checked_topic(data: TopicIn, current: Topic | None) -> TopicIn:
    errors: list[FieldError] = []
    code = data.code.strip()
    if current is not None:
        if code != current.code:
            errors.append(
                FieldError(
                    "code", "code_fixed", _("A topic's code cannot change: consents and triggers name it.")
                )
            )
    elif not TOPIC_CODE.fullmatch(code):
        errors.append(
            FieldError(
                "code",
                "code_invalid",
                _("2 to 16 small Latin letters, digits and underscores, starting with a letter."),
            )
        )
    elif Topic.objects.filter(code=code).exists():
        errors.append(FieldError("code", "code_taken", _("There is a topic with this code already.")))
    names = _names(errors, data.names)
    if not names and code not in BuiltIn.values:
        errors.append(FieldError("names", "required", _("Give the topic a name in at least one language.")))
    if code == BuiltIn.TRANSACTIONAL:
        if data.opt_in:
            errors.append(
                FieldError(
                    "opt_in", "transactional_opt_out", _("Transactional notices never wait for a yes.")
                )
            )
        if not data.active:
            errors.append(
                FieldError("active", "transactional_kept", _("Transactional notices cannot be retired."))
            )
    if current is None and Topic.objects.count() >= MAX_TOPICS:
        errors.append(FieldError("code", "too_many", _("At most %(n)s topics.") % {"n": MAX_TOPICS}))
    if errors:
        raise ValidationFailed(errors)
    return TopicIn(code=code, names=names, opt_in=data.opt_in, active=data.active)


@transaction.atomic
def create_topic(*, actor: Actor, data: TopicIn) -> Topic:
    actor.require(Perm.POLICY_MANAGE)
    clean = _checked_topic(data, None)
    last = Topic.objects.aggregate(last=Max("position"))["last"]
    try:
        with transaction.atomic():
            topic = Topic.objects.create(
                code=clean.code,
                names=clean.names,
                opt_in=clean.opt_in,
                active=clean.active,
                position=(last or 0) + 1,
            )
    except IntegrityError as exc:  # the same code, made a moment ago by another request
        raise ValidationFailed.single(
            "code", "code_taken", _("There is a topic with this code already.")
        ) from exc
    audit.record_setting(actor, topic, "created", audit.values_of(topic, TOPIC_FIELDS))
    return topic


@transaction.atomic
def update_topic(*, actor: Actor, topic: Topic, data: TopicIn) -> Topic:
    """Change a topic's names, whether it needs a yes, or retire it (refused while an active trigger uses
    it: it would send on a topic nobody may choose any more)."""
    actor.require(Perm.POLICY_MANAGE)
    topic = Topic.objects.select_for_update().get(pk=topic.pk)
    clean = _checked_topic(data, topic)
    if topic.active and not clean.active:
        using = list(Trigger.objects.filter(topic=topic.code, active=True).values_list("name", flat=True)[:5])
        if using:
            raise Conflict(
                _("Active triggers send on this topic (%(names)s); give them another topic first.")
                % {"names": ", ".join(using)},
                code="topic_in_use",
            )
    before = audit.values_of(topic, TOPIC_FIELDS)
    topic.names, topic.opt_in, topic.active = clean.names, clean.opt_in, clean.active
    topic.save(update_fields=["names", "opt_in", "active"])
    change = "deactivated" if before["active"] and not topic.active else "changed"
    audit.record_setting(actor, topic, change, audit.values_of(topic, TOPIC_FIELDS), before)
    return topic


# --- the default quiet hours ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    # How many customers have these (they never chose their own) and how many chose their own.
    following: int = 0
    own: int = 0


def quiet_hours_for(actor: Actor, *, counted: bool = False) -> QuietHours:
    actor.require(Perm.ENGAGE_VIEW)
    start, end = preferences.quiet_hours_default()
    if not counted:
        return QuietHours(start, end)
    active = Customer.objects.filter(status=Customer.Status.ACTIVE)
    following = active.filter(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True).count()
    return QuietHours(start, end, following=following, own=active.count() - following)


@transaction.atomic
def set_quiet_hours(*, actor: Actor, start: time, end: time) -> QuietHours:
    """The quiet hours of every customer who has not chosen their own, from the next decision on (a
    message already queued keeps the moment it was given). ``start == end``: no quiet hours."""
    actor.require(Perm.POLICY_MANAGE)
    offsets = [
        FieldError(
            name, "time_with_offset", _("A time of day in each customer's own zone, without an offset.")
        )
        for name, value in (("start", start), ("end", end))
        if value.tzinfo is not None
    ]
    if offsets:
        raise ValidationFailed(offsets)
    row, _made = ContactDefaults.objects.select_for_update().get_or_create(pk=1)
    names = ("quiet_hours_start", "quiet_hours_end")
    before = {name: f"{getattr(row, name):%H:%M}" for name in names}
    row.quiet_hours_start = start.replace(second=0, microsecond=0)
    row.quiet_hours_end = end.replace(second=0, microsecond=0)
    row.save(update_fields=list(names))
    after = {name: f"{getattr(row, name):%H:%M}" for name in names}
    audit.record_setting(actor, ContactDefaults, "changed", after, before)
    return QuietHours(row.quiet_hours_start, row.quiet_hours_end)


# --- suppressions --------------------------------------------------------------------------------------


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
