"""Tickets (conversations) and what was said in them, on every channel, with their attachments.

A ticket belongs to one customer and starts on one channel; its entries are what the customer wrote
(inbound), what staff answered (outbound) and notes staff keep among themselves. Every inbound entry is
idempotent by the provider's id (an email's Message-ID, an SMS provider's message id), and its text is
stored with personal values masked (privacy).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from forewarn.accounts.models import Team
from forewarn.core.vocab import Channel, Language
from forewarn.customers.models import Customer, Segment


class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending on customer")
    ON_HOLD = "on_hold", _("On hold")
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class BusinessCalendar(models.Model):
    """When a team works: a weekly timetable in a time zone, less public holidays and closed dates."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Kyiv")
    # ISO 3166 country (and subdivision) whose public holidays close the calendar; empty: none.
    country = models.CharField(_("country"), max_length=2, blank=True)
    subdivision = models.CharField(_("subdivision"), max_length=10, blank=True)
    # {"mon": ["09:00-18:00"], ...}; a weekday not named is closed.
    hours = models.JSONField(_("working hours"), default=dict)
    closed_dates = models.JSONField(_("closed dates"), default=list, blank=True)  # ["2026-12-31", ...]

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """Targets for first response and resolution, counted in a calendar's working time.

    The first active policy (lowest ``rank``) whose priority, channel and segment match a ticket applies
    to it; an empty condition matches everything. A policy that names a segment is the only way one group
    of customers is served faster than another.
    """

    name = models.CharField(_("name"), max_length=100)
    rank = models.PositiveSmallIntegerField(_("rank"), default=100)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("segment")
    )
    calendar = models.ForeignKey(
        BusinessCalendar, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("calendar")
    )  # none: every minute counts
    first_response_minutes = models.PositiveIntegerField(_("first response within (working minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (working minutes)"))
    warn_before_minutes = models.PositiveIntegerField(_("warn this many working minutes before"), default=30)
    # A contact nobody has answered for this many working days goes to head office.
    head_office_after_days = models.PositiveSmallIntegerField(
        _("to head office after (working days)"), default=3
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["rank", "id"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.name


class Escalation(models.IntegerChoices):
    NONE = 0, _("Not escalated")
    SUPERVISOR = 1, _("Supervisor")
    HEAD_OFFICE = 2, _("Head office")


class Ticket(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=TicketStatus.choices, default=TicketStatus.NEW
    )
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    tags = models.JSONField(_("tags"), default=list, blank=True)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    incident = models.ForeignKey(
        "engage.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )
    created_at = models.DateTimeField(_("opened"))
    updated_at = models.DateTimeField()
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # The last answer by staff: a customer's message after it is waiting to be handled.
    last_answer_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    # SLA clocks (services/sla.py): due moments, when a warning is due (emptied once it is given), when
    # a target was missed.
    sla_policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL)
    first_response_due = models.DateTimeField(null=True, blank=True)
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    # While pending on the customer the resolution clock stops; the working minutes it stood still so far.
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    sla_paused_minutes = models.FloatField(default=0)
    escalation = models.PositiveSmallIntegerField(choices=Escalation.choices, default=Escalation.NONE)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # When an unanswered contact goes to head office (the policy's working days after it waits).
    head_office_due = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            # With the id inside, a view's tickets are read from the index alone when a search narrows
            # to them (ADR 0016).
            models.Index(fields=["status", "-updated_at"], name="ticket_status_updated_idx", include=["id"]),
            models.Index(fields=["customer", "-updated_at"], name="ticket_customer_idx"),
            models.Index(
                fields=["assignee", "status", "-updated_at"], name="ticket_assignee_idx", include=["id"]
            ),
            models.Index(fields=["team", "status", "-updated_at"], name="ticket_team_idx", include=["id"]),
            # The sweep's queries: partial, so they hold only what is still to happen.
            models.Index(
                fields=["first_response_due"],
                name="ticket_fr_due_idx",
                condition=models.Q(first_response_breached_at__isnull=True),
            ),
            models.Index(
                fields=["resolution_due"],
                name="ticket_res_due_idx",
                condition=models.Q(resolution_breached_at__isnull=True),
            ),
            models.Index(fields=["first_response_warn_at"], name="ticket_fr_warn_idx"),
            models.Index(fields=["resolution_warn_at"], name="ticket_res_warn_idx"),
            models.Index(fields=["head_office_due"], name="ticket_head_office_idx"),
        ]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"


class EntryKind(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    OUTBOUND = "outbound", _("Answer")
    NOTE = "note", _("Internal note")


class Entry(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Masked (privacy): what staff read and search.
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)  # sanitised: no scripts, no event handlers, no remote forms
    # The provider's id of this message (an email's Message-ID): what makes a repeat a duplicate.
    provider_id = models.CharField(max_length=255, blank=True)
    references = models.JSONField(default=list, blank=True)  # Message-IDs this one answers
    # Where it came from (inbound) or went to (an answer): the email address, phone number or chat id.
    address = models.CharField(max_length=255, blank=True)
    # An answer on email, SMS or a messenger: the outbox message that carries it (its delivery status).
    message = models.ForeignKey(
        "engage.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        # Search walks entries from the newest (services/tickets.matching_ticket_ids).
        indexes = [models.Index(fields=["created_at"], name="inbox_entry_created_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "provider_id"],
                condition=~models.Q(provider_id=""),
                name="inbox_entry_provider_id_unique",
            )
        ]
        verbose_name = _("entry")
        verbose_name_plural = _("entries")

    def __str__(self) -> str:
        return f"{self.kind} on #{self.ticket_id}"


class Attachment(models.Model):
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    # Stored by content (sha256) under the data directory; empty when it was refused (see ``refused``).
    sha256 = models.CharField(max_length=64, blank=True)
    refused = models.CharField(max_length=32, blank=True)  # why it was not kept: "too_large"

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class ChatSession(models.Model):
    """One visitor's conversation in the web chat widget: the token their browser holds is the only key."""

    token = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    origin = models.CharField(max_length=255, blank=True)  # the page's origin, as the browser said
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("chat session")
        verbose_name_plural = _("chat sessions")

    def __str__(self) -> str:
        return f"chat {self.pk}"


class TicketEvent(models.Model):
    """What happened to a ticket besides words: status and priority changes, assignment, SLA warnings and
    breaches, escalations, merges. Kinds are codes, shown in the reader's language."""

    class Kind(models.TextChoices):
        STATUS = "status", _("Status changed")
        PRIORITY = "priority", _("Priority changed")
        ASSIGNED = "assigned", _("Assigned")
        TAGS = "tags", _("Tags changed")
        FIELDS = "fields", _("Fields changed")
        INCIDENT = "incident", _("Linked to an incident")
        SLA_WARNING = "sla_warning", _("SLA target near")
        SLA_BREACH = "sla_breach", _("SLA target missed")
        ESCALATED = "escalated", _("Escalated")
        MERGED = "merged", _("Merged")
        SPLIT = "split", _("Split")
        MENTIONED = "mentioned", _("Mentioned")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kind", "-at"], name="ticket_event_kind_idx")]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")

    def __str__(self) -> str:
        return f"{self.kind} on #{self.ticket_id}"


class Presence(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class AgentState(models.Model):
    """What routing knows about one member of staff: presence, load cap, skills and languages."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_state"
    )
    presence = models.CharField(max_length=8, choices=Presence.choices, default=Presence.OFFLINE)
    max_open = models.PositiveSmallIntegerField(_("open tickets at most"), default=10)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)  # empty: any
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    # The ticket they have open now and whether they are typing in it (the collision warning).
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ticket_seen_at = models.DateTimeField(null=True, blank=True)
    typing = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("agent state")
        verbose_name_plural = _("agent states")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.presence}"


class RoutingRule(models.Model):
    """Which team (and skill) a new ticket needs: the first rule (lowest rank) that matches wins."""

    rank = models.PositiveSmallIntegerField(default=100)
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    language = models.CharField(max_length=8, choices=Language.choices, blank=True)
    tag = models.CharField(max_length=50, blank=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    skill = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["rank", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return f"{self.rank}: -> {self.team_id}"


class CannedReply(models.Model):
    """A prepared answer, per language, with variables (``{{ customer.first_name }}``, ``{{ ticket.id }}``,
    ``{{ agent.name }}``) filled in when an agent inserts it."""

    title = models.CharField(_("title"), max_length=100)
    shortcut = models.SlugField(_("shortcut"), max_length=50)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    body = models.TextField(_("text"))

    class Meta:
        ordering = ["shortcut", "language"]
        constraints = [
            models.UniqueConstraint(fields=["shortcut", "language"], name="canned_reply_shortcut_language")
        ]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.title


class Hit(models.Model):
    """How often one sender (an IP address or an address on a channel, kept only as a keyed hash) used a
    public entry point in one window: what the rate limits count."""

    key = models.CharField(max_length=64)
    window = models.BigIntegerField()  # the window's start, in seconds since the epoch
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="inbox_hit_key_window")]

    def __str__(self) -> str:
        return f"{self.key[:8]}@{self.window}: {self.count}"


class Block(models.Model):
    """A sender refused at every public entry point until ``until`` (or for good): set by hand, or by the
    rate limits when a sender floods. The sender is kept as a keyed hash and a masked label."""

    key = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100)  # "ip 203.0.113.x", "sms +380 •• ••• ••67"
    reason = models.CharField(max_length=32)  # flood, manual
    until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("blocked sender")
        verbose_name_plural = _("blocked senders")

    def __str__(self) -> str:
        return self.label
