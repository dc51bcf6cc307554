"""The words for the policy's and the outbox's reason codes, so every reader sees why in their language.

Codes are stored (``Message.reason``, each step of ``Message.trail``); these labels are what the UI shows.
A code with a value after a colon (``cap:marketing``) names the cap's topic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import models
from django.utils import formats, timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from forewarn.core.vocab import Channel, Topic, label_of


class Reason(models.TextChoices):
    OK = "ok", _("passed every rule")
    WAITING = "waiting", _("waiting for the trigger's delay")
    ALREADY_SAID = "already_said", _("already said to this customer")
    UNSUBSCRIBED = "unsubscribed", _("unsubscribed from all but transactional notices")
    UNSUBSCRIBED_MARKETING = "unsubscribed_marketing", _("unsubscribed from promotions")
    UNSUBSCRIBED_EVERYTHING = "unsubscribed_everything", _("asked never to be contacted")
    AT_RISK = "at_risk", _("customer at risk: no promotions")
    RETENTION_VARIANT = "retention_variant", _("customer at risk: retention message instead")
    CONSENT_DENIED = "consent_denied", _("consent refused")
    CONSENT_MISSING = "consent_missing", _("no consent given")
    NO_ADDRESS = "no_address", _("no address on this channel")
    ADDRESS_SUPPRESSED = "address_suppressed", _("address on the suppression list")
    NO_TEMPLATE = "no_template", _("no words for this channel")
    NO_CHANNEL = "no_channel", _("no channel may be used")
    PREFERRED = "preferred", _("the customer's preferred channel")
    FALLBACK = "fallback", _("the next allowed channel")
    QUIET_HOURS = "quiet_hours", _("quiet hours in the customer's time zone")
    CRITICAL = "critical", _("critical: may pass quiet hours")
    JOINED_DIGEST = "joined_digest", _("joined a digest")
    PRIORITY = "priority", _("took the place of a less important message")
    BUMPED = "bumped", _("a more important message took its place")
    WOULD_WAIT = "would_wait", _("could not go now and must not wait")
    PAST_TTL = "past_ttl", _("would arrive too late to help")
    CANCELLED_BY_EVENT = "cancelled_by_event", _("cancelled: what it waited for happened")
    INCIDENT_RESOLVED = "incident_resolved", _("cancelled: the incident was over first")
    TRIGGER_DELETED = "trigger_deleted", _("cancelled: its trigger is gone")
    SENT = "sent", _("handed to the provider")
    PROVIDER_UNAVAILABLE = "provider_unavailable", _("provider unavailable; will retry")
    TOO_MANY_ATTEMPTS = "too_many_attempts", _("gave up after many attempts")
    PROVIDER_FAILED = "provider_failed", _("the provider could not deliver it")
    TRIGGER_WAIT = "trigger_wait", _("waits as the trigger says")
    RETRY_BY_HAND = "retry_by_hand", _("sent again by a member of staff")

    @classmethod
    def describe(cls, code: str) -> str:
        name, _sep, value = code.partition(":")
        if name == "cap" and value:
            if value == "all":
                return gettext("frequency cap for all but transactional messages")
            return gettext("frequency cap for %(topic)s") % {"topic": label_of(Topic, value).lower()}
        return label_of(cls, code)


STEPS = {
    "dedup": _("Said before?"),
    "suppression": _("Unsubscribed?"),
    "risk": _("Customer at risk?"),
    "channel": _("Consent and channel"),
    "quiet_hours": _("Quiet hours"),
    "digest": _("Digest"),
    "caps": _("Frequency caps"),
    "ttl": _("Time to live"),
    "wait": _("Trigger's wait"),
    "template": _("Words"),
    "send": _("Sending"),
    "incident": _("Incident"),
    "retry": _("Tried again"),
    "resend": _("Sent on another channel"),
    "fallback": _("Fell back"),
    "fail": _("Failed"),
}


def describe_step(step: str) -> str:
    return str(STEPS.get(step, step))


# What a step did, as its trail stores it (``Message.trail``'s second value).
OUTCOMES = {
    "pass": _("passed"),
    "suppress": _("held back"),
    "skip": _("skipped"),
    "switch": _("switched"),
    "defer": _("deferred"),
    "merge": _("merged"),
    "bump": _("took a place"),
    "drop": _("dropped"),
    "expire": _("expired"),
    "wait": _("waits"),
    "cancel": _("cancelled"),
    "sent": _("sent"),
    "retry": _("will retry"),
    "fallback": _("next channel"),
    "fail": _("failed"),
    "by_hand": _("by a member of staff"),
}


def describe_outcome(outcome: str) -> str:
    return str(OUTCOMES.get(outcome, outcome))


# Why a customer counts as at risk (``engage.services.risk`` and the signals other apps register).
RISKS = {
    "churn_risk": _("likely to leave"),
    "open_complaint": _("open complaint"),
    "detractor": _("low satisfaction score"),
    "open_ticket": _("unresolved ticket"),
    "recent_complaint": _("recent complaint"),
}


def describe_risk(code: str) -> str:
    return str(RISKS.get(code, code))


def describe_detail(step: str, outcome: str, detail: str) -> str:
    """A step's detail for people: a moment (a deferral's "until", a time to live) as a date and time in
    the viewer's zone and language, a channel by its name, a wait in words, a risk by what it means;
    anything else (a provider's words) as it is."""
    if step == "channel" or (step == "send" and outcome == "fallback"):
        return label_of(Channel, detail)
    if step == "risk":
        return describe_risk(detail)
    if step == "wait" and detail.isdigit():
        start = datetime(2000, 1, 1, tzinfo=UTC)
        return timeuntil(start + timedelta(seconds=int(detail)), start, depth=2)
    if "T" in detail and detail[:4].isdigit():
        try:
            moment = datetime.fromisoformat(detail)
        except ValueError:
            return detail
        if timezone.is_aware(moment):
            return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
    return detail
