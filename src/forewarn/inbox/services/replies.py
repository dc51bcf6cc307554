"""Staff answers and notes in a ticket.

An answer goes back on the channel the customer used: in a web chat the visitor's widget receives it;
on email, SMS, Telegram and Viber it is planned as a transactional message and sent by the engage
outbox (``engage.services.answers``), to the address the customer last wrote from, an email answer
threaded under their message (``In-Reply-To``/``References``) with the ticket's token in its subject.
A phone call's ticket takes notes only: the answer is a call.

Two people answering the same ticket at once are warned: an answer written while someone else's answer
arrived is refused with ``collision`` unless its author confirms it.

An answer is as long as its channel takes (an SMS at most ten parts, Telegram 4,096 characters...: see
``core.lengths``) and a note at most 20,000 characters, checked on the words as typed and again on the
words as they are stored and sent (a mask can be longer than the value it hides); a longer one is refused
whole, never cut.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.accounts.roles import Perm
from forewarn.core import clock, lengths
from forewarn.core.errors import Conflict, ValidationFailed
from forewarn.core.vocab import Channel
from forewarn.engage.services.answers import AnswerIn, queue_answer
from forewarn.inbox.models import Entry, EntryKind, Ticket, TicketEvent, TicketStatus
from forewarn.inbox.services import sla
from forewarn.privacy.services.protect import mask_text, store_values

ANSWERED_BY_CHAT = {Channel.WEBCHAT}
ANSWERED_BY_OUTBOX = {Channel.EMAIL, Channel.SMS, Channel.TELEGRAM, Channel.VIBER}


def may_answer(ticket: Ticket) -> bool:
    return ticket.channel in ANSWERED_BY_CHAT | ANSWERED_BY_OUTBOX


def email_subject(ticket: Ticket) -> str:
    """``Re: <subject> [#id]``: the token threads the customer's answer even if their client drops the
    headers."""
    subject = ticket.subject or _("Your request")
    if not subject.lower().startswith(("re:", "на:", "ответ:")):
        subject = f"Re: {subject}"
    return f"{subject} [#{ticket.pk}]"


def add_entry(
    *,
    actor: Actor,
    ticket: Ticket,
    text: str,
    note: bool = False,
    seen_up_to: int | None = None,
    confirmed: bool = False,
) -> Entry:
    """Add an answer or a note. ``seen_up_to`` is the last entry its author saw: a newer answer by
    someone else refuses this one (``collision``) unless ``confirmed``."""
    actor.require(Perm.TICKETS_ANSWER)
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationFailed.single("text", "required", _("Write the answer first."))
    if not note and not may_answer(ticket):
        raise Conflict(
            _("A phone call is answered by calling back; add a note."), code="channel_not_answerable"
        )
    _check_length(text, ticket, note=note)
    masked, hidden = mask_text(text, "text")
    _check_length(masked, ticket, note=note)
    now = clock.now()
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("sla_policy__calendar")
            .get(pk=ticket.pk)
        )
        if not note and seen_up_to is not None and not confirmed:
            newer = (
                Entry.objects.filter(ticket=ticket, kind=EntryKind.OUTBOUND, pk__gt=seen_up_to)
                .exclude(author_id=actor.user_id)
                .select_related("author")
                .first()
            )
            if newer is not None:
                raise Conflict(
                    _("%(name)s answered while you were writing. Read it, then send yours if it still fits.")
                    % {"name": str(newer.author or _("Someone"))},
                    code="collision",
                )
        entry = Entry.objects.create(
            ticket=ticket,
            kind=EntryKind.NOTE if note else EntryKind.OUTBOUND,
            channel=ticket.channel,
            author_id=actor.user_id,
            text=masked,
            created_at=now,
        )
        store_values([("inbox.entry", entry.pk, ticket.customer_id, hidden)])
        _mention(ticket, entry, actor, now)
        fields = ["updated_at"]
        ticket.updated_at = now
        if not note:
            if ticket.channel in ANSWERED_BY_OUTBOX:
                _send(ticket, entry, now)
            ticket.last_answer_at = now
            fields += ["last_answer_at", *sla.answered(ticket, now)]
            if ticket.first_response_at is None:
                ticket.first_response_at = now
                fields.append("first_response_at")
            if ticket.status == TicketStatus.NEW:
                old, ticket.status = ticket.status, TicketStatus.OPEN
                fields += ["status", *sla.status_changed(ticket, old, now)]
        ticket.save(update_fields=sorted(set(fields)))
    return entry


def _check_length(text: str, ticket: Ticket, *, note: bool) -> None:
    refused = lengths.refusal(text, channel=ticket.channel, note=note)
    if refused is not None:
        raise ValidationFailed([refused], refused.message)


def sms_parts(entry: Entry) -> int | None:
    """The parts an answer by SMS took (its stored words are the ones sent); None for anything else."""
    if entry.channel != Channel.SMS or entry.kind != EntryKind.OUTBOUND:
        return None
    return lengths.sms(entry.text).parts


def _send(ticket: Ticket, entry: Entry, now: datetime) -> None:
    """Plan the answer in the outbox, on the ticket's channel, to where the customer last wrote from."""
    last = (
        Entry.objects.filter(ticket=ticket, kind=EntryKind.INBOUND, channel=ticket.channel)
        .order_by("-created_at", "-pk")
        .first()
    )
    is_email = ticket.channel == Channel.EMAIL
    in_reply_to = last.provider_id if is_email and last and last.provider_id.startswith("<") else ""
    message = queue_answer(
        AnswerIn(
            customer_id=ticket.customer_id,
            channel=ticket.channel,
            subject=email_subject(ticket) if is_email else "",
            body=entry.text,
            language=ticket.language or ticket.customer.language,
            address=last.address if last else "",
            in_reply_to=in_reply_to,
            references=_references(last, in_reply_to),
            key=f"entry:{entry.pk}",
        ),
        now=now,
    )
    if message is not None:
        entry.message = message
        entry.address = message.address
        entry.save(update_fields=["message", "address"])


def _references(last: Entry | None, in_reply_to: str) -> list[str]:
    """The thread so far, oldest first, ending with the message answered (stored newest first)."""
    if not in_reply_to or last is None:
        return []
    return list(dict.fromkeys([*reversed(last.references), in_reply_to]))


MENTION_RE = re.compile(r"(?<![\w@])@([\w.-]{2,150})")


def _mention(ticket: Ticket, entry: Entry, actor: Actor, now: datetime) -> None:
    """``@olena`` in a note or an answer tells Olena: the ticket shows in her "Mentioned" view."""
    names = {m.rstrip(".") for m in MENTION_RE.findall(entry.text)}
    if not names:
        return
    people = User.objects.filter(username__in=names, is_active=True).exclude(pk=actor.user_id or 0)
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket=ticket,
            kind=TicketEvent.Kind.MENTIONED,
            actor_id=actor.user_id,
            data={"user": person.pk, "entry": entry.pk},
            at=now,
        )
        for person in people
    )
