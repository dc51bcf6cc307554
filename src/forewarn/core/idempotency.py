"""Replaying create requests that carry an ``Idempotency-Key`` header.

Every ``POST`` of the API honours the key (``shell.api`` applies it to all of them at once): the first
request with a key runs and its answer is stored in the same transaction as the change, so a retry after
a crash either finds the answer or finds nothing done; a retry with the same key and the same request
gets the first answer back and changes nothing; the same key with another request is a conflict. Two
requests racing with one key meet at the unique constraint: the loser rolls back its work and returns the
winner's answer. Keys are kept apart per client (``Actor.key``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, RawPostDataException
from django.utils.translation import gettext as _

from forewarn.core import clock
from forewarn.core.errors import Conflict, ValidationFailed
from forewarn.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
# A POST whose answer must never be stored (a token's secret, a personal value in the clear) says so with
# ``openapi_extra=NOT_REPLAYED``: it ignores the header, and the schema does not offer it.
NOT_REPLAYED = {"x-idempotent": False}


@dataclass(frozen=True)
class Claim:
    """A request that will run once for its client and key."""

    owner: str
    key: str
    request_hash: str


def _body_digest(request: HttpRequest) -> Any:
    try:
        raw = request.body
    except RawPostDataException:  # a streamed upload: what was sent, by its parts
        files = sorted((name, f.name, f.size) for name in request.FILES for f in request.FILES.getlist(name))
        return {"form": sorted(request.POST.lists()), "files": files}
    try:
        return json.loads(raw)  # the same document, however it is spaced
    except (UnicodeDecodeError, ValueError):
        return hashlib.sha256(raw).hexdigest()


def claim_for(request: HttpRequest, *, owner: str, key: str) -> Claim:
    """What identifies this request under its key: the method, the path with its query, and the body."""
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed.single(
            f"headers.{HEADER}",
            "too_long",
            _("An Idempotency-Key may be at most %(n)d characters.") % {"n": MAX_KEY_LENGTH},
        )
    described = [request.method, request.get_full_path(), _body_digest(request)]
    encoded = json.dumps(described, sort_keys=True, default=str, ensure_ascii=False).encode()
    return Claim(owner, key, hashlib.sha256(encoded).hexdigest())


def stored_answer(claim: Claim) -> tuple[int, Any] | None:
    """The answer given to the first request with this key, or None if there was none."""
    record = IdempotencyRecord.objects.filter(owner=claim.owner, key=claim.key).first()
    if record is None:
        return None
    if record.request_hash != claim.request_hash:
        raise Conflict(
            _("This Idempotency-Key was already used with a different request."),
            code="idempotency_key_reused",
        )
    return record.status_code, record.response


def keep_answer(claim: Claim, status: int, body: Any) -> None:
    """Store the answer; call it in the transaction of the change (IntegrityError: a racing twin won)."""
    IdempotencyRecord.objects.create(
        owner=claim.owner,
        key=claim.key,
        request_hash=claim.request_hash,
        status_code=status,
        response=body,
        created_at=clock.now(),
    )
