"""Engage pages: the incident console, the message log, triggers with a preview, what the demo provider
recorded, and the decisions shown on a customer's profile. Thin: read a form, call a service, render."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from forewarn.accounts.actors import actor_for
from forewarn.accounts.roles import Perm
from forewarn.channels.providers.demo import Said
from forewarn.channels.services import list_local_deliveries_for
from forewarn.core import preferences
from forewarn.core.errors import FieldError, NotFound, ValidationFailed
from forewarn.core.vocab import Channel, Language, Topic
from forewarn.core.web import public_view, render_page_or_part, staff_view
from forewarn.customers.services import profiles
from forewarn.customers.services.profiles import get_customer_for
from forewarn.engage.models import Event, Incident, MessageStatus, Variant, WhenBumped, WhenLate
from forewarn.engage.reasons import Reason
from forewarn.engage.services import events as event_service
from forewarn.engage.services import incidents as incident_service
from forewarn.engage.services import log as log_service
from forewarn.engage.services import responses, simulate
from forewarn.engage.services import triggers as trigger_service
from forewarn.privacy.services.protect import leaves, with_hidden

PAGE_SIZE = 50
LOG_FILTERS = ("status", "channel", "topic", "kind", "reason", "customer_id", "incident_id")


# --- incidents -----------------------------------------------------------------------------------------


@staff_view
def incident_list(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    form: dict[str, Any] = {"critical": False}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {
            name: request.POST.get(name, "").strip()
            for name in ("title", "area", "district", "segment", "city")
        }
        form["critical"] = request.POST.get("critical") == "on"
        audience: dict[str, Any] = {}
        if form["district"]:
            audience["attributes"] = {"district": form["district"]}
        if form["segment"]:
            audience["segments"] = [form["segment"]]
        if form["city"]:
            audience["city"] = form["city"]
        try:
            incident = incident_service.declare_incident(
                actor=actor,
                data=incident_service.IncidentIn(
                    title=form["title"], area=form["area"], audience=audience, critical=form["critical"]
                ),
            )
        except ValidationFailed as exc:
            errors = {f.path.split(".")[0]: f.message for f in exc.fields}
        else:
            flash.success(request, _("Incident declared; the affected customers are being told."))
            return redirect("engage:incident", incident_id=incident.pk)
    context = {
        "incidents": incident_service.list_incidents(actor)[:100],
        "may_manage": actor.may(Perm.INCIDENTS_MANAGE),
        "districts": profiles.list_attribute_values_for(actor, "district"),
        "segments": profiles.list_segments_for(actor),
        "form": form,
        "errors": errors,
    }
    return render(request, "engage/incidents.html", context, status=422 if errors else 200)


def _progress_context(incident: Incident) -> dict[str, Any]:
    progress = incident_service.incident_progress(incident)
    notice, resolved = progress.get("notice", {}), progress.get("resolved", {})
    told = sum(notice.get(s, 0) for s in ("sent", "delivered"))
    return {
        "incident": incident,
        "notice": [(status, MessageStatus(status).label, n) for status, n in sorted(notice.items())],
        "resolved": [(status, MessageStatus(status).label, n) for status, n in sorted(resolved.items())],
        "planned": sum(notice.values()),
        "told": told,
        "percent": round(100 * sum(notice.values()) / incident.affected_count)
        if incident.affected_count
        else 100,
        "busy": _still_going(incident, notice, resolved, told),
    }


def _still_going(incident: Incident, notice: dict[str, int], resolved: dict[str, int], told: int) -> bool:
    """Whether the console should keep refreshing: notices still being decided or sent, or, once it is
    resolved, "fixed" messages not yet decided for everyone who was told, or not yet sent."""
    waiting = ("queued", "sending")
    if incident.planned_count < incident.affected_count or any(notice.get(s, 0) for s in waiting):
        return True
    if incident.resolved_at is None:
        return False
    return sum(resolved.values()) < told or any(resolved.get(s, 0) for s in waiting)


@staff_view
def incident_detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    actor = actor_for(request)
    incident = incident_service.get_incident_for(actor, incident_id)
    context = _progress_context(incident)
    context["may_manage"] = actor.may(Perm.INCIDENTS_MANAGE)
    context["recent"] = log_service.message_log(actor=actor, incident_id=incident.pk).select_related(
        "customer", "trigger", "incident"
    )[:50]
    context["contacts"] = _with_hidden(list(incident_service.incident_contacts(actor, incident)))
    context["may_reveal"] = actor.may(Perm.PII_REVEAL)
    return render_page_or_part(request, "engage/incident.html", "engage/_incident_progress.html", context)


@staff_view
@require_POST
def resolve_incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    actor = actor_for(request)
    incident = incident_service.get_incident_for(actor, incident_id)
    incident_service.resolve_incident(actor=actor, incident=incident)
    flash.success(request, _("Resolved; everyone who was told is being told it is fixed."))
    return redirect("engage:incident", incident_id=incident.pk)


@staff_view
def incident_call_list(request: HttpRequest, incident_id: int) -> HttpResponse:
    actor = actor_for(request)
    incident = incident_service.get_incident_for(actor, incident_id)
    rows = incident_service.call_list(actor=actor, incident=incident)
    response = HttpResponse(incident_service.call_list_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="incident-{incident.pk}-call-list.csv"'
    return response


# --- the message log -----------------------------------------------------------------------------------


def _int_or_none(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


@staff_view
def message_log(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    chosen = {name: request.GET.get(name, "").strip() for name in LOG_FILTERS}
    rows = log_service.message_log(
        actor=actor,
        status=chosen["status"],
        channel=chosen["channel"],
        topic=chosen["topic"],
        kind=chosen["kind"],
        reason=chosen["reason"],
        customer_id=_int_or_none(chosen["customer_id"]),
        incident_id=_int_or_none(chosen["incident_id"]),
    ).select_related("customer", "trigger", "incident")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": chosen,
        "query_without_page": urlencode({k: v for k, v in chosen.items() if v}),
        "statuses": MessageStatus.choices,
        "channels": Channel.choices,
        "topics": [(t.code, t.label) for t in preferences.topics()],
        "reasons": sorted(Reason.choices, key=lambda c: str(c[1])),
        "demo_inbound": bool(simulate.demo_channels()),
    }
    return render_page_or_part(request, "engage/messages.html", "engage/_message_rows.html", context)


@staff_view
def customer_messages(request: HttpRequest, customer_id: int) -> HttpResponse:
    """The profile's "messages and decisions" section, loaded into the customer page."""
    actor = actor_for(request)
    customer = get_customer_for(actor, customer_id)
    rows = log_service.customer_messages(actor, customer)
    events = _with_hidden(list(event_service.recent_events(actor, customer)))
    context = {"rows": rows, "customer": customer, "events": events, "may_reveal": actor.may(Perm.PII_REVEAL)}
    return render(request, "engage/_customer_messages.html", context)


