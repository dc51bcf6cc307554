"""The inbox in the UI: views of the ticket list with filters and counts, and the workspace of one ticket:
the conversation, actions (status, priority, tags, assignment), canned replies and the customer sidebar."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from forewarn.accounts.actors import actor_for
from forewarn.accounts.roles import Perm
from forewarn.core import clock, lengths
from forewarn.core.errors import Forbidden, NotFound, ServiceError
from forewarn.core.vocab import Channel
from forewarn.core.web import render_page_or_part, staff_view
from forewarn.inbox.models import Presence, Priority, TicketStatus
from forewarn.inbox.services import assignment, canned, deliveries, hints, history, presence, replies
from forewarn.inbox.services import tickets as ticket_service
from forewarn.inbox.services.intake import portal
from forewarn.inbox.services.intake.email import attachment_path
from forewarn.privacy.services.protect import with_hidden

PAGE_SIZE = 50
# What a row of the inbox shows; every open inbox asks for its page each second, so only these columns
# are read and turned into objects.
ROW_FIELDS = (
    "subject", "tags", "customer_id", "channel", "status", "priority", "updated_at", "escalation",
    "first_response_due", "resolution_due", "first_response_breached_at", "resolution_breached_at",
    "sla_paused_at", "customer__given_name", "customer__middle_name", "customer__family_name",
    "assignee__username", "assignee__first_name", "assignee__last_name",
)  # fmt: skip
# An entry longer than this is shown cut, with the whole of it a click away: the entries reload every two
# seconds, so one long letter would otherwise be sent again and again.
PREVIEW_CHARS = 3000
VIEW_LABELS = {
    "all": _("All"),
    "mine": _("Mine"),
    "mentions": _("Mentioned"),
    "unassigned": _("Unassigned"),
    "team": _("My teams"),
    "escalated": _("Escalated"),
    "breached": _("SLA missed"),
}


def _filters(request: HttpRequest) -> ticket_service.TicketFilters:
    get = request.GET
    view = get.get("view", "all")
    return ticket_service.TicketFilters(
        view=view if view in ticket_service.VIEWS else "all",
        status=get.get("status", ""),
        channel=get.get("channel", ""),
        priority=get.get("priority", ""),
        tag=get.get("tag", ""),
        q=get.get("q", "")[:200],
        deep=get.get("deep") == "1",
    )


def _labelled(items: list[Any]) -> list[Any]:
    """Rows with the labels of their channel, status and priority, each label translated once a page
    rather than once a row (``get_FOO_display`` looks the choices up anew every time)."""
    choices = {"channel": Channel.choices, "status": TicketStatus.choices, "priority": Priority.choices}
    labels = {field: {code: str(label) for code, label in pairs} for field, pairs in choices.items()}
    for item in items:
        for field, names in labels.items():
            code = getattr(item, field)
            setattr(item, f"{field}_label", names.get(code, code))
    return items


def _without(request: HttpRequest, *names: str) -> str:
    """The query string of ``request`` without the parameters ``names``."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@staff_view
def ticket_list(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    filters = _filters(request)
    found = ticket_service.find_tickets(
        actor, ticket_service.TicketFilters(**{**vars(filters), "status": ""})
    )
    everything = found.rows
    counts = ticket_service.status_counts(everything)
    rows = everything.filter(status=filters.status) if filters.status else everything
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    # No COUNT of everything: one row more than a page says whether there is an older page.
    items = _labelled(list(rows.only(*ROW_FIELDS)[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1]))
    state = assignment.my_state(actor)
    may_write = actor.may(Perm.TICKETS_ANSWER)
    context = {
        "items": items[:PAGE_SIZE],
        "page": page,
        "has_older": len(items) > PAGE_SIZE,
        "statuses": [(code, label, counts.get(code, 0)) for code, label in TicketStatus.choices],
        "cap": ticket_service.COUNT_CAP,
        "views": list(VIEW_LABELS.items()),
        "channels": Channel.choices,
        "priorities": Priority.choices,
        "filters": filters,
        "query": request.GET.urlencode(),
        "pager_query": _without(request, "page"),
        "search": found.search,
        "search_limit": ticket_service.SEARCH_LIMIT,
        "presence": state.presence if state else Presence.OFFLINE,
        "presences": Presence.choices,
        "may_write": may_write,
        "bulk_limit": ticket_service.BULK_LIMIT,
    }
    if may_write and not request.headers.get("HX-Request"):
        # The bulk actions above the rows: whom to give tickets to, and why the last one was refused.
        context.update(
            staff=assignment.answering_staff(actor),
            error=request.session.pop("inbox_error", ""),
        )
    return render_page_or_part(request, "inbox/list.html", "inbox/_rows.html", context)


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]


