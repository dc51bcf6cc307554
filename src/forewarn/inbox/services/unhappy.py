"""Who is unhappy, as the inbox knows it: a customer whose problem is still open, or who complained
lately, gets no promotion (the retention variant or nothing). Registered with engage's risk signals
(``engage.services.risk.signal_with``) in ``InboxConfig.ready``."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from django.db.models import Q

from forewarn.core.bulk import fetch
from forewarn.core.lookups import Keys
from forewarn.inbox.models import Priority, Ticket, TicketStatus

# A ticket in these is a problem the customer still has.
UNRESOLVED = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD)
# A complaint keeps promotions away this long after its ticket last changed, solved or not.
COMPLAINT_MEMORY = timedelta(days=14)
# What marks a ticket as a complaint: one of these tags, or an urgent or high priority.
COMPLAINT_TAGS = frozenset({"complaint", "скарга", "жалоба"})
COMPLAINT_PRIORITIES = (Priority.HIGH, Priority.URGENT)


def unhappy_customers(customer_ids: Collection[int], now: datetime) -> dict[int, str]:
    """Of these customers, those with an unresolved ticket ("open_ticket") or a complaint in the last
    ``COMPLAINT_MEMORY`` ("recent_complaint"): one query for the batch, on the (customer, updated) index."""
    if not customer_ids:
        return {}
    recent = Q(updated_at__gte=now - COMPLAINT_MEMORY)
    tickets = Ticket.objects.filter(
        Q(status__in=UNRESOLVED) | recent, customer_id__among=Keys(customer_ids), merged_into__isnull=True
    ).order_by()
    found: dict[int, str] = {}
    for cid, status, priority, tags in fetch(
        tickets.values_list("customer_id", "status", "priority", "tags")
    ):
        if status in UNRESOLVED:
            found[cid] = "open_ticket"
        elif cid not in found and (priority in COMPLAINT_PRIORITIES or COMPLAINT_TAGS & set(tags or [])):
            found[cid] = "recent_complaint"
    return found
