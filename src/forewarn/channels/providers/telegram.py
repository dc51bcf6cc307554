"""Messages from a Telegram bot (Bot API): sending, the updates Telegram sends the webhook (replies,
/stop, a blocked bot), and its settings.

Telegram proves an update is its own by the secret token we gave ``setWebhook``, which it repeats in
``X-Telegram-Bot-Api-Secret-Token``.
"""

from __future__ import annotations

from typing import Any

import httpx

from forewarn.channels.base import (
    DeliveryError,
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
    SignatureInvalid,
    from_epoch,
    is_opt_out,
    json_body,
    same_signature,
    signing_secrets,
)
from forewarn.channels.inbound import Sender
from forewarn.channels.providers.http import HttpProvider, json_object, retry_after

NAME = "telegram"


class TelegramProvider(HttpProvider):
    """Messages from a Telegram bot (Bot API ``sendMessage``); the address is the chat id."""

    name = NAME
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
        # Checked against X-Telegram-Bot-Api-Secret-Token on incoming updates (parse_callback).
        self.webhook_secret = webhook_secret

    def send(self, message: Outbound) -> SendResult:
        payload: dict[str, Any] = {"chat_id": message.address, "text": message.body}
        parse_mode = message.metadata.get("parse_mode")
        if parse_mode in self.PARSE_MODES:
            payload["parse_mode"] = parse_mode
        response = self._post(self.url, json=payload)
        answer = json_object(response)
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


# --- Callbacks: JSON updates with the secret token we gave setWebhook ------------------------------------


def parse_callback(_url: str, headers: dict[str, str], body: bytes) -> list[CallbackEvent]:
    token = headers.get("x-telegram-bot-api-secret-token", "")
    if not token:
        raise SignatureInvalid("X-Telegram-Bot-Api-Secret-Token is missing")
    channel = next(
        (
            channel
            for channel, secret in signing_secrets(NAME, "webhook_secret")
            if same_signature(token, secret)
        ),
        None,
    )
    if channel is None:
        raise SignatureInvalid("X-Telegram-Bot-Api-Secret-Token does not match")
    update = json_body(body)
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
        person = member["from"] if isinstance(member.get("from"), dict) else {}
        return [
            CallbackEvent(
                kind=CallbackKind.OPT_OUT,
                provider=NAME,
                channel=channel,
                provider_message_id=f"update:{update['update_id']}",
                address=str(chat_id),
                occurred_at=from_epoch(member.get("date")),
                raw=update,
                identities=_identities(person, chat_id),
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
    person: dict[str, Any] = message["from"] if isinstance(message.get("from"), dict) else {}
    return CallbackEvent(
        kind=CallbackKind.OPT_OUT if command == "/stop" or is_opt_out(text) else CallbackKind.REPLY,
        provider=NAME,
        channel=channel,
        provider_message_id=f"{chat_id}:{message_id}",
        address=str(chat_id),
        text=text,
        occurred_at=from_epoch(message.get("date")),
        raw=update,
        in_reply_to=in_reply_to,
        identities=_identities(person, chat_id),
        sender=Sender(
            given_name=str(person.get("first_name") or "").strip(),
            family_name=str(person.get("last_name") or "").strip(),
            language=str(person.get("language_code") or "").strip(),
        ),
    )


def _identities(person: dict[str, Any], chat_id: Any) -> tuple[tuple[str, str], ...]:
    """Who wrote: the user's id (in a private chat, the chat's; a group's id names no person), then their
    user name, which a profile may hold instead (imported from a CRM, typed by an agent)."""
    user_id = person.get("id", chat_id)
    username = str(person.get("username") or "").strip()
    found = [("telegram", str(user_id))]
    if username:
        found.append(("telegram", f"@{username}"))
    return tuple(found)


# --- Settings -----------------------------------------------------------------------------------------------


def from_env(env: Environment) -> dict[str, dict[str, Any]]:
    """The Telegram channel from ``FOREWARN_TELEGRAM_BOT_TOKEN``; ``FOREWARN_TELEGRAM_WEBHOOK_SECRET``
    checks incoming updates (without it every update is refused)."""
    if not env.get("TELEGRAM_BOT_TOKEN"):
        return {}
    return {
        "telegram": {
            "provider": NAME,
            "bot_token": env.get("TELEGRAM_BOT_TOKEN"),
            "webhook_secret": env.get("TELEGRAM_WEBHOOK_SECRET"),
        }
    }


KIND = ProviderKind(
    name=NAME,
    channels=("telegram",),
    factory=TelegramProvider,
    options=(
        Option("bot_token", required=True, secret=True),
        Option("webhook_secret", secret=True),
        Option("base_url"),
        Option("timeout"),
    ),
    from_env=from_env,
    parse_callback=parse_callback,
)