def _with_hidden(events: list[Event]) -> list[Event]:
    """Each event with the masked values in its payload (``hidden``) and its payload's leaves (``fields``),
    so the page marks each mask and offers its reveal to those who may."""
    with_hidden("engage.event", events)
    for event in events:
        event.fields = leaves(event.payload)  # type: ignore[attr-defined]
    return events


@staff_view
def sent_by_demo_provider(request: HttpRequest) -> HttpResponse:
    """What the local provider recorded instead of sending: the demo's outbox, as customers would see it."""
    deliveries = list_local_deliveries_for(actor_for(request))
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "engage/sent.html", {"page": page, "demo_inbound": bool(simulate.demo_channels())})


SAID_FIELDS = ("text", "address", "username", "given_name", "family_name", "language", "country")


@staff_view
def simulate_inbound(request: HttpRequest) -> HttpResponse:
    """The demo's inbound messages: someone writes on the demo's SMS, Telegram or Viber, and the message
    takes the way a real one does, from the provider's signed callback to a ticket."""
    actor = actor_for(request)
    channels = simulate.demo_channels()
    channel = request.POST.get("channel") or request.GET.get("channel") or (channels[0] if channels else "")
    examples = simulate.examples_for(actor, channel) if channel in channels else []
    chosen = request.GET.get("example", "")
    said = examples[int(chosen)].said if chosen.isdigit() and int(chosen) < len(examples) else None
    if said is None and examples:
        said = examples[0].said
    form = {name: getattr(said, name) for name in SAID_FIELDS} if said is not None else {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {name: request.POST.get(name, "") for name in SAID_FIELDS}
        try:
            result = simulate.simulate_message(
                actor=actor,
                channel=channel,
                said=Said(**form),
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationFailed as exc:
            errors = {f.path.split(".")[0]: f.message for f in exc.fields}
        else:
            heard = result.heard
            query: dict[str, Any] = {"channel": channel}
            if heard is not None and heard.customer is not None:
                query["customer"] = heard.customer.pk
                if heard.filed is not None and heard.filed.ticket_id is not None:
                    query["ticket"] = heard.filed.ticket_id
            elif result.done["opt_outs"]:
                query["opted_out"] = 1
            return redirect(f"{request.path}?{urlencode(query)}")
    context = {
        "channels": [(c, Channel(c).label) for c in channels],
        "channel": channel,
        "examples": examples,
        "form": form,
        "errors": errors,
        # Only to link to the ticket and the profile, whose pages check who may see them.
        "ticket": request.GET.get("ticket", "") if request.GET.get("ticket", "").isdigit() else "",
        "customer": request.GET.get("customer", "") if request.GET.get("customer", "").isdigit() else "",
        "opted_out": request.GET.get("opted_out") == "1",
    }
    return render(request, "engage/simulate.html", context, status=422 if errors else 200)


# --- triggers ------------------------------------------------------------------------------------------

TEMPLATE_SLOTS = [(variant, lang) for variant in Variant.values for lang in Language.values]


@staff_view
def trigger_list(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    context = {
        "triggers": trigger_service.list_triggers(actor),
        "may_manage": actor.may(Perm.TRIGGERS_MANAGE),
    }
    return render(request, "engage/triggers.html", context)


def _form_of(data: trigger_service.TriggerIn) -> dict[str, Any]:
    slots = {(t.variant, t.language): t for t in data.templates if not t.channel}
    return {
        **{name: getattr(data, name) for name in trigger_service.TRIGGER_FIELDS},
        "conditions_json": json.dumps(data.conditions, ensure_ascii=False, indent=2),
        "extras_json": json.dumps(data.extras, ensure_ascii=False, indent=2),
        "cancel_match_text": ", ".join(data.cancel_match),
        "slots": [
            {
                "variant": variant,
                "language": lang,
                "label": f"{Variant(variant).label} · {Language(lang).label}",
                "subject": slots[(variant, lang)].subject if (variant, lang) in slots else "",
                "body": slots[(variant, lang)].body if (variant, lang) in slots else "",
            }
            for variant, lang in TEMPLATE_SLOTS
        ],
        "channel_templates": [t for t in data.templates if t.channel],
    }


def _json_field(errors: list[FieldError], raw: str, path: str, default: Any) -> Any:
    if not raw.strip():
        return default
    try:
        return json.loads(raw)
    except ValueError:
        errors.append(FieldError(path, "not_json", _("Not valid JSON.")))
        return default


def _trigger_from_post(
    request: HttpRequest, keep: list[trigger_service.TemplateIn]
) -> trigger_service.TriggerIn:
    post = request.POST
    errors: list[FieldError] = []

    def number(name: str, default: int | None) -> int | None:
        raw = post.get(name, "").strip()
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError:
            errors.append(FieldError(name, "not_a_number", _("Must be a whole number.")))
            return default

    templates = [
        trigger_service.TemplateIn(
            language=lang,
            variant=variant,
            subject=post.get(f"subject-{variant}-{lang}", "").strip(),
            body=post.get(f"body-{variant}-{lang}", "").strip(),
        )
        for variant, lang in TEMPLATE_SLOTS
        if post.get(f"body-{variant}-{lang}", "").strip()
    ]
    data = trigger_service.TriggerIn(
        name=post.get("name", "").strip(),
        event_type=post.get("event_type", "").strip(),
        topic=post.get("topic", ""),
        templates=[*templates, *keep],
        conditions=_json_field(errors, post.get("conditions", ""), "conditions", []),
        wait_seconds=(number("wait_minutes", 0) or 0) * 60,
        cancel_on_event=post.get("cancel_on_event", "").strip(),
        cancel_match=[k.strip() for k in post.get("cancel_match", "").split(",") if k.strip()],
        priority=number("priority", 50) or 0,
        critical=post.get("critical") == "on",
        allow_digest=post.get("allow_digest") == "on",
        ttl_seconds=ttl * 60 if (ttl := number("ttl_minutes", None)) else None,
        when_late=post.get("when_late", WhenLate.EXPIRE),
        when_bumped=post.get("when_bumped", WhenBumped.DEFER),
        dedup_key=post.get("dedup_key", "").strip(),
        extras=_json_field(errors, post.get("extras", ""), "extras", {}),
        active=post.get("active") == "on",
    )
    if errors:
        raise ValidationFailed(errors)
    return data


@staff_view
def trigger_edit(request: HttpRequest, trigger_id: int | None = None) -> HttpResponse:
    actor = actor_for(request)
    trigger = trigger_service.get_trigger_for(actor, trigger_id) if trigger_id else None
    data = (
        trigger_service.trigger_input_of(trigger)
        if trigger
        else trigger_service.TriggerIn(name="", event_type="", topic=Topic.SERVICE, templates=[])
    )
    errors: dict[str, str] = {}
    previews: list[Any] = []
    if request.method == "POST":
        sample = request.POST.get("sample_payload", "{}")
    else:
        example = trigger_service.example_payload(actor, data.event_type) if data.event_type else {}
        sample = json.dumps(example, ensure_ascii=False)
    if request.method == "POST":
        keep = [t for t in data.templates if t.channel]
        try:
            data = _trigger_from_post(request, keep)
            if "preview" in request.POST:
                payload = json.loads(sample or "{}")
                if not isinstance(payload, dict):
                    raise ValidationFailed.single("sample_payload", "not_an_object", _("An object, please."))
                previews = trigger_service.preview_trigger(actor=actor, data=data, payload=payload)
            elif trigger is None:
                trigger = trigger_service.create_trigger(actor=actor, data=data)
                flash.success(request, _("Trigger saved."))
                return redirect("engage:trigger", trigger_id=trigger.pk)
            else:
                trigger_service.update_trigger(actor=actor, trigger=trigger, data=data)
                flash.success(request, _("Trigger saved."))
                return redirect("engage:trigger", trigger_id=trigger.pk)
        except ValidationFailed as exc:
            errors = {f.path: f.message for f in exc.fields}
        except ValueError:
            errors = {"sample_payload": _("Not valid JSON.")}
    context = {
        "trigger": trigger,
        "form": _form_of(data),
        "errors": errors,
        "previews": previews,
        "sample_payload": sample,
        "topics": preferences.topic_choices(keep=data.topic),
        "when_late": WhenLate.choices,
        "when_bumped": WhenBumped.choices,
        "may_manage": actor.may(Perm.TRIGGERS_MANAGE),
    }
    return render(request, "engage/trigger.html", context, status=422 if errors else 200)


# What a customer stops, in the words a customer uses (topics and channels by their names are for staff).
TOPIC_WORDS: dict[str, Any] = {
    Topic.SERVICE: gettext_lazy("reminders and explanations about your service"),
    Topic.MARKETING: gettext_lazy("offers and news"),
    Topic.SURVEYS: gettext_lazy("requests to rate our service"),
}
CHANNEL_WORDS: dict[str, Any] = {
    Channel.EMAIL: gettext_lazy("by email"),
    Channel.SMS: gettext_lazy("by SMS"),
    Channel.TELEGRAM: gettext_lazy("in Telegram"),
    Channel.VIBER: gettext_lazy("in Viber"),
}


# The signed token in the address is what authorises the request; mail providers send RFC 8058 one-click
# unsubscribes as a bare POST with no page (and no CSRF cookie) behind it.
@csrf_exempt
@public_view
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The link in every message: no account needed, the signed token names the message. The page
    speaks the customer's language, whatever the browser that opened the link asks for."""
    try:
        message = responses.message_for_unsubscribe(token)
    except NotFound as exc:
        # Whose link it was is not known: the browser's language, on a customer's page all the same.
        return _customer_page(render(request, "engage/unsubscribe.html", {"error": exc.message}, status=404))
    done = ""
    if request.method == "POST":
        done = "everything" if request.POST.get("scope") == "everything" else "topic"
        responses.unsubscribe(message=message, everything=done == "everything")
    language = message.customer.language or message.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "message": message,
            "done": done,
            "topic": TOPIC_WORDS.get(message.topic, gettext_lazy("these messages")),
            "channel": CHANNEL_WORDS.get(message.channel, message.get_channel_display()),
        }
        response = render(request, "engage/unsubscribe.html", context)
    response["Content-Language"] = language
    return _customer_page(response)


def _customer_page(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"  # the link is the key: never hand it to another site
    response["X-Robots-Tag"] = "noindex"
    return response
