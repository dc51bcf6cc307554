"""Firing: the active triggers a batch of journey events matches, and what becomes of each match.

A match with no wait is a draft planned at once (``planning.plan``); one with a wait is a waiting message
(``waits``), and the events of the batch cancel the waits they answer. History conditions, the customers
and the templates are read once for the whole batch, not once per event.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from forewarn.customers.models import Customer
from forewarn.customers.services.reach import CONTEXT_FIELDS, context_of
from forewarn.engage.conditions import matches
from forewarn.engage.models import Event, Message, MessageStatus, Trigger
from forewarn.engage.services import risk
from forewarn.engage.services.planning import Draft, plan
from forewarn.engage.services.triggers import intent_of
from forewarn.engage.services.waits import cancel_answered_waits, cancel_waiting_messages
from forewarn.engage.services.words import Words
from forewarn.engage.templating import render


def act_on_events(events: list[Event], *, now: datetime) -> dict[int, int]:
    """Cancel what these events answer (a payment cancels its reminder), then fire matching triggers.
    Returns how many messages each event led to."""
    if not events:
        return {}
    # Two batches about one customer, planned at once, would each miss what the other says (its history,
    # its de-duplication keys): the second waits for the first. Ids in order, so two batches never deadlock.
    list(
        Customer.objects.select_for_update()
        .filter(pk__in={e.customer_id for e in events})
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    drafts, waiting = drafts_for_events(events, now=now)
    if waiting:
        Message.objects.bulk_create(waiting)
        # An answer that came before its question (a payment stored before its bill) still counts.
        cancel_answered_waits(waiting)
    # After the waits are written, so a payment in the same batch as its bill cancels the reminder.
    cancel_waiting_messages(events)
    counts: dict[int, int] = defaultdict(int)
    for message in waiting:
        if message.event_id is not None:
            counts[message.event_id] += 1
    if drafts:
        for event_id, n in plan(drafts, now=now).per_event.items():
            counts[event_id] += n
    return counts


def _active_triggers(types: set[str]) -> dict[str, list[Trigger]]:
    found: dict[str, list[Trigger]] = {}
    for trigger in Trigger.objects.filter(active=True, event_type__in=types).prefetch_related("templates"):
        found.setdefault(trigger.event_type, []).append(trigger)
    return found


class History:
    """The past events a batch's history conditions ask about, read once for the whole batch: one query
    per event type asked about, instead of one count per event and condition."""

    def __init__(self, triggers: dict[str, list[Trigger]], events: list[Event]) -> None:
        asked: dict[str, timedelta | None] = {}
        for found in triggers.values():
            for trigger in found:
                for condition in trigger.conditions:
                    spec = condition.get("history") if isinstance(condition, dict) else None
                    if spec:
                        within = timedelta(days=spec["within_days"]) if spec.get("within_days") else None
                        # The widest period any condition asks about this type bounds the query.
                        known = asked.get(spec["type"], timedelta(0))
                        asked[spec["type"]] = None if within is None or known is None else max(known, within)
        self.rows: dict[tuple[int, str], list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
        if not asked or not events:
            return
        customers = {e.customer_id for e in events}
        latest = max(e.occurred_at for e in events)
        earliest = min(e.occurred_at for e in events)
        condition = Q()
        for kind, within in asked.items():
            part = Q(type=kind, customer_id__in=customers, occurred_at__lte=latest)
            if within is not None:
                part &= Q(occurred_at__gte=earliest - within)
            condition |= part
        for customer_id, kind, at, payload in Event.objects.filter(condition).values_list(
            "customer_id", "type", "occurred_at", "payload"
        ):
            self.rows[(customer_id, kind)].append((at, payload or {}))
        for past in self.rows.values():
            past.sort(key=lambda row: row[0])

    def counter_for(self, event: Event) -> Any:
        def count(event_type: str, same: dict[str, Any], within: timedelta | None) -> int:
            rows = self.rows.get((event.customer_id, event_type), [])
            times = [at for at, _p in rows]
            stop = bisect_right(times, event.occurred_at)
            start = 0 if within is None else bisect_left(times, event.occurred_at - within)
            return sum(
                1 for _at, payload in rows[start:stop] if all(payload.get(k) == v for k, v in same.items())
            )

        return count


def _customer_scopes(ids: set[int], now: datetime) -> dict[int, dict[str, Any]]:
    """What conditions and templates may ask of each customer, read with two queries for a batch."""
    scopes: dict[int, dict[str, Any]] = {}
    for pk, *fields in Customer.objects.filter(pk__in=ids).values_list("pk", *CONTEXT_FIELDS):
        scope = scopes[pk] = context_of(fields)
        scope["segments"] = []
        scope["risk"] = risk.of_attributes(scope["attributes"], now)
    for pk, reason in risk.signalled([pk for pk, s in scopes.items() if not s["risk"]], now).items():
        scopes[pk]["risk"] = reason
    links = Customer.segments.through.objects.filter(customer_id__in=ids)
    for cid, slug in links.values_list("customer_id", "segment__slug"):
        scopes[cid]["segments"].append(slug)
    return scopes


def drafts_for_events(events: list[Event], *, now: datetime) -> tuple[list[Draft], list[Message]]:
    """Drafts to plan now, and messages that wait for their trigger's delay."""
    triggers = _active_triggers({e.type for e in events})
    if not triggers:
        return [], []
    customers = _customer_scopes({e.customer_id for e in events if e.type in triggers}, now)
    words = {t.pk: Words.of_templates(t.templates.all()) for found in triggers.values() for t in found}
    history = History(triggers, [e for e in events if e.type in triggers])
    drafts: list[Draft] = []
    waiting: list[Message] = []
    for event in events:
        who = customers.get(event.customer_id)
        if who is None:
            continue
        scope = {
            "payload": event.payload,
            "event": {"type": event.type, "source": event.source},
            "customer": who,
        }
        for trigger in triggers.get(event.type, []):
            if not matches(trigger.conditions, scope, history.counter_for(event)):
                continue
            # What the words will need besides the customer, who is read afresh when the message goes.
            context = {
                "payload": event.payload,
                "event": {"type": event.type, "occurred_at": event.occurred_at.isoformat()},
                "offer": trigger.extras,
            }
            dedup_key = (
                render(trigger.dedup_key, {**context, "customer": who})[:200] if trigger.dedup_key else ""
            )
            intent = intent_of(trigger, dedup_key)
            if trigger.wait_seconds:
                waiting.append(
                    Message(
                        customer_id=event.customer_id,
                        trigger=trigger,
                        event=event,
                        kind=trigger.slug,
                        topic=trigger.topic,
                        priority=trigger.priority,
                        critical=trigger.critical,
                        allow_digest=trigger.allow_digest,
                        when_late=trigger.when_late,
                        when_bumped=trigger.when_bumped,
                        context=context,
                        status=MessageStatus.WAITING,
                        reason="waiting",
                        trail=[["wait", "wait", "trigger_wait", str(trigger.wait_seconds)]],
                        planned_at=now,
                        send_after=event.occurred_at + timedelta(seconds=trigger.wait_seconds),
                    )
                )
                continue
            drafts.append(
                Draft(
                    customer_id=event.customer_id,
                    intent=intent,
                    kind=trigger.slug,
                    words=words[trigger.pk],
                    context=context,
                    trigger_id=trigger.pk,
                    event_id=event.pk,
                    when_bumped=trigger.when_bumped,
                )
            )
    return drafts, waiting
