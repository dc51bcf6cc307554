"""The demo's "Simulate an inbound message" page: what a member of staff writes as a customer goes through
the provider's signed callback and the one way in, and lands a ticket; only on the demo's channels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import SYSTEM
from django.test import Client

from forewarn.accounts.models import User
from forewarn.channels.registry import providers_from_env, reset_providers
from forewarn.customers.models import Customer, DuplicateCandidate
from forewarn.customers.services.profiles import add_identity
from forewarn.engage.models import Event
from forewarn.inbox.models import Ticket

PAGE = "/engage/messages/simulate/"


@pytest.fixture
def providers(settings: Any) -> Iterator[Callable[[dict[str, str]], None]]:
    def configure(environ: dict[str, str]) -> None:
        settings.FOREWARN_PROVIDERS = providers_from_env(environ)
        reset_providers()

    yield configure
    reset_providers()


@pytest.fixture
def demo(providers: Callable[[dict[str, str]], None]) -> None:
    providers({"FOREWARN_DEMO_CHANNELS": "on"})


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(client: Client, **form: str) -> Any:
    return client.post(PAGE, form)


def test_a_telegram_message_from_a_known_user_name_lands_on_her_ticket(
    demo: None, olena: User, maria: Customer
) -> None:
    add_identity(actor=SYSTEM, customer=maria, kind="telegram", value="@maria_p", source="crm")
    client = signed_in(olena)

    answer = send(
        client,
        channel="telegram",
        address="7000000042",
        username="maria_p",
        given_name="Maria",
        language="uk",
        text="Де моя посилка?",
    )

    assert answer.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.customer_id, ticket.channel) == (maria.pk, "telegram")
    assert ticket.entries.get().text == "Де моя посилка?"
    assert Event.objects.get(type="message_received").customer_id == maria.pk
    assert maria.identities.filter(kind="telegram", value="7000000042", is_primary=True).exists()
    # The page says where it landed.
    shown = client.get(answer["Location"])
    assert f'href="/inbox/{ticket.pk}/"' in shown.content.decode()
    assert parse_qs(urlsplit(answer["Location"]).query)["customer"] == [str(maria.pk)]


def test_someone_new_on_viber_becomes_a_customer_with_a_ticket(demo: None, olena: User) -> None:
    send(
        signed_in(olena),
        channel="viber",
        address="Q2hhcmxvdHRlRXZhbnM=",
        given_name="Charlotte",
        family_name="Evans",
        language="en-GB",
        country="GB",
        text="My bill came twice.",
    )

    customer = Customer.objects.get()
    assert (customer.full_name, customer.language, customer.time_zone) == (
        "Charlotte Evans",
        "en",
        "Europe/London",
    )
    assert Ticket.objects.get().customer_id == customer.pk


def test_a_known_name_from_a_new_number_is_proposed_as_a_duplicate(
    demo: None, olena: User, maria: Customer
) -> None:
    client = signed_in(olena)
    # The page's own example: someone new who bears a known customer's name.
    page = client.get(PAGE, {"channel": "telegram"}).content.decode()
    assert "Someone new named Марія Петренко, like a customer the demo knows" in page

    send(
        client,
        channel="telegram",
        address="6000000001",
        given_name="Марія",
        family_name="Петренко",
        text="Це я",
    )

    [candidate] = DuplicateCandidate.objects.all()
    assert {candidate.first_id, candidate.second_id} == {
        maria.pk,
        Customer.objects.exclude(pk=maria.pk).get().pk,
    }


def test_stop_is_heard_as_an_opt_out(demo: None, olena: User, maria: Customer) -> None:
    answer = send(signed_in(olena), channel="sms", address="+380671234567", text="СТОП")

    assert "opted_out=1" in answer["Location"]
    assert maria.consents.filter(channel="sms", status="denied").count() == 3
    assert not Ticket.objects.exists()


def test_what_cannot_be_sent_is_said_on_the_form_and_nothing_arrives(demo: None, olena: User) -> None:
    answer = send(signed_in(olena), channel="telegram", address="@maria", text="  ")

    assert answer.status_code == 422
    page = answer.content.decode()
    assert "A Telegram chat id is 5 to 15 digits." in page
    assert "Write what the customer says." in page
    assert not Customer.objects.exists()


def test_examples_fill_the_form_with_someone_the_demo_knows(demo: None, olena: User, maria: Customer) -> None:
    page = signed_in(olena).get(PAGE, {"channel": "sms", "example": "0"}).content.decode()
    assert "Марія Петренко, a customer the demo knows" in page
    assert 'value="+380671234567"' in page


def test_without_the_demo_s_channels_nothing_is_simulated(
    providers: Callable[[dict[str, str]], None], olena: User, maria: Customer
) -> None:
    providers({"FOREWARN_TELEGRAM_BOT_TOKEN": "1:A", "FOREWARN_TELEGRAM_WEBHOOK_SECRET": "real-secret"})
    client = signed_in(olena)

    page = client.get(PAGE).content.decode()
    assert "The demo's channels are off." in page
    answer = send(client, channel="telegram", address="7000000042", text="Привіт")

    assert answer.status_code == 409
    assert not Ticket.objects.exists()
    assert "Simulate an inbound message" not in client.get("/engage/messages/").content.decode()


def test_a_channel_with_a_real_provider_is_not_offered(
    providers: Callable[[dict[str, str]], None], olena: User
) -> None:
    providers({"FOREWARN_DEMO_CHANNELS": "on", "FOREWARN_VIBER_TOKEN": "real-token"})
    client = signed_in(olena)

    page = client.get(PAGE).content.decode()

    assert "?channel=telegram" in page
    assert "?channel=sms" in page
    assert "?channel=viber" not in page
    assert send(client, channel="viber", address="Q2hhcmxvdHRl=", text="Hi").status_code == 409
    assert "Simulate an inbound message" in client.get("/engage/messages/").content.decode()


def test_only_staff_signed_in_may_simulate(demo: None, db: None) -> None:
    answer = Client().post(PAGE, {"channel": "sms", "address": "+380671234567", "text": "Привіт"})
    assert answer.status_code == 302
    assert answer["Location"].startswith("/login/")
    assert not Customer.objects.exists()
