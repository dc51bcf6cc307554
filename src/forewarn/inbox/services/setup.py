"""The helpdesk's setup, kept by supervisors: business calendars, SLA policies, routing rules and canned
replies.

Every part is checked here, each bad field reported at once with its path (``hours.mon.0``,
``closed_dates.2``), so the API, the settings pages and the CLI refuse the same things in the same words.
A saved calendar can always be counted in (it has working time, and every policy that uses it meets its
targets within the ten years ``hours`` looks ahead), so nothing a supervisor saves can stop a ticket
arriving later. A new policy, or a change to how a policy or a calendar counts, recomputes the clocks of
the running tickets it governs or matches, in a background job enqueued in the same transaction
(``sla.recompute_running``).

A policy that tickets refer to (the SLA report names it) is deactivated rather than deleted; a calendar
that policies use is not deleted at all. Every change goes into the audit log (action ``setting``), with
the fields that changed, their old and new values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, TypeVar

import holidays
from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError, QuerySet
from django.utils.translation import gettext as _
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import Team
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from forewarn.customers.models import Segment
from forewarn.customers.normalize import check_channel, check_language, check_time_zone, collect
from forewarn.engage.templating import check_template
from forewarn.inbox.hours import WEEKDAYS, Calendar, CalendarError, parse_hours
from forewarn.inbox.models import BusinessCalendar, CannedReply, Priority, RoutingRule, SlaPolicy, Ticket
from forewarn.inbox.services import sla
from forewarn.inbox.services.canned import ATTRIBUTES as CANNED_ATTRIBUTES
from forewarn.inbox.services.canned import VARIABLES as CANNED_VARIABLES
from forewarn.privacy.services import audit

M = TypeVar("M", bound=Model)

RANK_MAX = 32767  # PositiveSmallIntegerField
# A year of minutes: longer targets are a typing mistake, not a promise.
MINUTES_MAX = 365 * 24 * 60
HEAD_OFFICE_DAYS_MAX = 365
CLOSED_DATES_MAX = 1000
BODY_MAX = 5000
SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]*")
_PARSER = ImmutableSandboxedEnvironment()
# Names a template may call or loop with besides its variables: ``local(time)`` and Jinja's own.
_TEMPLATE_NAMES = frozenset({"local", "loop", *_PARSER.globals})

# What changes how a policy counts, and so the clocks of its tickets; a new name changes nothing.
POLICY_CLOCK_FIELDS = (
    "rank", "priority", "channel", "segment_id", "calendar_id", "first_response_minutes",
    "resolution_minutes", "warn_before_minutes", "head_office_after_days", "active",
)  # fmt: skip
CALENDAR_CLOCK_FIELDS = ("time_zone", "country", "subdivision", "hours", "closed_dates")


@dataclass
class CalendarIn:
    name: str
    time_zone: str = "Europe/Kyiv"
    country: str = ""
    subdivision: str = ""
    hours: dict[str, list[str]] = field(default_factory=dict)  # {"mon": ["09:00-18:00"], ...}
    closed_dates: list[str] = field(default_factory=list)  # ["2026-12-31", ...]


@dataclass
class PolicyIn:
    name: str
    first_response_minutes: int
    resolution_minutes: int
    rank: int = 100
    priority: str = ""
    channel: str = ""
    segment_id: int | None = None
    calendar_id: int | None = None  # none: every minute counts
    warn_before_minutes: int = 30
    head_office_after_days: int = 3
    active: bool = True


@dataclass
class RoutingRuleIn:
    team_id: int | None
    rank: int = 100
    channel: str = ""
    language: str = ""
    tag: str = ""
    skill: str = ""


@dataclass
class CannedReplyIn:
    title: str
    shortcut: str
    language: str
    body: str


def _values_of(data: object) -> dict[str, Any]:
    return {f.name: getattr(data, f.name) for f in fields(data)}  # type: ignore[arg-type]


def _input_of(cls: type[Any], row: Model) -> Any:
    return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})


def _recompute_later(policy_ids: list[int]) -> None:
    """The clocks of these policies' running tickets, recomputed by a worker once this commits."""
    if policy_ids:
        from forewarn.inbox.tasks import recompute_sla_clocks  # noqa: PLC0415 - tasks import services

        recompute_sla_clocks.enqueue(sorted(policy_ids))


