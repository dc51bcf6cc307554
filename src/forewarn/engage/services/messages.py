"""Reading the message log, and the contact policy's settings: caps and suppressions.

Also where the world answers back: delivery receipts, replies and opt-outs from providers, and the
unsubscribe link in every message, each of which changes what the policy will allow at once.
"""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.channels.callbacks import CallbackEvent, is_opt_out
from forewarn.channels.inbound import Inbound
from forewarn.core import clock
from forewarn.core.errors import FieldError, NotFound, ValidationFailed
from forewarn.core.vocab import Channel, Topic
from forewarn.customers.models import Customer
from forewarn.customers.services.consent import apply_consents
from forewarn.customers.services.identify import find_customer, identity_of_channel
from forewarn.customers.services.profiles import ConsentIn
from forewarn.engage.models import FrequencyCap, Message, MessageStatus, Suppression, SuppressionScope
from forewarn.engage.services import intake
from forewarn.engage.services.planning import compose
from forewarn.privacy.services import audit

UNSUBSCRIBE_SALT = "forewarn.unsubscribe"
# An opt-out by reply (STOP) withdraws every topic a customer may refuse on that channel.
REFUSABLE_TOPICS = (Topic.SERVICE, Topic.MARKETING, Topic.SURVEYS)


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
            compose(message)
    return rows


def list_caps(actor: Actor) -> list[FrequencyCap]:
    actor.require(Perm.ENGAGE_VIEW)
    return list(FrequencyCap.objects.all())


@transaction.atomic
def replace_caps(*, actor: Actor, caps: list[dict[str, Any]]) -> list[FrequencyCap]:
    actor.require(Perm.POLICY_MANAGE)
    errors = [
        FieldError(f"{i}.topic", "topic_unknown", _("Unknown topic."))
        for i, cap in enumerate(caps)
        if cap["topic"] and cap["topic"] not in Topic.values
    ]
    errors += [
        FieldError(f"{i}.topic", "transactional_uncapped", _("Transactional notices are never capped."))
        for i, cap in enumerate(caps)
        if cap["topic"] == Topic.TRANSACTIONAL
    ]
    if errors:
        raise ValidationFailed(errors)
    before = _caps_as_text()
    FrequencyCap.objects.all().delete()
    made = list(FrequencyCap.objects.bulk_create(FrequencyCap(**cap) for cap in caps))
    audit.record_setting(actor, FrequencyCap, "changed", {"caps": _caps_as_text()}, {"caps": before})
    return made


def _caps_as_text() -> list[str]:
    """The caps as the audit log keeps them, in their own order: ``marketing: 1/24h (off)``."""
    return [str(cap) + ("" if cap.active else " (off)") for cap in FrequencyCap.objects.all()]


def add_suppression(
    *, actor: Actor, customer_id: int | None, channel: str, address: str, scope: str, reason: str
) -> Suppression:
    actor.require(Perm.CONSENT_EDIT)
    errors = []
    if scope not in SuppressionScope.values:
        errors.append(FieldError("scope", "invalid", _("Use marketing, non_transactional or everything.")))
    if channel and channel not in Channel.values:
        errors.append(FieldError("channel", "channel_unknown", _("Unknown channel.")))
    if (customer_id is None) == (not address):
        errors.append(FieldError("customer_id", "one_of", _("Name either a customer or an address.")))
    if customer_id is not None and not Customer.objects.filter(pk=customer_id).exists():
        errors.append(FieldError("customer_id", "customer_not_found", _("No such customer.")))
    if errors:
        raise ValidationFailed(errors)
    return Suppression.objects.create(
        customer_id=customer_id,
        channel=channel,
        address=address,
        scope=scope,
        reason=reason,
        created_at=clock.now(),
    )


# --- answers from the world ----------------------------------------------------------------------------


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
    """A STOP reply: every refusable topic on that channel is refused at once."""
    apply_consents(
        actor=Actor.machine("opt-out", Perm.CONSENT_EDIT),
        customer=customer,
        items=[ConsentIn(topic=t, channel=channel, status="denied") for t in REFUSABLE_TOPICS],
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


def record_callbacks(events: list[CallbackEvent]) -> dict[str, int]:
    """Act on what providers told us: receipts move messages on, a STOP refuses at once, and anything else
    a customer wrote takes the one way in (``intake.take_in``): the customer found or made, a journey
    event, and a ticket."""
    done: dict[str, int] = {"receipts": 0, "opt_outs": 0, "replies": 0, "unknown": 0}
    for event in events:
        if event.kind == "receipt":
            done["receipts"] += record_receipt(
                provider=event.provider, provider_message_id=event.provider_message_id, status=event.status
            )
            continue
        sender = identity_of_channel(event.channel, event.address)
        handles = [h for h in (sender, identity_of_channel(event.channel, event.username)) if h]
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
                name=event.name,
                language=event.language,
                text=event.text,
                address=event.address,
                occurred_at=event.occurred_at,
                in_reply_to=event.in_reply_to,
            ),
            create_customer=sender is not None,
        )
        done["replies" if heard.customer is not None else "unknown"] += 1
    return done
