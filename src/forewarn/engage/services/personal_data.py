"""What engage holds about a person, for export and erasure (``privacy.services.subjects``).

Erasure keeps every event and message row (the counts of what was sent, deferred and suppressed stay
true) and empties what in them is personal: payloads, addresses and fallbacks, rendered words and their
variables, de-duplication keys (they may quote a payload), errors and the step details of the decision
trail. Suppressions naming the person or one of their addresses go: without identities nothing can reach
them, and a suppression list entry is itself their address.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from forewarn.engage.models import Event, Message, Suppression
from forewarn.privacy.services.subjects import Holder, People


def export(people: People) -> dict[str, Any]:
    events = [
        {
            "id": e.pk,
            "source": e.source,
            "type": e.type,
            "occurred_at": e.occurred_at.isoformat(),
            "payload": e.payload,
        }
        for e in Event.objects.filter(customer__in=people).order_by("occurred_at", "pk")
    ]
    messages = [
        {
            "id": m.pk,
            "what": m.label,
            "topic": m.topic,
            "channel": m.channel,
            "address": m.address,
            "status": m.status,
            "reason": m.reason,
            "planned_at": m.planned_at.isoformat(),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            "subject": m.subject,
            "body": m.body,
        }
        for m in Message.objects.filter(customer__in=people)
        .select_related("trigger", "incident")
        .order_by("pk")
    ]
    suppressions = [
        {"scope": s.scope, "channel": s.channel, "reason": s.reason, "since": s.created_at.isoformat()}
        for s in Suppression.objects.filter(customer__in=people)
    ]
    return {"events": events, "messages": messages, "suppressions": suppressions}


def needles(people: People) -> set[str]:
    return set(
        Message.objects.filter(customer__in=people).exclude(address="").values_list("address", flat=True)
    )


def erase(people: People, found: set[str]) -> dict[str, int]:
    trails = 0
    for message in Message.objects.filter(customer__in=people).exclude(trail=[]).only("pk", "trail"):
        message.trail = [[step, outcome, reason, ""] for step, outcome, reason, _detail in message.trail]
        message.save(update_fields=["trail"])
        trails += 1
    return {
        "event_payloads": Event.objects.filter(customer__in=people).update(payload={}),
        "messages": Message.objects.filter(customer__in=people).update(
            address="", fallbacks=[], subject="", body="", context={}, dedup_key="", error=""
        ),
        "decision_trails": trails,
        "suppressions": Suppression.objects.filter(Q(customer__in=people) | Q(address__in=found)).delete()[0],
    }


HOLDER = Holder(name="engage", export=export, erase=erase, needles=needles, order=20)
