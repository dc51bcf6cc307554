"""SLA clocks and escalation.

A ticket gets its policy when it opens (and again when its priority changes): the first active policy
whose priority, channel and segment match. Its two clocks run in the policy's calendar's working time:

- **first response**: due ``first_response_minutes`` after the ticket opened; stopped by the first
  answer (a note is not an answer);
- **resolution**: due ``resolution_minutes`` after it opened, plus the working minutes it spent pending
  on the customer or solved (the clock stands still then, and a reopened ticket goes on from where it
  was solved).

Each due moment is stored with the moment its warning is due, so ``sweep`` (run every minute beside the
outbox sender, and safe to run in several processes at once: each change is a conditional UPDATE that
only one of them wins, and that finds nothing if an answer or a recompute moved the moment it read)
reads only what is due, through partial indexes, and records once each:

- a warning ``warn_before_minutes`` before a clock runs out;
- a breach when it runs out: the ticket goes to the supervisors (escalation level 1);
- head office, when a customer's message waited ``head_office_after_days`` working days without an answer
  (escalation level 2), whatever the clocks say.

When a policy or its calendar changes, or a policy is added, ``recompute_running`` sets the clocks of the
tickets it may govern again at once (in batches, each under the rows' locks), instead of at each ticket's
next change: those running under it, and, while it is active, those its conditions match (it may come
before their policy now).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, QuerySet

from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.inbox.hours import Calendar, moved_workdays, parse_hours, public_holidays
from forewarn.inbox.models import (
    BusinessCalendar,
    Escalation,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketStatus,
)

STOPPED = (TicketStatus.SOLVED, TicketStatus.CLOSED)
# While a ticket is in these the resolution clock stands still.
STANDING = (TicketStatus.PENDING, *STOPPED)
CLOCKS = ("first_response", "resolution")


def _never(_day: date) -> bool:
    return False


def calendar_of(row: BusinessCalendar | None) -> Calendar:
    if row is None:
        return Calendar.always()
    return Calendar(
        zone=ZoneInfo(row.time_zone),
        week=parse_hours(row.hours),
        closed_dates=frozenset(date.fromisoformat(d) for d in row.closed_dates),
        is_holiday=public_holidays(row.country, row.subdivision) if row.country else _never,
        is_moved_workday=moved_workdays(row.country, row.subdivision) if row.country else _never,
    )


def active_policies() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.filter(active=True).select_related("calendar"))


def policy_for(ticket: Ticket, policies: Sequence[SlaPolicy] | None = None) -> SlaPolicy | None:
    """The first of the active ``policies`` (read from the database if not given) that matches."""
    segments = {segment.pk for segment in ticket.customer.segments.all()}
    for policy in active_policies() if policies is None else policies:
        if policy.priority and policy.priority != ticket.priority:
            continue
        if policy.channel and policy.channel != ticket.channel:
            continue
        if policy.segment_id is not None and policy.segment_id not in segments:
            continue
        return policy
    return None


def _calendar(ticket: Ticket) -> Calendar:
    return calendar_of(ticket.sla_policy.calendar if ticket.sla_policy else None)


def _warn_at(calendar: Calendar, start: datetime, due: datetime, before: int) -> datetime:
    """The moment ``before`` working minutes ahead of ``due``."""
    total = calendar.minutes_between(start, due)
    return calendar.add(start, total - before) if total > before else start


SLA_FIELDS = [
    "sla_policy", "first_response_due", "first_response_warn_at", "resolution_due", "resolution_warn_at",
    "head_office_due",
]  # fmt: skip


def start_clocks(ticket: Ticket, policies: Sequence[SlaPolicy] | None = None) -> list[str]:
    """Choose the ticket's policy and set its due moments from when it opened; the fields it changed."""
    policy = policy_for(ticket, policies)
    ticket.sla_policy = policy
    for name in SLA_FIELDS[1:]:
        setattr(ticket, name, None)
    if policy is None:
        return SLA_FIELDS
    calendar = calendar_of(policy.calendar)
    if ticket.first_response_at is None:
        due = calendar.add(ticket.created_at, policy.first_response_minutes)
        ticket.first_response_due = due
        if ticket.first_response_breached_at is None:
            warn = _warn_at(calendar, ticket.created_at, due, policy.warn_before_minutes)
            ticket.first_response_warn_at = warn if warn < due else None
    if ticket.status not in STOPPED and ticket.sla_paused_at is None:
        due = calendar.add(ticket.created_at, policy.resolution_minutes + ticket.sla_paused_minutes)
        ticket.resolution_due = due
        if ticket.resolution_breached_at is None:
            warn = _warn_at(calendar, ticket.created_at, due, policy.warn_before_minutes)
            ticket.resolution_warn_at = warn if warn < due else None
    waiting_since = _waiting_since(ticket)
    if waiting_since is not None and ticket.escalation < Escalation.HEAD_OFFICE:
        ticket.head_office_due = calendar.add_days(waiting_since, policy.head_office_after_days)
    return SLA_FIELDS


