"""How a customer is reached, the one place it is said: which identity is an address on which channel,
where each customer can be reached (their primary identity of a kind, else the oldest), and the customer
as message templates and trigger conditions see them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any

from forewarn.core.bulk import fetch
from forewarn.core.lookups import Keys
from forewarn.customers.models import Customer, Identity, full_name_of

# The channel an identity reaches, and the identity a channel's address is (a call comes from a phone).
CHANNEL_OF_IDENTITY = {"phone": "sms", "email": "email", "telegram": "telegram", "viber": "viber"}
IDENTITY_OF_CHANNEL = {
    "sms": "phone",
    "voice": "phone",
    "email": "email",
    "telegram": "telegram",
    "viber": "viber",
}


def addresses_of(customer_ids: Collection[int]) -> dict[int, dict[str, str]]:
    """Where each customer can be reached, per channel: the primary identity of a kind, else the oldest."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    # Sorted by the database, first of each kind first. No condition on the kind: with one, SQLite
    # would walk the (kind, value) index over every customer's identities, not these customers' few.
    rows = (
        Identity.objects.filter(customer_id__among=Keys(customer_ids))
        .order_by("customer_id", "kind", "-is_primary", "id")
        .values_list("customer_id", "kind", "value")
    )
    for cid, kind, value in fetch(rows):
        channel = CHANNEL_OF_IDENTITY.get(kind)
        if channel is not None:
            found[cid].setdefault(channel, value)
    return found


# The profile fields message templates and trigger conditions may read, in the order of ``context_of``.
CONTEXT_FIELDS = ("given_name", "middle_name", "family_name", "language", "city", "time_zone", "attributes")


def context_of(values: Sequence[Any]) -> dict[str, Any]:
    """A customer as templates see them (``customer.first_name``...), from ``CONTEXT_FIELDS``' values."""
    given, middle, family, language, city, zone, attributes = values
    return {
        "first_name": given,
        "full_name": full_name_of(given, middle, family),
        "language": language,
        "city": city,
        "time_zone": zone,
        "attributes": attributes or {},
    }


def customer_context(customer: Customer) -> dict[str, Any]:
    return context_of([getattr(customer, name) for name in CONTEXT_FIELDS])
