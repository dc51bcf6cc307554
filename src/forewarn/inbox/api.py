"""The inbox over HTTP: tickets with their entries, and raw email handed over by a mail gateway."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from forewarn.accounts.actors import actor_of
from forewarn.accounts.roles import Perm
from forewarn.core.errors import ValidationFailed
from forewarn.core.http import InputSchema, Page, paginate
from forewarn.inbox.models import Entry, EntryKind, Ticket
from forewarn.inbox.services import deliveries, replies, report
from forewarn.inbox.services import tickets as ticket_service
from forewarn.inbox.services.intake import calls, desk
from forewarn.inbox.services.intake import email as email_service

router = Router(tags=["inbox"])


class AttachmentOut(Schema):
    filename: str
    content_type: str
    size: int
    refused: str


class DeliveryOut(Schema):
    """Where an answer on its way stands."""

    state: str = Field(description="queued, retrying, sending, sent, delivered, failed, suppressed, …")
    label: str = Field(description="the state in words, in the caller's language")
    reason: str = Field(
        description="why it is not sent yet, in words (the provider's error, the policy's reason)"
    )
    retry_at: datetime | None = Field(description="when the outbox tries again, while retrying")
    fell_back_from: str = Field(description="the channel it left for the one it is on, in words")
    attempts: int
    other_channels: list[str] = Field(description="channels it can be sent again on (POST …/again)")

    @staticmethod
    def resolve_other_channels(obj: Any) -> list[str]:
        return [code for code, _name in obj.other_channels]


class EntryOut(Schema):
    id: int
    kind: str = Field(description="inbound (the customer's), outbound (an answer sent to them) or note")
    internal: bool = Field(description="an internal note: staff only, never sent to the customer")
    channel: str
    text: str
    html: str
    parts: int | None = Field(
        description="the SMS parts an answer by SMS takes (GSM-7: 160, or 153 a part; Cyrillic and other "
        "UCS-2 text: 70, or 67 a part); null for anything else"
    )
    created_at: datetime
    attachments: list[AttachmentOut]
    delivery: DeliveryOut | None = Field(default=None, description="an answer's delivery; null for others")

    @staticmethod
    def resolve_internal(obj: Entry) -> bool:
        return obj.kind == EntryKind.NOTE

    @staticmethod
    def resolve_parts(obj: Entry) -> int | None:
        return replies.sms_parts(obj)

    @staticmethod
    def resolve_attachments(obj: Any) -> list[Any]:
        return list(obj.attachments.all())

    @staticmethod
    def resolve_delivery(obj: Any) -> Any:
        return deliveries.delivery_for(obj)


class TicketOut(Schema):
    id: int
    customer_id: int
    channel: str
    subject: str
    status: str
    priority: str
    tags: list[str]
    custom_fields: dict[str, Any]
    assignee_id: int | None
    team_id: int | None
    incident_id: int | None
    escalation: int
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    first_response_due: datetime | None
    first_response_breached_at: datetime | None
    resolution_due: datetime | None
    resolution_breached_at: datetime | None
    solved_at: datetime | None


class TicketDetailOut(TicketOut):
    entries: list[EntryOut]

    @staticmethod
    def resolve_entries(obj: Ticket) -> list[Any]:
        return list(obj.entries.all())


class TicketFilters(Schema):
    view: str = "all"
    status: str = ""
    channel: str = ""
    priority: str = ""
    tag: str = ""
    q: str = ""
    customer_id: int | None = None
    deep: bool = Field(default=False, description="Search older conversations too, however many match")
    limit: int = 50
    offset: int = 0


class SearchOut(Schema):
    older_skipped: bool = Field(
        description="Only the newest conversations were searched (they hold enough); ask again with "
        "deep=true to search the older ones too"
    )
    capped: bool = Field(
        description=f"More than {ticket_service.SEARCH_LIMIT} entries matched; the tickets of the newest "
        "are given"
    )


class TicketPage(Page[TicketOut]):
    search: SearchOut | None = Field(default=None, description="What the search found; null without q")


@router.get("/tickets", response=TicketPage, summary="Tickets, most recently active first")
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]) -> dict[str, Any]:
    chosen = filters.dict(exclude={"limit", "offset"})
    found = ticket_service.find_tickets(actor_of(request), ticket_service.TicketFilters(**chosen))
    page = paginate(found.rows, limit=filters.limit, offset=filters.offset, shape=lambda t: t)
    return {**page, "search": found.search}


class NewTicketIn(InputSchema):
    customer_id: int = Field(description="the customer the ticket is opened for")
    channel: str = Field(description="where they reached us: email, sms, telegram, viber, voice, webchat")
    subject: str = Field(max_length=desk.MAX_SUBJECT)
    text: str = Field(max_length=desk.MAX_TEXT, description="what the customer said, an inbound entry")
    note: bool = Field(default=False, description="true: the text is an internal note instead")
    priority: str = Field(default="", description="low, normal, high or urgent; empty: normal")


@router.post("/tickets", response={201: TicketOut}, summary="Open a ticket on behalf of a customer")
def open_ticket(request: HttpRequest, body: NewTicketIn) -> Status[Any]:
    actor = actor_of(request)
    ticket = desk.open_for_customer(actor=actor, data=desk.NewTicketIn(**body.dict()))
    return Status(201, ticket)


class BulkIn(InputSchema):
    ticket_ids: list[int] = Field(
        description=f"the tickets to change, at most {ticket_service.BULK_LIMIT}; all of them change or none"
    )
    action: str = Field(description="assign, status, tag or merge")
    assignee_id: int | None = Field(
        default=None, description="assign: whom to give them to; 0 puts them back in the queue"
    )
    status: str | None = Field(default=None, description="status: the status to set")
    tag: str = Field(default="", max_length=50, description="tag: the tag to add")
    into: int | None = Field(default=None, description="merge: the chosen ticket that carries on")


class BulkOut(Schema):
    tickets: list[TicketOut] = Field(
        description="the tickets as they are now; for a merge, the one kept first"
    )


# Declared before /tickets/{ticket_id}, which would otherwise take "bulk" for an id.
@router.post(
    "/tickets/bulk",
    response=BulkOut,
    summary="Change many tickets at once",
    description="One action on every chosen ticket, all of them or none: a ticket the caller cannot see "
    "is a 404 and changes nothing, and so does a change one of them refuses.",
)
def bulk_change(request: HttpRequest, body: BulkIn) -> dict[str, Any]:
    change = ticket_service.BulkChange(**body.dict(exclude={"ticket_ids"}))
    tickets = ticket_service.bulk_update(actor=actor_of(request), ticket_ids=body.ticket_ids, change=change)
    return {"tickets": tickets}


class TicketChangeIn(InputSchema):
    status: str | None = None
    priority: str | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None
    incident_id: int | None = None
    assignee_id: int | None = Field(default=None, description="0 puts the ticket back in the queue")


@router.patch(
    "/tickets/{ticket_id}", response=TicketOut, summary="Change a ticket's status, priority, tags..."
)
def change_ticket(request: HttpRequest, ticket_id: int, body: TicketChangeIn) -> Ticket:
    actor = actor_of(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    change = ticket_service.TicketChange(**body.dict())
    return ticket_service.update_ticket(actor=actor, ticket=ticket, change=change)


class EntryIn(InputSchema):
    text: str = Field(
        description="at most what the ticket's channel takes (an SMS 10 parts, Telegram 4,096 characters, "
        "Viber 7,000, the web chat 4,000, email 50,000); a note 20,000"
    )
    note: bool = Field(default=False, description="true: an internal note, never sent to the customer")
    seen_up_to: int | None = Field(
        default=None, description="the last entry its author saw (collision check)"
    )
    confirmed: bool = False


@router.post("/tickets/{ticket_id}/entries", response={201: EntryOut}, summary="Answer or add a note")
def add_entry(request: HttpRequest, ticket_id: int, body: EntryIn) -> Status[Any]:
    actor = actor_of(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    entry = replies.add_entry(
        actor=actor,
        ticket=ticket,
        text=body.text,
        note=body.note,
        seen_up_to=body.seen_up_to,
        confirmed=body.confirmed,
    )
    return Status(201, entry)


class AgainIn(InputSchema):
    channel: str = Field(default="", description="another channel to send it on; empty: its own")


@router.post(
    "/tickets/{ticket_id}/entries/{entry_id}/again",
    response=EntryOut,
    summary="Send an answer that could not be sent again",
    description="Now, with a fresh set of attempts: on its own channel, or on `channel` (one of the "
    "answer's `delivery.other_channels`). 409 `not_stuck` for an answer that is on its way or sent.",
)
def send_again(request: HttpRequest, ticket_id: int, entry_id: int, body: AgainIn) -> Any:
    actor = actor_of(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    return deliveries.send_again(actor=actor, ticket=ticket, entry_id=entry_id, channel=body.channel)


class ProportionOut(Schema):
    hits: int
    total: int
    share: float | None
    low: float
    high: float


class SegmentRowOut(Schema):
    segment: str
    name: str
    tickets: int
    first_response: ProportionOut
    resolution: ProportionOut
    median_first_response_minutes: float | None
    policies: list[str]


@router.get("/inbox/sla-report", response=list[SegmentRowOut], summary="SLA attainment per customer segment")
def sla_report(request: HttpRequest, since: datetime, until: datetime) -> list[report.SegmentRow]:
    return report.sla_attainment(actor=actor_of(request), since=since, until=until)


@router.get("/tickets/{ticket_id}", response=TicketDetailOut, summary="One ticket and what was said in it")
def read_ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    return ticket_service.get_ticket_for(actor_of(request), ticket_id)


class ReceivedOut(Schema):
    status: str
    ticket_id: int | None
    entry_id: int | None


@router.post(
    "/inbox/email",
    response=ReceivedOut,
    summary="Hand over one raw email (message/rfc822), as a mail gateway or an IMAP poller would",
    openapi_extra={"requestBody": {"content": {"message/rfc822": {"schema": {"type": "string"}}}}},
)
def receive_email(request: HttpRequest) -> email_service.Received:
    actor_of(request).require(Perm.EVENTS_SEND)
    if not request.body:
        raise ValidationFailed.single("body", "required", _("Send the message itself as the request body."))
    return email_service.receive_email(request.body, provider="gateway")


class CallIn(InputSchema):
    call_id: str = Field(description="the telephony's id of the call: a repeat updates the same entry")
    caller: str = Field(description="the number that called, E.164 or national")
    started_at: datetime
    outcome: str = Field(
        description="answered, missed, abandoned, voicemail or self_served (the IVR handled it)"
    )
    duration_seconds: int = 0
    ivr_path: list[str] = []
    ivr_result: str = ""
    transcript: str = ""
    recording_url: str = ""
    language: str = ""


class CallOut(Schema):
    status: str
    ticket_id: int
    entry_id: int


@router.post("/inbox/calls", response=CallOut, summary="Report a phone call: IVR path, outcome, transcript")
def record_call(request: HttpRequest, body: CallIn) -> calls.CallRecorded:
    return calls.record_call(actor=actor_of(request), call=calls.CallIn(**body.dict()))


class MergeIn(InputSchema):
    into: int = Field(description="the ticket that carries on")


@router.post("/tickets/{ticket_id}/merge", response=TicketOut, summary="Merge this ticket into another")
def merge_ticket(request: HttpRequest, ticket_id: int, body: MergeIn) -> Ticket:
    actor = actor_of(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    into = ticket_service.get_ticket_for(actor, body.into)
    return ticket_service.merge_tickets(actor=actor, ticket=ticket, into=into)


class SplitIn(InputSchema):
    entry_ids: list[int]


@router.post("/tickets/{ticket_id}/split", response={201: TicketOut}, summary="Move entries to a new ticket")
def split_ticket(request: HttpRequest, ticket_id: int, body: SplitIn) -> Status[Any]:
    actor = actor_of(request)
    ticket = ticket_service.get_ticket_for(actor, ticket_id)
    return Status(201, ticket_service.split_ticket(actor=actor, ticket=ticket, entry_ids=body.entry_ids))
