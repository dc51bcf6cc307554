"""Tickets: the inbox list with its filters, one ticket with what was said in it, and changing a ticket's
status, priority, tags, custom fields and linked incident."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.accounts.roles import Perm
from forewarn.core import clock, morphology
from forewarn.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from forewarn.core.vocab import Channel, label_of
from forewarn.customers.services.profiles import search_customers
from forewarn.engage.models import Incident, Message, MessageStatus
from forewarn.engage.services.words import ANSWER_KIND
from forewarn.inbox.models import Attachment, Entry, Priority, Ticket, TicketEvent, TicketStatus
from forewarn.inbox.services import assignment, sla
from forewarn.privacy.services.protect import mask_payload, store_values

# Views of the inbox an agent switches between; each is one indexed query.
VIEWS = ("mine", "mentions", "unassigned", "team", "escalated", "breached", "all")
# Counts above this are shown as "10000+": counting a million rows on every page load costs more than
# the number is worth.
COUNT_CAP = 10_000
SEARCH_LIMIT = 200
# A search reads the newest entries row by row, and the older ones through the full-text index only when
# it expects this few matches in all; otherwise they wait for "search older conversations too" (ADR 0016).
RECENT_ENTRIES = 50_000
OLDER_BUDGET = 400
# A subject word expected in at most this many tickets is found through the index alone: reading its
# matches (a table page each, about 6 µs warm) costs less than walking the newest tickets until 200 of
# them turn up. Measured at a million tickets, the two meet at a few thousand matches.
SUBJECT_BUDGET = 2_000
# At most this many customers whose name, phone or e-mail a search matches bring their tickets along.
CUSTOMER_MATCHES = 50
TICKET_NUMBER = re.compile(r"^#?(\d{1,9})$")
WORD = re.compile(r"\w+")
SAID = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.QUEUED)


@dataclass(frozen=True)
class TicketFilters:
    view: str = "all"
    status: str = ""
    channel: str = ""
    priority: str = ""
    tag: str = ""
    q: str = ""
    customer_id: int | None = None
    # Search the older conversations too, when the newest ones already held enough matches.
    deep: bool = False


@dataclass(frozen=True)
class Found:
    """The tickets a view shows, and what the search in it found (None without words to search)."""

    rows: QuerySet[Ticket]
    search: Matches | None = None


def tickets_visible_to(actor: Actor) -> QuerySet[Ticket]:
    """The tickets ``actor`` may see at all, as in the helpdesks people know: supervisors and admins
    (``tickets.view_all``) every team's; everyone else those of their teams, those no team holds yet,
    and those given to them. Every read of tickets for staff starts here: lists, search, one ticket by id
    (another team's is a 404), files and the customer's timeline."""
    actor.require(Perm.TICKETS_VIEW)
    rows = Ticket.objects.all()
    if actor.may(Perm.TICKETS_VIEW_ALL):
        return rows
    mine = Q(team__isnull=True)
    if actor.user is not None:
        mine |= Q(team__in=actor.user.teams.values("pk")) | Q(assignee_id=actor.user.pk)
    return rows.filter(mine)


def list_tickets(actor: Actor, filters: TicketFilters | None = None, **shortcut: Any) -> QuerySet[Ticket]:
    """The tickets a view shows, most recently active first."""
    return find_tickets(actor, filters or TicketFilters(**shortcut)).rows


def find_tickets(actor: Actor, f: TicketFilters) -> Found:
    """The tickets a view shows, most recently active first, with what the search found."""
    rows = _in_view(tickets_visible_to(actor).select_related("customer", "assignee"), actor, f.view)
    exact = {"status": f.status, "channel": f.channel, "priority": f.priority, "customer_id": f.customer_id}
    rows = rows.filter(**{k: v for k, v in exact.items() if v not in (None, "")})
    if f.tag:
        tag = f.tag.strip().lower()
        # JSON containment where the database has it; SQLite keeps the list as text.
        if connection.vendor == "postgresql":
            rows = rows.filter(tags__contains=[tag])
        else:
            rows = rows.filter(tags__icontains=json.dumps(tag))
    search = None
    if f.q.strip():
        narrowed = (
            f.view != "all"
            or any(v not in (None, "") for v in exact.values())
            or bool(f.tag)
            or not actor.may(Perm.TICKETS_VIEW_ALL)
        )
        search = search_entries(f.q, within=rows if narrowed else None, deep=f.deep)
        rows = rows.filter(pk__in=[*search.ticket_ids, *_matches_beside_words(actor, f.q, rows)])
    return Found(rows.order_by("-updated_at", "-id"), search)


def _matches_beside_words(actor: Actor, q: str, within: QuerySet[Ticket]) -> list[int]:
    """The tickets of ``within`` a search finds beside what was written in them: by number (``#123`` or
    ``123``), by subject (the words in their forms, as in entries) and by customer (a name in any script,
    a phone in any format, an e-mail: as the customer search finds them), at most ``SEARCH_LIMIT`` each,
    the most recently active."""
    found = _subject_matches(q, within)
    number = TICKET_NUMBER.match(q.strip())
    if number:
        found += within.filter(pk=int(number.group(1))).values_list("pk", flat=True)
    if actor.may(Perm.CUSTOMERS_VIEW):
        people = list(
            search_customers(actor=actor, q=q).order_by().values_list("pk", flat=True)[:CUSTOMER_MATCHES]
        )
        if people:
            theirs = within.filter(customer_id__in=people).order_by("-updated_at")
            found += theirs.values_list("pk", flat=True)[:SEARCH_LIMIT]
    return found


def _subject_matches(q: str, within: QuerySet[Ticket]) -> list[int]:
    terms = morphology.terms(q)
    if not terms:
        return []
    if connection.vendor != "postgresql":
        rows = within
        for term in terms:
            rows = rows.filter(subject__iregex=_pattern(term))
        return list(rows.order_by("-updated_at").values_list("pk", flat=True)[:SEARCH_LIMIT])
    # inbox_ticket.subject_search (migration 0009): the subject's words, as entries keep theirs. A word
    # in few subjects is found through the index alone and only its matches are narrowed and sorted; a
    # common one by the newest tickets first, which meets enough of them soon (as ADR 0016 for entries).
    query = _tsquery(terms)
    if _expected_matches(query, table="inbox_ticket", column="subject_search") <= SUBJECT_BUDGET:
        inner, params = within.order_by().values("pk").query.sql_with_params()
        few = f"""
            WITH found AS MATERIALIZED (
                SELECT id, updated_at FROM inbox_ticket WHERE subject_search @@ to_tsquery('simple', %s)
            )
            SELECT id FROM found WHERE id IN ({inner}) ORDER BY updated_at DESC LIMIT %s
        """  # noqa: S608 - the only interpolation is Django's own SQL for ``within``; values are parameters
        with connection.cursor() as cursor:
            cursor.execute(few, [query, *params, SEARCH_LIMIT])
            return [row[0] for row in cursor.fetchall()]
    matches = RawSQL("inbox_ticket.subject_search @@ to_tsquery('simple', %s)", [query], BooleanField())
    rows = within.alias(subject_matches=matches).filter(subject_matches=True)
    return list(rows.order_by("-updated_at").values_list("pk", flat=True)[:SEARCH_LIMIT])


def _tsquery(terms: list[morphology.Term]) -> str:
    """Every term, in any of its forms (or as its prefix): ``('рахунок' | 'рахунку') & 'інтер':*``."""
    parts = []
    for term in terms:
        options = [f"'{p}':*" for p in term.prefixes if WORD.fullmatch(p)]
        options += [f"'{form}'" for form in term.forms if WORD.fullmatch(form)]
        parts.append("(" + " | ".join(options or [f"'{term.word}'"]) + ")")
    return " & ".join(parts)


def _pattern(term: morphology.Term) -> str:
    """The term as a case-insensitive pattern (SQLite): any of its forms or prefixes, within a word."""
    return "(" + "|".join(re.escape(o) for o in term.options or (term.word,)) + ")"


def _in_view(rows: QuerySet[Ticket], actor: Actor, view: str) -> QuerySet[Ticket]:
    me = actor.user_id or 0
    if view == "team":
        teams = list(actor.user.teams.values_list("pk", flat=True)) if actor.user is not None else []
        return rows.filter(team_id__in=teams)
    if view == "mentions":
        mentioned = TicketEvent.objects.filter(kind=TicketEvent.Kind.MENTIONED, data__user=me)
        return rows.filter(pk__in=mentioned.values("ticket_id"))
    if view == "breached":
        missed = Q(first_response_breached_at__isnull=False) | Q(resolution_breached_at__isnull=False)
        return rows.filter(missed).exclude(status__in=[TicketStatus.SOLVED, TicketStatus.CLOSED])
    simple = {
        "mine": Q(assignee_id=me),
        "unassigned": Q(assignee__isnull=True),
        "escalated": Q(escalation__gt=0),
    }
    return rows.filter(simple[view]) if view in simple else rows


def status_counts(rows: QuerySet[Ticket]) -> dict[str, int]:
    """How many tickets of ``rows`` have each status, each count capped at ``COUNT_CAP + 1``: one
    statement, the capped count of each status a subquery of it. The view's query is compiled once, with
    a placeholder status that each subquery's parameters replace."""
    codes = list(TicketStatus.values)
    placeholder = "\x00status"
    capped = rows.order_by().filter(status=placeholder).values("pk")[: COUNT_CAP + 1]
    try:
        sql, params = capped.query.sql_with_params()
    except EmptyResultSet:  # the view holds nothing by its very conditions (a search that found nothing)
        return dict.fromkeys(codes, 0)
    spot = params.index(placeholder)
    counted = (f"(SELECT COUNT(*) FROM ({sql}) AS s{i})" for i in range(len(codes)))  # noqa: S608 - Django's own SQL; values are parameters
    statement = "SELECT " + ", ".join(counted)
    values = [v for code in codes for v in (*params[:spot], code, *params[spot + 1 :])]
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        counts = cursor.fetchone()
    return dict(zip(codes, counts, strict=True))


@dataclass(frozen=True)
class Matches:
    """What a search found: ``ticket_ids`` (those written in most recently first); ``older_skipped`` when
    only the newest entries were read because the older ones hold too many matches to read now
    (``deep`` reads them); ``capped`` when more entries matched than ``SEARCH_LIMIT``."""

    ticket_ids: list[int]
    older_skipped: bool = False
    capped: bool = False


def search_entries(q: str, within: QuerySet[Ticket] | None = None, *, deep: bool = False) -> Matches:
    """The tickets (of ``within``, if given) whose words hold every word of ``q``, from at most
    ``SEARCH_LIMIT`` matching entries, the newest.

    On PostgreSQL entries keep their words as a stored ``tsvector`` (the ``simple`` configuration, so
    Ukrainian, Russian and English words match as written; the last word matches as a prefix) with a GIN
    index (migration 0004). Every match the index finds is a row to read, so the search runs in two
    bounded steps (ADR 0016): the newest ``RECENT_ENTRIES`` entries row by row, newest first (a common
    word fills the page here); then, only if the index expects at most ``OLDER_BUDGET`` matches in all
    (or ``deep``), the older entries through the index alone. On SQLite the match is case-insensitive
    through Python's ``re`` (SQLite's own LIKE folds only ASCII letters) and reads everything."""
    terms = morphology.terms(q)
    if not terms:
        return Matches([])
    entries = Entry.objects.all()
    if within is not None:
        entries = entries.filter(ticket_id__in=within.order_by().values("pk"))
    if connection.vendor != "postgresql":
        for term in terms:
            entries = entries.filter(text__iregex=_pattern(term))
        found = list(entries.order_by("-created_at").values_list("ticket_id", flat=True)[: SEARCH_LIMIT + 1])
        return Matches(_distinct(found[:SEARCH_LIMIT]), capped=len(found) > SEARCH_LIMIT)
    query = _tsquery(terms)
    matches = RawSQL("inbox_entry.search @@ to_tsquery('simple', %s)", [query], output_field=BooleanField())
    # Where the newest entries end: read from the (created_at) index alone, a few milliseconds.
    boundary = Entry.objects.order_by("-created_at").values_list("created_at", flat=True)
    cutoff = boundary[RECENT_ENTRIES - 1 : RECENT_ENTRIES].first() or datetime.min.replace(tzinfo=UTC)
    # Read here, not used as a subquery: the raw condition names the entry table by its own name.
    recent = entries.alias(matches=matches).filter(matches=True, created_at__gte=cutoff)
    found = list(recent.order_by("-created_at").values_list("ticket_id", flat=True)[: SEARCH_LIMIT + 1])
    if len(found) > SEARCH_LIMIT:
        return Matches(_distinct(found[:SEARCH_LIMIT]), capped=True)
    if not deep and _expected_matches(query) > OLDER_BUDGET:
        return Matches(_distinct(found), older_skipped=True)
    narrow, params = "", []
    if within is not None:
        inner, inner_params = within.order_by().values("pk").query.sql_with_params()
        narrow, params = f"WHERE ticket_id IN ({inner})", list(inner_params)
    # MATERIALIZED: the index finds the matches first; only they are narrowed to the view and sorted.
    older = f"""
        WITH found AS MATERIALIZED (
            SELECT ticket_id, created_at FROM inbox_entry
            WHERE search @@ to_tsquery('simple', %s) AND created_at < %s
        )
        SELECT ticket_id FROM found {narrow} ORDER BY created_at DESC LIMIT %s
    """  # noqa: S608 - the only interpolation is Django's own SQL for ``within``; values are parameters
    wanted = SEARCH_LIMIT - len(found)
    with connection.cursor() as cursor:
        cursor.execute(older, [query, cutoff, *params, wanted + 1])
        more = [row[0] for row in cursor.fetchall()]
    return Matches(_distinct(found + more[:wanted]), capped=len(more) > wanted)


def _expected_matches(query: str, *, table: str = "inbox_entry", column: str = "search") -> float:
    """How many rows the planner expects to match ``query``: from the word statistics of the column
    (entries' ``search`` has a target of 1000, migration 0004), close for words and prefixes alike."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {table} WHERE {column} @@ to_tsquery('simple', %s)",  # noqa: S608 - table and column are this module's constants
            [query],
        )
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # psycopg hands JSON over parsed; a bare driver might not
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def _distinct(ids: Any) -> list[int]:
    return list(dict.fromkeys(ids))


def get_ticket_for(actor: Actor, ticket_id: int) -> Ticket:
    """One ticket with what was said in it; another team's is not found, as if it did not exist."""
    ticket = (
        tickets_visible_to(actor)
        .select_related("customer")
        .prefetch_related("entries__attachments", "entries__message", "entries__author")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound(_("No such ticket."), code="ticket_not_found")
    return ticket


@dataclass(frozen=True)
class TicketChange:
    """What a person changes about a ticket; None leaves a part as it is."""

    status: str | None = None
    priority: str | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None
    incident_id: int | None = None
    unlink_incident: bool = False
    # Whom the ticket is given to: a member of staff's id, or 0 for back to the queue.
    assignee_id: int | None = None


def _clean_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(t.strip().lower()[:50] for t in tags if t.strip()))


def _checked(change: TicketChange) -> User | None:
    """Every field of the change checked at once, before anything is written; whom it assigns to."""
    errors = []
    if change.status is not None and change.status not in TicketStatus.values:
        errors.append(FieldError("status", "invalid", _("Unknown status.")))
    if change.priority is not None and change.priority not in Priority.values:
        errors.append(FieldError("priority", "invalid", _("Unknown priority.")))
    if change.incident_id is not None and not Incident.objects.filter(pk=change.incident_id).exists():
        errors.append(FieldError("incident_id", "incident_not_found", _("No such incident.")))
    if change.custom_fields is not None and any(len(str(k)) > 50 for k in change.custom_fields):
        errors.append(
            FieldError("custom_fields", "name_too_long", _("Field names are 50 characters at most."))
        )
    to: User | None = None
    if change.assignee_id:
        try:
            to = assignment.assignable(change.assignee_id)
        except ValidationFailed as exc:
            errors.extend(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    return to


def _applied(ticket: Ticket, change: TicketChange, now: datetime) -> tuple[list[str], list[tuple[str, Any]]]:
    """Apply the change to the locked ``ticket``: the fields it changed and the events that say so."""
    fields: list[str] = []
    events: list[tuple[str, dict[str, Any]]] = []
    if change.status is not None and change.status != ticket.status:
        old, ticket.status = ticket.status, change.status
        if change.status == TicketStatus.SOLVED:
            ticket.solved_at = now
            fields.append("solved_at")
        fields += ["status", *sla.status_changed(ticket, old, now)]
        events.append((TicketEvent.Kind.STATUS, {"from": old, "to": change.status}))
    if change.priority is not None and change.priority != ticket.priority:
        old, ticket.priority = ticket.priority, change.priority
        fields += ["priority", *sla.start_clocks(ticket)]
        events.append((TicketEvent.Kind.PRIORITY, {"from": old, "to": change.priority}))
    if change.tags is not None:
        tags = _clean_tags(change.tags)
        if tags != ticket.tags:
            events.append((TicketEvent.Kind.TAGS, {"from": ticket.tags, "to": tags}))
            ticket.tags = tags
            fields.append("tags")
    if change.custom_fields is not None and change.custom_fields != ticket.custom_fields:
        masked, hidden = mask_payload(change.custom_fields, "custom_fields")
        store_values([("inbox.ticket", ticket.pk, ticket.customer_id, hidden)])
        events.append((TicketEvent.Kind.FIELDS, {"names": sorted(masked)}))
        ticket.custom_fields = masked
        fields.append("custom_fields")
    relinked = change.incident_id is not None and change.incident_id != ticket.incident_id
    if change.unlink_incident or relinked:
        ticket.incident_id = None if change.unlink_incident else change.incident_id
        fields.append("incident")
        events.append((TicketEvent.Kind.INCIDENT, {"incident": ticket.incident_id}))
    return fields, events


def update_ticket(*, actor: Actor, ticket: Ticket, change: TicketChange) -> Ticket:
    """Change status, priority, tags, custom fields, the linked incident or the assignee, all in one
    transaction or none of it: every field is checked before anything is written. Each change is recorded
    once (the same change again records nothing), and the SLA clocks follow (pending stops the resolution
    clock, a new priority may mean a new policy)."""
    actor.require(Perm.TICKETS_ANSWER)
    to = _checked(change)
    now = clock.now()
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("customer", "sla_policy__calendar")
            .get(pk=ticket.pk)
        )
        fields, events = _applied(ticket, change, now)
        recorded = [
            TicketEvent(ticket=ticket, kind=kind, actor_id=actor.user_id, data=data, at=now)
            for kind, data in events
        ]
        if change.assignee_id is not None:
            handed = assignment.hand_over(ticket, to, actor=actor, how="manual", now=now)
            if handed is not None:
                fields.append("assignee")
                recorded.append(handed)
        if fields:
            ticket.updated_at = now
            ticket.save(update_fields=sorted({"updated_at", *fields}))
            TicketEvent.objects.bulk_create(recorded)
    return ticket


def merge_tickets(*, actor: Actor, ticket: Ticket, into: Ticket) -> Ticket:
    """One conversation counted twice (the customer wrote by email and by chat about the same parcel):
    ``ticket``'s entries move to ``into``, and ``ticket`` closes, pointing at it (a late reply to it is
    filed in ``into``). Only one customer's tickets merge."""
    actor.require(Perm.TICKETS_ANSWER)
    if ticket.pk == into.pk:
        raise Conflict(_("A ticket cannot be merged into itself."), code="same_ticket")
    if ticket.customer_id != into.customer_id:
        raise Conflict(_("Only one customer's tickets can be merged."), code="other_customer")
    if into.merged_into_id is not None:
        raise Conflict(_("That ticket was merged into another; merge into that one."), code="merged_already")
    now = clock.now()
    with transaction.atomic():
        locked = {t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=[ticket.pk, into.pk])}
        ticket, into = locked[ticket.pk], locked[into.pk]
        moved = Entry.objects.filter(ticket=ticket).update(ticket=into)
        was = into.status
        changed = _take_in(into, ticket)
        into.updated_at = now
        into.save(update_fields=[*changed, *sla.status_changed(into, was, now), "updated_at"])
        ticket.merged_into, ticket.status, ticket.updated_at = into, TicketStatus.CLOSED, now
        ticket.save(update_fields=["merged_into", "status", "updated_at"])
        events = [
            TicketEvent(
                ticket=ticket,
                kind=TicketEvent.Kind.MERGED,
                actor_id=actor.user_id,
                data={"into": into.pk},
                at=now,
            ),
            TicketEvent(
                ticket=into,
                kind=TicketEvent.Kind.MERGED,
                actor_id=actor.user_id,
                data={"from": ticket.pk, "entries": moved},
                at=now,
            ),
        ]
        if into.status != was:
            events.append(
                TicketEvent(
                    ticket=into,
                    kind=TicketEvent.Kind.STATUS,
                    actor_id=actor.user_id,
                    data={"from": was, "to": into.status, "why": "merged"},
                    at=now,
                )
            )
        TicketEvent.objects.bulk_create(events)
    return into


