"""Replaying create requests that carry an ``Idempotency-Key`` header.

The operation and the stored answer commit in one transaction, so a retry after a crash either finds the
answer or finds nothing done. Two requests racing with one key meet at the unique constraint: the loser
rolls back its work and returns the winner's answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from forewarn.core import clock
from forewarn.core.errors import Conflict, ValidationFailed
from forewarn.core.models import IdempotencyRecord

MAX_KEY_LENGTH = 200


def _digest(payload: Any) -> str:
    encoded = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def _replay(record: IdempotencyRecord, request_hash: str) -> tuple[int, Any]:
    if record.request_hash != request_hash:
        raise Conflict(
            _("This Idempotency-Key was already used with a different request."),
            code="idempotency_key_reused",
        )
    return record.status_code, record.response


def run_idempotent(
    *, owner: str, key: str | None, payload: Any, operation: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """Run ``operation`` once per (owner, key); without a key, just run it."""
    if not key:
        return operation()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed.single(
            "headers.Idempotency-Key",
            "too_long",
            _("An Idempotency-Key may be at most %(n)d characters.") % {"n": MAX_KEY_LENGTH},
        )
    request_hash = _digest(payload)
    existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if existing is not None:
        return _replay(existing, request_hash)
    try:
        with transaction.atomic():
            status, body = operation()
            IdempotencyRecord.objects.create(
                owner=owner,
                key=key,
                request_hash=request_hash,
                status_code=status,
                response=body,
                created_at=clock.now(),
            )
    except IntegrityError:
        winner = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
        if winner is None:
            raise
        return _replay(winner, request_hash)
    return status, body
