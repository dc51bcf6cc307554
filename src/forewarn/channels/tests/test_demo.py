"""The demo's channels: on only with FOREWARN_DEMO_CHANNELS, only where no real provider is set, recording
what they would send, hearing exactly the callbacks their provider would make, and warned about."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from forewarn.channels.base import Outbound
from forewarn.channels.callbacks import SignatureInvalid, parse_callback
from forewarn.channels.checks import check_providers
from forewarn.channels.inbound import Sender
from forewarn.channels.models import LocalDelivery
from forewarn.channels.providers.demo import HEARS, SECRETS, DemoProvider, Said, simulated_callback
from forewarn.channels.registry import provider_for, providers_from_env, reset_providers

ON = {"FOREWARN_DEMO_CHANNELS": "on"}
DEMO = {
    "sms": {"provider": "demo", "hears": "twilio", "secret": "demo-twilio-auth-token"},
    "telegram": {"provider": "demo", "hears": "telegram", "secret": "demo-telegram-secret"},
    "viber": {"provider": "demo", "hears": "viber", "secret": "demo-viber-auth-token"},
}


@pytest.fixture
def demo(settings: Any) -> Iterator[None]:
    settings.FOREWARN_PROVIDERS = providers_from_env(ON)
    reset_providers()
    yield
    reset_providers()


@pytest.mark.parametrize("value", ["on", "ON", "1", "true", "yes"])
def test_the_variable_turns_on_sms_telegram_and_viber(value: str) -> None:
    assert providers_from_env({"FOREWARN_DEMO_CHANNELS": value}) == DEMO


@pytest.mark.parametrize("value", ["", "off", "0", "false", "no"])
def test_off_or_unset_it_configures_nothing(value: str) -> None:
    assert providers_from_env({"FOREWARN_DEMO_CHANNELS": value}) == {}
    assert providers_from_env({}) == {}


def test_a_value_that_is_neither_on_nor_off_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="FOREWARN_DEMO_CHANNELS is on or off"):
        providers_from_env({"FOREWARN_DEMO_CHANNELS": "maybe"})


def test_a_real_provider_keeps_its_channel_and_the_demo_takes_the_others() -> None:
    providers = providers_from_env({**ON, "FOREWARN_TELEGRAM_BOT_TOKEN": "1:A"})
    assert providers["telegram"]["provider"] == "telegram"
    assert {channel: config["provider"] for channel, config in providers.items()} == {
        "sms": "demo",
        "telegram": "telegram",
        "viber": "demo",
    }


@pytest.mark.django_db
def test_a_demo_channel_records_what_it_would_send(demo: None) -> None:
    provider = provider_for("telegram")

    result = provider.send(
        Outbound(idempotency_key="k1", channel="telegram", address="5512345678", body="Так")
    )

    assert isinstance(provider, DemoProvider)
    assert result.provider == "demo"
    recorded = LocalDelivery.objects.get()
    assert (recorded.channel, recorded.address, recorded.body) == ("telegram", "5512345678", "Так")
    assert provider.send(
        Outbound(idempotency_key="k1", channel="telegram", address="5", body="Так")
    ).duplicate


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"provider": "demo", "hears": "viber"}, "hears twilio's callbacks"),
        ({"provider": "demo", "x": 1}, "x"),
    ],
)
def test_wrong_demo_settings_are_named(settings: Any, config: dict[str, Any], named: str) -> None:
    settings.FOREWARN_PROVIDERS = {"sms": config}
    with pytest.raises(ImproperlyConfigured, match=named):
        provider_for("sms")
    reset_providers()


def test_manage_check_warns_while_the_demo_s_channels_are_on(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = DEMO
    [warning] = check_providers()
    assert isinstance(warning, checks.Warning)
    assert warning.id == "channels.W001"
    assert "sms, telegram, viber" in warning.msg
    settings.FOREWARN_PROVIDERS = {}
    assert check_providers() == []


SAID = Said(
    text="Добрий день",
    address="5512345678",
    username="oksana_m",
    given_name="Оксана",
    family_name="Мельничук",
    language="uk",
    country="UA",
)
SAID_SENDER = Sender(given_name="Оксана", family_name="Мельничук", language="uk")
SAID_SENDER_WITH_COUNTRY = Sender(given_name="Оксана", family_name="Мельничук", language="uk", country="UA")


@pytest.mark.parametrize("channel", HEARS)
def test_a_simulated_message_is_the_callback_its_provider_would_make(demo: None, channel: str) -> None:
    said = SAID if channel != "sms" else Said(text="Добрий день", address="+380671234567", country="UA")
    kind = HEARS[channel]
    url = f"https://care.example/api/v1/channels/callbacks/{kind}"
    request = simulated_callback(channel, said, url=url, secret=SECRETS[kind], at=1795426200.0)

    (event,) = parse_callback(request.provider, url=request.url, headers=request.headers, body=request.body)

    assert (event.kind, event.channel, event.text) == ("reply", channel, "Добрий день")
    expected = {
        "telegram": ((("telegram", "5512345678"), ("telegram", "@oksana_m")), SAID_SENDER),
        "viber": ((("viber", "5512345678"),), SAID_SENDER_WITH_COUNTRY),
        "sms": ((("phone", "+380671234567"),), Sender(country="UA")),
    }[channel]
    assert (event.identities, event.sender) == expected


@pytest.mark.parametrize("channel", HEARS)
def test_the_demo_s_secret_opens_only_the_demo_s_channels(settings: Any, channel: str) -> None:
    settings.FOREWARN_PROVIDERS = providers_from_env(
        {
            "FOREWARN_SMS_ACCOUNT": "AC1",
            "FOREWARN_SMS_TOKEN": "real-token",
            "FOREWARN_SMS_FROM": "+380440000000",
            "FOREWARN_TELEGRAM_BOT_TOKEN": "1:A",
            "FOREWARN_TELEGRAM_WEBHOOK_SECRET": "real-secret",
            "FOREWARN_VIBER_TOKEN": "real-token",
        }
    )
    reset_providers()
    kind = HEARS[channel]
    url = f"https://care.example/api/v1/channels/callbacks/{kind}"
    request = simulated_callback(channel, SAID, url=url, secret=SECRETS[kind], at=1795426200.0)
    with pytest.raises(SignatureInvalid):
        parse_callback(request.provider, url=request.url, headers=request.headers, body=request.body)
    reset_providers()
