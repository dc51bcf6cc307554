"""Planning: load what the policy needs about many customers at once, ask it, and write its answers.

Every outbound message is planned here, whether a trigger fired for one customer or an incident reaches
a hundred thousand: the policy (``engage.policy``) decides, this module renders the words and writes
one ``Message`` row per decision (sent, deferred and suppressed alike), so the decision and the outbox
entry commit in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from forewarn.core.vocab import Topic
from forewarn.customers.models import Consent, Customer, Identity
from forewarn.engage import policy
from forewarn.engage.models import (
    LIVE_STATUSES,
    FrequencyCap,
    Message,
    MessageStatus,
    MessageTemplate,
    Suppression,
    Variant,
    WhenBumped,
)
from forewarn.engage.templating import render

# Which identity reaches a customer on which channel.
CHANNEL_OF_IDENTITY = {"phone": "sms", "email": "email", "telegram": "telegram", "viber": "viber"}
LANGUAGE_FALLBACK = ("en", "uk", "ru")
# A detractor's score counts against promotions for this long.
DETRACTOR_MEMORY = timedelta(days=90)


@dataclass
class Words:
    """The templates a message can be written with: {(variant, channel or "", language): (subject, body)}."""

    by_key: dict[tuple[str, str, str], tuple[str, str]]

    @classmethod
    def of_templates(cls, templates: Iterable[MessageTemplate]) -> Words:
        return cls({(t.variant, t.channel, t.language): (t.subject, t.body) for t in templates})

    @classmethod
    def per_language(cls, texts: dict[str, str], subject: dict[str, str] | None = None) -> Words:
        subject = subject or {}
        return cls(
            {(Variant.STANDARD, "", lang): (subject.get(lang, ""), body) for lang, body in texts.items()}
        )

    def channels(self, variant: str) -> frozenset[str] | None:
        found = {channel for (v, channel, _lang) in self.by_key if v == variant}
        return None if "" in found else frozenset(found)

    def has(self, variant: str) -> bool:
        return any(v == variant for (v, _c, _l) in self.by_key)

    def pick(self, variant: str, channel: str, language: str) -> tuple[str, tuple[str, str]] | None:
        for lang in (language, *LANGUAGE_FALLBACK):
            for ch in (channel, ""):
                found = self.by_key.get((variant, ch, lang))
                if found is not None:
                    return lang, found
        return None


@dataclass
class Draft:
    """One intended message: who, what the policy must know, and how to write it."""

    customer_id: int
    intent: policy.Intent
    kind: str
    words: Words
    context: dict[str, Any]
    trigger_id: int | None = None
    event_id: int | None = None
    incident_id: int | None = None
    when_bumped: str = WhenBumped.DEFER
    # A message already in the outbox (waiting for its trigger's delay) to decide on, rather than a new one.
    existing: Message | None = None


@dataclass
class PlanResult:
    messages: list[Message] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def current_rules() -> policy.Rules:
    caps = tuple(
        policy.Cap(c.topic, c.limit, timedelta(hours=c.window_hours))
        for c in FrequencyCap.objects.filter(active=True)
    )
    configured = getattr(settings, "FOREWARN_POLICY", {})
    return policy.Rules(
        caps=caps,
        fallback_chain=tuple(configured.get("fallback_chain", policy.MESSAGE_CHANNELS)),
        digest_window=timedelta(minutes=configured.get("digest_minutes", 10)),
    )


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def risk_of(attributes: dict[str, Any], now: datetime) -> str:
    """Why a promotion would be unwelcome now. Reads the signals feedback and support keep on the profile
    (``churn_risk``, ``open_complaints``, ``last_nps`` with ``last_nps_at``)."""
    if attributes.get("churn_risk") in {True, "true", "yes"}:
        return "churn_risk"
    complaints = attributes.get("open_complaints")
    if isinstance(complaints, int) and complaints > 0:
        return "open_complaint"
    score, when = attributes.get("last_nps"), attributes.get("last_nps_at")
    if isinstance(score, int) and score <= 6:
        try:
            at = datetime.fromisoformat(str(when)) if when else None
        except ValueError:
            at = None
        if at is None or (at.tzinfo is not None and now - at <= DETRACTOR_MEMORY):
            return "detractor"
    return ""


def load_views(
    customer_ids: Sequence[int], *, now: datetime, rules: policy.Rules, dedup_keys: set[str] | None = None
) -> dict[int, policy.CustomerView]:
    """Everything the policy needs about these customers, in a handful of queries."""
    views: dict[int, policy.CustomerView] = {}
    rows = Customer.objects.filter(pk__in=customer_ids).values_list(
        "pk", "time_zone", "quiet_hours_start", "quiet_hours_end", "preferred_channel", "attributes"
    )
    for pk, zone, q_start, q_end, preferred, attributes in rows:
        views[pk] = policy.CustomerView(
            customer_id=pk,
            zone=_zone(zone),
            quiet_start=q_start,
            quiet_end=q_end,
            preferred_channel=preferred,
            consents={},
            addresses={},
            risk=risk_of(attributes or {}, now),
        )
    ids = list(views)
    for cid, topic, channel, status in Consent.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "topic", "channel", "status"
    ):
        views[cid].consents[(topic, channel)] = status
    for cid, addresses in addresses_of(ids).items():
        views[cid].addresses = addresses
    _load_suppressions(views)
    lookback = max((c.window for c in rules.caps), default=timedelta(0))
    live = Message.objects.filter(customer_id__in=ids, status__in=LIVE_STATUSES)
    counted = live.filter(Q(send_after__gte=now - lookback) | Q(status=MessageStatus.QUEUED))
    for mid, cid, at, sent_at, topic, priority, status, channel, digest, critical in counted.values_list(
        "pk", "customer_id", "send_after", "sent_at", "topic", "priority", "status", "channel",
        "allow_digest", "critical",
    ):  # fmt: skip
        if status == MessageStatus.MERGED:
            continue  # a digest part rides on its host: one contact
        sent = status != MessageStatus.QUEUED
        views[cid].planned.append(
            policy.Planned(mid, sent_at or at, topic, priority, sent, channel, digest, critical)
        )
    keyed = live.exclude(dedup_key="")
    if dedup_keys is not None:
        keyed = keyed.filter(dedup_key__in=dedup_keys)
    for cid, key in keyed.values_list("customer_id", "dedup_key"):
        views[cid].dedup_keys.add(key)
    return views


def addresses_of(customer_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Where each customer can be reached, per channel: the primary identity of a kind, else the oldest."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    for cid, kind, value in (
        Identity.objects.filter(customer_id__in=customer_ids, kind__in=list(CHANNEL_OF_IDENTITY))
        .order_by("customer_id", "kind", "-is_primary", "id")
        .values_list("customer_id", "kind", "value")
    ):
        found[cid].setdefault(CHANNEL_OF_IDENTITY[kind], value)
    return found


def _load_suppressions(views: dict[int, policy.CustomerView]) -> None:
    ids = list(views)
    scopes: dict[int, set[str]] = defaultdict(set)
    for cid, scope in Suppression.objects.filter(customer_id__in=ids).values_list("customer_id", "scope"):
        scopes[cid].add(scope)
    for cid, found in scopes.items():
        views[cid].suppressed_scopes = frozenset(found)
    addresses = {(ch, addr): cid for cid, v in views.items() for ch, addr in v.addresses.items()}
    if not addresses or not Suppression.objects.filter(customer__isnull=True).exists():
        return
    listed = Suppression.objects.filter(
        customer__isnull=True, address__in={addr for (_ch, addr) in addresses}
    ).values_list("channel", "address")
    blocked: dict[int, set[str]] = defaultdict(set)
    for channel, address in listed:
        for (ch, addr), cid in addresses.items():
            if addr == address and (not channel or channel == ch):
                blocked[cid].add(ch)
    for cid, channels in blocked.items():
        views[cid].suppressed_channels = frozenset(channels)


def customer_context(customer: Customer) -> dict[str, Any]:
    return {
        "first_name": customer.given_name,
        "full_name": customer.full_name,
        "language": customer.language,
        "city": customer.city,
        "time_zone": customer.time_zone,
        "attributes": customer.attributes,
    }


def write(message: Message, words: Words, language: str) -> bool:
    """Render the message's subject and body for its channel, variant and language; False if no words."""
    picked = words.pick(message.variant, message.channel, language)
    if picked is None:
        return False
    lang, (subject, body) = picked
    message.language = lang
    message.subject = render(subject, message.context)[:200]
    message.body = render(body, message.context)
    return True


