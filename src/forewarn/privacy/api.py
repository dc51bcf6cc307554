"""Personal data over HTTP: masked values and their reveal, the audit log, a person's export and erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from forewarn.accounts.actors import actor_of
from forewarn.core.http import InputSchema, Page, paginate
from forewarn.core.idempotency import NOT_REPLAYED
from forewarn.privacy.models import PersonalValue
from forewarn.privacy.services import audit, subjects
from forewarn.privacy.services import reveal as reveal_service

router = Router(tags=["personal data"])


class ValueOut(Schema):
    id: int
    kind: str
    customer_id: int | None
    source: str
    source_id: str
    field: str
    start: int
    end: int
    mask: str


@router.get(
    "/privacy/values/{value_id}", response=ValueOut, summary="One masked value: its mask and where it is"
)
def read_value(request: HttpRequest, value_id: int) -> PersonalValue:
    return reveal_service.get_value_for(actor_of(request), value_id)


class RevealIn(InputSchema):
    reason: str = Field(max_length=500, description="why you need to see it; kept in the audit log")


class RevealOut(Schema):
    id: int
    kind: str
    value: str


@router.post(
    "/privacy/values/{value_id}/reveal",
    response=RevealOut,
    summary="See one value in the clear (needs pii.reveal; audited, refusals too)",
    openapi_extra=NOT_REPLAYED,  # each reveal is its own audited act, and the clear value is never stored
)
def reveal_value(
    request: HttpRequest, response: HttpResponse, value_id: int, payload: RevealIn
) -> dict[str, Any]:
    actor = actor_of(request)
    value = reveal_service.get_value_for(actor, value_id)
    original = reveal_service.reveal_value(actor=actor, value=value, reason=payload.reason)
    response["Cache-Control"] = "no-store"
    return {"id": value.pk, "kind": value.kind, "value": original}


class AuditOut(Schema):
    seq: int
    at: datetime
    action: str
    actor: str
    actor_user_id: int | None
    customer_id: int | None
    value_id: int | None
    value_kind: str
    reason: str
    detail: dict[str, Any]
    hash: str


class AuditFilters(Schema):
    action: str = ""
    customer_id: int | None = None
    limit: int = 50
    offset: int = 0


@router.get("/privacy/audit", response=Page[AuditOut], summary="The audit log, newest first (admins)")
def list_audit(request: HttpRequest, filters: Query[AuditFilters]) -> dict[str, Any]:
    rows = audit.audit_entries_for(actor_of(request))
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.customer_id is not None:
        rows = rows.filter(customer_id=filters.customer_id)
    return paginate(rows, limit=filters.limit, offset=filters.offset, shape=lambda e: e)


class ChainOut(Schema):
    entries: int
    intact: bool
    first_broken: int | None


@router.get(
    "/privacy/audit/verify", response=ChainOut, summary="Check that no audit entry was changed or removed"
)
def verify_audit(request: HttpRequest) -> dict[str, Any]:
    report = audit.verify_audit_chain(actor=actor_of(request))
    return {"entries": report.entries, "intact": report.intact, "first_broken": report.first_broken}


@router.get(
    "/customers/{customer_id}/personal-data",
    response=dict[str, Any],
    summary="Everything held about a person, originals included (needs personal_data.export; audited)",
)
def export_person(request: HttpRequest, response: HttpResponse, customer_id: int, reason: str = "") -> Any:
    response["Cache-Control"] = "no-store"
    return subjects.export_person(actor=actor_of(request), customer_id=customer_id, reason=reason)


class EraseIn(InputSchema):
    reason: str = Field(max_length=500, description="why, for the audit log (for example: the person asked)")


class ErasureOut(Schema):
    customer_id: int
    profiles: list[int]
    erased: dict[str, int]


@router.post(
    "/customers/{customer_id}/erase",
    response=ErasureOut,
    summary="Erase a person: every personal value goes, anonymous counts stay (needs personal_data.erase)",
)
def erase_person(request: HttpRequest, customer_id: int, payload: EraseIn) -> subjects.Erasure:
    return subjects.erase_person(actor=actor_of(request), customer_id=customer_id, reason=payload.reason)
