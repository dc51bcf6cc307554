"""The message log: every decision and message, as staff read it, the customer's own included."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core.errors import NotFound
from forewarn.customers.models import Customer
from forewarn.engage.models import Message, MessageStatus
from forewarn.engage.services.words import compose


def message_log(
    *,
    actor: Actor,
    customer_id: int | None = None,
    status: str = "",
    channel: str = "",
    topic: str = "",
    kind: str = "",
    reason: str = "",
    incident_id: int | None = None,
    trigger_id: int | None = None,
) -> QuerySet[Message]:
    actor.require(Perm.ENGAGE_VIEW)
    rows = Message.objects.all()
    filters = {
        "customer_id": customer_id,
        "status": status,
        "channel": channel,
        "topic": topic,
        "kind": kind,
        "reason": reason,
        "incident_id": incident_id,
        "trigger_id": trigger_id,
    }
    return rows.filter(**{k: v for k, v in filters.items() if v not in (None, "")}).order_by(
        "-planned_at", "-id"
    )


def get_message_for(actor: Actor, message_id: int) -> Message:
    actor.require(Perm.ENGAGE_VIEW)
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("No message #%(id)d.") % {"id": message_id}, code="message_not_found")
    return message


def customer_messages(actor: Actor, customer: Customer, limit: int = 50) -> list[Message]:
    """What Forewarn decided for this customer lately: sent, deferred and suppressed, with reasons."""
    actor.require(Perm.ENGAGE_VIEW)
    rows = list(
        Message.objects.filter(customer=customer)
        .select_related("trigger", "incident", "customer")
        .prefetch_related("trigger__templates")
        .order_by("-planned_at", "-id")[:limit]
    )
    for message in rows:
        # Words are written when a message goes; until then, show what they would say now.
        if not message.body and message.status == MessageStatus.QUEUED and message.channel:
            written = compose(message)
            if written is not None:  # shown, never saved: the sender writes them again when it goes
                message.language = written.language
                message.subject, message.body = written.kept_subject, written.kept_body
    return rows