@transaction.atomic
def plan(drafts: Sequence[Draft], *, now: datetime, rules: policy.Rules | None = None) -> PlanResult:
    """Decide on every draft and write the decisions; returns the messages written."""
    rules = rules or current_rules()
    keys = {d.intent.dedup_key for d in drafts if d.intent.dedup_key}
    views = load_views(sorted({d.customer_id for d in drafts}), now=now, rules=rules, dedup_keys=keys)
    languages = dict(Customer.objects.filter(pk__in=list(views)).values_list("pk", "language"))
    result = PlanResult()
    new: list[Message] = []
    pending: dict[int, Message] = {}  # temporary (negative) ids of messages not yet written
    bumped_existing: list[tuple[int, str]] = []
    for n, draft in enumerate(drafts):
        view = views.get(draft.customer_id)
        if view is None:
            continue
        intent = draft.intent
        channels = draft.words.channels(Variant.STANDARD)
        intent = replace(intent, channels=channels, has_retention_variant=draft.words.has(Variant.RETENTION))
        decision = policy.decide(view, intent, now, rules)
        message = _message_for(draft, decision, now)
        if draft.existing is not None:
            message.trail = [*draft.existing.trail, *message.trail]
        if decision.outcome in {"queued", "merged"} and not write(
            message, draft.words, languages.get(draft.customer_id, "uk")
        ):
            message.status, message.reason = MessageStatus.SUPPRESSED, "no_template"
            message.trail.append(("template", "suppress", "no_template", message.channel))
        result.counts[message.status] += 1
        if message.status in {MessageStatus.QUEUED, MessageStatus.MERGED}:
            _remember(view, message, intent, temp_id=-(n + 1), pending=pending)
        bumped_existing.extend(_take_places(view, decision.bumped, pending, kind=draft.kind))
        if draft.existing is not None:
            _copy_decision(draft.existing, message)
            result.messages.append(draft.existing)
        else:
            new.append(message)
    Message.objects.bulk_create(new, batch_size=1000)
    _link_digests(new, pending)
    existing = [d.existing for d in drafts if d.existing is not None]
    if existing:
        Message.objects.bulk_update(existing, DECISION_FIELDS, batch_size=500)
    if bumped_existing:
        _move_bumped(bumped_existing, now=now, rules=rules)
    result.messages.extend(new)
    return result


