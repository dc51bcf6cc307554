"""The demo's SMS, Telegram and Viber: they record what they would send, as the local provider does, and
hear callbacks exactly as Twilio, Telegram and Viber send them, signed with secrets everyone knows.

So a newcomer can send the demo an inbound message: with ``curl`` (docs/callbacks.md has one for each,
signed with the secrets below) or from the demo's "Simulate an inbound message" page, which builds the
same signed request (:func:`simulated_callback`) and hands it to the same callback parsing. Both take the
one way in, as a real customer's message does.

They are on only where ``FOREWARN_DEMO_CHANNELS=on`` says so (``make run`` sets it), and only on the
channels no real provider's variables configure. Never in production: anyone who has read the docs can
sign a callback with these secrets and write as any customer (``manage check`` warns, channels.W001).
Without them, a channel with no provider of its own is the local record again, which hears nothing: a
callback for it is refused (401).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ImproperlyConfigured

from forewarn.channels.base import Environment, Option, Outbound, ProviderKind, SendResult

NAME = "demo"
# The kind whose callbacks each demo channel hears, and the published secret it checks them with: the
# auth token Twilio and Viber sign with, the secret token Telegram repeats.
HEARS = {"sms": "twilio", "telegram": "telegram", "viber": "viber"}
SECRETS = {
    "twilio": "demo-twilio-auth-token",
    "telegram": "demo-telegram-secret",
    "viber": "demo-viber-auth-token",
}
# The number and account the demo's SMS pretends to be.
DEMO_NUMBER = "+380441234567"
DEMO_ACCOUNT = "ACdemo00000000000000000000000000"
ON = frozenset({"on", "1", "true", "yes"})
OFF = frozenset({"", "off", "0", "false", "no"})


class DemoProvider:
    """Records instead of sending (``providers/local.py``); hears the callbacks of ``hears``, checked
    with ``secret``."""

    name = NAME

    def __init__(self, *, channel: str, hears: str = "", secret: str = "") -> None:
        expected = HEARS.get(channel)
        if expected is None:
            raise ValueError(f"the demo has no {channel} channel; it has {', '.join(HEARS)}")
        hears = hears or expected
        if hears != expected:
            raise ValueError(f"the demo's {channel} hears {expected}'s callbacks, not {hears}'s")
        self.channel = channel
        self.hears = hears
        self.secret = secret or SECRETS[hears]

    def send(self, message: Outbound) -> SendResult:
        # The local record needs the models, which do not exist yet when settings.py reads the variables.
        from forewarn.channels.providers.local import LocalProvider  # noqa: PLC0415 - see above

        recorded = LocalProvider(channel=self.channel).send(message)
        return dataclasses.replace(recorded, provider=NAME)


# --- What a provider would send: the simulation's requests -----------------------------------------------


@dataclass(frozen=True)
class SignedCallback:
    """One callback request as the provider would make it: where to, its headers and its body."""

    provider: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Said:
    """A message someone writes to the demo: who, as the provider would name them, and what."""

    text: str
    # The phone number (SMS), the chat id (Telegram) or the Viber user id.
    address: str
    username: str = ""  # Telegram only, without the @
    given_name: str = ""
    family_name: str = ""
    language: str = ""
    country: str = ""


def simulated_callback(channel: str, said: Said, *, url: str, secret: str, at: float) -> SignedCallback:
    """The request the provider behind a demo channel makes when someone writes ``said`` to it, signed
    with ``secret``: a Telegram update, a Viber ``message`` event, or Twilio's incoming-message form.
    ``url`` is where it is sent (Twilio signs it); ``at`` is the moment, in seconds since the epoch."""
    hears = HEARS[channel]
    if hears == "telegram":
        return _telegram(said, url=url, secret=secret, at=at)
    if hears == "viber":
        return _viber(said, url=url, secret=secret, at=at)
    return _twilio(said, url=url, secret=secret)


def _telegram(said: Said, *, url: str, secret: str, at: float) -> SignedCallback:
    chat_id = int(said.address)
    person: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": said.given_name or said.address}
    if said.family_name:
        person["last_name"] = said.family_name
    if said.username:
        person["username"] = said.username.removeprefix("@")
    if said.language:
        person["language_code"] = said.language
    update = {
        "update_id": secrets.randbelow(10**9),
        "message": {
            "message_id": secrets.randbelow(10**9),
            "from": person,
            "chat": {"id": chat_id, "type": "private", "first_name": person["first_name"]},
            "date": int(at),
            "text": said.text,
        },
    }
    body = json.dumps(update, ensure_ascii=False).encode()
    return SignedCallback("telegram", url, {"X-Telegram-Bot-Api-Secret-Token": secret}, body)


def _viber(said: Said, *, url: str, secret: str, at: float) -> SignedCallback:
    sender: dict[str, Any] = {"id": said.address, "api_version": 10}
    name = " ".join(part for part in (said.given_name, said.family_name) if part)
    if name:
        sender["name"] = name
    if said.language:
        sender["language"] = said.language
    if said.country:
        sender["country"] = said.country
    event = {
        "event": "message",
        "timestamp": int(at * 1000),
        "chat_hostname": "SN-CHAT-DEMO_",
        "message_token": secrets.randbelow(10**18),
        "sender": sender,
        "message": {"type": "text", "text": said.text},
        "silent": False,
    }
    body = json.dumps(event, ensure_ascii=False).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return SignedCallback("viber", url, {"X-Viber-Content-Signature": signature}, body)


def _twilio(said: Said, *, url: str, secret: str) -> SignedCallback:
    from forewarn.channels.providers.twilio import twilio_signature  # noqa: PLC0415 - only to sign

    form = {
        "MessageSid": f"SM{secrets.token_hex(16)}",
        "AccountSid": DEMO_ACCOUNT,
        "From": said.address,
        "To": DEMO_NUMBER,
        "Body": said.text,
        "NumMedia": "0",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    if said.country:
        form["FromCountry"] = said.country
    pairs = sorted(form.items())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(secret, url, pairs),
    }
    return SignedCallback("twilio", url, headers, urlencode(pairs).encode())


# --- Settings -----------------------------------------------------------------------------------------------


def from_env(env: Environment) -> dict[str, dict[str, Any]]:
    """The demo's SMS, Telegram and Viber with ``FOREWARN_DEMO_CHANNELS=on`` (off by default); the registry
    gives them only the channels no real provider's variables configure."""
    value = env.get("DEMO_CHANNELS").lower()
    if value in OFF:
        return {}
    if value not in ON:
        raise ImproperlyConfigured("FOREWARN_DEMO_CHANNELS is on or off")
    return {
        channel: {"provider": NAME, "hears": hears, "secret": SECRETS[hears]}
        for channel, hears in HEARS.items()
    }


KIND = ProviderKind(
    name=NAME,
    channels=tuple(HEARS),
    factory=DemoProvider,
    options=(Option("hears"), Option("secret", secret=True)),
    from_env=from_env,
)
