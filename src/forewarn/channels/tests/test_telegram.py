"""Telegram's Bot API: the request against a real HTTP server on 127.0.0.1 and which answers are worth a
retry; the updates it sends, each checked against the secret token we gave setWebhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from forewarn.channels.base import FailureCode, PermanentError, TransientError
from forewarn.channels.callbacks import CallbackEvent, MalformedCallback, SignatureInvalid, parse_callback
from forewarn.channels.inbound import Sender
from forewarn.channels.providers.telegram import TelegramProvider
from forewarn.channels.tests.conftest import TEXT, FakeApi, outbound

TELEGRAM_SECRET = "tg-secret_0123456789"


@pytest.fixture(autouse=True)
def _telegram_with_its_secret_token(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {
        "telegram": {"provider": "telegram", "bot_token": "1:A", "webhook_secret": TELEGRAM_SECRET},
    }


# The provider as the tests set it up, at the base URL of the server it talks to (test_http.py too).
def telegram(base_url: str) -> TelegramProvider:
    return TelegramProvider(bot_token="123456:ABC-telegram", base_url=base_url)


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


# --- Callbacks ----------------------------------------------------------------------------------------------

TELEGRAM_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


def telegram_update(**fields: Any) -> bytes:
    return json.dumps({"update_id": 900001, **fields}).encode()


def telegram_message(text: str, **extra: Any) -> bytes:
    message = {
        "message_id": 312,
        "from": {"id": 5512345678, "is_bot": False, "first_name": "Марія", "language_code": "uk"},
        "chat": {"id": 5512345678, "type": "private", "first_name": "Марія"},
        "date": 1795426200,
        "text": text,
        **extra,
    }
    return telegram_update(message=message)


def parse_telegram(body: bytes, headers: dict[str, str] = TELEGRAM_HEADERS) -> list[CallbackEvent]:
    return parse_callback(
        "telegram", url="https://care.example/callbacks/telegram", headers=headers, body=body
    )


def test_telegram_a_message_is_a_reply_tied_to_the_message_it_answers() -> None:
    body = telegram_message("Так, зручно", reply_to_message={"message_id": 77, "date": 1795420000})

    (event,) = parse_telegram(body)

    assert event.kind == "reply"
    assert (event.provider, event.channel) == ("telegram", "telegram")
    assert (event.address, event.provider_message_id, event.in_reply_to) == (
        "5512345678",
        "5512345678:312",
        "5512345678:77",
    )
    assert event.text == "Так, зручно"
    assert event.occurred_at == datetime.fromtimestamp(1795426200, UTC)
    assert event.raw == json.loads(body)
    assert event.identities == (("telegram", "5512345678"),)
    assert event.sender == Sender(given_name="Марія", language="uk")


def test_telegram_a_message_names_every_identity_and_the_sender_as_telegram_does() -> None:
    person = {
        "id": 5512345678,
        "is_bot": False,
        "first_name": "Анна Марія",
        "last_name": "Коваленко",
        "username": "AnnaMaria_K",
        "language_code": "ru-UA",
    }
    (event,) = parse_telegram(telegram_message("Привіт", **{"from": person}))
    assert event.identities == (("telegram", "5512345678"), ("telegram", "@AnnaMaria_K"))
    assert event.sender == Sender(given_name="Анна Марія", family_name="Коваленко", language="ru-UA")


def test_telegram_in_a_group_the_sender_is_the_user_and_the_answer_goes_to_the_group() -> None:
    (event,) = parse_telegram(telegram_message("Питання", chat={"id": -1001234567890, "type": "supergroup"}))
    assert (event.address, event.identities) == ("-1001234567890", (("telegram", "5512345678"),))


@pytest.mark.parametrize("text", ["/stop", "/STOP", "/stop@forewarn_care_bot", "ОТПИСАТЬСЯ", "stop"])
def test_telegram_stop_is_an_opt_out(text: str) -> None:
    (event,) = parse_telegram(telegram_message(text))
    assert (event.kind, event.address) == ("opt_out", "5512345678")


def test_telegram_blocking_the_bot_is_an_opt_out() -> None:
    body = telegram_update(
        my_chat_member={
            "chat": {"id": 5512345678, "type": "private"},
            "from": {"id": 5512345678, "is_bot": False, "first_name": "Марія"},
            "date": 1795426300,
            "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "Bot"}},
            "new_chat_member": {"status": "kicked", "until_date": 0, "user": {"id": 1, "is_bot": True}},
        }
    )
    (event,) = parse_telegram(body)
    assert (event.kind, event.address) == ("opt_out", "5512345678")
    assert event.occurred_at == datetime.fromtimestamp(1795426300, UTC)


def test_telegram_updates_we_do_not_act_on_give_no_events() -> None:
    edited = telegram_update(edited_message={"message_id": 312, "chat": {"id": 1}, "date": 1, "text": "x"})
    assert parse_telegram(edited) == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Telegram-Bot-Api-Secret-Token": "tg-secret_wrong"},
        {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET + "x"},
        {"X-Telegram-Bot-Api-Secret-Token": "секрет"},
    ],
)
def test_telegram_an_update_without_our_secret_token_is_refused(headers: dict[str, str]) -> None:
    # Telegram signs nothing: the secret token given to setWebhook is the whole proof.
    with pytest.raises(SignatureInvalid):
        parse_telegram(telegram_message("Так"), headers)


def test_telegram_without_a_configured_secret_every_update_is_refused(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {"telegram": {"provider": "telegram", "bot_token": "1:A"}}
    with pytest.raises(SignatureInvalid):
        parse_telegram(telegram_message("Так"), {"X-Telegram-Bot-Api-Secret-Token": ""})
    with pytest.raises(SignatureInvalid):
        parse_telegram(telegram_message("Так"), {"X-Telegram-Bot-Api-Secret-Token": "anything"})


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"message": {}}', telegram_update(message={"text": "no chat"})],
)
def test_telegram_a_body_that_is_not_an_update_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedCallback):
        parse_telegram(body)
