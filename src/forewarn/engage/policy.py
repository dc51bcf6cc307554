"""The contact policy: the one gate every outbound message passes, as pure functions.

Nothing here touches the database. ``decide`` takes what the planner loaded about one customer (their
consents, addresses, time zone, quiet hours, what they were told lately) and one intended message, and
answers whether, when, where and in which variant it goes, with a reason code for every step. The same
function runs for one triggered message and for a million-customer broadcast (which loads customers in
bulk and calls it in a loop), so it is kept free of I/O and cheap.

The steps, in order (ADR 0008 says why this order):

1. ``dedup``: a message with a de-duplication key the customer already has is never said twice.
2. ``suppression``: global unsubscribe and suppression lists.
3. ``risk``: a promotion to a customer at risk becomes the retention variant, or nothing.
4. ``channel``: consent for the topic on each channel, the preferred channel first, then the fallback
   chain among consented channels with a known address (and a template in that channel).
5. ``quiet_hours``: in the customer's time zone; deferred to the end of the window unless critical.
6. ``digest``: joins a not-yet-sent message due close by, where both allow it.
7. ``caps``: frequency caps over rolling windows, shared by every trigger and department; when they
   bite, a more important message takes the place of a less important one still in the queue.
8. ``ttl``: a deferral that would arrive too late holds, drops or expires, as the message's class says.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

TRANSACTIONAL = "transactional"
MARKETING = "marketing"
# Topics a customer must have said yes to; the others go unless the customer said no (contract basis).
# These are the built-in ones; the stored topics say for themselves (``Rules.opt_in_topics``).
OPT_IN_TOPICS = frozenset({"marketing", "surveys"})
# Channels a proactive message can go through (a phone call is a call list, not a message).
MESSAGE_CHANNELS = ("telegram", "viber", "sms", "email")

Trail = list[tuple[str, str, str, str]]


@dataclass(frozen=True, slots=True)
class Cap:
    topic: str  # "" counts every topic but transactional
    limit: int
    window: timedelta

    def counts(self, topic: str) -> bool:
        return topic == self.topic if self.topic else topic != TRANSACTIONAL


@dataclass(frozen=True, slots=True)
class Rules:
    caps: tuple[Cap, ...] = ()
    fallback_chain: tuple[str, ...] = MESSAGE_CHANNELS
    # Messages that may join a digest wait this long, so a burst goes out as one.
    digest_window: timedelta = timedelta(minutes=10)
    # How far ahead the policy looks for a free slot before it gives up on a message that holds.
    horizon: timedelta = timedelta(days=30)
    opt_in_topics: frozenset[str] = OPT_IN_TOPICS


@dataclass(slots=True)
class Planned:
    """A message to this customer that counts: already sent, or queued and not yet sent."""

    message_id: int
    at: datetime
    topic: str
    priority: int
    sent: bool
    channel: str = ""
    allow_digest: bool = False
    critical: bool = False


@dataclass(slots=True)
class CustomerView:
    """What the policy needs to know about one customer, loaded in bulk by the planner."""

    customer_id: int
    zone: ZoneInfo
    quiet_start: time
    quiet_end: time
    preferred_channel: str
    # (topic, channel) -> "granted" | "denied"; no entry: never asked.
    consents: dict[tuple[str, str], str]
    # channel -> address (E.164 phone for sms, email, Telegram chat id, Viber id)
    addresses: dict[str, str]
    # Why a promotion would be unwelcome now ("detractor", "open_complaint", "churn_risk"), or "".
    risk: str = ""
    # Scopes of the customer's global unsubscribes; channels whose address is on a suppression list.
    suppressed_scopes: frozenset[str] = frozenset()
    suppressed_channels: frozenset[str] = frozenset()
    dedup_keys: set[str] = field(default_factory=set)
    planned: list[Planned] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Intent:
    """A message someone wants to send, before the policy has had its say."""

    topic: str
    priority: int = 50
    critical: bool = False
    allow_digest: bool = False
    dedup_key: str = ""
    ttl: timedelta | None = None
    when_late: str = "expire"  # hold | expire | drop
    # Channels the message has words for; None: every channel.
    channels: frozenset[str] | None = None
    has_retention_variant: bool = False


@dataclass(slots=True)
class Decision:
    outcome: str  # "queued" | "suppressed" | "dropped" | "expired" | "merged"
    reason: str
    trail: Trail
    channel: str = ""
    address: str = ""
    fallbacks: list[str] = field(default_factory=list)
    variant: str = "standard"
    send_after: datetime | None = None
    expires_at: datetime | None = None
    digest_into: int | None = None
    # Queued messages of lower priority this one takes the place of.
    bumped: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reads:
    """Which parts of a ``CustomerView`` deciding on some intents looks at (the rest need not be loaded)."""

    planned: bool  # what the customer was told lately and what is queued: digests and caps
    risk: bool  # promotions only
    # Whether transactional messages in the history count (only under a cap on transactional notices):
    # most of what a customer is sent is transactional, and a promotion's caps never count it.
    transactional: bool = True

    def keeps(self, planned: Planned) -> bool:
        """Whether ``decide`` can be affected by this message in the customer's history."""
        if not self.planned:
            return False
        return (
            self.transactional
            or planned.topic != TRANSACTIONAL
            or (planned.allow_digest and not planned.sent)
        )


