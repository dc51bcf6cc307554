"""What providers tell us after a send: delivery receipts, customers' replies and opt-outs.

:func:`parse_callback` checks that a callback really comes from the provider (each signs in its own way,
with a secret from the channel's settings) before it trusts any of it, and turns it into
:class:`CallbackEvent` values the inbox and the outbox act on. A callback that cannot be checked, because
the signature is missing, wrong or there is no secret to check it with, is :class:`SignatureInvalid`
(answer 401); one that is signed but unreadable is :class:`MalformedCallback` (answer 400). A callback
that is genuine but carries nothing we act on (Viber's webhook check, a Telegram edit) gives no events:
answer 200 so the provider does not send it again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from django.db import models
from django.utils.translation import gettext_lazy as _

from forewarn.channels.providers.http import webhook_signature
from forewarn.channels.registry import providers_named

# A message that is one of these words and nothing else withdraws consent on the channel it came from.
OPT_OUT_WORDS = frozenset(
    word.casefold() for word in ("STOP", "UNSUBSCRIBE", "СТОП", "ВІДПИСАТИСЯ", "ОТПИСАТЬСЯ")
)


class CallbackKind(models.TextChoices):
    RECEIPT = "receipt", _("Delivery receipt")
    REPLY = "reply", _("Reply")
    OPT_OUT = "opt_out", _("Opt-out")


class ReceiptStatus(models.TextChoices):
    """How far a message got, in one vocabulary for every provider."""

    QUEUED = "queued", _("Queued at the provider")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Not delivered")


@dataclass(frozen=True)
class CallbackEvent:
    kind: str
    provider: str
    channel: str
    # A receipt: the id the provider gave our message when it took it (SendResult.provider_message_id).
    # A reply or an opt-out: the provider's id of the customer's message, to drop a callback sent twice.
    provider_message_id: str
    # Who the customer is on that channel: the phone number, chat id or Viber user id.
    address: str
    status: str = ""
    text: str = ""
    occurred_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # A reply: the provider_message_id (Telegram) or idempotency key (Viber) of our message it answers.
    in_reply_to: str = ""
    # A failed receipt: why, as the provider put it (Twilio's ErrorCode, Viber's description).
    reason: str = ""
    # Who wrote, as the provider names them: a name and a language code for a new profile, and a
    # second handle a profile may hold instead of the address (a Telegram user name, "@name").
    name: str = ""
    language: str = ""
    username: str = ""


class CallbackError(Exception):
    pass


class SignatureInvalid(CallbackError):
    """Not provably from the provider: answer 401 and act on nothing."""


class MalformedCallback(CallbackError):
    """Signed, but not what this provider sends: answer 400."""


def is_opt_out(text: str) -> bool:
    return text.strip().casefold() in OPT_OUT_WORDS


def parse_callback(
    provider: str, *, url: str, headers: Mapping[str, str], body: bytes
) -> list[CallbackEvent]:
    """The events in one callback request from ``provider`` ("twilio", "telegram", "viber", "webhook").

    ``url`` is the full URL the provider called, as it sees it (scheme, host, path and query): Twilio
    signs it. ``headers`` may come in any letter case.
    """
    parser = PARSERS.get(provider)
    if parser is None:
        # Nothing to check a signature with, as for a provider that has no secret configured.
        raise SignatureInvalid(f"no callbacks are expected from {provider!r}")
    lowered = {name.lower(): value for name, value in headers.items()}
    return parser(url, lowered, body)


def _secrets(kind: str, attribute: str) -> list[tuple[str, str]]:
    """(channel, secret) for every configured provider of this kind that has the secret set."""
    found = []
    for configured in providers_named(kind):
        secret = getattr(configured, attribute, "")
        if secret:
            found.append((configured.channel, secret))
    if not found:
        raise SignatureInvalid(f"no {kind} provider with a secret is configured")
    return found


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison; as bytes, because a header may carry any character."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedCallback(f"the body is not JSON: {exc}") from exc


def _from_epoch(seconds: Any) -> datetime | None:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return datetime.fromtimestamp(seconds, UTC)


# --- Twilio: form posts signed with the auth token over the URL and the sorted parameters ---------------

TWILIO_STATUSES = {
    "accepted": ReceiptStatus.QUEUED,
    "scheduled": ReceiptStatus.QUEUED,
    "queued": ReceiptStatus.QUEUED,
    "sending": ReceiptStatus.QUEUED,
    "sent": ReceiptStatus.SENT,
    "delivered": ReceiptStatus.DELIVERED,
    "read": ReceiptStatus.READ,
    "undelivered": ReceiptStatus.FAILED,
    "failed": ReceiptStatus.FAILED,
    "canceled": ReceiptStatus.FAILED,
}


def twilio_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """``X-Twilio-Signature`` as Twilio computes it: base64 HMAC-SHA1 of the URL followed by each
    parameter's name and value, sorted by name (and by value within a name)."""
    data = url
    for name in sorted({name for name, _value in params}):
        for value in sorted({v for n, v in params if n == name}):
            data += name + value
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL with and without its port: Twilio's own libraries accept either, as proxies differ."""
    parts = urlsplit(url)
    variants = [url]
    host = parts.hostname or ""
    if parts.port is not None:
        variants.append(urlunsplit(parts._replace(netloc=_netloc(parts.username, parts.password, host))))
    else:
        default = {"https": 443, "http": 80}.get(parts.scheme)
        if default is not None:
            with_port = _netloc(parts.username, parts.password, f"{host}:{default}")
            variants.append(urlunsplit(parts._replace(netloc=with_port)))
    return variants


