"""The customers API as a machine client sees it: what it stores, how it refuses bad input, and merges.

Every refusal is checked twice: the answer names the field and the reason, and nothing was stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.core import clock
from forewarn.customers.models import (
    Consent,
    ConsentChange,
    Customer,
    DuplicateCandidate,
    Identity,
    Merge,
)
from forewarn.customers.services.dedup import find_duplicates
from forewarn.customers.services.profiles import ConsentIn, IdentityIn, ProfileIn, create_customer

SYSTEM = Actor.system("tests")
CUSTOMERS = "/api/v1/customers"


@pytest.fixture
def as_olena(api_as: Callable[..., Any], olena: User) -> Any:
    return api_as(olena)


@pytest.fixture
def as_taras(api_as: Callable[..., Any], taras: User) -> Any:
    return api_as(taras)


def new_customer(**changes: Any) -> dict[str, Any]:
    """A complete, valid create body; tests change only what they are about."""
    body: dict[str, Any] = {
        "given_name": "Оксана",
        "family_name": "Мельник",
        "birth_date": "1990-06-01",
        "city": "Львів",
        "language": "uk",
        "time_zone": "Europe/Kyiv",
        "preferred_channel": "viber",
        "segments": ["VIP"],
        "attributes": {"tier": "gold"},
        "identities": [
            {"kind": "phone", "value": "+38 (050) 765-43-21"},
            {"kind": "email", "value": "Oksana.Melnyk@Example.COM"},
        ],
        "consents": [{"topic": "marketing", "channel": "email", "status": "granted"}],
    }
    body.update(changes)
    return body


def error_of(answer: Any) -> dict[str, Any]:
    payload = answer.json()
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"code", "message", "fields"}
    assert payload["error"]["message"]
    error = payload["error"]
    assert isinstance(error, dict)
    return error


def field_codes(answer: Any) -> dict[str, str]:
    return {f["path"]: f["code"] for f in error_of(answer)["fields"]}


def ids(page: Any) -> list[int]:
    return [item["id"] for item in page.json()["items"]]


def consents_of(customer: Customer) -> dict[tuple[str, str], str]:
    return {(c.topic, c.channel): c.status for c in Consent.objects.filter(customer=customer)}


# --- create --------------------------------------------------------------------------------------


def test_create_stores_a_normalised_profile(as_olena: Any) -> None:
    answer = as_olena.post(CUSTOMERS, new_customer())

    assert answer.status_code == 201
    made = answer.json()
    assert made["full_name"] == "Оксана Мельник"
    assert made["birth_date"] == "1990-06-01"
    assert (made["language"], made["time_zone"], made["preferred_channel"]) == ("uk", "Europe/Kyiv", "viber")
    assert {(i["kind"], i["value"], i["is_primary"]) for i in made["identities"]} == {
        ("phone", "+380507654321", True),
        ("email", "oksana.melnyk@example.com", True),
    }
    assert [(c["topic"], c["channel"], c["status"]) for c in made["consents"]] == [
        ("marketing", "email", "granted")
    ]
    assert made["segments"] == ["vip"]
    assert made["attributes"] == {"tier": "gold"}
    assert made["status"] == "active"
    assert made["merged_into"] is None
    assert as_olena.get(f"{CUSTOMERS}/{made['id']}").json() == made


def test_create_with_only_a_name_takes_the_defaults(as_olena: Any) -> None:
    answer = as_olena.post(CUSTOMERS, {"given_name": "  Іван   Петрович "})

    assert answer.status_code == 201
    made = answer.json()
    assert made["given_name"] == "Іван Петрович"
    assert (made["language"], made["time_zone"]) == ("uk", "Europe/Kyiv")
    assert (made["quiet_hours_start"], made["quiet_hours_end"]) == ("21:00:00", "09:00:00")
    assert made["identities"] == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty"),
        pytest.param({"given_name": "   ", "family_name": ""}, id="blank-names"),
        pytest.param({"middle_name": "Петрович"}, id="only-a-middle-name"),
        pytest.param(
            {"city": "Львів", "language": "uk", "segments": ["vip"], "attributes": {"tier": "gold"}},
            id="details-but-nobody",
        ),
    ],
)
def test_a_customer_needs_a_name_or_an_identity(as_olena: Any, body: dict[str, Any]) -> None:
    answer = as_olena.post(CUSTOMERS, body)

    assert answer.status_code == 422
    assert error_of(answer)["code"] == "validation_failed"
    assert field_codes(answer) == {"given_name": "name_or_identity_required"}
    assert Customer.objects.count() == 0


def test_the_nameless_refusal_speaks_the_callers_language(as_olena: Any) -> None:
    answer = as_olena.post(CUSTOMERS, {}, headers={"Accept-Language": "uk"})

    (field,) = error_of(answer)["fields"]
    assert field["message"] == (
        "Клієнтові потрібне ім’я або ідентифікатор (телефон, email чи id у месенджері)."
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"identities": [{"kind": "email", "value": "oksana@example.com"}]}, id="only-an-email"),
        pytest.param({"family_name": "Мельник"}, id="only-a-family-name"),
    ],
)
def test_a_name_or_an_identity_alone_is_enough(as_olena: Any, body: dict[str, Any]) -> None:
    assert as_olena.post(CUSTOMERS, body).status_code == 201


def test_an_identity_that_is_not_valid_is_named_instead(as_olena: Any) -> None:
    answer = as_olena.post(CUSTOMERS, {"identities": [{"kind": "phone", "value": "12"}]})

    assert answer.status_code == 422
    assert field_codes(answer) == {"identities.0.value": "phone_invalid"}


def test_the_consent_given_at_creation_is_in_the_history(as_olena: Any, olena: User) -> None:
    made = as_olena.post(CUSTOMERS, new_customer()).json()

    history = as_olena.get(f"{CUSTOMERS}/{made['id']}/consents/history").json()

    assert [
        (h["topic"], h["channel"], h["previous"], h["status"], h["source"], h["actor"])
        for h in history["items"]
    ] == [("marketing", "email", "", "granted", "api", str(olena))]


@pytest.mark.parametrize(
    ("changes", "path", "code"),
    [
        pytest.param(
            {"identities": [{"kind": "phone", "value": "hello"}]},
            "identities.0.value",
            "phone_unparseable",
            id="phone-unparseable",
        ),
        pytest.param(
            {"identities": [{"kind": "phone", "value": "+380 12 345 67 89"}]},
            "identities.0.value",
            "phone_invalid",
            id="phone-invalid-for-its-country",
        ),
        pytest.param(
            {"identities": [{"kind": "email", "value": "oksana@"}]},
            "identities.0.value",
            "email_invalid",
            id="email-invalid",
        ),
        pytest.param(
            {"identities": [{"kind": "phone", "value": "   "}]},
            "identities.0.value",
            "required",
            id="identity-blank",
        ),
        pytest.param(
            {"identities": [{"kind": "pager", "value": "12345"}]},
            "identities.0.kind",
            "literal_error",
            id="identity-kind-unknown",
        ),
        pytest.param({"time_zone": "Europe/Kiev-ish"}, "time_zone", "time_zone_unknown", id="time-zone"),
        pytest.param({"language": "de"}, "language", "language_unsupported", id="language"),
        pytest.param({"preferred_channel": "pigeon"}, "preferred_channel", "channel_unknown", id="channel"),
        pytest.param(
            {"consents": [{"topic": "gossip", "channel": "email", "status": "granted"}]},
            "consents.0.topic",
            "topic_unknown",
            id="consent-topic",
        ),
        pytest.param(
            {"consents": [{"topic": "marketing", "channel": "fax", "status": "granted"}]},
            "consents.0.channel",
            "channel_unknown",
            id="consent-channel",
        ),
        pytest.param(
            {"consents": [{"topic": "marketing", "channel": "email", "status": "maybe"}]},
            "consents.0.status",
            "consent_status_unknown",
            id="consent-status",
        ),
        pytest.param({"birth_date": "2999-01-01"}, "birth_date", "date_out_of_range", id="birth-in-future"),
        pytest.param({"birth_date": "1850-01-01"}, "birth_date", "date_out_of_range", id="birth-too-early"),
        pytest.param(
            {"birth_date": "12.04.1988"}, "birth_date", "date_from_datetime_parsing", id="birth-format"
        ),
        pytest.param({"given_name": 5}, "given_name", "string_type", id="name-not-text"),
        pytest.param({"identities": "+380671234567"}, "identities", "list_type", id="identities-not-list"),
        pytest.param({"attributes": ["a"]}, "attributes", "dict_type", id="attributes-not-object"),
        pytest.param({"segments": [{"a": 1}]}, "segments.0", "string_type", id="segment-not-text"),
        pytest.param({"family_name": "x" * 101}, "family_name", "string_too_long", id="name-too-long"),
        pytest.param({"quiet_hours_start": "25:00"}, "quiet_hours_start", "time_parsing", id="quiet-hours"),
    ],
)
def test_create_refuses_bad_input_naming_the_field_and_stores_nothing(
    as_olena: Any, changes: dict[str, Any], path: str, code: str
) -> None:
    answer = as_olena.post(CUSTOMERS, new_customer(**changes))

    assert answer.status_code == 422
    assert error_of(answer)["code"] == "validation_failed"
    assert field_codes(answer) == {path: code}
    assert Customer.objects.count() == 0
    assert Identity.objects.count() == 0


def test_every_bad_field_is_reported_at_once(as_olena: Any) -> None:
    body = new_customer(
        time_zone="Mars/Base",
        language="klingon",
        birth_date="2999-12-31",
        identities=[
            {"kind": "phone", "value": "050 765 43 21"},
            {"kind": "phone", "value": "12"},
            {"kind": "email", "value": "not-an-email"},
        ],
        consents=[{"topic": "marketing", "channel": "carrier-pigeon", "status": "granted"}],
    )

    answer = as_olena.post(CUSTOMERS, body)

    assert answer.status_code == 422
    assert field_codes(answer) == {
        "time_zone": "time_zone_unknown",
        "language": "language_unsupported",
        "birth_date": "date_out_of_range",
        "identities.1.value": "phone_invalid",
        "identities.2.value": "email_invalid",
        "consents.0.channel": "channel_unknown",
    }
    assert Customer.objects.count() == 0


def test_field_messages_say_what_is_wrong(as_olena: Any) -> None:
    answer = as_olena.post(CUSTOMERS, new_customer(time_zone="Mars/Base"))

    (problem,) = error_of(answer)["fields"]
    assert "Mars/Base" in problem["message"]
    assert "Europe/Kyiv" in problem["message"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"identities": [{"kind": "pager", "value": "1"}]}, "Must be one of 'phone', 'email', 'telegram'"),
        ({"given_name": ["Оксана"]}, "Must be text."),
        ({"family_name": "x" * 101}, "At most 100 characters."),
        ({"birth_date": "01.06.1990"}, "Must be a date (YYYY-MM-DD)."),
        ({"identities": [{"value": "050 765 43 21"}]}, "This field is required."),
    ],
)
def test_schema_errors_are_worded_for_people(as_olena: Any, changes: dict[str, Any], message: str) -> None:
    answer = as_olena.post(CUSTOMERS, new_customer(**changes))

    (problem,) = error_of(answer)["fields"]
    assert problem["message"].startswith(message)


def test_a_body_that_is_not_json_is_malformed(as_olena: Any) -> None:
    answer = as_olena.client.post(
        CUSTOMERS, data='{"given_name": "Оксана",', content_type="application/json", headers=as_olena.headers
    )

    assert answer.status_code == 400
    assert error_of(answer)["code"] == "malformed_body"
    assert Customer.objects.count() == 0


def test_a_malformed_body_is_named_so_with_debug_on(as_olena: Any, settings: Any) -> None:
    settings.DEBUG = True

    answer = as_olena.client.post(
        CUSTOMERS, data="{", content_type="application/json", headers=as_olena.headers
    )

    assert answer.status_code == 400
    assert error_of(answer)["code"] == "malformed_body"


def test_a_json_body_that_is_not_an_object_is_refused(as_olena: Any) -> None:
    answer = as_olena.post(CUSTOMERS, ["Оксана"])

    assert answer.status_code == 422
    assert error_of(answer)["code"] == "validation_failed"
    assert Customer.objects.count() == 0


def test_an_identity_that_belongs_to_someone_else_is_a_conflict(as_olena: Any, maria: Customer) -> None:
    body = new_customer(
        identities=[
            {"kind": "email", "value": "new@example.com"},
            {"kind": "phone", "value": "+380671234567"},
        ]
    )

    answer = as_olena.post(CUSTOMERS, body)

    assert answer.status_code == 409
    assert error_of(answer)["code"] == "identity_in_use"
    assert field_codes(answer) == {"identities.1.value": "identity_in_use"}
    assert f"#{maria.pk}" in error_of(answer)["fields"][0]["message"]
    assert list(Customer.objects.all()) == [maria]


def test_the_same_identity_twice_in_one_body_is_stored_once(as_olena: Any) -> None:
    body = new_customer(
        identities=[{"kind": "phone", "value": "050 765 43 21"}, {"kind": "phone", "value": "+380507654321"}]
    )

    answer = as_olena.post(CUSTOMERS, body)

    assert answer.status_code == 201
    assert [i["value"] for i in answer.json()["identities"]] == ["+380507654321"]


# --- idempotency ---------------------------------------------------------------------------------


def test_a_retry_with_the_same_key_returns_the_first_answer(as_olena: Any) -> None:
    key = {"Idempotency-Key": "order-7781"}

    first = as_olena.post(CUSTOMERS, new_customer(), headers=key)
    again = as_olena.post(CUSTOMERS, new_customer(), headers=key)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Customer.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(as_olena: Any) -> None:
    key = {"Idempotency-Key": "order-7781"}
    first = as_olena.post(CUSTOMERS, new_customer(), headers=key)

    other = as_olena.post(CUSTOMERS, new_customer(given_name="Олег"), headers=key)

    assert first.status_code == 201
    assert other.status_code == 409
    assert error_of(other)["code"] == "idempotency_key_reused"
    assert Customer.objects.get().given_name == "Оксана"


def test_clients_keep_their_keys_apart(as_olena: Any, as_taras: Any) -> None:
    key = {"Idempotency-Key": "import-1"}

    by_olena = as_olena.post(CUSTOMERS, new_customer(), headers=key)
    by_taras = as_taras.post(
        CUSTOMERS,
        new_customer(given_name="Тарас", identities=[{"kind": "phone", "value": "093 555 66 77"}]),
        headers=key,
    )

    assert (by_olena.status_code, by_taras.status_code) == (201, 201)
    assert by_olena.json()["id"] != by_taras.json()["id"]
    assert Customer.objects.count() == 2


def test_a_refused_create_is_not_remembered_under_its_key(as_olena: Any) -> None:
    key = {"Idempotency-Key": "retry-me"}
    refused = as_olena.post(CUSTOMERS, new_customer(time_zone="Mars/Base"), headers=key)

    fixed = as_olena.post(CUSTOMERS, new_customer(), headers=key)

    assert (refused.status_code, fixed.status_code) == (422, 201)
    assert Customer.objects.count() == 1


def test_an_overlong_key_is_refused(as_olena: Any) -> None:
    answer = as_olena.post(CUSTOMERS, new_customer(), headers={"Idempotency-Key": "k" * 201})

    assert answer.status_code == 422
    assert field_codes(answer) == {"headers.Idempotency-Key": "too_long"}
    assert Customer.objects.count() == 0


# --- list and search -----------------------------------------------------------------------------


@pytest.fixture
def john(db: None) -> Customer:
    return create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name="John",
            family_name="Smith",
            language="en",
            time_zone="Europe/London",
            preferred_channel="email",
            segments=["vip"],
            identities=[IdentityIn(kind="telegram", value="@John_Smith")],
            consents=[ConsentIn(topic="marketing", channel="email", status="denied")],
        ),
        source="tests",
    )


def test_the_list_pages_through_customers_newest_first(as_olena: Any) -> None:
    made = [
        create_customer(actor=SYSTEM, data=ProfileIn(given_name=f"Client {n}"), source="tests").pk
        for n in range(5)
    ]

    first = as_olena.get(CUSTOMERS, limit=2)
    last = as_olena.get(CUSTOMERS, limit=2, offset=4)

    assert first.status_code == 200
    assert {k: v for k, v in first.json().items() if k != "items"} == {
        "count": 5,
        "limit": 2,
        "offset": 0,
        "next_offset": 2,
    }
    assert ids(first) == made[::-1][:2]
    assert ids(last) == [made[0]]
    assert last.json()["next_offset"] is None


def test_the_list_limit_is_clamped(as_olena: Any, maria: Customer) -> None:
    big = as_olena.get(CUSTOMERS, limit=100_000).json()
    small = as_olena.get(CUSTOMERS, limit=0).json()

    assert (big["limit"], small["limit"]) == (500, 1)
    assert big["count"] == small["count"] == 1


def test_the_list_refuses_a_limit_that_is_not_a_number(as_olena: Any) -> None:
    answer = as_olena.get(CUSTOMERS, limit="many")

    assert answer.status_code == 422
    assert field_codes(answer) == {"limit": "int_parsing"}


def test_the_list_leaves_out_consents(as_olena: Any, maria: Customer) -> None:
    (item,) = as_olena.get(CUSTOMERS).json()["items"]
    assert item["consents"] is None
    assert item["identities"]


@pytest.mark.parametrize(
    "q", ["Марія", "марія петренко", "Mariya", "PETRENKO", "+380671234567", "067 123-45-67", "(067) 1234567"]
)
def test_search_finds_by_name_in_either_script_and_by_any_phone_form(
    as_olena: Any, maria: Customer, john: Customer, q: str
) -> None:
    assert ids(as_olena.get(CUSTOMERS, q=q)) == [maria.pk]


def test_search_finds_by_email_and_messenger(as_olena: Any, maria: Customer, john: Customer) -> None:
    assert ids(as_olena.get(CUSTOMERS, q="maria.petrenko@example.com")) == [maria.pk]
    assert ids(as_olena.get(CUSTOMERS, q="@john_smith")) == [john.pk]
    assert ids(as_olena.get(CUSTOMERS, q="Коваленко")) == []


@pytest.mark.parametrize(
    ("filters", "who"),
    [
        ({"language": "uk"}, "maria"),
        ({"language": "en"}, "john"),
        ({"segment": "retail"}, "maria"),
        ({"segment": "vip"}, "john"),
        ({"preferred_channel": "email"}, "john"),
        ({"preferred_channel": "sms"}, "maria"),
        ({"consent_topic": "marketing", "consent_channel": "email"}, "maria"),
        ({"consent_topic": "service", "consent_channel": "sms"}, "maria"),
        ({"consent_topic": "service", "consent_channel": "email"}, ""),
        ({"consent_topic": "marketing"}, "maria"),
        ({"consent_channel": "sms"}, "maria"),
        ({"identity_kind": "telegram"}, "john"),
        ({"identity_kind": "email"}, "maria"),
        ({"identity_kind": "viber"}, ""),
        ({"language": "en", "segment": "retail"}, ""),
    ],
)
def test_each_filter_narrows_the_list(
    as_olena: Any, maria: Customer, john: Customer, filters: dict[str, str], who: str
) -> None:
    expected = {"maria": [maria.pk], "john": [john.pk], "": []}[who]
    page = as_olena.get(CUSTOMERS, **filters)
    assert ids(page) == expected
    assert page.json()["count"] == len(expected)


def test_merged_profiles_are_not_listed(as_taras: Any, maria: Customer, twin: Customer) -> None:
    as_taras.post("/api/v1/merges", {"survivor_id": maria.pk, "absorbed_id": twin.pk})

    assert ids(as_taras.get(CUSTOMERS, q="петренко")) == [maria.pk]


# --- read ----------------------------------------------------------------------------------------


def test_reading_an_unknown_customer_is_not_found(as_olena: Any) -> None:
    answer = as_olena.get(f"{CUSTOMERS}/987654")

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "customer_not_found"


def test_a_path_id_that_is_not_a_number_is_refused(as_olena: Any) -> None:
    answer = as_olena.get(f"{CUSTOMERS}/maria")

    assert answer.status_code == 422
    assert field_codes(answer) == {"customer_id": "int_parsing"}


# --- patch ---------------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(as_olena: Any, maria: Customer) -> None:
    before = as_olena.get(f"{CUSTOMERS}/{maria.pk}").json()

    answer = as_olena.patch(f"{CUSTOMERS}/{maria.pk}", {"city": "Одеса", "preferred_channel": "Email"})

    assert answer.status_code == 200
    after = answer.json()
    assert (after["city"], after["preferred_channel"]) == ("Одеса", "email")
    unchanged = {k: v for k, v in after.items() if k not in {"city", "preferred_channel", "updated_at"}}
    assert unchanged == {
        k: v for k, v in before.items() if k not in {"city", "preferred_channel", "updated_at"}
    }
    assert ids(as_olena.get(CUSTOMERS, q="odesa")) == [maria.pk]


def test_patch_merges_attributes_and_null_removes_a_key(as_olena: Any, maria: Customer) -> None:
    path = f"{CUSTOMERS}/{maria.pk}"
    as_olena.patch(path, {"attributes": {"tier": "gold", "pets": 2}})

    answer = as_olena.patch(path, {"attributes": {"pets": None, "card": "4411"}})

    assert answer.status_code == 200
    assert answer.json()["attributes"] == {"tier": "gold", "card": "4411"}


def test_patch_replaces_segments_and_null_clears_them(as_olena: Any, maria: Customer) -> None:
    path = f"{CUSTOMERS}/{maria.pk}"

    replaced = as_olena.patch(path, {"segments": ["Wholesale", "vip"]})
    cleared = as_olena.patch(path, {"segments": None})

    assert replaced.status_code == 200
    assert replaced.json()["segments"] == ["vip", "wholesale"]
    assert cleared.status_code == 200
    assert cleared.json()["segments"] == []


def test_patch_null_clears_a_name_and_the_birth_date(as_olena: Any, maria: Customer) -> None:
    answer = as_olena.patch(f"{CUSTOMERS}/{maria.pk}", {"family_name": None, "birth_date": None})

    assert answer.status_code == 200
    assert (answer.json()["family_name"], answer.json()["birth_date"]) == ("", None)


def test_a_patch_may_not_empty_a_profile_that_has_no_identity(as_olena: Any) -> None:
    made = as_olena.post(CUSTOMERS, {"given_name": "Іван", "family_name": "Петренко"}).json()
    url = f"{CUSTOMERS}/{made['id']}"

    answer = as_olena.patch(url, {"given_name": "", "family_name": None})

    assert answer.status_code == 422
    assert field_codes(answer) == {"given_name": "name_or_identity_required"}
    assert as_olena.get(url).json() == made
    # One name of the two may go; and a profile with an identity may lose its names.
    assert as_olena.patch(url, {"given_name": ""}).status_code == 200
    assert as_olena.patch(f"{CUSTOMERS}/{made['id']}", {"family_name": ""}).status_code == 422


def test_a_patch_may_clear_the_names_of_a_profile_with_an_identity(as_olena: Any, maria: Customer) -> None:
    answer = as_olena.patch(f"{CUSTOMERS}/{maria.pk}", {"given_name": "", "family_name": ""})

    assert answer.status_code == 200
    assert answer.json()["full_name"] == ""


@pytest.mark.parametrize(
    ("changes", "path", "code"),
    [
        ({"time_zone": "Europe/Atlantis"}, "time_zone", "time_zone_unknown"),
        ({"language": "fr"}, "language", "language_unsupported"),
        ({"preferred_channel": "fax"}, "preferred_channel", "channel_unknown"),
        ({"birth_date": "2999-01-01"}, "birth_date", "date_out_of_range"),
        ({"attributes": "gold"}, "attributes", "dict_type"),
    ],
)
def test_a_bad_patch_changes_nothing(
    as_olena: Any, maria: Customer, changes: dict[str, Any], path: str, code: str
) -> None:
    url = f"{CUSTOMERS}/{maria.pk}"
    before = as_olena.get(url).json()

    answer = as_olena.patch(url, {"city": "Одеса", **changes})

    assert answer.status_code == 422
    assert field_codes(answer) == {path: code}
    assert as_olena.get(url).json() == before


def test_patching_an_unknown_customer_is_not_found(as_olena: Any) -> None:
    answer = as_olena.patch(f"{CUSTOMERS}/987654", {"city": "Одеса"})

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "customer_not_found"


# --- identities ----------------------------------------------------------------------------------


def test_adding_an_identity_stores_it_normalised(as_olena: Any, maria: Customer) -> None:
    answer = as_olena.post(
        f"{CUSTOMERS}/{maria.pk}/identities", {"kind": "email", "value": " M.P@Gmail.COM "}
    )

    assert answer.status_code == 201
    assert (answer.json()["kind"], answer.json()["value"], answer.json()["is_primary"]) == (
        "email",
        "m.p@gmail.com",
        False,
    )
    assert ids(as_olena.get(CUSTOMERS, q="m.p@gmail.com")) == [maria.pk]


def test_a_new_primary_identity_takes_over_from_the_old_one(as_olena: Any, maria: Customer) -> None:
    answer = as_olena.post(
        f"{CUSTOMERS}/{maria.pk}/identities", {"kind": "phone", "value": "063 444 55 66", "is_primary": True}
    )

    assert answer.status_code == 201
    primaries = Identity.objects.filter(customer=maria, kind="phone", is_primary=True)
    assert list(primaries.values_list("value", flat=True)) == ["+380634445566"]


def test_adding_an_identity_the_customer_has_is_a_conflict(as_olena: Any, maria: Customer) -> None:
    answer = as_olena.post(f"{CUSTOMERS}/{maria.pk}/identities", {"kind": "phone", "value": "0671234567"})

    assert answer.status_code == 409
    assert error_of(answer)["code"] == "identity_exists"
    assert maria.identities.count() == 2


def test_adding_someone_elses_identity_is_a_conflict(as_olena: Any, maria: Customer, john: Customer) -> None:
    answer = as_olena.post(f"{CUSTOMERS}/{john.pk}/identities", {"kind": "phone", "value": "+380671234567"})

    assert answer.status_code == 409
    assert error_of(answer)["code"] == "identity_in_use"
    assert field_codes(answer) == {"value": "identity_in_use"}
    assert john.identities.count() == 1


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        ({"kind": "phone", "value": "12"}, "value", "phone_invalid"),
        ({"kind": "phone", "value": "call me"}, "value", "phone_unparseable"),
        ({"kind": "email", "value": "maria@"}, "value", "email_invalid"),
        ({"kind": "telegram", "value": "@x"}, "value", "telegram_invalid"),
        ({"kind": "fax", "value": "12345"}, "kind", "literal_error"),
        ({"kind": "phone"}, "value", "missing"),
    ],
)
def test_adding_a_bad_identity_is_refused(
    as_olena: Any, maria: Customer, body: dict[str, Any], path: str, code: str
) -> None:
    answer = as_olena.post(f"{CUSTOMERS}/{maria.pk}/identities", body)

    assert answer.status_code == 422
    assert field_codes(answer) == {path: code}
    assert maria.identities.count() == 2


def test_removing_the_primary_identity_passes_primary_to_the_next_of_its_kind(
    as_olena: Any, maria: Customer
) -> None:
    second = as_olena.post(f"{CUSTOMERS}/{maria.pk}/identities", {"kind": "phone", "value": "063 444 55 66"})
    primary = maria.identities.get(kind="phone", is_primary=True)

    answer = as_olena.delete(f"{CUSTOMERS}/{maria.pk}/identities/{primary.pk}")

    assert answer.status_code == 204
    phones = as_olena.get(f"{CUSTOMERS}/{maria.pk}").json()["identities"]
    assert [(i["id"], i["is_primary"]) for i in phones if i["kind"] == "phone"] == [
        (second.json()["id"], True)
    ]
    assert ids(as_olena.get(CUSTOMERS, q="0671234567")) == []


def test_the_last_identity_of_a_nameless_profile_stays(as_olena: Any) -> None:
    made = as_olena.post(CUSTOMERS, {"identities": [{"kind": "email", "value": "anon@example.com"}]}).json()
    (only,) = made["identities"]

    answer = as_olena.delete(f"{CUSTOMERS}/{made['id']}/identities/{only['id']}")

    assert answer.status_code == 409
    assert error_of(answer)["code"] == "name_or_identity_required"
    assert as_olena.get(f"{CUSTOMERS}/{made['id']}").json()["identities"] == [only]
    # Once the customer has a name, the identity may go.
    as_olena.patch(f"{CUSTOMERS}/{made['id']}", {"given_name": "Оксана"})
    assert as_olena.delete(f"{CUSTOMERS}/{made['id']}/identities/{only['id']}").status_code == 204


def test_removing_an_identity_of_another_customer_is_not_found(
    as_olena: Any, maria: Customer, john: Customer
) -> None:
    johns = john.identities.get()

    answer = as_olena.delete(f"{CUSTOMERS}/{maria.pk}/identities/{johns.pk}")

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "identity_not_found"
    assert Identity.objects.filter(pk=johns.pk).exists()


# --- consent -------------------------------------------------------------------------------------


def test_recording_consent_answers_with_the_new_state_and_keeps_history(
    as_olena: Any, maria: Customer, olena: User
) -> None:
    answer = as_olena.put(
        f"{CUSTOMERS}/{maria.pk}/consents",
        {
            "topic": "marketing",
            "channel": "email",
            "status": "denied",
            "source": "call",
            "note": "on the phone",
        },
    )

    assert answer.status_code == 200
    assert {(c["topic"], c["channel"]): c["status"] for c in answer.json()} == {
        ("marketing", "email"): "denied",
        ("service", "sms"): "granted",
    }
    assert answer.json() == as_olena.get(f"{CUSTOMERS}/{maria.pk}/consents").json()
    newest = as_olena.get(f"{CUSTOMERS}/{maria.pk}/consents/history").json()["items"][0]
    assert {k: newest[k] for k in ("topic", "channel", "previous", "status", "source", "note", "actor")} == {
        "topic": "marketing",
        "channel": "email",
        "previous": "granted",
        "status": "denied",
        "source": "call",
        "note": "on the phone",
        "actor": str(olena),
    }


def test_a_first_answer_on_a_new_topic_is_in_the_answer(as_olena: Any, maria: Customer) -> None:
    answer = as_olena.put(
        f"{CUSTOMERS}/{maria.pk}/consents", {"topic": "surveys", "channel": "viber", "status": "granted"}
    )

    assert answer.status_code == 200
    assert ("surveys", "viber", "granted") in {(c["topic"], c["channel"], c["status"]) for c in answer.json()}


def test_repeating_the_same_consent_answer_adds_no_history(as_olena: Any, maria: Customer) -> None:
    body = {"topic": "surveys", "channel": "viber", "status": "granted"}
    as_olena.put(f"{CUSTOMERS}/{maria.pk}/consents", body)
    count = as_olena.get(f"{CUSTOMERS}/{maria.pk}/consents/history").json()["count"]

    again = as_olena.put(f"{CUSTOMERS}/{maria.pk}/consents", body)

    assert again.status_code == 200
    assert as_olena.get(f"{CUSTOMERS}/{maria.pk}/consents/history").json()["count"] == count == 3


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        ({"topic": "gossip", "channel": "email", "status": "denied"}, "topic", "topic_unknown"),
        ({"topic": "marketing", "channel": "fax", "status": "denied"}, "channel", "channel_unknown"),
        ({"topic": "marketing", "channel": "email", "status": "no"}, "status", "consent_status_unknown"),
        ({"topic": "marketing", "channel": "email"}, "status", "missing"),
    ],
)
def test_a_bad_consent_answer_is_refused(
    as_olena: Any, maria: Customer, body: dict[str, Any], path: str, code: str
) -> None:
    before = consents_of(maria)

    answer = as_olena.put(f"{CUSTOMERS}/{maria.pk}/consents", body)

    assert answer.status_code == 422
    assert field_codes(answer) == {path: code}
    assert consents_of(maria) == before
    assert ConsentChange.objects.filter(customer=maria).count() == 2


def test_the_history_pages(as_olena: Any, maria: Customer) -> None:
    page = as_olena.get(f"{CUSTOMERS}/{maria.pk}/consents/history", limit=1).json()

    assert (page["count"], page["limit"], page["next_offset"], len(page["items"])) == (2, 1, 1, 1)


# --- merges --------------------------------------------------------------------------------------


@pytest.fixture
def twin(maria: Customer) -> Customer:
    """Maria entered a second time, from a shop form: other contacts, some answers of her own."""
    twin = create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name="Марія",
            family_name="Петренко",
            birth_date="1988-04-12",
            address="вул. Хрещатик, 1",
            language="ru",
            segments=["vip"],
            attributes={"card": "4411"},
            identities=[
                IdentityIn(kind="phone", value="050 765 43 21"),
                IdentityIn(kind="telegram", value="@maria_p"),
            ],
            consents=[
                ConsentIn(topic="marketing", channel="email", status="denied"),
                ConsentIn(topic="surveys", channel="sms", status="granted"),
            ],
        ),
        source="shop",
    )
    find_duplicates(actor=SYSTEM)
    return twin


def merge(client: Any, survivor: Customer, absorbed: Customer) -> Any:
    return client.post(
        "/api/v1/merges", {"survivor_id": survivor.pk, "absorbed_id": absorbed.pk, "reason": "same"}
    )


def test_a_merge_moves_everything_to_the_survivor(as_taras: Any, maria: Customer, twin: Customer) -> None:
    twin_history = set(ConsentChange.objects.filter(customer=twin).values_list("pk", flat=True))

    answer = merge(as_taras, maria, twin)

    assert answer.status_code == 201
    assert {k: answer.json()[k] for k in ("survivor_id", "absorbed_id", "reason", "undone_at")} == {
        "survivor_id": maria.pk,
        "absorbed_id": twin.pk,
        "reason": "same",
        "undone_at": None,
    }
    kept = as_taras.get(f"{CUSTOMERS}/{maria.pk}").json()
    assert {(i["kind"], i["value"], i["is_primary"]) for i in kept["identities"]} == {
        ("phone", "+380671234567", True),
        ("phone", "+380507654321", False),
        ("email", "maria.petrenko@example.com", True),
        ("telegram", "@maria_p", True),
    }
    # A refusal on either profile wins; a grant with no answer on the other side stays a grant.
    assert {(c["topic"], c["channel"]): c["status"] for c in kept["consents"]} == {
        ("marketing", "email"): "denied",
        ("service", "sms"): "granted",
        ("surveys", "sms"): "granted",
    }
    assert kept["address"] == "вул. Хрещатик, 1"
    assert (kept["city"], kept["language"]) == ("Київ", "uk")
    assert kept["attributes"] == {"card": "4411"}
    assert kept["segments"] == ["retail", "vip"]
    moved = ConsentChange.objects.filter(pk__in=twin_history)
    assert set(moved.values_list("customer_id", "origin_customer_id")) == {(maria.pk, twin.pk)}
    history = as_taras.get(f"{CUSTOMERS}/{maria.pk}/consents/history").json()["items"]
    assert {h["origin_customer_id"] for h in history if h["id"] in twin_history} == {twin.pk}
    absorbed = as_taras.get(f"{CUSTOMERS}/{twin.pk}").json()
    assert (absorbed["status"], absorbed["merged_into"], absorbed["identities"]) == ("merged", maria.pk, [])
    assert DuplicateCandidate.objects.get().status == DuplicateCandidate.Status.MERGED
    assert ids(as_taras.get(CUSTOMERS, q="@maria_p")) == [maria.pk]


def test_merging_a_profile_into_itself_is_refused(as_taras: Any, maria: Customer) -> None:
    answer = merge(as_taras, maria, maria)

    assert answer.status_code == 409
    assert error_of(answer)["code"] == "merge_same_customer"
    assert Merge.objects.count() == 0


def test_merging_an_already_merged_profile_is_refused(
    as_taras: Any, maria: Customer, twin: Customer, john: Customer
) -> None:
    merge(as_taras, maria, twin)

    answer = merge(as_taras, john, twin)

    assert answer.status_code == 409
    assert error_of(answer)["code"] == "customer_not_active"
    assert Merge.objects.count() == 1
    assert john.identities.count() == 1


def test_merging_an_unknown_profile_is_not_found(as_taras: Any, maria: Customer) -> None:
    answer = as_taras.post("/api/v1/merges", {"survivor_id": maria.pk, "absorbed_id": 987654})

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "customer_not_found"
    assert Merge.objects.count() == 0


def snapshot(client: Any, *customers: Customer) -> list[dict[str, Any]]:
    """What the API shows of each profile, without the times an undo moves."""
    shown = []
    for customer in customers:
        profile = client.get(f"{CUSTOMERS}/{customer.pk}").json()
        profile.pop("updated_at")
        profile["consents"] = [{k: v for k, v in c.items() if k != "updated_at"} for c in profile["consents"]]
        shown.append(profile)
    return shown


def test_undo_puts_both_profiles_back_as_they_were(as_taras: Any, maria: Customer, twin: Customer) -> None:
    before = snapshot(as_taras, maria, twin)
    consent_times = dict(Consent.objects.values_list("pk", "updated_at"))
    twin_history = sorted(ConsentChange.objects.filter(customer=twin).values_list("pk", "origin_customer_id"))
    done = merge(as_taras, maria, twin).json()

    answer = as_taras.post(f"/api/v1/merges/{done['id']}/undo")

    assert answer.status_code == 200
    assert answer.json()["undone_at"] is not None
    assert snapshot(as_taras, maria, twin) == before
    assert dict(Consent.objects.values_list("pk", "updated_at")) == consent_times
    assert (
        sorted(ConsentChange.objects.filter(customer=twin).values_list("pk", "origin_customer_id"))
        == twin_history
    )
    assert DuplicateCandidate.objects.get().status == DuplicateCandidate.Status.OPEN
    assert ids(as_taras.get(CUSTOMERS, q="@maria_p")) == [twin.pk]


def test_undo_leaves_a_consent_a_person_changed_after_the_merge(
    as_taras: Any, as_olena: Any, maria: Customer, twin: Customer
) -> None:
    done = merge(as_taras, maria, twin).json()
    as_olena.put(
        f"{CUSTOMERS}/{maria.pk}/consents", {"topic": "surveys", "channel": "sms", "status": "denied"}
    )

    as_taras.post(f"/api/v1/merges/{done['id']}/undo")

    assert consents_of(maria) == {
        ("marketing", "email"): "granted",
        ("service", "sms"): "granted",
        ("surveys", "sms"): "denied",
    }


def test_undo_keeps_fields_a_person_changed_after_the_merge(
    as_taras: Any, maria: Customer, twin: Customer
) -> None:
    done = merge(as_taras, maria, twin).json()
    as_taras.patch(f"{CUSTOMERS}/{maria.pk}", {"address": "вул. Січових Стрільців, 5"})

    as_taras.post(f"/api/v1/merges/{done['id']}/undo")

    maria.refresh_from_db()
    assert maria.address == "вул. Січових Стрільців, 5"


def test_a_merge_cannot_be_undone_twice(as_taras: Any, maria: Customer, twin: Customer) -> None:
    done = merge(as_taras, maria, twin).json()
    as_taras.post(f"/api/v1/merges/{done['id']}/undo")
    history = ConsentChange.objects.count()

    again = as_taras.post(f"/api/v1/merges/{done['id']}/undo")

    assert again.status_code == 409
    assert error_of(again)["code"] == "merge_already_undone"
    assert ConsentChange.objects.count() == history


def test_undoing_an_unknown_merge_is_not_found(as_taras: Any) -> None:
    answer = as_taras.post("/api/v1/merges/987654/undo")

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "merge_not_found"


def test_a_merge_can_be_done_again_after_its_undo(as_taras: Any, maria: Customer, twin: Customer) -> None:
    first = merge(as_taras, maria, twin).json()
    as_taras.post(f"/api/v1/merges/{first['id']}/undo")

    again = merge(as_taras, maria, twin)

    assert again.status_code == 201
    assert Customer.objects.get(pk=twin.pk).merged_into_id == maria.pk


def test_a_merge_cannot_be_undone_once_its_survivor_was_merged_away(
    as_taras: Any, maria: Customer, twin: Customer, john: Customer
) -> None:
    first = merge(as_taras, maria, twin).json()
    merge(as_taras, john, maria)

    answer = as_taras.post(f"/api/v1/merges/{first['id']}/undo")

    assert answer.status_code == 409
    assert error_of(answer)["code"] == "merge_not_undoable"
    assert Customer.objects.get(pk=twin.pk).merged_into_id == john.pk


@pytest.mark.parametrize(
    "change",
    [
        ("patch", "", {"city": "Одеса"}),
        ("post", "/identities", {"kind": "email", "value": "maria.shop@example.com"}),
        ("put", "/consents", {"topic": "marketing", "channel": "sms", "status": "denied"}),
    ],
    ids=["patch", "add-identity", "record-consent"],
)
def test_a_merged_profile_takes_no_changes(
    as_taras: Any, maria: Customer, twin: Customer, change: tuple[str, str, dict[str, Any]]
) -> None:
    method, suffix, body = change
    merge(as_taras, maria, twin)
    before = snapshot(as_taras, twin)

    answer = getattr(as_taras, method)(f"{CUSTOMERS}/{twin.pk}{suffix}", body)

    assert answer.status_code == 409
    assert error_of(answer)["code"] == "customer_not_active"
    assert snapshot(as_taras, twin) == before


# --- duplicates and segments ---------------------------------------------------------------------


def test_duplicates_are_listed_and_can_be_dismissed(as_taras: Any, maria: Customer, twin: Customer) -> None:
    listed = as_taras.get("/api/v1/duplicates").json()
    (pair,) = listed["items"]
    assert (pair["first_id"], pair["second_id"], pair["status"]) == (maria.pk, twin.pk, "open")
    assert "birth_date" in pair["reasons"]
    assert "same date of birth" in pair["reason_texts"]

    answer = as_taras.post(f"/api/v1/duplicates/{pair['id']}/dismiss")

    assert answer.status_code == 200
    assert answer.json()["status"] == "dismissed"
    assert as_taras.get("/api/v1/duplicates").json()["count"] == 0
    assert ids(as_taras.get("/api/v1/duplicates", status="dismissed")) == [pair["id"]]
    find_duplicates(actor=SYSTEM)
    assert as_taras.get("/api/v1/duplicates").json()["count"] == 0


def test_duplicates_refuse_an_unknown_status(as_taras: Any) -> None:
    answer = as_taras.get("/api/v1/duplicates", status="maybe")

    assert answer.status_code == 422
    assert field_codes(answer) == {"status": "literal_error"}


def test_dismissing_an_unknown_candidate_is_not_found(as_taras: Any) -> None:
    answer = as_taras.post("/api/v1/duplicates/987654/dismiss")

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "candidate_not_found"


def test_segments_in_use_are_listed(as_olena: Any, maria: Customer, john: Customer) -> None:
    answer = as_olena.get("/api/v1/segments")

    assert answer.status_code == 200
    assert answer.json() == [{"slug": "retail", "name": "Retail"}, {"slug": "vip", "name": "Vip"}]


# --- times ---------------------------------------------------------------------------------------


def test_times_in_answers_are_utc_and_aware(as_olena: Any) -> None:
    moment = clock.now().replace(microsecond=0) - timedelta(days=3)
    with clock.frozen_at(moment):
        made = as_olena.post(CUSTOMERS, new_customer()).json()

    assert made["created_at"].startswith(moment.strftime("%Y-%m-%dT%H:%M:%S"))
    assert made["created_at"].endswith("Z") or made["created_at"].endswith("+00:00")
