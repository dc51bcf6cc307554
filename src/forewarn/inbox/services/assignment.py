"""Who handles a ticket: routing to a team, round-robin among the agents who can take it, presence, manual
take-over, and the collision warning when two people answer the same ticket at once.

Routing: the first routing rule (lowest rank) whose channel, language and tag match names the team and
the skill a ticket needs. Round-robin: among that team's agents (everyone who answers tickets, when no
rule names a team) who are online, speak the ticket's language (an agent who lists no languages speaks
all), have the skill, and hold fewer open tickets than their cap, the one who was given a ticket longest
ago gets it. When nobody qualifies the ticket waits in the team's queue and ``assign_waiting`` hands it
out as soon as someone comes online or closes a ticket.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.accounts.roles import Perm, Role
from forewarn.core import clock
from forewarn.core.errors import ValidationFailed
from forewarn.inbox.models import AgentState, Presence, RoutingRule, Ticket, TicketEvent, TicketStatus

# Tickets that count against an agent's cap: everything not yet solved.
ACTIVE = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD)
ANSWERING_ROLES = (Role.AGENT, Role.SUPERVISOR)
# Someone viewing or typing in a ticket within this long counts as "in it now" for the collision warning.
PRESENT_FOR = timedelta(seconds=45)


def route(ticket: Ticket) -> None:
    """Set the ticket's team (and the skill it needs, as a custom field) from the routing rules."""
    for rule in RoutingRule.objects.all():
        if rule.channel and rule.channel != ticket.channel:
            continue
        if rule.language and rule.language != ticket.language:
            continue
        if rule.tag and rule.tag not in ticket.tags:
            continue
        ticket.team_id = rule.team_id
        if rule.skill:
            ticket.custom_fields = {**ticket.custom_fields, "skill": rule.skill}
        return


def state_of(user: User) -> AgentState:
    state, _created = AgentState.objects.get_or_create(user=user)
    return state


def candidates(ticket: Ticket) -> list[User]:
    """Agents who could take this ticket now, the one whose turn it is first."""
    people = User.objects.filter(
        is_active=True, role__in=ANSWERING_ROLES, agent_state__presence=Presence.ONLINE
    )
    if ticket.team_id is not None:
        people = people.filter(teams=ticket.team_id)
    people = people.annotate(
        load=Count("assigned_tickets", filter=Q(assigned_tickets__status__in=ACTIVE), distinct=True)
    ).filter(load__lt=F("agent_state__max_open"))
    skill = ticket.custom_fields.get("skill", "")
    out: list[User] = []
    for person in people.select_related("agent_state").order_by(
        F("agent_state__last_assigned_at").asc(nulls_first=True), "pk"
    ):
        state = person.agent_state
        if ticket.language and state.languages and ticket.language not in state.languages:
            continue
        if skill and skill not in state.skills:
            continue
        out.append(person)
    return out


def assign_next(ticket: Ticket, now: datetime) -> User | None:
    """Give an unassigned ticket to whoever's turn it is; None (it waits in the queue) if nobody can."""
    if ticket.assignee_id is not None or ticket.status not in ACTIVE:
        return None
    for person in candidates(ticket):
        # The agent's row is the turn's lock: two tickets arriving at once go to two people.
        with transaction.atomic():
            claimed = AgentState.objects.filter(
                Q(user=person)
                & (Q(last_assigned_at__isnull=True) | Q(last_assigned_at=person.agent_state.last_assigned_at))
            ).update(last_assigned_at=now)
            if not claimed:
                continue
            if not Ticket.objects.filter(pk=ticket.pk, assignee__isnull=True).update(assignee=person):
                return None
        ticket.assignee = person
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.ASSIGNED,
            data={"to": person.pk, "how": "round_robin"},
            at=now,
        )
        return person
    return None


def assign_waiting(now: datetime | None = None, limit: int = 200) -> int:
    """Hand out tickets that wait in a queue, oldest first; returns how many found someone."""
    now = now or clock.now()
    given = 0
    waiting = Ticket.objects.filter(assignee__isnull=True, status__in=ACTIVE).order_by("created_at")[:limit]
    for ticket in waiting:
        if assign_next(ticket, now) is not None:
            given += 1
    return given


def set_presence(*, actor: Actor, presence: str) -> AgentState:
    actor.require(Perm.TICKETS_ANSWER)
    if presence not in Presence.values:
        raise ValidationFailed.single("presence", "invalid", _("Use online, away or offline."))
    if actor.user is None:
        raise ValidationFailed.single("presence", "not_a_person", _("Only a person has a presence."))
    user = actor.user
    state = state_of(user)
    state.presence, state.seen_at = presence, clock.now()
    state.save(update_fields=["presence", "seen_at"])
    if presence == Presence.ONLINE:
        assign_waiting()
    return state


def assignable(user_id: int) -> User:
    """The member of staff a ticket may be given to, or the reason why not, at the field ``assignee_id``."""
    to = User.objects.filter(pk=user_id).first()
    if to is None:
        raise ValidationFailed.single("assignee_id", "user_not_found", _("No such member of staff."))
    if not to.is_active or not to.may(Perm.TICKETS_ANSWER):
        raise ValidationFailed.single("assignee_id", "cannot_answer", _("This person cannot answer tickets."))
    return to


def hand_over(
    ticket: Ticket, to: User | None, *, actor: Actor, how: str, now: datetime
) -> TicketEvent | None:
    """Give a ticket the caller holds under its row lock to ``to``: the unsaved ASSIGNED event to record
    with it, or None when it is already theirs (a repeated request changes nothing and says nothing)."""
    before = ticket.assignee_id
    if before == (to.pk if to else None):
        return None
    ticket.assignee = to
    return TicketEvent(
        ticket=ticket,
        kind=TicketEvent.Kind.ASSIGNED,
        actor_id=actor.user_id,
        data={"to": to.pk if to else None, "from": before, "how": how},
        at=now,
    )


def assign(*, actor: Actor, ticket: Ticket, to: User | None, how: str = "manual") -> Ticket:
    """Give a ticket to someone (or back to the queue); taking it over from another agent included. The
    ticket is read again under its row lock, so two people assigning at once are taken one after the other,
    and giving it to whoever has it already records nothing."""
    actor.require(Perm.TICKETS_ANSWER)
    if to is not None:
        assignable(to.pk)
    now = clock.now()
    with transaction.atomic():
        ticket.refresh_from_db(from_queryset=Ticket.objects.select_for_update(of=("self",)))
        event = hand_over(ticket, to, actor=actor, how=how, now=now)
        if event is not None:
            ticket.updated_at = now
            ticket.save(update_fields=["assignee", "updated_at"])
            event.save()
    return ticket


def answering_staff(actor: Actor) -> list[User]:
    """Everyone a ticket can be given to, by user name."""
    actor.require(Perm.TICKETS_VIEW)
    return list(User.objects.filter(is_active=True, role__in=ANSWERING_ROLES).order_by("username"))


def my_state(actor: Actor) -> AgentState | None:
    """The acting person's presence and turn, if they have any (a machine client has none)."""
    if actor.user is None:
        return None
    return AgentState.objects.filter(user=actor.user).first()
