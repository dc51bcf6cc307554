"""Finding look-alike profiles: who is compared, what counts as evidence, and that a decided pair stays
decided."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from forewarn.accounts.actors import Actor
from forewarn.core.errors import Forbidden
from forewarn.customers.models import Customer, DuplicateCandidate
from forewarn.customers.services import dedup
from forewarn.customers.services.merging import dismiss_candidate, merge_customers
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, create_customer

SYSTEM = Actor.system("tests")
BORN = date(1985, 3, 2)


def someone(pk: int, name: str, **extra: Any) -> dedup.Person:
    given, _space, family = name.partition(" ")
    values: dict[str, Any] = {
        "birth_date": BORN,
        "city": "kyiv",
        "address": "",
        "email_users": frozenset(),
        **extra,
    }
    return dedup.Person(pk=pk, name=name.lower(), family=family.lower(), given=given.lower(), **values)


def profile(
    given: str, family: str, *, born: str | None = "1985-03-02", city: str = "Київ", **extra: Any
) -> Customer:
    data = ProfileIn(given_name=given, family_name=family, birth_date=born, city=city, **extra)
    return create_customer(actor=SYSTEM, data=data, source="tests")


# -- scoring a pair ------------------------------------------------------------------------------------


def test_a_typo_with_the_same_birth_date_and_city_is_a_match() -> None:
    match = dedup.compare(someone(2, "olena kovalenko"), someone(1, "olena kovalneko"))
    assert match is not None
    assert (match.first, match.second) == (1, 2)
    assert match.reasons[1:] == ("birth_date", "city")
    assert 0.8 < match.score <= 1


def test_a_different_birth_date_rules_a_pair_out() -> None:
    assert (
        dedup.compare(
            someone(1, "olena kovalenko"), someone(2, "olena kovalenko", birth_date=date(1990, 1, 1))
        )
        is None
    )


def test_a_similar_name_alone_is_not_enough() -> None:
    a = someone(1, "olena kovalenko", birth_date=None, city="kyiv")
    b = someone(2, "olena kovalenko", birth_date=None, city="lviv")
    assert dedup.compare(a, b) is None


def test_other_names_are_not_compared_further() -> None:
    assert dedup.compare(someone(1, "olena kovalenko"), someone(2, "taras shevchuk")) is None


def test_an_email_user_name_and_an_address_are_evidence() -> None:
    a = someone(
        1,
        "ivan petrov",
        birth_date=None,
        city="",
        address="vul. khreshchatyk 1",
        email_users=frozenset({"ipetrov"}),
    )
    b = someone(
        2,
        "ivan petrov",
        birth_date=None,
        city="",
        address="vul. khreshchatyk 1",
        email_users=frozenset({"ipetrov"}),
    )
    match = dedup.compare(a, b)
    assert match is not None
    assert set(match.reasons[1:]) == {"address", "email_user"}


# -- who is compared -----------------------------------------------------------------------------------


def test_only_pairs_touching_the_new_profiles_are_scored() -> None:
    people = [someone(1, "olena kovalenko"), someone(2, "olena kovalenko"), someone(3, "olena kovalenko")]
    assert {(m.first, m.second) for m in dedup.score_pairs(people)} == {(1, 2), (1, 3), (2, 3)}
    assert {(m.first, m.second) for m in dedup.score_pairs(people, involving={3})} == {(1, 3), (2, 3)}


def test_a_pair_in_several_blocks_is_scored_once() -> None:
    people = [
        someone(1, "olena kovalenko", email_users=frozenset({"okovalenko"})),
        someone(2, "olena kovalenko", email_users=frozenset({"okovalenko"})),
    ]
    assert len(dedup.score_pairs(people)) == 1


def test_a_block_too_large_to_tell_people_apart_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dedup, "MAX_BLOCK", 2)
    people = [someone(n, "olena kovalenko") for n in range(1, 4)]
    assert dedup.score_pairs(people) == []


@pytest.mark.django_db
def test_profiles_are_loaded_in_latin_with_their_email_user_names(maria: Customer) -> None:
    (loaded,) = dedup._load()
    assert (loaded.pk, loaded.given, loaded.family, loaded.city) == (maria.pk, "mariya", "petrenko", "kiiv")
    assert loaded.birth_date == date(1988, 4, 12)
    assert loaded.email_users == frozenset({"mariapetrenko"})
    assert [p.pk for p in dedup._load([maria.pk + 1])] == []


# -- recording candidates ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_look_alikes_across_scripts_are_recorded_and_namesakes_are_not() -> None:
    olena = profile("Олена", "Коваленко")
    latin = profile("Olena", "Kovalenko", identities=[IdentityIn(kind="phone", value="+380501112233")])
    typo = profile("Олена", "Ковалнеко")
    namesake = profile("Олена", "Коваленко", born="1990-07-15")
    assert dedup.find_duplicates(actor=SYSTEM) == 3
    pairs = set(DuplicateCandidate.objects.values_list("first_id", "second_id"))
    assert pairs == {
        tuple(sorted((olena.pk, latin.pk))),
        tuple(sorted((olena.pk, typo.pk))),
        tuple(sorted((latin.pk, typo.pk))),
    }
    assert not any(namesake.pk in pair for pair in pairs)


@pytest.mark.django_db
def test_a_pair_found_again_is_not_recorded_twice_and_a_dismissed_one_stays_dismissed(taras: Any) -> None:
    profile("Олена", "Коваленко")
    profile("Olena", "Kovalenko")
    assert dedup.find_duplicates(actor=SYSTEM) == 1
    candidate = DuplicateCandidate.objects.get()
    dismiss_candidate(actor=Actor.of(taras), candidate_id=candidate.pk)
    assert dedup.find_duplicates(actor=SYSTEM) == 0
    assert DuplicateCandidate.objects.get().status == DuplicateCandidate.Status.DISMISSED


@pytest.mark.django_db
def test_merged_profiles_are_not_compared_again(taras: Any) -> None:
    first = profile("Олена", "Коваленко")
    second = profile("Olena", "Kovalenko")
    merge_customers(actor=Actor.of(taras), survivor_id=first.pk, absorbed_id=second.pk)
    profile("Олена", "Ковалнеко")
    dedup.find_duplicates(actor=SYSTEM)
    assert all(
        second.pk not in pair for pair in DuplicateCandidate.objects.values_list("first_id", "second_id")
    )


@pytest.mark.django_db
def test_new_ids_limit_the_search_to_pairs_touching_them() -> None:
    old = [profile("Олена", "Коваленко"), profile("Olena", "Kovalenko")]
    new = profile("Олена", "Ковалнеко")
    assert dedup.find_duplicates(actor=SYSTEM, new_ids={new.pk}) == 2
    assert set(DuplicateCandidate.objects.values_list("first_id", "second_id")) == {
        (o.pk, new.pk) for o in old
    }


def test_recording_nothing_writes_nothing() -> None:
    assert dedup.record_candidates([]) == 0


@pytest.mark.django_db
def test_looking_for_duplicates_needs_the_permission() -> None:
    nobody = Actor(user=None, permissions=frozenset())
    with pytest.raises(Forbidden):
        dedup.find_duplicates(actor=nobody)


def test_reasons_are_stored_as_codes_and_put_into_words_in_the_readers_language() -> None:
    from django.utils import translation

    from forewarn.customers.models import Reason

    with translation.override("en"):
        assert Reason.describe("name:87") == "name 87% alike"
        assert Reason.describe("birth_date") == "same date of birth"
        assert Reason.describe("something_new") == "something_new"
    with translation.override("uk"):
        assert Reason.describe("birth_date") != "same date of birth"
    with translation.override("ru"):
        assert Reason.describe("name:87").startswith(("имя", "Имя"))