def reads(intents: Iterable[Intent], rules: Rules) -> Reads:
    """What ``decide`` will read for these intents under these rules."""
    planned = risk = transactional = False
    for intent in intents:
        caps = [c for c in rules.caps if c.counts(intent.topic)]
        planned = planned or intent.allow_digest or bool(caps)
        risk = risk or intent.topic == MARKETING
        transactional = transactional or any(c.counts(TRANSACTIONAL) for c in caps)
    return Reads(planned=planned, risk=risk, transactional=transactional)


# --- quiet hours ---------------------------------------------------------------------------------------


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether a local wall-clock time falls in the window [start, end); the window may wrap midnight,
    and an empty window (start == end) means no quiet hours."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _wall(moment: datetime, zone: ZoneInfo) -> time:
    local = moment.astimezone(zone)
    return local.time()  # time() is the naive wall-clock reading (timetz() would keep the zone)


def next_allowed_time(moment: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    """The earliest instant at or after ``moment`` that is outside the customer's quiet hours.

    Works on the customer's wall clock: the window ends at ``end`` local time on the right day, whatever
    the offset is that day. If ``end`` does not exist that day (clocks jumped over it), the window ends
    at the first instant after the jump; if it exists twice (clocks went back), at its first occurrence,
    or at its second for a moment in the repeated hour that is quiet again.
    """
    local = moment.astimezone(zone)
    wall = local.time()
    if not in_quiet_hours(wall, start, end):
        return moment
    day = local.date()
    # In a wrapping window, the evening part ends tomorrow; the early-morning part ends today.
    if start > end and wall >= start:
        day = day + timedelta(days=1)
    wall_end = datetime.combine(day, end)
    candidate = wall_end.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if candidate < moment:
        # Clocks went back and the quiet wall-clock time comes round again: it is the second time the
        # window ends that counts, after the repeated hour.
        candidate = wall_end.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if candidate.astimezone(zone).replace(tzinfo=None) != wall_end:
        # ``end`` falls in a spring-forward gap: the window ends when the clocks jump, the first
        # instant between the gap's two readings that is no longer quiet.
        t = wall_end.replace(tzinfo=zone, fold=1).astimezone(UTC)
        step = timedelta(minutes=1)
        while t < candidate and (t < moment or in_quiet_hours(_wall(t, zone), start, end)):
            t += step
        candidate = t
        if in_quiet_hours(_wall(candidate, zone), start, end):
            # The gap swallowed the whole allowed part of the day: the next day's window end.
            return next_allowed_time(candidate, zone, start, end)
    return max(candidate, moment)


# --- frequency caps ------------------------------------------------------------------------------------


def cap_allows(times: Sequence[datetime], at: datetime, limit: int, window: timedelta) -> bool:
    """Whether one more message at ``at`` keeps every window [s, s + window) that holds it within
    ``limit``. ``times`` are the other counted messages, sorted."""
    if limit <= 0:
        return False
    lo = bisect_right(times, at - window)
    hi = bisect_right(times, at)
    # The windows holding ``at`` start in (at - window, at]; the count changes only where a window
    # starts at one of the messages, or just after at - window.
    if hi - lo + 1 > limit:
        return False
    for i in range(lo, hi):
        start = times[i]
        inside = bisect_left(times, start + window) - i
        if inside + 1 > limit:
            return False
    # And the window that starts at ``at`` itself holds what follows it.
    following = bisect_left(times, at + window) - bisect_left(times, at)
    return following + 1 <= limit


def next_cap_slot(times: Sequence[datetime], at: datetime, limit: int, window: timedelta) -> datetime | None:
    """The earliest instant at or after ``at`` where ``cap_allows``; None if there is none (limit 0).

    A slot can open only when a counted message leaves the window (at its time + window), so those are
    the only candidates besides ``at`` itself.
    """
    if limit <= 0:
        return None
    if cap_allows(times, at, limit, window):
        return at
    for t in sorted({t + window for t in times if t + window > at}):
        if cap_allows(times, t, limit, window):
            return t
    return None  # pragma: no cover - past the last message + window every cap allows one more


# --- the gate ------------------------------------------------------------------------------------------


def choose_channels(view: CustomerView, intent: Intent, rules: Rules, trail: Trail) -> list[str]:
    """Channels the message may go through, best first: the preferred one, then the fallback chain.
    A channel needs consent for the topic (a recorded yes for opt-in topics, no recorded no for the
    others), an address, an address not on a suppression list, and words for it."""
    order: list[str] = []
    if view.preferred_channel in rules.fallback_chain:
        order.append(view.preferred_channel)
    order.extend(c for c in rules.fallback_chain if c != view.preferred_channel)
    consents, addresses, topic = view.consents, view.addresses, intent.topic
    usable: list[str] = []
    for channel in order:
        reason = (
            consent_reason(consents.get((topic, channel)), opt_in=topic in rules.opt_in_topics)
            or ("no_address" if channel not in addresses else "")
            or ("address_suppressed" if channel in view.suppressed_channels else "")
            or ("no_template" if intent.channels is not None and channel not in intent.channels else "")
        )
        if reason:
            trail.append(("channel", "skip", reason, channel))
        else:
            usable.append(channel)
    return usable


def consent_reason(answer: str | None, *, opt_in: bool) -> str:
    """Why the customer's answer for this topic on a channel stops a message there, or "": a recorded no
    always; no answer at all for an opt-in topic (marketing, surveys, and those stored as opt-in)."""
    if answer == "denied":
        return "consent_denied"
    if answer is None and opt_in:
        return "consent_missing"
    return ""


def still_allowed_reason(
    *, consent: str | None, scopes: frozenset[str], address_suppressed: bool, topic: str, opt_in: bool
) -> str:
    """The send-time re-check of a message planned earlier, with the same rules as planning: why it may
    no longer go (consent, a global unsubscribe, a suppressed address), or ""."""
    reason = consent_reason(consent, opt_in=opt_in) or suppression_reason(scopes, topic)
    if not reason and address_suppressed:
        reason = "address_suppressed"
    return reason


def suppression_reason(scopes: frozenset[str], topic: str) -> str:
    """Why a customer's global unsubscribes stop a message on this topic, or ""."""
    if not scopes:
        return ""
    if "everything" in scopes:
        return "unsubscribed_everything"
    if "non_transactional" in scopes and topic != TRANSACTIONAL:
        return "unsubscribed"
    if "marketing" in scopes and topic == MARKETING:
        return "unsubscribed_marketing"
    return ""


def _arbitrate(view: CustomerView, intent: Intent, at: datetime, caps: list[Cap]) -> tuple[bool, list[int]]:
    """Whether ``at`` can be freed for this message by moving queued messages of lower priority, and
    which. Sent messages never move; the least important queued ones go first."""
    relevant = [p for p in view.planned if any(c.counts(p.topic) for c in caps)]
    movable = sorted(
        (p for p in relevant if not p.sent and p.priority < intent.priority),
        key=lambda p: (p.priority, -p.at.timestamp()),
    )
    bumped: list[int] = []
    remaining = list(relevant)
    for victim in [None, *movable]:
        if victim is not None:
            remaining.remove(victim)
            bumped.append(victim.message_id)
        if all(
            cap_allows(sorted(p.at for p in remaining if c.counts(p.topic)), at, c.limit, c.window)
            for c in caps
        ):
            return bool(bumped), bumped
    return False, []


def decide(  # noqa: C901, PLR0911, PLR0912 - the policy's steps in ADR 0008's order, read top to bottom
    view: CustomerView, intent: Intent, now: datetime, rules: Rules
) -> Decision:
    trail: Trail = []

    if intent.dedup_key and intent.dedup_key in view.dedup_keys:
        trail.append(("dedup", "suppress", "already_said", intent.dedup_key))
        return Decision("suppressed", "already_said", trail)
    trail.append(("dedup", "pass", "", ""))

    reason = suppression_reason(view.suppressed_scopes, intent.topic)
    if reason:
        trail.append(("suppression", "suppress", reason, ""))
        return Decision("suppressed", reason, trail)
    trail.append(("suppression", "pass", "", ""))

    variant = "standard"
    if intent.topic == MARKETING and view.risk:
        if not intent.has_retention_variant:
            trail.append(("risk", "suppress", "at_risk", view.risk))
            return Decision("suppressed", "at_risk", trail)
        variant = "retention"
        trail.append(("risk", "switch", "retention_variant", view.risk))
    else:
        trail.append(("risk", "pass", "", ""))

    usable = choose_channels(view, intent, rules, trail)
    if not usable:
        trail.append(("channel", "suppress", "no_channel", ""))
        return Decision("suppressed", "no_channel", trail)
    channel = usable[0]
    trail.append(
        ("channel", "pass", "preferred" if channel == view.preferred_channel else "fallback", channel)
    )

    expires_at = now + intent.ttl if intent.ttl is not None else None
    hold_until = now + (rules.digest_window if intent.allow_digest else timedelta(0))
    at = hold_until
    if intent.critical:
        trail.append(("quiet_hours", "pass", "critical", ""))
    else:
        at = next_allowed_time(hold_until, view.zone, view.quiet_start, view.quiet_end)
        if at != hold_until:
            trail.append(("quiet_hours", "defer", "quiet_hours", at.isoformat()))
        else:
            trail.append(("quiet_hours", "pass", "", ""))

    if intent.allow_digest:
        for p in view.planned:
            if (
                not p.sent
                and p.allow_digest
                and p.channel == channel
                and abs((p.at - at).total_seconds()) <= rules.digest_window.total_seconds()
            ):
                trail.append(("digest", "merge", "joined_digest", str(p.message_id)))
                return Decision(
                    "merged", "joined_digest", trail, channel, view.addresses[channel], variant=variant,
                    send_after=p.at, digest_into=p.message_id,
                )  # fmt: skip
    trail.append(("digest", "pass", "", ""))

    caps = [c for c in rules.caps if c.counts(intent.topic)]
    bumped: list[int] = []
    if caps:
        fitted, bumped = _fit_caps(view, intent, at, caps, trail=trail, expires_at=expires_at, rules=rules)
        if fitted is None:
            _step, outcome, reason, _detail = trail[-1]
            return Decision("expired" if outcome == "expire" else "dropped", reason, trail)
        at = fitted

    late = at > now + timedelta(seconds=1) and at != hold_until
    if late and intent.when_late == "drop":
        trail.append(("ttl", "drop", "would_wait", at.isoformat()))
        return Decision("dropped", "would_wait", trail)
    if intent.when_late == "expire" and expires_at is not None and at > expires_at:
        trail.append(("ttl", "expire", "past_ttl", expires_at.isoformat()))
        return Decision("expired", "past_ttl", trail)
    trail.append(("ttl", "pass", "", ""))

    reason = trail_reason(trail)
    return Decision(
        "queued",
        reason,
        trail,
        channel=channel,
        address=view.addresses[channel],
        fallbacks=usable[1:],
        variant=variant,
        send_after=at,
        expires_at=expires_at if intent.when_late == "expire" else None,
        bumped=bumped,
    )


def _fit_caps(
    view: CustomerView,
    intent: Intent,
    at: datetime,
    caps: list[Cap],
    *,
    trail: Trail,
    expires_at: datetime | None,
    rules: Rules,
) -> tuple[datetime | None, list[int]]:
    """Where the message fits under every cap: now, in a slot freed by moving less important queued
    messages, or at the next slot that opens (and is outside quiet hours)."""

    def counted(cap: Cap) -> list[datetime]:
        return sorted(p.at for p in view.planned if cap.counts(p.topic))

    if all(cap_allows(counted(c), at, c.limit, c.window) for c in caps):
        trail.append(("caps", "pass", "", ""))
        return at, []
    biting = next(c for c in caps if not cap_allows(counted(c), at, c.limit, c.window))
    cap_code = f"cap:{biting.topic or 'all'}"
    freed, bumped = _arbitrate(view, intent, at, caps)
    if freed:
        trail.append(("caps", "bump", "priority", ",".join(map(str, bumped))))
        return at, bumped
    if intent.when_late == "drop":
        trail.append(("caps", "drop", cap_code, ""))
        return None, []
    limit = at + rules.horizon
    if intent.when_late == "expire" and expires_at is not None:
        limit = min(limit, expires_at)
    candidate: datetime | None = at
    while candidate is not None and candidate <= limit:
        slots = [next_cap_slot(counted(c), candidate, c.limit, c.window) for c in caps]
        if any(s is None for s in slots):
            candidate = None
            break
        latest = max(s for s in slots if s is not None)
        if not intent.critical:
            latest = next_allowed_time(latest, view.zone, view.quiet_start, view.quiet_end)
        if latest == candidate:
            break
        candidate = latest
    if candidate is None or candidate > limit:
        outcome = "expire" if intent.when_late == "expire" and expires_at is not None else "drop"
        trail.append(("caps", outcome, cap_code, ""))
        return None, []
    trail.append(("caps", "defer", cap_code, candidate.isoformat()))
    return candidate, []


def trail_reason(trail: Iterable[tuple[str, str, str, str]]) -> str:
    """The reason worth showing first: the last step that did something (a channel passed over on the
    way to a good one is detail, not news)."""
    chosen = ""
    for _step, outcome, reason, _detail in trail:
        if outcome not in {"pass", "skip"} and reason:
            chosen = reason
    return chosen or "ok"
