"""Finding profiles that are probably one person, for a person to merge or tell apart.

Exact duplicates cannot exist: an identity (phone, email, messenger id, CRM id) belongs to one profile,
and the import folds a row that shares one into the profile that has it. What remains is the fuzzy case:
the same person entered twice with different contacts and a typo in the name. Comparing every pair is
quadratic, so candidates come from blocking (records that share a date of birth, a family name and first
initial, or an email user name), and only pairs within a block are scored: name similarity (rapidfuzz,
on names transliterated to Latin so Олена and Olena meet) corroborated by other attributes. A different
date of birth rules a pair out.

Messages propose pairs as they arrive (``identify``, ADR 0020): a profile made from someone's first
message and a namesake (:func:`propose_name_alikes`), and two profiles holding identities of one sender
(:func:`propose_one_sender`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import combinations

from django.db.models import Q, QuerySet
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.customers.models import Customer, DuplicateCandidate, Identity, IdentityKind, Reason
from forewarn.customers.normalize import latin

NAME_THRESHOLD = 85.0
ADDRESS_THRESHOLD = 90.0
MAX_BLOCK = 300  # a block larger than this is too unspecific to tell people apart; it is skipped
# A new sender's name alone (propose_name_alikes): closer than for a pair with other evidence, and a
# name more profiles share than this proposes nobody.
NAME_ONLY_THRESHOLD = 90.0
NAME_ONLY_MAX = 3
ONE_SENDER_SCORE = 0.95  # one Telegram account's identities: as strong as evidence gets short of one identity


@dataclass(slots=True)
class Person:
    pk: int
    name: str
    family: str
    given: str
    birth_date: date | None
    city: str
    address: str  # as written: spelled in Latin only for the few pairs whose names match
    email_users: frozenset[str]


@dataclass(frozen=True, slots=True)
class Match:
    first: int
    second: int
    score: float
    reasons: tuple[str, ...]


def compare(a: Person, b: Person) -> Match | None:
    """Score a pair; None when the evidence is not enough to ask a person."""
    if a.birth_date and b.birth_date and a.birth_date != b.birth_date:
        return None
    name = fuzz.token_sort_ratio(a.name, b.name)
    if name < NAME_THRESHOLD:
        return None
    reasons = [f"{Reason.NAME}:{name:.0f}"]
    evidence = 0
    if a.birth_date and a.birth_date == b.birth_date:
        evidence += 2
        reasons.append(Reason.BIRTH_DATE)
    if (
        a.address
        and b.address
        and Indel.normalized_similarity(latin(a.address), latin(b.address)) * 100 >= ADDRESS_THRESHOLD
    ):
        evidence += 1
        reasons.append(Reason.ADDRESS)
    if a.city and a.city == b.city:
        evidence += 1
        reasons.append(Reason.CITY)
    if a.email_users & b.email_users:
        evidence += 2
        reasons.append(Reason.EMAIL_USER)
    if evidence < 2:
        return None
    score = round(0.6 * name / 100 + 0.4 * min(evidence, 4) / 4, 3)
    low, high = sorted((a.pk, b.pk))
    return Match(low, high, score, tuple(reasons))


def _load(customer_ids: Iterable[int] | None = None) -> list[Person]:
    rows = Customer.objects.filter(status=Customer.Status.ACTIVE)
    if customer_ids is not None:
        rows = rows.filter(pk__in=list(customer_ids))
    emails: dict[int, set[str]] = defaultdict(set)
    identities = Identity.objects.filter(kind=IdentityKind.EMAIL)
    if customer_ids is not None:
        identities = identities.filter(customer__in=rows)
    # No ORDER BY: the models' default orderings would sort every row for nothing.
    for customer_id, value in (
        identities.order_by().values_list("customer_id", "value").iterator(chunk_size=5000)
    ):
        emails[customer_id].add(value.split("@", 1)[0].replace(".", "").replace("_", ""))
    # Names and cities repeat a lot: each distinct one is transliterated once.
    spelled: dict[str, str] = {}

    def latin_of(text: str) -> str:
        found = spelled.get(text)
        if found is None:
            found = spelled[text] = latin(text)
        return found

    none: frozenset[str] = frozenset()
    people = []
    for pk, given, middle, family, birth, city, address in (
        rows.order_by()
        .values_list("pk", "given_name", "middle_name", "family_name", "birth_date", "city", "address")
        .iterator(chunk_size=5000)
    ):
        family_l, given_l = latin_of(family), latin_of(given)
        users = emails.get(pk)
        people.append(
            Person(
                pk,
                f"{given_l} {latin_of(middle)} {family_l}".strip(),
                family_l,
                given_l,
                birth,
                latin_of(city),
                address,
                frozenset(users) if users else none,
            )
        )
    return people


def _blocks(people: list[Person]) -> Iterable[list[Person]]:
    passes: list[dict[object, list[Person]]] = [defaultdict(list) for _ in range(3)]
    for person in people:
        if person.birth_date:
            passes[0][person.birth_date].append(person)
        if person.family:
            passes[1][(person.family[:5], person.given[:1])].append(person)
        for user in person.email_users:
            if len(user) >= 5:
                passes[2][user].append(person)
    for blocks in passes:
        for block in blocks.values():
            if 2 <= len(block) <= MAX_BLOCK:
                yield block


def _pairs(block: list[Person]) -> Iterator[tuple[Person, Person]]:
    """The pairs of a block worth scoring: a different date of birth rules a pair out unseen."""
    by_date: dict[date | None, list[Person]] = defaultdict(list)
    for person in block:
        by_date[person.birth_date].append(person)
    undated = by_date.pop(None, [])
    for group in by_date.values():
        yield from combinations(group, 2)
    for i, person in enumerate(undated):
        yield from ((person, other) for other in undated[i + 1 :])
        for group in by_date.values():
            yield from ((person, other) for other in group)


def score_pairs(people: list[Person], *, involving: set[int] | None = None) -> list[Match]:
    """Every scored pair within a block, at most once; only pairs touching ``involving`` if given."""
    seen: set[tuple[int, int]] = set()
    matches = []
    for block in _blocks(people):
        if involving is not None and not any(p.pk in involving for p in block):
            continue
        for a, b in _pairs(block):
            key = (a.pk, b.pk) if a.pk < b.pk else (b.pk, a.pk)
            if key in seen or (involving is not None and a.pk not in involving and b.pk not in involving):
                continue
            seen.add(key)
            match = compare(a, b)
            if match is not None:
                matches.append(match)
    return matches


def find_duplicates(*, actor: Actor, new_ids: set[int] | None = None) -> int:
    """Record candidate pairs (among all active profiles, or those touching ``new_ids``).

    Returns how many new candidates were recorded; pairs already decided are not asked again.
    """
    actor.require(Perm.CUSTOMERS_VIEW)
    matches = score_pairs(_load(), involving=new_ids)
    return record_candidates(matches)


def record_candidates(matches: list[Match]) -> int:
    if not matches:
        return 0
    moment = clock.now()
    before = DuplicateCandidate.objects.count()
    DuplicateCandidate.objects.bulk_create(
        [
            DuplicateCandidate(
                first_id=m.first,
                second_id=m.second,
                score=m.score,
                reasons=list(m.reasons),
                found_at=moment,
            )
            for m in matches
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    return DuplicateCandidate.objects.count() - before


def propose_name_alikes(customer: Customer) -> int:
    """A profile made from someone's first message holds an address and the name the channel gave, no
    more: when another living profile bears that name, the two are proposed for a person to decide. The
    name alone is not the evidence :func:`compare` asks for, but a known name from a new address is how
    a customer looks who writes first on Telegram or from a new phone. Only for a whole name (given and
    family: a given name alone tells nobody apart), at least ``NAME_ONLY_THRESHOLD`` alike in Latin
    letters, and only when at most ``NAME_ONLY_MAX`` profiles bear it (a common name proposes nobody)."""
    given, family = latin(customer.given_name), latin(customer.family_name)
    if not given or not family:
        return 0
    name = f"{given} {family}"
    # search_text holds each name in Latin too, so «Петренко» and "Petrenko" meet here.
    rows = (
        Customer.objects.filter(status=Customer.Status.ACTIVE, search_text__contains=family)
        .exclude(pk=customer.pk)
        .order_by()
        .values_list("pk", "given_name", "family_name")[:MAX_BLOCK]
    )
    alike = []
    for pk, other_given, other_family in rows:
        score = fuzz.token_sort_ratio(name, f"{latin(other_given)} {latin(other_family)}")
        if score >= NAME_ONLY_THRESHOLD:
            alike.append((pk, score))
    if len(alike) > NAME_ONLY_MAX:
        return 0
    return record_candidates(
        [
            Match(
                min(pk, customer.pk),
                max(pk, customer.pk),
                round(0.6 * score / 100, 3),
                (f"{Reason.NAME}:{score:.0f}", Reason.NEW_SENDER),
            )
            for pk, score in alike
        ]
    )


def propose_one_sender(customer: Customer, holders: Iterable[Customer]) -> int:
    """One message came with identities that two profiles hold (a Telegram chat id on one, the @username
    on another): the message went to ``customer``, and each other living profile is proposed as the same
    person."""
    others = {other.pk for other in holders if other.status == Customer.Status.ACTIVE} - {customer.pk}
    return record_candidates(
        [
            Match(min(pk, customer.pk), max(pk, customer.pk), ONE_SENDER_SCORE, (Reason.ONE_SENDER,))
            for pk in sorted(others)
        ]
    )


def list_duplicates_for(
    actor: Actor, *, status: str = DuplicateCandidate.Status.OPEN, customer: Customer | None = None
) -> QuerySet[DuplicateCandidate]:
    """Likely duplicates in one status (open by default), those of one customer if named."""
    actor.require(Perm.CUSTOMERS_VIEW)
    rows = DuplicateCandidate.objects.filter(status=status).select_related("first", "second")
    if customer is not None:
        rows = rows.filter(Q(first=customer) | Q(second=customer))
    return rows
