"""Providers reached over HTTP: SMS through a Twilio-style API, Telegram and Viber bots, and a signed webhook.

Each keeps one ``httpx.Client`` (connection reuse, time-outs on every call) and turns the provider's answer
into a :class:`SendResult` or a typed failure. The common rule: no answer, a time-out, 408, 429 or 5xx is
worth a retry; any other 4xx is not. Providers that answer errors in their own way (Telegram's
``error_code``, Viber's ``status`` inside an HTTP 200) are read first.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import ssl
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from django.core.serializers.json import DjangoJSONEncoder

from forewarn.channels.base import (
    DeliveryError,
    FailureCode,
    Outbound,
    PermanentError,
    SendResult,
    TransientError,
)
from forewarn.core import clock

# How much of a provider's error answer goes into the failure's message.
EXCERPT = 300


def webhook_signature(secret: str, body: bytes) -> str:
    """The ``X-Forewarn-Signature`` value for a body: ``sha256=`` and the hex HMAC-SHA256 with the secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, given as seconds or as an HTTP date."""
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        moment: datetime = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - clock.now()).total_seconds())


@functools.cache
def _tls() -> ssl.SSLContext:
    # httpx's own default (certifi's roots), built once: loading the roots is the slow part of a client.
    return httpx.create_ssl_context()


class HttpProvider:
    """What every HTTP provider shares: the client, transport failures, and the common status rule."""

    name = "http"

    def __init__(self, *, channel: str, timeout: float = 10.0) -> None:
        self.channel = channel
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"User-Agent": "Forewarn"},
            follow_redirects=False,
            verify=_tls(),
        )

    def close(self) -> None:
        self.client.close()

    def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.post(url, **kwargs)
        except httpx.UnsupportedProtocol as exc:
            raise PermanentError(
                f"{self.name}: the configured address is not http(s)", code=FailureCode.PROVIDER_MISCONFIGURED
            ) from exc
        except httpx.TransportError as exc:
            # The URL is left out on purpose: Telegram's carries the bot token.
            raise TransientError(
                f"{self.name} could not be reached: {type(exc).__name__}: {exc}",
                code=FailureCode.PROVIDER_UNAVAILABLE,
            ) from exc

    def _failure(
        self, response: httpx.Response, *, code: str | None = None, detail: str = ""
    ) -> DeliveryError:
        """What a non-2xx answer means by the common rule; ``code`` names a permanent failure exactly."""
        status = response.status_code
        message = f"{self.name} answered HTTP {status}: {detail or response.text[:EXCERPT]}"
        if status == 429:
            return TransientError(message, code=FailureCode.RATE_LIMITED, retry_after=retry_after(response))
        if status == 408 or status >= 500:
            return TransientError(
                message, code=FailureCode.PROVIDER_UNAVAILABLE, retry_after=retry_after(response)
            )
        if code is None:
            code = FailureCode.PROVIDER_MISCONFIGURED if status == 401 else FailureCode.PROVIDER_REJECTED
        return PermanentError(message, code=code)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or an empty one when the answer is not one."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class TwilioSmsProvider(HttpProvider):
    """SMS through Twilio's Messages API, or any provider that copies it (``base_url`` points elsewhere)."""

    name = "twilio"
    # Twilio's own error codes that say this number will never take this message.
    ADDRESS_ERRORS = frozenset({21211, 21214, 21614})
    OPTED_OUT_ERRORS = frozenset({21610})

    def __init__(
        self,
        *,
        channel: str = "sms",
        account_sid: str,
        auth_token: str,
        from_number: str,
        status_callback: str = "",
        base_url: str = "https://api.twilio.com",
        timeout: float = 10.0,
    ) -> None:
        super().__init__(channel=channel, timeout=timeout)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.status_callback = status_callback
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"

    def send(self, message: Outbound) -> SendResult:
        form = {"To": message.address, "From": self.from_number, "Body": message.body}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        response = self._post(
            self.url,
            data=form,
            auth=(self.account_sid, self.auth_token),
            headers={"Idempotency-Key": message.idempotency_key},
        )
        answer = _json_object(response)
        if response.is_success:
            return SendResult(provider=self.name, provider_message_id=str(answer.get("sid", "")))
        error = answer.get("code")
        code: str | None = None
        if error in self.ADDRESS_ERRORS:
            code = FailureCode.ADDRESS_INVALID
        elif error in self.OPTED_OUT_ERRORS:
            code = FailureCode.RECIPIENT_BLOCKED
        detail = f"{error} {answer.get('message', '')}" if error else ""
        raise self._failure(response, code=code, detail=detail)


