"""Who is in a ticket right now: each open ticket page reports its reader every few seconds, so an agent
about to answer sees that a colleague is reading or typing in the same ticket."""

from __future__ import annotations

from datetime import datetime

from forewarn.accounts.actors import Actor
from forewarn.core import clock
from forewarn.inbox.models import AgentState, Ticket
from forewarn.inbox.services.assignment import PRESENT_FOR


def mark_here(actor: Actor, ticket: Ticket, *, typing: bool, now: datetime) -> None:
    if actor.user is None:
        return
    AgentState.objects.update_or_create(
        user=actor.user, defaults={"ticket": ticket, "ticket_seen_at": now, "typing": typing, "seen_at": now}
    )


def others_in(actor: Actor, ticket: Ticket) -> list[tuple[str, bool]]:
    """(name, typing) of everyone else in this ticket now."""
    rows = (
        AgentState.objects.filter(ticket=ticket, ticket_seen_at__gte=clock.now() - PRESENT_FOR)
        .exclude(user_id=actor.user_id or 0)
        .select_related("user")
    )
    return [(str(row.user), row.typing) for row in rows]
