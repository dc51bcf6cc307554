"""SMS, Telegram, Viber and the webhook against a real HTTP server on 127.0.0.1: the exact request each
provider expects, and which answers are worth a retry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from forewarn.channels.base import (
    DeliveryError,
    FailureCode,
    Outbound,
    PermanentError,
    Provider,
    TransientError,
)
from forewarn.channels.providers.http import (
    HttpProvider,
    TelegramProvider,
    TwilioSmsProvider,
    ViberProvider,
    WebhookProvider,
)
from forewarn.channels.tests.conftest import FakeApi
from forewarn.core import clock

TEXT = "Марія, ваша посилка №1042 приїде в четвер. Відповідайте СТОП, щоб не отримувати повідомлень."


def outbound(channel: str, address: str, **changes: Any) -> Outbound:
    fields: dict[str, Any] = {
        "idempotency_key": f"outbox:1042:{channel}",
        "channel": channel,
        "address": address,
        "body": TEXT,
        "language": "uk",
    }
    fields.update(changes)
    return Outbound(**fields)


# Each provider as the tests set it up, at the base URL of the server it talks to.
def twilio(base_url: str, **options: Any) -> TwilioSmsProvider:
    return TwilioSmsProvider(
        account_sid="AC0123456789abcdef",
        auth_token="twilio-secret",
        from_number="+15005550006",
        base_url=base_url,
        **options,
    )


def telegram(base_url: str) -> TelegramProvider:
    return TelegramProvider(bot_token="123456:ABC-telegram", base_url=base_url)


def viber(base_url: str) -> ViberProvider:
    return ViberProvider(auth_token="viber-token", sender_name="Турбота", base_url=base_url)


def webhook(base_url: str) -> WebhookProvider:
    return WebhookProvider(url=f"{base_url}/forewarn/messages", secret="webhook-secret")


# --- SMS (Twilio's Messages API) ---------------------------------------------------------------------------


def test_sms_is_a_form_post_to_the_account_s_messages_with_basic_auth(api: FakeApi) -> None:
    api.answer(201, {"sid": "SM8f2a", "status": "queued"})

    result = twilio(api.url, status_callback="https://care.example/callbacks/twilio").send(
        outbound("sms", "+380671234567")
    )

    seen = api.last
    assert (seen.method, seen.path) == ("POST", "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json")
    assert seen.header("Content-Type") == "application/x-www-form-urlencoded"
    expected_auth = base64.b64encode(b"AC0123456789abcdef:twilio-secret").decode()
    assert seen.header("Authorization") == f"Basic {expected_auth}"
    assert seen.header("Idempotency-Key") == "outbox:1042:sms"
    assert seen.form() == {
        "To": ["+380671234567"],
        "From": ["+15005550006"],
        "Body": [TEXT],
        "StatusCallback": ["https://care.example/callbacks/twilio"],
    }
    assert (result.provider, result.provider_message_id, result.duplicate) == ("twilio", "SM8f2a", False)


def test_sms_without_a_status_callback_does_not_ask_for_receipts(api: FakeApi) -> None:
    api.answer(201, {"sid": "SM1"})
    twilio(api.url).send(outbound("sms", "+380671234567"))
    assert "StatusCallback" not in api.last.form()


@pytest.mark.parametrize(
    ("twilio_code", "failure"),
    [(21211, FailureCode.ADDRESS_INVALID), (21610, FailureCode.RECIPIENT_BLOCKED)],
)
def test_sms_twilio_s_own_error_codes_name_the_permanent_failure(
    api: FakeApi, twilio_code: int, failure: str
) -> None:
    api.answer(400, {"code": twilio_code, "message": "refused", "status": 400})
    with pytest.raises(PermanentError) as refused:
        twilio(api.url).send(outbound("sms", "+380671234567"))
    assert refused.value.code == failure
    assert str(twilio_code) in str(refused.value)


def test_sms_wrong_credentials_are_a_settings_problem(api: FakeApi) -> None:
    api.answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
    with pytest.raises(PermanentError) as refused:
        twilio(api.url).send(outbound("sms", "+380671234567"))
    assert refused.value.code == FailureCode.PROVIDER_MISCONFIGURED


def test_sms_rate_limit_is_a_retry_after_the_time_asked(api: FakeApi) -> None:
    api.answer(429, {"code": 20429, "message": "Too Many Requests"}, headers={"Retry-After": "30"})
    with pytest.raises(TransientError) as limited:
        twilio(api.url).send(outbound("sms", "+380671234567"))
    assert limited.value.code == FailureCode.RATE_LIMITED
    assert limited.value.retry_after == 30.0


# --- Telegram Bot API ---------------------------------------------------------------------------------------


def test_telegram_posts_json_to_the_bot_s_send_message(api: FakeApi) -> None:
    api.answer(200, {"ok": True, "result": {"message_id": 77, "chat": {"id": 5512345678}}})

    result = telegram(api.url).send(outbound("telegram", "5512345678", metadata={"parse_mode": "HTML"}))

    seen = api.last
    assert seen.path == "/bot123456:ABC-telegram/sendMessage"
    assert seen.header("Content-Type") == "application/json"
    assert seen.json() == {"chat_id": "5512345678", "text": TEXT, "parse_mode": "HTML"}
    assert (result.provider, result.provider_message_id) == ("telegram", "5512345678:77")


def test_telegram_sends_plain_text_unless_told_a_parse_mode_it_knows(api: FakeApi) -> None:
    api.answer(200, {"ok": True, "result": {"message_id": 1, "chat": {"id": 1}}})
    telegram(api.url).send(outbound("telegram", "1", metadata={"parse_mode": "<script>"}))
    assert api.last.json() == {"chat_id": "1", "text": TEXT}


@pytest.mark.parametrize(
    ("status", "description", "failure"),
    [
        (403, "Forbidden: bot was blocked by the user", FailureCode.RECIPIENT_BLOCKED),
        (400, "Bad Request: chat not found", FailureCode.ADDRESS_INVALID),
        (400, "Bad Request: message is too long", FailureCode.PROVIDER_REJECTED),
        (401, "Unauthorized", FailureCode.PROVIDER_MISCONFIGURED),
    ],
)
def test_telegram_refusals_that_will_not_change_are_permanent(
    api: FakeApi, status: int, description: str, failure: str
) -> None:
    api.answer(status, {"ok": False, "error_code": status, "description": description})
    with pytest.raises(PermanentError) as refused:
        telegram(api.url).send(outbound("telegram", "5512345678"))
    assert refused.value.code == failure
    assert description in str(refused.value)


def test_telegram_flood_control_is_a_retry_after_the_seconds_telegram_names(api: FakeApi) -> None:
    api.answer(
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 17",
            "parameters": {"retry_after": 17},
        },
    )
    with pytest.raises(TransientError) as limited:
        telegram(api.url).send(outbound("telegram", "5512345678"))
    assert limited.value.code == FailureCode.RATE_LIMITED
    assert limited.value.retry_after == 17.0


def test_telegram_failures_never_carry_the_bot_token(api: FakeApi, closed_port: int) -> None:
    api.answer(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    with pytest.raises(TransientError) as server_error:
        telegram(api.url).send(outbound("telegram", "1"))
    with pytest.raises(TransientError) as no_answer:
        telegram(f"http://127.0.0.1:{closed_port}").send(outbound("telegram", "1"))
    for failure in (server_error.value, no_answer.value):
        assert "ABC-telegram" not in str(failure)


# --- Viber REST bot API -------------------------------------------------------------------------------------


def test_viber_posts_json_with_the_auth_token_header(api: FakeApi) -> None:
    api.answer(200, {"status": 0, "status_message": "ok", "message_token": 5741311803571721087})

    result = viber(api.url).send(outbound("viber", "01234567890A="))

    seen = api.last
    assert seen.path == "/pa/send_message"
    assert seen.header("X-Viber-Auth-Token") == "viber-token"
    assert seen.json() == {
        "receiver": "01234567890A=",
        "type": "text",
        "text": TEXT,
        "sender": {"name": "Турбота"},
        "tracking_data": "outbox:1042:viber",
    }
    assert (result.provider, result.provider_message_id) == ("viber", "5741311803571721087")


@pytest.mark.parametrize(
    ("status", "message", "failure"),
    [
        (5, "receiverNotRegistered", FailureCode.ADDRESS_INVALID),
        (6, "receiverNotSubscribed", FailureCode.RECIPIENT_BLOCKED),
    ],
)
def test_viber_a_receiver_who_cannot_get_bot_messages_is_permanent(
    api: FakeApi, status: int, message: str, failure: str
) -> None:
    # Viber says so with HTTP 200 and a status inside.
    api.answer(200, {"status": status, "status_message": message})
    with pytest.raises(PermanentError) as refused:
        viber(api.url).send(outbound("viber", "01234567890A="))
    assert refused.value.code == failure
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("status", "failure"),
    [
        (12, FailureCode.RATE_LIMITED),
        (10, FailureCode.PROVIDER_ERROR),
        (2, FailureCode.PROVIDER_MISCONFIGURED),
    ],
)
def test_viber_other_statuses_are_worth_a_retry(api: FakeApi, status: int, failure: str) -> None:
    api.answer(200, {"status": status, "status_message": "something"})
    with pytest.raises(TransientError) as failed:
        viber(api.url).send(outbound("viber", "01234567890A="))
    assert failed.value.code == failure


def test_viber_s_sender_name_must_fit_viber_s_limit() -> None:
    with pytest.raises(ValueError, match="28"):
        ViberProvider(auth_token="t", sender_name="Ф" * 29)


# --- The signed webhook -------------------------------------------------------------------------------------


def test_the_webhook_posts_the_message_signed_with_the_shared_secret(api: FakeApi) -> None:
    api.answer(202, {"id": "gw-981"})
    message = outbound(
        "webhook",
        "crm:customer:42",
        subject="Посилка",
        html="<p>Так</p>",
        metadata={"customer_id": 42, "topic": "service"},
    )

    result = webhook(api.url).send(message)

    seen = api.last
    assert seen.path == "/forewarn/messages"
    assert seen.header("Idempotency-Key") == "outbox:1042:webhook"
    expected = hmac.new(b"webhook-secret", seen.body, hashlib.sha256).hexdigest()
    assert seen.header("X-Forewarn-Signature") == f"sha256={expected}"
    assert seen.header("Content-Type") == "application/json; charset=utf-8"
    # Cyrillic travels as UTF-8, not as \\u escapes.
    assert "Марія".encode() in seen.body
    assert json.loads(seen.body) == {
        "idempotency_key": "outbox:1042:webhook",
        "channel": "webhook",
        "address": "crm:customer:42",
        "subject": "Посилка",
        "body": TEXT,
        "html": "<p>Так</p>",
        "language": "uk",
        "metadata": {"customer_id": 42, "topic": "service"},
    }
    assert (result.provider, result.provider_message_id, result.duplicate) == ("webhook", "gw-981", False)


def test_the_webhook_receiver_may_say_it_had_the_key_already(api: FakeApi) -> None:
    api.answer(200, None, headers={"Idempotent-Replayed": "true"})
    result = webhook(api.url).send(outbound("webhook", "crm:customer:42"))
    # No id of its own in the answer: the idempotency key names the message.
    assert (result.provider_message_id, result.duplicate) == ("outbox:1042:webhook", True)


def test_a_webhook_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        WebhookProvider(url="https://gateway.example/in", secret="")


# --- The common rule, for every HTTP provider ---------------------------------------------------------------

PROVIDERS: dict[str, tuple[Callable[[str], Provider], str, str]] = {
    "twilio": (twilio, "sms", "+380671234567"),
    "telegram": (telegram, "telegram", "5512345678"),
    "viber": (viber, "viber", "01234567890A="),
    "webhook": (webhook, "webhook", "crm:customer:42"),
}


def send_with(api: FakeApi, name: str) -> None:
    make, channel, address = PROVIDERS[name]
    make(api.url).send(outbound(channel, address))


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_time_outs_rate_limits_and_server_errors_are_worth_a_retry(
    api: FakeApi, name: str, status: int
) -> None:
    api.answer(status, {"error": "later"}, headers={"Retry-After": "5"})
    with pytest.raises(TransientError) as failed:
        send_with(api, name)
    assert failed.value.retry_after == 5.0
    assert len(api.requests) == 1, "adapters never retry on their own"


@pytest.mark.parametrize("name", ["twilio", "webhook"])
@pytest.mark.parametrize("status", [400, 403, 404, 410, 422])
def test_other_client_errors_are_permanent(api: FakeApi, name: str, status: int) -> None:
    api.answer(status, {"error": "no"})
    with pytest.raises(PermanentError):
        send_with(api, name)


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_provider_that_refuses_connections_is_worth_a_retry(closed_port: int, name: str) -> None:
    make, channel, address = PROVIDERS[name]
    with pytest.raises(TransientError) as failed:
        make(f"http://127.0.0.1:{closed_port}").send(outbound(channel, address))
    assert failed.value.code == FailureCode.PROVIDER_UNAVAILABLE


def test_a_provider_that_does_not_answer_in_time_is_worth_a_retry(api: FakeApi) -> None:
    api.hang()
    provider = WebhookProvider(url=f"{api.url}/in", secret="s", timeout=0.2)
    with pytest.raises(TransientError) as failed:
        provider.send(outbound("webhook", "crm:customer:42"))
    assert failed.value.code == FailureCode.PROVIDER_UNAVAILABLE
    assert "Timeout" in str(failed.value)


def test_retry_after_may_be_an_http_date(api: FakeApi) -> None:
    api.answer(503, {}, headers={"Retry-After": "Mon, 23 Nov 2026 09:32:00 GMT"})
    with clock.frozen_at(datetime(2026, 11, 23, 9, 30, tzinfo=UTC)), pytest.raises(TransientError) as failed:
        send_with(api, "webhook")
    assert failed.value.retry_after == 120.0


def test_every_failure_is_a_delivery_error_with_a_code_people_can_read(api: FakeApi) -> None:
    api.answer(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    with pytest.raises(DeliveryError) as failed:
        send_with(api, "telegram")
    assert FailureCode.describe(failed.value.code) == "The recipient blocked or left this channel"
    assert FailureCode.describe("something_new") == "something_new"


def test_http_providers_share_one_client_with_time_outs() -> None:
    provider = WebhookProvider(url="http://127.0.0.1:9/in", secret="s", timeout=3.0)
    assert isinstance(provider, HttpProvider)
    assert provider.client.timeout.read == 3.0
    assert provider.client.timeout.connect == 3.0
    provider.close()
    assert provider.client.is_closed