def _netloc(username: str | None, password: str | None, host: str) -> str:
    if username is None:
        return host
    return f"{username}:{password}@{host}" if password is not None else f"{username}@{host}"


def _parse_twilio(url: str, headers: dict[str, str], body: bytes) -> list[CallbackEvent]:
    signature = headers.get("x-twilio-signature", "")
    if not signature:
        raise SignatureInvalid("X-Twilio-Signature is missing")
    secrets = _secrets("twilio", "auth_token")
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedCallback(f"the body is not a form: {exc}") from exc
    channel = next(
        (
            channel
            for channel, token in secrets
            for variant in _url_variants(url)
            if _same(twilio_signature(token, variant, params), signature)
        ),
        None,
    )
    if channel is None:
        raise SignatureInvalid("X-Twilio-Signature does not match")
    form = dict(params)
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not sid:
        raise MalformedCallback("MessageSid is missing")
    if "MessageStatus" in form:
        twilio_status = form["MessageStatus"].lower()
        return [
            CallbackEvent(
                kind=CallbackKind.RECEIPT,
                provider="twilio",
                channel=channel,
                provider_message_id=sid,
                address=form.get("To", ""),
                status=TWILIO_STATUSES.get(twilio_status, twilio_status),
                raw=form,
                reason=form.get("ErrorCode", ""),
            )
        ]
    if "Body" not in form or "From" not in form:
        raise MalformedCallback("neither a status callback nor an incoming message")
    text = form["Body"]
    # With Twilio's Advanced Opt-Out on, Twilio itself recognises the keyword and says so.
    opted_out = is_opt_out(text) or form.get("OptOutType", "").upper() == "STOP"
    return [
        CallbackEvent(
            kind=CallbackKind.OPT_OUT if opted_out else CallbackKind.REPLY,
            provider="twilio",
            channel=channel,
            provider_message_id=sid,
            address=form["From"],
            text=text,
            raw=form,
        )
    ]


# --- Telegram: JSON updates with the secret token we gave setWebhook ---------------------------------------


def _parse_telegram(_url: str, headers: dict[str, str], body: bytes) -> list[CallbackEvent]:
    token = headers.get("x-telegram-bot-api-secret-token", "")
    if not token:
        raise SignatureInvalid("X-Telegram-Bot-Api-Secret-Token is missing")
    channel = next(
        (channel for channel, secret in _secrets("telegram", "webhook_secret") if _same(token, secret)),
        None,
    )
    if channel is None:
        raise SignatureInvalid("X-Telegram-Bot-Api-Secret-Token does not match")
    update = _json(body)
    if not isinstance(update, dict) or "update_id" not in update:
        raise MalformedCallback("not a Telegram update")
    if "message" in update:
        return [_telegram_message(channel, update)]
    member = update.get("my_chat_member")
    if isinstance(member, dict) and (member.get("new_chat_member") or {}).get("status") == "kicked":
        # The customer blocked the bot: nothing we send there will arrive, and they said so.
        chat_id = (member.get("chat") or {}).get("id")
        if chat_id is None:
            raise MalformedCallback("my_chat_member has no chat")
        return [
            CallbackEvent(
                kind=CallbackKind.OPT_OUT,
                provider="telegram",
                channel=channel,
                provider_message_id=f"update:{update['update_id']}",
                address=str(chat_id),
                occurred_at=_from_epoch(member.get("date")),
                raw=update,
            )
        ]
    # Edits, button presses, membership changes we do not act on.
    return []


