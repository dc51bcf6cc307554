"""The helpdesk's four settings, each declared once: business calendars, SLA policies, routing rules and
canned replies.

A :class:`Setting` names the service input (a dataclass of ``inbox.services.setup``, the one list of a
setting's fields, their types and defaults), the services that keep it, what the API answers and how the
settings pages speak of it. The faces build everything else from it: ``api.py`` the five routes of each
setting with a create schema (the dataclass's fields, described), a patch schema (the same fields, each
optional) and the answer; ``views.py`` the edit and delete pages and the form reading (a number field
reads a whole number, an id field a chosen row or none, a check box a boolean, a list a line of items).
A fifth setting is one more declaration here, a template pair and an entry in the access matrix.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Schema

from forewarn.accounts.actors import Actor
from forewarn.core.errors import FieldError, ValidationFailed
from forewarn.core.http import InputSchema
from forewarn.core.vocab import Language
from forewarn.inbox.hours import WEEKDAYS
from forewarn.inbox.models import BusinessCalendar, CannedReply, RoutingRule, SlaPolicy
from forewarn.inbox.services import setup

M = TypeVar("M", bound=Model)
D = TypeVar("D")


class PageQuery(Schema):
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class Setting(Generic[M, D]):
    """One kind of setting, for every face that shows or changes it."""

    key: str  # the path segment, the same in the API and on the pages: "sla-policies"
    one: str  # what one is called in operation names, URLs and templates: "policy"
    many: str  # and many: "policies"
    param: str  # the path parameter of one: "policy_id"
    data: type[D]  # the service's input; its fields are the API's and the form's
    out: type[Schema]
    list: Callable[[Actor, Any], QuerySet[M]]  # (actor, filters)
    get: Callable[[Actor, int], M]
    create: Callable[[Actor, D], M]
    update: Callable[[Actor, M, D], M]
    delete: Callable[[Actor, M], bool]  # True: deleted; False: kept, deactivated
    input_of: Callable[[M], D]
    blank: Callable[[], D]  # what a new one's form starts from
    describe: Mapping[str, str] = field(default_factory=dict)  # the schema's word for a field
    summaries: Mapping[str, str] = field(default_factory=dict)  # list, create, read, change, delete
    nullable: frozenset[str] = frozenset()  # fields a PATCH may set to null
    # Fields a form may leave empty (the service says what is missing) but the API requires, not null.
    required: frozenset[str] = frozenset()
    filters: type[Schema] = PageQuery
    # The pages: the edit page's template (templates/inbox/settings/<page>.html, where the row is
    # ``<page>``) and the URL names of one (new-<one>, <one>, delete-<one>) and of the list.
    page: str = ""
    url_one: str = ""
    url_many: str = ""
    label: Any = ""  # the settings tab's, and the list page's, name
    saved: Callable[[D | None, D], str] = lambda _before, _after: (
        ""
    )  # what a saved form says: (before, after)
    deleted: Any = ""
    deactivated: Any = ""

    def hints(self) -> dict[str, Any]:
        return typing.get_type_hints(self.data)

    def _api_hints(self) -> dict[str, Any]:
        hints = self.hints()
        return {name: _not_none(hint) if name in self.required else hint for name, hint in hints.items()}

    def input_schema(self) -> type[InputSchema]:
        """What a create takes: the service input's fields, with its defaults and the words for each."""
        hints = self._api_hints()
        definitions: dict[str, Any] = {}
        for f in fields(self.data):  # type: ignore[arg-type]
            if f.default_factory is not MISSING:
                default: Any = Field(default_factory=f.default_factory, description=self.describe.get(f.name))
            else:
                default = Field(
                    ... if f.default is MISSING else f.default, description=self.describe.get(f.name)
                )
            definitions[f.name] = (hints[f.name], default)
        return _model(f"{self.data.__name__}", definitions)

    def patch_schema(self) -> type[InputSchema]:
        """What a change takes: any of the fields; the ones not sent keep their saved values."""
        definitions = {name: (hint | None, None) for name, hint in self._api_hints().items()}
        return _model(f"{self.data.__name__.removesuffix('In')}Patch", definitions)

    def patched(self, current: D, changes: dict[str, Any]) -> D:
        """The saved values with the fields a PATCH names; null only where a field may be empty."""
        nulls = sorted(name for name, value in changes.items() if value is None and name not in self.nullable)
        if nulls:
            raise ValidationFailed(
                [FieldError(name, "null", _("This field cannot be null.")) for name in nulls]
            )
        return type(current)(**{**vars(current), **changes})

    def from_form(self, post: QueryDict) -> D:
        """The service input from a posted form, each field read by its type; numbers that are not
        numbers are refused here, all at once, and everything else is the service's to check."""
        errors: list[FieldError] = []
        values = {name: _read(post, name, hint, errors) for name, hint in self.hints().items()}
        if errors:
            raise ValidationFailed(errors)
        return self.data(**values)


def _not_none(hint: Any) -> Any:
    kept = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return kept[0] if len(kept) == 1 else hint


