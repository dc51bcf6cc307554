"""Events in: validate, find the customer, store once, and hand them on to the triggers.

An event's ``(source, id)`` is its idempotency key: sent twice, it is stored and acted on once. A batch is
taken as a whole where it can be: every good event is stored and acted on, every bad one is reported
with its index and reason, and one bad event never costs the others. Files of events (JSON lines, CSV)
come in the same way, a thousand at a time. The stored events are acted on by a job enqueued with them
(``events.process_stored_events``).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.core.bulk import Rows
from forewarn.core.errors import FieldError, ServiceError, ValidationFailed
from forewarn.customers import normalize as norm
from forewarn.customers.models import Customer, Identity
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, create_customer
from forewarn.engage.models import Event, EventSource, UnknownCustomer
from forewarn.privacy.services.protect import Hidden, mask_payload, store_values

MAX_BATCH = 1000
# How a customer may be named in an event: any identity, the external (CRM) id, or Forewarn's own id.
REFERENCE_KINDS = ("customer_id", "external_id", "phone", "email", "telegram", "viber")
# An event this far in the future is a clock or unit mistake, not a plan.
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass
class EventIn:
    source: str
    id: str
    type: str
    customer: dict[str, Any]
    payload: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None


@dataclass
class EventOutcome:
    index: int
    status: str  # "accepted" | "duplicate" | "rejected"
    event_id: int | None = None
    error: dict[str, Any] | None = None


@dataclass
class IngestResult:
    outcomes: list[EventOutcome]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


class Rejected(ServiceError):
    status = 422


def _reject(code: str, message: str, path: str = "") -> Rejected:
    return Rejected(message, code=code, fields=[FieldError(path, code, message)] if path else [])


def _check(item: EventIn, now: datetime) -> None:
    errors: list[FieldError] = []
    if not item.source or len(item.source) > 64:
        errors.append(FieldError("source", "invalid", _("Name the source system (at most 64 characters).")))
    if not item.id or len(item.id) > 128:
        errors.append(
            FieldError("id", "invalid", _("Give the event's id in its source (at most 128 characters)."))
        )
    if not item.type or len(item.type) > 64:
        errors.append(FieldError("type", "invalid", _("Give the event type (at most 64 characters).")))
    if not isinstance(item.payload, dict):
        errors.append(FieldError("payload", "not_an_object", _("The payload must be an object.")))
    known = [k for k in item.customer if k in REFERENCE_KINDS]
    unknown = [k for k in item.customer if k not in REFERENCE_KINDS]
    if unknown:
        errors.append(
            FieldError(
                f"customer.{unknown[0]}",
                "unknown_reference",
                _("A customer is named by one of: %(kinds)s.") % {"kinds": ", ".join(REFERENCE_KINDS)},
            )
        )
    elif not known:
        errors.append(
            FieldError("customer", "required", _('Name the customer (such as {"phone": "+380…"}).'))
        )
    if item.occurred_at is not None and item.occurred_at > now + FUTURE_TOLERANCE:
        errors.append(
            FieldError("occurred_at", "in_future", _("The event cannot have happened in the future."))
        )
    if errors:
        raise ValidationFailed(errors)


def _normalised_references(item: EventIn) -> list[tuple[str, str]]:
    refs = []
    for kind in REFERENCE_KINDS:
        raw = item.customer.get(kind)
        if raw in (None, ""):
            continue
        path = f"customer.{kind}"
        if kind == "customer_id":
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise ValidationFailed.single(path, "not_an_id", _("Must be a whole number."))
            refs.append((kind, str(raw)))
            continue
        if not isinstance(raw, str):
            raise ValidationFailed.single(path, "not_text", _("Must be text."))
        identity_kind = "external" if kind == "external_id" else kind
        refs.append((identity_kind, norm.normalize_identity(identity_kind, raw, path=path)))
    return refs


class _Resolver:
    """Finds customers by reference for a whole batch with one query per kind."""

    def __init__(self, items: list[tuple[int, list[tuple[str, str]]]]) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        for _i, refs in items:
            for kind, value in refs:
                wanted[kind].add(value)
        self.found: dict[tuple[str, str], int] = {}
        condition = Q()
        for kind, values in wanted.items():
            if kind != "customer_id":
                condition |= Q(kind=kind, value__in=values)
        if condition:
            for kind, value, cid in Identity.objects.filter(condition).values_list(
                "kind", "value", "customer_id"
            ):
                self.found[(kind, value)] = cid
        ids = {int(v) for v in wanted.get("customer_id", ())} | set(self.found.values())
        self.active: dict[int, int] = {}
        for pk, status, merged_into in Customer.objects.filter(pk__in=ids).values_list(
            "pk", "status", "merged_into_id"
        ):
            # An event about a merged profile belongs to the profile it was merged into.
            self.active[pk] = merged_into if status == Customer.Status.MERGED and merged_into else pk

    def customer_for(self, refs: list[tuple[str, str]]) -> int | None:
        for kind, value in refs:
            cid = int(value) if kind == "customer_id" else self.found.get((kind, value))
            if cid is not None and cid in self.active:
                return self.active[cid]
        return None


def _source(slug: str, now: datetime, cache: dict[str, EventSource]) -> EventSource:
    if slug not in cache:
        cache[slug], _created = EventSource.objects.get_or_create(slug=slug, defaults={"created_at": now})
    return cache[slug]


def _new_customer(refs: list[tuple[str, str]], source: str) -> int:
    identities = [IdentityIn(kind=kind, value=value) for kind, value in refs if kind != "customer_id"]
    if not identities:
        raise _reject(
            "unknown_customer", _("No customer has this id, and an id alone cannot create one."), "customer"
        )
    customer = create_customer(
        actor=Actor.machine(f"events:{source}", Perm.CUSTOMERS_EDIT),
        data=ProfileIn(identities=identities),
        source=source,
    )
    return customer.pk


def ingest_events(*, actor: Actor, items: list[EventIn]) -> IngestResult:
    """Store new events and act on them; report duplicates and rejections per item."""
    actor.require(Perm.EVENTS_SEND)
    if len(items) > MAX_BATCH:
        raise ValidationFailed.single(
            "events", "too_many", _("At most %(n)d events in one batch.") % {"n": MAX_BATCH}
        )
    now = clock.now()
    outcomes: list[EventOutcome] = [EventOutcome(i, "accepted") for i in range(len(items))]
    checked: list[tuple[int, list[tuple[str, str]]]] = []
    for i, item in enumerate(items):
        try:
            _check(item, now)
            checked.append((i, _normalised_references(item)))
        except ServiceError as exc:
            outcomes[i].status, outcomes[i].error = "rejected", exc.as_dict()["error"]
    keys = {(items[i].source, items[i].id) for i, _refs in checked}
    seen = set(
        Event.objects.filter(
            source__in={s for s, _x in keys}, external_id__in={x for _s, x in keys}
        ).values_list("source", "external_id")
    )
    fresh: list[tuple[int, list[tuple[str, str]]]] = []
    in_batch: set[tuple[str, str]] = set()
    for i, refs in checked:
        key = (items[i].source, items[i].id)
        if key in seen or key in in_batch:
            outcomes[i].status = "duplicate"
        else:
            in_batch.add(key)
            fresh.append((i, refs))
    if fresh:
        _store_and_act(items, fresh, outcomes, now)
    return IngestResult(outcomes)


# What a new event's row holds, in the order ``_store_and_act`` writes it.
EVENT_COLUMNS = ["source", "external_id", "type", "occurred_at", "received_at", "customer", "payload"]


def _store_and_act(
    items: list[EventIn],
    fresh: list[tuple[int, list[tuple[str, str]]]],
    outcomes: list[EventOutcome],
    now: datetime,
) -> None:
    resolver = _Resolver(fresh)
    sources: dict[str, EventSource] = {}
    rows: list[tuple[int, Event]] = []
    hidden: dict[int, list[Hidden]] = {}
    with transaction.atomic():
        for i, refs in fresh:
            item = items[i]
            customer_id = resolver.customer_for(refs)
            if customer_id is None:
                source = _source(item.source, now, sources)
                if source.unknown_customer != UnknownCustomer.CREATE:
                    outcomes[i].status = "rejected"
                    outcomes[i].error = _reject(
                        "unknown_customer",
                        _("No customer matches %(ref)s; this source is set to reject unknown customers.")
                        % {"ref": ", ".join(f"{k}={v}" for k, v in refs)},
                        "customer",
                    ).as_dict()["error"]
                    continue
                try:
                    with transaction.atomic():
                        customer_id = _new_customer(refs, item.source)
                except ServiceError as exc:
                    outcomes[i].status, outcomes[i].error = "rejected", exc.as_dict()["error"]
                    continue
                for ref in refs:
                    resolver.found[ref] = customer_id
                resolver.active[customer_id] = customer_id
            # Personal values in the payload are masked before it is stored (privacy.services.protect).
            payload, hidden[i] = mask_payload(item.payload)
            rows.append(
                (
                    i,
                    Event(
                        source=item.source,
                        external_id=item.id,
                        type=item.type,
                        occurred_at=item.occurred_at or now,
                        received_at=now,
                        customer_id=customer_id,
                        payload=payload,
                    ),
                )
            )
        try:
            with transaction.atomic():
                values = [
                    (e.source, e.external_id, e.type, e.occurred_at, e.received_at, e.customer_id, e.payload)
                    for _i, e in rows
                ]
                ids = Rows(Event, EVENT_COLUMNS).insert_returning_pks(values)
            for (_i, event), pk in zip(rows, ids, strict=True):
                event.pk = pk
            stored = rows
        except IntegrityError:
            # Another request stored some of these at the same moment: take them one at a time.
            stored = []
            for i, event in rows:
                try:
                    with transaction.atomic():
                        event.save(force_insert=True)
                    stored.append((i, event))
                except IntegrityError:
                    outcomes[i].status = "duplicate"
        for i, event in stored:
            outcomes[i].event_id = event.pk
        store_values(("engage.event", e.pk, e.customer_id, hidden[i]) for i, e in stored if hidden[i])
        if stored:
            # The job commits with the events: none is lost, and the answer does not wait for the triggers.
            from forewarn.engage.tasks import process_events  # noqa: PLC0415 - tasks import services

            process_events.enqueue([e.pk for _i, e in stored])


def read_event_file(path: Path) -> Iterator[tuple[int, EventIn | ServiceError]]:
    """Events from JSON lines (one event object a line) or CSV (columns ``source, id, type, occurred_at``,
    ``customer.<kind>`` and ``payload.<key>``), with their line numbers; a line that cannot be read comes
    back as the error that says why."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if path.suffix.lower() in {".jsonl", ".ndjson", ".json"}:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, _event_from_json(line)
            return
        reader = csv.DictReader(handle)
        for row in reader:
            yield reader.line_num, _event_from_row(row)


