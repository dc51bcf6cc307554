"""Abuse control at public entry points (the chat, the customer portal, inbound SMS and messengers): a
rate limit per sender and per IP address, and a block list for senders that flood.

Senders are counted in fixed one-minute windows, by a keyed hash (HMAC with the project's secret key) of
who they are, so neither IP addresses nor phone numbers are stored in the clear. A sender over its limit
is refused with a message that says how long to wait; one that keeps going at ``FLOOD_FACTOR`` times its
limit is blocked for ``FLOOD_BLOCK`` and told so. Staff block and unblock senders by hand too.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils.translation import gettext as _

from forewarn.core import clock
from forewarn.core.errors import ServiceError
from forewarn.inbox.models import Block, Hit

WINDOW = 60  # seconds
FLOOD_FACTOR = 5
FLOOD_BLOCK = timedelta(hours=1)
# Requests a minute: per IP address at the chat and portal, per session or customer, per SMS sender.
LIMITS = {"ip": 60, "chat": 20, "portal": 10, "sms": 10}


def BLOCKED() -> str:  # noqa: N802 - reads as the message it is
    return _("Too many messages came from here, so we stopped taking them for a while.")


class Limited(ServiceError):
    status = 429
    code = "rate_limited"


def key_of(kind: str, value: str) -> str:
    secret = settings.SECRET_KEY.encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def label_of(kind: str, value: str) -> str:
    if kind == "ip":
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return "ip ?"
        if address.version == 4:
            return "ip " + ".".join(value.split(".")[:3]) + ".x"
        return "ip " + ":".join(value.split(":")[:3]) + ":…"
    return f"{kind} •••{value[-2:]}" if len(value) > 4 else f"{kind} •••"


def client_ip(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or the first address of ``X-Forwarded-For`` when Forewarn
    runs behind a proxy it trusts (``FOREWARN_TRUST_PROXY``)."""
    if getattr(settings, "FOREWARN_TRUST_PROXY", False):
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return str(request.META.get("REMOTE_ADDR", ""))


def is_blocked(kind: str, value: str, now: datetime | None = None) -> bool:
    now = now or clock.now()
    return Block.objects.filter(Q(until__isnull=True) | Q(until__gt=now), key=key_of(kind, value)).exists()


def check(kind: str, value: str, *, limit: int | None = None) -> None:
    """Count one request of this sender; refuse it (``Limited``) if blocked or over the limit."""
    if not value:
        return
    now = clock.now()
    key = key_of(kind, value)
    limit = limit or LIMITS[kind]
    if Block.objects.filter(Q(until__isnull=True) | Q(until__gt=now), key=key).exists():
        raise Limited(
            _("Too many messages came from here, so we stopped taking them for a while."), code="blocked"
        )
    window = int(now.timestamp()) // WINDOW * WINDOW
    count = _count(key, window)
    if count > limit * FLOOD_FACTOR:
        block(kind, value, reason="flood", until=now + FLOOD_BLOCK)
        raise Limited(
            _("Too many messages came from here, so we stopped taking them for a while."), code="blocked"
        )
    if count > limit:
        wait = window + WINDOW - int(now.timestamp())
        raise Limited(
            _("You are writing faster than we can read. Please wait %(n)s seconds.") % {"n": max(wait, 1)}
        )


def _count(key: str, window: int) -> int:
    updated = Hit.objects.filter(key=key, window=window).update(count=F("count") + 1)
    if not updated:
        try:
            with transaction.atomic():
                Hit.objects.create(key=key, window=window, count=1)
        except IntegrityError:  # another request created it a moment ago
            Hit.objects.filter(key=key, window=window).update(count=F("count") + 1)
    return int(Hit.objects.filter(key=key, window=window).values_list("count", flat=True).first() or 0)


def block(kind: str, value: str, *, reason: str = "manual", until: datetime | None = None) -> Block:
    row, _created = Block.objects.update_or_create(
        key=key_of(kind, value),
        defaults={
            "label": label_of(kind, value),
            "reason": reason,
            "until": until,
            "created_at": clock.now(),
        },
    )
    return row


def unblock(kind: str, value: str) -> int:
    return Block.objects.filter(key=key_of(kind, value)).delete()[0]


def forget_old_hits(now: datetime | None = None) -> int:
    """Counts of windows that ended are of no further use."""
    now = now or clock.now()
    return Hit.objects.filter(window__lt=int(now.timestamp()) - 2 * WINDOW).delete()[0]