PRIORITY_RANK = {code: rank for rank, code in enumerate(Priority.values)}


def _of_both(pick: Callable[..., datetime], one: datetime | None, other: datetime | None) -> datetime | None:
    """``pick`` (min or max) of the moments that are set, or None if neither is."""
    known = [t for t in (one, other) if t is not None]
    return pick(known) if known else None


def _take_in(into: Ticket, merged: Ticket) -> list[str]:
    """What ``into`` becomes holding ``merged``'s conversation too: it began when the first of them did,
    was answered if either was (its first-response clock stops), is as urgent as the more urgent, holds
    both tags, keeps its own team and assignee or takes the other's, and is open if either was still
    being handled (new only if neither was answered). The fields it changed."""
    fields = ["created_at", "last_inbound_at", "last_answer_at", "first_response_at", "priority", "tags"]
    into.created_at = min(into.created_at, merged.created_at)
    into.last_inbound_at = _of_both(max, into.last_inbound_at, merged.last_inbound_at)
    into.last_answer_at = _of_both(max, into.last_answer_at, merged.last_answer_at)
    into.first_response_at = _of_both(min, into.first_response_at, merged.first_response_at)
    into.priority = max(into.priority, merged.priority, key=lambda p: PRIORITY_RANK.get(p, 0))
    into.tags = _clean_tags([*into.tags, *merged.tags])
    if into.assignee_id is None and merged.assignee_id is not None:
        into.assignee_id = merged.assignee_id
        fields.append("assignee")
    if into.team_id is None and merged.team_id is not None:
        into.team_id = merged.team_id
        fields.append("team")
    if into.status in sla.STOPPED and merged.status not in sla.STOPPED:
        into.status = merged.status  # the conversation goes on: the customer's other ticket was open
    if into.status == TicketStatus.NEW and (
        into.first_response_at is not None or merged.status not in (TicketStatus.NEW, *sla.STOPPED)
    ):
        into.status = TicketStatus.OPEN  # someone answered in the conversation already
    fields.append("status")
    if into.status not in sla.STOPPED:
        into.solved_at = None
        fields.append("solved_at")
    return fields


