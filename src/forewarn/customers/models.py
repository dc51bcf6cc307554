"""Customers: one profile per person, their identities on every channel, and consent with its history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from forewarn.core.vocab import Channel, Language, Source, Topic, label_of


class IdentityKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    TELEGRAM = "telegram", _("Telegram")
    VIBER = "viber", _("Viber")
    EXTERNAL = "external", _("External (CRM) id")


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    DENIED = "denied", _("Denied")


class Segment(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name


def full_name_of(given: str, middle: str, family: str) -> str:
    return " ".join(p for p in (given, middle, family) if p)


class Customer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        MERGED = "merged", _("Merged into another profile")
        ERASED = "erased", _("Erased on request")

    given_name = models.CharField(_("given name"), max_length=100, blank=True)
    middle_name = models.CharField(_("middle name"), max_length=100, blank=True)
    family_name = models.CharField(_("family name"), max_length=100, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.UKRAINIAN
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Kyiv")
    # Local times in the customer's zone; a window that wraps midnight (21:00-09:00) is allowed. None: the
    # customer has not chosen and has the default quiet hours (``core.preferences.quiet_hours_default``).
    quiet_hours_start = models.TimeField(_("quiet hours from"), null=True, blank=True, default=None)
    quiet_hours_end = models.TimeField(_("quiet hours until"), null=True, blank=True, default=None)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=16, choices=Channel.choices, blank=True
    )
    segments = models.ManyToManyField(
        Segment, related_name="customers", blank=True, verbose_name=_("segments")
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="absorbed"
    )
    # Case-folded, transliterated name and identities: what the search box matches, on every engine.
    search_text = models.TextField(default="", editable=False)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["status", "family_name"], name="customer_status_family_idx"),
            models.Index(fields=["birth_date"], name="customer_birth_date_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return full_name_of(self.given_name, self.middle_name, self.family_name)


class Identity(models.Model):
    """A way to reach or recognise a person; normalised, and unique across all customers."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=16, choices=IdentityKind.choices)
    value = models.CharField(_("value"), max_length=255)
    is_primary = models.BooleanField(_("primary"), default=False)
    source = models.CharField(_("source"), max_length=64, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "-is_primary", "id"]
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identity_kind_value_unique")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    @property
    def source_label(self) -> str:
        return Source.describe(self.source)


class Consent(models.Model):
    """The current answer of one customer for one topic on one channel. No row: never asked."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    topic = models.CharField(_("topic"), max_length=16, choices=Topic.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=8, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=64)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["topic", "channel"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "topic", "channel"], name="consent_customer_topic_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic}/{self.channel}: {self.status}"


class ConsentChange(models.Model):
    """One change of consent, kept for good: who or what changed it, from where, and when."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_history")
    topic = models.CharField(max_length=16, choices=Topic.choices)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    previous = models.CharField(max_length=8, choices=ConsentStatus.choices, blank=True)
    status = models.CharField(max_length=8, choices=ConsentStatus.choices, blank=True)
    source = models.CharField(max_length=64)
    note = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The profile this answer came from, when a merge brought it here.
    origin_customer_id = models.BigIntegerField(null=True, blank=True)
    # The line of the import file that gave this answer.
    import_line = models.PositiveIntegerField(null=True, blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["customer", "-changed_at"], name="consent_change_customer_idx")]

    def __str__(self) -> str:
        return f"{self.topic}/{self.channel}: {self.previous or '-'} -> {self.status or '-'}"

    @property
    def source_label(self) -> str:
        return Source.describe(self.source)


class Merge(models.Model):
    """A merge of ``absorbed`` into ``survivor``, with what it moved, so that it can be undone."""

    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_kept")
    absorbed = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges_absorbed")
    snapshot = models.JSONField()
    reason = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField()
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.absorbed_id} -> #{self.survivor_id}"


class Reason(models.TextChoices):
    """Why two profiles look like one person. Stored as codes and put into words when shown, so each
    reader sees them in their own language; the name's similarity is stored as ``name:<percent>``."""

    NAME = "name", _("similar name")
    BIRTH_DATE = "birth_date", _("same date of birth")
    ADDRESS = "address", _("same address")
    CITY = "city", _("same city")
    EMAIL_USER = "email_user", _("same email user name")
    SHARED_IDENTITIES = "shared_identities", _("identities shared in one import row")
    # A message's sender: a new profile made from it bears another's name, or the identities it came with
    # (a Telegram chat id and @username) are held by two profiles.
    NEW_SENDER = "new_sender", _("a new sender with this name")
    ONE_SENDER = "one_sender", _("one sender's identities on both")

    @classmethod
    def describe(cls, code: str) -> str:
        name, _sep, value = code.partition(":")
        if name == cls.NAME and value.isdigit():
            return gettext("name %(percent)s%% alike") % {"percent": value}
        return label_of(cls, code)


class DuplicateCandidate(models.Model):
    """Two profiles that look like one person, waiting for a person to merge them or tell them apart."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Not the same person")

    first = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    found_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="duplicate_pair_unique"),
            models.CheckConstraint(
                condition=models.Q(first__lt=models.F("second")), name="duplicate_pair_ordered"
            ),
        ]
        indexes = [models.Index(fields=["status", "-score"], name="duplicate_status_score_idx")]

    def __str__(self) -> str:
        return f"#{self.first_id} ~ #{self.second_id} ({self.score:.2f})"

    @property
    def reason_texts(self) -> list[str]:
        return [Reason.describe(code) for code in self.reasons]


class ImportJob(models.Model):
    """A CSV import: its progress while it runs, and every rejected row with the reason afterwards."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500)
    source = models.CharField(max_length=64, default="import")
    # The language of the person who started it: the report's reasons are written in it.
    language = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    matched_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    flagged_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"


class ImportRejection(models.Model):
    """One row an import could not take, with the line number and the reason, for the person to fix."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField()
    field = models.CharField(max_length=64, blank=True)
    code = models.CharField(max_length=64)
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["line", "id"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.code}"