def _model(name: str, definitions: dict[str, Any]) -> type[InputSchema]:
    from pydantic import create_model  # noqa: PLC0415 - used only while the routes are built

    return create_model(name, __base__=InputSchema, **definitions)


def _number(post: QueryDict, name: str, errors: list[FieldError]) -> int:
    raw = post.get(name, "").strip()
    try:
        return int(raw)
    except ValueError:
        errors.append(FieldError(name, "not_a_number", _("Must be a whole number.")))
        return 0


def _read(post: QueryDict, name: str, hint: Any, errors: list[FieldError]) -> Any:
    """One form field as its type wants it (a chosen row's id, or None when none was chosen: anything
    else is an error, not "any")."""
    if hint is int:
        return _number(post, name, errors)
    if hint == int | None:
        return _number(post, name, errors) if post.get(name, "").strip() else None
    if hint is bool:
        return post.get(name) == "on"
    if hint == list[str]:
        return [item for item in re.split(r"[\s,;]+", post.get(name, "")) if item]
    if hint == dict[str, list[str]]:  # the week: one field a day, spans separated by commas
        return {
            day: [span for span in post.get(f"{name}-{day}", "").split(",") if span.strip()]
            for day in WEEKDAYS
            if post.get(f"{name}-{day}", "").strip()
        }
    return post.get(name, "")


# --- business calendars --------------------------------------------------------------------------------


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    country: str
    subdivision: str
    hours: dict[str, list[str]]
    closed_dates: list[str]
    policy_ids: list[int]  # the SLA policies that count in it

    @staticmethod
    def resolve_policy_ids(obj: BusinessCalendar) -> list[int]:
        return sorted(p.pk for p in obj.slapolicy_set.all())


def _delete_calendar(actor: Actor, calendar: BusinessCalendar) -> bool:
    setup.delete_calendar(actor=actor, calendar=calendar)
    return True


CALENDARS: Setting[BusinessCalendar, setup.CalendarIn] = Setting(
    key="calendars",
    one="calendar",
    many="calendars",
    param="calendar_id",
    data=setup.CalendarIn,
    out=CalendarOut,
    list=lambda actor, _filters: setup.list_calendars(actor),
    get=setup.get_calendar_for,
    create=lambda actor, data: setup.create_calendar(actor=actor, data=data),
    update=lambda actor, row, data: setup.update_calendar(actor=actor, calendar=row, data=data),
    delete=_delete_calendar,
    input_of=setup.calendar_input_of,
    blank=lambda: setup.CalendarIn(name="", hours={day: ["09:00-18:00"] for day in WEEKDAYS[:5]}),
    describe={
        "time_zone": "an IANA time zone, such as Europe/Kyiv",
        "country": "ISO 3166 code whose public holidays close the calendar",
        "subdivision": "the country's subdivision, for regional holidays",
        "hours": '{"mon": ["09:00-13:00", "14:00-18:00"], ...}; a weekday not named is closed',
        "closed_dates": "dates of its own, YYYY-MM-DD",
    },
    summaries={
        "list": "Business calendars",
        "create": "Create a business calendar",
        "read": "One business calendar",
        "change": "Change a calendar (the clocks of tickets counted in it are recomputed)",
        "delete": "Delete a calendar no SLA policy uses (409 calendar_in_use otherwise)",
    },
    page="calendar",
    url_one="calendar",
    url_many="calendars",
    label=gettext_lazy("Business calendars"),
    saved=lambda _before, _after: _("Calendar saved."),
    deleted=gettext_lazy("Calendar deleted."),
)


# --- SLA policies --------------------------------------------------------------------------------------


class PolicyOut(Schema):
    id: int
    name: str
    rank: int
    priority: str
    channel: str
    segment_id: int | None
    calendar_id: int | None
    first_response_minutes: int
    resolution_minutes: int
    warn_before_minutes: int
    head_office_after_days: int
    active: bool


def _policy_saved(before: setup.PolicyIn | None, after: setup.PolicyIn) -> str:
    """A new active policy, or a change to how one counts, recomputes clocks: the supervisor is told."""
    if before is None:
        moved = after.active
    else:
        moved = any(getattr(before, name) != getattr(after, name) for name in setup.POLICY_CLOCK_FIELDS)
    if moved:
        return _(
            "SLA policy saved; the clocks of the open tickets it governs or matches are being recomputed."
        )
    return _("SLA policy saved.")


