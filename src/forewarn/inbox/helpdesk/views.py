"""The helpdesk's settings pages, for supervisors: business calendars, SLA policies, routing rules and
canned replies, each a list and an edit form. Thin: read a form, call a service, redirect (a saved form
is never posted twice by a reload) or show the form again with each error beside its field."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache
from typing import Any

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dates import WEEKDAYS as DAY_NAMES
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from forewarn.accounts.actors import Actor, actor_for
from forewarn.accounts.roles import Perm
from forewarn.accounts.services import list_teams_for
from forewarn.core.errors import Conflict, FieldError, ValidationFailed
from forewarn.core.vocab import Channel, Language, label_of
from forewarn.core.web import staff_view
from forewarn.customers.services import profiles
from forewarn.inbox.hours import WEEKDAYS
from forewarn.inbox.models import Priority, SlaPolicy
from forewarn.inbox.services import setup
from forewarn.inbox.services.canned import VARIABLES as CANNED_VARIABLES

PAGE_SIZE = 50
TABS = [
    ("policies", gettext_lazy("SLA policies"), "inbox_settings:policies"),
    ("calendars", gettext_lazy("Business calendars"), "inbox_settings:calendars"),
    ("rules", gettext_lazy("Routing rules"), "inbox_settings:rules"),
    ("canned", gettext_lazy("Canned replies"), "inbox_settings:canned-replies"),
]


def _manager(request: HttpRequest) -> Actor:
    actor = actor_for(request)
    actor.require(Perm.HELPDESK_MANAGE)
    return actor


def _tabs(current: str) -> list[dict[str, Any]]:
    return [
        {"key": key, "label": label, "url": reverse(name), "active": key == current}
        for key, label, name in TABS
    ]


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    """Each error under the form field it belongs to (``closed_dates.2`` under ``closed_dates``, the
    spans of a day under ``hours.mon``); the first error of a field is shown."""
    out: dict[str, str] = {}
    for error in exc.fields:
        parts = error.path.split(".")
        key = ".".join(parts[:2]) if parts[0] == "hours" else parts[0]
        out.setdefault(key, error.message)
    return out


def _number(post: QueryDict, name: str, errors: list[FieldError]) -> int:
    raw = post.get(name, "").strip()
    try:
        return int(raw)
    except ValueError:
        errors.append(FieldError(name, "not_a_number", _("Must be a whole number.")))
        return 0


def _optional_id(post: QueryDict, name: str, errors: list[FieldError]) -> int | None:
    """A chosen row's id, or None when none was chosen; anything else is an error, not "any"."""
    return _number(post, name, errors) if post.get(name, "").strip() else None


def _form_of(data: object) -> dict[str, Any]:
    """A form's values as text (what a select compares and an input shows), check boxes as booleans."""
    return {
        name: value if isinstance(value, bool) else "" if value is None else str(value)
        for name, value in vars(data).items()
    }


def _posted(post: QueryDict, data: object) -> dict[str, Any]:
    """What was posted, shown again as it was typed."""
    return {
        name: post.get(name) == "on" if isinstance(value, bool) else post.get(name, "")
        for name, value in vars(data).items()
    }