def _event(
    fields: dict[str, Any], customer: dict[str, Any], payload: dict[str, Any]
) -> EventIn | ServiceError:
    """An event read from a file, or why it cannot be: its time must be ISO 8601 with an offset."""
    raw = fields.get("occurred_at")
    occurred_at = None
    if raw not in (None, ""):
        try:
            occurred_at = datetime.fromisoformat(str(raw))
        except ValueError:
            return ValidationFailed.single(
                "occurred_at", "datetime_parsing", _("Not a date and time (ISO 8601).")
            )
        if occurred_at.tzinfo is None:
            return ValidationFailed.single("occurred_at", "timezone_aware", _("Include the offset from UTC."))
    return EventIn(
        source=str(fields.get("source") or ""),
        id=str(fields.get("id") or ""),
        type=str(fields.get("type") or ""),
        customer=customer,
        payload=payload,
        occurred_at=occurred_at,
    )


def _event_from_json(line: str) -> EventIn | ServiceError:
    try:
        data = json.loads(line)
    except ValueError:
        return ValidationFailed.single("", "not_json", _("This line is not a JSON object."))
    if not isinstance(data, dict):
        return ValidationFailed.single("", "not_an_object", _("This line is not a JSON object."))
    customer, payload = data.get("customer", {}), data.get("payload", {})
    for name, value in (("customer", customer), ("payload", payload)):
        if not isinstance(value, dict):
            return ValidationFailed.single(name, "not_an_object", _("Must be an object."))
    return _event(data, customer, payload)


