"""Answers to what a customer wrote: the same planned, reliable path as every outbound message.

An answer is a transactional message with its words written already (``words.ANSWER_KIND``). It goes
on the channel the customer wrote on and to the address they wrote from, never falls back to another
channel, and is not held for quiet hours or counted against caps: the customer is waiting for it. The
contact policy still has its say on what a customer has refused outright (a global unsubscribe from
everything, a suppressed address), and the trail shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from forewarn.core.errors import Conflict, ValidationFailed
from forewarn.core.vocab import Channel, label_of
from forewarn.customers.services.reach import addresses_of
from forewarn.engage.models import Message, MessageStatus, Variant
from forewarn.engage.services.planning import Draft, plan, transactional_intent
from forewarn.engage.services.words import ANSWER_KIND, Words

# Answers outrank every journey message that could collide with them in the same minute.
ANSWER_PRIORITY = 95
# The channels an answer can be sent again on, when the one the customer wrote on fails.
ANSWER_CHANNELS = ("email", "sms", "telegram", "viber")


@dataclass(frozen=True)
class AnswerIn:
    customer_id: int
    channel: str
    subject: str
    body: str  # as stored: personal values masked
    language: str = ""
    # Where the customer wrote from; empty: their primary address on the channel.
    address: str = ""
    # An email's In-Reply-To and References, so mail clients thread the answer under the question.
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    # What makes a second call for the same answer (a retried request) plan nothing new.
    key: str = ""


def queue_answer(answer: AnswerIn, *, now: datetime) -> Message | None:
    """Plan one answer; the outbox sends it. Returns the message (suppressed, with its reason, if the
    policy stopped it), or None for a customer who cannot be written to at all (erased, merged away)."""
    words = Words(
        {(Variant.STANDARD, answer.channel, answer.language or "en"): (answer.subject, answer.body)}
    )
    context: dict[str, object] = {
        "answer": {"subject": answer.subject, "body": answer.body, "language": answer.language}
    }
    if answer.in_reply_to:
        context["thread"] = {"in_reply_to": answer.in_reply_to, "references": answer.references[-20:]}
    intent = transactional_intent(
        dedup_key=f"answer:{answer.key}" if answer.key else "", critical=True, priority=ANSWER_PRIORITY
    )
    draft = Draft(
        customer_id=answer.customer_id,
        intent=intent,
        kind=ANSWER_KIND,
        words=words,
        context=context,
        address=answer.address,
    )
    result = plan([draft], now=now)
    return Message.objects.filter(pk__in=result.ids[:1]).first()


# The states of an answer that could not go: offered to be sent again, on its channel or another.
STUCK = frozenset({"failed", "retrying"})


@dataclass(frozen=True)
class Delivery:
    """Where an answer stands, for the agent who wrote it: its state, why, and what can be done."""

    state: str  # queued, retrying, sending, sent, delivered, failed, suppressed, …
    label: str
    reason: str = ""  # the outbox's or the provider's words ("twilio could not be reached")
    retry_at: datetime | None = None
    fell_back_from: str = ""  # the channel it left for the one it is on, in words
    attempts: int = 0
    # Channels it can be sent on instead (the customer has an address there): (code, name in words).
    other_channels: tuple[tuple[str, str], ...] = ()

    @property
    def can_retry(self) -> bool:
        return self.state in STUCK


def is_stuck(message: Message) -> bool:
    """Whether an answer could not go: it failed, or it waits to be tried again after a failure."""
    return message.status == MessageStatus.FAILED or (
        message.status == MessageStatus.QUEUED and message.attempts > 0 and bool(message.error)
    )


def delivery_of(message: Message, addresses: dict[str, str] | None = None) -> Delivery:
    """What the agent is told of an answer on its way: a queued answer that failed once says when it is
    tried again and why; a failed one says why, and on which other channels it can go."""
    retrying = is_stuck(message) and message.status == MessageStatus.QUEUED
    state = "retrying" if retrying else message.status
    label = _("Retrying") if retrying else message.get_status_display()
    fell_back = any(step == "fallback" for step, *_rest in message.trail)
    others: tuple[tuple[str, str], ...] = ()
    if is_stuck(message):  # only an answer that could not go is offered another channel: no read otherwise
        if addresses is None:
            addresses = addresses_of([message.customer_id]).get(message.customer_id, {})
        others = tuple(
            (ch, label_of(Channel, ch)) for ch in ANSWER_CHANNELS if ch in addresses and ch != message.channel
        )
    return Delivery(
        state=state,
        label=str(label),
        reason=message.error or (message.reason_text if state in {"failed", "suppressed"} else ""),
        retry_at=message.send_after if retrying else None,
        fell_back_from=label_of(Channel, _first_channel(message)) if fell_back else "",
        attempts=message.attempts,
        other_channels=others,
    )


def _first_channel(message: Message) -> str:
    for step, _outcome, _reason, detail in message.trail:
        if step == "channel" and detail:
            return str(detail)
    return ""


def retry_answer(message: Message, *, now: datetime, by: str, channel: str = "") -> Message:
    """Send a failed answer (or one waiting to be tried again) now, on its channel or on ``channel``
    (to the customer's address there): a fresh set of attempts, the step in its trail. A Conflict for an
    answer that is not stuck, a field error for a channel the customer cannot be reached on."""
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if locked.kind != ANSWER_KIND or not is_stuck(locked):
        raise Conflict(_("Only an answer that could not be sent can be sent again."), code="not_stuck")
    changes: dict[str, object] = {}
    if channel and channel != locked.channel:
        address = addresses_of([locked.customer_id]).get(locked.customer_id, {}).get(channel)
        if channel not in ANSWER_CHANNELS or not address:
            raise ValidationFailed.single(
                "channel", "unreachable", _("The customer cannot be reached on this channel.")
            )
        changes = {"channel": channel, "address": address, "fallbacks": []}
    step = ["resend", "by_hand", "", f"{by} → {channel}"] if changes else ["retry", "by_hand", "", by]
    for name, value in {
        **changes,
        "status": MessageStatus.QUEUED,
        "reason": "retry_by_hand",
        "error": "",
        "attempts": 0,
        "send_after": now,
        "lease_until": None,
        "trail": [*locked.trail, step],
    }.items():
        setattr(locked, name, value)
    locked.save()
    return locked