@require_POST
@staff_view
def bulk(request: HttpRequest) -> HttpResponse:
    """The bulk actions of the inbox list: one action on the chosen tickets, all of them or none."""
    actor = actor_for(request)
    post = request.POST
    action = post.get("action", "")
    chosen, into = post.get("assignee", ""), post.get("into", "").lstrip("#").strip()
    change = ticket_service.BulkChange(
        action=action,
        assignee_id=(int(chosen) if chosen.isdigit() else 0) if action == "assign" else None,
        status=post.get("status") or None,
        tag=post.get("tag", "")[:50],
        into=int(into) if into.isdigit() else None,
    )
    back = post.get("next", "")
    back = back if back.startswith("/") and not back.startswith("//") else reverse("inbox:list")
    try:
        tickets = ticket_service.bulk_update(
            actor=actor, ticket_ids=_ids(post.getlist("ticket")), change=change
        )
    except ServiceError as exc:
        _remember_error(request, exc)
        return redirect(back)
    if action == "merge":
        return redirect("inbox:ticket", ticket_id=tickets[0].pk)
    messages.success(
        request,
        ngettext("%(n)d ticket changed.", "%(n)d tickets changed.", len(tickets)) % {"n": len(tickets)},
    )
    return redirect(back)


def _cut_at(text: str, hidden: list[Any]) -> int:
    """Where a long entry's first part ends: before a mask it would cut in two, at a space if one is
    near."""
    at = PREVIEW_CHARS
    for value in hidden:
        if value.start < at < value.end:
            at = value.start
    space = text.rfind(" ", 0, at)
    return space if space > at - 200 else at


def _shortened(entries: list[Any]) -> list[Any]:
    """Each entry with ``preview`` (its text, or its first part when long) and ``cut``."""
    for entry in entries:
        entry.cut = len(entry.text) > PREVIEW_CHARS
        entry.preview = entry.text[: _cut_at(entry.text, entry.hidden)] if entry.cut else entry.text
        entry.length = len(entry.text)
    return entries


def _length_rules(ticket: Any) -> dict[str, Any]:
    """What the counter under the answer needs to count as the server does (``core.lengths``)."""
    return {
        "sms": ticket.channel == Channel.SMS,
        "limit": lengths.LONGEST.get(ticket.channel, lengths.LONGEST_NOTE),
        "note_limit": lengths.LONGEST_NOTE,
        "sms_max_parts": lengths.SMS_MAX_PARTS,
        "gsm7": lengths.GSM7,
        "gsm7_extended": lengths.GSM7_EXTENDED,
    }


@staff_view
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    entries = _shortened(list(with_hidden("inbox.entry", list(ticket.entries.all()))))
    found = deliveries.deliveries_of(entries)
    for entry in entries:
        entry.delivery = found.get(entry.pk)
    context: dict[str, Any] = {
        "ticket": ticket,
        "entries": entries,
        "last_entry": entries[-1].pk if entries else 0,
        "may_reveal": actor.may(Perm.PII_REVEAL),
        "may_write": actor.may(Perm.TICKETS_ANSWER),
        "may_answer": replies.may_answer(ticket),
        "error": request.session.pop("inbox_error", ""),
        "draft": request.session.pop("inbox_draft", ""),
        "collision": request.session.pop("inbox_collision", False),
        "others": presence.others_in(actor, ticket),
    }
    if request.headers.get("HX-Request"):
        return render_page_or_part(request, "inbox/ticket.html", "inbox/_entries.html", context)
    context.update(
        hints=hints.hints_for(actor, ticket),
        canned=list(canned.canned_for(actor, ticket)),
        statuses=TicketStatus.choices,
        priorities=Priority.choices,
        staff=assignment.answering_staff(actor),
        events=history.history_of(ticket),
        portal_link=portal.link_for(ticket.customer),
        length_rules=_length_rules(ticket),
    )
    return render_page_or_part(request, "inbox/ticket.html", "inbox/_entries.html", context)


@staff_view
def entry_text(request: HttpRequest, ticket_id: int, entry_id: int) -> HttpResponse:
    """The whole of one entry, for "Show all" under a long one."""
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    entry = next((e for e in ticket.entries.all() if e.pk == entry_id), None)
    if entry is None:
        raise NotFound(str(_("No such entry.")), code="entry_not_found")
    with_hidden("inbox.entry", [entry])
    context = {"entry": entry, "may_reveal": actor.may(Perm.PII_REVEAL)}
    return render(request, "inbox/_entry_text.html", context)


def _remember_error(request: HttpRequest, exc: ServiceError) -> None:
    """Show the reason on the page the form came from; a refusal by permission stays a 403."""
    if isinstance(exc, Forbidden):
        raise exc
    request.session["inbox_error"] = "; ".join(f.message for f in exc.fields) or exc.message


