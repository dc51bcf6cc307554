"""The helpdesk's settings pages, for supervisors: business calendars, SLA policies, routing rules and
canned replies, each a list and an edit form. Thin: read a form, call a service, redirect (a saved form
is never posted twice by a reload) or show the form again with each error beside its field."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache, partial
from typing import Any

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dates import WEEKDAYS as DAY_NAMES
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from forewarn.accounts.actors import Actor, actor_for
from forewarn.accounts.roles import Perm
from forewarn.accounts.services import list_teams_for
from forewarn.core.errors import Conflict, ValidationFailed
from forewarn.core.vocab import Channel, Language, label_of
from forewarn.core.web import staff_view
from forewarn.customers.services import profiles
from forewarn.inbox.helpdesk import resources
from forewarn.inbox.helpdesk.resources import Setting
from forewarn.inbox.hours import WEEKDAYS
from forewarn.inbox.models import Priority, SlaPolicy
from forewarn.inbox.services import setup
from forewarn.inbox.services.canned import VARIABLES as CANNED_VARIABLES

PAGE_SIZE = 50


def _manager(request: HttpRequest) -> Actor:
    actor = actor_for(request)
    actor.require(Perm.HELPDESK_MANAGE)
    return actor


def _tabs(current: Setting[Any, Any]) -> list[dict[str, Any]]:
    return [
        {
            "key": setting.key,
            "label": setting.label,
            "url": reverse(f"inbox_settings:{setting.url_many}"),
            "active": setting is current,
        }
        for setting in resources.SETTINGS
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
    return render(
        request, "inbox/settings/calendars.html", {"rows": rows, "tabs": _tabs(resources.CALENDARS)}
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
    return render(request, "inbox/settings/policies.html", {"rows": rows, "tabs": _tabs(resources.POLICIES)})


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
    return render(
        request, "inbox/settings/rules.html", {"rows": rows, "tabs": _tabs(resources.ROUTING_RULES)}
    )


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
        "tabs": _tabs(resources.CANNED_REPLIES),
    }
    return render(request, "inbox/settings/canned_list.html", context)


# --- every setting's edit and delete pages, from its declaration -----------------------------------------


def _choices(actor: Actor, setting: Setting[Any, Any]) -> dict[str, Any]:
    """What a setting's form offers to choose from."""
    if setting is resources.CALENDARS:
        return {"time_zones": _time_zones()}
    if setting is resources.POLICIES:
        return {
            "priorities": Priority.choices,
            "channels": Channel.choices,
            "segments": profiles.list_segments_for(actor),
            "calendars": setup.list_calendars(actor),
        }
    if setting is resources.ROUTING_RULES:
        return {"channels": Channel.choices, "languages": Language.choices, "teams": list_teams_for(actor)}
    return {"languages": Language.choices, "variables": CANNED_VARIABLES}


def _shown(setting: Setting[Any, Any], data: Any, post: QueryDict | None, errors: dict[str, str]) -> Any:
    """The form's values: the week of a calendar day by day; other fields as saved, or as typed."""
    if setting is resources.CALENDARS:
        return _calendar_form(data, errors)
    if post is not None:
        return _posted(post, data)
    return _form_of(data)


def setting_edit(request: HttpRequest, setting: Setting[Any, Any], pk: int | None = None) -> HttpResponse:
    actor = _manager(request)
    row = setting.get(actor, pk) if pk is not None else None
    before = setting.input_of(row) if row is not None else None
    data = before if before is not None else setting.blank()
    errors: dict[str, str] = {}
    post = request.POST if request.method == "POST" else None
    if post is not None:
        try:
            data = setting.from_form(post)
            if row is None:
                setting.create(actor, data)
            else:
                setting.update(actor, row, data)
        except ValidationFailed as exc:
            errors = _field_errors(exc)
        else:
            flash.success(request, setting.saved(before, data))
            return redirect(f"inbox_settings:{setting.url_many}")
    context = {
        setting.page: row,
        "form": _shown(setting, data, post, errors),
        "errors": errors,
        **_choices(actor, setting),
    }
    return render(request, f"inbox/settings/{setting.page}.html", context, status=422 if errors else 200)


@require_POST
def setting_delete(request: HttpRequest, setting: Setting[Any, Any], pk: int) -> HttpResponse:
    actor = _manager(request)
    row = setting.get(actor, pk)
    try:
        deleted = setting.delete(actor, row)
    except Conflict as exc:
        flash.error(request, exc.message)
        return redirect(f"inbox_settings:{setting.url_one}", pk)
    flash.success(request, setting.deleted if deleted else setting.deactivated)
    return redirect(f"inbox_settings:{setting.url_many}")


def edit_view(setting: Setting[Any, Any]) -> Callable[..., HttpResponse]:
    """The page that creates one (no id) or changes one, as a view of its own for the URLs."""
    return staff_view(partial(setting_edit, setting=setting))


def delete_view(setting: Setting[Any, Any]) -> Callable[..., HttpResponse]:
    return staff_view(partial(setting_delete, setting=setting))