class TelegramProvider(HttpProvider):
    """Messages from a Telegram bot (Bot API ``sendMessage``); the address is the chat id."""

    name = "telegram"
    PARSE_MODES = frozenset({"HTML", "MarkdownV2", "Markdown"})

    def __init__(
        self,
        *,
        channel: str = "telegram",
        bot_token: str,
        webhook_secret: str = "",
        base_url: str = "https://api.telegram.org",
        timeout: float = 10.0,
    ) -> None:
        super().__init__(channel=channel, timeout=timeout)
        self.url = f"{base_url.rstrip('/')}/bot{bot_token}/sendMessage"
        # Checked against X-Telegram-Bot-Api-Secret-Token on incoming updates (callbacks.py).
        self.webhook_secret = webhook_secret

    def send(self, message: Outbound) -> SendResult:
        payload: dict[str, Any] = {"chat_id": message.address, "text": message.body}
        parse_mode = message.metadata.get("parse_mode")
        if parse_mode in self.PARSE_MODES:
            payload["parse_mode"] = parse_mode
        response = self._post(self.url, json=payload)
        answer = _json_object(response)
        if response.is_success and answer.get("ok", True):
            result = answer.get("result")
            result = result if isinstance(result, dict) else {}
            chat = result.get("chat") or {}
            message_id = result.get("message_id")
            # Telegram numbers messages per chat, so the chat makes the id unique.
            provider_id = f"{chat.get('id', message.address)}:{message_id}" if message_id is not None else ""
            return SendResult(provider=self.name, provider_message_id=provider_id)
        raise self._refusal(response, answer)

    def _refusal(self, response: httpx.Response, answer: dict[str, Any]) -> DeliveryError:
        error = answer.get("error_code") or response.status_code
        description = str(answer.get("description", ""))
        detail = f"{error} {description}".strip()
        if error == 429:
            wait = (answer.get("parameters") or {}).get("retry_after")
            return TransientError(
                f"telegram: {detail}",
                code=FailureCode.RATE_LIMITED,
                retry_after=float(wait) if isinstance(wait, int | float) else retry_after(response),
            )
        if error == 403:
            # "bot was blocked by the user", "user is deactivated", "bot was kicked from the group chat".
            return PermanentError(f"telegram: {detail}", code=FailureCode.RECIPIENT_BLOCKED)
        if error == 400 and "not found" in description.lower():
            return PermanentError(f"telegram: {detail}", code=FailureCode.ADDRESS_INVALID)
        if error in (401, 404):
            # A wrong bot token answers 401 Unauthorized or 404 Not Found.
            return PermanentError(f"telegram: {detail}", code=FailureCode.PROVIDER_MISCONFIGURED)
        return self._failure(response, detail=detail)


class ViberProvider(HttpProvider):
    """Messages from a Viber bot (REST bot API ``send_message``); the address is the Viber user id."""

    name = "viber"
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
        # Also the key of the HMAC Viber signs its callbacks with (callbacks.py).
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
        answer = _json_object(response)
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


class WebhookProvider(HttpProvider):
    """The message as signed JSON to a URL of the operator's choice (their own gateway, a CRM, a test sink).

    The receiver checks ``X-Forewarn-Signature`` with the shared secret and dedupes by ``Idempotency-Key``;
    it may answer ``{"id": ...}`` to name its copy, and ``Idempotent-Replayed: true`` when it had the key.
    """

    name = "webhook"

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
        answered_id = _json_object(response).get("id")
        return SendResult(
            provider=self.name,
            provider_message_id=str(answered_id) if answered_id is not None else message.idempotency_key,
            duplicate=response.headers.get("Idempotent-Replayed", "").lower() == "true",
        )
