"""The helpdesk's setup over HTTP: business calendars, SLA policies, routing rules and canned replies.

Each kind has the same five routes (list, create, read one, change some fields, delete); every one needs
``helpdesk.manage``. Lists are pages (``limit``, ``offset``). Creates accept an ``Idempotency-Key``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from forewarn.accounts.actors import actor_of
from forewarn.core.errors import FieldError, ValidationFailed
from forewarn.core.http import InputSchema, Page, paginate
from forewarn.inbox.models import BusinessCalendar, CannedReply, RoutingRule, SlaPolicy
from forewarn.inbox.services import setup

router = Router(tags=["inbox settings"])
D = TypeVar("D")


class PageQuery(Schema):
    limit: int = 50
    offset: int = 0


def _patched(current: D, changes: dict[str, Any], nullable: frozenset[str] = frozenset()) -> D:
    """The saved values with the fields a PATCH names; null only where a field may be empty."""
    nulls = sorted(name for name, value in changes.items() if value is None and name not in nullable)
    if nulls:
        raise ValidationFailed([FieldError(name, "null", _("This field cannot be null.")) for name in nulls])
    return replace(current, **changes)  # type: ignore[type-var]


# --- business calendars --------------------------------------------------------------------------------


class CalendarIn(InputSchema):
    name: str
    time_zone: str = Field("Europe/Kyiv", description="an IANA time zone, such as Europe/Kyiv")
    country: str = Field("", description="ISO 3166 code whose public holidays close the calendar")
    subdivision: str = Field("", description="the country's subdivision, for regional holidays")
    hours: dict[str, list[str]] = Field(
        default_factory=dict,
        description='{"mon": ["09:00-13:00", "14:00-18:00"], ...}; a weekday not named is closed',
    )
    closed_dates: list[str] = Field(default_factory=list, description="dates of its own, YYYY-MM-DD")


class CalendarPatch(InputSchema):
    name: str | None = None
    time_zone: str | None = None
    country: str | None = None
    subdivision: str | None = None
    hours: dict[str, list[str]] | None = None
    closed_dates: list[str] | None = None


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


@router.get("/inbox/calendars", response=Page[CalendarOut], summary="Business calendars")
def list_calendars(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    rows = setup.list_calendars(actor_of(request))
    return paginate(rows, limit=page.limit, offset=page.offset, shape=lambda c: c)


@router.post("/inbox/calendars", response={201: CalendarOut}, summary="Create a business calendar")
def create_calendar(request: HttpRequest, payload: CalendarIn) -> Status[Any]:
    data = setup.CalendarIn(**payload.model_dump())
    return Status(201, setup.create_calendar(actor=actor_of(request), data=data))


@router.get("/inbox/calendars/{calendar_id}", response=CalendarOut, summary="One business calendar")
def read_calendar(request: HttpRequest, calendar_id: int) -> BusinessCalendar:
    return setup.get_calendar_for(actor_of(request), calendar_id)


@router.patch(
    "/inbox/calendars/{calendar_id}",
    response=CalendarOut,
    summary="Change a calendar (the clocks of tickets counted in it are recomputed)",
)
def change_calendar(request: HttpRequest, calendar_id: int, payload: CalendarPatch) -> BusinessCalendar:
    actor = actor_of(request)
    calendar = setup.get_calendar_for(actor, calendar_id)
    data = _patched(setup.calendar_input_of(calendar), payload.model_dump(exclude_unset=True))
    setup.update_calendar(actor=actor, calendar=calendar, data=data)
    return setup.get_calendar_for(actor, calendar_id)


@router.delete(
    "/inbox/calendars/{calendar_id}",
    response={204: None},
    summary="Delete a calendar no SLA policy uses (409 calendar_in_use otherwise)",
)
def delete_calendar(request: HttpRequest, calendar_id: int) -> Status[None]:
    actor = actor_of(request)
    setup.delete_calendar(actor=actor, calendar=setup.get_calendar_for(actor, calendar_id))
    return Status(204, None)


# --- SLA policies --------------------------------------------------------------------------------------


class PolicyIn(InputSchema):
    name: str
    first_response_minutes: int = Field(description="working minutes")
    resolution_minutes: int = Field(description="working minutes, plus the time pending on the customer")
    rank: int = Field(100, description="the first active policy (lowest rank) that matches applies")
    priority: str = Field("", description="low, normal, high, urgent; empty: any")
    channel: str = Field("", description="empty: any")
    segment_id: int | None = Field(None, description="customers of this segment only; null: anyone")
    calendar_id: int | None = Field(None, description="null: every minute counts")
    warn_before_minutes: int = 30
    head_office_after_days: int = Field(3, description="working days a customer's message may wait")
    active: bool = True


class PolicyPatch(InputSchema):
    name: str | None = None
    first_response_minutes: int | None = None
    resolution_minutes: int | None = None
    rank: int | None = None
    priority: str | None = None
    channel: str | None = None
    segment_id: int | None = None
    calendar_id: int | None = None
    warn_before_minutes: int | None = None
    head_office_after_days: int | None = None
    active: bool | None = None


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


@router.get("/inbox/sla-policies", response=Page[PolicyOut], summary="SLA policies, in the order they apply")
def list_policies(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    rows = setup.list_policies(actor_of(request))
    return paginate(rows, limit=page.limit, offset=page.offset, shape=lambda p: p)


@router.post(
    "/inbox/sla-policies",
    response={201: PolicyOut},
    summary="Create an SLA policy (the running tickets it matches are recomputed)",
)
def create_policy(request: HttpRequest, payload: PolicyIn) -> Status[Any]:
    data = setup.PolicyIn(**payload.model_dump())
    return Status(201, setup.create_policy(actor=actor_of(request), data=data))


@router.get("/inbox/sla-policies/{policy_id}", response=PolicyOut, summary="One SLA policy")
def read_policy(request: HttpRequest, policy_id: int) -> SlaPolicy:
    return setup.get_policy_for(actor_of(request), policy_id)


@router.patch(
    "/inbox/sla-policies/{policy_id}",
    response=PolicyOut,
    summary="Change an SLA policy (the running tickets it governs or matches are recomputed)",
)
def change_policy(request: HttpRequest, policy_id: int, payload: PolicyPatch) -> SlaPolicy:
    actor = actor_of(request)
    policy = setup.get_policy_for(actor, policy_id)
    data = _patched(
        setup.policy_input_of(policy),
        payload.model_dump(exclude_unset=True),
        nullable=frozenset({"segment_id", "calendar_id"}),
    )
    return setup.update_policy(actor=actor, policy=policy, data=data)


@router.delete(
    "/inbox/sla-policies/{policy_id}",
    response={204: None, 200: PolicyOut},
    summary="Delete an SLA policy (204), or deactivate it while tickets refer to it (200, active false)",
)
def delete_policy(request: HttpRequest, policy_id: int) -> Status[Any]:
    actor = actor_of(request)
    policy = setup.get_policy_for(actor, policy_id)
    if setup.delete_policy(actor=actor, policy=policy):
        return Status(204, None)
    return Status(200, policy)


# --- routing rules -------------------------------------------------------------------------------------


class RoutingRuleIn(InputSchema):
    team_id: int = Field(description="the team the matching tickets go to")
    rank: int = Field(100, description="the first rule (lowest rank) that matches wins")
    channel: str = Field("", description="empty: any")
    language: str = Field("", description="uk, ru, en; empty: any")
    tag: str = Field("", description="empty: any")
    skill: str = Field("", description="the skill the ticket needs of its agent")


class RoutingRulePatch(InputSchema):
    team_id: int | None = None
    rank: int | None = None
    channel: str | None = None
    language: str | None = None
    tag: str | None = None
    skill: str | None = None


class RoutingRuleOut(Schema):
    id: int
    rank: int
    channel: str
    language: str
    tag: str
    team_id: int
    skill: str


@router.get("/inbox/routing-rules", response=Page[RoutingRuleOut], summary="Routing rules, in order")
def list_routing_rules(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    rows = setup.list_routing_rules(actor_of(request))
    return paginate(rows, limit=page.limit, offset=page.offset, shape=lambda r: r)


@router.post("/inbox/routing-rules", response={201: RoutingRuleOut}, summary="Create a routing rule")
def create_routing_rule(request: HttpRequest, payload: RoutingRuleIn) -> Status[Any]:
    data = setup.RoutingRuleIn(**payload.model_dump())
    return Status(201, setup.create_routing_rule(actor=actor_of(request), data=data))


@router.get("/inbox/routing-rules/{rule_id}", response=RoutingRuleOut, summary="One routing rule")
def read_routing_rule(request: HttpRequest, rule_id: int) -> RoutingRule:
    return setup.get_routing_rule_for(actor_of(request), rule_id)


@router.patch("/inbox/routing-rules/{rule_id}", response=RoutingRuleOut, summary="Change a routing rule")
def change_routing_rule(request: HttpRequest, rule_id: int, payload: RoutingRulePatch) -> RoutingRule:
    actor = actor_of(request)
    rule = setup.get_routing_rule_for(actor, rule_id)
    data = _patched(setup.routing_rule_input_of(rule), payload.model_dump(exclude_unset=True))
    return setup.update_routing_rule(actor=actor, rule=rule, data=data)


@router.delete("/inbox/routing-rules/{rule_id}", response={204: None}, summary="Delete a routing rule")
def delete_routing_rule(request: HttpRequest, rule_id: int) -> Status[None]:
    actor = actor_of(request)
    setup.delete_routing_rule(actor=actor, rule=setup.get_routing_rule_for(actor, rule_id))
    return Status(204, None)


# --- canned replies ------------------------------------------------------------------------------------


class CannedReplyIn(InputSchema):
    title: str
    shortcut: str = Field(description="what agents type to find it, such as parcel-late")
    language: str = Field(description="uk, ru or en")
    body: str = Field(
        description="the text; variables: {{ customer.first_name }}, {{ ticket.id }}, {{ agent.name }}..."
    )


class CannedReplyPatch(InputSchema):
    title: str | None = None
    shortcut: str | None = None
    language: str | None = None
    body: str | None = None


class CannedReplyOut(Schema):
    id: int
    title: str
    shortcut: str
    language: str
    body: str


class CannedQuery(PageQuery):
    language: str = ""
    shortcut: str = ""


@router.get("/inbox/canned-replies", response=Page[CannedReplyOut], summary="Canned replies")
def list_canned_replies(request: HttpRequest, filters: Query[CannedQuery]) -> dict[str, Any]:
    rows = setup.list_canned_replies(actor_of(request), language=filters.language, shortcut=filters.shortcut)
    return paginate(rows, limit=filters.limit, offset=filters.offset, shape=lambda c: c)


@router.post("/inbox/canned-replies", response={201: CannedReplyOut}, summary="Create a canned reply")
def create_canned_reply(request: HttpRequest, payload: CannedReplyIn) -> Status[Any]:
    data = setup.CannedReplyIn(**payload.model_dump())
    return Status(201, setup.create_canned_reply(actor=actor_of(request), data=data))


@router.get("/inbox/canned-replies/{canned_id}", response=CannedReplyOut, summary="One canned reply")
def read_canned_reply(request: HttpRequest, canned_id: int) -> CannedReply:
    return setup.get_canned_reply_for(actor_of(request), canned_id)


@router.patch("/inbox/canned-replies/{canned_id}", response=CannedReplyOut, summary="Change a canned reply")
def change_canned_reply(request: HttpRequest, canned_id: int, payload: CannedReplyPatch) -> CannedReply:
    actor = actor_of(request)
    canned = setup.get_canned_reply_for(actor, canned_id)
    data = _patched(setup.canned_reply_input_of(canned), payload.model_dump(exclude_unset=True))
    return setup.update_canned_reply(actor=actor, canned=canned, data=data)


@router.delete("/inbox/canned-replies/{canned_id}", response={204: None}, summary="Delete a canned reply")
def delete_canned_reply(request: HttpRequest, canned_id: int) -> Status[None]:
    actor = actor_of(request)
    setup.delete_canned_reply(actor=actor, canned=setup.get_canned_reply_for(actor, canned_id))
    return Status(204, None)
