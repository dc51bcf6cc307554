"""Personal values kept out of stored text, and the audit log of who saw or moved them.

``PersonalValue`` is one value found in one piece of text (an event's payload field, a note): where its
mask sits in the stored text, and the original, sealed (``crypto``). The text itself only ever holds the
mask. ``AuditEntry`` is append-only: the database refuses to change or remove a row (triggers, in the
migration that makes the table), and each row carries the hash of the one before, so a gap or an edit made
around the database shows in ``verify_audit_chain``.
"""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _

from forewarn.core.vocab import label_of
from forewarn.privacy.detect import Kind


class ValueKind(models.TextChoices):
    PHONE = Kind.PHONE.value, _("phone number")
    CARD = Kind.CARD.value, _("payment card")
    IBAN = Kind.IBAN.value, _("IBAN")
    EMAIL = Kind.EMAIL.value, _("email address")
    PASSPORT = Kind.PASSPORT.value, _("passport")
    RNOKPP = Kind.RNOKPP.value, _("taxpayer number (RNOKPP)")
    INN = Kind.INN.value, _("taxpayer number (INN)")
    SNILS = Kind.SNILS.value, _("insurance number (SNILS)")
    BIRTH_DATE = Kind.BIRTH_DATE.value, _("date of birth")


class PersonalValue(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=ValueKind.choices)
    # Whose value it is: the person the text came from or is about. Not a cascade: erasure removes the
    # values itself, and says so in the audit log.
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Where the mask is: a record (``engage.event`` 42) and a field in it (``payload.note``), at
    # [start, end) of that field's stored text.
    source = models.CharField(max_length=32)
    source_id = models.CharField(max_length=64)
    field = models.CharField(max_length=200)
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    mask = models.CharField(_("shown as"), max_length=80)
    key_id = models.CharField(max_length=16)
    sealed = models.BinaryField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["source", "source_id"], name="privacy_value_source"),
            models.Index(fields=["customer"], name="privacy_value_customer"),
            models.Index(fields=["key_id"], name="privacy_value_key"),
        ]
        verbose_name = _("personal value")
        verbose_name_plural = _("personal values")

    def __str__(self) -> str:
        return f"{self.kind} {self.mask}"

    @property
    def context(self) -> str:
        """What the value is sealed with beside its key: its kind, so it cannot be passed off as another."""
        return f"forewarn.privacy:{self.kind}"


class AuditAction(models.TextChoices):
    REVEAL = "reveal", _("revealed a value")
    REVEAL_DENIED = "reveal_denied", _("was refused a value")
    EXPORT = "export", _("exported a person's data")
    ERASE = "erase", _("erased a person")
    REENCRYPT = "reencrypt", _("re-encrypted personal values")
    # The helpdesk's settings (calendars, SLA policies, routing, canned replies): who changed what, when.
    SETTING = "setting", _("changed a setting")


class AuditEntry(models.Model):
    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(_("when"))
    action = models.CharField(_("what"), max_length=16, choices=AuditAction.choices)
    # Who, as they were named then: staff accounts may be renamed or removed, the log may not change.
    actor = models.CharField(_("who"), max_length=200)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    # Whom and what: plain ids, not foreign keys, so erasing a person leaves the record of the erasure.
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True)
    value_id = models.BigIntegerField(null=True, blank=True)
    value_kind = models.CharField(max_length=16, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    detail = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor}"

    # What a setting's entry stores as codes (``inbox.slapolicy``, ``created``, field names), as people
    # read them; a model or a field that is gone since is shown by its code.
    @property
    def value_kind_label(self) -> str:
        return label_of(ValueKind, self.value_kind)

    @property
    def setting_what(self) -> str:
        model = _model_of(str(self.detail.get("what", "")))
        return str(model._meta.verbose_name) if model else str(self.detail.get("what", ""))

    @property
    def setting_change(self) -> str:
        change = str(self.detail.get("change", ""))
        return str(SETTING_CHANGES.get(change, change))

    @property
    def setting_fields(self) -> list[str]:
        model = _model_of(str(self.detail.get("what", "")))
        names: list[str] = []
        for name in self.detail.get("fields") or {}:
            try:
                field = model._meta.get_field(name) if model else None
            except FieldDoesNotExist:
                field = None
            names.append(str(getattr(field, "verbose_name", name)) if field else name)
        return names


SETTING_CHANGES = {
    "created": _("created"),
    "changed": _("changed"),
    "deactivated": _("deactivated"),
    "deleted": _("deleted"),
    "revoked": _("revoked"),
}


def _model_of(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None
