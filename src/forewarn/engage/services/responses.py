"""Where the world answers back: delivery receipts, replies and opt-outs from providers (replies take the
one way in, ``intake.take_in``), and the unsubscribe link in every message; each changes what the
policy will allow at once."""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.channels.callbacks import CallbackEvent, is_opt_out
from forewarn.channels.inbound import Inbound
from forewarn.core import clock, preferences
from forewarn.core.errors import NotFound
from forewarn.core.vocab import Topic
from forewarn.customers.models import Customer
from forewarn.customers.services.consent import apply_consents
from forewarn.customers.services.identify import find_customer, identities_of, identity_of_channel
from forewarn.customers.services.profiles import ConsentIn
from forewarn.engage.models import Message, MessageStatus, Suppression, SuppressionScope
from forewarn.engage.services import intake

UNSUBSCRIBE_SALT = "forewarn.unsubscribe"


def unsubscribe_token(message: Message) -> str:
    return signing.dumps({"m": message.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def message_for_unsubscribe(token: str) -> Message:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature as exc:
        raise NotFound(_("This unsubscribe link is not valid."), code="link_invalid") from exc
    message = Message.objects.select_related("customer").filter(pk=data.get("m")).first()
    if message is None:
        raise NotFound(_("This unsubscribe link is not valid."), code="link_invalid")
    return message


@transaction.atomic
def unsubscribe(*, message: Message, everything: bool = False) -> None:
    """The customer followed the link in a message: no more of its topic on its channel (or, if asked,
    nothing but transactional notices anywhere). Takes effect for messages already queued too."""
    customer = message.customer
    actor = Actor.machine("unsubscribe", Perm.CONSENT_EDIT)
    if everything:
        Suppression.objects.create(
            customer=customer,
            scope=SuppressionScope.NON_TRANSACTIONAL,
            reason="unsubscribe_link",
            created_at=clock.now(),
        )
        return
    if message.topic == Topic.TRANSACTIONAL:
        return
    apply_consents(
        actor=actor,
        customer=customer,
        items=[ConsentIn(topic=message.topic, channel=message.channel, status="denied")],
        source="unsubscribe",
        note=_("Unsubscribe link in message #%(id)d") % {"id": message.pk},
    )


@transaction.atomic
def record_opt_out(*, customer: Customer, channel: str, text: str) -> None:
    """A STOP reply: every topic a customer may refuse on that channel (all but transactional notices,
    the ones an administrator added and retired ones included) is refused at once."""
    refusable = sorted(preferences.topic_codes() - {Topic.TRANSACTIONAL.value})
    apply_consents(
        actor=Actor.machine("opt-out", Perm.CONSENT_EDIT),
        customer=customer,
        items=[ConsentIn(topic=t, channel=channel, status="denied") for t in refusable],
        source="opt-out",
        note=text[:255],
    )


def record_receipt(*, provider: str, provider_message_id: str, status: str) -> int:
    """A provider says a message was delivered (or read, or failed after all)."""
    rows = Message.objects.filter(provider=provider, provider_message_id=provider_message_id)
    now = clock.now()
    if status in {"delivered", "read"}:
        return rows.filter(status=MessageStatus.SENT).update(status=MessageStatus.DELIVERED, delivered_at=now)
    if status in {"failed", "undelivered"}:
        return rows.filter(status__in=[MessageStatus.SENT, MessageStatus.DELIVERED]).update(
            status=MessageStatus.FAILED, reason="provider_failed"
        )
    return 0


@dataclass(frozen=True)
class Acted:
    """What became of a callback's events: how many of each (receipts, opt-outs, replies, unknown
    senders), and each reply's way in (its customer and where it was filed)."""

    done: dict[str, int]
    replies: list[intake.Intake]


def record_callbacks(events: list[CallbackEvent]) -> dict[str, int]:
    """Act on what providers told us (:func:`act_on_callbacks`); how many of each there were."""
    return act_on_callbacks(events).done


def act_on_callbacks(events: list[CallbackEvent]) -> Acted:
    """Act on what providers told us: receipts move messages on, a STOP refuses at once, and anything else
    a customer wrote takes the one way in (``intake.take_in``): the customer found by any identity the
    provider gave of them (or made, named as the provider named them), a journey event, and a ticket."""
    done: dict[str, int] = {"receipts": 0, "opt_outs": 0, "replies": 0, "unknown": 0}
    replies = []
    for event in events:
        if event.kind == "receipt":
            done["receipts"] += record_receipt(
                provider=event.provider, provider_message_id=event.provider_message_id, status=event.status
            )
            continue
        # A provider that names no identity (a webhook of one's own) names the address it came from.
        handles = identities_of(event.identities) or [
            handle for handle in [identity_of_channel(event.channel, event.address)] if handle
        ]
        if event.kind == "opt_out" or is_opt_out(event.text):
            customer = find_customer(handles)
            if customer is None:
                done["unknown"] += 1
                continue
            record_opt_out(customer=customer, channel=event.channel, text=event.text)
            done["opt_outs"] += 1
            continue
        heard = intake.take_in(
            Inbound(
                channel=event.channel,
                provider=event.provider,
                provider_message_id=event.provider_message_id,
                identities=tuple(handles),
                sender=event.sender,
                text=event.text,
                address=event.address,
                occurred_at=event.occurred_at,
                in_reply_to=event.in_reply_to,
            ),
            create_customer=bool(handles),
        )
        done["replies" if heard.customer is not None else "unknown"] += 1
        replies.append(heard)
    return Acted(done, replies)