def _get(actor: Actor, rows: QuerySet[M], pk: int, code: str, message: str) -> M:
    actor.require(Perm.HELPDESK_MANAGE)
    found = rows.filter(pk=pk).first()
    if found is None:
        raise NotFound(message, code=code)
    return found


def _check_rank(errors: list[FieldError], rank: int) -> None:
    if not 0 <= rank <= RANK_MAX:
        errors.append(
            FieldError("rank", "out_of_range", _("The rank runs from 0 to %(max)d.") % {"max": RANK_MAX})
        )


def _check_name(errors: list[FieldError], name: str, path: str = "name", longest: int = 100) -> str:
    clean = name.strip()
    if not clean:
        errors.append(FieldError(path, "required", _("This field is required.")))
    elif len(clean) > longest:
        errors.append(
            FieldError(path, "too_long", _("At most %(max_length)s characters.") % {"max_length": longest})
        )
    return clean


def _check_channel(errors: list[FieldError], channel: str) -> str:
    """A channel a policy or rule is limited to; empty: any."""
    return (collect(errors, check_channel, channel, path="channel") or "") if channel.strip() else ""


def _check_choice(errors: list[FieldError], value: str, path: str, choices: list[str], message: str) -> str:
    clean = value.strip().lower()
    if clean and clean not in choices:
        errors.append(FieldError(path, f"{path}_unknown", message))
    return clean


# --- business calendars --------------------------------------------------------------------------------


def list_calendars(actor: Actor) -> QuerySet[BusinessCalendar]:
    actor.require(Perm.HELPDESK_MANAGE)
    return BusinessCalendar.objects.prefetch_related("slapolicy_set").order_by("name", "pk")


def get_calendar_for(actor: Actor, calendar_id: int) -> BusinessCalendar:
    return _get(
        actor,
        BusinessCalendar.objects.all(),
        calendar_id,
        "calendar_not_found",
        _("No business calendar #%(id)d.") % {"id": calendar_id},
    )


def calendar_input_of(calendar: BusinessCalendar) -> CalendarIn:
    data: CalendarIn = _input_of(CalendarIn, calendar)
    return data


def _span_text(start: int, end: int) -> str:
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def _clean_hours(errors: list[FieldError], week: dict[str, list[str]]) -> dict[str, list[str]]:
    """The week as ``parse_hours`` reads it, written the same way every time (``09:00-18:00``), days in
    order; a day with no spans is closed and left out."""
    clean: dict[str, list[str]] = {}
    seen: set[str] = set()
    before = len(errors)
    for name, spans in week.items():
        day = str(name).strip().lower()
        path = f"hours.{name}"
        if day not in WEEKDAYS:
            errors.append(
                FieldError(
                    path,
                    "not_a_weekday",
                    _("“%(v)s” is not a weekday (%(days)s).") % {"v": name, "days": ", ".join(WEEKDAYS)},
                )
            )
            continue
        if day in seen:
            errors.append(
                FieldError(path, "weekday_repeated", _("“%(v)s” is given more than once.") % {"v": day})
            )
            continue
        seen.add(day)
        texts = [str(span).strip() for span in spans if str(span).strip()]
        bad = False
        for i, text in enumerate(texts):
            try:
                parse_hours({day: [text]})
            except CalendarError:
                bad = True
                errors.append(
                    FieldError(
                        f"{path}.{i}",
                        "span_invalid",
                        _("“%(v)s” is not a span such as 09:00-18:00 that runs forwards within one day.")
                        % {"v": text},
                    )
                )
        if bad:
            continue
        try:
            intervals = parse_hours({day: texts}).get(WEEKDAYS.index(day), ())
        except CalendarError:
            errors.append(FieldError(path, "spans_overlap", _("The spans of this day overlap.")))
            continue
        if intervals:
            clean[day] = [_span_text(start, end) for start, end in intervals]
    if len(errors) == before and not clean:
        errors.append(
            FieldError("hours", "no_working_time", _("Give the calendar working hours on some day."))
        )
    return {day: clean[day] for day in WEEKDAYS if day in clean}


