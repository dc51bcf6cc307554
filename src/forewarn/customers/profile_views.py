"""The pages on which staff create a customer and change one: the same services as the API
(``profiles.create_customer``, ``update_customer`` and the identities'), each refusal beside its field."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from forewarn.accounts.actors import actor_for
from forewarn.accounts.roles import Perm
from forewarn.core.errors import Conflict, ValidationFailed
from forewarn.core.vocab import Channel, Language
from forewarn.core.web import staff_view
from forewarn.customers.services import profiles as svc

TEXT = ("given_name", "middle_name", "family_name", "city")
CHOSEN = ("language", "time_zone", "preferred_channel")
KINDS = tuple(str(kind) for kind in svc.FORM_IDENTITIES)


def _posted(request: HttpRequest) -> dict[str, str]:
    return {name: request.POST.get(name, "").strip() for name in (*TEXT, *CHOSEN, *KINDS)}


def _errors(exc: ValidationFailed | Conflict) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.fields:
        found.setdefault(error.path.split(".")[0], error.message)
    if not found:
        found["form"] = exc.message
    return found


def _page(
    request: HttpRequest, form: dict[str, str], errors: dict[str, str], customer: Any = None
) -> HttpResponse:
    context = {
        "form": form,
        "errors": errors,
        "customer": customer,
        "languages": Language.choices,
        "channels": Channel.choices,
        "identity_fields": [
            (kind, label, form.get(kind, ""), errors.get(kind, ""))
            for kind, label in svc.IdentityKind.choices
            if kind in KINDS
        ],
    }
    return render(request, "customers/edit.html", context, status=422 if errors else 200)


@staff_view
def new_customer(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    actor.require(Perm.CUSTOMERS_EDIT)
    if request.method != "POST":
        return _page(request, {"language": str(Language.UKRAINIAN), "time_zone": "Europe/Kyiv"}, {})
    form = _posted(request)
    data = svc.ProfileIn(
        given_name=form["given_name"],
        middle_name=form["middle_name"],
        family_name=form["family_name"],
        city=form["city"],
        language=form["language"] or None,
        time_zone=form["time_zone"] or None,
        preferred_channel=form["preferred_channel"] or None,
    )
    try:
        customer = svc.create_from_form(actor=actor, data=data, identities={k: form[k] for k in KINDS})
    except (ValidationFailed, Conflict) as exc:
        return _page(request, form, _errors(exc))
    messages.success(request, _("Customer created."))
    return redirect("customers:detail", customer_id=customer.pk)


@staff_view
def edit_customer(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = actor_for(request)
    customer = svc.get_customer_for(actor, customer_id)
    actor.require(Perm.CUSTOMERS_EDIT)
    if request.method != "POST":
        shown = {name: getattr(customer, name) or "" for name in (*TEXT, *CHOSEN)}
        contacts = svc.primary_identities(customer)
        return _page(request, {**shown, **{k: contacts.get(k, "") for k in KINDS}}, {}, customer)
    form = _posted(request)
    changes: dict[str, Any] = {name: form[name] for name in TEXT}
    changes.update({name: form[name] for name in ("language", "time_zone") if form[name]})
    changes["preferred_channel"] = form["preferred_channel"]
    try:
        svc.edit_from_form(
            actor=actor, customer=customer, changes=changes, identities={k: form[k] for k in KINDS}
        )
    except (ValidationFailed, Conflict) as exc:
        return _page(request, form, _errors(exc), customer)
    messages.success(request, _("Customer saved."))
    return redirect("customers:detail", customer_id=customer.pk)
