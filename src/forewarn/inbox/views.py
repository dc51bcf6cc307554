"""The inbox in the UI: the ticket list with its filters and counts, and one ticket with what was said."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from forewarn.accounts.roles import Perm
from forewarn.core.errors import ServiceError
from forewarn.core.vocab import Channel
from forewarn.core.web import actor_for, render_page_or_part, staff_view
from forewarn.inbox.models import TicketStatus
from forewarn.inbox.services import replies
from forewarn.inbox.services import tickets as ticket_service
from forewarn.privacy.services.protect import with_hidden

PAGE_SIZE = 50


@staff_view
def ticket_list(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    status, channel = request.GET.get("status", ""), request.GET.get("channel", "")
    everything = ticket_service.list_tickets(actor, channel=channel)
    counts = dict(everything.order_by().values_list("status").annotate(n=Count("pk")))
    rows = everything.filter(status=status) if status else everything
    context = {
        "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "statuses": [(code, label, counts.get(code, 0)) for code, label in TicketStatus.choices],
        "channels": Channel.choices,
        "filters": {"status": status, "channel": channel},
        "total": sum(counts.values()),
    }
    return render_page_or_part(request, "inbox/list.html", "inbox/_rows.html", context)


@staff_view
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    entries = with_hidden("inbox.entry", list(ticket.entries.all()))
    context = {
        "ticket": ticket,
        "entries": entries,
        "may_reveal": actor.may(Perm.PII_REVEAL),
        "may_write": actor.may(Perm.TICKETS_ANSWER),
        "may_answer": replies.may_answer(ticket),
        "error": request.session.pop("inbox_error", ""),
    }
    return render_page_or_part(request, "inbox/ticket.html", "inbox/_entries.html", context)


@require_POST
@staff_view
def add_entry(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    try:
        replies.add_entry(
            actor=actor,
            ticket=ticket,
            text=request.POST.get("text", ""),
            note=request.POST.get("kind") == "note",
        )
    except ServiceError as exc:
        request.session["inbox_error"] = "; ".join(f.message for f in exc.fields) or exc.message
    return redirect("inbox:ticket", ticket_id=ticket.pk)