POLICIES: Setting[SlaPolicy, setup.PolicyIn] = Setting(
    key="sla-policies",
    one="policy",
    many="policies",
    param="policy_id",
    data=setup.PolicyIn,
    out=PolicyOut,
    list=lambda actor, _filters: setup.list_policies(actor),
    get=setup.get_policy_for,
    create=lambda actor, data: setup.create_policy(actor=actor, data=data),
    update=lambda actor, row, data: setup.update_policy(actor=actor, policy=row, data=data),
    delete=lambda actor, row: setup.delete_policy(actor=actor, policy=row),
    input_of=setup.policy_input_of,
    blank=lambda: setup.PolicyIn(name="", first_response_minutes=240, resolution_minutes=1440),
    describe={
        "first_response_minutes": "working minutes",
        "resolution_minutes": "working minutes, plus the time pending on the customer",
        "rank": "the first active policy (lowest rank) that matches applies",
        "priority": "low, normal, high, urgent; empty: any",
        "channel": "empty: any",
        "segment_id": "customers of this segment only; null: anyone",
        "calendar_id": "null: every minute counts",
        "head_office_after_days": "working days a customer's message may wait",
    },
    summaries={
        "list": "SLA policies, in the order they apply",
        "create": "Create an SLA policy (the running tickets it matches are recomputed)",
        "read": "One SLA policy",
        "change": "Change an SLA policy (the running tickets it governs or matches are recomputed)",
        "delete": (
            "Delete an SLA policy (204), or deactivate it while tickets refer to it (200, active false)"
        ),
    },
    nullable=frozenset({"segment_id", "calendar_id"}),
    page="policy",
    url_one="policy",
    url_many="policies",
    label=gettext_lazy("SLA policies"),
    saved=_policy_saved,
    deleted=gettext_lazy("SLA policy deleted."),
    deactivated=gettext_lazy(
        "Tickets refer to this policy, so it was deactivated; its open tickets move to another."
    ),
)


# --- routing rules -------------------------------------------------------------------------------------


class RoutingRuleOut(Schema):
    id: int
    rank: int
    channel: str
    language: str
    tag: str
    team_id: int
    skill: str


def _delete_rule(actor: Actor, rule: RoutingRule) -> bool:
    setup.delete_routing_rule(actor=actor, rule=rule)
    return True


ROUTING_RULES: Setting[RoutingRule, setup.RoutingRuleIn] = Setting(
    key="routing-rules",
    one="routing_rule",
    many="routing_rules",
    param="rule_id",
    data=setup.RoutingRuleIn,
    out=RoutingRuleOut,
    list=lambda actor, _filters: setup.list_routing_rules(actor),
    get=setup.get_routing_rule_for,
    create=lambda actor, data: setup.create_routing_rule(actor=actor, data=data),
    update=lambda actor, row, data: setup.update_routing_rule(actor=actor, rule=row, data=data),
    delete=_delete_rule,
    input_of=setup.routing_rule_input_of,
    blank=lambda: setup.RoutingRuleIn(team_id=None),
    required=frozenset({"team_id"}),
    describe={
        "team_id": "the team the matching tickets go to",
        "rank": "the first rule (lowest rank) that matches wins",
        "channel": "empty: any",
        "language": "uk, ru, en; empty: any",
        "tag": "empty: any",
        "skill": "the skill the ticket needs of its agent",
    },
    summaries={
        "list": "Routing rules, in order",
        "create": "Create a routing rule",
        "read": "One routing rule",
        "change": "Change a routing rule",
        "delete": "Delete a routing rule",
    },
    page="rule",
    url_one="rule",
    url_many="rules",
    label=gettext_lazy("Routing rules"),
    saved=lambda _before, _after: _("Routing rule saved; it routes tickets that arrive from now on."),
    deleted=gettext_lazy("Routing rule deleted."),
)


# --- canned replies ------------------------------------------------------------------------------------


class CannedReplyOut(Schema):
    id: int
    title: str
    shortcut: str
    language: str
    body: str


class CannedQuery(PageQuery):
    language: str = ""
    shortcut: str = ""


def _delete_canned(actor: Actor, canned: CannedReply) -> bool:
    setup.delete_canned_reply(actor=actor, canned=canned)
    return True


CANNED_REPLIES: Setting[CannedReply, setup.CannedReplyIn] = Setting(
    key="canned-replies",
    one="canned_reply",
    many="canned_replies",
    param="canned_id",
    data=setup.CannedReplyIn,
    out=CannedReplyOut,
    list=lambda actor, filters: setup.list_canned_replies(
        actor, language=filters.language, shortcut=filters.shortcut
    ),
    get=setup.get_canned_reply_for,
    create=lambda actor, data: setup.create_canned_reply(actor=actor, data=data),
    update=lambda actor, row, data: setup.update_canned_reply(actor=actor, canned=row, data=data),
    delete=_delete_canned,
    input_of=setup.canned_reply_input_of,
    blank=lambda: setup.CannedReplyIn(title="", shortcut="", language=Language.UKRAINIAN, body=""),
    describe={
        "shortcut": "what agents type to find it, such as parcel-late",
        "language": "uk, ru or en",
        "body": "the text; variables: {{ customer.first_name }}, {{ ticket.id }}, {{ agent.name }}...",
    },
    summaries={
        "list": "Canned replies",
        "create": "Create a canned reply",
        "read": "One canned reply",
        "change": "Change a canned reply",
        "delete": "Delete a canned reply",
    },
    filters=CannedQuery,
    page="canned",
    url_one="canned-reply",
    url_many="canned-replies",
    label=gettext_lazy("Canned replies"),
    saved=lambda _before, _after: _("Canned reply saved."),
    deleted=gettext_lazy("Canned reply deleted."),
)

# In the order the settings tabs show them.
SETTINGS: tuple[Setting[Any, Any], ...] = (POLICIES, CALENDARS, ROUTING_RULES, CANNED_REPLIES)
