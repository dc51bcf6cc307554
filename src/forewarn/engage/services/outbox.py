"""The outbox: due messages are claimed under a lease, handed to their channel's provider, and marked.

Delivery is at least once towards the provider and exactly once as the provider counts it: a message
keeps one idempotency key per channel across retries, so when a sender dies between the provider's
answer and our note of it, the lease runs out, another sender claims the message again and the
provider recognises the key. Many senders can run at once: on PostgreSQL they claim with
``FOR UPDATE SKIP LOCKED``; on SQLite the write lock serialises claims.

At send time the policy's answer is checked once more where it can have changed: a consent withdrawn or
a global unsubscribe since planning stops the message, and one past its time to live expires.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F
from django.urls import reverse

from forewarn.channels.base import Outbound, PermanentError, TransientError
from forewarn.channels.registry import provider_for
from forewarn.core import clock, preferences
from forewarn.core.vocab import Topic
from forewarn.customers.models import Consent
from forewarn.customers.services.reach import addresses_of
from forewarn.engage import policy
from forewarn.engage.models import Message, MessageStatus, Suppression
from forewarn.engage.services.responses import unsubscribe_token
from forewarn.engage.services.words import compose, way_out, words_for

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=15)
BACKOFF_CAP = timedelta(hours=1)


def claim_due_messages(*, now: datetime, limit: int = 100, lease: timedelta | None = None) -> list[Message]:
    """Take up to ``limit`` due messages (and any whose sender's lease ran out) for this sender."""
    lease = lease or timedelta(seconds=settings.FOREWARN_OUTBOX_LEASE_SECONDS)
    token = uuid.uuid4().hex
    with transaction.atomic():
        due = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.QUEUED, send_after__lte=now)
            .order_by("send_after")
            .values_list("pk", flat=True)[:limit]
        )
        if len(due) < limit:
            due += list(
                Message.objects.select_for_update(skip_locked=True)
                .filter(status=MessageStatus.SENDING, lease_until__lt=now)
                .values_list("pk", flat=True)[: limit - len(due)]
            )
        if not due:
            return []
        Message.objects.filter(pk__in=due).update(
            status=MessageStatus.SENDING,
            claim_token=token,
            lease_until=now + lease,
            attempts=F("attempts") + 1,
        )
    return list(
        Message.objects.filter(pk__in=due, claim_token=token)
        .select_related("trigger", "incident", "customer")
        .prefetch_related("trigger__templates")
    )


def _finish(message: Message, **changes: Any) -> bool:
    """Record the end of this attempt, unless another sender has taken the message over since."""
    updated = Message.objects.filter(
        pk=message.pk, claim_token=message.claim_token, status=MessageStatus.SENDING
    ).update(**changes)
    for name, value in changes.items():
        setattr(message, name, value)
    return updated == 1


def _step(message: Message, outcome: str, reason: str, detail: str = "") -> list[Any]:
    return [*message.trail, ["send", outcome, reason, detail]]


def send_time_block(message: Message) -> str:
    """Why a message planned earlier may no longer go: consent, a global unsubscribe or a suppressed
    address changed since. The policy's own rules decide, on what is stored now."""
    answer = (
        Consent.objects.filter(customer_id=message.customer_id, topic=message.topic, channel=message.channel)
        .values_list("status", flat=True)
        .first()
    )
    scopes = frozenset(
        Suppression.objects.filter(customer_id=message.customer_id).values_list("scope", flat=True)
    )
    suppressed = Suppression.objects.filter(customer__isnull=True, address=message.address).exists()
    return policy.still_allowed_reason(
        consent=answer,
        scopes=scopes,
        address_suppressed=suppressed,
        topic=message.topic,
        opt_in=preferences.is_opt_in(message.topic),
    )


def _backoff(attempts: int) -> timedelta:
    seconds = BACKOFF_BASE.total_seconds() * (2 ** max(attempts - 1, 0))
    seconds = min(seconds, BACKOFF_CAP.total_seconds())
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not secrets


