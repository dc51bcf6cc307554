"""Incidents: an outage told to exactly the customers it affects, and "fixed" to the same people after.

Declaring an incident commits it together with the job that plans its notices, so a crash between the
two loses nothing. The notice is transactional (frequency caps do not apply), it waits out quiet hours
unless the incident is critical, and it goes only through channels the customer has not refused.
Resolving it cancels notices still waiting (nobody needs to hear of an outage that is over) and plans
"resolved" for everyone who was told.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import override

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock, preferences
from forewarn.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from forewarn.core.vocab import Language, Topic
from forewarn.customers.models import Consent, Customer, Identity
from forewarn.engage.models import Event, Incident, Message, MessageStatus
from forewarn.engage.services.intake import MESSAGE_RECEIVED
from forewarn.engage.services.planning import Draft, current_rules, plan, transactional_intent
from forewarn.engage.services.words import Words

CHUNK = 2000
NOTICE, RESOLVED = "notice", "resolved"
AUDIENCE_KEYS = {"segments", "city", "attributes", "customer_ids"}


@dataclass
class IncidentIn:
    title: str
    audience: dict[str, Any]
    description: str = ""
    area: str = ""
    started_at: datetime | None = None
    critical: bool = False
    notice: dict[str, str] = field(default_factory=dict)
    resolution: dict[str, str] = field(default_factory=dict)


def default_notice(language: str) -> str:
    with override(language):
        return _(
            "{{ customer.first_name }}, we know about a disruption: {{ incident.title }}"
            "{% if incident.area %} ({{ incident.area }}){% endif %}, "
            "since {{ local(incident.since, '%H:%M') }}. "
            "We are working on it and will tell you as soon as it is fixed."
        )


def default_resolution(language: str) -> str:
    with override(language):
        return _(
            "{{ customer.first_name }}, it is fixed: {{ incident.title }}"
            "{% if incident.area %} ({{ incident.area }}){% endif %}. Thank you for your patience."
        )


def _check_audience(audience: Any) -> list[FieldError]:
    if not isinstance(audience, dict) or not audience:
        return [
            FieldError(
                "audience", "required", _("Say who is affected: segments, city, attributes or customer ids.")
            )
        ]
    errors = []
    unknown = set(audience) - AUDIENCE_KEYS
    if unknown:
        errors.append(
            FieldError(
                f"audience.{sorted(unknown)[0]}",
                "unknown_filter",
                _("Filter by one of: %(keys)s.") % {"keys": ", ".join(sorted(AUDIENCE_KEYS))},
            )
        )
    segments = audience.get("segments", [])
    if not isinstance(segments, list) or not all(isinstance(s, str) for s in segments):
        errors.append(FieldError("audience.segments", "not_a_list", _("A list of segment names.")))
    attributes = audience.get("attributes", {})
    if not isinstance(attributes, dict):
        errors.append(FieldError("audience.attributes", "not_an_object", _("An object of attribute values.")))
    ids = audience.get("customer_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        errors.append(FieldError("audience.customer_ids", "not_a_list", _("A list of customer ids.")))
    return errors


def affected_customers(audience: dict[str, Any]) -> QuerySet[Customer]:
    rows = Customer.objects.filter(status=Customer.Status.ACTIVE)
    if audience.get("segments"):
        rows = rows.filter(segments__slug__in=audience["segments"])
    if audience.get("city"):
        rows = rows.filter(city__iexact=audience["city"])
    for key, value in (audience.get("attributes") or {}).items():
        rows = rows.filter(**{f"attributes__{key}": value})
    if audience.get("customer_ids"):
        rows = rows.filter(pk__in=audience["customer_ids"])
    return rows.distinct() if audience.get("segments") else rows


@transaction.atomic
def declare_incident(*, actor: Actor, data: IncidentIn) -> Incident:
    actor.require(Perm.INCIDENTS_MANAGE)
    errors = _check_audience(data.audience)
    if not data.title.strip() or len(data.title) > 200:
        errors.append(FieldError("title", "invalid", _("Say what happened (at most 200 characters).")))
    for kind, texts in (("notice", data.notice), ("resolution", data.resolution)):
        errors.extend(
            FieldError(f"{kind}.{lang}", "language_unknown", _("Use uk, ru or en."))
            for lang in texts
            if lang not in Language.values
        )
    now = clock.now()
    started = data.started_at or now
    if started > now + timedelta(minutes=5):
        errors.append(FieldError("started_at", "in_future", _("An incident cannot start in the future.")))
    if errors:
        raise ValidationFailed(errors)
    incident = Incident.objects.create(
        title=data.title.strip(),
        description=data.description,
        audience=data.audience,
        area=data.area,
        started_at=started,
        critical=data.critical,
        notice={lang: data.notice.get(lang) or default_notice(lang) for lang in Language.values},
        resolution={lang: data.resolution.get(lang) or default_resolution(lang) for lang in Language.values},
        affected_count=affected_customers(data.audience).count(),
        created_by_id=actor.user_id,
        created_at=now,
    )
    from forewarn.engage.tasks import broadcast_incident  # noqa: PLC0415 - tasks import services

    broadcast_incident.enqueue(incident.pk, NOTICE)
    return incident


@transaction.atomic
def resolve_incident(*, actor: Actor, incident: Incident) -> Incident:
    actor.require(Perm.INCIDENTS_MANAGE)
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status == Incident.Status.RESOLVED:
        raise Conflict(_("This incident is resolved already."), code="incident_resolved")
    now = clock.now()
    incident.status, incident.resolved_at = Incident.Status.RESOLVED, now
    incident.save(update_fields=["status", "resolved_at"])
    # Notices that have not gone yet would announce an outage that is over.
    waiting = Message.objects.filter(incident=incident, kind=NOTICE, status=MessageStatus.QUEUED)
    for message in waiting:
        message.status, message.reason = MessageStatus.CANCELLED, "incident_resolved"
        message.trail = [*message.trail, ["incident", "cancel", "incident_resolved", ""]]
        message.save(update_fields=["status", "reason", "trail"])
    from forewarn.engage.tasks import broadcast_incident  # noqa: PLC0415 - tasks import services

    broadcast_incident.enqueue(incident.pk, RESOLVED)
    return incident


def _audience_ids(incident: Incident, kind: str) -> Iterator[list[int]]:
    ids: QuerySet[Any, int]
    if kind == NOTICE:
        ids = affected_customers(incident.audience).order_by("pk").values_list("pk", flat=True)
    else:
        told = (MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED)
        ids = (
            Message.objects.filter(incident=incident, kind=NOTICE, status__in=told)
            .order_by("customer_id")
            .values_list("customer_id", flat=True)
            .distinct()
        )
    chunk: list[int] = []
    for pk in ids.iterator(chunk_size=CHUNK):
        chunk.append(pk)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def broadcast(incident_id: int, kind: str, progress: Callable[[int], None] | None = None) -> int:
    """Plan the incident's notice (or its resolution) for every customer it concerns, chunk by chunk.
    Each chunk commits on its own; re-running skips whoever has the message already (its de-dup key)."""
    incident = Incident.objects.get(pk=incident_id)
    texts = incident.resolution if kind == RESOLVED else incident.notice
    words = Words.per_language(texts)
    rules = current_rules()
    intent = transactional_intent(dedup_key=f"incident:{incident.pk}:{kind}", critical=incident.critical)
    planned = 0
    for ids in _audience_ids(incident, kind):
        # The words are the incident's, written for each customer when the message goes.
        drafts = [
            Draft(customer_id=pk, intent=intent, kind=kind, words=words, context={}, incident_id=incident.pk)
            for pk in ids
        ]
        result = plan(drafts, now=clock.now(), rules=rules)
        planned += len(result.ids)
        if kind == NOTICE:
            Incident.objects.filter(pk=incident.pk).update(planned_count=planned)
        if progress:
            progress(planned)
    return planned


def incident_progress(incident: Incident) -> dict[str, dict[str, int]]:
    """{kind: {status: count}} of the incident's messages."""
    found: dict[str, dict[str, int]] = {NOTICE: {}, RESOLVED: {}}
    for row in Message.objects.filter(incident=incident).values("kind", "status").annotate(n=Count("pk")):
        found.setdefault(row["kind"], {})[row["status"]] = row["n"]
    return found


