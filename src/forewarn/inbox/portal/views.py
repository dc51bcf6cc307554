"""The customer portal's pages (public: the signed link in the URL is the only key)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_http_methods

from forewarn.core.errors import NotFound, ServiceError
from forewarn.inbox.services.intake import limits, portal


def _page(request: HttpRequest, template: str, context: dict[str, object], status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the link is the key: never hand it to another site
    response["X-Robots-Tag"] = "noindex"
    return response


def home(request: HttpRequest, token: str) -> HttpResponse:
    try:
        customer = portal.customer_of(token)
    except NotFound as exc:
        return _page(request, "inbox/portal_gone.html", {"message": exc.message}, status=404)
    with translation.override(customer.language or None):
        return _page(
            request,
            "inbox/portal.html",
            {"customer": customer, "tickets": portal.tickets_of(customer), "token": token},
        )


@require_http_methods(["GET", "POST"])
def ticket(request: HttpRequest, token: str, ticket_id: int) -> HttpResponse:
    try:
        customer = portal.customer_of(token)
        found = portal.ticket_of(customer, ticket_id)
    except NotFound as exc:
        return _page(request, "inbox/portal_gone.html", {"message": exc.message}, status=404)
    error = ""
    with translation.override(customer.language or None):
        if request.method == "POST":
            try:
                portal.write(customer, found, request.POST.get("text", ""), ip=limits.client_ip(request))
                return redirect("portal:ticket", token=token, ticket_id=found.pk)
            except ServiceError as exc:
                error = "; ".join(f.message for f in exc.fields) or exc.message
        context = {
            "customer": customer,
            "ticket": found,
            "entries": portal.conversation(found),
            "token": token,
            "error": error,
        }
        return _page(request, "inbox/portal_ticket.html", context, status=400 if error else 200)
