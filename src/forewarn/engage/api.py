"""Engage over HTTP: events in, triggers, the message log, incidents and the contact policy's settings
(caps, topics, the default quiet hours)."""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.params.functions import Header
from pydantic import Field
from pydantic import ValidationError as PydanticError

from forewarn.accounts.actors import Actor, actor_of
from forewarn.accounts.roles import Perm
from forewarn.channels.callbacks import MalformedCallback, SignatureInvalid, parse_callback
from forewarn.core import preferences
from forewarn.core.errors import FieldError, ServiceError, ValidationFailed
from forewarn.core.http import InputSchema, Page, paginate, schema_field_errors
from forewarn.core.vocab import Topic as BuiltInTopic
from forewarn.customers.services.profiles import get_customer_for
from forewarn.engage.models import FrequencyCap, Incident, Message, Trigger
from forewarn.engage.services import incidents as incident_service
from forewarn.engage.services import ingest as ingest_service
from forewarn.engage.services import log as log_service
from forewarn.engage.services import responses
from forewarn.engage.services import rules as rules_service
from forewarn.engage.services import sources as source_service
from forewarn.engage.services import triggers as trigger_service

router = Router(tags=["engage"])


# --- events --------------------------------------------------------------------------------------------


class EventItem(InputSchema):
    source: str = Field(max_length=64, description="the system the event comes from, such as 'shop'")
    id: str = Field(max_length=128, description="the event's id in its source: the idempotency key")
    type: str = Field(max_length=64, description="such as order_shipped, bill_issued, flight_delayed")
    occurred_at: datetime | None = Field(None, description="when it happened (ISO 8601 with offset)")
    customer: dict[str, Any] = Field(
        description="who: one or more of customer_id, external_id, phone, email, telegram, viber"
    )
    payload: dict[str, Any] = {}


class EventBatch(InputSchema):
    events: list[EventItem] = Field(max_length=ingest_service.MAX_BATCH)


class EventResult(Schema):
    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    event_id: int | None
    error: dict[str, Any] | None


class IngestOut(Schema):
    accepted: int
    duplicates: int
    rejected: int
    results: list[EventResult]


EVENTS_BODY = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/EventItem"},
                        {"$ref": "#/components/schemas/EventBatch"},
                    ]
                }
            }
        },
        "required": True,
    }
}


def _parse_events(
    body: bytes, source: str | None = None
) -> tuple[list[ingest_service.EventIn], list[Any], bool]:
    """The events in a body (one, or {"events": [...]}), each checked on its own: bad ones are reported
    by index and do not hold back the rest."""
    try:
        document = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ServiceError("The request body is not valid JSON.", code="malformed_body") from exc
    single = not (isinstance(document, dict) and "events" in document)
    raw = [document] if single else document["events"]
    if not isinstance(raw, list):
        raise ValidationFailed.single("events", "not_a_list", "Send a list of events.")
    if len(raw) > ingest_service.MAX_BATCH:
        raise ValidationFailed.single(
            "events", "too_many", f"At most {ingest_service.MAX_BATCH} events in one batch."
        )
    items: list[ingest_service.EventIn] = []
    problems: list[Any] = []
    for i, entry in enumerate(raw):
        document_item = entry
        if source is not None and isinstance(entry, dict):
            document_item = {**entry, "source": entry.get("source") or source}
        try:
            parsed = EventItem.model_validate(document_item)
        except PydanticError as exc:
            problems.append((i, ValidationFailed(schema_field_errors(exc.errors()))))
            items.append(ingest_service.EventIn(source="", id="", type="", customer={}))
            continue
        if source is not None and parsed.source != source:
            problems.append(
                (i, ValidationFailed.single("source", "source_mismatch", "Not this webhook's source."))
            )
        items.append(ingest_service.EventIn(**parsed.model_dump()))
    return items, problems, single


def _ingest(actor: Actor, body: bytes, source: str | None = None) -> tuple[int, dict[str, Any]]:
    items, problems, single = _parse_events(body, source)
    bad = {i for i, _e in problems}
    good = [(i, item) for i, item in enumerate(items) if i not in bad]
    result = ingest_service.ingest_events(actor=actor, items=[item for _i, item in good])
    results: list[dict[str, Any]] = [{} for _ in items]
    for (i, _item), outcome in zip(good, result.outcomes, strict=True):
        results[i] = {
            "index": i,
            "status": outcome.status,
            "event_id": outcome.event_id,
            "error": outcome.error,
        }
    for i, exc in problems:
        results[i] = {
            "index": i,
            "status": "rejected",
            "event_id": None,
            "error": exc.as_dict()["error"],
        }
    answer = {
        "accepted": sum(1 for r in results if r["status"] == "accepted"),
        "duplicates": sum(1 for r in results if r["status"] == "duplicate"),
        "rejected": sum(1 for r in results if r["status"] == "rejected"),
        "results": results,
    }
    if single and results[0]["status"] == "rejected":
        return 422, {"error": results[0]["error"]}
    return 200, answer