def _waiting_since(ticket: Ticket) -> datetime | None:
    """Since when a customer's message waits for an answer, or None if nothing waits."""
    if ticket.status in STOPPED or ticket.last_inbound_at is None:
        return None
    if ticket.last_answer_at is not None and ticket.last_answer_at >= ticket.last_inbound_at:
        return None
    return ticket.last_inbound_at


def customer_wrote(ticket: Ticket) -> list[str]:
    """A customer's message arrived: head office's clock starts if nothing waited already."""
    policy = ticket.sla_policy
    if policy is None or ticket.head_office_due is not None or ticket.last_inbound_at is None:
        return []
    if ticket.escalation >= Escalation.HEAD_OFFICE:
        return []
    ticket.head_office_due = _calendar(ticket).add_days(ticket.last_inbound_at, policy.head_office_after_days)
    return ["head_office_due"]


def answered(ticket: Ticket, now: datetime) -> list[str]:
    """Staff answered: the first-response clock stops (a miss is recorded, if the sweep had not yet) and
    nothing waits for head office any more."""
    ticket.head_office_due = None
    fields = ["head_office_due"]
    if ticket.first_response_due is not None:
        if now > ticket.first_response_due and ticket.first_response_breached_at is None:
            ticket.first_response_breached_at = ticket.first_response_due
            fields.append("first_response_breached_at")
        ticket.first_response_due = ticket.first_response_warn_at = None
        fields += ["first_response_due", "first_response_warn_at"]
    return fields


def status_changed(ticket: Ticket, old: str, now: datetime) -> list[str]:
    """Pending on the customer stops the resolution clock, and so does solving (a miss is recorded);
    leaving either starts it again where it stood, so a ticket reopened a week after it was solved is
    not late for the week it was solved."""
    if ticket.sla_policy is None:
        return []
    fields: list[str] = []
    new = ticket.status
    due = ticket.resolution_due
    solved_late = new in STOPPED and old not in STOPPED and due is not None and now > due
    if solved_late and ticket.resolution_breached_at is None:
        ticket.resolution_breached_at = due
        fields.append("resolution_breached_at")
    if new in STANDING and old not in STANDING and ticket.sla_paused_at is None:
        ticket.sla_paused_at = now
        fields.append("sla_paused_at")
    elif old in STANDING and new not in STANDING and ticket.sla_paused_at is not None:
        ticket.sla_paused_minutes += max(_calendar(ticket).minutes_between(ticket.sla_paused_at, now), 0.0)
        ticket.sla_paused_at = None
        fields += ["sla_paused_at", "sla_paused_minutes"]
    return [*fields, *start_clocks(ticket)]


# Tickets recomputed in one transaction: a policy with 100,000 open tickets is read a batch at a time.
RECOMPUTE_BATCH = 500


def governed_by(policy: SlaPolicy) -> Q:
    """The tickets ``policy`` may set the clocks of: those under it, and, while it is active, those its
    priority, channel and segment match (whichever policy they are under now)."""
    under = Q(sla_policy_id=policy.pk)
    if not policy.active:
        return under
    matched = Q()
    if policy.priority:
        matched &= Q(priority=policy.priority)
    if policy.channel:
        matched &= Q(channel=policy.channel)
    if policy.segment_id is not None:
        members = Customer.segments.through.objects.filter(segment_id=policy.segment_id)
        matched &= Q(customer_id__in=members.values("customer_id"))
    return under | matched