def split_ticket(*, actor: Actor, ticket: Ticket, entry_ids: list[int]) -> Ticket:
    """Two questions in one ticket: the chosen entries move to a new ticket of the same customer."""
    actor.require(Perm.TICKETS_ANSWER)
    chosen = Entry.objects.filter(ticket=ticket, pk__in=entry_ids)
    if not chosen.exists() or chosen.count() == ticket.entries.count():
        raise ValidationFailed.single(
            "entry_ids", "choose_some", _("Choose some of the ticket's entries, not none and not all.")
        )
    now = clock.now()
    with transaction.atomic():
        first = chosen.order_by("created_at", "pk").first()
        assert first is not None
        new = Ticket(
            customer_id=ticket.customer_id,
            channel=ticket.channel,
            subject=(first.text.split("\n", 1)[0] or ticket.subject)[:300],
            priority=ticket.priority,
            language=ticket.language,
            team_id=ticket.team_id,
            created_at=first.created_at,
            updated_at=now,
            last_inbound_at=first.created_at,
        )
        sla.start_clocks(new)
        new.save()
        moved = chosen.update(ticket=new)
        TicketEvent.objects.bulk_create(
            [
                TicketEvent(
                    ticket=ticket,
                    kind=TicketEvent.Kind.SPLIT,
                    actor_id=actor.user_id,
                    data={"to": new.pk, "entries": moved},
                    at=now,
                ),
                TicketEvent(
                    ticket=new,
                    kind=TicketEvent.Kind.SPLIT,
                    actor_id=actor.user_id,
                    data={"from": ticket.pk},
                    at=now,
                ),
            ]
        )
    return new