def _working_time(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("%(m)d min") % {"m": rest}
    if not rest:
        return _("%(h)d h") % {"h": hours}
    return _("%(h)d h %(m)d min") % {"h": hours, "m": rest}


@staff_view
def home(request: HttpRequest) -> HttpResponse:
    _manager(request)
    return redirect("inbox_settings:policies")


# --- business calendars --------------------------------------------------------------------------------


@cache
def _time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _week_text(hours: dict[str, list[str]]) -> str:
    return "; ".join(
        f"{WEEKDAYS_ABBR[WEEKDAYS.index(day)]} {', '.join(hours[day])}" for day in WEEKDAYS if hours.get(day)
    )


@staff_view
def calendar_list(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    rows = [
        {
            "calendar": calendar,
            "week": _week_text(calendar.hours),
            "policies": list(calendar.slapolicy_set.all()),
        }
        for calendar in setup.list_calendars(actor)
    ]
    return render(request, "inbox/settings/calendars.html", {"rows": rows, "tabs": _tabs("calendars")})


def _calendar_from_post(post: QueryDict) -> setup.CalendarIn:
    hours = {
        day: [span for span in post.get(f"hours-{day}", "").split(",") if span.strip()]
        for day in WEEKDAYS
        if post.get(f"hours-{day}", "").strip()
    }
    return setup.CalendarIn(
        name=post.get("name", ""),
        time_zone=post.get("time_zone", ""),
        country=post.get("country", ""),
        subdivision=post.get("subdivision", ""),
        hours=hours,
        closed_dates=[d for d in re.split(r"[\s,;]+", post.get("closed_dates", "")) if d],
    )


def _calendar_form(data: setup.CalendarIn, errors: dict[str, str]) -> dict[str, Any]:
    return {
        "name": data.name,
        "time_zone": data.time_zone,
        "country": data.country,
        "subdivision": data.subdivision,
        "days": [
            {
                "key": day,
                "label": DAY_NAMES[i],
                "value": ", ".join(s.strip() for s in data.hours.get(day, [])),
                "error": errors.get(f"hours.{day}", ""),
            }
            for i, day in enumerate(WEEKDAYS)
        ],
        "closed_dates": "\n".join(data.closed_dates),
    }


@staff_view
def calendar_edit(request: HttpRequest, calendar_id: int | None = None) -> HttpResponse:
    actor = _manager(request)
    calendar = setup.get_calendar_for(actor, calendar_id) if calendar_id is not None else None
    data = (
        setup.calendar_input_of(calendar)
        if calendar
        else setup.CalendarIn(name="", hours={day: ["09:00-18:00"] for day in WEEKDAYS[:5]})
    )
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = _calendar_from_post(request.POST)
        try:
            if calendar is None:
                setup.create_calendar(actor=actor, data=data)
            else:
                setup.update_calendar(actor=actor, calendar=calendar, data=data)
        except ValidationFailed as exc:
            errors = _field_errors(exc)
        else:
            flash.success(request, _("Calendar saved."))
            return redirect("inbox_settings:calendars")
    context = {
        "calendar": calendar,
        "form": _calendar_form(data, errors),
        "errors": errors,
        "time_zones": _time_zones(),
    }
    return render(request, "inbox/settings/calendar.html", context, status=422 if errors else 200)


@staff_view
@require_POST
def calendar_delete(request: HttpRequest, calendar_id: int) -> HttpResponse:
    actor = _manager(request)
    calendar = setup.get_calendar_for(actor, calendar_id)
    try:
        setup.delete_calendar(actor=actor, calendar=calendar)
    except Conflict as exc:
        flash.error(request, exc.message)
        return redirect("inbox_settings:calendar", calendar_id=calendar.pk)
    flash.success(request, _("Calendar deleted."))
    return redirect("inbox_settings:calendars")


# --- SLA policies --------------------------------------------------------------------------------------


def _applies_to(policy: SlaPolicy) -> list[str]:
    parts = []
    if policy.priority:
        parts.append(label_of(Priority, policy.priority))
    if policy.channel:
        parts.append(label_of(Channel, policy.channel))
    if policy.segment is not None:
        parts.append(policy.segment.name)
    return parts


@staff_view
def policy_list(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    rows = [
        {
            "policy": policy,
            "applies_to": _applies_to(policy),
            "first_response": _working_time(policy.first_response_minutes),
            "resolution": _working_time(policy.resolution_minutes),
            "warning": _working_time(policy.warn_before_minutes),
        }
        for policy in setup.list_policies(actor)
    ]
    return render(request, "inbox/settings/policies.html", {"rows": rows, "tabs": _tabs("policies")})


def _policy_from_post(post: QueryDict) -> setup.PolicyIn:
    errors: list[FieldError] = []
    data = setup.PolicyIn(
        name=post.get("name", ""),
        rank=_number(post, "rank", errors),
        priority=post.get("priority", ""),
        channel=post.get("channel", ""),
        segment_id=_optional_id(post, "segment_id", errors),
        calendar_id=_optional_id(post, "calendar_id", errors),
        first_response_minutes=_number(post, "first_response_minutes", errors),
        resolution_minutes=_number(post, "resolution_minutes", errors),
        warn_before_minutes=_number(post, "warn_before_minutes", errors),
        head_office_after_days=_number(post, "head_office_after_days", errors),
        active=post.get("active") == "on",
    )
    if errors:
        raise ValidationFailed(errors)
    return data


@staff_view
def policy_edit(request: HttpRequest, policy_id: int | None = None) -> HttpResponse:
    actor = _manager(request)
    policy = setup.get_policy_for(actor, policy_id) if policy_id is not None else None
    data = (
        setup.policy_input_of(policy)
        if policy
        else setup.PolicyIn(name="", first_response_minutes=240, resolution_minutes=1440)
    )
    form = _form_of(data)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = _posted(request.POST, data)
        try:
            before, data = data, _policy_from_post(request.POST)
            if policy is None:
                setup.create_policy(actor=actor, data=data)
            else:
                setup.update_policy(actor=actor, policy=policy, data=data)
        except ValidationFailed as exc:
            errors = _field_errors(exc)
        else:
            message = _("SLA policy saved.")
            moved = any(getattr(before, name) != getattr(data, name) for name in setup.POLICY_CLOCK_FIELDS)
            if data.active if policy is None else moved:
                message = _(
                    "SLA policy saved; the clocks of the open tickets it governs or matches are being "
                    "recomputed."
                )
            flash.success(request, message)
            return redirect("inbox_settings:policies")
    context = {
        "policy": policy,
        "form": form,
        "errors": errors,
        "priorities": Priority.choices,
        "channels": Channel.choices,
        "segments": profiles.list_segments_for(actor),
        "calendars": setup.list_calendars(actor),
    }
    return render(request, "inbox/settings/policy.html", context, status=422 if errors else 200)


@staff_view
@require_POST
def policy_delete(request: HttpRequest, policy_id: int) -> HttpResponse:
    actor = _manager(request)
    policy = setup.get_policy_for(actor, policy_id)
    if setup.delete_policy(actor=actor, policy=policy):
        flash.success(request, _("SLA policy deleted."))
    else:
        flash.success(
            request,
            _("Tickets refer to this policy, so it was deactivated; its open tickets move to another."),
        )
    return redirect("inbox_settings:policies")


# --- routing rules -------------------------------------------------------------------------------------


@staff_view
def rule_list(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    rows = [
        {
            "rule": rule,
            "matches": [
                label
                for label in (
                    label_of(Channel, rule.channel) if rule.channel else "",
                    label_of(Language, rule.language) if rule.language else "",
                    f"#{rule.tag}" if rule.tag else "",
                )
                if label
            ],
        }
        for rule in setup.list_routing_rules(actor)
    ]
    return render(request, "inbox/settings/rules.html", {"rows": rows, "tabs": _tabs("rules")})


def _rule_from_post(post: QueryDict) -> setup.RoutingRuleIn:
    errors: list[FieldError] = []
    data = setup.RoutingRuleIn(
        team_id=_optional_id(post, "team_id", errors),
        rank=_number(post, "rank", errors),
        channel=post.get("channel", ""),
        language=post.get("language", ""),
        tag=post.get("tag", ""),
        skill=post.get("skill", ""),
    )
    if errors:
        raise ValidationFailed(errors)
    return data


@staff_view
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    actor = _manager(request)
    rule = setup.get_routing_rule_for(actor, rule_id) if rule_id is not None else None
    data = setup.routing_rule_input_of(rule) if rule else setup.RoutingRuleIn(team_id=None)
    form = _form_of(data)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = _posted(request.POST, data)
        try:
            data = _rule_from_post(request.POST)
            if rule is None:
                setup.create_routing_rule(actor=actor, data=data)
            else:
                setup.update_routing_rule(actor=actor, rule=rule, data=data)
        except ValidationFailed as exc:
            errors = _field_errors(exc)
        else:
            flash.success(request, _("Routing rule saved; it routes tickets that arrive from now on."))
            return redirect("inbox_settings:rules")
    context = {
        "rule": rule,
        "form": form,
        "errors": errors,
        "channels": Channel.choices,
        "languages": Language.choices,
        "teams": list_teams_for(actor),
    }
    return render(request, "inbox/settings/rule.html", context, status=422 if errors else 200)


@staff_view
@require_POST
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    actor = _manager(request)
    setup.delete_routing_rule(actor=actor, rule=setup.get_routing_rule_for(actor, rule_id))
    flash.success(request, _("Routing rule deleted."))
    return redirect("inbox_settings:rules")


# --- canned replies ------------------------------------------------------------------------------------


@staff_view
def canned_list(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    language = request.GET.get("language", "")
    language = language if language in Language.values else ""
    rows = setup.list_canned_replies(actor, language=language)
    context = {
        "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "language": language,
        "languages": Language.choices,
        "tabs": _tabs("canned"),
    }
    return render(request, "inbox/settings/canned_list.html", context)


@staff_view
def canned_edit(request: HttpRequest, canned_id: int | None = None) -> HttpResponse:
    actor = _manager(request)
    canned = setup.get_canned_reply_for(actor, canned_id) if canned_id is not None else None
    data = (
        setup.canned_reply_input_of(canned)
        if canned
        else setup.CannedReplyIn(title="", shortcut="", language=Language.UKRAINIAN, body="")
    )
    errors: dict[str, str] = {}
    if request.method == "POST":
        post = request.POST
        data = setup.CannedReplyIn(
            title=post.get("title", ""),
            shortcut=post.get("shortcut", ""),
            language=post.get("language", ""),
            body=post.get("body", ""),
        )
        try:
            if canned is None:
                setup.create_canned_reply(actor=actor, data=data)
            else:
                setup.update_canned_reply(actor=actor, canned=canned, data=data)
        except ValidationFailed as exc:
            errors = _field_errors(exc)
        else:
            flash.success(request, _("Canned reply saved."))
            return redirect("inbox_settings:canned-replies")
    context = {
        "canned": canned,
        "form": data,
        "errors": errors,
        "languages": Language.choices,
        "variables": CANNED_VARIABLES,
    }
    return render(request, "inbox/settings/canned.html", context, status=422 if errors else 200)


@staff_view
@require_POST
def canned_delete(request: HttpRequest, canned_id: int) -> HttpResponse:
    actor = _manager(request)
    setup.delete_canned_reply(actor=actor, canned=setup.get_canned_reply_for(actor, canned_id))
    flash.success(request, _("Canned reply deleted."))
    return redirect("inbox_settings:canned-replies")
