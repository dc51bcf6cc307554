"""Who wrote: the one place a message from outside is matched to a customer.

Every channel that hears from people (email, SMS, Telegram, Viber, calls, the web chat, and the surveys,
reviews and bot to come) names the sender by the identities it knows. :func:`customer_for` finds the
profile holding any of them, in the order given, and follows merges to the profile that lives on; a
sender nobody knows becomes a customer with those identities (and the name and language the channel
gave), so that someone who writes to us first is a customer from then on.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core.errors import ValidationFailed
from forewarn.core.vocab import Language
from forewarn.customers.models import Customer, Identity
from forewarn.customers.normalize import normalize_identity
from forewarn.customers.services.merging import surviving
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, create_customer
from forewarn.customers.services.reach import IDENTITY_OF_CHANNEL


def identity_of_channel(channel: str, address: str) -> tuple[str, str] | None:
    """(kind, normalised value) of an address on a channel; None when it is not one we can match."""
    kind = IDENTITY_OF_CHANNEL.get(channel)
    if kind is None or not address:
        return None
    try:
        return kind, normalize_identity(kind, address)
    except ValidationFailed:
        return None


def _normalised(identities: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    found = []
    for kind, raw in identities:
        try:
            found.append((kind, normalize_identity(kind, raw)))
        except ValidationFailed:
            continue  # a value a channel sent that is no identity of ours (an empty username)
    return list(dict.fromkeys(found))


def find_customer(identities: Iterable[tuple[str, str]]) -> Customer | None:
    """The living profile holding the first of ``identities`` (kind, value) that anyone holds."""
    wanted = _normalised(identities)
    for kind, value in wanted:
        identity = Identity.objects.select_related("customer").filter(kind=kind, value=value).first()
        if identity is not None:
            return surviving(identity.customer)
    return None


def customer_for(
    identities: Iterable[tuple[str, str]],
    *,
    source: str,
    name: str = "",
    language: str = "",
    create: bool = True,
) -> Customer | None:
    """The customer these identities name, following merges; with ``create``, a new customer holding
    them (named ``name``, speaking ``language`` if Forewarn speaks it) when nobody does. None when the
    sender is unknown and may not be created, or named no identity at all and ``create`` is off."""
    wanted = _normalised(identities)
    found = find_customer(wanted)
    if found is not None or not create:
        return found
    given, _sep, family = name.strip().partition(" ")
    data = ProfileIn(
        given_name=given[:100],
        family_name=family.strip()[:100],
        language=language if language in Language.values else None,
        identities=[IdentityIn(kind, value) for kind, value in wanted],
    )
    try:
        with transaction.atomic():
            # Someone who wrote from no address we can use is still heard: the message stands for them.
            return create_customer(actor=INTAKE, data=data, source=source, anonymous=not wanted)
    except IntegrityError:  # the same sender, made a customer a moment ago by another request
        return find_customer(wanted)


# The intake acts as a machine that may make a customer of someone who writes, and nothing else.
INTAKE = Actor.machine("intake", Perm.CUSTOMERS_EDIT)
