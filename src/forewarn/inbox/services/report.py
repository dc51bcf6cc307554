"""SLA attainment per customer segment: how many tickets got their first answer and their resolution in
time, with a 95 % margin of error, and the targets that applied, so a reader can tell a difference that
a policy makes (VIPs promised a faster answer) from one that nobody decided."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core.stats import Proportion, wilson
from forewarn.customers.models import Customer
from forewarn.inbox.models import Ticket

NO_SEGMENT = ""


@dataclass
class SegmentRow:
    segment: str  # slug; "" for customers in no segment
    name: str
    tickets: int
    first_response: Proportion
    resolution: Proportion
    median_first_response_minutes: float | None
    policies: list[str] = field(default_factory=list)


def sla_attainment(*, actor: Actor, since: datetime, until: datetime) -> list[SegmentRow]:
    """Tickets opened in [since, until) under an SLA policy, per segment of their customer (a customer in
    two segments counts in both). A clock counts once it is decided: answered (or missed) for first
    response, solved (or missed) for resolution."""
    actor.require(Perm.TICKETS_VIEW)
    tickets = list(
        Ticket.objects.filter(created_at__gte=since, created_at__lt=until, sla_policy__isnull=False)
        .select_related("sla_policy")
        .only(
            "customer_id", "created_at", "first_response_at", "first_response_breached_at", "solved_at",
            "resolution_breached_at", "sla_policy__name",
        )
    )  # fmt: skip
    segments_of: dict[int, list[tuple[str, str]]] = defaultdict(list)
    through = Customer.segments.through.objects.filter(
        customer_id__in={t.customer_id for t in tickets}
    ).values_list("customer_id", "segment__slug", "segment__name")
    for customer_id, slug, name in through:
        segments_of[customer_id].append((slug, name))
    groups: dict[tuple[str, str], list[Ticket]] = defaultdict(list)
    for ticket in tickets:
        for key in segments_of.get(ticket.customer_id) or [(NO_SEGMENT, _("No segment"))]:
            groups[key].append(ticket)
    rows = []
    for (slug, name), members in sorted(groups.items()):
        first_decided = [t for t in members if t.first_response_at or t.first_response_breached_at]
        first_met = sum(1 for t in first_decided if t.first_response_breached_at is None)
        res_decided = [t for t in members if t.solved_at or t.resolution_breached_at]
        res_met = sum(1 for t in res_decided if t.resolution_breached_at is None)
        waits = [
            (t.first_response_at - t.created_at).total_seconds() / 60 for t in members if t.first_response_at
        ]
        rows.append(
            SegmentRow(
                segment=slug,
                name=name,
                tickets=len(members),
                first_response=wilson(first_met, len(first_decided)),
                resolution=wilson(res_met, len(res_decided)),
                median_first_response_minutes=median(waits) if waits else None,
                policies=sorted({t.sla_policy.name for t in members if t.sla_policy}),
            )
        )
    return rows
