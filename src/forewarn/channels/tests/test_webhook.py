"""The signed webhook: the message as it reaches a real HTTP server on 127.0.0.1; the events its receiver
posts back, signed like the messages; its environment variables."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from forewarn.channels.callbacks import CallbackEvent, MalformedCallback, SignatureInvalid, parse_callback
from forewarn.channels.providers.webhook import WebhookProvider, webhook_signature
from forewarn.channels.registry import providers_from_env
from forewarn.channels.tests.conftest import TEXT, FakeApi, outbound

HOOK_SECRET = "hook-secret"


@pytest.fixture(autouse=True)
def _webhook_with_its_secret(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {
        "webhook": {"provider": "webhook", "url": "https://gateway.example/in", "secret": HOOK_SECRET},
    }


# The provider as the tests set it up, at the base URL of the server it talks to (test_http.py too).
def webhook(base_url: str) -> WebhookProvider:
    return WebhookProvider(url=f"{base_url}/forewarn/messages", secret="webhook-secret")


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


# --- Callbacks ----------------------------------------------------------------------------------------------


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


# --- From the environment -----------------------------------------------------------------------------------


def test_incomplete_environment_settings_are_named_without_their_secrets() -> None:
    with pytest.raises(ImproperlyConfigured, match="FOREWARN_WEBHOOK_SECRET"):
        providers_from_env({"FOREWARN_WEBHOOK_URL": "https://gateway.example/in"})
