"""Engage: journey events, the triggers that turn them into messages, the outbox every message waits in,
and incidents broadcast to the customers they affect.

A ``Message`` row is both the contact policy's decision and the outbox entry: the decision and the
message commit together, and its ``trail`` keeps every step the policy took, so the customer profile can
say what was sent, deferred or suppressed, and why.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils.timesince import timeuntil
from django.utils.translation import gettext_lazy as _

from forewarn.core.vocab import Channel, Language, Topic
from forewarn.customers.models import Customer
from forewarn.engage.reasons import Reason, describe_detail, describe_outcome, describe_step


class UnknownCustomer(models.TextChoices):
    REJECT = "reject", _("Reject the event")
    CREATE = "create", _("Create a profile")


class EventSource(models.Model):
    """A system that sends events: its webhook secret and what to do with people Forewarn does not know."""

    slug = models.SlugField(_("source"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    # Kept as it is (not hashed): verifying an HMAC needs the secret itself.
    webhook_secret = models.CharField(max_length=128, blank=True)
    unknown_customer = models.CharField(
        _("unknown customers"), max_length=8, choices=UnknownCustomer.choices, default=UnknownCustomer.REJECT
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Event(models.Model):
    """Something that happened in a customer's journey. ``(source, external_id)`` is its idempotency key:
    the same event sent twice is stored and acted on once."""

    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=128)
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events")
    payload = models.JSONField(default=dict)
    # When the triggers had their say; until then a worker has it to do.
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="event_source_external_id")
        ]
        indexes = [
            models.Index(fields=["customer", "type", "occurred_at"], name="event_customer_type_idx"),
            models.Index(
                fields=["received_at"],
                name="event_unprocessed_idx",
                condition=models.Q(processed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}/{self.external_id} {self.type}"


class WhenLate(models.TextChoices):
    """What a message does when the policy cannot send it now."""

    HOLD = "hold", _("Hold until it may go")
    EXPIRE = "expire", _("Wait, but expire after its time to live")
    DROP = "drop", _("Drop rather than wait")


class WhenBumped(models.TextChoices):
    DEFER = "defer", _("Defer to the next free slot")
    DROP = "drop", _("Drop")


class Trigger(models.Model):
    """A rule: when an event of ``event_type`` meets the conditions, say something to the customer."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(max_length=64, unique=True)
    event_type = models.CharField(_("event type"), max_length=64, db_index=True)
    # [{"path": "payload.delay_minutes", "op": "gte", "value": 30}, {"history": {...}}]: see conditions.py
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    # Wait this long after the event before the policy looks at the message ("2 hours after").
    wait_seconds = models.PositiveIntegerField(_("wait (seconds)"), default=0)
    # ...and drop it if an event of this type arrives meanwhile ("if no payment within 3 days"),
    # matching on these payload keys (["bill_id"]) when given.
    cancel_on_event = models.CharField(_("cancelled by event"), max_length=64, blank=True)
    cancel_match = models.JSONField(default=list, blank=True)
    topic = models.CharField(_("topic"), max_length=16, choices=Topic.choices)
    priority = models.PositiveSmallIntegerField(_("priority"), default=50)
    # Critical messages (security, outages) may pass quiet hours.
    critical = models.BooleanField(_("critical"), default=False)
    # Several messages that allow it, due to one customer close together, go as one digest.
    allow_digest = models.BooleanField(_("may join a digest"), default=False)
    ttl_seconds = models.PositiveIntegerField(_("time to live (seconds)"), null=True, blank=True)
    when_late = models.CharField(
        _("when it cannot go now"), max_length=8, choices=WhenLate.choices, default=WhenLate.EXPIRE
    )
    when_bumped = models.CharField(
        _("when a more important message takes its place"),
        max_length=8,
        choices=WhenBumped.choices,
        default=WhenBumped.DEFER,
    )
    # What makes "the same thing" for this customer: said once, never twice. Jinja2, e.g.
    # "order-shipped:{{ payload.order_id }}". Empty: every event is news.
    dedup_key = models.CharField(_("de-duplication key"), max_length=200, blank=True)
    # Offer wording and its validity, for templates: {"code": "DELAY10", "valid_minutes": "{{ ... }}"}.
    extras = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        verbose_name = _("trigger")
        verbose_name_plural = _("triggers")

    def __str__(self) -> str:
        return self.name

    @property
    def wait_text(self) -> str:
        """The wait in words, in the reader's language ("3 days", "2 hours, 30 minutes"); "" for none."""
        if not self.wait_seconds:
            return ""
        start = datetime(2000, 1, 1, tzinfo=UTC)
        return timeuntil(start + timedelta(seconds=self.wait_seconds), start, depth=2)