def _telegram_message(channel: str, update: dict[str, Any]) -> CallbackEvent:
    message = update["message"]
    if not isinstance(message, dict):
        raise MalformedCallback("message is not an object")
    chat_id = (message.get("chat") or {}).get("id")
    message_id = message.get("message_id")
    if chat_id is None or message_id is None:
        raise MalformedCallback("the message has no chat or no message_id")
    # A photo or a document carries its words in the caption.
    text = str(message.get("text") or message.get("caption") or "")
    command = text.strip().split("@", 1)[0].casefold()
    replied = message.get("reply_to_message")
    in_reply_to = ""
    if isinstance(replied, dict) and replied.get("message_id") is not None:
        in_reply_to = f"{chat_id}:{replied['message_id']}"
    sender: dict[str, Any] = message["from"] if isinstance(message.get("from"), dict) else {}
    name = " ".join(str(sender.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    username = str(sender.get("username") or "").strip()
    return CallbackEvent(
        kind=CallbackKind.OPT_OUT if command == "/stop" or is_opt_out(text) else CallbackKind.REPLY,
        provider="telegram",
        channel=channel,
        provider_message_id=f"{chat_id}:{message_id}",
        address=str(chat_id),
        text=text,
        occurred_at=_from_epoch(message.get("date")),
        raw=update,
        in_reply_to=in_reply_to,
        name=name,
        language=str(sender.get("language_code") or "")[:2],
        username=f"@{username}" if username else "",
    )


# --- Viber: JSON events signed with the bot's auth token --------------------------------------------------

VIBER_RECEIPTS = {
    "delivered": ReceiptStatus.DELIVERED,
    "seen": ReceiptStatus.READ,
    "failed": ReceiptStatus.FAILED,
}


def _parse_viber(_url: str, headers: dict[str, str], body: bytes) -> list[CallbackEvent]:
    signature = headers.get("x-viber-content-signature", "").strip().lower()
    if not signature:
        raise SignatureInvalid("X-Viber-Content-Signature is missing")
    channel = next(
        (
            channel
            for channel, token in _secrets("viber", "auth_token")
            if _same(hmac.new(token.encode("utf-8"), body, hashlib.sha256).hexdigest(), signature)
        ),
        None,
    )
    if channel is None:
        raise SignatureInvalid("X-Viber-Content-Signature does not match")
    event = _json(body)
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise MalformedCallback("not a Viber event")
    name = event["event"]
    # Viber's timestamps are milliseconds since the epoch.
    timestamp = event.get("timestamp")
    occurred_at = _from_epoch(timestamp / 1000) if isinstance(timestamp, int | float) else None
    token = event.get("message_token")
    if name in VIBER_RECEIPTS:
        if token is None or not event.get("user_id"):
            raise MalformedCallback(f"{name} has no message_token or user_id")
        return [
            CallbackEvent(
                kind=CallbackKind.RECEIPT,
                provider="viber",
                channel=channel,
                provider_message_id=str(token),
                address=str(event["user_id"]),
                status=VIBER_RECEIPTS[name],
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
                provider="viber",
                channel=channel,
                provider_message_id=str(token),
                address=str(sender["id"]),
                text=text,
                occurred_at=occurred_at,
                raw=event,
                in_reply_to=str(message.get("tracking_data") or ""),
                name=str(sender.get("name") or "")[:200],
                language=str(sender.get("language") or "")[:2],
            )
        ]
    if name == "unsubscribed":
        if not event.get("user_id"):
            raise MalformedCallback("unsubscribed has no user_id")
        return [
            CallbackEvent(
                kind=CallbackKind.OPT_OUT,
                provider="viber",
                channel=channel,
                provider_message_id=str(token) if token is not None else "",
                address=str(event["user_id"]),
                occurred_at=occurred_at,
                raw=event,
            )
        ]
    # "webhook" (Viber checking the URL), "subscribed", "conversation_started", "client_status".
    return []


# --- Our own webhook: JSON events signed like the messages we send ----------------------------------------


def _parse_webhook(_url: str, headers: dict[str, str], body: bytes) -> list[CallbackEvent]:
    signature = headers.get("x-forewarn-signature", "").strip()
    if not signature:
        raise SignatureInvalid("X-Forewarn-Signature is missing")
    channel = next(
        (
            channel
            for channel, secret in _secrets("webhook", "secret")
            if _same(webhook_signature(secret, body), signature)
        ),
        None,
    )
    if channel is None:
        raise SignatureInvalid("X-Forewarn-Signature does not match")
    data = _json(body)
    items = data if isinstance(data, list) else [data]
    return [_webhook_event(channel, item, index) for index, item in enumerate(items)]


def _webhook_event(channel: str, item: Any, index: int) -> CallbackEvent:
    """One event of the documented shape: ``{"kind", "provider_message_id", "address", "status", "text",
    "occurred_at" (ISO 8601 with an offset), "in_reply_to", "reason"}``."""
    where = f"event {index}"
    if not isinstance(item, dict):
        raise MalformedCallback(f"{where} is not an object")
    kind = item.get("kind")
    if kind not in CallbackKind.values:
        raise MalformedCallback(f"{where}: kind is one of {', '.join(CallbackKind.values)}")
    strings = {}
    for name in ("provider_message_id", "address", "status", "text", "in_reply_to", "reason"):
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
        provider="webhook",
        channel=channel,
        provider_message_id=strings["provider_message_id"],
        address=strings["address"],
        status=strings["status"],
        text=strings["text"],
        occurred_at=occurred_at,
        raw=item,
        in_reply_to=strings["in_reply_to"],
        reason=strings["reason"],
    )


PARSERS: dict[str, Callable[[str, dict[str, str], bytes], list[CallbackEvent]]] = {
    "twilio": _parse_twilio,
    "telegram": _parse_telegram,
    "viber": _parse_viber,
    "webhook": _parse_webhook,
}