def _clean_dates(errors: list[FieldError], dates: list[str]) -> list[str]:
    if len(dates) > CLOSED_DATES_MAX:
        errors.append(
            FieldError(
                "closed_dates",
                "too_many",
                _("At most %(n)d closed dates; public holidays come from the country.")
                % {"n": CLOSED_DATES_MAX},
            )
        )
        return []
    out: set[str] = set()
    for i, raw in enumerate(dates):
        text = str(raw).strip()
        try:
            if len(text) != 10:
                raise ValueError(text)
            out.add(date.fromisoformat(text).isoformat())
        except ValueError:
            errors.append(
                FieldError(
                    f"closed_dates.{i}",
                    "date_invalid",
                    _("“%(v)s” is not a date (YYYY-MM-DD).") % {"v": text},
                )
            )
    return sorted(out)


def _clean_country(errors: list[FieldError], country: str, subdivision: str) -> tuple[str, str]:
    code, part = country.strip().upper(), subdivision.strip()
    known = holidays.list_supported_countries()
    if code and (len(code) != 2 or code not in known):
        errors.append(
            FieldError(
                "country",
                "country_unknown",
                _("“%(v)s” is not a country whose public holidays are known (use a code such as UA or PL).")
                % {"v": country.strip()},
            )
        )
        return code, part
    if part and not code:
        errors.append(
            FieldError("subdivision", "needs_country", _("Name the country the subdivision belongs to."))
        )
    elif part:
        found = next((s for s in known[code] if s.upper() == part.upper() and len(s) <= 10), None)
        if found is None:
            choices = ", ".join(s for s in known[code] if len(s) <= 10) or _("none")
            errors.append(
                FieldError(
                    "subdivision",
                    "subdivision_unknown",
                    _("“%(v)s” is not a subdivision of %(country)s (%(choices)s).")
                    % {"v": part, "country": code, "choices": choices},
                )
            )
        else:
            part = found
    return code, part


def _fits(calendar: Calendar, minutes: int, days: int) -> bool:
    """Whether the targets fall within the years ``hours`` looks ahead, from today."""
    now = clock.now()
    try:
        calendar.add(now, minutes)
        calendar.add_days(now, days)
    except CalendarError:
        return False
    return True


