"""Platform records shared by every app."""

from __future__ import annotations

from django.db import models


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