def _remember(
    view: policy.CustomerView,
    message: Message,
    intent: policy.Intent,
    *,
    temp_id: int,
    pending: dict[int, Message],
) -> None:
    """What the next decision for this customer in the same batch must know about this one."""
    if message.status == MessageStatus.QUEUED:
        view.planned.append(
            policy.Planned(
                temp_id, message.send_after, intent.topic, intent.priority, False,
                message.channel, intent.allow_digest, intent.critical,
            )
        )  # fmt: skip
    if intent.dedup_key:
        view.dedup_keys.add(intent.dedup_key)
    pending[temp_id] = message


def _take_places(
    view: policy.CustomerView, victims: list[int], pending: dict[int, Message], *, kind: str
) -> list[tuple[int, str]]:
    """Drop bumped messages of this batch at once; return the ones already in the outbox, to move."""
    stored = []
    for victim in victims:
        view.planned = [p for p in view.planned if p.message_id != victim]
        if victim < 0:
            loser = pending[victim]
            loser.status, loser.reason = MessageStatus.DROPPED, "bumped"
            loser.trail.append(("caps", "drop", "bumped", kind))
        else:
            stored.append((victim, kind))
    return stored


DECISION_FIELDS = [
    "status", "reason", "trail", "channel", "address", "fallbacks", "variant", "language", "subject",
    "body", "send_after", "expires_at", "digest_into", "dedup_key",
]  # fmt: skip