def deliver(message: Message, *, now: datetime) -> str:
    """One attempt at one claimed message; returns what became of it."""
    if message.expires_at is not None and now > message.expires_at:
        _finish(
            message,
            status=MessageStatus.EXPIRED,
            reason="past_ttl",
            trail=_step(message, "expire", "past_ttl"),
        )
        return MessageStatus.EXPIRED
    blocked = send_time_block(message)
    if blocked:
        _finish(
            message,
            status=MessageStatus.SUPPRESSED,
            reason=blocked,
            trail=_step(message, "suppress", blocked),
        )
        return MessageStatus.SUPPRESSED
    outgoing = compose(message)
    if outgoing is None:
        return _fall_back(message, now=now, code="no_template", error="no words for this channel")
    # The words as the provider gets them (originals where a template prints one ``unmasked``); the row
    # keeps them with the masks (words.Outgoing).
    subject, body = outgoing.subject, outgoing.body
    metadata: dict[str, Any] = {"message_id": message.pk, "topic": message.topic, "kind": message.kind}
    if message.context.get("thread"):
        # An answer in a conversation: what it answers (an email's In-Reply-To and References).
        metadata["thread"] = message.context["thread"]
    if message.topic != Topic.TRANSACTIONAL:
        # Every message a customer may refuse carries its way out (and email its List-Unsubscribe header),
        # in the words' own language (words.way_out).
        url = settings.FOREWARN_PUBLIC_URL.rstrip("/") + reverse(
            "unsubscribe", args=[unsubscribe_token(message)]
        )
        metadata["unsubscribe_url"] = url
        line = way_out(channel=message.channel, topic=message.topic, language=outgoing.language, url=url)
        if line:
            body = f"{body}\n\n{line}"
    outbound = Outbound(
        idempotency_key=message.idempotency_key,
        channel=message.channel,
        address=message.address,
        body=body,
        subject=subject,
        language=outgoing.language,
        metadata=metadata,
    )
    try:
        result = provider_for(message.channel).send(outbound)
    except TransientError as exc:
        return _retry_later(message, now=now, code=exc.code, error=str(exc), retry_after=exc.retry_after)
    except PermanentError as exc:
        return _fall_back(message, now=now, code=exc.code, error=str(exc))
    _finish(
        message,
        status=MessageStatus.SENT,
        reason="sent",
        subject=outgoing.kept_subject,
        body=outgoing.kept_body,
        language=outgoing.language,
        sent_at=now,
        provider=result.provider,
        provider_message_id=result.provider_message_id,
        lease_until=None,
        trail=_step(message, "sent", "sent", result.provider),
    )
    return MessageStatus.SENT


def _retry_later(message: Message, *, now: datetime, code: str, error: str, retry_after: float | None) -> str:
    if message.attempts >= MAX_ATTEMPTS:
        return _fall_back(message, now=now, code="too_many_attempts", error=error)
    wait = timedelta(seconds=retry_after) if retry_after else _backoff(message.attempts)
    _finish(
        message,
        status=MessageStatus.QUEUED,
        reason=code,
        error=error[:500],
        send_after=now + wait,
        lease_until=None,
        trail=_step(message, "retry", code, (now + wait).isoformat()),
    )
    return MessageStatus.QUEUED


def _fall_back(message: Message, *, now: datetime, code: str, error: str) -> str:
    """The channel failed for good: the next consented channel, re-worded for it, or failed."""
    remaining = list(message.fallbacks)
    addresses = addresses_of([message.customer_id]).get(message.customer_id, {})
    words = words_for(message)
    while remaining:
        channel = remaining.pop(0)
        if (
            channel not in addresses
            or words.pick(message.variant, channel, message.customer.language) is None
        ):
            continue
        _finish(
            message,
            status=MessageStatus.QUEUED,
            reason="fallback",
            error=error[:500],
            channel=channel,
            address=addresses[channel],
            fallbacks=remaining,
            send_after=now,
            lease_until=None,
            trail=_step(message, "fallback", code, channel),
        )
        return MessageStatus.QUEUED
    _finish(
        message,
        status=MessageStatus.FAILED,
        reason=code,
        error=error[:500],
        lease_until=None,
        trail=_step(message, "fail", code, error[:200]),
    )
    return MessageStatus.FAILED


def dispatch_once(*, limit: int = 100) -> int:
    """Send one batch of due messages; returns how many were handled. (Releasing waits that are over and
    acting on forgotten events are periodic duties of their own: ``EngageConfig.ready``.)"""
    claimed = claim_due_messages(now=clock.now(), limit=limit)
    for message in claimed:
        try:
            deliver(message, now=clock.now())
        except Exception:
            # One broken message must not stop the others; its lease runs out and it is tried again.
            logger.exception("sending message %s failed", message.pk)
    return len(claimed)


def run_dispatcher(stop: threading.Event, *, batch: int = 100, idle: float = 0.5) -> None:
    """Send until ``stop`` is set, sleeping ``idle`` seconds whenever nothing is due."""
    while not stop.is_set():
        close_old_connections()
        try:
            handled = dispatch_once(limit=batch)
        except Exception:
            logger.exception("outbox pass failed; trying again")
            handled = 0
        if not handled:
            stop.wait(idle)
