"""Planning: load what the policy needs about many customers at once, ask it, and write its answers.

Every outbound message is planned here, whether a trigger fired for one customer or an incident reaches
a hundred thousand: the policy (``engage.policy``) decides and this module writes one ``Message`` row per
decision (sent, deferred and suppressed alike), so the decision and the outbox entry commit in one
transaction. The words are written later, when the message goes (``words``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from forewarn.core import preferences
from forewarn.core.bulk import Rows, fetch
from forewarn.core.lookups import Keys
from forewarn.core.vocab import Topic
from forewarn.customers.models import Consent, Customer
from forewarn.customers.services.reach import addresses_of
from forewarn.engage import policy
from forewarn.engage.models import (
    LIVE_STATUSES,
    FrequencyCap,
    Message,
    MessageStatus,
    Suppression,
    Variant,
    WhenBumped,
)
from forewarn.engage.services import risk
from forewarn.engage.services.words import Words, words_for


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
    # The address to use on the channel the policy chooses, when it is not the customer's primary one
    # (an answer goes where the customer wrote from).
    address: str = ""


@dataclass
class PlanResult:
    ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # How many messages each event led to.
    per_event: dict[int, int] = field(default_factory=lambda: defaultdict(int))


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
        opt_in_topics=preferences.opt_in_codes(),
    )


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


EVERYTHING = policy.Reads(planned=True, risk=True)


def load_views(
    customer_ids: Collection[int],
    *,
    now: datetime,
    rules: policy.Rules,
    dedup_keys: set[str] | None = None,
    reads: policy.Reads = EVERYTHING,
) -> dict[int, policy.CustomerView]:
    """Everything the policy needs about these customers, in a handful of queries (none of them sorted:
    the models' default orderings are cleared, each would cost a sort of every row read). ``reads``
    leaves out what the decisions to come will not look at (a notice needs no caps' history)."""
    views: dict[int, policy.CustomerView] = {}
    customers = Customer.objects.filter(pk__among=Keys(customer_ids)).order_by()
    default = preferences.quiet_hours_default()
    for pk, zone, own_start, own_end, preferred in fetch(
        customers.values_list("pk", "time_zone", "quiet_hours_start", "quiet_hours_end", "preferred_channel")
    ):
        q_start, q_end = preferences.quiet_hours_of(own_start, own_end, default)
        views[pk] = policy.CustomerView(
            customer_id=pk,
            zone=_zone(zone),
            quiet_start=q_start,
            quiet_end=q_end,
            preferred_channel=preferred,
            consents={},
            addresses={},
        )
    if reads.risk:
        # Only the few profiles that carry a risk signal need their attributes read.
        risky = customers.filter(attributes__has_any_keys=risk.RISK_KEYS).values_list("pk", "attributes")
        for pk, attributes in fetch(risky):
            views[pk].risk = risk.of_attributes(attributes or {}, now)
        for pk, reason in risk.signalled([pk for pk, v in views.items() if not v.risk], now).items():
            views[pk].risk = reason
    ids = Keys(views)
    consents = Consent.objects.filter(customer_id__among=ids).order_by()
    for cid, topic, channel, status in fetch(
        consents.values_list("customer_id", "topic", "channel", "status")
    ):
        views[cid].consents[(topic, channel)] = status
    for cid, addresses in addresses_of(views.keys()).items():
        views[cid].addresses = addresses
    _load_suppressions(views)
    lookback = max((c.window for c in rules.caps), default=timedelta(0))
    live = Message.objects.filter(customer_id__among=ids, status__in=LIVE_STATUSES).order_by()
    counted = live.filter(Q(send_after__gte=now - lookback) | Q(status=MessageStatus.QUEUED))
    if not reads.transactional:  # as ``Reads.keeps``: a queued part of a digest still matters
        counted = counted.exclude(
            Q(topic=Topic.TRANSACTIONAL) & ~Q(status=MessageStatus.QUEUED, allow_digest=True)
        )
    columns = counted.values_list(
        "pk", "customer_id", "send_after", "sent_at", "topic", "priority", "status", "channel",
        "allow_digest", "critical",
    )  # fmt: skip
    for mid, cid, at, sent_at, topic, priority, status, channel, digest, critical in (
        fetch(columns) if reads.planned else ()
    ):
        if status == MessageStatus.MERGED:
            continue  # a digest part rides on its host: one contact
        sent = status != MessageStatus.QUEUED
        views[cid].planned.append(
            policy.Planned(mid, sent_at or at, topic, priority, sent, channel, digest, critical)
        )
    keyed = live.exclude(dedup_key="")
    if dedup_keys is not None:
        keyed = keyed.filter(dedup_key__among=Keys(dedup_keys))
    for cid, key in fetch(keyed.values_list("customer_id", "dedup_key")):
        views[cid].dedup_keys.add(key)
    return views


def _load_suppressions(views: dict[int, policy.CustomerView]) -> None:
    ids = Keys(views)
    scopes: dict[int, set[str]] = defaultdict(set)
    for cid, scope in fetch(
        Suppression.objects.filter(customer_id__among=ids).order_by().values_list("customer_id", "scope")
    ):
        scopes[cid].add(scope)
    for cid, found in scopes.items():
        views[cid].suppressed_scopes = frozenset(found)
    if not Suppression.objects.filter(customer__isnull=True).exists():
        return
    # Who is reached at each address, on which channel (one address can serve two channels).
    reached: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for cid, view in views.items():
        for ch, addr in view.addresses.items():
            reached[addr].append((ch, cid))
    if not reached:
        return
    listed = fetch(
        Suppression.objects.filter(customer__isnull=True, address__among=Keys(reached))
        .order_by()
        .values_list("channel", "address")
    )
    blocked: dict[int, set[str]] = defaultdict(set)
    for channel, address in listed:
        for ch, cid in reached[address]:
            if not channel or channel == ch:
                blocked[cid].add(ch)
    for cid, channels in blocked.items():
        views[cid].suppressed_channels = frozenset(channels)


STATUS_OF = {
    "queued": MessageStatus.QUEUED,
    "merged": MessageStatus.MERGED,
    "suppressed": MessageStatus.SUPPRESSED,
    "dropped": MessageStatus.DROPPED,
    "expired": MessageStatus.EXPIRED,
}
# The columns of a new message, in the order ``_row`` lists them.
NEW_COLUMNS = [
    "customer", "trigger", "event", "incident", "kind", "topic", "priority", "critical", "allow_digest",
    "when_late", "when_bumped", "variant", "language", "channel", "address", "fallbacks", "subject", "body",
    "context", "dedup_key", "status", "reason", "trail", "planned_at", "send_after", "expires_at",
    "digest_into", "attempts", "claim_token", "lease_until", "provider", "provider_message_id", "sent_at",
    "delivered_at", "error",
]  # fmt: skip
STATUS_AT, REASON_AT, TRAIL_AT, DIGEST_AT = (
    NEW_COLUMNS.index(c) for c in ("status", "reason", "trail", "digest_into")
)
DECISION_FIELDS = [
    "status", "reason", "trail", "channel", "address", "fallbacks", "variant", "send_after", "expires_at",
    "digest_into", "dedup_key",
]  # fmt: skip
DECISION_AT = [NEW_COLUMNS.index(name) for name in DECISION_FIELDS]


def _row(
    draft: Draft,
    decision: policy.Decision,
    status: str,
    trail: list[Any],
    now: datetime,
    *,
    interned: dict[tuple[Any, ...], tuple[Any, ...]],
) -> list[Any]:
    """A new message's values. Its trail and fallbacks are interned: rows whose trail is the same
    (everyone "ok" on sms) share one object, which ``Rows`` then encodes once."""
    intent = draft.intent
    trail_of = tuple(trail)
    if draft.existing is None:  # a trail read back from the database holds lists, not tuples
        trail_of = interned.setdefault(trail_of, trail_of)
    fallbacks = tuple(decision.fallbacks)
    fallbacks = interned.setdefault(fallbacks, fallbacks)
    return [
        draft.customer_id, draft.trigger_id, draft.event_id, draft.incident_id, draft.kind, intent.topic,
        intent.priority, intent.critical, intent.allow_digest, intent.when_late, draft.when_bumped,
        decision.variant, "", decision.channel, decision.address and (draft.address or decision.address),
        fallbacks, "", "",
        draft.context, intent.dedup_key if status in LIVE_STATUSES else "", status, decision.reason,
        trail_of, now,
        decision.send_after or now, decision.expires_at, decision.digest_into, 0, "", None, "", "", None,
        None, "",
    ]  # fmt: skip


@transaction.atomic
def plan(drafts: Sequence[Draft], *, now: datetime, rules: policy.Rules | None = None) -> PlanResult:
    """Decide on every draft and write the decisions, one row each; the words are written when a message
    is sent (``outbox``), so planning a broadcast costs little more than storing its rows."""
    rules = rules or current_rules()
    keys = {d.intent.dedup_key for d in drafts if d.intent.dedup_key}
    reads = policy.reads({id(d.intent): d.intent for d in drafts}.values(), rules)
    views = load_views({d.customer_id for d in drafts}, now=now, rules=rules, dedup_keys=keys, reads=reads)
    result = PlanResult()
    rows: list[list[Any]] = []
    # Messages of this batch not yet written, by the temporary (negative) id the policy knows them by.
    pending: dict[int, list[Any]] = {}
    existing: list[tuple[Message, list[Any]]] = []
    bumped_existing: list[tuple[int, str]] = []
    # A broadcast shares one intent and one set of words among all its drafts: complete each pair once.
    intents: dict[tuple[int, int], policy.Intent] = {}
    interned: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for n, draft in enumerate(drafts):
        view = views.get(draft.customer_id)
        if view is None:
            continue
        key = (id(draft.intent), id(draft.words))
        intent = intents.get(key)
        if intent is None:
            intent = intents[key] = replace(
                draft.intent,
                channels=draft.words.channels(Variant.STANDARD),
                has_retention_variant=draft.words.has(Variant.RETENTION),
            )
        decision = policy.decide(view, intent, now, rules)
        status = STATUS_OF[decision.outcome]
        trail = [*draft.existing.trail, *decision.trail] if draft.existing is not None else decision.trail
        result.counts[status] += 1
        row = _row(draft, decision, status, trail, now, interned=interned)
        temp_id = draft.existing.pk if draft.existing is not None else -(n + 1)
        if status in {MessageStatus.QUEUED, MessageStatus.MERGED}:
            _remember(view, intent, decision, status, temp_id)
            pending[temp_id] = row
        bumped_existing.extend(_take_places(view, decision.bumped, pending, kind=draft.kind))
        if draft.existing is not None:
            existing.append((draft.existing, row))
        else:
            rows.append(row)
    writer = Rows(Message, NEW_COLUMNS)
    ids = writer.insert_returning_pks(rows)
    _link_digests(rows, ids, pending, existing)
    for message, row in existing:
        _apply(message, row)
    if existing:
        # Plain UPDATEs by key: bulk_update's CASE expressions cost Django far more than the database.
        decided = Rows(Message, DECISION_FIELDS)
        decided.update([[*(row[at] for at in DECISION_AT), message.pk] for message, row in existing])
    if bumped_existing:
        _move_bumped(bumped_existing, now=now, rules=rules)
    result.ids = [*ids, *(m.pk for m, _row in existing)]
    for row in [*rows, *(row for _m, row in existing)]:
        if row[2] is not None:
            result.per_event[row[2]] += 1
    return result


def _apply(message: Message, row: list[Any]) -> None:
    for name, at in zip(DECISION_FIELDS, DECISION_AT, strict=True):
        setattr(message, "digest_into_id" if name == "digest_into" else name, row[at])


def _remember(
    view: policy.CustomerView, intent: policy.Intent, decision: policy.Decision, status: str, temp_id: int
) -> None:
    """What the next decision for this customer in the same batch must know about this one."""
    if status == MessageStatus.QUEUED:
        assert decision.send_after is not None
        view.planned.append(
            policy.Planned(
                temp_id, decision.send_after, intent.topic, intent.priority, False,
                decision.channel, intent.allow_digest, intent.critical,
            )
        )  # fmt: skip
    if intent.dedup_key:
        view.dedup_keys.add(intent.dedup_key)


def _take_places(
    view: policy.CustomerView, victims: list[int], pending: dict[int, list[Any]], *, kind: str
) -> list[tuple[int, str]]:
    """Drop bumped messages of this batch at once; return the ones already in the outbox, to move."""
    stored = []
    for victim in victims:
        view.planned = [p for p in view.planned if p.message_id != victim]
        if victim in pending:  # decided in this batch: not written yet
            loser = pending[victim]
            loser[STATUS_AT], loser[REASON_AT] = MessageStatus.DROPPED, "bumped"
            loser[TRAIL_AT] = [*loser[TRAIL_AT], ("caps", "drop", "bumped", kind)]
        else:
            stored.append((victim, kind))
    return stored


def _link_digests(
    rows: list[list[Any]],
    ids: list[int],
    pending: dict[int, list[Any]],
    existing: list[tuple[Message, list[Any]]],
) -> None:
    """Digest parts that joined a message planned in the same batch point at it once it has an id: new
    parts (written with the host's temporary id) are corrected, messages decided again get the host's
    id before they are updated."""
    written = {id(row): pk for row, pk in zip(rows, ids, strict=True)}
    links = [
        [written[id(pending[row[DIGEST_AT]])], pk]
        for row, pk in zip(rows, ids, strict=True)
        if row[DIGEST_AT] is not None and row[DIGEST_AT] < 0
    ]
    if links:
        Rows(Message, ["digest_into"]).update(links)
    for _message, row in existing:
        if row[DIGEST_AT] is not None and row[DIGEST_AT] < 0:
            row[DIGEST_AT] = written[id(pending[row[DIGEST_AT]])]


def _words_once(message: Message, of_trigger: dict[int, Words]) -> Words:
    """``words_for``, reading each trigger's templates once for the many messages it planned."""
    if message.trigger_id is None:
        return words_for(message)
    if message.trigger_id not in of_trigger:
        of_trigger[message.trigger_id] = words_for(message)
    return of_trigger[message.trigger_id]


def _move_bumped(victims: list[tuple[int, str]], *, now: datetime, rules: policy.Rules) -> None:
    """Messages a more important one took the place of: dropped, or planned again for a later slot
    (without the right to move anyone else, so one arrival cannot set off a chain)."""
    rows = (
        # "of self": PostgreSQL will not lock the nullable side of the joins select_related makes.
        Message.objects.select_for_update(of=("self",))
        .filter(pk__in=[pk for pk, _kind in victims], status=MessageStatus.QUEUED)
        .select_related("trigger", "incident")
    )
    by_kind = dict(victims)
    dropped: list[Message] = []
    again: list[Draft] = []
    words_of_trigger: dict[int, Words] = {}
    for message in rows:
        message.trail = [*message.trail, ["caps", "bump", "bumped", by_kind.get(message.pk, "")]]
        if message.when_bumped == WhenBumped.DROP:
            message.status, message.reason = MessageStatus.DROPPED, "bumped"
            dropped.append(message)
            continue
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
                words=_words_once(message, words_of_trigger),
                context=message.context,
                existing=message,
            )
        )
    if dropped:
        Rows(Message, ["status", "reason", "trail"]).update(
            [[m.status, m.reason, m.trail, m.pk] for m in dropped]
        )
    # Out of the way while they are planned again (their new decision, trail included, replaces this).
    Message.objects.filter(pk__among=Keys(d.existing.pk for d in again if d.existing)).update(
        status=MessageStatus.DROPPED
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