@require_POST
@staff_view
def add_entry(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    seen = request.POST.get("seen_up_to", "")
    try:
        replies.add_entry(
            actor=actor,
            ticket=ticket,
            text=request.POST.get("text", ""),
            note=request.POST.get("kind") == "note",
            seen_up_to=int(seen) if seen.isdigit() else None,
            confirmed=request.POST.get("confirmed") == "1",
        )
    except ServiceError as exc:
        _remember_error(request, exc)
        request.session["inbox_draft"] = request.POST.get("text", "")
        request.session["inbox_collision"] = exc.code == "collision"
    return redirect("inbox:ticket", ticket_id=ticket.pk)


@require_POST
@staff_view
def update(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    post = request.POST
    chosen = post.get("assignee", "")
    change = ticket_service.TicketChange(
        status=post.get("status") or None,
        priority=post.get("priority") or None,
        tags=post.get("tags", "").split(",") if "tags" in post else None,
        assignee_id=(int(chosen) if chosen.isdigit() else 0) if "assignee" in post else None,
    )
    try:
        ticket_service.update_ticket(actor=actor, ticket=ticket, change=change)
    except ServiceError as exc:
        _remember_error(request, exc)
    return redirect("inbox:ticket", ticket_id=ticket.pk)


@require_POST
@staff_view
def merge(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    target = request.POST.get("into", "").lstrip("#").strip()
    try:
        into = ticket_service.get_ticket_for(actor, int(target) if target.isdigit() else 0)
        ticket_service.merge_tickets(actor=actor, ticket=ticket, into=into)
    except ServiceError as exc:
        _remember_error(request, exc)
        return redirect("inbox:ticket", ticket_id=ticket.pk)
    return redirect("inbox:ticket", ticket_id=into.pk)


@require_POST
@staff_view
def split(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    try:
        new = ticket_service.split_ticket(
            actor=actor, ticket=ticket, entry_ids=_ids(request.POST.getlist("entry"))
        )
    except ServiceError as exc:
        _remember_error(request, exc)
        return redirect("inbox:ticket", ticket_id=ticket.pk)
    return redirect("inbox:ticket", ticket_id=new.pk)


@require_POST
@staff_view
def send_again(request: HttpRequest, ticket_id: int, entry_id: int) -> HttpResponse:
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    try:
        deliveries.send_again(
            actor=actor, ticket=ticket, entry_id=entry_id, channel=request.POST.get("channel", "")
        )
    except ServiceError as exc:
        _remember_error(request, exc)
    return redirect("inbox:ticket", ticket_id=ticket.pk)


@require_POST
@staff_view
def take(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    try:
        assignment.assign(actor=actor, ticket=ticket, to=actor.user, how="take_over")
    except ServiceError as exc:
        _remember_error(request, exc)
    return redirect("inbox:ticket", ticket_id=ticket.pk)


@require_POST
@staff_view
def here(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The ticket page says, every few seconds, that its reader is still in it (and whether typing); the
    answer names anyone else who is, for the collision warning."""
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    presence.mark_here(actor, ticket, typing=request.POST.get("typing") == "1", now=clock.now())
    others = presence.others_in(actor, ticket)
    return JsonResponse({"others": [{"name": name, "typing": typing} for name, typing in others]})


@require_POST
@staff_view
def set_presence(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    try:
        assignment.set_presence(actor=actor, presence=request.POST.get("presence", ""))
    except ServiceError as exc:
        _remember_error(request, exc)
    return redirect(request.POST.get("next") or "inbox:list")


@staff_view
def canned_text(request: HttpRequest, ticket_id: int, canned_id: int) -> HttpResponse:
    actor = actor_for(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    try:
        return JsonResponse({"text": canned.fill(actor, ticket, canned_id)})
    except ServiceError as exc:
        return JsonResponse({"error": exc.message}, status=404)


@staff_view
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """A kept file, to staff who may read tickets; always as a download, never shown inline, so a file
    a customer sent cannot run as a page of Forewarn's."""
    actor = actor_for(request)
    found = ticket_service.get_attachment_for(actor, attachment_id)
    # Files are capped at FOREWARN_ATTACHMENT_MAX_BYTES when they arrive, so one fits in memory.
    response = HttpResponse(
        attachment_path(found.sha256).read_bytes(), content_type="application/octet-stream"
    )
    response["Content-Disposition"] = (
        content_disposition_header(True, found.filename or "attachment") or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@staff_view
def customer_timeline(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The profile's timeline section: every channel, and what Forewarn told them, in one list."""
    actor = actor_for(request)
    moments = ticket_service.customer_timeline(actor, customer_id)
    return render(request, "inbox/_timeline.html", {"moments": moments})
