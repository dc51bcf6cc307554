"""One way in: every message a customer sends, on any channel, takes the same path.

1. A channel adapter parses what its provider handed over into a :class:`~forewarn.channels.inbound.Inbound`
   (the email parser, the provider callbacks, the chat, the portal, the telephony report).
2. The customer is found or created by identity, honouring merges (``customers.services.identify``):
   by every identity the channel gave (a Telegram chat id and @username), the profile found learning
   those it lacked, a new one filled with the name, language and country the channel gave. A channel
   that knows the customer already (a chat session, a portal link) names them, and a merged profile is
   followed to the one that lives on.
3. It is recorded as a journey event ``message_received`` of that customer (idempotent by the provider's
   message id), so triggers, the incident page and spike detection hear every channel alike.
4. It is filed where it belongs by the apps that registered with :func:`file_with` (the inbox files it
   in a ticket; surveys, reviews and the bot plug in the same way). Engage imports none of them.

All of it commits in one transaction: a message is heard and filed, or not at all.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.channels.inbound import Inbound
from forewarn.customers.models import Customer
from forewarn.customers.services.identify import customer_for
from forewarn.customers.services.merging import surviving
from forewarn.engage.services.ingest import EventIn, ingest_events

MESSAGE_RECEIVED = "message_received"
INBOUND_SOURCE = "inbound"
# The journey event keeps the start of what was said; the whole of it is where it was filed.
EVENT_TEXT_LIMIT = 1000
EVENT_ID_LIMIT = 128  # engage.Event.external_id


@dataclass(frozen=True)
class Filed:
    """Where a filer put a message: ``status`` created, threaded, updated, duplicate or dropped."""

    status: str
    ticket_id: int | None = None
    entry_id: int | None = None


@dataclass(frozen=True)
class Intake:
    """What became of one inbound message: its customer (None: an unknown sender who may not be made
    one), the journey event, and where it was filed (None: no filer took it)."""

    customer: Customer | None
    event_id: int | None = None
    filed: Filed | None = None


Filer = Callable[[Customer, Inbound], Filed | None]
FILERS: list[Filer] = []


def file_with(filer: Filer) -> None:
    """Register where inbound messages are filed (in ``AppConfig.ready``). A filer answers None for a
    message that is not its own."""
    if filer not in FILERS:
        FILERS.append(filer)


def _customer(inbound: Inbound, *, create: bool) -> Customer | None:
    if inbound.customer_id is not None:
        known = Customer.objects.filter(pk=inbound.customer_id).first()
        return surviving(known) if known is not None else None
    return customer_for(
        inbound.identities,
        source=f"{inbound.channel}:{inbound.provider}",
        given_name=inbound.sender.given_name,
        family_name=inbound.sender.family_name,
        language=inbound.sender.language,
        country=inbound.sender.country,
        create=create,
    )


def _journey_event(customer: Customer, inbound: Inbound) -> int | None:
    said = inbound.provider_message_id or f"new:{secrets.token_hex(12)}"
    # One message is one event however it arrived (the same email by SMTP and by IMAP): the key is the
    # channel and the provider's id, under the source every inbound message shares.
    external_id = f"{inbound.channel}:{said}"
    if len(external_id) > EVENT_ID_LIMIT:  # a long Message-ID: its digest is as unique
        external_id = f"{inbound.channel}:sha256:{hashlib.sha256(said.encode()).hexdigest()}"
    payload = {"channel": inbound.channel, "via": inbound.provider, "text": inbound.text[:EVENT_TEXT_LIMIT]}
    if inbound.subject:
        payload["subject"] = inbound.subject[:300]
    if inbound.in_reply_to:
        payload["in_reply_to"] = inbound.in_reply_to
    result = ingest_events(
        actor=Actor.machine(f"intake:{inbound.provider}", Perm.EVENTS_SEND),
        items=[
            EventIn(
                source=INBOUND_SOURCE,
                id=external_id,
                type=MESSAGE_RECEIVED,
                customer={"customer_id": customer.pk},
                payload=payload,
                occurred_at=inbound.occurred_at,
            )
        ],
    )
    return result.outcomes[0].event_id


def take_in(inbound: Inbound, *, create_customer: bool = True) -> Intake:
    """Hear one message: its customer, its journey event, and where it was filed."""
    with transaction.atomic():
        customer = _customer(inbound, create=create_customer)
        if customer is None:
            return Intake(None)
        event_id = _journey_event(customer, inbound)
        filed = None
        for filer in FILERS:
            filed = filer(customer, inbound) or filed
        return Intake(customer, event_id, filed)
