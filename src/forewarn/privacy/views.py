"""Personal data in the UI: reveal one value, the audit log, a person's export and erasure."""

from __future__ import annotations

import json

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from forewarn.accounts.actors import actor_for
from forewarn.accounts.roles import Perm
from forewarn.core.errors import ServiceError, ValidationFailed
from forewarn.core.web import staff_view
from forewarn.privacy.models import AuditAction
from forewarn.privacy.services import audit, subjects
from forewarn.privacy.services import reveal as reveal_service

PAGE_SIZE = 50


@require_POST
@staff_view
def reveal(request: HttpRequest, value_id: int) -> HttpResponse:
    """The value in place of its mask, for this response only (never cached); refusals show in place too."""
    actor = actor_for(request)
    value = reveal_service.get_value_for(actor, value_id)
    context: dict[str, object] = {"value": value}
    status = 200
    try:
        context["original"] = reveal_service.reveal_value(
            actor=actor, value=value, reason=request.POST.get("reason", "")
        )
    except ServiceError as exc:
        context["error"], status = exc, exc.status
    response = render(request, "privacy/_revealed.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


@staff_view
def audit_log(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    rows = audit.audit_entries_for(actor)
    action = request.GET.get("action", "")
    customer = request.GET.get("customer_id", "").strip()
    if action:
        rows = rows.filter(action=action)
    if customer.isdigit():
        rows = rows.filter(customer_id=int(customer))
    context = {
        "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "actions": AuditAction.choices,
        "action": action,
        "customer_id": customer,
        "chain": audit.verify_audit_chain(actor=actor) if request.GET.get("verify") else None,
    }
    return render(request, "privacy/audit.html", context)


@staff_view
def export_person(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Everything held about a person, as a file: JSON, or a page a person can read."""
    data = subjects.export_person(
        actor=actor_for(request), customer_id=customer_id, reason=request.GET.get("reason", "")
    )
    if request.GET.get("format") == "json":
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
        name = f"customer-{customer_id}.json"
    else:
        response = render(request, "privacy/export.html", {"data": data})
        name = f"customer-{customer_id}.html"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@staff_view
def erase_person(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = actor_for(request)
    actor.require(Perm.PERSONAL_DATA_ERASE)
    context: dict[str, object] = {"customer_id": customer_id}
    if request.method == "POST":
        if request.POST.get("confirm", "").strip() != str(customer_id):
            context["error"] = ValidationFailed.single(
                "confirm", "confirm", _("Type the customer number to confirm the erasure.")
            )
        else:
            try:
                result = subjects.erase_person(
                    actor=actor, customer_id=customer_id, reason=request.POST.get("reason", "")
                )
            except ValidationFailed as exc:
                context["error"] = exc
            else:
                flash.success(
                    request,
                    _("Customer #%(id)s was erased: %(n)s records changed.")
                    % {"id": customer_id, "n": sum(result.erased.values())},
                )
                return redirect("customers:detail", customer_id=customer_id)
    return render(request, "privacy/erase.html", context, status=422 if "error" in context else 200)