def get_attachment_for(actor: Actor, attachment_id: int) -> Attachment:
    visible = tickets_visible_to(actor).values("pk")
    found = Attachment.objects.filter(pk=attachment_id, entry__ticket__in=visible).exclude(sha256="").first()
    if found is None:
        raise NotFound(_("No such file."), code="attachment_not_found")
    return found


@dataclass(frozen=True)
class Moment:
    """One line of a customer's timeline: what they said, what we answered or told them, on which channel."""

    at: Any
    kind: str  # inbound, outbound, note, proactive
    channel: str
    text: str
    ticket_id: int | None = None
    status: str = ""
    topic: str = ""  # for what we told them: service, marketing, a survey invitation…

    @property
    def channel_label(self) -> str:
        return label_of(Channel, self.channel)

    @property
    def status_label(self) -> str:
        return label_of(MessageStatus, self.status)


def customer_timeline(actor: Actor, customer_id: int, limit: int = 100) -> list[Moment]:
    """Everything said between the customer and us across channels, newest first: ticket entries (notes
    for staff who may read tickets) and the proactive messages Forewarn decided to send."""
    entries = (
        Entry.objects.filter(
            ticket__customer_id=customer_id, ticket__in=tickets_visible_to(actor).values("pk")
        )
        .select_related("message")
        .order_by("-created_at", "-pk")[:limit]
    )
    moments = [
        Moment(e.created_at, e.kind, e.channel, e.text, e.ticket_id, e.message.status if e.message else "")
        for e in entries
    ]
    if actor.may(Perm.ENGAGE_VIEW):
        sent = (
            Message.objects.filter(customer_id=customer_id, status__in=SAID)
            .exclude(kind=ANSWER_KIND)
            .order_by("-planned_at")[:limit]
        )
        moments += [
            Moment(
                m.sent_at or m.planned_at,
                "proactive",
                m.channel,
                m.body or m.label,
                None,
                m.status,
                m.get_topic_display(),
            )
            for m in sent
        ]
    return sorted(moments, key=lambda m: m.at, reverse=True)[:limit]


