"""The contact policy's settings pages, for administrators: the frequency caps (edited as one set, as the
policy reads them), the default quiet hours and the topics customers consent to. Thin: read a form into
the service's input, call ``engage.services.rules``, redirect when saved (a reload never posts twice) or
show the form again as typed with each error beside its field. Anyone without ``policy.manage`` is
refused (403) and sees no link to them."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from forewarn.accounts.actors import Actor, actor_for
from forewarn.accounts.roles import Perm
from forewarn.core import preferences
from forewarn.core.errors import Conflict, FieldError, ValidationFailed
from forewarn.core.vocab import Language
from forewarn.core.vocab import Topic as BuiltIn
from forewarn.core.web import staff_view
from forewarn.engage.services import rules

TABS = (
    ("caps", gettext_lazy("Frequency caps"), "policy:caps"),
    ("quiet-hours", gettext_lazy("Quiet hours"), "policy:quiet-hours"),
    ("topics", gettext_lazy("Topics"), "policy:topics"),
)
NEW_CAP_ROWS = 1  # blank rows under the caps, to add one
WINDOWS = {24: gettext_lazy("a day"), 168: gettext_lazy("a week"), 720: gettext_lazy("30 days")}


def _admin(request: HttpRequest) -> Actor:
    actor = actor_for(request)
    actor.require(Perm.POLICY_MANAGE)
    return actor


def _tabs(current: str) -> list[dict[str, Any]]:
    return [{"label": label, "url": reverse(name), "active": key == current} for key, label, name in TABS]


def _number(post: QueryDict, name: str, path: str, errors: list[FieldError]) -> int:
    raw = post.get(name, "").strip()
    try:
        return int(raw)
    except ValueError:
        errors.append(FieldError(path, "not_a_number", _("Must be a whole number.")))
        return 0


@staff_view
def home(request: HttpRequest) -> HttpResponse:
    _admin(request)
    return redirect("policy:caps")


# --- frequency caps ------------------------------------------------------------------------------------


def _cap_rows(post: QueryDict) -> tuple[list[dict[str, Any]], list[rules.CapIn], list[int], list[FieldError]]:
    """The rows as posted (to show again), the caps they ask for (a removed row and a blank one ask for
    none), the row each cap came from, and the numbers that are not numbers (at that row's place)."""
    shown: list[dict[str, Any]] = []
    caps: list[rules.CapIn] = []
    origin: list[int] = []
    errors: list[FieldError] = []
    count = min(_number(post, "rows", "rows", []), rules.MAX_CAPS + NEW_CAP_ROWS)
    for i in range(count):
        row: dict[str, Any] = {
            "topic": post.get(f"topic-{i}", ""),
            "limit": post.get(f"limit-{i}", "").strip(),
            "window_hours": post.get(f"window_hours-{i}", "").strip(),
            "active": post.get(f"active-{i}") == "on",
            "remove": post.get(f"remove-{i}") == "on",
        }
        shown.append(row)
        if row["remove"] or not (row["limit"] or row["window_hours"]):
            continue
        limit = _number(post, f"limit-{i}", f"{i}.limit", errors)
        window = _number(post, f"window_hours-{i}", f"{i}.window_hours", errors)
        caps.append(rules.CapIn(topic=row["topic"], limit=limit, window_hours=window, active=row["active"]))
        origin.append(i)
    return shown, caps, origin, errors


def _on_rows(exc: ValidationFailed, origin: list[int]) -> dict[str, str]:
    """The service names a cap by its place among the caps saved; the form by its row."""
    out: dict[str, str] = {}
    for error in exc.fields:
        index, _dot, name = error.path.partition(".")
        key = f"{origin[int(index)]}.{name}" if index.isdigit() and int(index) < len(origin) else "form"
        out.setdefault(key, error.message)
    return out


@staff_view
def caps(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    errors: dict[str, str] = {}
    if request.method == "POST":
        shown, wanted, origin, unreadable = _cap_rows(request.POST)
        if unreadable:  # already at their rows' places
            errors = {f.path: f.message for f in unreadable}
        else:
            try:
                rules.replace_caps(actor=actor, caps=wanted)
            except ValidationFailed as exc:
                errors = _on_rows(exc, origin)
            else:
                flash.success(request, _("Frequency caps saved; they count from the next message planned."))
                return redirect("policy:caps")
    else:
        shown = [
            {
                "topic": cap.topic,
                "limit": str(cap.limit),
                "window_hours": str(cap.window_hours),
                "active": cap.active,
                "remove": False,
            }
            for cap in rules.list_caps(actor)
        ]
    shown += [
        {"topic": "", "limit": "", "window_hours": "", "active": True, "remove": False, "new": True}
        for _n in range(NEW_CAP_ROWS)
    ]
    topics = [t for t in preferences.topics() if t.code != BuiltIn.TRANSACTIONAL]
    for index, row in enumerate(shown):
        row["index"] = index
        row["errors"] = {
            name: errors.get(f"{index}.{name}", "") for name in ("topic", "limit", "window_hours")
        }
        row["topics"] = [(t.code, t.label) for t in topics if t.active or t.code == row["topic"]]
        row["window_words"] = (
            WINDOWS.get(int(row["window_hours"]), "") if row["window_hours"].isdigit() else ""
        )
    context = {"tabs": _tabs("caps"), "rows": shown, "errors": errors, "form_error": errors.get("form", "")}
    return render(request, "engage/policy/caps.html", context, status=422 if errors else 200)


# --- the default quiet hours ---------------------------------------------------------------------------


def _time(post: QueryDict, name: str, errors: list[FieldError]) -> time:
    raw = post.get(name, "").strip()
    try:
        return datetime.strptime(raw, "%H:%M").time()  # noqa: DTZ007 - a wall-clock time of day, no date
    except ValueError:
        errors.append(FieldError(name, "time_parsing", _("Must be a time (HH:MM).")))
        return time(0, 0)


@staff_view
def quiet_hours(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    current = rules.quiet_hours_for(actor, counted=True)
    form = {"start": f"{current.start:%H:%M}", "end": f"{current.end:%H:%M}"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {name: request.POST.get(name, "").strip() for name in ("start", "end")}
        unreadable: list[FieldError] = []
        start, end = _time(request.POST, "start", unreadable), _time(request.POST, "end", unreadable)
        if unreadable:
            errors = {f.path: f.message for f in unreadable}
        else:
            rules.set_quiet_hours(actor=actor, start=start, end=end)
            flash.success(request, _("Default quiet hours saved; the next messages planned keep them."))
            return redirect("policy:quiet-hours")
    context = {"tabs": _tabs("quiet-hours"), "form": form, "errors": errors, "current": current}
    return render(request, "engage/policy/quiet_hours.html", context, status=422 if errors else 200)


# --- topics --------------------------------------------------------------------------------------------


@staff_view
def topic_list(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    usage = rules.topic_usage()
    rows = [
        {
            "topic": topic,
            "label": preferences.name_of(topic.code, dict(topic.names or {})),
            "built_in": topic.code in BuiltIn.values,
            "triggers": usage.get(topic.code, {}).get("triggers", 0),
            "caps": usage.get(topic.code, {}).get("caps", 0),
        }
        for topic in rules.list_topics(actor)
    ]
    return render(request, "engage/policy/topics.html", {"tabs": _tabs("topics"), "rows": rows})


def _topic_from(post: QueryDict, code: str) -> rules.TopicIn:
    return rules.TopicIn(
        code=code,
        names={language: post.get(f"name-{language}", "") for language in Language.values},
        opt_in=post.get("opt_in") == "on",
        active=post.get("active") == "on",
    )


@staff_view
def topic_edit(request: HttpRequest, topic_id: int | None = None) -> HttpResponse:
    actor = _admin(request)
    topic = rules.get_topic_for(actor, topic_id) if topic_id is not None else None
    data = rules.topic_input_of(topic) if topic else rules.TopicIn(code="")
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = _topic_from(request.POST, topic.code if topic else request.POST.get("code", "").strip())
        try:
            if topic is None:
                rules.create_topic(actor=actor, data=data)
            else:
                rules.update_topic(actor=actor, topic=topic, data=data)
        except ValidationFailed as exc:
            errors = {}
            for error in exc.fields:
                errors.setdefault(error.path, error.message)
        except Conflict as exc:
            errors = {"active": exc.message}
        else:
            flash.success(request, _("Topic saved."))
            return redirect("policy:topics")
    context = {
        "tabs": _tabs("topics"),
        "topic": topic,
        "built_in": data.code in BuiltIn.values,
        "form": data,
        "names": [
            (code, label, data.names.get(code, ""), errors.get(f"names.{code}", ""))
            for code, label in Language.choices
        ],
        "errors": errors,
    }
    return render(request, "engage/policy/topic.html", context, status=422 if errors else 200)
