"""Callbacks from providers: each signature checked the provider's way, and each callback read into events.

Every provider gets the same questions: a genuine callback becomes the right events; a missing, wrong or
unverifiable signature and a body changed after signing are refused; a signed but unreadable body is
malformed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest

from forewarn.channels.callbacks import (
    CallbackEvent,
    MalformedCallback,
    SignatureInvalid,
    is_opt_out,
    parse_callback,
    twilio_signature,
)
from forewarn.channels.providers.http import webhook_signature

TWILIO_TOKEN = "twilio-auth-token"
TELEGRAM_SECRET = "tg-secret_0123456789"
VIBER_TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
HOOK_SECRET = "hook-secret"
TWILIO_URL = "https://care.example/callbacks/twilio?channel=sms"


@pytest.fixture(autouse=True)
def _providers_with_secrets(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {
        "sms": {
            "provider": "twilio",
            "account_sid": "AC1",
            "auth_token": TWILIO_TOKEN,
            "from_number": "+15005550006",
        },
        "telegram": {"provider": "telegram", "bot_token": "1:A", "webhook_secret": TELEGRAM_SECRET},
        "viber": {"provider": "viber", "auth_token": VIBER_TOKEN},
        "webhook": {"provider": "webhook", "url": "https://gateway.example/in", "secret": HOOK_SECRET},
    }


@pytest.mark.parametrize(
    "text", ["STOP", " stop ", "Unsubscribe", "СТОП", "стоп\n", "Відписатися", "ВІДПИСАТИСЯ", "отписаться"]
)
def test_opt_out_words_are_recognised_whatever_their_case(text: str) -> None:
    assert is_opt_out(text)


@pytest.mark.parametrize("text", ["stop sending me ads", "STOPP", "", "не стоп", "Дякую"])
def test_only_the_whole_message_is_an_opt_out(text: str) -> None:
    assert not is_opt_out(text)


def test_an_unknown_provider_cannot_be_verified() -> None:
    with pytest.raises(SignatureInvalid):
        parse_callback("pigeon", url="https://care.example/callbacks/pigeon", headers={}, body=b"{}")


# --- Twilio -------------------------------------------------------------------------------------------------


def test_twilio_signatures_match_twilio_s_published_example() -> None:
    # The example in Twilio's security documentation and its own library's tests.
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert (
        twilio_signature("12345", url.replace(".com", ".com:443"), params) == "kvajT1Ptam85bY51eRf/AJRuM3w="
    )


def twilio_post(
    form: dict[str, str], *, url: str = TWILIO_URL, signed_url: str | None = None, token: str = TWILIO_TOKEN
) -> tuple[dict[str, str], bytes]:
    signature = twilio_signature(token, signed_url or url, list(form.items()))
    return {"X-Twilio-Signature": signature}, urlencode(form).encode()


STATUS = {
    "MessageSid": "SM8f2a",
    "SmsSid": "SM8f2a",
    "AccountSid": "AC1",
    "From": "+15005550006",
    "To": "+380671234567",
    "MessageStatus": "delivered",
    "SmsStatus": "delivered",
    "ApiVersion": "2010-04-01",
}


def test_twilio_a_status_callback_is_a_receipt() -> None:
    headers, body = twilio_post(STATUS)

    events = parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)

    assert events == [
        CallbackEvent(
            kind="receipt",
            provider="twilio",
            channel="sms",
            provider_message_id="SM8f2a",
            address="+380671234567",
            status="delivered",
            raw=STATUS,
        )
    ]


def test_twilio_an_undelivered_message_is_a_failed_receipt_with_twilio_s_reason() -> None:
    headers, body = twilio_post({**STATUS, "MessageStatus": "undelivered", "ErrorCode": "30003"})
    (event,) = parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)
    assert (event.kind, event.status, event.reason) == ("receipt", "failed", "30003")


INBOUND = {
    "MessageSid": "SM77aa",
    "AccountSid": "AC1",
    "From": "+380671234567",
    "To": "+15005550006",
    "Body": "Дякую, чекатиму в четвер",
    "NumMedia": "0",
    "SmsStatus": "received",
}


def test_twilio_an_incoming_message_is_a_reply() -> None:
    headers, body = twilio_post(INBOUND)
    (event,) = parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)
    assert (event.kind, event.address, event.text, event.provider_message_id) == (
        "reply",
        "+380671234567",
        "Дякую, чекатиму в четвер",
        "SM77aa",
    )


@pytest.mark.parametrize("changes", [{"Body": "  Стоп "}, {"Body": "End", "OptOutType": "STOP"}])
def test_twilio_a_stop_message_is_an_opt_out(changes: dict[str, str]) -> None:
    headers, body = twilio_post({**INBOUND, **changes})
    (event,) = parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)
    assert (event.kind, event.address) == ("opt_out", "+380671234567")


def test_twilio_a_url_with_or_without_its_default_port_is_the_same_url() -> None:
    headers, body = twilio_post(STATUS, signed_url="https://care.example:443/callbacks/twilio?channel=sms")
    assert parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)[0].status == "delivered"
    headers, body = twilio_post(STATUS)
    with_port = "https://care.example:443/callbacks/twilio?channel=sms"
    assert parse_callback("twilio", url=with_port, headers=headers, body=body)[0].status == "delivered"


def test_twilio_headers_may_come_in_any_case() -> None:
    headers, body = twilio_post(STATUS)
    lowered = {name.lower(): value for name, value in headers.items()}
    assert len(parse_callback("twilio", url=TWILIO_URL, headers=lowered, body=body)) == 1


@pytest.mark.parametrize(
    "forged",
    [
        # The body changed after Twilio signed it.
        lambda headers, body: (headers, body.replace(b"delivered", b"failed")),
        # Signed for another address.
        lambda headers, body: (
            twilio_post(STATUS, url="https://evil.example/callbacks/twilio?channel=sms")[0],
            body,
        ),
        # Signed with another account's token.
        lambda headers, body: (twilio_post(STATUS, token="someone-else")[0], body),
        # Not signed.
        lambda headers, body: ({}, body),
        # Not a signature at all.
        lambda headers, body: ({"X-Twilio-Signature": "Ω not base64"}, body),
    ],
)
def test_twilio_a_forged_callback_is_refused(forged: Any) -> None:
    headers, body = forged(*twilio_post(STATUS))
    with pytest.raises(SignatureInvalid):
        parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)


def test_twilio_callbacks_are_refused_when_twilio_is_not_configured(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {}
    headers, body = twilio_post(STATUS)
    with pytest.raises(SignatureInvalid):
        parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)


def test_twilio_a_signed_form_without_a_message_is_malformed() -> None:
    headers, body = twilio_post({"AccountSid": "AC1", "Foo": "bar"})
    with pytest.raises(MalformedCallback):
        parse_callback("twilio", url=TWILIO_URL, headers=headers, body=body)


def test_twilio_a_body_that_is_not_a_form_is_malformed() -> None:
    with pytest.raises(MalformedCallback):
        parse_callback("twilio", url=TWILIO_URL, headers={"X-Twilio-Signature": "x"}, body=b"\xff\xfe")


# --- Telegram -----------------------------------------------------------------------------------------------

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


# --- Viber --------------------------------------------------------------------------------------------------


def viber_post(event: dict[str, Any], token: str = VIBER_TOKEN) -> tuple[dict[str, str], bytes]:
    body = json.dumps(event, ensure_ascii=False).encode()
    signature = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Viber-Content-Signature": signature}, body


def parse_viber(headers: dict[str, str], body: bytes) -> list[CallbackEvent]:
    return parse_callback("viber", url="https://care.example/callbacks/viber", headers=headers, body=body)


@pytest.mark.parametrize(
    ("name", "status"), [("delivered", "delivered"), ("seen", "read"), ("failed", "failed")]
)
def test_viber_delivery_events_are_receipts(name: str, status: str) -> None:
    event = {
        "event": name,
        "timestamp": 1795426200123,
        "chat_hostname": "SN-CHAT-05_",
        "message_token": 5741311803571721087,
        "user_id": "01234567890A=",
    }
    if name == "failed":
        event["desc"] = "failure description"

    (receipt,) = parse_viber(*viber_post(event))

    assert (receipt.kind, receipt.status, receipt.channel) == ("receipt", status, "viber")
    assert (receipt.provider_message_id, receipt.address) == ("5741311803571721087", "01234567890A=")
    assert receipt.occurred_at == datetime.fromtimestamp(1795426200, UTC) + timedelta(milliseconds=123)
    assert receipt.reason == ("failure description" if name == "failed" else "")


def viber_message(text: str) -> dict[str, Any]:
    return {
        "event": "message",
        "timestamp": 1795426200000,
        "chat_hostname": "SN-CHAT-05_",
        "message_token": 4912661846655238145,
        "sender": {"id": "01234567890A=", "name": "Марія", "language": "uk", "api_version": 10},
        "message": {"type": "text", "text": text, "tracking_data": "outbox:1042:viber"},
        "silent": False,
    }


def test_viber_a_message_is_a_reply_tied_to_our_message_by_its_tracking_data() -> None:
    (event,) = parse_viber(*viber_post(viber_message("Дякую!")))
    assert (event.kind, event.address, event.text) == ("reply", "01234567890A=", "Дякую!")
    assert (event.provider_message_id, event.in_reply_to) == ("4912661846655238145", "outbox:1042:viber")


def test_viber_a_stop_message_and_unsubscribing_are_opt_outs() -> None:
    (said_stop,) = parse_viber(*viber_post(viber_message("СТОП")))
    unsubscribed = {"event": "unsubscribed", "timestamp": 1795426200000, "user_id": "01234567890A="}
    (left,) = parse_viber(*viber_post(unsubscribed))
    assert (said_stop.kind, said_stop.address) == ("opt_out", "01234567890A=")
    assert (left.kind, left.address) == ("opt_out", "01234567890A=")


@pytest.mark.parametrize("name", ["webhook", "subscribed", "conversation_started"])
def test_viber_events_we_do_not_act_on_give_no_events(name: str) -> None:
    assert parse_viber(*viber_post({"event": name, "timestamp": 1795426200000, "message_token": 1})) == []


def test_viber_a_tampered_body_is_refused() -> None:
    headers, body = viber_post(viber_message("Дякую!"))
    tampered = body.replace("Дякую!".encode(), "СТОП".encode())
    with pytest.raises(SignatureInvalid):
        parse_viber(headers, tampered)


@pytest.mark.parametrize(
    "headers",
    [{}, viber_post(viber_message("Дякую!"), token="another-bot")[0], {"X-Viber-Content-Signature": "Ω"}],
)
def test_viber_a_missing_or_foreign_signature_is_refused(headers: dict[str, str]) -> None:
    _, body = viber_post(viber_message("Дякую!"))
    with pytest.raises(SignatureInvalid):
        parse_viber(headers, body)


@pytest.mark.parametrize(
    "body", [b"{not json", b'["delivered"]', b'{"event": "delivered", "user_id": "01234567890A="}']
)
def test_viber_a_signed_body_that_is_not_an_event_is_malformed(body: bytes) -> None:
    signature = hmac.new(VIBER_TOKEN.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(MalformedCallback):
        parse_viber({"X-Viber-Content-Signature": signature}, body)


# --- Our webhook --------------------------------------------------------------------------------------------


def hook_post(payload: Any, secret: str = HOOK_SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return {"X-Forewarn-Signature": webhook_signature(secret, body)}, body


def parse_hook(headers: dict[str, str], body: bytes) -> list[CallbackEvent]:
    return parse_callback("webhook", url="https://care.example/callbacks/webhook", headers=headers, body=body)


def test_webhook_events_are_read_from_a_signed_list() -> None:
    kyiv = timezone(timedelta(hours=2))
    payload = [
        {
            "kind": "receipt",
            "provider_message_id": "gw-981",
            "status": "delivered",
            "occurred_at": "2026-11-23T11:30:00+02:00",
        },
        {"kind": "reply", "address": "crm:customer:42", "text": "Дякую", "in_reply_to": "gw-981"},
        {"kind": "opt_out", "address": "crm:customer:42"},
    ]

    receipt, reply, opt_out = parse_hook(*hook_post(payload))

    assert (receipt.kind, receipt.provider_message_id, receipt.status) == ("receipt", "gw-981", "delivered")
    assert receipt.occurred_at == datetime(2026, 11, 23, 11, 30, tzinfo=kyiv)
    assert receipt.occurred_at is not None
    assert receipt.occurred_at.tzinfo == UTC
    assert (reply.kind, reply.text, reply.in_reply_to, reply.occurred_at) == (
        "reply",
        "Дякую",
        "gw-981",
        None,
    )
    assert (opt_out.kind, opt_out.address, opt_out.channel) == ("opt_out", "crm:customer:42", "webhook")


def test_webhook_a_single_event_needs_no_list() -> None:
    (event,) = parse_hook(*hook_post({"kind": "receipt", "provider_message_id": "gw-1", "status": "failed"}))
    assert (event.status, event.provider) == ("failed", "webhook")


def test_webhook_the_secret_that_matches_names_the_channel(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {
        "webhook": {"provider": "webhook", "url": "https://gateway.example/in", "secret": HOOK_SECRET},
        "sms": {
            "provider": "webhook",
            "url": "https://sms-gateway.example/in",
            "secret": "sms-gateway-secret",
        },
    }
    (event,) = parse_hook(
        *hook_post({"kind": "opt_out", "address": "+380671234567"}, secret="sms-gateway-secret")
    )
    assert (event.channel, event.address) == ("sms", "+380671234567")


def test_webhook_a_tampered_body_is_refused() -> None:
    headers, body = hook_post({"kind": "receipt", "provider_message_id": "gw-1", "status": "delivered"})
    with pytest.raises(SignatureInvalid):
        parse_hook(headers, body.replace(b"delivered", b"read"))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Forewarn-Signature": "sha256=00"},
        hook_post({"kind": "opt_out", "address": "x"}, secret="other")[0],
    ],
)
def test_webhook_a_missing_or_foreign_signature_is_refused(headers: dict[str, str]) -> None:
    _, body = hook_post({"kind": "opt_out", "address": "x"})
    with pytest.raises(SignatureInvalid):
        parse_hook(headers, body)


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "bounce", "provider_message_id": "gw-1"},
        {"kind": "receipt", "provider_message_id": "gw-1"},
        {"kind": "reply", "text": "who sent this?"},
        {"kind": "receipt", "provider_message_id": 981, "status": "delivered"},
        {
            "kind": "receipt",
            "provider_message_id": "gw-1",
            "status": "read",
            "occurred_at": "2026-11-23T11:30:00",
        },
        {"kind": "receipt", "provider_message_id": "gw-1", "status": "read", "occurred_at": "yesterday"},
        ["not an event"],
    ],
)
def test_webhook_a_signed_event_of_another_shape_is_malformed(payload: Any) -> None:
    with pytest.raises(MalformedCallback):
        parse_hook(*hook_post(payload))


def test_webhook_a_signed_body_that_is_not_json_is_malformed() -> None:
    body = b"kind=receipt"
    with pytest.raises(MalformedCallback):
        parse_hook({"X-Forewarn-Signature": webhook_signature(HOOK_SECRET, body)}, body)