def list_incidents(actor: Actor, *, status: str = "") -> QuerySet[Incident]:
    actor.require(Perm.ENGAGE_VIEW)
    rows = Incident.objects.all()
    return rows.filter(status=status) if status else rows


# Journey events that are a customer reaching out, on any channel (``intake.MESSAGE_RECEIVED``; before
# every channel took one way in, SMS and messenger replies were ``message_replied``).
INBOUND_EVENT_TYPES = (MESSAGE_RECEIVED, "message_replied")


def incident_contacts(actor: Actor, incident: Incident, limit: int = 50) -> QuerySet[Event]:
    """What affected customers said since the incident began: the contacts it probably caused."""
    actor.require(Perm.ENGAGE_VIEW)
    affected = affected_customers(incident.audience).values("pk")
    until = incident.resolved_at or clock.now()
    return (
        Event.objects.filter(
            type__in=INBOUND_EVENT_TYPES,
            customer_id__in=affected,
            occurred_at__gte=incident.started_at,
            occurred_at__lte=until,
        )
        .select_related("customer")
        .order_by("-occurred_at")[:limit]
    )


def get_incident_for(actor: Actor, incident_id: int) -> Incident:
    actor.require(Perm.ENGAGE_VIEW)
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(_("No incident #%(id)d.") % {"id": incident_id}, code="incident_not_found")
    return incident


