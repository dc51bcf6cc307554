"""The page on which an agent opens a ticket on behalf of a customer (``services.intake.desk``): the customer
found by name, phone or email (the customers' search) or named by the customer page's link, the channel
they reached us on, a subject and what they said."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from forewarn.accounts.actors import actor_for
from forewarn.accounts.roles import Perm
from forewarn.core.errors import NotFound, ValidationFailed
from forewarn.core.vocab import Channel
from forewarn.core.web import staff_view
from forewarn.customers.services import profiles
from forewarn.inbox.models import Priority
from forewarn.inbox.services.intake import desk

FOUND_LIMIT = 20
FIELDS = ("customer", "channel", "subject", "text", "priority", "as")


@staff_view
def new_ticket(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    actor.require(Perm.TICKETS_ANSWER)
    source = request.POST if request.method == "POST" else request.GET
    form = {name: source.get(name, "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    customer = None
    if form["customer"].isdigit():
        try:
            customer = profiles.get_customer_for(actor, int(form["customer"]))
        except NotFound as exc:
            errors["customer_id"] = exc.message
    if request.method == "POST":
        try:
            ticket = desk.open_for_customer(
                actor=actor,
                data=desk.NewTicketIn(
                    customer_id=customer.pk if customer is not None else None,
                    channel=form["channel"],
                    subject=form["subject"],
                    text=source.get("text", ""),
                    note=form["as"] == "note",
                    priority=form["priority"],
                ),
            )
        except ValidationFailed as exc:
            for error in exc.fields:
                errors.setdefault(error.path, error.message)
        else:
            messages.success(request, _("Ticket #%(id)d opened.") % {"id": ticket.pk})
            return redirect("inbox:ticket", ticket_id=ticket.pk)
    query = request.GET.get("q", "").strip()
    found = []
    if query:
        rows = profiles.search_customers(actor=actor, q=query).prefetch_related("identities")
        found = [(c, profiles.primary_identities(c)) for c in rows[:FOUND_LIMIT]]
    if not form["channel"]:
        form["channel"] = (customer.preferred_channel if customer is not None else "") or Channel.VOICE
    context = {
        "form": form,
        "errors": errors,
        "customer": customer,
        "contacts": profiles.primary_identities(customer) if customer is not None else {},
        "q": query,
        "found": found,
        "found_limit": FOUND_LIMIT,
        "channels": Channel.choices,
        "priorities": Priority.choices,
    }
    return render(request, "inbox/new_ticket.html", context, status=422 if errors else 200)