# The most tickets one bulk action changes: a page of the inbox holds 50, and a longer batch would hold
# the row locks of all of them for as long as it takes.
BULK_LIMIT = 100
BULK_ACTIONS = ("assign", "status", "tag", "merge")


@dataclass(frozen=True)
class BulkChange:
    """One action for many tickets at once: give them to someone (``assignee_id``, 0 for back to the
    queue), set their ``status``, add a ``tag``, or merge them all ``into`` one of them."""

    action: str
    assignee_id: int | None = None
    status: str | None = None
    tag: str = ""
    into: int | None = None


def _chosen(actor: Actor, ticket_ids: list[int]) -> list[Ticket]:
    """The chosen tickets under their row locks, in the order given; refused whole if any is not there
    for ``actor`` (another team's is not found, as if it did not exist), none are chosen, or too many."""
    ids = list(dict.fromkeys(ticket_ids))
    if not ids:
        raise ValidationFailed.single("ticket_ids", "required", _("Choose some tickets."))
    if len(ids) > BULK_LIMIT:
        raise ValidationFailed.single(
            "ticket_ids",
            "too_many",
            _("At most %(limit)d tickets at once.") % {"limit": BULK_LIMIT},
        )
    found = {t.pk: t for t in tickets_visible_to(actor).select_for_update(of=("self",)).filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise NotFound(_("No such ticket: #%(id)d.") % {"id": missing[0]}, code="ticket_not_found")
    return [found[pk] for pk in ids]


def bulk_update(*, actor: Actor, ticket_ids: list[int], change: BulkChange) -> list[Ticket]:
    """One action on every chosen ticket, all of them or none: a ticket the actor may not see, or a
    change one of them refuses (a merge of another customer's ticket), leaves every ticket as it was.
    Each ticket goes through the same service as when it is changed alone (``update_ticket``,
    ``merge_tickets``), so the same rules hold and the same history is written. The tickets as they are
    after it; for a merge, the one that carries on first."""
    actor.require(Perm.TICKETS_ANSWER)
    if change.action not in BULK_ACTIONS:
        raise ValidationFailed.single("action", "invalid", _("Unknown action."))
    if change.action == "assign" and change.assignee_id is None:
        raise ValidationFailed.single("assignee_id", "required", _("Choose whom to give them to."))
    if change.action == "status" and not change.status:
        raise ValidationFailed.single("status", "required", _("Choose a status."))
    tag = _clean_tags([change.tag])
    if change.action == "tag" and not tag:
        raise ValidationFailed.single("tag", "required", _("Write the tag to add."))
    with transaction.atomic():
        tickets = _chosen(actor, ticket_ids)
        if change.action == "merge":
            into = next((t for t in tickets if t.pk == change.into), None)
            if into is None:
                raise ValidationFailed.single(
                    "into", "not_chosen", _("Merge into one of the chosen tickets.")
                )
            for ticket in tickets:
                if ticket.pk != into.pk:
                    into = merge_tickets(actor=actor, ticket=ticket, into=into)
            ids = [into.pk, *(t.pk for t in tickets if t.pk != into.pk)]
        else:
            for ticket in tickets:
                one = TicketChange(
                    assignee_id=change.assignee_id if change.action == "assign" else None,
                    status=change.status if change.action == "status" else None,
                    tags=[*ticket.tags, *tag] if change.action == "tag" else None,
                )
                update_ticket(actor=actor, ticket=ticket, change=one)
            ids = [t.pk for t in tickets]
    after = {t.pk: t for t in Ticket.objects.filter(pk__in=ids)}
    return [after[pk] for pk in ids]