def _clean_calendar(data: CalendarIn, calendar: BusinessCalendar | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    name = _check_name(errors, data.name)
    taken = BusinessCalendar.objects.filter(name=name)
    if calendar is not None:
        taken = taken.exclude(pk=calendar.pk)
    if name and taken.exists():
        errors.append(FieldError("name", "name_taken", _("Another calendar has this name.")))
    zone = collect(errors, check_time_zone, data.time_zone, path="time_zone")
    country, subdivision = _clean_country(errors, data.country, data.subdivision)
    hours = _clean_hours(errors, data.hours)
    closed = _clean_dates(errors, data.closed_dates)
    values = {
        "name": name,
        "time_zone": zone,
        "country": country,
        "subdivision": subdivision,
        "hours": hours,
        "closed_dates": closed,
    }
    if not errors and calendar is not None:
        counted = sla.calendar_of(BusinessCalendar(**values))
        for policy in SlaPolicy.objects.filter(calendar=calendar).order_by("rank", "pk"):
            longest = max(policy.first_response_minutes, policy.resolution_minutes)
            if not _fits(counted, longest, policy.head_office_after_days):
                errors.append(
                    FieldError(
                        "hours",
                        "too_little_time",
                        _("The policy “%(name)s” could not meet its targets in this calendar.")
                        % {"name": policy.name},
                    )
                )
    if errors:
        raise ValidationFailed(errors)
    return values


def _save(row: Model, values: dict[str, Any], *, creating: bool, unique_path: str, message: str) -> None:
    """Save the named fields; a unique value taken by a concurrent save is the field's error too."""
    for name, value in values.items():
        setattr(row, name, value)
    try:
        with transaction.atomic():
            if creating:
                row.save(force_insert=True)
            else:
                row.save(update_fields=list(values))
    except IntegrityError as exc:
        raise ValidationFailed.single(unique_path, f"{unique_path}_taken", message) from exc


@transaction.atomic
def create_calendar(*, actor: Actor, data: CalendarIn) -> BusinessCalendar:
    actor.require(Perm.HELPDESK_MANAGE)
    calendar = BusinessCalendar()
    values = _clean_calendar(data, None)
    _save(calendar, values, creating=True, unique_path="name", message=_("Another calendar has this name."))
    audit.record_setting(actor, calendar, "created", values)
    return calendar


@transaction.atomic
def update_calendar(*, actor: Actor, calendar: BusinessCalendar, data: CalendarIn) -> BusinessCalendar:
    """Change a calendar; the tickets running under the policies that use it are recomputed."""
    actor.require(Perm.HELPDESK_MANAGE)
    values = _clean_calendar(data, calendar)
    before = audit.values_of(calendar, values)
    moved = any(before[name] != values[name] for name in CALENDAR_CLOCK_FIELDS)
    _save(calendar, values, creating=False, unique_path="name", message=_("Another calendar has this name."))
    audit.record_setting(actor, calendar, "changed", values, before)
    if moved:
        _recompute_later(list(SlaPolicy.objects.filter(calendar=calendar).values_list("pk", flat=True)))
    return calendar


def _in_use(names: list[str]) -> Conflict:
    return Conflict(
        _("SLA policies use this calendar (%(names)s); give them another calendar first.")
        % {"names": ", ".join(names)},
        code="calendar_in_use",
    )


@transaction.atomic
def delete_calendar(*, actor: Actor, calendar: BusinessCalendar) -> None:
    """Delete a calendar no policy uses; one in use is refused, naming the policies."""
    actor.require(Perm.HELPDESK_MANAGE)
    names = list(
        SlaPolicy.objects.filter(calendar=calendar).order_by("rank", "pk").values_list("name", flat=True)
    )
    if names:
        raise _in_use(names)
    audit.record_setting(actor, calendar, "deleted")
    try:
        with transaction.atomic():
            calendar.delete()
    except ProtectedError as exc:  # a policy took it up meanwhile
        raise _in_use([str(p) for p in exc.protected_objects]) from exc


# --- SLA policies --------------------------------------------------------------------------------------


def list_policies(actor: Actor) -> QuerySet[SlaPolicy]:
    actor.require(Perm.HELPDESK_MANAGE)
    return SlaPolicy.objects.select_related("calendar", "segment").order_by("rank", "pk")


def get_policy_for(actor: Actor, policy_id: int) -> SlaPolicy:
    return _get(
        actor,
        SlaPolicy.objects.select_related("calendar", "segment"),
        policy_id,
        "sla_policy_not_found",
        _("No SLA policy #%(id)d.") % {"id": policy_id},
    )


def policy_input_of(policy: SlaPolicy) -> PolicyIn:
    data: PolicyIn = _input_of(PolicyIn, policy)
    return data


def _check_minutes(errors: list[FieldError], path: str, value: int, least: int) -> bool:
    if not least <= value <= MINUTES_MAX:
        errors.append(
            FieldError(
                path,
                "out_of_range",
                _("Between %(least)d and %(most)d minutes.") % {"least": least, "most": MINUTES_MAX},
            )
        )
        return False
    return True


def _clean_policy(data: PolicyIn) -> dict[str, Any]:
    errors: list[FieldError] = []
    values = _values_of(data)
    values["name"] = _check_name(errors, data.name)
    _check_rank(errors, data.rank)
    values["priority"] = _check_choice(
        errors, data.priority, "priority", Priority.values, _("Use low, normal, high or urgent, or none.")
    )
    values["channel"] = _check_channel(errors, data.channel)
    if data.segment_id is not None and not Segment.objects.filter(pk=data.segment_id).exists():
        errors.append(FieldError("segment_id", "segment_not_found", _("No such segment.")))
    calendar = None
    if data.calendar_id is not None:
        calendar = BusinessCalendar.objects.filter(pk=data.calendar_id).first()
        if calendar is None:
            errors.append(FieldError("calendar_id", "calendar_not_found", _("No such business calendar.")))
    first = _check_minutes(errors, "first_response_minutes", data.first_response_minutes, 1)
    resolution = _check_minutes(errors, "resolution_minutes", data.resolution_minutes, 1)
    if first and resolution and data.resolution_minutes < data.first_response_minutes:
        errors.append(
            FieldError(
                "resolution_minutes",
                "shorter_than_first_response",
                _("Resolution cannot be due before the first response."),
            )
        )
    # A lead longer than a target warns as the ticket arrives (sla._warn_at); only a negative one is wrong.
    _check_minutes(errors, "warn_before_minutes", data.warn_before_minutes, 0)
    days_ok = 1 <= data.head_office_after_days <= HEAD_OFFICE_DAYS_MAX
    if not days_ok:
        errors.append(
            FieldError(
                "head_office_after_days",
                "out_of_range",
                _("Between 1 and %(most)d working days.") % {"most": HEAD_OFFICE_DAYS_MAX},
            )
        )
    if not errors:
        longest = max(data.first_response_minutes, data.resolution_minutes)
        if not _fits(sla.calendar_of(calendar), longest, data.head_office_after_days):
            errors.append(
                FieldError(
                    "calendar_id",
                    "too_little_time",
                    _("This calendar has too little working time to meet these targets."),
                )
            )
    if errors:
        raise ValidationFailed(errors)
    return values


@transaction.atomic
def create_policy(*, actor: Actor, data: PolicyIn) -> SlaPolicy:
    """A new policy: new tickets get it when it comes first for them; so do the running tickets it
    matches, recomputed by a worker (``sla.recompute_running``)."""
    actor.require(Perm.HELPDESK_MANAGE)
    values = _clean_policy(data)
    policy = SlaPolicy(**values)
    policy.save(force_insert=True)
    audit.record_setting(actor, policy, "created", values)
    if policy.active:
        _recompute_later([policy.pk])
    return policy


@transaction.atomic
def update_policy(*, actor: Actor, policy: SlaPolicy, data: PolicyIn) -> SlaPolicy:
    """Change a policy; when what it counts or matches changed, the running tickets it governs or now
    matches are recomputed."""
    actor.require(Perm.HELPDESK_MANAGE)
    values = _clean_policy(data)
    before = audit.values_of(policy, values)
    moved = any(before[name] != values[name] for name in POLICY_CLOCK_FIELDS)
    for name, value in values.items():
        setattr(policy, name, value)
    policy.save(update_fields=[name.removesuffix("_id") for name in values])
    audit.record_setting(actor, policy, "changed", values, before)
    if moved:
        _recompute_later([policy.pk])
    return policy


@transaction.atomic
def delete_policy(*, actor: Actor, policy: SlaPolicy) -> bool:
    """Delete a policy no ticket refers to (True); one that tickets refer to is deactivated instead
    (False), so the SLA report still names it, and its running tickets move to the next that matches."""
    actor.require(Perm.HELPDESK_MANAGE)
    if Ticket.objects.filter(sla_policy=policy).exists():
        if policy.active:
            policy.active = False
            policy.save(update_fields=["active"])
            audit.record_setting(actor, policy, "deactivated")
            _recompute_later([policy.pk])
        return False
    audit.record_setting(actor, policy, "deleted")
    policy.delete()
    return True


# --- routing rules -------------------------------------------------------------------------------------


def list_routing_rules(actor: Actor) -> QuerySet[RoutingRule]:
    actor.require(Perm.HELPDESK_MANAGE)
    return RoutingRule.objects.select_related("team").order_by("rank", "pk")


def get_routing_rule_for(actor: Actor, rule_id: int) -> RoutingRule:
    return _get(
        actor,
        RoutingRule.objects.select_related("team"),
        rule_id,
        "routing_rule_not_found",
        _("No routing rule #%(id)d.") % {"id": rule_id},
    )


def routing_rule_input_of(rule: RoutingRule) -> RoutingRuleIn:
    data: RoutingRuleIn = _input_of(RoutingRuleIn, rule)
    return data


def _clean_routing_rule(data: RoutingRuleIn) -> dict[str, Any]:
    errors: list[FieldError] = []
    values = _values_of(data)
    _check_rank(errors, data.rank)
    values["channel"] = _check_channel(errors, data.channel)
    values["language"] = data.language.strip().lower()
    if values["language"]:
        collect(errors, check_language, data.language)
    # Tickets keep their tags in lower case (tickets._clean_tags); a rule matches them as kept.
    values["tag"] = data.tag.strip().lower()
    values["skill"] = data.skill.strip()
    for name in ("tag", "skill"):
        if len(values[name]) > 50:
            errors.append(
                FieldError(name, "too_long", _("At most %(max_length)s characters.") % {"max_length": 50})
            )
    if data.team_id is None:
        errors.append(FieldError("team_id", "required", _("Choose the team the tickets go to.")))
    elif not Team.objects.filter(pk=data.team_id).exists():
        errors.append(FieldError("team_id", "team_not_found", _("No such team.")))
    if errors:
        raise ValidationFailed(errors)
    return values


@transaction.atomic
def create_routing_rule(*, actor: Actor, data: RoutingRuleIn) -> RoutingRule:
    """A rule routes tickets that arrive from now on; tickets routed already stay where they are."""
    actor.require(Perm.HELPDESK_MANAGE)
    values = _clean_routing_rule(data)
    rule = RoutingRule(**values)
    rule.save(force_insert=True)
    audit.record_setting(actor, rule, "created", values)
    return rule


@transaction.atomic
def update_routing_rule(*, actor: Actor, rule: RoutingRule, data: RoutingRuleIn) -> RoutingRule:
    actor.require(Perm.HELPDESK_MANAGE)
    values = _clean_routing_rule(data)
    before = audit.values_of(rule, values)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.save(update_fields=[name.removesuffix("_id") for name in values])
    audit.record_setting(actor, rule, "changed", values, before)
    return rule


@transaction.atomic
def delete_routing_rule(*, actor: Actor, rule: RoutingRule) -> None:
    actor.require(Perm.HELPDESK_MANAGE)
    audit.record_setting(actor, rule, "deleted")
    rule.delete()


# --- canned replies ------------------------------------------------------------------------------------


def list_canned_replies(actor: Actor, *, language: str = "", shortcut: str = "") -> QuerySet[CannedReply]:
    actor.require(Perm.HELPDESK_MANAGE)
    rows = CannedReply.objects.order_by("shortcut", "language", "pk")
    if language:
        rows = rows.filter(language=language.strip().lower())
    if shortcut:
        rows = rows.filter(shortcut=shortcut.strip().lower())
    return rows


def get_canned_reply_for(actor: Actor, canned_id: int) -> CannedReply:
    return _get(
        actor,
        CannedReply.objects.all(),
        canned_id,
        "canned_reply_not_found",
        _("No canned reply #%(id)d.") % {"id": canned_id},
    )


def canned_reply_input_of(canned: CannedReply) -> CannedReplyIn:
    data: CannedReplyIn = _input_of(CannedReplyIn, canned)
    return data


def _template_names(tree: nodes.Node) -> tuple[set[str], set[str], set[str]]:
    """What a template reads (``customer.first_name``, as dotted paths), the names it sets itself, and
    the filters it uses."""
    read: set[str] = set()
    own: set[str] = set()
    filters: set[str] = set()

    def path_of(node: nodes.Node) -> str | None:
        if isinstance(node, nodes.Name):
            return node.name
        if isinstance(node, nodes.Getattr):
            base = path_of(node.node)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            base = path_of(node.node)
            return f"{base}.{node.arg.value}" if base and isinstance(node.arg.value, str) else None
        return None

    def visit(node: nodes.Node) -> None:
        if isinstance(node, nodes.Name):
            (own if node.ctx in ("store", "param") else read).add(node.name)
            return
        if isinstance(node, nodes.Filter):
            filters.add(node.name)
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            path = path_of(node)
            if path is not None:
                read.add(path)
                return
        for child in node.iter_child_nodes():
            visit(child)

    visit(tree)
    return read, own, filters


def _known_variable(path: str) -> bool:
    return path.startswith(CANNED_ATTRIBUTES) or any(
        path == known or path.startswith(f"{known}.") for known in CANNED_VARIABLES
    )


def check_canned_body(body: str, path: str = "body") -> list[FieldError]:
    """Why a canned reply's text cannot be used: a template error, a variable ``canned.fill`` does not
    fill in, or a personal value printed in the clear (a reply is a draft an agent reads first)."""
    errors = check_template(body, path)
    if errors:
        return errors
    read, own, filters = _template_names(_PARSER.parse(body))  # it parses: check_template compiled it
    unknown = sorted(
        p for p in read if p.split(".")[0] not in own | _TEMPLATE_NAMES and not _known_variable(p)
    )
    if unknown:
        errors.append(
            FieldError(
                path,
                "variable_unknown",
                _("Unknown variables: %(names)s. A canned reply may use %(known)s and customer.attributes.…")
                % {"names": ", ".join(unknown), "known": ", ".join(CANNED_VARIABLES)},
            )
        )
    if "unmasked" in filters:
        errors.append(
            FieldError(
                path, "unmasked_not_allowed", _("A canned reply cannot print personal values in the clear.")
            )
        )
    return errors


def _clean_canned_reply(data: CannedReplyIn, canned: CannedReply | None) -> dict[str, Any]:
    errors: list[FieldError] = []
    title = _check_name(errors, data.title, "title")
    shortcut = data.shortcut.strip().lower()
    if not shortcut:
        errors.append(FieldError("shortcut", "required", _("This field is required.")))
    elif len(shortcut) > 50 or not SHORTCUT.fullmatch(shortcut):
        errors.append(
            FieldError(
                "shortcut",
                "shortcut_invalid",
                _("Use at most 50 Latin letters, digits, hyphens and underscores, such as parcel-late."),
            )
        )
    language = collect(errors, check_language, data.language)
    body = data.body.strip()
    if not body:
        errors.append(FieldError("body", "required", _("This field is required.")))
    elif len(body) > BODY_MAX:
        errors.append(
            FieldError("body", "too_long", _("At most %(max_length)s characters.") % {"max_length": BODY_MAX})
        )
    else:
        errors.extend(check_canned_body(body))
    if shortcut and language:
        taken = CannedReply.objects.filter(shortcut=shortcut, language=language)
        if canned is not None:
            taken = taken.exclude(pk=canned.pk)
        if taken.exists():
            errors.append(
                FieldError("shortcut", "shortcut_taken", _("This language has a reply with this shortcut."))
            )
    if errors:
        raise ValidationFailed(errors)
    return {"title": title, "shortcut": shortcut, "language": language, "body": body}


@transaction.atomic
def create_canned_reply(*, actor: Actor, data: CannedReplyIn) -> CannedReply:
    actor.require(Perm.HELPDESK_MANAGE)
    canned = CannedReply()
    values = _clean_canned_reply(data, None)
    _save(
        canned,
        values,
        creating=True,
        unique_path="shortcut",
        message=_("This language has a reply with this shortcut."),
    )
    audit.record_setting(actor, canned, "created", values)
    return canned


@transaction.atomic
def update_canned_reply(*, actor: Actor, canned: CannedReply, data: CannedReplyIn) -> CannedReply:
    actor.require(Perm.HELPDESK_MANAGE)
    values = _clean_canned_reply(data, canned)
    before = audit.values_of(canned, values)
    _save(
        canned,
        values,
        creating=False,
        unique_path="shortcut",
        message=_("This language has a reply with this shortcut."),
    )
    audit.record_setting(actor, canned, "changed", values, before)
    return canned


@transaction.atomic
def delete_canned_reply(*, actor: Actor, canned: CannedReply) -> None:
    actor.require(Perm.HELPDESK_MANAGE)
    audit.record_setting(actor, canned, "deleted")
    canned.delete()