@router.post(
    "/events",
    response={200: IngestOut, 422: dict[str, Any]},
    summary="Send one journey event or a batch of up to 1,000",
    openapi_extra=EVENTS_BODY,
)
def send_events(request: HttpRequest) -> Status[Any]:
    """Each event's `(source, id)` is its idempotency key: sent again, it is reported as a duplicate and
    not acted on twice. In a batch every event is judged on its own; the answer lists each by index."""
    status, answer = _ingest(actor_of(request), request.body)
    return Status(status, answer)


@router.post(
    "/events/webhook/{source}",
    auth=None,
    response={200: IngestOut, 401: dict[str, Any], 422: dict[str, Any]},
    summary="Events from a source system, signed with its secret",
    openapi_extra=EVENTS_BODY,
)
def webhook_events(
    request: HttpRequest,
    source: str,
    signature: str = Header("", alias="X-Forewarn-Signature"),
) -> Status[Any]:
    """Sign the raw body with the source's secret: `X-Forewarn-Signature: sha256=<hex HMAC-SHA256>`."""
    source_service.verify_webhook(source=source, body=request.body, signature=signature)
    actor = Actor.machine(f"webhook:{source}", Perm.EVENTS_SEND)  # a source may send events, no more
    status, answer = _ingest(actor, request.body, source)
    return Status(status, answer)


@router.post(
    "/channels/callbacks/{provider}",
    auth=None,
    response={200: dict[str, int], 400: dict[str, Any], 401: dict[str, Any]},
    summary="Delivery receipts, replies and opt-outs from a channel provider (signed)",
)
def provider_callback(request: HttpRequest, provider: str) -> Status[Any]:
    """Point the provider's status and inbound webhooks here: `twilio`, `telegram`, `viber` or `webhook`.
    The body is what the provider sends, signed its own way, checked before anything is read (401 and
    nothing acted on without it):

    - `twilio`: its form; `X-Twilio-Signature`, base64 HMAC-SHA1 with the auth token of the URL called
      followed by each parameter's name and value, sorted by name.
    - `telegram`: a JSON Update; `X-Telegram-Bot-Api-Secret-Token`, the secret given to `setWebhook`.
    - `viber`: a JSON event; `X-Viber-Content-Signature`, hex HMAC-SHA256 of the body with the auth token.
    - `webhook`: `{"kind", "provider_message_id", "address", "status", "text", ...}` or a list;
      `X-Forewarn-Signature: sha256=<hex HMAC-SHA256 of the body>`.

    Receipts move messages on, a STOP refuses every refusable topic on that channel, anything else a
    customer wrote becomes a ticket of the customer found by any identity the provider gives. The bodies,
    signed `curl` examples that work against the demo (`make run`, its published secrets) and what
    becomes of each are in docs/callbacks.md."""
    try:
        events = parse_callback(
            provider, url=request.build_absolute_uri(), headers=dict(request.headers), body=request.body
        )
    except SignatureInvalid:
        return Status(
            401,
            {"error": {"code": "signature_invalid", "message": "Signature missing or wrong.", "fields": []}},
        )
    except MalformedCallback as exc:
        return Status(400, {"error": {"code": "malformed_callback", "message": str(exc), "fields": []}})
    return Status(200, responses.record_callbacks(events))


class SourceIn(InputSchema):
    name: str = Field("", max_length=100)
    unknown_customer: Literal["reject", "create"] = "reject"
    new_secret: bool = Field(False, description="make a new webhook secret (the old one stops working)")


class SourceOut(Schema):
    slug: str
    name: str
    unknown_customer: str
    webhook_secret: str = Field(description="shown only when it was just made; empty otherwise")


@router.put("/event-sources/{slug}", response=SourceOut, summary="Register or change a source system")
def put_source(request: HttpRequest, slug: str, payload: SourceIn) -> dict[str, Any]:
    source, secret = source_service.configure_source(
        actor=actor_of(request), slug=slug, **payload.model_dump()
    )
    return {
        "slug": source.slug,
        "name": source.name,
        "unknown_customer": source.unknown_customer,
        "webhook_secret": secret,
    }