class Variant(models.TextChoices):
    STANDARD = "standard", _("Standard")
    # What a customer at risk (detractor, open complaint, churn flag) gets instead of a promotion.
    RETENTION = "retention", _("Retention")


class MessageTemplate(models.Model):
    """The words of a trigger's message for one channel (or any) and one language (sandboxed Jinja2)."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="templates")
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    language = models.CharField(max_length=8, choices=Language.choices)
    variant = models.CharField(max_length=16, choices=Variant.choices, default=Variant.STANDARD)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()

    class Meta:
        ordering = ["variant", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["trigger", "channel", "language", "variant"], name="template_trigger_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.trigger_id}/{self.variant}/{self.channel or '*'}/{self.language}"


class FrequencyCap(models.Model):
    """At most ``limit`` messages per customer over a rolling ``window_hours``, shared by every trigger and
    department. A cap with no topic counts every message that is not transactional."""

    topic = models.CharField(max_length=16, choices=Topic.choices, blank=True)
    limit = models.PositiveSmallIntegerField()
    window_hours = models.PositiveIntegerField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["topic", "window_hours"]

    def __str__(self) -> str:
        return f"{self.topic or 'non-transactional'}: {self.limit}/{self.window_hours}h"


class SuppressionScope(models.TextChoices):
    MARKETING = "marketing", _("Promotions")
    NON_TRANSACTIONAL = "non_transactional", _("Everything but transactional notices")
    EVERYTHING = "everything", _("Everything")


class Suppression(models.Model):
    """A customer's global unsubscribe, or an address nobody may contact (a suppression list entry)."""

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="suppressions"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    address = models.CharField(max_length=255, blank=True)
    scope = models.CharField(max_length=20, choices=SuppressionScope.choices)
    reason = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["customer"], name="suppression_customer_idx"),
            models.Index(fields=["channel", "address"], name="suppression_address_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id or self.address}: {self.scope}"


class Incident(models.Model):
    """An outage or disruption: who it affects, what to tell them, and "fixed" when it is over."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    # Who is affected: {"segments": ["internet"], "attributes": {"district": "Podilskyi"}, "city": "Київ"}
    audience = models.JSONField(_("affected customers"), default=dict)
    area = models.CharField(_("where"), max_length=200, blank=True)
    started_at = models.DateTimeField(_("since"))
    critical = models.BooleanField(_("critical (may pass quiet hours)"), default=False)
    # {"uk": "...", "ru": "...", "en": "..."}: what each customer hears, in their language.
    notice = models.JSONField(default=dict)
    resolution = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    affected_count = models.PositiveIntegerField(default=0)
    planned_count = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class MessageStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for its trigger's delay")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Suppressed")
    DROPPED = "dropped", _("Dropped")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    MERGED = "merged", _("Joined a digest")


# Messages that were said or are on their way: they count against caps and keep their de-duplication key.
LIVE_STATUSES = (
    MessageStatus.QUEUED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.MERGED,
)


class Message(models.Model):
    """One thing Forewarn meant to say to one customer: the policy's decision and the outbox entry."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="messages")
    trigger = models.ForeignKey(
        Trigger, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    # "notice" / "resolved" for incidents; the trigger's slug otherwise.
    kind = models.CharField(max_length=64)
    topic = models.CharField(max_length=16, choices=Topic.choices)
    priority = models.PositiveSmallIntegerField(default=50)
    critical = models.BooleanField(default=False)
    allow_digest = models.BooleanField(default=False)
    when_late = models.CharField(max_length=8, choices=WhenLate.choices, default=WhenLate.EXPIRE)
    when_bumped = models.CharField(max_length=8, choices=WhenBumped.choices, default=WhenBumped.DEFER)
    variant = models.CharField(max_length=16, choices=Variant.choices, default=Variant.STANDARD)
    language = models.CharField(max_length=8, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    address = models.CharField(max_length=255, blank=True)
    # Channels to fall back to, in order, when the chosen one fails for good.
    fallbacks = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    # Template variables, kept so a fallback channel or a digest can be rendered later.
    context = models.JSONField(default=dict, blank=True)
    dedup_key = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    # The last word of the policy or the outbox (a code: "quiet_hours", "cap:marketing", "sent").
    reason = models.CharField(max_length=64, blank=True)
    # Every step the policy took: [[step, outcome, reason, detail], ...]
    trail = models.JSONField(default=list, blank=True)
    planned_at = models.DateTimeField()
    # When it may go (the trigger's wait, a deferral past quiet hours or a cap, a retry's back-off).
    send_after = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    digest_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="digest_parts"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=32, blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-planned_at", "-id"]
        constraints = [
            # One thing is never said twice: a key stays taken while its message is said or on its way.
            models.UniqueConstraint(
                fields=["customer", "dedup_key"],
                condition=~models.Q(dedup_key="")
                & models.Q(status__in=["queued", "sending", "sent", "delivered", "merged"]),
                name="message_said_once",
            ),
        ]
        indexes = [
            # The outbox's hot queries: due messages, oldest first. Partial, so their size follows the
            # queue, not the history (a deep archive does not slow the sender); one per status, as
            # SQLite uses a partial index only when the query names its condition exactly.
            models.Index(fields=["send_after"], name="message_due_idx", condition=models.Q(status="queued")),
            models.Index(
                fields=["send_after"], name="message_waiting_idx", condition=models.Q(status="waiting")
            ),
            models.Index(
                fields=["lease_until"], name="message_lease_idx", condition=models.Q(status="sending")
            ),
            models.Index(fields=["customer", "-planned_at"], name="message_customer_idx"),
            models.Index(fields=["incident", "kind", "status"], name="message_incident_idx"),
            models.Index(fields=["provider", "provider_message_id"], name="message_provider_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} -> {self.customer_id} ({self.status})"

    @property
    def label(self) -> str:
        """What the message is, for people: its incident's notice or "fixed", or its trigger's name."""
        if self.incident_id is not None:
            assert self.incident is not None
            part = _("Fixed") if self.kind == "resolved" else _("Notice")
            return f"{part}: {self.incident.title}"
        if self.trigger_id is not None:
            assert self.trigger is not None
            return self.trigger.name
        return self.kind

    @property
    def reason_text(self) -> str:
        return Reason.describe(self.reason) if self.reason else ""

    @property
    def trail_rows(self) -> list[dict[str, str]]:
        """The policy's steps in words, for people."""
        return [
            {
                "step": describe_step(step),
                "code": outcome,
                "outcome": describe_outcome(outcome),
                "reason": Reason.describe(reason) if reason else "",
                "detail": describe_detail(step, outcome, detail),
            }
            for step, outcome, reason, detail in self.trail
        ]

    @property
    def idempotency_key(self) -> str:
        """What the provider dedupes by: the same across retries, another on a fallback channel."""
        return f"fw-{self.pk}-{self.channel}"
