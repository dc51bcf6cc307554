"""Reading what the channels keep of their own."""

from __future__ import annotations

from django.db.models import QuerySet

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.channels.models import LocalDelivery


def list_local_deliveries_for(actor: Actor) -> QuerySet[LocalDelivery]:
    """What the local provider recorded instead of sending, the newest first (the demo's outbox)."""
    actor.require(Perm.ENGAGE_VIEW)
    return LocalDelivery.objects.order_by("-first_sent_at", "-id")
