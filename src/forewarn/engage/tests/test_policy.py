"""The contact policy, step by step and in combination, as pure functions (no database).

Property-based tests cover the arithmetic that is easy to get subtly wrong: quiet hours across time zones
and daylight-saving changes, and frequency caps over rolling windows.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forewarn.engage.policy import (
    Cap,
    CustomerView,
    Intent,
    Planned,
    Reads,
    Rules,
    cap_allows,
    decide,
    in_quiet_hours,
    next_allowed_time,
    next_cap_slot,
    reads,
)

KYIV = ZoneInfo("Europe/Kyiv")
# Noon in Kyiv on an ordinary weekday: outside the default quiet hours (21:00-09:00).
NOON = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
NIGHT = datetime(2026, 3, 10, 21, 30, tzinfo=UTC)  # 23:30 in Kyiv
CAPS = (Cap("marketing", 1, timedelta(days=1)), Cap("", 3, timedelta(days=7)))
RULES = Rules(caps=CAPS)


def maria(**changes: object) -> CustomerView:
    """Maria prefers SMS, has a phone and an email, took marketing by email and service by SMS."""
    view = CustomerView(
        customer_id=1,
        zone=KYIV,
        quiet_start=time(21, 0),
        quiet_end=time(9, 0),
        preferred_channel="sms",
        consents={("marketing", "email"): "granted", ("service", "sms"): "granted"},
        addresses={"sms": "+380671234567", "email": "maria@example.com"},
    )
    for name, value in changes.items():
        setattr(view, name, value)
    return view


def promo(**changes: object) -> Intent:
    fields: dict[str, object] = {"topic": "marketing", "priority": 30, "ttl": timedelta(days=2)}
    fields.update(changes)
    return Intent(**fields)  # type: ignore[arg-type]


def steps(decision: object) -> dict[str, tuple[str, str]]:
    return {step: (outcome, reason) for step, outcome, reason, _d in decision.trail}  # type: ignore[attr-defined]


# --- each step -----------------------------------------------------------------------------------------


def test_a_message_that_meets_every_rule_goes_now_through_the_preferred_channel() -> None:
    decision = decide(maria(), Intent(topic="service"), NOON, RULES)
    assert (decision.outcome, decision.channel, decision.address) == ("queued", "sms", "+380671234567")
    assert decision.send_after == NOON
    assert decision.fallbacks == ["email"]
    assert steps(decision)["channel"] == ("pass", "preferred")


def test_marketing_needs_a_yes_and_goes_where_it_was_given() -> None:
    decision = decide(maria(), promo(), NOON, RULES)
    assert (decision.outcome, decision.channel) == ("queued", "email")
    trail = decision.trail
    assert ("channel", "skip", "consent_missing", "sms") in trail
    assert steps(decision)["channel"] == ("pass", "fallback")


def test_a_refusal_on_every_reachable_channel_suppresses_with_the_reasons() -> None:
    view = maria(consents={("service", "sms"): "denied", ("service", "email"): "denied"})
    decision = decide(view, Intent(topic="service"), NOON, RULES)
    assert (decision.outcome, decision.reason) == ("suppressed", "no_channel")
    assert ("channel", "skip", "consent_denied", "sms") in decision.trail
    assert ("channel", "skip", "no_address", "telegram") in decision.trail


def test_transactional_notices_go_without_a_recorded_yes_but_not_against_a_no() -> None:
    assert decide(maria(consents={}), Intent(topic="transactional"), NOON, RULES).channel == "sms"
    refused = maria(consents={("transactional", "sms"): "denied"})
    assert decide(refused, Intent(topic="transactional"), NOON, RULES).channel == "email"


def test_a_channel_without_words_is_skipped() -> None:
    decision = decide(maria(), Intent(topic="service", channels=frozenset({"email"})), NOON, RULES)
    assert decision.channel == "email"
    assert ("channel", "skip", "no_template", "sms") in decision.trail


def test_quiet_hours_defer_to_the_morning_in_the_customers_zone() -> None:
    decision = decide(maria(), Intent(topic="service"), NIGHT, RULES)
    assert decision.outcome == "queued"
    assert decision.send_after == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 09:00 in Kyiv (UTC+2)
    assert steps(decision)["quiet_hours"] == ("defer", "quiet_hours")


def test_critical_messages_pass_quiet_hours() -> None:
    decision = decide(maria(), Intent(topic="transactional", critical=True), NIGHT, RULES)
    assert decision.send_after == NIGHT
    assert steps(decision)["quiet_hours"] == ("pass", "critical")


def test_a_message_that_must_not_wait_is_dropped_at_night() -> None:
    decision = decide(maria(), Intent(topic="service", when_late="drop"), NIGHT, RULES)
    assert (decision.outcome, decision.reason) == ("dropped", "would_wait")


def test_a_deferral_past_the_time_to_live_expires_instead_of_arriving_late() -> None:
    delay = Intent(topic="service", ttl=timedelta(hours=2), when_late="expire")
    decision = decide(maria(), delay, NIGHT, RULES)
    assert (decision.outcome, decision.reason) == ("expired", "past_ttl")


def test_a_held_message_waits_however_long_it_takes() -> None:
    decision = decide(
        maria(), Intent(topic="service", ttl=timedelta(hours=2), when_late="hold"), NIGHT, RULES
    )
    assert decision.outcome == "queued"
    assert decision.expires_at is None


def test_the_same_thing_is_never_said_twice() -> None:
    view = maria(dedup_keys={"order-shipped:42"})
    decision = decide(view, Intent(topic="transactional", dedup_key="order-shipped:42"), NOON, RULES)
    assert (decision.outcome, decision.reason) == ("suppressed", "already_said")


@pytest.mark.parametrize(
    ("scope", "topic", "outcome"),
    [
        ("marketing", "marketing", "suppressed"),
        ("marketing", "service", "queued"),
        ("non_transactional", "service", "suppressed"),
        ("non_transactional", "transactional", "queued"),
        ("everything", "transactional", "suppressed"),
    ],
)
def test_global_unsubscribes_stop_what_they_name(scope: str, topic: str, outcome: str) -> None:
    view = maria(
        suppressed_scopes=frozenset({scope}),
        consents={(topic, "sms"): "granted", (topic, "email"): "granted"},
    )
    assert decide(view, Intent(topic=topic), NOON, RULES).outcome == outcome


def test_a_suppressed_address_is_skipped_for_the_next_channel() -> None:
    view = maria(suppressed_channels=frozenset({"sms"}))
    decision = decide(view, Intent(topic="service"), NOON, RULES)
    assert decision.channel == "email"
    assert ("channel", "skip", "address_suppressed", "sms") in decision.trail


def test_a_customer_at_risk_gets_the_retention_variant_or_nothing() -> None:
    view = maria(risk="detractor")
    plain = decide(view, promo(), NOON, RULES)
    assert (plain.outcome, plain.reason) == ("suppressed", "at_risk")
    retention = decide(view, promo(has_retention_variant=True), NOON, RULES)
    assert (retention.outcome, retention.variant) == ("queued", "retention")
    # Risk concerns promotions only: a service notice still goes.
    assert decide(view, Intent(topic="service"), NOON, RULES).variant == "standard"


def test_the_marketing_cap_defers_a_second_promotion_by_a_day() -> None:
    sent = Planned(7, NOON - timedelta(hours=3), "marketing", 30, sent=True, channel="email")
    decision = decide(maria(planned=[sent]), promo(), NOON, RULES)
    assert decision.outcome == "queued"
    assert decision.send_after == sent.at + timedelta(days=1)
    assert steps(decision)["caps"] == ("defer", "cap:marketing")


def test_the_weekly_cap_is_shared_by_every_topic_but_transactional() -> None:
    week = [Planned(i, NOON - timedelta(days=i), "service", 50, sent=True, channel="sms") for i in (1, 2, 3)]
    blocked = decide(maria(planned=week), Intent(topic="service", when_late="drop"), NOON, RULES)
    assert (blocked.outcome, blocked.reason) == ("dropped", "cap:all")
    notice = decide(maria(planned=week), Intent(topic="transactional"), NOON, RULES)
    assert (notice.outcome, notice.send_after) == ("queued", NOON)


def test_a_more_important_message_takes_the_place_of_a_queued_promotion() -> None:
    queued = Planned(9, NOON + timedelta(hours=1), "marketing", 20, sent=False, channel="email")
    decision = decide(maria(planned=[queued]), promo(priority=80), NOON, RULES)
    assert (decision.outcome, decision.send_after, decision.bumped) == ("queued", NOON, [9])
    # ...but never of one already sent, nor of one as important.
    sent = Planned(9, NOON - timedelta(hours=1), "marketing", 20, sent=True, channel="email")
    assert decide(maria(planned=[sent]), promo(priority=80), NOON, RULES).bumped == []
    equal = Planned(9, NOON + timedelta(hours=1), "marketing", 80, sent=False, channel="email")
    assert decide(maria(planned=[equal]), promo(priority=80), NOON, RULES).bumped == []


def test_messages_due_close_together_join_one_digest() -> None:
    host = Planned(
        5, NOON + timedelta(minutes=4), "service", 50, sent=False, channel="sms", allow_digest=True
    )
    decision = decide(maria(planned=[host]), Intent(topic="service", allow_digest=True), NOON, RULES)
    assert (decision.outcome, decision.digest_into) == ("merged", 5)
    apart = Planned(5, NOON + timedelta(hours=4), "service", 50, sent=False, channel="sms", allow_digest=True)
    assert decide(
        maria(planned=[apart]), Intent(topic="service", allow_digest=True), NOON, RULES
    ).outcome == ("queued")


def test_quiet_hours_and_caps_together_find_a_slot_that_meets_both() -> None:
    # A promotion sent at 20:00 Kyiv time: the next may go 24 hours later, 20:00 next evening (allowed).
    sent = Planned(1, datetime(2026, 3, 10, 18, 0, tzinfo=UTC), "marketing", 30, sent=True, channel="email")
    late_evening = datetime(2026, 3, 10, 18, 30, tzinfo=UTC)
    decision = decide(maria(planned=[sent]), promo(ttl=None, when_late="hold"), late_evening, RULES)
    assert decision.send_after == datetime(2026, 3, 11, 18, 0, tzinfo=UTC)
    # Sent at 20:30: 24 hours later is 20:30, inside no quiet hours; at 21:10 it would be, so 09:00 next.
    sent.at = datetime(2026, 3, 10, 19, 10, tzinfo=UTC)
    decision = decide(maria(planned=[sent]), promo(ttl=None, when_late="hold"), late_evening, RULES)
    assert decision.send_after == datetime(2026, 3, 12, 7, 0, tzinfo=UTC)


# --- quiet hours: properties ---------------------------------------------------------------------------

ZONES = ["Europe/Kyiv", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
# Hypothesis takes naive bounds and adds the zone itself.
moments = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive; the zone is added
    max_value=datetime(2028, 12, 31),  # noqa: DTZ001 - hypothesis bounds are naive; the zone is added
    timezones=st.just(UTC),
)
# Include the daylight-saving change days of Europe and North America, where bugs hide.
dst_moments = st.sampled_from(
    [
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
    ]
).flatmap(lambda d: st.integers(-180, 180).map(lambda m: d + timedelta(minutes=m)))
wall_times = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@settings(max_examples=400, deadline=None)
@given(moment=st.one_of(moments, dst_moments), zone=st.sampled_from(ZONES), start=wall_times, end=wall_times)
def test_next_allowed_time_is_the_first_instant_outside_quiet_hours(
    moment: datetime, zone: str, start: time, end: time
) -> None:
    tz = ZoneInfo(zone)
    allowed = next_allowed_time(moment, tz, start, end)
    assert allowed >= moment
    local = allowed.astimezone(tz).time().replace(tzinfo=None)
    assert not in_quiet_hours(local, start, end)
    if allowed > moment:
        # Every minute between was quiet: nothing earlier would have done.
        probe = allowed - timedelta(minutes=1)
        if probe >= moment:
            assert in_quiet_hours(probe.astimezone(tz).time().replace(tzinfo=None), start, end)
        # ...and no deferral is longer than a day and the hour a clock change can add.
        assert allowed - moment <= timedelta(hours=25)


def test_a_window_ending_inside_the_spring_forward_gap_ends_when_the_clocks_jump() -> None:
    # Europe/Kyiv jumps from 03:00 to 04:00 on 29 March 2026; quiet hours until 03:30 end at 04:00.
    night = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 01:30 local
    allowed = next_allowed_time(night, KYIV, time(22, 0), time(3, 30))
    assert allowed.astimezone(KYIV).time() == time(4, 0)


def test_a_window_ending_in_the_repeated_hour_ends_at_its_first_occurrence() -> None:
    # On 25 October 2026 Kyiv's 03:00-04:00 happens twice; 03:30 ends the window the first time.
    night = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # 01:00 local, summer time
    allowed = next_allowed_time(night, KYIV, time(22, 0), time(3, 30))
    assert allowed == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_quiet_hours_that_come_round_again_in_the_repeated_hour_end_the_second_time() -> None:
    # London goes from 02:00 summer time back to 01:00 on 25 October 2026. At the second 01:00 a window
    # of 00:00-01:01 is quiet again, and it ends at the second 01:01, not at the first (already past).
    second_one = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    allowed = next_allowed_time(second_one, ZoneInfo("Europe/London"), time(0, 0), time(1, 1))
    assert allowed == datetime(2026, 10, 25, 1, 1, tzinfo=UTC)


# --- caps: properties ----------------------------------------------------------------------------------

BASE = datetime(2026, 1, 1, tzinfo=UTC)
offsets = st.lists(st.integers(0, 20 * 24 * 60), max_size=12)


def _worst_window(times: list[datetime], window: timedelta) -> int:
    """The most messages any window [s, s + window) holds: brute force over every start that matters."""
    return max((sum(1 for t in times if s <= t < s + window) for s in times), default=0)


@settings(max_examples=400, deadline=None)
@given(
    existing=offsets,
    at=st.integers(0, 20 * 24 * 60),
    limit=st.integers(1, 4),
    hours=st.integers(1, 7 * 24),
)
def test_the_next_cap_slot_keeps_every_window_within_the_limit_and_is_the_earliest(
    existing: list[int], at: int, limit: int, hours: int
) -> None:
    window = timedelta(hours=hours)
    # Start from a history that itself respects the cap, as the policy keeps it.
    times: list[datetime] = []
    for minute in sorted(existing):
        t = BASE + timedelta(minutes=minute)
        if cap_allows(times, t, limit, window):
            times = sorted([*times, t])
    moment = BASE + timedelta(minutes=at)
    slot = next_cap_slot(times, moment, limit, window)
    assert slot is not None
    assert slot >= moment
    assert _worst_window(sorted([*times, slot]), window) <= limit
    # cap_allows agrees with brute force at the slot and one minute before it.
    before = slot - timedelta(minutes=1)
    if before >= moment:
        assert _worst_window(sorted([*times, before]), window) > limit


@settings(max_examples=300, deadline=None)
@given(arrivals=st.lists(st.integers(0, 14 * 24 * 60), min_size=1, max_size=15))
def test_planned_messages_never_exceed_any_cap_whatever_the_order_they_arrive_in(arrivals: list[int]) -> None:
    """Plan a stream of promotions and service messages one by one; every rolling window respects
    every cap afterwards."""
    view = maria(consents={("marketing", "email"): "granted", ("service", "sms"): "granted"}, planned=[])
    for i, minute in enumerate(arrivals):
        topic = "marketing" if i % 2 else "service"
        now = BASE + timedelta(minutes=minute)
        decision = decide(view, Intent(topic=topic, when_late="hold"), now, RULES)
        if decision.outcome == "queued":
            assert decision.send_after is not None
            view.planned.append(
                Planned(i, decision.send_after, topic, 50, sent=False, channel=decision.channel)
            )
    for cap in CAPS:
        times = sorted(p.at for p in view.planned if cap.counts(p.topic))
        assert _worst_window(times, cap.window) <= cap.limit
    for p in view.planned:
        assert not in_quiet_hours(p.at.astimezone(KYIV).time().replace(tzinfo=None), time(21), time(9))


# --- what a decision reads -----------------------------------------------------------------------------

intents = st.builds(
    Intent,
    topic=st.sampled_from(["transactional", "service", "marketing", "surveys"]),
    priority=st.integers(0, 100),
    critical=st.booleans(),
    allow_digest=st.booleans(),
    when_late=st.sampled_from(["hold", "expire", "drop"]),
    has_retention_variant=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    intent=intents,
    caps=st.lists(
        st.builds(
            Cap, st.sampled_from(["", "marketing", "service"]), st.integers(0, 2), st.just(timedelta(days=1))
        ),
        max_size=2,
    ),
    minute=st.integers(0, 48 * 60),
)
def test_what_reads_leaves_out_never_changes_a_decision(intent: Intent, caps: list[Cap], minute: int) -> None:
    """The planner skips loading what ``reads`` says a decision will not look at; blanking those parts
    of a busy customer's view must give the same answer."""
    rules = Rules(caps=tuple(caps))
    now = BASE + timedelta(minutes=minute)
    busy = [
        Planned(1, now - timedelta(hours=2), "marketing", 10, sent=True, channel="email"),
        Planned(2, now + timedelta(minutes=3), "service", 20, sent=False, channel="sms", allow_digest=True),
        Planned(3, now - timedelta(hours=1), "transactional", 90, sent=True, channel="sms"),
        Planned(4, now + timedelta(minutes=2), "transactional", 90, sent=False, channel="sms"),
        Planned(
            5, now + timedelta(minutes=4), "transactional", 70, sent=False, channel="sms", allow_digest=True
        ),
    ]
    full = maria(planned=busy, risk="detractor", consents={**maria().consents, ("surveys", "sms"): "granted"})
    needed = reads([intent], rules)
    blank = maria(
        planned=[p for p in busy if needed.keeps(p)],
        risk="detractor" if needed.risk else "",
        consents=full.consents,
    )
    assert decide(blank, intent, now, rules) == decide(full, intent, now, rules)


def test_a_notice_reads_neither_history_nor_risk_unless_a_cap_counts_it() -> None:
    notice = Intent(topic="transactional", priority=90)
    assert reads([notice], RULES) == reads([notice], Rules()) == Reads(False, False, transactional=False)
    assert reads([notice], Rules(caps=(Cap("transactional", 5, timedelta(days=1)),))).transactional
    assert not reads([promo()], RULES).transactional
    assert reads([notice, promo()], RULES).planned
    assert reads([notice, promo()], RULES).risk
    assert reads([Intent(topic="service", allow_digest=True)], Rules()).planned