# --- triggers ------------------------------------------------------------------------------------------


class TemplateSchema(InputSchema):
    language: str
    body: str
    channel: str = ""
    variant: str = "standard"
    subject: str = ""


class TriggerSchema(InputSchema):
    name: str = Field(max_length=120)
    event_type: str = Field(max_length=64)
    topic: str
    templates: list[TemplateSchema]
    conditions: list[Any] = []
    wait_seconds: int = 0
    cancel_on_event: str = ""
    cancel_match: list[str] = []
    priority: int = 50
    critical: bool = False
    allow_digest: bool = False
    ttl_seconds: int | None = None
    when_late: str = "expire"
    when_bumped: str = "defer"
    dedup_key: str = ""
    extras: dict[str, Any] = {}
    active: bool = True
    slug: str = ""


class TriggerOut(TriggerSchema):
    id: int
    created_at: datetime
    updated_at: datetime


class PreviewIn(InputSchema):
    trigger: TriggerSchema
    payload: dict[str, Any] = {}
    customer_id: int | None = None


class PreviewOut(Schema):
    variant: str
    channel: str
    language: str
    subject: str
    body: str
    dedup_key: str


def _trigger_in(payload: TriggerSchema) -> trigger_service.TriggerIn:
    data = payload.model_dump()
    data["templates"] = [trigger_service.TemplateIn(**t) for t in data["templates"]]
    return trigger_service.TriggerIn(**data)


def shape_trigger(trigger: Trigger) -> dict[str, Any]:
    data = trigger_service.trigger_input_of(trigger)
    return {
        **{name: getattr(data, name) for name in trigger_service.TRIGGER_FIELDS},
        "slug": trigger.slug,
        "templates": [t.__dict__ for t in data.templates],
        "id": trigger.pk,
        "created_at": trigger.created_at,
        "updated_at": trigger.updated_at,
    }


@router.get("/triggers", response=list[TriggerOut], summary="Every trigger")
def list_triggers(request: HttpRequest) -> list[dict[str, Any]]:
    return [shape_trigger(t) for t in trigger_service.list_triggers(actor_of(request))]


@router.post("/triggers", response={201: TriggerOut}, summary="Create a trigger")
def create_trigger(request: HttpRequest, payload: TriggerSchema) -> Status[dict[str, Any]]:
    actor = actor_of(request)
    trigger = trigger_service.create_trigger(actor=actor, data=_trigger_in(payload))
    return Status(201, shape_trigger(trigger_service.get_trigger_for(actor, trigger.pk)))


# Before /triggers/{trigger_id}: the router tries paths in order, and an id would take "preview".
@router.post("/triggers/preview", response=list[PreviewOut], summary="Render a trigger's templates")
def preview_trigger(request: HttpRequest, payload: PreviewIn) -> list[Any]:
    actor = actor_of(request)
    customer = get_customer_for(actor, payload.customer_id) if payload.customer_id else None
    return trigger_service.preview_trigger(
        actor=actor, data=_trigger_in(payload.trigger), payload=payload.payload, customer=customer
    )


@router.get("/triggers/{trigger_id}", response=TriggerOut, summary="One trigger")
def read_trigger(request: HttpRequest, trigger_id: int) -> dict[str, Any]:
    return shape_trigger(trigger_service.get_trigger_for(actor_of(request), trigger_id))


@router.put("/triggers/{trigger_id}", response=TriggerOut, summary="Replace a trigger")
def replace_trigger(request: HttpRequest, trigger_id: int, payload: TriggerSchema) -> dict[str, Any]:
    actor = actor_of(request)
    trigger = trigger_service.get_trigger_for(actor, trigger_id)
    trigger_service.update_trigger(actor=actor, trigger=trigger, data=_trigger_in(payload))
    return shape_trigger(trigger_service.get_trigger_for(actor, trigger_id))


# --- messages ------------------------------------------------------------------------------------------


class MessageOut(Schema):
    id: int
    customer_id: int
    kind: str
    topic: str
    priority: int
    status: str
    reason: str
    channel: str
    address: str
    variant: str
    language: str
    subject: str
    body: str
    trigger_id: int | None
    event_id: int | None
    incident_id: int | None
    digest_into_id: int | None
    trail: list[Any]
    planned_at: datetime
    send_after: datetime
    expires_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    attempts: int
    provider: str
    error: str


class MessageFilters(Schema):
    customer_id: int | None = None
    status: str = ""
    channel: str = ""
    topic: str = ""
    kind: str = ""
    reason: str = ""
    incident_id: int | None = None
    trigger_id: int | None = None
    limit: int = 50
    offset: int = 0