def recompute_running(policy: SlaPolicy, *, batch_size: int = RECOMPUTE_BATCH) -> int:
    """Set the clocks of the running tickets ``policy`` may govern (``governed_by``) again, as their next
    change would (``start_clocks``): after the policy or its calendar changed, or it was added. Returns
    how many tickets' clocks moved.

    A ticket may move to another policy (this one no longer matches it, or was deactivated), or to this
    one (it matches, and comes first now: a new policy, a lower rank, wider conditions). Breaches
    already recorded stay recorded, and so does an escalation; a due moment now in the past is recorded
    as missed by the next sweep. A warning already given for a due moment is not given again; a clock
    whose due moment moved is warned of anew. Tickets are read in ``batch_size`` batches by id, each
    batch locked, checked again and written in one transaction, so answers arriving meanwhile win."""
    changed, after, scope = 0, 0, governed_by(policy)
    while True:
        ids = list(
            _open().filter(scope, pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return changed
        changed += _recompute_batch(ids, scope)
        after = ids[-1]


def recompute_policies(policy_ids: Iterable[int], *, batch_size: int = RECOMPUTE_BATCH) -> int:
    """``recompute_running`` for each of these policies that still exists (the job calls this)."""
    return sum(
        recompute_running(policy, batch_size=batch_size)
        for policy in SlaPolicy.objects.filter(pk__in=list(policy_ids)).order_by("pk")
    )


def _recompute_batch(ids: list[int], scope: Q) -> int:
    with transaction.atomic():
        policies = active_policies()
        tickets = list(
            _open()
            .select_for_update(of=("self",))
            .filter(scope, pk__in=ids)
            .select_related("customer")
            .prefetch_related("customer__segments")
            .order_by("pk")
        )
        warned = {
            (ticket_id, data.get("clock"), data.get("due"))
            for ticket_id, data in TicketEvent.objects.filter(
                ticket_id__in=[t.pk for t in tickets], kind=TicketEvent.Kind.SLA_WARNING
            ).values_list("ticket_id", "data")
            if isinstance(data, dict)
        }
        moved: list[Ticket] = []
        for ticket in tickets:
            before = _clocks_of(ticket)
            given = {
                which: getattr(ticket, f"{which}_warn_at") is None and getattr(ticket, f"{which}_due")
                for which in CLOCKS
            }
            start_clocks(ticket, policies)
            for which in CLOCKS:
                # start_clocks arms each warning afresh; one given already for this due moment stays given
                # (the sweep empties the moment before it records the event, so either tells).
                due = getattr(ticket, f"{which}_due")
                if (ticket.pk, which, _iso(due)) in warned or (due is not None and given[which] == due):
                    setattr(ticket, f"{which}_warn_at", None)
            if _clocks_of(ticket) != before:
                moved.append(ticket)
        if moved:
            Ticket.objects.bulk_update(moved, SLA_FIELDS)
    return len(moved)


def _clocks_of(ticket: Ticket) -> tuple[object, ...]:
    return (ticket.sla_policy_id, *(getattr(ticket, name) for name in SLA_FIELDS[1:]))


@dataclass
class SweepResult:
    warnings: int = 0
    breaches: int = 0
    to_supervisor: int = 0
    to_head_office: int = 0


def _open() -> QuerySet[Ticket]:
    return Ticket.objects.exclude(status__in=STOPPED)


def sweep(now: datetime | None = None) -> SweepResult:
    """Record the warnings, breaches and escalations that are due; each happens once."""
    now = now or clock.now()
    result = SweepResult()
    for which in CLOCKS:
        due, warn, breached = f"{which}_due", f"{which}_warn_at", f"{which}_breached_at"
        for ticket in _open().filter(**{f"{warn}__lte": now}):
            moment = getattr(ticket, warn)
            if Ticket.objects.filter(pk=ticket.pk, **{warn: moment}).update(**{warn: None}):
                _event(ticket, TicketEvent.Kind.SLA_WARNING, now, clock=which, due=_iso(getattr(ticket, due)))
                result.warnings += 1
        for ticket in _open().filter(**{f"{due}__lte": now, f"{breached}__isnull": True}):
            moment = getattr(ticket, due)
            # Only the due moment read here is missed: an answer or a recompute may have moved it since.
            won = Ticket.objects.filter(pk=ticket.pk, **{due: moment, f"{breached}__isnull": True}).update(
                **{breached: moment, warn: None}
            )
            if won:
                _event(ticket, TicketEvent.Kind.SLA_BREACH, now, clock=which, due=_iso(moment))
                result.breaches += 1
                result.to_supervisor += _escalate(ticket, Escalation.SUPERVISOR, now, which)
    for ticket in _open().filter(head_office_due__lte=now, escalation__lt=Escalation.HEAD_OFFICE):
        result.to_head_office += _escalate(
            ticket, Escalation.HEAD_OFFICE, now, "unanswered", still=Q(head_office_due__lte=now)
        )
    return result


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _escalate(ticket: Ticket, level: int, now: datetime, why: str, still: Q | None = None) -> int:
    """Raise the ticket to ``level`` once; ``still`` is what must hold yet when the row is written."""
    changes: dict[str, object] = {"escalation": level, "escalated_at": now}
    if level >= Escalation.HEAD_OFFICE:
        changes["head_office_due"] = None
    rows = Ticket.objects.filter(Q(pk=ticket.pk) & Q(escalation__lt=level) & (still or Q()))
    won = rows.update(**changes) == 1
    if won:
        _event(ticket, TicketEvent.Kind.ESCALATED, now, level=level, reason=why)
    return int(won)


def _event(ticket: Ticket, kind: str, now: datetime, **data: object) -> None:
    TicketEvent.objects.create(ticket=ticket, kind=kind, data=data, at=now)