def _event_from_row(row: dict[str, str]) -> EventIn | ServiceError:
    customer: dict[str, Any] = {
        k.removeprefix("customer."): v for k, v in row.items() if k.startswith("customer.") and v
    }
    if "customer_id" in customer:
        if not customer["customer_id"].isdigit():
            return ValidationFailed.single("customer.customer_id", "not_an_id", _("Must be a whole number."))
        customer["customer_id"] = int(customer["customer_id"])
    payload = {k.removeprefix("payload."): v for k, v in row.items() if k.startswith("payload.") and v != ""}
    return _event(row, customer, payload)


def _why(code: str, fields: list[FieldError], message: str) -> tuple[str, str]:
    """A rejection as a code and a sentence: the first field's code, each field's path and reason."""
    if not fields:
        return code, message
    text = "; ".join(f"{f.path}: {f.message}" if f.path else f.message for f in fields)
    return fields[0].code, text


@dataclass
class FileResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, code, message)


def import_event_file(
    *, actor: Actor, path: Path, progress: Callable[[int], None] | None = None
) -> FileResult:
    """Send a file of events through the same path as the API, a thousand at a time."""
    actor.require(Perm.EVENTS_SEND)
    result = FileResult()
    batch: list[tuple[int, EventIn]] = []

    def flush() -> None:
        outcome = ingest_events(actor=actor, items=[e for _n, e in batch])
        for (line, _event), item in zip(batch, outcome.outcomes, strict=True):
            if item.status == "accepted":
                result.accepted += 1
            elif item.status == "duplicate":
                result.duplicates += 1
            else:
                error = item.error or {}
                fields = [FieldError(f["path"], f["code"], f["message"]) for f in error.get("fields", [])]
                code, text = _why(str(error.get("code", "")), fields, str(error.get("message", "")))
                result.rejected.append((line, code, text))
        batch.clear()
        if progress:
            progress(result.accepted + result.duplicates + len(result.rejected))

    for line, parsed in read_event_file(path):
        if isinstance(parsed, ServiceError):
            result.rejected.append((line, *_why(parsed.code, parsed.fields, parsed.message)))
            continue
        batch.append((line, parsed))
        if len(batch) == MAX_BATCH:
            flush()
    if batch:
        flush()
    return result
