"""Channels keep one record of their own: what the local provider would have sent (demo and tests)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LocalDelivery(models.Model):
    """One message handed to the local provider, once per idempotency key however often it was handed over.

    Real providers keep a message per idempotency key and answer a repeat with the first message's id;
    ``attempts`` counts the hand-overs, so a crash test can tell a retry from a second message.
    """

    idempotency_key = models.CharField(max_length=200, unique=True)
    channel = models.CharField(_("channel"), max_length=16)
    address = models.CharField(_("address"), max_length=500)
    subject = models.TextField(_("subject"), blank=True)
    body = models.TextField(_("text"))
    html = models.TextField(_("HTML"), blank=True)
    language = models.CharField(_("language"), max_length=8)
    provider_message_id = models.CharField(max_length=64, unique=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    first_sent_at = models.DateTimeField(_("first sent"), db_index=True)
    last_sent_at = models.DateTimeField(_("last sent"))

    class Meta:
        ordering = ["-first_sent_at", "-id"]
        verbose_name = _("local delivery")
        verbose_name_plural = _("local deliveries")

    def __str__(self) -> str:
        return f"{self.channel}:{self.address}:{self.provider_message_id}"
