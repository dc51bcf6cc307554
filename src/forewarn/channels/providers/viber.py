"""Messages from a Viber bot (REST bot API): sending, the events Viber sends the webhook (receipts,
replies, unsubscribing), and its settings.

Viber signs each event with the bot's auth token: ``X-Viber-Content-Signature`` is the hex HMAC-SHA256 of
the body.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from forewarn.channels.base import (
    Environment,
    FailureCode,
    Option,
    Outbound,
    PermanentError,
    ProviderKind,
    SendResult,
    TransientError,
)
from forewarn.channels.callbacks import (
    CallbackEvent,
    CallbackKind,
    MalformedCallback,
    ReceiptStatus,
    SignatureInvalid,
    from_epoch,
    is_opt_out,
    json_body,
    same_signature,
    signing_secrets,
)
from forewarn.channels.inbound import Sender
from forewarn.channels.providers.http import HttpProvider, json_object

NAME = "viber"


class ViberProvider(HttpProvider):
    """Messages from a Viber bot (REST bot API ``send_message``); the address is the Viber user id."""

    name = NAME
    # Viber answers HTTP 200 and puts the outcome in ``status``; these say the user cannot be reached here.
    RECEIVER_NOT_REGISTERED = 5
    RECEIVER_NOT_SUBSCRIBED = 6
    TOO_MANY_REQUESTS = 12
    INVALID_AUTH_TOKEN = 2
    MAX_SENDER_NAME = 28

    def __init__(
        self,
        *,
        channel: str = "viber",
        auth_token: str,
        sender_name: str = "Forewarn",
        base_url: str = "https://chatapi.viber.com",
        timeout: float = 10.0,
    ) -> None:
        if not 0 < len(sender_name) <= self.MAX_SENDER_NAME:
            raise ValueError(f"Viber's sender name must be 1-{self.MAX_SENDER_NAME} characters")
        super().__init__(channel=channel, timeout=timeout)
        # Also the key of the HMAC Viber signs its callbacks with (parse_callback).
        self.auth_token = auth_token
        self.sender_name = sender_name
        self.url = f"{base_url.rstrip('/')}/pa/send_message"

    def send(self, message: Outbound) -> SendResult:
        payload = {
            "receiver": message.address,
            "type": "text",
            "text": message.body,
            "sender": {"name": self.sender_name},
            # Viber hands tracking_data back with the user's reply, which ties the reply to this message.
            "tracking_data": message.idempotency_key,
        }
        response = self._post(self.url, json=payload, headers={"X-Viber-Auth-Token": self.auth_token})
        if not response.is_success:
            raise self._failure(response)
        answer = json_object(response)
        status = answer.get("status", 0)
        if status == 0:
            return SendResult(provider=self.name, provider_message_id=str(answer.get("message_token", "")))
        detail = f"viber: status {status} {answer.get('status_message', '')}".strip()
        if status == self.RECEIVER_NOT_REGISTERED:
            raise PermanentError(detail, code=FailureCode.ADDRESS_INVALID)
        if status == self.RECEIVER_NOT_SUBSCRIBED:
            raise PermanentError(detail, code=FailureCode.RECIPIENT_BLOCKED)
        if status == self.TOO_MANY_REQUESTS:
            raise TransientError(detail, code=FailureCode.RATE_LIMITED)
        if status == self.INVALID_AUTH_TOKEN:
            raise TransientError(detail, code=FailureCode.PROVIDER_MISCONFIGURED)
        raise TransientError(detail, code=FailureCode.PROVIDER_ERROR)


# --- Callbacks: JSON events signed with the bot's auth token ---------------------------------------------

RECEIPTS = {
    "delivered": ReceiptStatus.DELIVERED,
    "seen": ReceiptStatus.READ,
    "failed": ReceiptStatus.FAILED,
}


def parse_callback(_url: str, headers: dict[str, str], body: bytes) -> list[CallbackEvent]:
    signature = headers.get("x-viber-content-signature", "").strip().lower()
    if not signature:
        raise SignatureInvalid("X-Viber-Content-Signature is missing")
    channel = next(
        (
            channel
            for channel, token in signing_secrets(NAME, "auth_token")
            if same_signature(hmac.new(token.encode("utf-8"), body, hashlib.sha256).hexdigest(), signature)
        ),
        None,
    )
    if channel is None:
        raise SignatureInvalid("X-Viber-Content-Signature does not match")
    event = json_body(body)
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise MalformedCallback("not a Viber event")
    name = event["event"]
    # Viber's timestamps are milliseconds since the epoch.
    timestamp = event.get("timestamp")
    occurred_at = from_epoch(timestamp / 1000) if isinstance(timestamp, int | float) else None
    token = event.get("message_token")
    if name in RECEIPTS:
        if token is None or not event.get("user_id"):
            raise MalformedCallback(f"{name} has no message_token or user_id")
        return [
            CallbackEvent(
                kind=CallbackKind.RECEIPT,
                provider=NAME,
                channel=channel,
                provider_message_id=str(token),
                address=str(event["user_id"]),
                status=RECEIPTS[name],
                occurred_at=occurred_at,
                raw=event,
                reason=str(event.get("desc", "")),
            )
        ]
    if name == "message":
        sender = event.get("sender") or {}
        message = event.get("message") or {}
        if (
            token is None
            or not isinstance(sender, dict)
            or not sender.get("id")
            or not isinstance(message, dict)
        ):
            raise MalformedCallback("message has no message_token, sender or message")
        text = str(message.get("text") or "")
        return [
            CallbackEvent(
                kind=CallbackKind.OPT_OUT if is_opt_out(text) else CallbackKind.REPLY,
                provider=NAME,
                channel=channel,
                provider_message_id=str(token),
                address=str(sender["id"]),
                text=text,
                occurred_at=occurred_at,
                raw=event,
                in_reply_to=str(message.get("tracking_data") or ""),
                identities=(("viber", str(sender["id"])),),
                sender=Sender.named(
                    str(sender.get("name") or ""),
                    language=str(sender.get("language") or ""),
                    country=str(sender.get("country") or ""),
                ),
            )
        ]
    if name == "unsubscribed":
        if not event.get("user_id"):
            raise MalformedCallback("unsubscribed has no user_id")
        return [
            CallbackEvent(
                kind=CallbackKind.OPT_OUT,
                provider=NAME,
                channel=channel,
                provider_message_id=str(token) if token is not None else "",
                address=str(event["user_id"]),
                occurred_at=occurred_at,
                raw=event,
                identities=(("viber", str(event["user_id"])),),
            )
        ]
    # "webhook" (Viber checking the URL), "subscribed", "conversation_started", "client_status".
    return []


# --- Settings -----------------------------------------------------------------------------------------------


def from_env(env: Environment) -> dict[str, dict[str, Any]]:
    """The Viber channel from ``FOREWARN_VIBER_TOKEN``; ``FOREWARN_VIBER_SENDER_NAME`` names the bot
    (default "Forewarn")."""
    if not env.get("VIBER_TOKEN"):
        return {}
    return {
        "viber": {
            "provider": NAME,
            "auth_token": env.get("VIBER_TOKEN"),
            "sender_name": env.get("VIBER_SENDER_NAME") or "Forewarn",
        }
    }


KIND = ProviderKind(
    name=NAME,
    channels=("viber",),
    factory=ViberProvider,
    options=(
        Option("auth_token", required=True, secret=True),
        Option("sender_name"),
        Option("base_url"),
        Option("timeout"),
    ),
    from_env=from_env,
    parse_callback=parse_callback,
)