def _message_for(draft: Draft, decision: policy.Decision, now: datetime) -> Message:
    intent = draft.intent
    status = {
        "queued": MessageStatus.QUEUED,
        "merged": MessageStatus.MERGED,
        "suppressed": MessageStatus.SUPPRESSED,
        "dropped": MessageStatus.DROPPED,
        "expired": MessageStatus.EXPIRED,
    }[decision.outcome]
    message = Message(
        customer_id=draft.customer_id,
        trigger_id=draft.trigger_id,
        event_id=draft.event_id,
        incident_id=draft.incident_id,
        kind=draft.kind,
        topic=intent.topic,
        priority=intent.priority,
        critical=intent.critical,
        allow_digest=intent.allow_digest,
        when_late=intent.when_late,
        when_bumped=draft.when_bumped,
        variant=decision.variant,
        channel=decision.channel,
        address=decision.address,
        fallbacks=decision.fallbacks,
        context=draft.context,
        dedup_key=intent.dedup_key if status in LIVE_STATUSES else "",
        status=status,
        reason=decision.reason,
        trail=[list(step) for step in decision.trail],
        planned_at=now,
        send_after=decision.send_after or now,
        expires_at=decision.expires_at,
    )
    if decision.digest_into is not None:
        message.digest_into_id = decision.digest_into
    return message


def _copy_decision(target: Message, source: Message) -> None:
    for name in DECISION_FIELDS:
        setattr(target, name, getattr(source, name))
    target.digest_into_id = source.digest_into_id


def _link_digests(new: list[Message], pending: dict[int, Message]) -> None:
    """Digest parts that joined a message planned in the same batch point at it once it has an id."""
    linked = []
    for message in new:
        host = message.digest_into_id
        if host is not None and host < 0:
            message.digest_into_id = pending[host].pk
            linked.append(message)
    if linked:
        Message.objects.bulk_update(linked, ["digest_into"])


def _move_bumped(victims: list[tuple[int, str]], *, now: datetime, rules: policy.Rules) -> None:
    """Messages a more important one took the place of: dropped, or planned again for a later slot
    (without the right to move anyone else, so one arrival cannot set off a chain)."""
    rows = Message.objects.select_for_update().filter(
        pk__in=[pk for pk, _kind in victims], status=MessageStatus.QUEUED
    )
    by_kind = dict(victims)
    again: list[Draft] = []
    for message in rows:
        note = ["caps", "bump", "bumped", by_kind.get(message.pk, "")]
        if message.when_bumped == WhenBumped.DROP:
            message.status, message.reason = MessageStatus.DROPPED, "bumped"
            message.trail = [*message.trail, note]
            message.save(update_fields=["status", "reason", "trail"])
            continue
        message.trail = [*message.trail, note]
        message.status = MessageStatus.DROPPED  # out of the way while it is planned again
        message.save(update_fields=["status", "trail"])
        again.append(
            Draft(
                customer_id=message.customer_id,
                intent=policy.Intent(
                    topic=message.topic,
                    priority=0,
                    critical=message.critical,
                    allow_digest=False,
                    dedup_key=message.dedup_key,
                    ttl=(message.expires_at - now) if message.expires_at else None,
                    when_late=message.when_late,
                ),
                kind=message.kind,
                words=Words(
                    {(message.variant, message.channel, message.language): (message.subject, message.body)}
                ),
                context=message.context,
                existing=message,
            )
        )
    if again:
        plan(again, now=now, rules=rules)


def transactional_intent(
    *, dedup_key: str, critical: bool, priority: int = 90, ttl: timedelta | None = None
) -> policy.Intent:
    return policy.Intent(
        topic=Topic.TRANSACTIONAL,
        priority=priority,
        critical=critical,
        dedup_key=dedup_key,
        ttl=ttl,
        when_late="expire" if ttl else "hold",
    )
