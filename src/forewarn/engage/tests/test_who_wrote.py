"""Who wrote, through the provider callbacks as Telegram, Viber and an SMS provider send them (signed): the
customer is found by every identity the provider gives, learns the ones they lacked, a newcomer's profile
is filled with what the provider says of them, and a newcomer who bears a known name is proposed as a
duplicate of that profile."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import SYSTEM, ApiClient
from django.test import Client

from forewarn.accounts.models import User
from forewarn.channels.providers.twilio import twilio_signature
from forewarn.channels.registry import reset_providers
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, add_identity, create_customer
from forewarn.inbox.models import Ticket

TELEGRAM_SECRET = "tg-secret_0123456789"
VIBER_TOKEN = "445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9"
TWILIO_TOKEN = "twilio-auth-token"
CHAT_ID = 5512345678


@pytest.fixture(autouse=True)
def _providers(settings: Any) -> Iterator[None]:
    settings.FOREWARN_PROVIDERS = {
        "sms": {"provider": "twilio", "account_sid": "AC1", "auth_token": TWILIO_TOKEN, "from_number": "+1"},
        "telegram": {"provider": "telegram", "bot_token": "1:A", "webhook_secret": TELEGRAM_SECRET},
        "viber": {"provider": "viber", "auth_token": VIBER_TOKEN},
    }
    reset_providers()
    yield
    reset_providers()


@pytest.fixture
def staff(api_as: Callable[..., ApiClient], taras: User) -> ApiClient:
    return api_as(taras)


def telegram(text: str, *, chat_id: int = CHAT_ID, message_id: int = 1, **person: Any) -> Any:
    update = {
        "update_id": message_id,
        "message": {
            "message_id": message_id,
            "from": {"id": chat_id, "is_bot": False, **person},
            "chat": {"id": chat_id, "type": "private"},
            "date": int(clock.now().timestamp()),
            "text": text,
        },
    }
    answer = Client().post(
        "/api/v1/channels/callbacks/telegram",
        data=json.dumps(update, ensure_ascii=False),
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def viber(text: str, sender: dict[str, Any], *, token: int = 4912661846655238145) -> Any:
    event = {
        "event": "message",
        "timestamp": int(clock.now().timestamp() * 1000),
        "message_token": token,
        "sender": {"api_version": 10, **sender},
        "message": {"type": "text", "text": text},
    }
    body = json.dumps(event, ensure_ascii=False).encode()
    answer = Client().post(
        "/api/v1/channels/callbacks/viber",
        data=body,
        content_type="application/json",
        headers={
            "X-Viber-Content-Signature": hmac.new(VIBER_TOKEN.encode(), body, hashlib.sha256).hexdigest()
        },
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def sms(text: str, sender: str, *, sid: str = "SM1", **extra: str) -> Any:
    pairs = sorted({"MessageSid": sid, "From": sender, "To": "+1", "Body": text, **extra}.items())
    url = "http://testserver/api/v1/channels/callbacks/twilio"
    answer = Client().post(
        "/api/v1/channels/callbacks/twilio",
        data=urlencode(pairs),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url, pairs)},
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def profile(staff: ApiClient, customer_id: int) -> dict[str, Any]:
    answer = staff.get(f"/api/v1/customers/{customer_id}")
    assert answer.status_code == 200, answer.content
    found: dict[str, Any] = answer.json()
    return found


def identities(found: dict[str, Any], kind: str) -> list[tuple[str, bool]]:
    return [(i["value"], i["is_primary"]) for i in found["identities"] if i["kind"] == kind]


def newcomer() -> Customer:
    [made] = Customer.objects.order_by("-pk")[:1]
    return made


def open_duplicates(staff: ApiClient) -> list[dict[str, Any]]:
    answer = staff.get("/api/v1/duplicates")
    assert answer.status_code == 200, answer.content
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


# --- Known customers --------------------------------------------------------------------------------------


def test_a_telegram_message_from_a_user_name_a_profile_holds_is_that_customer(
    maria: Customer, staff: ApiClient
) -> None:
    add_identity(actor=SYSTEM, customer=maria, kind="telegram", value="@maria_p", source="crm")

    heard = telegram("Де моя посилка?", first_name="Марія", username="Maria_P", language_code="en")

    assert heard["replies"] == 1
    assert Customer.objects.count() == 1
    ticket = Ticket.objects.get()
    assert (ticket.customer_id, ticket.channel) == (maria.pk, "telegram")
    # She learnt the chat id, which is what Telegram can send to: her Telegram address from now on.
    found = profile(staff, maria.pk)
    assert sorted(identities(found, "telegram")) == [("5512345678", True), ("@maria_p", False)]
    # What the profile held stays: her name and language are not the update's.
    assert (found["given_name"], found["family_name"], found["language"]) == ("Марія", "Петренко", "uk")
    # Her next message, without the user name (she removed it), still finds her.
    telegram("Дякую", message_id=2, first_name="Марія")
    assert Customer.objects.count() == 1
    assert Ticket.objects.get().entries.count() == 2


def test_a_telegram_stop_from_a_known_user_name_refuses_on_her_profile(maria: Customer) -> None:
    add_identity(actor=SYSTEM, customer=maria, kind="telegram", value="@maria_p", source="crm")

    heard = telegram("/stop", username="maria_p")

    assert heard["opt_outs"] == 1
    assert maria.consents.filter(channel="telegram", status="denied").count() == 3
    assert Customer.objects.count() == 1


def test_a_viber_message_is_the_customer_holding_its_viber_id(maria: Customer) -> None:
    add_identity(actor=SYSTEM, customer=maria, kind="viber", value="01234567890A=", source="crm")

    heard = viber("Коли прийде рахунок?", {"id": "01234567890A=", "name": "Masha", "language": "ru"})

    assert heard["replies"] == 1
    assert Customer.objects.count() == 1
    assert Ticket.objects.get().customer_id == maria.pk
    maria.refresh_from_db()
    assert (maria.given_name, maria.language) == ("Марія", "uk")


@pytest.mark.parametrize("written", ["+380671234567", "380671234567", "0671234567", "+380 (67) 123-45-67"])
def test_an_sms_from_her_number_in_any_format_is_hers(maria: Customer, written: str) -> None:
    heard = sms("Дякую!", written)

    assert heard["replies"] == 1
    assert Ticket.objects.get().customer_id == maria.pk
    assert Customer.objects.count() == 1


def test_one_sender_s_identities_on_two_profiles_are_proposed_as_one_person(
    maria: Customer, oleh: Customer, staff: ApiClient
) -> None:
    add_identity(actor=SYSTEM, customer=maria, kind="telegram", value=str(CHAT_ID), source="crm")
    add_identity(actor=SYSTEM, customer=oleh, kind="telegram", value="@maria_p", source="crm")

    telegram("Привіт", username="maria_p")

    # The chat id is the more specific: the message is hers, and the user name stays where it was.
    assert Ticket.objects.get().customer_id == maria.pk
    assert identities(profile(staff, oleh.pk), "telegram") == [("@maria_p", True)]
    [proposed] = open_duplicates(staff)
    assert {proposed["first_id"], proposed["second_id"]} == {maria.pk, oleh.pk}
    assert proposed["reasons"] == ["one_sender"]


# --- Someone new --------------------------------------------------------------------------------------------


def test_someone_new_on_telegram_is_named_and_speaks_as_telegram_says(staff: ApiClient, db: None) -> None:
    heard = telegram(
        "Добрий день",
        first_name="Анна Марія",
        last_name="Коваленко",
        username="AnnaMaria_K",
        language_code="ru-UA",
    )

    assert heard["replies"] == 1
    found = profile(staff, newcomer().pk)
    assert (found["given_name"], found["family_name"], found["language"]) == ("Анна Марія", "Коваленко", "ru")
    assert identities(found, "telegram") == [("5512345678", True), ("@annamaria_k", False)]
    assert Ticket.objects.get().customer_id == found["id"]


def test_someone_new_on_viber_gets_the_name_language_and_time_zone_viber_gives(
    staff: ApiClient, db: None
) -> None:
    viber(
        "Hello, my router is down",
        {"id": "Q2hhcmxvdHRl=", "name": "Charlotte Evans", "language": "en-GB", "country": "GB"},
    )

    found = profile(staff, newcomer().pk)
    assert (found["given_name"], found["family_name"], found["language"]) == ("Charlotte", "Evans", "en")
    assert found["time_zone"] == "Europe/London"
    assert identities(found, "viber") == [("Q2hhcmxvdHRl=", True)]


def test_someone_new_by_sms_is_their_number_in_its_time_zone(staff: ApiClient, db: None) -> None:
    # Many gateways write the sender's international number without its "+".
    heard = sms("Is my order on its way?", "14155550147")

    assert heard["replies"] == 1
    found = profile(staff, newcomer().pk)
    assert identities(found, "phone") == [("+14155550147", True)]
    assert found["time_zone"] == "America/Los_Angeles"
    # A language Forewarn does not speak, or a country of many times, leaves the defaults.
    viber("Olá", {"id": "UGVkcm8gU2lsdmE=", "name": "Pedro", "language": "pt-BR", "country": "BR"}, token=2)
    found = profile(staff, newcomer().pk)
    assert (found["language"], found["time_zone"]) == ("uk", "Europe/Kyiv")


# --- A known name from a new address ------------------------------------------------------------------------


def test_a_newcomer_with_a_known_name_is_proposed_as_a_duplicate(maria: Customer, staff: ApiClient) -> None:
    telegram("Це Марія, новий номер", first_name="Maria", last_name="Petrenko", language_code="uk")

    assert Customer.objects.count() == 2
    made = newcomer()
    [proposed] = open_duplicates(staff)
    assert (proposed["first_id"], proposed["second_id"]) == (maria.pk, made.pk)
    assert proposed["reasons"][1:] == ["new_sender"]
    assert proposed["reasons"][0].startswith("name:")
    assert proposed["reason_texts"][1] == "a new sender with this name"


def test_a_given_name_alone_or_a_common_name_proposes_nobody(maria: Customer, staff: ApiClient) -> None:
    telegram("Привіт", first_name="Марія")
    assert open_duplicates(staff) == []

    for n in range(3):
        create_customer(
            actor=SYSTEM,
            data=ProfileIn(
                given_name="Олег",
                family_name="Коваль",
                identities=[IdentityIn("email", f"oleh.koval{n}@example.com")],
            ),
            source="tests",
        )
    viber("Добрий день", {"id": "T2xlaCBLb3ZhbA==", "name": "Олег Коваль"}, token=3)
    assert len(open_duplicates(staff)) == 3  # three namesakes: each is asked about
    create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name="Олег", family_name="Коваль", identities=[IdentityIn("phone", "+380501112299")]
        ),
        source="tests",
    )
    viber("Добрий вечір", {"id": "T2xlaCBLb3ZhbDI=", "name": "Oleh Koval"}, token=4)
    assert len(open_duplicates(staff)) == 3  # five namesakes tell nobody apart: none asked about