@router.get("/messages", response=Page[MessageOut], summary="The message log: every decision and send")
def list_messages(request: HttpRequest, filters: Query[MessageFilters]) -> dict[str, Any]:
    rows = log_service.message_log(actor=actor_of(request), **filters.model_dump(exclude={"limit", "offset"}))
    return paginate(rows, limit=filters.limit, offset=filters.offset, shape=lambda m: m)


@router.get("/messages/{message_id}", response=MessageOut, summary="One message with its decisions")
def read_message(request: HttpRequest, message_id: int) -> Message:
    return log_service.get_message_for(actor_of(request), message_id)


# --- incidents -----------------------------------------------------------------------------------------


class IncidentIn(InputSchema):
    title: str = Field(max_length=200)
    audience: dict[str, Any] = Field(
        description='who is affected: {"segments": [...], "city": "...", "attributes": {"district": "..."}}'
    )
    description: str = ""
    area: str = Field("", max_length=200)
    started_at: datetime | None = None
    critical: bool = False
    notice: dict[str, str] = {}
    resolution: dict[str, str] = {}


class IncidentOut(Schema):
    id: int
    title: str
    description: str
    area: str
    audience: dict[str, Any]
    started_at: datetime
    critical: bool
    status: str
    affected_count: int
    planned_count: int
    resolved_at: datetime | None
    created_at: datetime
    progress: dict[str, dict[str, int]]


def shape_incident(incident: Incident) -> dict[str, Any]:
    return {
        **{f: getattr(incident, f) for f in IncidentOut.model_fields if f not in {"id", "progress"}},
        "id": incident.pk,
        "progress": incident_service.incident_progress(incident),
    }


@router.post("/incidents", response={201: IncidentOut}, summary="Declare an incident and tell those affected")
def declare_incident(request: HttpRequest, payload: IncidentIn) -> Status[Any]:
    data = incident_service.IncidentIn(**payload.model_dump())
    incident = incident_service.declare_incident(actor=actor_of(request), data=data)
    return Status(201, shape_incident(incident))


@router.get("/incidents", response=list[IncidentOut], summary="Incidents, newest first")
def list_incidents(request: HttpRequest, status: str = "") -> list[dict[str, Any]]:
    return [shape_incident(i) for i in incident_service.list_incidents(actor_of(request), status=status)]


