"""The inbox over HTTP: tickets with their entries, and raw email handed over by a mail gateway."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema

from forewarn.accounts.roles import Perm
from forewarn.core.api import Page, actor_of, paginate
from forewarn.core.errors import ValidationFailed
from forewarn.inbox.models import Ticket
from forewarn.inbox.services import email as email_service
from forewarn.inbox.services import tickets as ticket_service

router = Router(tags=["inbox"])


class AttachmentOut(Schema):
    filename: str
    content_type: str
    size: int
    refused: str


class EntryOut(Schema):
    id: int
    kind: str
    channel: str
    text: str
    html: str
    created_at: datetime
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_attachments(obj: Any) -> list[Any]:
        return list(obj.attachments.all())


class TicketOut(Schema):
    id: int
    customer_id: int
    channel: str
    subject: str
    status: str
    priority: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class TicketDetailOut(TicketOut):
    entries: list[EntryOut]

    @staticmethod
    def resolve_entries(obj: Ticket) -> list[Any]:
        return list(obj.entries.all())


class TicketFilters(Schema):
    status: str = ""
    channel: str = ""
    customer_id: int | None = None
    limit: int = 50
    offset: int = 0


@router.get("/tickets", response=Page[TicketOut], summary="Tickets, most recently active first")
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]) -> dict[str, Any]:
    rows = ticket_service.list_tickets(
        actor_of(request), status=filters.status, channel=filters.channel, customer_id=filters.customer_id
    )
    return paginate(rows, limit=filters.limit, offset=filters.offset, shape=lambda t: t)


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
    return email_service.receive_email(request.body)
