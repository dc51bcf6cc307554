"""Platform records shared by every app: stored answers to keyed requests, the topics of consent, and
what a customer has until they say otherwise."""

from __future__ import annotations

from datetime import time

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The stored answer to a create request sent with an ``Idempotency-Key``.

    A retry with the same key and the same body gets the same answer and changes nothing; the same key
    with another body is refused. ``owner`` keeps one client's keys apart from another's.
    """

    owner = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_unique")]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"


class Topic(models.Model):
    """What messages are about and customers consent to: the four built in (``vocab.Topic``) and those an
    administrator adds (``engage.services.rules``). A topic is never deleted, since consents, triggers and
    messages name it by its code; a retired one is offered for nothing new."""

    code = models.SlugField(_("code"), max_length=16, unique=True)
    # The topic's name in each language Forewarn speaks ({"uk": ..., "ru": ..., "en": ...}); a built-in
    # topic without one is called by its translated name.
    names = models.JSONField(_("names"), default=dict, blank=True)
    # Opt-in: nothing on it goes to a customer who has not said yes; otherwise it goes unless they said no.
    opt_in = models.BooleanField(_("needs a yes"), default=True)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self) -> str:
        return self.code


class ContactDefaults(models.Model):
    """What a customer has until they say otherwise: the quiet hours of everyone who has not chosen their
    own, in their own time zone. One row."""

    quiet_hours_start = models.TimeField(_("quiet hours from"), default=time(21, 0))
    quiet_hours_end = models.TimeField(_("quiet hours until"), default=time(9, 0))

    class Meta:
        verbose_name = _("default quiet hours")
        verbose_name_plural = _("default quiet hours")

    def __str__(self) -> str:
        return f"{self.quiet_hours_start:%H:%M}-{self.quiet_hours_end:%H:%M}"
