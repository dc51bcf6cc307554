"""SMS through Twilio's Messages API, or any provider that copies it: sending, the callbacks it signs
(delivery receipts, incoming messages, STOP), and its settings.

Twilio signs a callback with the account's auth token: base64 HMAC-SHA1 of the URL it called followed by
each form parameter's name and value (:func:`twilio_signature`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from forewarn.channels.base import (
    Environment,
    FailureCode,
    Option,
    Outbound,
    ProviderKind,
    SendResult,
)
from forewarn.channels.callbacks import (
    CallbackEvent,
    CallbackKind,
    MalformedCallback,
    ReceiptStatus,
    SignatureInvalid,
    is_opt_out,
    same_signature,
    signing_secrets,
)
from forewarn.channels.inbound import Sender
from forewarn.channels.providers.http import HttpProvider, json_object

NAME = "twilio"


class TwilioSmsProvider(HttpProvider):
    """SMS through Twilio's Messages API, or any provider that copies it (``base_url`` points elsewhere)."""

    name = NAME
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
        answer = json_object(response)
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


# --- Callbacks: form posts signed with the auth token over the URL and the sorted parameters ---------------

STATUSES = {
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
    """The URL with and without its port: Twilio's own libraries accept either, as proxies differ. Behind
    a proxy that ends TLS, Forewarn sees ``http://`` where Twilio called ``https://``: that URL too."""
    found = [url]
    parts = urlsplit(url)
    if parts.scheme == "http":
        found.append(urlunsplit(parts._replace(scheme="https")))
    return [variant for each in found for variant in _port_variants(each)]


def _port_variants(url: str) -> list[str]:
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


def parse_callback(url: str, headers: dict[str, str], body: bytes) -> list[CallbackEvent]:
    signature = headers.get("x-twilio-signature", "")
    if not signature:
        raise SignatureInvalid("X-Twilio-Signature is missing")
    secrets = signing_secrets(NAME, "auth_token")
    try:
        params = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedCallback(f"the body is not a form: {exc}") from exc
    channel = next(
        (
            channel
            for channel, token in secrets
            for variant in _url_variants(url)
            if same_signature(twilio_signature(token, variant, params), signature)
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
                provider=NAME,
                channel=channel,
                provider_message_id=sid,
                address=form.get("To", ""),
                status=STATUSES.get(twilio_status, twilio_status),
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
            provider=NAME,
            channel=channel,
            provider_message_id=sid,
            address=form["From"],
            text=text,
            raw=form,
            # The number as the provider writes it (E.164 from Twilio, digits alone from some others).
            identities=(("phone", form["From"]),),
            sender=Sender(country=form.get("FromCountry", "")),
        )
    ]


# --- Settings -----------------------------------------------------------------------------------------------


def from_env(env: Environment) -> dict[str, dict[str, Any]]:
    """The SMS channel from ``FOREWARN_SMS_ACCOUNT``, ``FOREWARN_SMS_TOKEN`` and ``FOREWARN_SMS_FROM`` (all
    three, or none); ``FOREWARN_SMS_URL`` for a Twilio-compatible provider other than Twilio;
    ``FOREWARN_SMS_STATUS_CALLBACK`` for delivery receipts."""
    if not (env.get("SMS_ACCOUNT") or env.get("SMS_TOKEN") or env.get("SMS_FROM")):
        return {}
    env.require("SMS_ACCOUNT", "SMS_TOKEN", "SMS_FROM")
    sms: dict[str, Any] = {
        "provider": NAME,
        "account_sid": env.get("SMS_ACCOUNT"),
        "auth_token": env.get("SMS_TOKEN"),
        "from_number": env.get("SMS_FROM"),
    }
    if env.get("SMS_URL"):
        sms["base_url"] = env.get("SMS_URL")
    if env.get("SMS_STATUS_CALLBACK"):
        sms["status_callback"] = env.get("SMS_STATUS_CALLBACK")
    return {"sms": sms}


KIND = ProviderKind(
    name=NAME,
    channels=("sms",),
    factory=TwilioSmsProvider,
    options=(
        Option("account_sid", required=True),
        Option("auth_token", required=True, secret=True),
        Option("from_number", required=True),
        Option("status_callback"),
        Option("base_url"),
        Option("timeout"),
    ),
    from_env=from_env,
    parse_callback=parse_callback,
)
