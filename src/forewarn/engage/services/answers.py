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

from forewarn.engage.models import Message, Variant
from forewarn.engage.services.planning import Draft, plan, transactional_intent
from forewarn.engage.services.words import ANSWER_KIND, Words

# Answers outrank every journey message that could collide with them in the same minute.
ANSWER_PRIORITY = 95


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
