"""Waits: a trigger's message that waits (a reminder if the bill is not paid in three days) is cancelled by
the event it waits for, in whichever order they arrive, and goes through the policy when its wait is over,
with its trigger as it is then."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from forewarn.core import clock
from forewarn.engage.models import Event, Message, MessageStatus
from forewarn.engage.services.planning import Draft, plan
from forewarn.engage.services.triggers import intent_of
from forewarn.engage.services.words import Words, render_context
from forewarn.engage.templating import render


def _answers(message: Message, event: Event) -> bool:
    """Whether ``event`` is what the waiting ``message`` waited for (a payment of the bill it reminds of)."""
    trigger, question = message.trigger, message.event
    assert trigger is not None
    if event.type != trigger.cancel_on_event or event.customer_id != message.customer_id:
        return False
    if question is not None and event.occurred_at < question.occurred_at:
        return False  # an answer cannot come before the question
    before = question.payload if question else {}
    return all(event.payload.get(k) == before.get(k) for k in trigger.cancel_match)


def _cancel(waits: list[tuple[Message, Event]]) -> int:
    for message, event in waits:
        message.status, message.reason = MessageStatus.CANCELLED, "cancelled_by_event"
        message.trail = [*message.trail, ["wait", "cancel", "cancelled_by_event", event.type]]
    if waits:
        Message.objects.bulk_update([m for m, _e in waits], ["status", "reason", "trail"])
    return len(waits)


def cancel_waiting_messages(events: list[Event]) -> int:
    """Waiting messages these events answer are cancelled."""
    by_key: dict[tuple[int, str], list[Event]] = defaultdict(list)
    for event in events:
        by_key[(event.customer_id, event.type)].append(event)
    condition = Q()
    for kind in {e.type for e in events}:
        condition |= Q(trigger__cancel_on_event=kind, customer_id__in={c for c, t in by_key if t == kind})
    waiting = Message.objects.filter(condition, status=MessageStatus.WAITING).select_related(
        "trigger", "event"
    )
    answered = []
    for message in waiting:
        assert message.trigger is not None
        found = next(
            (
                e
                for e in by_key[(message.customer_id, message.trigger.cancel_on_event)]
                if _answers(message, e)
            ),
            None,
        )
        if found is not None:
            answered.append((message, found))
    return _cancel(answered)


def cancel_answered_waits(waiting: list[Message]) -> int:
    """New waits whose answer is already stored (events can arrive out of order) end at once."""
    wanted = {
        (m.customer_id, m.trigger.cancel_on_event) for m in waiting if m.trigger and m.trigger.cancel_on_event
    }
    if not wanted:
        return 0
    condition = Q()
    for kind in {k for _c, k in wanted}:
        condition |= Q(type=kind, customer_id__in={c for c, k in wanted if k == kind})
    stored: dict[tuple[int, str], list[Event]] = defaultdict(list)
    for event in Event.objects.filter(condition):
        stored[(event.customer_id, event.type)].append(event)
    answered = []
    for message in waiting:
        if message.trigger is None or not message.trigger.cancel_on_event:
            continue
        candidates = stored[(message.customer_id, message.trigger.cancel_on_event)]
        found = next((e for e in candidates if _answers(message, e)), None)
        if found is not None:
            answered.append((message, found))
    return _cancel(answered)


# How many waiting messages are released in one transaction.
RELEASE_BATCH = 500


def release_waiting(*, now: datetime, limit: int = RELEASE_BATCH) -> int:
    """Messages whose trigger's wait is over go through the policy now."""
    with transaction.atomic():
        due = list(
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=MessageStatus.WAITING, send_after__lte=now)
            .select_related("trigger", "customer")
            .order_by("send_after")[:limit]
        )
        if not due:
            return 0
        drafts = drafts_for_waiting(due)
        plan(drafts, now=now)
        orphans = [m for m in due if m.trigger is None]
        for message in orphans:
            message.status, message.reason = MessageStatus.CANCELLED, "trigger_deleted"
        if orphans:
            Message.objects.bulk_update(orphans, ["status", "reason"])
    return len(due)


def release_due_waits(*, batches: int = 20) -> int:
    """The periodic duty: messages whose wait is over go through the policy, a batch at a time, until none
    is left or ``batches`` were released (the rest go next time). Safe in several processes at once: each
    batch is claimed with ``SKIP LOCKED``."""
    released = 0
    for _n in range(batches):
        count = release_waiting(now=clock.now())
        released += count
        if count < RELEASE_BATCH:
            break
    return released


def drafts_for_waiting(messages: list[Message]) -> list[Draft]:
    """Messages whose wait is over, as drafts the policy decides on now."""
    drafts = []
    for message in messages:
        trigger = message.trigger
        if trigger is None:
            continue
        key = render(trigger.dedup_key, render_context(message))[:200] if trigger.dedup_key else ""
        drafts.append(
            Draft(
                customer_id=message.customer_id,
                intent=intent_of(trigger, key),
                kind=message.kind,
                words=Words.of_templates(trigger.templates.all()),
                context=message.context,
                trigger_id=trigger.pk,
                event_id=message.event_id,
                when_bumped=trigger.when_bumped,
                existing=message,
            )
        )
    return drafts
