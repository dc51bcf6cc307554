"""Customer pages: thin views that read a form, call a service and render."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from forewarn.accounts.actors import actor_for
from forewarn.accounts.roles import Perm
from forewarn.core import clock, preferences
from forewarn.core.errors import ValidationFailed
from forewarn.core.preferences import follows_default, quiet_hours_default, quiet_hours_of, topic_choices
from forewarn.core.vocab import Channel, Language
from forewarn.core.web import render_page_or_part, staff_view
from forewarn.customers.models import (
    ConsentStatus,
    Customer,
    IdentityKind,
    ImportJob,
)
from forewarn.customers.normalize import format_phone
from forewarn.customers.services import consent as consent_service
from forewarn.customers.services import dedup, importing, merging
from forewarn.customers.services import profiles as svc
from forewarn.privacy.services.protect import with_hidden

PAGE_SIZE = 25
FILTERS = ("q", "language", "segment", "preferred_channel", "consent_topic")


@staff_view
def customer_list(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    chosen = {name: request.GET.get(name, "").strip() for name in FILTERS}
    rows = svc.search_customers(actor=actor, **chosen).prefetch_related("identities", "segments")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": [(c, _contacts(c)) for c in page.object_list],
        "filters": chosen,
        "query_without_page": urlencode({k: v for k, v in chosen.items() if v}),
        "languages": Language.choices,
        "channels": Channel.choices,
        "topics": topic_choices(),
        "segments": svc.list_segments_for(actor),
        "may_edit": actor.may(Perm.CUSTOMERS_EDIT),
    }
    return render_page_or_part(request, "customers/list.html", "customers/_results.html", context)


def _contacts(customer: Customer) -> dict[str, str]:
    found = svc.primary_identities(customer)
    if IdentityKind.PHONE in found:
        found[IdentityKind.PHONE] = format_phone(found[IdentityKind.PHONE])
    return found


@staff_view
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = actor_for(request)
    customer = svc.get_customer_for(actor, customer_id)
    if customer.status == Customer.Status.MERGED and customer.merged_into_id:
        messages.info(request, _("This profile was merged into another one; showing that one."))
        return redirect("customers:detail", customer_id=customer.merged_into_id)
    zone = zoneinfo.ZoneInfo(customer.time_zone)
    history = with_hidden(
        "customers.consent_change", list(customer.consent_history.select_related("actor")[:50])
    )
    merges = merging.list_merges_for(actor, survivor=customer)
    timeline: list[dict[str, Any]] = [{"at": c.changed_at, "kind": "consent", "item": c} for c in history] + [
        {"at": m.merged_at, "kind": "merge", "item": m} for m in merges
    ]
    timeline.sort(key=lambda e: e["at"], reverse=True)
    topics = preferences.topics()
    context = {
        "customer": customer,
        "identities": [
            (i, format_phone(i.value) if i.kind == IdentityKind.PHONE else i.value)
            for i in customer.identities.all()
        ],
        "local_time": clock.now().astimezone(zone),
        "consents": consent_service.consent_matrix(customer, topics),
        "history": history,
        "timeline": timeline,
        "duplicates": dedup.list_duplicates_for(actor, customer=customer),
        "may_edit_consent": actor.may(Perm.CONSENT_EDIT),
        "may_edit": actor.may(Perm.CUSTOMERS_EDIT) and customer.status == Customer.Status.ACTIVE,
        "may_open_ticket": actor.may(Perm.TICKETS_ANSWER) and customer.status == Customer.Status.ACTIVE,
        "may_see_messages": actor.may(Perm.ENGAGE_VIEW),
        "may_see_tickets": actor.may(Perm.TICKETS_VIEW),
        "may_reveal": actor.may(Perm.PII_REVEAL),
        "may_export": actor.may(Perm.PERSONAL_DATA_EXPORT),
        "may_erase": actor.may(Perm.PERSONAL_DATA_ERASE) and customer.status != Customer.Status.ERASED,
        "topics": [(t.code, t.label) for t in topics if t.active],
        "channels": Channel.choices,
        "statuses": ConsentStatus.choices,
        "quiet_hours": quiet_hours_of(
            customer.quiet_hours_start, customer.quiet_hours_end, quiet_hours_default()
        ),
        "quiet_hours_default": follows_default(customer.quiet_hours_start, customer.quiet_hours_end),
    }
    return render(request, "customers/detail.html", context)


@require_POST
@staff_view
def record_consent(request: HttpRequest, customer_id: int) -> HttpResponse:
    actor = actor_for(request)
    customer = svc.get_customer_for(actor, customer_id)
    try:
        change = consent_service.record_consent(
            actor=actor,
            customer=customer,
            topic=request.POST.get("topic", ""),
            channel=request.POST.get("channel", ""),
            status=request.POST.get("status", ""),
            source="agent",
            note=request.POST.get("note", ""),
        )
    except ValidationFailed as exc:
        messages.error(request, "; ".join(f.message for f in exc.fields))
    else:
        messages.success(request, _("Consent recorded.") if change else _("Nothing changed."))
    return redirect("customers:detail", customer_id=customer.pk)


@staff_view
def duplicates(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    page = Paginator(dedup.list_duplicates_for(actor), 20).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "may_merge": actor.may(Perm.CUSTOMERS_MERGE),
        "recent_merges": merging.list_merges_for(actor),
    }
    return render(request, "customers/duplicates.html", context)


@require_POST
@staff_view
def merge(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    try:
        survivor_id = int(request.POST.get("survivor_id", ""))
        absorbed_id = int(request.POST.get("absorbed_id", ""))
    except ValueError:
        messages.error(request, _("Choose two profiles to merge."))
        return redirect("customers:duplicates")
    done = merging.merge_customers(
        actor=actor,
        survivor_id=survivor_id,
        absorbed_id=absorbed_id,
        reason=request.POST.get("reason", ""),
    )
    messages.success(
        request,
        _("Customer #%(a)d was merged into #%(s)d. You can undo this from Duplicates.")
        % {"a": done.absorbed_id, "s": done.survivor_id},
    )
    return redirect("customers:detail", customer_id=done.survivor_id)


@require_POST
@staff_view
def undo_merge(request: HttpRequest, merge_id: int) -> HttpResponse:
    done = merging.undo_merge(actor=actor_for(request), merge_id=merge_id)
    messages.success(request, _("The merge was undone; both profiles are back."))
    return redirect("customers:detail", customer_id=done.absorbed_id)


@require_POST
@staff_view
def dismiss_duplicate(request: HttpRequest, candidate_id: int) -> HttpResponse:
    merging.dismiss_candidate(actor=actor_for(request), candidate_id=candidate_id)
    messages.success(request, _("Marked as different people."))
    return redirect("customers:duplicates")


@staff_view
def imports(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    actor.require(Perm.CUSTOMERS_IMPORT)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a CSV file to upload."))
        else:
            try:
                job = importing.queue_import(
                    actor=actor, file_name=upload.name or "upload.csv", content=upload.read()
                )
            except ValidationFailed as exc:
                messages.error(request, "; ".join(f.message for f in exc.fields))
            else:
                return redirect("customers:import-detail", job_id=job.pk)
    jobs = importing.list_imports_for(actor)
    return render(request, "customers/imports.html", {"jobs": jobs})


@staff_view
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = importing.get_import_for(actor_for(request), job_id)
    rejections = Paginator(job.rejections.all(), 100).get_page(request.GET.get("page"))
    context = {
        "job": job,
        "rejections": rejections,
        "running": job.status in {ImportJob.Status.QUEUED, ImportJob.Status.RUNNING},
        "percent": int(100 * job.processed_rows / job.total_rows) if job.total_rows else 0,
    }
    return render_page_or_part(
        request, "customers/import_detail.html", "customers/_import_progress.html", context
    )
