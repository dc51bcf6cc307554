"""Viber's REST bot API: the request against a real HTTP server on 127.0.0.1 and which answers are worth a
retry; the events it sends, each signed with the bot's auth token."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from forewarn.channels.base import FailureCode, PermanentError, TransientError
from forewarn.channels.callbacks import CallbackEvent, MalformedCallback, SignatureInvalid, parse_callback
from forewarn.channels.inbound import Sender
from forewarn.channels.providers.viber import ViberProvider
from forewarn.channels.tests.conftest import TEXT, FakeApi, outbound

VIBER_TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"


@pytest.fixture(autouse=True)
def _viber_with_its_auth_token(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {"viber": {"provider": "viber", "auth_token": VIBER_TOKEN}}


# The provider as the tests set it up, at the base URL of the server it talks to (test_http.py too).
def viber(base_url: str) -> ViberProvider:
    return ViberProvider(auth_token="viber-token", sender_name="Турбота", base_url=base_url)


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


# --- Callbacks ----------------------------------------------------------------------------------------------


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
    assert event.identities == (("viber", "01234567890A="),)


def test_viber_a_message_says_the_sender_s_name_language_and_country() -> None:
    message = viber_message("Hello")
    message["sender"] = {
        **message["sender"],
        "name": "Charlotte  Evans",
        "language": "en-GB",
        "country": "GB",
    }
    (event,) = parse_viber(*viber_post(message))
    assert event.sender == Sender(given_name="Charlotte", family_name="Evans", language="en-GB", country="GB")


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
