"""What the channels hold about a person: the local provider's record of what it would have sent them.

Channels know addresses, not customers, so they are asked by the person's addresses (``needles``).
"""

from __future__ import annotations

from typing import Any

from forewarn.channels.models import LocalDelivery
from forewarn.privacy.services.subjects import Holder, People


def _to(addresses: set[str]) -> Any:
    return LocalDelivery.objects.filter(address__in=sorted(addresses))


def export(_people: People) -> list[dict[str, Any]]:
    return []  # the messages themselves are in engage's section; this record only repeats them


def erase(_people: People, addresses: set[str]) -> dict[str, int]:
    return {"local_deliveries": _to(addresses).update(address="", subject="", body="", html="")}


HOLDER = Holder(name="channels", export=export, erase=erase, order=10)
