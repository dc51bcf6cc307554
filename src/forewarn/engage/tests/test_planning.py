"""Planning against the database: what ``load_views`` reads (suppression lists by address, keys looked up
with ``among``), and what ``plan`` writes when a more important message takes a queued one's place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import SYSTEM

from forewarn.core.lookups import Keys
from forewarn.customers.models import Customer
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, create_customer
from forewarn.engage import policy
from forewarn.engage.models import FrequencyCap, Message, MessageStatus, Suppression, WhenBumped
from forewarn.engage.services.planning import Draft, current_rules, load_views, plan
from forewarn.engage.services.words import Words

# 14:00 in Kyiv: no quiet hours.
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
WORDS = Words.per_language({"uk": "Привіт, {{ customer.first_name }}", "en": "Hi"})


def person(name: str, phone: str, **extra: Any) -> Customer:
    return create_customer(
        actor=SYSTEM,
        data=ProfileIn(given_name=name, identities=[IdentityIn(kind="phone", value=phone)], **extra),
        source="tests",
    )


def service(priority: int, key: str = "") -> policy.Intent:
    return policy.Intent(topic="service", priority=priority, dedup_key=key, ttl=None, when_late="hold")


def draft(customer: Customer, intent: policy.Intent, kind: str = "note") -> Draft:
    return Draft(customer_id=customer.pk, intent=intent, kind=kind, words=WORDS, context={})


def test_among_finds_exactly_the_listed_keys_and_codes(db: None) -> None:
    people = [person(f"P{n}", f"+38067111000{n}") for n in range(5)]
    chosen = [people[1].pk, people[3].pk, 10**9]
    assert sorted(Customer.objects.filter(pk__among=chosen).values_list("pk", flat=True)) == chosen[:2]
    assert Customer.objects.filter(pk__among=[]).count() == 0
    assert sorted(Customer.objects.filter(pk__among=Keys(chosen)).values_list("pk", flat=True)) == chosen[:2]
    codes = ["+380671110002", "+380671110004"]
    found = Customer.objects.filter(identities__value__among=codes).values_list("given_name", flat=True)
    assert sorted(found) == ["P2", "P4"]
    with pytest.raises(TypeError):
        list(Customer.objects.filter(pk__among=[str(people[0].pk)]))


def test_an_address_on_the_suppression_list_blocks_that_channel_for_whoever_has_it(db: None) -> None:
    listed, other = person("Ганна", "+380671110001"), person("Петро", "+380671110002")
    Suppression.objects.create(
        channel="sms", address="+380671110001", scope="everything", reason="list", created_at=NOON
    )
    Suppression.objects.create(customer=other, scope="marketing", reason="unsubscribe", created_at=NOON)
    views = load_views([listed.pk, other.pk], now=NOON, rules=current_rules())
    assert views[listed.pk].suppressed_channels == frozenset({"sms"})
    assert views[other.pk].suppressed_channels == frozenset()
    assert views[other.pk].suppressed_scopes == frozenset({"marketing"})


@pytest.mark.parametrize(
    ("when_bumped", "status", "moved"),
    [(WhenBumped.DEFER, MessageStatus.QUEUED, True), (WhenBumped.DROP, MessageStatus.DROPPED, False)],
)
def test_a_more_important_message_moves_or_drops_the_queued_one_it_bumps(
    db: None, when_bumped: str, status: str, moved: bool
) -> None:
    FrequencyCap.objects.create(topic="service", limit=1, window_hours=24, active=True)
    ganna = person("Ганна", "+380671110001")
    later = draft(ganna, service(20, key="tip"), kind="tip")
    later.when_bumped = when_bumped
    [first] = plan([later], now=NOON).ids
    assert Message.objects.get(pk=first).send_after == NOON
    [urgent] = plan([draft(ganna, service(80), kind="outage")], now=NOON).ids

    bumped = Message.objects.get(pk=first)
    assert Message.objects.get(pk=urgent).send_after == NOON
    assert bumped.status == status
    assert ["caps", "bump", "bumped", "outage"] in bumped.trail
    if moved:  # to the next free slot under the cap, its de-duplication key kept
        assert bumped.send_after >= NOON + timedelta(hours=24)
        assert bumped.dedup_key == "tip"
    else:
        assert bumped.reason == "bumped"


def test_a_batch_remembers_its_own_decisions_for_the_same_customer(db: None) -> None:
    FrequencyCap.objects.create(topic="service", limit=1, window_hours=24, active=True)
    ganna = person("Ганна", "+380671110001")
    same = service(50, key="once")
    ids = plan([draft(ganna, same), draft(ganna, same), draft(ganna, service(50))], now=NOON).ids
    rows = {m.pk: m for m in Message.objects.filter(pk__in=ids)}
    first, again, second = (rows[pk] for pk in ids)
    assert (first.status, first.send_after) == (MessageStatus.QUEUED, NOON)
    assert (again.status, again.reason) == (MessageStatus.SUPPRESSED, "already_said")
    assert second.status == MessageStatus.QUEUED
    assert second.send_after >= NOON + timedelta(hours=24)


def test_a_promotion_reads_no_transactional_history_but_a_queued_digest_part(db: None) -> None:
    FrequencyCap.objects.create(topic="marketing", limit=1, window_hours=24, active=True)
    ganna = person("Ганна", "+380671110001")
    notice = policy.Intent(topic="transactional", priority=90, dedup_key="bill")
    part = policy.Intent(topic="transactional", priority=60, allow_digest=True)
    plan([draft(ganna, notice), draft(ganna, part), draft(ganna, service(40))], now=NOON)
    promotion = policy.Intent(topic="marketing", priority=30)
    needed = policy.reads([promotion], current_rules())
    view = load_views([ganna.pk], now=NOON, rules=current_rules(), reads=needed)[ganna.pk]
    everything = load_views([ganna.pk], now=NOON, rules=current_rules())[ganna.pk]
    assert len(everything.planned) == 3
    assert sorted(p.topic for p in view.planned) == ["service", "transactional"]
    kept = [p for p in everything.planned if needed.keeps(p)]
    assert sorted(kept, key=lambda p: p.message_id) == sorted(view.planned, key=lambda p: p.message_id)
    assert view.dedup_keys == {"bill"}  # what was said is known whatever is read for the caps
