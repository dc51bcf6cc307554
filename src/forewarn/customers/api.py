"""Customers over HTTP: parse, call one service, shape the answer."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal

from django.http import HttpRequest
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from forewarn.accounts.actors import actor_of
from forewarn.core.http import InputSchema, Page, paginate
from forewarn.core.preferences import follows_default, quiet_hours_default, quiet_hours_of
from forewarn.customers.models import (
    Consent,
    ConsentChange,
    Customer,
    DuplicateCandidate,
    Identity,
    ImportJob,
    Merge,
    Segment,
)
from forewarn.customers.services import consent as consent_service
from forewarn.customers.services import dedup, importing, merging
from forewarn.customers.services import profiles as svc

router = Router(tags=["customers"])

IdentityKindName = Literal["phone", "email", "telegram", "viber", "external"]


class IdentityIn(InputSchema):
    kind: IdentityKindName
    value: str = Field(max_length=255)
    is_primary: bool = False


class ConsentIn(InputSchema):
    topic: str
    channel: str
    status: str


class CustomerIn(InputSchema):
    given_name: str = Field("", max_length=100)
    middle_name: str = Field("", max_length=100)
    family_name: str = Field("", max_length=100)
    birth_date: date | None = None
    city: str = Field("", max_length=100)
    address: str = Field("", max_length=255)
    language: str | None = None
    time_zone: str | None = None
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    preferred_channel: str | None = None
    segments: list[str] = []
    attributes: dict[str, Any] = {}
    identities: list[IdentityIn] = []
    consents: list[ConsentIn] = []


class CustomerPatch(InputSchema):
    given_name: str | None = Field(None, max_length=100)
    middle_name: str | None = Field(None, max_length=100)
    family_name: str | None = Field(None, max_length=100)
    birth_date: date | None = None
    city: str | None = Field(None, max_length=100)
    address: str | None = Field(None, max_length=255)
    language: str | None = None
    time_zone: str | None = None
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    preferred_channel: str | None = None
    segments: list[str] | None = None
    attributes: dict[str, Any] | None = None


class IdentityOut(Schema):
    id: int
    kind: str
    value: str
    is_primary: bool
    source: str
    created_at: datetime


class ConsentOut(Schema):
    topic: str
    channel: str
    status: str
    source: str
    updated_at: datetime


class ConsentChangeOut(Schema):
    id: int
    topic: str
    channel: str
    previous: str
    status: str
    source: str
    note: str
    actor: str | None
    origin_customer_id: int | None = Field(description="the profile this answer came from, after a merge")
    import_line: int | None = Field(description="the line of the import file that gave this answer")
    changed_at: datetime


class CustomerOut(Schema):
    id: int
    given_name: str
    middle_name: str
    family_name: str
    full_name: str
    birth_date: date | None
    city: str
    address: str
    language: str
    time_zone: str
    quiet_hours_start: time = Field(description="the quiet hours the customer has, in their time zone")
    quiet_hours_end: time
    quiet_hours_default: bool = Field(
        description="true: the customer has not chosen their own and has the default quiet hours "
        "(GET /api/v1/policy/quiet-hours), which follow any change to it"
    )
    preferred_channel: str
    segments: list[str]
    attributes: dict[str, Any]
    identities: list[IdentityOut]
    consents: list[ConsentOut] | None
    status: str
    merged_into: int | None
    created_at: datetime
    updated_at: datetime


class ConsentUpdate(InputSchema):
    topic: str
    channel: str
    status: str
    source: str = Field("api", max_length=64)
    note: str = Field("", max_length=255)


class MergeIn(InputSchema):
    survivor_id: int
    absorbed_id: int
    reason: str = Field("", max_length=255)


class MergeOut(Schema):
    id: int
    survivor_id: int
    absorbed_id: int
    reason: str
    merged_at: datetime
    undone_at: datetime | None


class DuplicateOut(Schema):
    id: int
    first_id: int
    second_id: int
    score: float
    reasons: list[str] = Field(
        description="codes: name:<percent>, birth_date, address, city, email_user, shared_identities,"
        " new_sender (a profile made from a first message bears this name), one_sender (one message's"
        " identities were on both)"
    )
    reason_texts: list[str] = Field(description="the reasons in words, in the caller's language")
    status: str
    found_at: datetime


class ImportOut(Schema):
    id: int
    file_name: str
    status: str
    total_rows: int
    processed_rows: int
    created_count: int
    matched_count: int
    rejected_count: int
    flagged_count: int
    error: str
    created_at: datetime
    finished_at: datetime | None


class RejectionOut(Schema):
    line: int
    field: str
    code: str
    message: str


class SegmentOut(Schema):
    slug: str
    name: str


def shape_customer(
    customer: Customer, *, with_consents: bool = True, quiet_default: tuple[time, time] | None = None
) -> dict[str, Any]:
    follows = follows_default(customer.quiet_hours_start, customer.quiet_hours_end)
    start, end = quiet_hours_of(
        customer.quiet_hours_start, customer.quiet_hours_end, quiet_default or quiet_hours_default()
    )
    return {
        **{
            name: getattr(customer, name)
            for name in (
                "id",
                "given_name",
                "middle_name",
                "family_name",
                "full_name",
                "birth_date",
                "city",
                "address",
                "language",
                "time_zone",
                "preferred_channel",
                "attributes",
                "status",
                "created_at",
                "updated_at",
            )
        },
        "quiet_hours_start": start,
        "quiet_hours_end": end,
        "quiet_hours_default": follows,
        "merged_into": customer.merged_into_id,
        "segments": [s.slug for s in customer.segments.all()],
        "identities": list(customer.identities.all()),
        "consents": list(customer.consents.all()) if with_consents else None,
    }


def shape_change(change: ConsentChange) -> dict[str, Any]:
    return {
        "id": change.pk,
        "topic": change.topic,
        "channel": change.channel,
        "previous": change.previous,
        "status": change.status,
        "source": change.source,
        "note": change.note,
        "actor": str(change.actor) if change.actor else None,
        "origin_customer_id": change.origin_customer_id,
        "import_line": change.import_line,
        "changed_at": change.changed_at,
    }


class CustomerFilters(Schema):
    q: str = ""
    language: str = ""
    segment: str = ""
    preferred_channel: str = ""
    consent_topic: str = ""
    consent_channel: str = ""
    identity_kind: str = ""
    limit: int = Field(50, description="1 to 500; a larger limit is read as 500")
    offset: int = 0


@router.get("/customers", response=Page[CustomerOut], summary="List and search customers")
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]) -> dict[str, Any]:
    actor = actor_of(request)
    rows = svc.search_customers(
        actor=actor,
        **filters.model_dump(exclude={"limit", "offset"}),
    ).prefetch_related("identities", "segments")
    quiet_default = quiet_hours_default()
    return paginate(
        rows,
        limit=filters.limit,
        offset=filters.offset,
        shape=lambda c: shape_customer(c, with_consents=False, quiet_default=quiet_default),
    )


@router.post("/customers", response={201: CustomerOut}, summary="Create a customer")
def create_customer(request: HttpRequest, payload: CustomerIn) -> Status[Any]:
    actor = actor_of(request)
    body = payload.model_dump()
    data = svc.ProfileIn(
        **{k: v for k, v in body.items() if k not in {"identities", "consents"}},
        identities=[svc.IdentityIn(**i) for i in body["identities"]],
        consents=[svc.ConsentIn(**c) for c in body["consents"]],
    )
    customer = svc.create_customer(actor=actor, data=data, source="api")
    return Status(201, shape_customer(svc.get_customer_for(actor, customer.pk)))


@router.get("/customers/{customer_id}", response=CustomerOut, summary="Read one customer")
def read_customer(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    return shape_customer(svc.get_customer_for(actor_of(request), customer_id))


@router.patch("/customers/{customer_id}", response=CustomerOut, summary="Change some fields")
def patch_customer(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> dict[str, Any]:
    actor = actor_of(request)
    customer = svc.get_customer_for(actor, customer_id)
    svc.update_customer(actor=actor, customer=customer, changes=payload.model_dump(exclude_unset=True))
    return shape_customer(svc.get_customer_for(actor, customer_id))


@router.post("/customers/{customer_id}/identities", response={201: IdentityOut}, summary="Add an identity")
def add_identity(request: HttpRequest, customer_id: int, payload: IdentityIn) -> Status[Identity]:
    actor = actor_of(request)
    customer = svc.get_customer_for(actor, customer_id)
    identity = svc.add_identity(
        actor=actor,
        customer=customer,
        kind=payload.kind,
        value=payload.value,
        is_primary=payload.is_primary,
    )
    return Status(201, identity)


@router.delete(
    "/customers/{customer_id}/identities/{identity_id}",
    response={204: None},
    summary="Remove an identity",
)
def remove_identity(request: HttpRequest, customer_id: int, identity_id: int) -> Status[None]:
    actor = actor_of(request)
    customer = svc.get_customer_for(actor, customer_id)
    svc.remove_identity(actor=actor, identity=svc.get_identity_for(actor, customer, identity_id))
    return Status(204, None)


@router.get("/customers/{customer_id}/consents", response=list[ConsentOut], summary="Current consent")
def list_consents(request: HttpRequest, customer_id: int) -> list[Consent]:
    return list(svc.get_customer_for(actor_of(request), customer_id).consents.all())


@router.put(
    "/customers/{customer_id}/consents",
    response=list[ConsentOut],
    summary="Record a consent answer",
)
def put_consent(request: HttpRequest, customer_id: int, payload: ConsentUpdate) -> list[Consent]:
    actor = actor_of(request)
    customer = svc.get_customer_for(actor, customer_id)
    consent_service.record_consent(
        actor=actor,
        customer=customer,
        topic=payload.topic,
        channel=payload.channel,
        status=payload.status,
        source=payload.source,
        note=payload.note,
    )
    # Not customer.consents.all(): that is the list read before the change.
    return consent_service.consents_of(actor, customer)


@router.get(
    "/customers/{customer_id}/consents/history",
    response=Page[ConsentChangeOut],
    summary="Every consent change, newest first",
)
def consent_history(
    request: HttpRequest, customer_id: int, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    customer = svc.get_customer_for(actor_of(request), customer_id)
    rows = customer.consent_history.select_related("actor")
    return paginate(rows, limit=limit, offset=offset, shape=shape_change)


@router.post("/merges", response={201: MergeOut}, summary="Merge two profiles of one person")
def merge(request: HttpRequest, payload: MergeIn) -> Status[Merge]:
    actor = actor_of(request)
    done = merging.merge_customers(
        actor=actor,
        survivor_id=payload.survivor_id,
        absorbed_id=payload.absorbed_id,
        reason=payload.reason,
    )
    return Status(201, done)


@router.post("/merges/{merge_id}/undo", response=MergeOut, summary="Undo a merge")
def undo(request: HttpRequest, merge_id: int) -> Merge:
    return merging.undo_merge(actor=actor_of(request), merge_id=merge_id)


@router.get("/duplicates", response=Page[DuplicateOut], summary="Profiles that look like one person")
def duplicates(
    request: HttpRequest,
    status: Literal["open", "merged", "dismissed"] = "open",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    rows = dedup.list_duplicates_for(actor_of(request), status=status)
    return paginate(rows, limit=limit, offset=offset, shape=lambda d: d)


@router.post("/duplicates/{candidate_id}/dismiss", response=DuplicateOut, summary="Not the same person")
def dismiss_duplicate(request: HttpRequest, candidate_id: int) -> DuplicateCandidate:
    return merging.dismiss_candidate(actor=actor_of(request), candidate_id=candidate_id)


@router.post("/imports", response={202: ImportOut}, summary="Upload a CSV file to import")
def upload_import(request: HttpRequest, file: File[UploadedFile]) -> Status[ImportJob]:
    actor = actor_of(request)
    job = importing.queue_import(actor=actor, file_name=file.name or "upload.csv", content=file.read())
    return Status(202, job)


@router.get("/imports/{job_id}", response=ImportOut, summary="Progress and counts of an import")
def read_import(request: HttpRequest, job_id: int) -> ImportJob:
    return importing.get_import_for(actor_of(request), job_id)


@router.get(
    "/imports/{job_id}/rejections",
    response=Page[RejectionOut],
    summary="Rows an import rejected, and why",
)
def import_rejections(request: HttpRequest, job_id: int, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    job = importing.get_import_for(actor_of(request), job_id)
    return paginate(job.rejections.all(), limit=limit, offset=offset, shape=lambda r: r)


@router.get("/segments", response=list[SegmentOut], summary="Segments in use")
def segments(request: HttpRequest) -> list[Segment]:
    return list(svc.list_segments_for(actor_of(request)))
