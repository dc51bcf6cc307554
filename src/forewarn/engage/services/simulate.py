"""The demo's inbound messages: what someone writes to a demo channel, as the provider would post it.

The demo's SMS, Telegram and Viber (``channels.providers.demo``) hear callbacks signed with published
secrets. :func:`simulate_message` builds the request the provider would make (a Telegram update, a Viber
``message`` event, Twilio's form), signs it with the channel's secret and hands it to the same callback
parsing and the same way in as a real one (``responses.act_on_callbacks``): the signature is checked, the
customer found by every identity or made, a journey event recorded and a ticket filed. Only on a demo
channel: where a real provider is configured, nothing is simulated.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace

from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.channels.callbacks import parse_callback
from forewarn.channels.providers.demo import HEARS, DemoProvider, Said, simulated_callback
from forewarn.channels.registry import provider_for
from forewarn.core import clock
from forewarn.core.errors import Conflict, FieldError, ValidationFailed
from forewarn.customers import normalize as norm
from forewarn.customers.models import IdentityKind
from forewarn.customers.services.profiles import primary_identities, search_customers
from forewarn.engage.services import intake, responses

CALLBACK_PATH = "/api/v1/channels/callbacks/{provider}"
MAX_TEXT = 4000
CHAT_ID = re.compile(r"^\d{5,15}$")
# Where someone new writes from in the examples: a demo chat id, Viber id or number nobody holds yet.
NEWCOMERS = {
    "telegram": Said(
        text="Добрий день! Інтернет зник о 9-й, роутер блимає червоним.",
        address="",
        username="oksana_melnychuk",
        given_name="Оксана",
        family_name="Мельничук",
        language="uk",
    ),
    "viber": Said(
        text="Hello, my bill came twice this month. Could you check?",
        address="",
        given_name="Charlotte",
        family_name="Evans",
        language="en-GB",
        country="GB",
    ),
    "sms": Said(text="Здравствуйте, когда приедет мастер?", address="", language="ru", country="UA"),
}
# The identity a known customer writes with on each channel.
KIND_OF = {"telegram": IdentityKind.TELEGRAM, "viber": IdentityKind.VIBER, "sms": IdentityKind.PHONE}


@dataclass(frozen=True)
class Simulated:
    """What became of a simulated message: heard as a message (its way in) or as an opt-out."""

    channel: str
    done: dict[str, int]
    heard: intake.Intake | None


@dataclass(frozen=True)
class Example:
    """A message to try, already filled in: who writes, as the provider would name them, and why."""

    label: str
    said: Said


def demo_channels() -> list[str]:
    """The channels whose provider is the demo's (``FOREWARN_DEMO_CHANNELS=on``), in the form's order."""
    return [channel for channel in HEARS if isinstance(provider_for(channel), DemoProvider)]


def simulate_message(*, actor: Actor, channel: str, said: Said, base_url: str) -> Simulated:
    """Write ``said`` to the demo's ``channel`` as its provider would post it to ``base_url``'s callback
    endpoint, and take it in as that endpoint would."""
    actor.require(Perm.TICKETS_VIEW)
    provider = provider_for(channel) if channel in HEARS else None
    if not isinstance(provider, DemoProvider):
        raise Conflict(
            _("Only the demo's SMS, Telegram and Viber can be tried here (FOREWARN_DEMO_CHANNELS=on)."),
            code="not_a_demo_channel",
        )
    said = _checked(channel, said)
    kind = HEARS[channel]
    request = simulated_callback(
        channel,
        said,
        url=base_url.rstrip("/") + CALLBACK_PATH.format(provider=kind),
        secret=provider.secret,
        at=clock.now().timestamp(),
    )
    events = parse_callback(kind, url=request.url, headers=request.headers, body=request.body)
    acted = responses.act_on_callbacks(events)
    return Simulated(channel, acted.done, acted.replies[0] if acted.replies else None)


def _checked(channel: str, said: Said) -> Said:
    errors = []
    text = said.text.strip()
    if not text:
        errors.append(FieldError("text", "required", _("Write what the customer says.")))
    elif len(text) > MAX_TEXT:
        errors.append(FieldError("text", "too_long", _("At most %(n)d characters.") % {"n": MAX_TEXT}))
    address = said.address.strip()
    if channel == "telegram" and not CHAT_ID.match(address):
        errors.append(FieldError("address", "telegram_invalid", _("A Telegram chat id is 5 to 15 digits.")))
    elif channel == "viber":
        address = norm.collect(errors, norm.normalize_viber, address, path="address") or address
    elif channel == "sms":
        address = norm.collect(errors, norm.normalize_sender_phone, address, path="address") or address
    username = said.username.strip().removeprefix("@")
    if channel == "telegram" and username and not norm.TELEGRAM_USERNAME.match(username):
        errors.append(
            FieldError("username", "telegram_invalid", _("A user name is 5 to 32 letters, digits or _."))
        )
    if errors:
        raise ValidationFailed(errors)
    return Said(
        text=text,
        address=address,
        username=username if channel == "telegram" else "",
        given_name=said.given_name.strip()[:64],
        family_name=said.family_name.strip()[:64],
        language=said.language.strip()[:35],
        country=said.country.strip().upper()[:2],
    )


def examples_for(actor: Actor, channel: str) -> list[Example]:
    """Messages to try on a channel: customers the demo knows (on Telegram by their @username, so the
    profile learns the chat id), someone new, and someone new who bears a known customer's name
    (proposed under Duplicates)."""
    actor.require(Perm.TICKETS_VIEW)
    found = []
    kind = KIND_OF[channel]
    known = search_customers(actor=actor, identity_kind=kind) if actor.may(Perm.CUSTOMERS_VIEW) else None
    for customer in known.prefetch_related("identities")[:2] if known is not None else []:
        handle = primary_identities(customer)[kind]
        said = Said(
            text=_("Hello! Where is my order?"),
            # On Telegram a chat id of its own for each: the profile holds the user name, Telegram sends both.
            address=str(7_000_000_000 + customer.pk) if channel == "telegram" else handle,
            username=handle.removeprefix("@") if channel == "telegram" else "",
            given_name=customer.given_name,
            family_name=customer.family_name,
            language=customer.language,
        )
        found.append(Example(_("%(name)s, a customer the demo knows") % {"name": customer.full_name}, said))
    found.append(Example(_("Someone new"), _from_nowhere(channel, NEWCOMERS[channel])))
    everyone = search_customers(actor=actor) if known is not None else None
    namesake = everyone.exclude(family_name="").last() if everyone is not None else None
    if namesake is not None:
        said = Said(
            text=_("Hello, it is me, writing from a new account."),
            address="",
            given_name=namesake.given_name,
            family_name=namesake.family_name,
            language=namesake.language,
        )
        label = _("Someone new named %(name)s, like a customer the demo knows") % {"name": namesake.full_name}
        found.append(Example(label, _from_nowhere(channel, said)))
    return found


def _from_nowhere(channel: str, said: Said) -> Said:
    """The example from an address nobody holds: a fresh chat id, Viber id or Ukrainian mobile number."""
    if channel == "telegram":
        return replace(said, address=str(6_000_000_000 + secrets.randbelow(10**9)))
    if channel == "viber":
        return replace(said, address=secrets.token_urlsafe(12))
    return replace(said, address=f"+38067{secrets.randbelow(10**7):07d}")
