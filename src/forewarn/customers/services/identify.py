"""Who wrote: the one place a message from outside is matched to a customer.

Every channel that hears from people (email, SMS, Telegram, Viber, calls, the web chat, and the surveys,
reviews and bot to come) names the sender by every identity it knows: Telegram by the user's id and their
@username, Viber by the user id, SMS and calls by the phone number in whatever format the provider writes
it. :func:`customer_for` finds the profile holding any of them, the most specific first, and follows
merges to the profile that lives on. That profile learns the sender's identities it lacked (a profile
imported with a Telegram @username learns the chat id, which becomes its Telegram address: the Bot API
sends to chat ids, not to user names); one that another profile holds stays there, and the two are
proposed as one person (``dedup``).

A sender nobody knows becomes a customer with those identities, the name and language the channel gave
(a language Forewarn speaks), and the time zone of their phone number or their country when that has one
time; a living profile with the same name is proposed as a possible duplicate. So someone who writes to
us first is a customer from then on, and the one they may already be is a click away.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core.errors import Conflict, ValidationFailed
from forewarn.customers import normalize as norm
from forewarn.customers.models import Customer, Identity, IdentityKind
from forewarn.customers.services import dedup
from forewarn.customers.services.merging import surviving
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, add_identity, create_customer
from forewarn.customers.services.reach import IDENTITY_OF_CHANNEL

Handle = tuple[str, str]


def identity_of_channel(channel: str, address: str) -> Handle | None:
    """(kind, normalised value) of an address on a channel; None when it is not one we can match."""
    kind = IDENTITY_OF_CHANNEL.get(channel)
    if kind is None or not address:
        return None
    found = identities_of([(kind, address)])
    return found[0] if found else None


def _normalised(kind: str, raw: str) -> str:
    if kind == IdentityKind.PHONE:  # a provider's sender: digits without their "+" are international
        return norm.normalize_sender_phone(raw)
    return norm.normalize_identity(kind, raw)


def identities_of(identities: Iterable[Handle]) -> list[Handle]:
    """The (kind, value) pairs a channel gave, normalised, each once, in their order; what is no identity
    of ours (an empty user name, a number that is none) is left out."""
    found = []
    for kind, raw in identities:
        try:
            found.append((kind, _normalised(kind, raw)))
        except ValidationFailed:
            continue
    return list(dict.fromkeys(found))


def _holders(wanted: list[Handle]) -> dict[Handle, Customer]:
    """Who holds each of these identities now: the living profile, merges followed."""
    if not wanted:
        return {}
    query = Q()
    for kind, value in wanted:
        query |= Q(kind=kind, value=value)
    rows = Identity.objects.select_related("customer").filter(query)
    return {(row.kind, row.value): surviving(row.customer) for row in rows}


def find_customer(identities: Iterable[Handle]) -> Customer | None:
    """The living profile holding the first of ``identities`` (kind, value) that anyone holds."""
    wanted = identities_of(identities)
    holders = _holders(wanted)
    return next((holders[handle] for handle in wanted if handle in holders), None)


def customer_for(
    identities: Iterable[Handle],
    *,
    source: str,
    given_name: str = "",
    family_name: str = "",
    language: str = "",
    country: str = "",
    create: bool = True,
) -> Customer | None:
    """The customer these identities name, following merges; the profile found learns those of them
    nobody holds. With ``create``, a new customer holding them when nobody does: named as the channel
    named them, speaking ``language`` if Forewarn speaks it, in the time zone of their phone or
    ``country`` (ISO 3166 alpha-2) when that has one time, and proposed as a duplicate of a profile with
    the same name. None when the sender is unknown and may not be created."""
    wanted = identities_of(identities)
    holders = _holders(wanted)
    found = next((holders[handle] for handle in wanted if handle in holders), None)
    if found is not None:
        _learn(found, [handle for handle in wanted if handle not in holders], source=source)
        dedup.propose_one_sender(found, [holders[handle] for handle in wanted if handle in holders])
        return found
    if not create:
        return None
    data = ProfileIn(
        given_name=given_name.strip()[:100],
        family_name=family_name.strip()[:100],
        language=norm.language_of(language),
        time_zone=_zone_of(wanted, country),
        identities=[IdentityIn(kind, value) for kind, value in wanted],
    )
    try:
        with transaction.atomic():
            # Someone who wrote from no address we can use is still heard: the message stands for them.
            customer = create_customer(actor=INTAKE, data=data, source=source, anonymous=not wanted)
    except (IntegrityError, Conflict):  # the same sender, made a customer a moment ago by another request
        return find_customer(wanted)
    dedup.propose_name_alikes(customer)
    return customer


def split_name(name: str) -> tuple[str, str]:
    """A whole name as one string (an email's display name, what a chat visitor typed): the first word is
    the given name, the rest the family name."""
    given, _sep, family = " ".join(name.split()).partition(" ")
    return given, family


def _zone_of(wanted: list[Handle], country: str) -> str | None:
    for kind, value in wanted:
        if kind == IdentityKind.PHONE:
            zone = norm.zone_of_phone(value)
            if zone is not None:
                return zone
    return norm.zone_of_country(country) if country else None


def _learn(customer: Customer, missing: list[Handle], *, source: str) -> None:
    """The sender's identities the profile lacked and nobody holds. A Telegram chat id becomes the
    profile's Telegram address where it had only a user name, which nothing can be sent to."""
    if customer.status != Customer.Status.ACTIVE or not missing:
        return
    telegram = customer.identities.filter(kind=IdentityKind.TELEGRAM)
    names_only = not telegram.exclude(value__startswith="@").exists()
    for kind, value in missing:
        chat_id = kind == IdentityKind.TELEGRAM and not value.startswith("@")
        try:
            add_identity(
                actor=INTAKE,
                customer=customer,
                kind=kind,
                value=value,
                is_primary=chat_id and names_only,
                source=source,
            )
        except Conflict:  # taken by another profile a moment ago: it stays theirs
            continue


# The intake acts as a machine that may make a customer of someone who writes, and nothing else.
INTAKE = Actor.machine("intake", Perm.CUSTOMERS_EDIT)
