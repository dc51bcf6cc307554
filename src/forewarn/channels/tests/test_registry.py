"""Which provider sends on which channel: the local default, settings, the environment, and their mistakes;
and the table of kinds, each row held to what its module says of itself."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from forewarn.channels.base import FailureCode, Outbound, PermanentError, SendResult
from forewarn.channels.callbacks import CallbackEvent, SignatureInvalid, parse_callback
from forewarn.channels.models import LocalDelivery
from forewarn.channels.providers.local import LocalProvider
from forewarn.channels.providers.smtp import SmtpProvider
from forewarn.channels.providers.telegram import TelegramProvider
from forewarn.channels.providers.twilio import TwilioSmsProvider
from forewarn.channels.providers.viber import ViberProvider
from forewarn.channels.providers.webhook import WebhookProvider
from forewarn.channels.registry import (
    CHANNELS,
    KINDS,
    UnknownChannel,
    build_provider,
    close_provider,
    configured,
    kind_of,
    provider_for,
    providers_from_env,
    reset_providers,
    substitute_provider,
)
from forewarn.channels.tests.conftest import FakeApi

SMS = {"provider": "twilio", "account_sid": "AC1", "auth_token": "t", "from_number": "+15005550006"}


@pytest.mark.django_db
@pytest.mark.parametrize("channel", CHANNELS)
def test_without_settings_every_channel_is_recorded_locally(settings: Any, channel: str) -> None:
    settings.FOREWARN_PROVIDERS = {}
    provider = provider_for(channel)

    result = provider.send(Outbound(idempotency_key=f"k-{channel}", channel=channel, address="a", body="b"))

    assert isinstance(provider, LocalProvider)
    assert provider.channel == channel
    assert result.provider == "local"
    assert LocalDelivery.objects.get().channel == channel


def test_each_channel_gets_the_provider_its_settings_name(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {
        "email": {"provider": "smtp", "host": "mail.example.com", "from_address": "care@example.com"},
        "sms": SMS,
        "telegram": {"provider": "telegram", "bot_token": "1:A"},
        "viber": {"provider": "viber", "auth_token": "v"},
        "webhook": {"provider": "webhook", "url": "https://gateway.example/in", "secret": "s"},
    }
    kinds = {channel: type(provider_for(channel)) for channel in CHANNELS}
    assert kinds == {
        "email": SmtpProvider,
        "sms": TwilioSmsProvider,
        "telegram": TelegramProvider,
        "viber": ViberProvider,
        "webhook": WebhookProvider,
    }
    email = provider_for("email")
    assert isinstance(email, SmtpProvider)
    assert (email.host, email.port, email.from_address, email.channel) == (
        "mail.example.com",
        587,
        "care@example.com",
        "email",
    )


def test_a_provider_is_built_once_and_rebuilt_when_its_settings_change(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {"sms": SMS}
    first = provider_for("sms")
    assert provider_for("sms") is first

    settings.FOREWARN_PROVIDERS = {"sms": {**SMS, "from_number": "+15005550007"}}
    changed = provider_for("sms")
    assert changed is not first
    assert isinstance(changed, TwilioSmsProvider)
    assert changed.from_number == "+15005550007"
    assert isinstance(first, TwilioSmsProvider)
    assert first.client.is_closed

    reset_providers()
    assert changed.client.is_closed
    assert provider_for("sms") is not changed


def test_a_webhook_can_carry_another_channel_for_a_gateway_of_one_s_own(settings: Any, api: FakeApi) -> None:
    settings.FOREWARN_PROVIDERS = {"sms": {"provider": "webhook", "url": f"{api.url}/sms", "secret": "s"}}

    provider_for("sms").send(
        Outbound(idempotency_key="k", channel="sms", address="+380671234567", body="Так")
    )

    assert api.last.path == "/sms"
    assert api.last.json()["channel"] == "sms"


def test_a_channel_forewarn_cannot_send_on_is_a_permanent_failure() -> None:
    with pytest.raises(UnknownChannel) as unknown:
        provider_for("voice")
    assert isinstance(unknown.value, PermanentError)
    assert unknown.value.code == FailureCode.CHANNEL_UNSUPPORTED


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"provider": "pigeon"}, "unknown provider 'pigeon'"),
        ({"provider": "telegram", "bot_token": "1:A"}, "sends on telegram only"),
        ({**SMS, "auth_tokn": "typo"}, "auth_tokn"),
        ({"provider": "twilio", "account_sid": "AC1"}, "auth_token"),
        ({"provider": "webhook", "url": "https://gateway.example/in", "secret": ""}, "secret"),
        ("twilio", "a dict of settings"),
    ],
)
def test_wrong_settings_are_named_when_the_provider_is_needed(settings: Any, config: Any, named: str) -> None:
    settings.FOREWARN_PROVIDERS = {"sms": config}
    with pytest.raises(ImproperlyConfigured, match=named) as wrong:
        provider_for("sms")
    assert "FOREWARN_PROVIDERS['sms']" in str(wrong.value)


def test_manage_check_reports_wrong_provider_settings(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {"sms": {**SMS, "auth_tokn": "typo"}, "fax": {"provider": "local"}}
    with pytest.raises(SystemCheckError) as failed:
        call_command("check")
    assert "auth_tokn" in str(failed.value)
    assert "FOREWARN_PROVIDERS['fax']: unknown channel" in str(failed.value)


def test_the_check_passes_good_settings(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {"sms": SMS}
    call_command("check")
    assert isinstance(provider_for("sms"), TwilioSmsProvider)


def test_a_substitute_answers_for_a_channel_only_within_its_block(settings: Any) -> None:
    settings.FOREWARN_PROVIDERS = {"sms": SMS}

    class Refusing:
        name = "refusing"
        channel = "sms"

        def send(self, message: Outbound) -> SendResult:
            raise PermanentError("no", code=FailureCode.RECIPIENT_BLOCKED)

    refusing = Refusing()
    with substitute_provider("sms", refusing):
        assert provider_for("sms") is refusing
        assert isinstance(provider_for("email"), LocalProvider)
    assert isinstance(provider_for("sms"), TwilioSmsProvider)


# --- From the environment ---------------------------------------------------------------------------------

EVERY_VARIABLE = {
    "FOREWARN_SMTP_URL": "smtp://care%40example.com:p%40ss%3Aword@mail.example.com:2525"
    "?from=care@example.com&from_name=Турбота&timeout=20",
    "FOREWARN_SMS_URL": "https://sms-gateway.example",
    "FOREWARN_SMS_ACCOUNT": "AC1",
    "FOREWARN_SMS_TOKEN": "sms-token",
    "FOREWARN_SMS_FROM": "+15005550006",
    "FOREWARN_SMS_STATUS_CALLBACK": "https://care.example/callbacks/twilio",
    "FOREWARN_TELEGRAM_BOT_TOKEN": "1:A",
    "FOREWARN_TELEGRAM_WEBHOOK_SECRET": "tg-secret",
    "FOREWARN_VIBER_TOKEN": "viber-token",
    "FOREWARN_WEBHOOK_URL": "https://gateway.example/in",
    "FOREWARN_WEBHOOK_SECRET": "hook-secret",
}


def test_every_channel_can_be_set_from_the_environment() -> None:
    providers = providers_from_env(EVERY_VARIABLE)
    assert providers == {
        "email": {
            "provider": "smtp",
            "host": "mail.example.com",
            "port": 2525,
            "username": "care@example.com",
            "password": "p@ss:word",
            "security": "starttls",
            "from_address": "care@example.com",
            "from_name": "Турбота",
            "timeout": 20.0,
        },
        "sms": {
            "provider": "twilio",
            "account_sid": "AC1",
            "auth_token": "sms-token",
            "from_number": "+15005550006",
            "base_url": "https://sms-gateway.example",
            "status_callback": "https://care.example/callbacks/twilio",
        },
        "telegram": {"provider": "telegram", "bot_token": "1:A", "webhook_secret": "tg-secret"},
        "viber": {"provider": "viber", "auth_token": "viber-token", "sender_name": "Forewarn"},
        "webhook": {"provider": "webhook", "url": "https://gateway.example/in", "secret": "hook-secret"},
    }


def test_environment_settings_build_working_providers(settings: Any, api: FakeApi) -> None:
    settings.FOREWARN_PROVIDERS = providers_from_env(
        {
            "FOREWARN_SMS_URL": api.url,
            "FOREWARN_SMS_ACCOUNT": "AC1",
            "FOREWARN_SMS_TOKEN": "sms-token",
            "FOREWARN_SMS_FROM": "+15005550006",
            "FOREWARN_SMTP_URL": "smtps://mail.example.com?from=care@example.com",
        }
    )
    api.answer(201, {"sid": "SM1"})

    result = provider_for("sms").send(Outbound(idempotency_key="k", channel="sms", address="+1", body="Так"))

    assert result.provider_message_id == "SM1"
    assert api.last.path == "/2010-04-01/Accounts/AC1/Messages.json"
    email = provider_for("email")
    assert isinstance(email, SmtpProvider)
    assert (email.security, email.port) == ("ssl", 465)


def test_no_environment_leaves_every_channel_local() -> None:
    assert providers_from_env({}) == {}


def test_settings_py_can_read_the_environment_before_django_is_set_up() -> None:
    code = (
        "import json, sys; from forewarn.channels.registry import providers_from_env;"
        " print(json.dumps(providers_from_env()));"
        " print(json.dumps(sorted(m for m in sys.modules if m.startswith('forewarn.channels'))))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FOREWARN_", "DJANGO_"))}
    done = subprocess.run(  # noqa: S603 - the test's own interpreter
        [sys.executable, "-c", code],
        env={**clean, "FOREWARN_VIBER_TOKEN": "viber-token"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    providers, modules = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert providers == {
        "viber": {"provider": "viber", "auth_token": "viber-token", "sender_name": "Forewarn"}
    }
    assert "forewarn.channels.models" not in modules
    assert "forewarn.channels.providers.local" not in modules


# --- The table of kinds -------------------------------------------------------------------------------------

# A value each required option can take; any other is its name and "-value".
SAMPLES = {"from_address": "care@example.com"}
SERVED = [(name, channel) for name in KINDS for channel in kind_of(name).channels or CHANNELS]


@pytest.mark.parametrize("name", KINDS)
def test_every_row_names_a_module_that_describes_that_kind(name: str) -> None:
    kind = kind_of(name)
    assert kind.name == name
    # settings.py imports the modules that read the environment before the models exist.
    assert (kind.from_env is not None) == KINDS[name].reads_env


@pytest.mark.parametrize("name", KINDS)
def test_every_row_s_channels_are_channels_forewarn_sends_on(name: str) -> None:
    channels = kind_of(name).channels
    assert channels is None or (channels and set(channels) <= set(CHANNELS))


@pytest.mark.parametrize("name", KINDS)
def test_every_row_declares_exactly_the_options_its_provider_takes(name: str) -> None:
    kind = kind_of(name)
    keywords = {
        parameter.name: parameter.default is inspect.Parameter.empty
        for parameter in inspect.signature(kind.factory).parameters.values()
        if parameter.name != "channel"
    }
    declared = {option.name: option.required for option in kind.options}
    assert len(declared) == len(kind.options), "an option is declared twice"
    assert declared == keywords


@pytest.mark.parametrize(("name", "channel"), SERVED, ids=[f"{name}-{channel}" for name, channel in SERVED])
def test_every_kind_is_built_from_its_settings_on_every_channel_it_serves(
    settings: Any, name: str, channel: str
) -> None:
    kind = kind_of(name)
    required = {
        option.name: SAMPLES.get(option.name, f"{option.name}-value")
        for option in kind.options
        if option.required
    }
    settings.FOREWARN_PROVIDERS = {channel: {"provider": name, **required}}

    provider = provider_for(channel)

    assert configured(channel) == {"provider": name, **required}
    assert type(provider) is kind.factory
    assert (provider.name, provider.channel) == (name, channel)


@pytest.mark.parametrize("name", KINDS)
def test_parse_callback_hands_a_kind_s_callbacks_to_its_module(monkeypatch: Any, name: str) -> None:
    kind = kind_of(name)
    heard: list[tuple[str, dict[str, str], bytes]] = []

    def parser(url: str, headers: dict[str, str], body: bytes) -> list[CallbackEvent]:
        heard.append((url, headers, body))
        return []

    if kind.parse_callback is None:
        with pytest.raises(SignatureInvalid, match="no callbacks are expected"):
            parse_callback(name, url="https://care.example/cb", headers={}, body=b"{}")
        return
    monkeypatch.setattr(
        importlib.import_module(KINDS[name].module), "KIND", replace(kind, parse_callback=parser)
    )

    assert parse_callback(name, url="https://care.example/cb", headers={"X-Sign": "s"}, body=b"{}") == []
    assert heard == [("https://care.example/cb", {"x-sign": "s"}, b"{}")]


def test_the_environment_names_only_kinds_in_the_table_on_channels_they_serve() -> None:
    providers = providers_from_env(EVERY_VARIABLE)

    assert providers, "every variable set configures something"
    for channel, config in providers.items():
        kind = kind_of(config["provider"])
        assert channel in (kind.channels or CHANNELS)
        close_provider(build_provider(channel, config))


def test_two_kinds_may_not_configure_one_channel_from_the_environment(monkeypatch: Any) -> None:
    module = importlib.import_module(KINDS["webhook"].module)
    as_sms = {"sms": {"provider": "webhook", "url": "https://gateway.example/sms", "secret": "s"}}
    monkeypatch.setattr(module, "KIND", replace(module.KIND, from_env=lambda env: as_sms))

    assert providers_from_env({}) == as_sms
    with pytest.raises(ImproperlyConfigured) as twice:
        providers_from_env(EVERY_VARIABLE)
    assert str(twice.value) == "the environment configures sms twice (the twilio and the webhook variables)"


def test_a_settings_mistake_never_repeats_a_secret(settings: Any, monkeypatch: Any) -> None:
    def refusing(**options: Any) -> Any:
        raise ValueError(f"the secret {options['secret']} cannot be used at {options['url']}")

    module = importlib.import_module(KINDS["webhook"].module)
    monkeypatch.setattr(module, "KIND", replace(module.KIND, factory=refusing))
    url = "https://gateway.example/in"
    settings.FOREWARN_PROVIDERS = {"webhook": {"provider": "webhook", "url": url, "secret": "s3cr3t-value"}}

    with pytest.raises(ImproperlyConfigured) as wrong:
        provider_for("webhook")

    assert (
        str(wrong.value) == f"FOREWARN_PROVIDERS['webhook'] (webhook): the secret *** cannot be used at {url}"
    )
