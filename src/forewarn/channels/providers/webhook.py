"""The message as signed JSON to a URL of the operator's choice (their own gateway, a CRM, a test sink):
sending, the events the receiver posts back (receipts, replies, opt-outs), and its settings.

Both ways are signed alike: ``X-Forewarn-Signature`` is ``sha256=`` and the hex HMAC-SHA256 of the body
with the shared secret (:func:`webhook_signature`). A webhook may carry any channel (an SMS gateway of
one's own), so the secret that matches names the channel a callback is for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from forewarn.channels.base import Environment, Option, Outbound, ProviderKind, SendResult
from forewarn.channels.callbacks import (
    CallbackEvent,
    CallbackKind,
    MalformedCallback,
    SignatureInvalid,
    json_body,
    same_signature,
    signing_secrets,
)
from forewarn.channels.inbound import Sender
from forewarn.channels.providers.http import HttpProvider, json_object

NAME = "webhook"


def webhook_signature(secret: str, body: bytes) -> str:
    """The ``X-Forewarn-Signature`` value for a body: ``sha256=`` and the hex HMAC-SHA256 with the secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookProvider(HttpProvider):
    """The message as signed JSON to a URL of the operator's choice (their own gateway, a CRM, a test sink).

    The receiver checks ``X-Forewarn-Signature`` with the shared secret and dedupes by ``Idempotency-Key``;
    it may answer ``{"id": ...}`` to name its copy, and ``Idempotent-Replayed: true`` when it had the key.
    """

    name = NAME

    def __init__(self, *, channel: str = "webhook", url: str, secret: str, timeout: float = 10.0) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret to sign its messages with")
        super().__init__(channel=channel, timeout=timeout)
        self.url = url
        self.secret = secret

    def payload(self, message: Outbound) -> bytes:
        """The exact bytes that are sent and signed."""
        data = {
            "idempotency_key": message.idempotency_key,
            "channel": message.channel,
            "address": message.address,
            "subject": message.subject,
            "body": message.body,
            "html": message.html,
            "language": message.language,
            "metadata": message.metadata,
        }
        return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def send(self, message: Outbound) -> SendResult:
        body = self.payload(message)
        response = self._post(
            self.url,
            content=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": message.idempotency_key,
                "X-Forewarn-Signature": webhook_signature(self.secret, body),
            },
        )
        if not response.is_success:
            raise self._failure(response)
        answered_id = json_object(response).get("id")
        return SendResult(
            provider=self.name,
            provider_message_id=str(answered_id) if answered_id is not None else message.idempotency_key,
            duplicate=response.headers.get("Idempotent-Replayed", "").lower() == "true",
        )


# --- Callbacks: JSON events signed like the messages we send ----------------------------------------------


def parse_callback(_url: str, headers: dict[str, str], body: bytes) -> list[CallbackEvent]:
    signature = headers.get("x-forewarn-signature", "").strip()
    if not signature:
        raise SignatureInvalid("X-Forewarn-Signature is missing")
    channel = next(
        (
            channel
            for channel, secret in signing_secrets(NAME, "secret")
            if same_signature(webhook_signature(secret, body), signature)
        ),
        None,
    )
    if channel is None:
        raise SignatureInvalid("X-Forewarn-Signature does not match")
    data = json_body(body)
    items = data if isinstance(data, list) else [data]
    return [_webhook_event(channel, item, index) for index, item in enumerate(items)]


STRING_FIELDS = (
    "provider_message_id",
    "address",
    "status",
    "text",
    "in_reply_to",
    "reason",
    "name",
    "language",
)


def _webhook_event(channel: str, item: Any, index: int) -> CallbackEvent:
    """One event of the documented shape: ``{"kind", "provider_message_id", "address", "status", "text",
    "occurred_at" (ISO 8601 with an offset), "in_reply_to", "reason", "name", "language"}``; the sender's
    name and language fill the profile of someone who writes first."""
    where = f"event {index}"
    if not isinstance(item, dict):
        raise MalformedCallback(f"{where} is not an object")
    kind = item.get("kind")
    if kind not in CallbackKind.values:
        raise MalformedCallback(f"{where}: kind is one of {', '.join(CallbackKind.values)}")
    strings = {}
    for name in (
        "provider_message_id",
        "address",
        "status",
        "text",
        "in_reply_to",
        "reason",
        "name",
        "language",
    ):
        value = item.get(name, "")
        if not isinstance(value, str):
            raise MalformedCallback(f"{where}: {name} is not a string")
        strings[name] = value
    if kind == CallbackKind.RECEIPT and not (strings["provider_message_id"] and strings["status"]):
        raise MalformedCallback(f"{where}: a receipt needs provider_message_id and status")
    if kind != CallbackKind.RECEIPT and not strings["address"]:
        raise MalformedCallback(f"{where}: a {kind} needs the address it came from")
    occurred_at = None
    if item.get("occurred_at") is not None:
        try:
            occurred_at = datetime.fromisoformat(str(item["occurred_at"]))
        except ValueError as exc:
            raise MalformedCallback(f"{where}: occurred_at is not an ISO 8601 time") from exc
        if occurred_at.tzinfo is None:
            raise MalformedCallback(f"{where}: occurred_at needs a UTC offset")
        occurred_at = occurred_at.astimezone(UTC)
    return CallbackEvent(
        kind=kind,
        provider=NAME,
        channel=channel,
        provider_message_id=strings["provider_message_id"],
        address=strings["address"],
        status=strings["status"],
        text=strings["text"],
        occurred_at=occurred_at,
        raw=item,
        in_reply_to=strings["in_reply_to"],
        reason=strings["reason"],
        sender=Sender.named(strings["name"], language=strings["language"]),
    )


# --- Settings -----------------------------------------------------------------------------------------------


def from_env(env: Environment) -> dict[str, dict[str, Any]]:
    """The webhook channel from ``FOREWARN_WEBHOOK_URL`` with ``FOREWARN_WEBHOOK_SECRET`` (both, or neither).

    A webhook on another channel is configured with ``FOREWARN_PROVIDERS_JSON``.
    """
    if not (env.get("WEBHOOK_URL") or env.get("WEBHOOK_SECRET")):
        return {}
    env.require("WEBHOOK_URL", "WEBHOOK_SECRET")
    return {"webhook": {"provider": NAME, "url": env.get("WEBHOOK_URL"), "secret": env.get("WEBHOOK_SECRET")}}


KIND = ProviderKind(
    name=NAME,
    # Any channel: the receiver decides what to do with the message.
    channels=None,
    factory=WebhookProvider,
    options=(Option("url", required=True), Option("secret", required=True, secret=True), Option("timeout")),
    from_env=from_env,
    parse_callback=parse_callback,
)
