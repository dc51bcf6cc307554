"""A ticket's history in words: what changed, from what to what, who did it and when."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from forewarn.accounts.models import User
from forewarn.core.vocab import label_of
from forewarn.inbox.models import Escalation, Priority, Ticket, TicketEvent, TicketStatus

CLOCK_NAMES = {"first_response": gettext_lazy("first response"), "resolution": gettext_lazy("resolution")}


@dataclass(frozen=True)
class Change:
    at: datetime
    what: str  # the kind, in words
    detail: str  # from what to what, in words
    who: str


def history_of(ticket: Ticket, limit: int = 20) -> list[Change]:
    """The newest ``limit`` events of the ticket, each said in the reader's language; the people they
    name are read in one query."""
    events = list(ticket.events.select_related("actor").order_by("-at", "-id")[:limit])
    ids = {
        v
        for e in events
        if e.kind in (TicketEvent.Kind.ASSIGNED, TicketEvent.Kind.MENTIONED)
        for v in _people(e.data)
    }
    names = {u.pk: u.get_full_name() or u.username for u in User.objects.filter(pk__in=ids)}
    return [
        Change(e.at, e.get_kind_display(), _detail(e.kind, e.data, names), str(e.actor) if e.actor else "")
        for e in events
    ]


def _people(data: dict[str, Any]) -> list[int]:
    return [v for k in ("to", "from", "user") if isinstance(v := data.get(k), int)]


Said = Callable[[dict[str, Any], dict[int, str]], str]


def _person(data: dict[str, Any], key: str, names: dict[int, str]) -> str:
    pk = data.get(key)
    return names.get(pk, f"#{pk}") if isinstance(pk, int) else _("the queue")


def _moved(choices: type[TextChoices]) -> Said:
    def said(data: dict[str, Any], _names: dict[int, str]) -> str:
        moved = (
            f"{label_of(choices, str(data.get('from', '')))} → {label_of(choices, str(data.get('to', '')))}"
        )
        return f"{moved} ({_('merged')})" if data.get("why") == "merged" else moved

    return said


def _tags(data: dict[str, Any], _names: dict[int, str]) -> str:
    before, after = set(data.get("from") or []), set(data.get("to") or [])
    return ", ".join([*(f"+{t}" for t in sorted(after - before)), *(f"−{t}" for t in sorted(before - after))])


def _assigned(data: dict[str, Any], names: dict[int, str]) -> str:
    to = _person(data, "to", names)
    return f"{_person(data, 'from', names)} → {to}" if "from" in data else f"→ {to}"


def _incident(data: dict[str, Any], _names: dict[int, str]) -> str:
    return f"#{data['incident']}" if data.get("incident") else _("unlinked")


def _clock(data: dict[str, Any], _names: dict[int, str]) -> str:
    return str(CLOCK_NAMES.get(str(data.get("clock", "")), data.get("clock", "")))


def _escalated(data: dict[str, Any], _names: dict[int, str]) -> str:
    level = data.get("level")
    return str(Escalation(level).label) if level in Escalation.values else ""


def _between(data: dict[str, Any], _names: dict[int, str]) -> str:
    if "into" in data or "to" in data:
        return _("into #%(n)s") % {"n": data.get("into") or data.get("to")}
    return _("from #%(n)s") % {"n": data.get("from")}


DETAILS: dict[str, Said] = {
    TicketEvent.Kind.STATUS: _moved(TicketStatus),
    TicketEvent.Kind.PRIORITY: _moved(Priority),
    TicketEvent.Kind.TAGS: _tags,
    TicketEvent.Kind.ASSIGNED: _assigned,
    TicketEvent.Kind.FIELDS: lambda data, _names: ", ".join(data.get("names") or []),
    TicketEvent.Kind.INCIDENT: _incident,
    TicketEvent.Kind.SLA_WARNING: _clock,
    TicketEvent.Kind.SLA_BREACH: _clock,
    TicketEvent.Kind.ESCALATED: _escalated,
    TicketEvent.Kind.MERGED: _between,
    TicketEvent.Kind.SPLIT: _between,
    TicketEvent.Kind.MENTIONED: lambda data, names: f"@{_person(data, 'user', names)}",
}


def _detail(kind: str, data: dict[str, Any], names: dict[int, str]) -> str:
    said = DETAILS.get(kind)
    return said(data, names) if said is not None else ""