# --- call lists ----------------------------------------------------------------------------------------


@dataclass
class CallRow:
    customer_id: int
    name: str
    phone: str
    language: str
    time_zone: str
    window_local: str
    window_utc_start: datetime
    window_utc_end: datetime


def _call_window(zone_name: str, quiet_start: time, quiet_end: time, day: date) -> tuple[datetime, datetime]:
    """The day's calling window in UTC: from the end of the night's quiet hours to their next start."""
    zone = ZoneInfo(zone_name)
    opens = datetime.combine(day, quiet_end if quiet_start != quiet_end else time(0, 0), tzinfo=zone)
    closes_day = day if quiet_start > quiet_end else day + timedelta(days=1)
    closes = datetime.combine(
        closes_day, quiet_start if quiet_start != quiet_end else time(0, 0), tzinfo=zone
    )
    return opens.astimezone(UTC), closes.astimezone(UTC)


def call_list(*, actor: Actor, incident: Incident, topic: str = Topic.SERVICE) -> list[CallRow]:
    """Who may be called about this incident: a valid phone, no refusal of calls on this topic, one row
    per phone number, and the window in which a call is allowed in each person's own zone."""
    actor.require(Perm.INCIDENTS_MANAGE)
    ids = list(affected_customers(incident.audience).values_list("pk", flat=True))
    refused = set(
        Consent.objects.filter(
            customer_id__in=ids, topic=topic, channel="voice", status="denied"
        ).values_list("customer_id", flat=True)
    )
    phones: dict[int, str] = {}
    for cid, value in (
        Identity.objects.filter(customer_id__in=ids, kind="phone")
        .order_by("customer_id", "-is_primary", "id")
        .values_list("customer_id", "value")
    ):
        phones.setdefault(cid, value)
    rows: list[CallRow] = []
    seen: set[str] = set()
    today = clock.now().date()
    default = preferences.quiet_hours_default()
    for customer in Customer.objects.filter(pk__in=[c for c in phones if c not in refused]).order_by("pk"):
        phone = phones[customer.pk]
        if phone in seen:
            continue
        seen.add(phone)
        quiet_start, quiet_end = preferences.quiet_hours_of(
            customer.quiet_hours_start, customer.quiet_hours_end, default
        )
        window = _call_window(customer.time_zone, quiet_start, quiet_end, today)
        rows.append(
            CallRow(
                customer_id=customer.pk,
                name=customer.full_name,
                phone=phone,
                language=customer.language,
                time_zone=customer.time_zone,
                window_local=f"{quiet_end:%H:%M}-{quiet_start:%H:%M}",
                window_utc_start=window[0],
                window_utc_end=window[1],
            )
        )
    return rows


def call_list_csv(rows: list[CallRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "customer_id",
            "name",
            "phone",
            "language",
            "time_zone",
            "call_window_local",
            "call_from_utc",
            "call_until_utc",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r.customer_id,
                r.name,
                r.phone,
                r.language,
                r.time_zone,
                r.window_local,
                r.window_utc_start.isoformat(),
                r.window_utc_end.isoformat(),
            ]
        )
    return out.getvalue()
