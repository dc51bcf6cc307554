"""The rule every HTTP provider shares (providers/http.py), against a real HTTP server on 127.0.0.1: which
answers are worth a retry, Retry-After, time-outs and the one client each keeps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from forewarn.channels.base import DeliveryError, FailureCode, PermanentError, Provider, TransientError
from forewarn.channels.providers.http import HttpProvider
from forewarn.channels.providers.webhook import WebhookProvider
from forewarn.channels.tests.conftest import FakeApi, outbound
from forewarn.channels.tests.test_telegram import telegram
from forewarn.channels.tests.test_twilio import twilio
from forewarn.channels.tests.test_viber import viber
from forewarn.channels.tests.test_webhook import webhook
from forewarn.core import clock

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