@router.get("/incidents/{incident_id}", response=IncidentOut, summary="An incident and its progress")
def read_incident(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    return shape_incident(incident_service.get_incident_for(actor_of(request), incident_id))


@router.post("/incidents/{incident_id}/resolve", response=IncidentOut, summary="Close it and say it is fixed")
def resolve_incident(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    actor = actor_of(request)
    incident = incident_service.get_incident_for(actor, incident_id)
    return shape_incident(incident_service.resolve_incident(actor=actor, incident=incident))


@router.get(
    "/incidents/{incident_id}/call-list",
    summary="Who may be called about it, with each person's calling window (CSV)",
    # One integer key, as ninja writes its own: a "200" beside a 200 is a duplicate key in the JSON.
    openapi_extra={"responses": {200: {"content": {"text/csv": {}}, "description": "CSV"}}},
)
def call_list(request: HttpRequest, incident_id: int) -> HttpResponse:
    actor = actor_of(request)
    incident = incident_service.get_incident_for(actor, incident_id)
    rows = incident_service.call_list(actor=actor, incident=incident)
    response = HttpResponse(incident_service.call_list_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="incident-{incident.pk}-call-list.csv"'
    return response


# --- contact policy ------------------------------------------------------------------------------------


class CapSchema(InputSchema):
    topic: str = Field("", description="a topic's code, or empty for every topic but transactional")
    limit: int = Field(
        ge=0, le=rules_service.MAX_LIMIT, description="messages a customer may get in the window"
    )
    window_hours: int = Field(
        ge=1, le=rules_service.MAX_WINDOW_HOURS, description="a rolling window: 24, 168..."
    )
    active: bool = True


class CapOut(Schema):
    """A cap as it is stored (an answer is read from the rows, not checked as a client's document)."""

    topic: str
    limit: int
    window_hours: int
    active: bool


@router.get("/policy/caps", response=list[CapOut], summary="Frequency caps shared by every department")
def list_caps(request: HttpRequest) -> list[FrequencyCap]:
    return rules_service.list_caps(actor_of(request))


@router.put(
    "/policy/caps",
    response=list[CapOut],
    summary="Replace the frequency caps (the whole set; administrators only)",
)
def replace_caps(request: HttpRequest, payload: list[CapSchema]) -> list[FrequencyCap]:
    actor = actor_of(request)
    caps = [rules_service.CapIn(**c.model_dump()) for c in payload]
    return rules_service.replace_caps(actor=actor, caps=caps)


class QuietHoursIn(InputSchema):
    start: time = Field(description="HH:MM in each customer's own time zone, such as 21:00")
    end: time = Field(description="HH:MM, such as 09:00; a window may wrap midnight; start == end: none")


class QuietHoursOut(Schema):
    start: time
    end: time


@router.get(
    "/policy/quiet-hours",
    response=QuietHoursOut,
    summary="The quiet hours of every customer who has not chosen their own",
)
def read_quiet_hours(request: HttpRequest) -> rules_service.QuietHours:
    return rules_service.quiet_hours_for(actor_of(request))


@router.put(
    "/policy/quiet-hours",
    response=QuietHoursOut,
    summary="Change the default quiet hours (administrators only)",
)
def replace_quiet_hours(request: HttpRequest, payload: QuietHoursIn) -> rules_service.QuietHours:
    return rules_service.set_quiet_hours(actor=actor_of(request), start=payload.start, end=payload.end)


class TopicIn(InputSchema):
    code: str = Field(description="2 to 16 of a-z, 0-9 and _, starting with a letter; it never changes")
    names: dict[str, str] = Field(
        default_factory=dict, description='its name per language: {"uk": ..., "ru": ..., "en": ...}'
    )
    opt_in: bool = Field(default=True, description="true: nothing on it goes before the customer says yes")
    active: bool = Field(default=True, description="false: retired, offered for nothing new")


class TopicPatch(InputSchema):
    names: dict[str, str] | None = None
    opt_in: bool | None = None
    active: bool | None = None


class TopicOut(Schema):
    id: int
    code: str
    name: str = Field(description="its name in the reader's language")
    names: dict[str, str]
    opt_in: bool
    active: bool
    built_in: bool

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return preferences.name_of(obj.code, dict(obj.names or {}))

    @staticmethod
    def resolve_built_in(obj: Any) -> bool:
        return obj.code in BuiltInTopic.values


@router.get("/policy/topics", response=list[TopicOut], summary="The topics customers consent to")
def list_topics(request: HttpRequest) -> list[Any]:
    return rules_service.list_topics(actor_of(request))


@router.post(
    "/policy/topics",
    response={201: TopicOut},
    summary="Add a topic customers consent to (administrators only)",
)
def create_topic(request: HttpRequest, payload: TopicIn) -> Status[Any]:
    data = rules_service.TopicIn(**payload.model_dump())
    return Status(201, rules_service.create_topic(actor=actor_of(request), data=data))


@router.get("/policy/topics/{topic_id}", response=TopicOut, summary="One topic")
def read_topic(request: HttpRequest, topic_id: int) -> Any:
    return rules_service.get_topic_for(actor_of(request), topic_id)


@router.patch(
    "/policy/topics/{topic_id}",
    response=TopicOut,
    summary="Rename a topic, say whether it needs a yes, or retire it (409 topic_in_use while an active "
    "trigger sends on it)",
)
def change_topic(request: HttpRequest, topic_id: int, payload: TopicPatch) -> Any:
    actor = actor_of(request)
    topic = rules_service.get_topic_for(actor, topic_id)
    changes = payload.model_dump(exclude_unset=True)
    nulls = sorted(name for name, value in changes.items() if value is None)
    if nulls:
        raise ValidationFailed([FieldError(name, "null", _("This field cannot be null.")) for name in nulls])
    current = rules_service.topic_input_of(topic)
    data = rules_service.TopicIn(**{**vars(current), **changes})
    return rules_service.update_topic(actor=actor, topic=topic, data=data)


class SuppressionIn(InputSchema):
    customer_id: int | None = None
    channel: str = ""
    address: str = Field("", max_length=255)
    scope: str = "everything"
    reason: str = Field("manual", max_length=64)


class SuppressionOut(Schema):
    id: int
    customer_id: int | None
    channel: str
    address: str
    scope: str
    reason: str
    created_at: datetime


@router.post(
    "/suppressions", response={201: SuppressionOut}, summary="Unsubscribe a customer or block an address"
)
def add_suppression(request: HttpRequest, payload: SuppressionIn) -> Status[Any]:
    actor = actor_of(request)
    return Status(201, rules_service.add_suppression(actor=actor, **payload.model_dump()))
