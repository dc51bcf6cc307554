"""The signed examples in docs/callbacks.md, run as written (bash, curl, openssl) against a live server:
with the demo's channels (as ``make run`` starts them) each is accepted and lands a ticket; with a
production configuration, without the demo's channels, the very same requests are refused and change
nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from forewarn.channels.providers.demo import HEARS
from forewarn.channels.registry import providers_from_env, reset_providers
from forewarn.customers.models import Customer
from forewarn.inbox.models import Ticket

DOC = Path(__file__).resolve().parents[4] / "docs" / "callbacks.md"
EXAMPLE = re.compile(r"<!-- example: (\w+) -->\n```sh\n(.*?)```", re.DOTALL)
CHANNEL_OF = {kind: channel for channel, kind in HEARS.items()}
# What a production installation may look like: nothing configured, or real providers and no demo.
PRODUCTION = {
    "nothing configured": {},
    "real providers": {
        "FOREWARN_SMS_ACCOUNT": "AC1",
        "FOREWARN_SMS_TOKEN": "a-real-auth-token",
        "FOREWARN_SMS_FROM": "+380440000000",
        "FOREWARN_TELEGRAM_BOT_TOKEN": "1:A",  # and no webhook secret: every update is refused
        "FOREWARN_VIBER_TOKEN": "a-real-viber-token",
    },
}


def examples() -> dict[str, str]:
    return dict(EXAMPLE.findall(DOC.read_text(encoding="utf-8")))


def run(example: str, base: str) -> Any:
    done = subprocess.run(  # noqa: S603 - bash running the documentation's own example
        ["/bin/bash", "-euo", "pipefail", "-c", example],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "BASE": base, "LC_ALL": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def live(live_server: Any, transactional_db: None, audit_log_steps_aside: None) -> str:
    return str(live_server.url)


@pytest.fixture
def providers(settings: Any) -> Iterator[Any]:
    yield lambda environ: setattr(settings, "FOREWARN_PROVIDERS", providers_from_env(environ))
    reset_providers()


def test_the_documentation_has_an_example_for_each_demo_channel() -> None:
    assert sorted(examples()) == sorted(HEARS.values())


@pytest.mark.parametrize("kind", sorted(HEARS.values()))
def test_each_documented_example_is_accepted_by_the_demo_and_lands_a_ticket(
    kind: str, live: str, providers: Any
) -> None:
    providers({"FOREWARN_DEMO_CHANNELS": "on"})

    answer = run(examples()[kind], live)

    assert answer == {"receipts": 0, "opt_outs": 0, "replies": 1, "unknown": 0}
    ticket = Ticket.objects.select_related("customer").get()
    assert ticket.channel == CHANNEL_OF[kind]
    assert ticket.entries.count() == 1
    customer = ticket.customer
    expected = {
        "telegram": ("Оксана", "Мельничук", "uk", "Europe/Kyiv"),
        "viber": ("Charlotte", "Evans", "en", "Europe/London"),
        "twilio": ("", "", "uk", "Europe/Kyiv"),
    }
    assert (customer.given_name, customer.family_name, customer.language, customer.time_zone) == expected[
        kind
    ]
    # Sent again as it is, it is the same message.
    assert run(examples()[kind], live)["replies"] == 1
    assert ticket.entries.count() == 1


@pytest.mark.parametrize("environ", PRODUCTION.values(), ids=PRODUCTION.keys())
@pytest.mark.parametrize("kind", sorted(HEARS.values()))
def test_without_the_demo_s_channels_the_same_requests_are_refused(
    kind: str, environ: dict[str, str], live: str, providers: Any
) -> None:
    providers(environ)

    answer = run(examples()[kind], live)

    assert answer["error"]["code"] == "signature_invalid"
    assert not Ticket.objects.exists()
    assert not Customer.objects.exists()
