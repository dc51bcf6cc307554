"""Profile rules exercised through the services: normalisation, search across scripts, consent history."""

from __future__ import annotations

import pytest

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.core.errors import Conflict
from forewarn.customers.models import ConsentChange, Customer
from forewarn.customers.services import consent, profiles
from forewarn.customers.services.identify import customer_for
from forewarn.customers.services.profiles import search_customers


def test_identities_are_stored_normalised(maria: Customer) -> None:
    values = dict(maria.identities.values_list("kind", "value"))
    assert values == {"phone": "+380671234567", "email": "maria.petrenko@example.com"}


@pytest.mark.parametrize(
    "query", ["марія", "МАРІЯ", "mariya petrenko", "PETRENKO", "+38 (067) 123-45-67", "0671234567"]
)
def test_search_finds_a_customer_in_either_script_and_any_phone_form(maria: Customer, query: str) -> None:
    found = list(search_customers(actor=Actor.system("t"), q=query))
    assert found == [maria]


def test_search_does_not_match_other_people(maria: Customer) -> None:
    assert not search_customers(actor=Actor.system("t"), q="Коваленко").exists()


def test_consent_change_keeps_history_and_skips_repeats(maria: Customer, olena: User) -> None:
    actor = Actor.of(olena)
    first = consent.record_consent(
        actor=actor, customer=maria, topic="marketing", channel="email", status="denied", source="call"
    )
    again = consent.record_consent(
        actor=actor, customer=maria, topic="marketing", channel="email", status="denied", source="call"
    )
    assert first is not None
    assert (first.previous, first.status, first.actor_id) == ("granted", "denied", olena.pk)
    assert again is None
    assert ConsentChange.objects.filter(customer=maria, topic="marketing", channel="email").count() == 2


def test_an_identity_taken_between_check_and_insert_is_a_conflict_not_a_crash(
    maria: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulate the race: the up-front check sees nothing, the unique constraint still holds.
    monkeypatch.setattr(profiles, "taken_identities", lambda identities, exclude_customer=None: {})
    before = Customer.objects.count()
    with pytest.raises(Conflict) as caught:
        profiles.create_customer(
            actor=Actor.system("t"),
            data=profiles.ProfileIn(
                given_name="Друга", identities=[profiles.IdentityIn(kind="phone", value="+380671234567")]
            ),
        )
    assert caught.value.code == "identity_in_use"
    assert Customer.objects.count() == before


def test_someone_who_wrote_from_an_address_we_cannot_use_is_still_heard(db: None) -> None:
    """The rule that a profile needs a name or an identity is for people who type profiles in; a message
    from outside is never lost for want of them (the web chat visitor, a sender with a broken address)."""
    heard = customer_for([("email", "not an address")], source="tests")
    assert heard is not None
    assert (heard.full_name, heard.identities.count()) == ("", 0)
    assert customer_for([("email", "not an address")], source="tests", create=False) is None
