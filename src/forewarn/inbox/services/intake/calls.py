"""Phone calls: what a telephony system (a PBX, a cloud call centre, an IVR) reports about a call becomes
an entry of the caller's voice ticket: when and how long, the IVR menu path and its result, whether
someone answered, the transcript (masked), and a link to the recording.

A report is idempotent by the telephony's call id: the same call reported again (a retry, or an update
when the transcript is ready) changes its entry rather than adding one. The caller is found by phone
number or becomes a customer with it. A missed or abandoned call opens (or reopens) the ticket so that
somebody calls back; the SLA clocks run as for any channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.channels.inbound import Inbound, Sender
from forewarn.core import clock
from forewarn.core.errors import FieldError, ValidationFailed
from forewarn.core.vocab import Channel
from forewarn.customers import normalize as norm
from forewarn.customers.models import Customer
from forewarn.engage.services import intake
from forewarn.engage.services.intake import Filed
from forewarn.inbox.models import Entry, Ticket, TicketStatus
from forewarn.inbox.services import sla
from forewarn.inbox.services.intake.inbound import open_ticket, record_inbound
from forewarn.privacy.services.protect import mask_text, store_values

OUTCOMES = ("answered", "missed", "abandoned", "voicemail", "self_served")
REOPEN_FOR = (TicketStatus.SOLVED, TicketStatus.CLOSED)


@dataclass(frozen=True)
class CallIn:
    call_id: str
    caller: str  # the number that called
    started_at: datetime
    outcome: str
    duration_seconds: int = 0
    ivr_path: list[str] = field(default_factory=list)  # the menu choices, in order: ["2", "1"]
    ivr_result: str = ""  # what the IVR made of them: "billing", "outage_report"
    transcript: str = ""
    recording_url: str = ""
    language: str = ""


@dataclass
class CallRecorded:
    status: str  # created, updated
    ticket_id: int
    entry_id: int


def _check(call: CallIn) -> str:
    errors = []
    if not call.call_id.strip():
        errors.append(FieldError("call_id", "required", _("The telephony's id of the call is needed.")))
    if call.outcome not in OUTCOMES:
        errors.append(FieldError("outcome", "invalid", _("Use one of: %(v)s.") % {"v": ", ".join(OUTCOMES)}))
    if call.started_at.tzinfo is None:
        errors.append(FieldError("started_at", "naive", _("Give the time with its offset or in UTC.")))
    if call.recording_url and not call.recording_url.startswith(("https://", "http://")):
        errors.append(FieldError("recording_url", "invalid", _("A recording is linked by an http(s) URL.")))
    phone = ""
    try:
        phone = norm.normalize_phone(call.caller, path="caller")
    except ValidationFailed as exc:
        errors.extend(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    return phone


def _summary(call: CallIn) -> str:
    parts = [_("Call: %(outcome)s, %(s)s s") % {"outcome": call.outcome, "s": call.duration_seconds}]
    if call.ivr_path:
        parts.append(_("menu %(path)s") % {"path": " › ".join(call.ivr_path)})
    if call.ivr_result:
        parts.append(_("result: %(r)s") % {"r": call.ivr_result})
    head = "; ".join(parts)
    lines = [head]
    if call.transcript.strip():
        lines.append(call.transcript.strip())
    if call.recording_url:
        lines.append(_("Recording: %(url)s") % {"url": call.recording_url})
    return "\n".join(lines)


def record_call(*, actor: Actor, call: CallIn) -> CallRecorded:
    actor.require(Perm.EVENTS_SEND)
    phone = _check(call)
    provider_id = f"call:{call.call_id.strip()[:200]}"
    inbound = Inbound(
        channel=Channel.VOICE,
        provider="telephony",
        provider_message_id=provider_id,
        identities=(("phone", phone),),
        sender=Sender(language=call.language),
        text=_summary(call),
        subject=call.ivr_result,
        address=phone,
        occurred_at=call.started_at,
        details={"outcome": call.outcome},
    )
    try:
        filed = intake.take_in(inbound).filed
    except IntegrityError:  # the same report, stored a moment ago by another request
        entry = Entry.objects.get(channel=Channel.VOICE, provider_id=provider_id)
        return CallRecorded("updated", entry.ticket_id, entry.pk)
    assert filed is not None  # the inbox files every call (file_call)
    assert filed.ticket_id is not None
    assert filed.entry_id is not None
    return CallRecorded(filed.status, filed.ticket_id, filed.entry_id)


def file_call(customer: Customer, inbound: Inbound) -> Filed:
    """A call joins the caller's voice ticket that is not closed (or opens one); the same call reported
    again updates its entry."""
    now = clock.now()
    existing = (
        Entry.objects.select_for_update()
        .filter(channel=Channel.VOICE, provider_id=inbound.provider_message_id)
        .first()
    )
    if existing is not None:  # the same call again, perhaps with its transcript now
        masked, hidden = mask_text(inbound.text, "text")
        if masked != existing.text:
            existing.text = masked
            existing.save(update_fields=["text"])
            store_values([("inbox.entry", existing.pk, existing.ticket.customer_id, hidden)])
        return Filed("updated", existing.ticket_id, existing.pk)
    ticket = (
        Ticket.objects.select_for_update()
        .filter(customer=customer, channel=Channel.VOICE)
        .exclude(status=TicketStatus.CLOSED)
        .order_by("-updated_at")
        .first()
    )
    if ticket is None:
        ticket = open_ticket(customer, Channel.VOICE, inbound.subject or _("Phone call"), now)
    entry = record_inbound(
        ticket,
        channel=Channel.VOICE,
        text=inbound.text,
        provider_id=inbound.provider_message_id,
        address=inbound.address,
        at=inbound.occurred_at,
        now=now,
    )
    if inbound.details.get("outcome") in {"answered", "self_served"}:
        # Someone (or the IVR) handled it on the phone: that was the answer, nothing waits.
        ticket.last_answer_at = now
        fields = ["last_answer_at", *sla.answered(ticket, now)]
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            fields.append("first_response_at")
        ticket.save(update_fields=sorted(set(fields)))
    return Filed("created", ticket.pk, entry.pk)
