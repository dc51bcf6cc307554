"""Who may do what over the API: every role against every customers endpoint, token scopes, and tokens.

A refused request answers 403 ``permission_denied`` (or 401 when nobody could be recognised) and is
checked to have changed nothing at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import ApiToken, User
from forewarn.accounts.roles import Perm, Role
from forewarn.accounts.services import issue_token, revoke_token
from forewarn.core import clock
from forewarn.core.models import IdempotencyRecord
from forewarn.customers.models import (
    Consent,
    ConsentChange,
    Customer,
    DuplicateCandidate,
    Identity,
    ImportJob,
    Merge,
    Segment,
)
from forewarn.customers.services.importing import queue_import
from forewarn.customers.services.merging import merge_customers
from forewarn.customers.services.profiles import ProfileIn, create_customer

SYSTEM = Actor.system("tests")
VIEW, EDIT, CONSENT = Perm.CUSTOMERS_VIEW, Perm.CUSTOMERS_EDIT, Perm.CONSENT_EDIT
IMPORT, MERGE = Perm.CUSTOMERS_IMPORT, Perm.CUSTOMERS_MERGE

# What each person may do with customers, written out here rather than read from the role table.
MAY = {
    "olena": {VIEW, EDIT, CONSENT},
    "taras": {VIEW, EDIT, CONSENT, IMPORT, MERGE},
    "iryna": {VIEW},
    "maksym": {VIEW, IMPORT},
    "ada": {VIEW, EDIT, CONSENT, IMPORT, MERGE},
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    needs: str
    success: int
    body: Callable[[dict[str, int]], Any] | None = None

    def __str__(self) -> str:
        return self.name


ENDPOINTS = [
    Endpoint("list", "get", "/api/v1/customers", VIEW, 200),
    Endpoint(
        "create",
        "post",
        "/api/v1/customers",
        EDIT,
        201,
        lambda w: {"given_name": "Олег", "identities": [{"kind": "phone", "value": "093 555 66 77"}]},
    ),
    Endpoint("read", "get", "/api/v1/customers/{customer}", VIEW, 200),
    Endpoint("patch", "patch", "/api/v1/customers/{customer}", EDIT, 200, lambda w: {"city": "Одеса"}),
    Endpoint(
        "add-identity",
        "post",
        "/api/v1/customers/{customer}/identities",
        EDIT,
        201,
        lambda w: {"kind": "email", "value": "maria.second@example.com"},
    ),
    Endpoint("remove-identity", "delete", "/api/v1/customers/{customer}/identities/{identity}", EDIT, 204),
    Endpoint("consents", "get", "/api/v1/customers/{customer}/consents", VIEW, 200),
    Endpoint(
        "record-consent",
        "put",
        "/api/v1/customers/{customer}/consents",
        CONSENT,
        200,
        lambda w: {"topic": "marketing", "channel": "email", "status": "denied"},
    ),
    Endpoint("consent-history", "get", "/api/v1/customers/{customer}/consents/history", VIEW, 200),
    Endpoint(
        "merge",
        "post",
        "/api/v1/merges",
        MERGE,
        201,
        lambda w: {"survivor_id": w["customer"], "absorbed_id": w["twin"]},
    ),
    Endpoint("undo-merge", "post", "/api/v1/merges/{merge}/undo", MERGE, 200),
    Endpoint("duplicates", "get", "/api/v1/duplicates", VIEW, 200),
    Endpoint("dismiss-duplicate", "post", "/api/v1/duplicates/{candidate}/dismiss", MERGE, 200),
    Endpoint("segments", "get", "/api/v1/segments", VIEW, 200),
    Endpoint("upload-import", "post", "/api/v1/imports", IMPORT, 202),
    Endpoint("read-import", "get", "/api/v1/imports/{job}", IMPORT, 200),
    Endpoint("import-rejections", "get", "/api/v1/imports/{job}/rejections", IMPORT, 200),
]


@pytest.fixture
def world(maria: Customer, twin: Customer, settings: Any, tmp_path: Any) -> dict[str, int]:
    """Something for every endpoint to act on: a look-alike of Maria, a merge to undo, an import."""
    settings.MEDIA_ROOT = tmp_path
    kept, gone = (
        create_customer(actor=SYSTEM, data=ProfileIn(given_name="Андрій", family_name=name), source="tests")
        for name in ("Бойко", "Бойко-Мороз")
    )
    done = merge_customers(actor=SYSTEM, survivor_id=kept.pk, absorbed_id=gone.pk)
    job = queue_import(actor=SYSTEM, file_name="people.csv", content="given_name\nОлег\n".encode())
    return {
        "customer": maria.pk,
        "twin": twin.pk,
        "identity": maria.identities.get(kind="phone").pk,
        "candidate": DuplicateCandidate.objects.get(first=maria, second=twin).pk,
        "merge": done.pk,
        "job": job.pk,
    }


def call(client: Any, endpoint: Endpoint, world: dict[str, int]) -> Any:
    path = endpoint.path.format(**world)
    if endpoint.name == "upload-import":
        upload = SimpleUploadedFile("more.csv", "given_name\nІгор\n".encode(), content_type="text/csv")
        return client.client.post(path, {"file": upload}, headers=client.headers)
    if endpoint.method == "get":
        return client.get(path)
    if endpoint.method == "delete":
        return client.delete(path)
    return getattr(client, endpoint.method)(path, endpoint.body(world) if endpoint.body else {})


def everything() -> list[Any]:
    """All that the customers endpoints could change, row by row."""
    models = (Customer, Identity, Consent, ConsentChange, Merge, DuplicateCandidate, ImportJob, Segment)
    rows: list[list[Any]] = [list(m.objects.order_by("pk").values()) for m in models]
    rows.append([list(c.segments.values_list("pk", flat=True)) for c in Customer.objects.order_by("pk")])
    return [*rows, IdempotencyRecord.objects.count()]


def error_of(answer: Any) -> dict[str, Any]:
    payload = answer.json()
    assert set(payload) == {"error"}
    error = payload["error"]
    assert isinstance(error, dict)
    return error


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
@pytest.mark.parametrize("person", sorted(MAY))
def test_each_role_may_do_exactly_what_it_is_allowed(
    request: pytest.FixtureRequest,
    api_as: Callable[..., Any],
    world: dict[str, int],
    person: str,
    endpoint: Endpoint,
) -> None:
    client = api_as(request.getfixturevalue(person))
    before = everything()

    answer = call(client, endpoint, world)

    if endpoint.needs in MAY[person]:
        assert answer.status_code == endpoint.success, answer.content
    else:
        assert answer.status_code == 403
        assert error_of(answer)["code"] == "permission_denied"
        assert endpoint.needs in error_of(answer)["message"]
        assert everything() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_a_token_may_do_only_what_its_scopes_allow(
    api_as: Callable[..., Any], taras: User, world: dict[str, int], endpoint: Endpoint
) -> None:
    read_only = api_as(taras, scopes=[VIEW])
    before = everything()

    answer = call(read_only, endpoint, world)

    if endpoint.needs == VIEW:
        assert answer.status_code == endpoint.success
    else:
        assert answer.status_code == 403
        assert error_of(answer)["code"] == "permission_denied"
        assert everything() == before


def test_a_scope_beyond_the_role_gives_nothing(
    api_as: Callable[..., Any], iryna: User, world: dict[str, int]
) -> None:
    client = api_as(iryna, scopes=[VIEW, EDIT, MERGE])
    before = everything()

    answer = client.patch(f"/api/v1/customers/{world['customer']}", {"city": "Одеса"})

    assert answer.status_code == 403
    assert everything() == before


def test_a_demoted_person_loses_what_their_tokens_could_do(
    api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    client = api_as(olena)
    olena.role = Role.ANALYST
    olena.save(update_fields=["role"])

    answer = client.patch(f"/api/v1/customers/{maria.pk}", {"city": "Одеса"})

    assert answer.status_code == 403
    assert Customer.objects.get(pk=maria.pk).city == "Київ"
    assert client.get(f"/api/v1/customers/{maria.pk}").status_code == 200


def test_creating_with_consents_needs_the_consent_permission_too(
    api_as: Callable[..., Any], taras: User
) -> None:
    client = api_as(taras, scopes=[VIEW, EDIT])
    body = {"given_name": "Олег", "consents": [{"topic": "marketing", "channel": "sms", "status": "granted"}]}

    refused = client.post("/api/v1/customers", body)
    allowed = client.post("/api/v1/customers", {"given_name": "Олег"})

    assert refused.status_code == 403
    assert error_of(refused)["code"] == "permission_denied"
    assert allowed.status_code == 201
    assert list(Customer.objects.values_list("pk", flat=True)) == [allowed.json()["id"]]
    assert Consent.objects.count() == 0


# --- who is calling ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-header"),
        pytest.param("Bearer ", id="empty"),
        pytest.param("Bearer garbage", id="garbage"),
        pytest.param("Bearer fw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", id="unknown-token"),
        pytest.param("Basic b2xlbmE6b2xlbmEtbG9uZy1wYXNzd29yZC0x", id="password"),
    ],
)
def test_a_caller_without_a_valid_token_is_not_authenticated(
    maria: Customer, olena: User, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    client = Client()

    read = client.get("/api/v1/customers", headers=headers)
    write = client.patch(
        f"/api/v1/customers/{maria.pk}", {"city": "Одеса"}, content_type="application/json", headers=headers
    )

    for answer in (read, write):
        assert answer.status_code == 401
        assert error_of(answer)["code"] == "not_authenticated"
    assert Customer.objects.get(pk=maria.pk).city == "Київ"


def test_a_write_without_a_token_is_unauthenticated_even_where_csrf_is_checked(maria: Customer) -> None:
    # A machine client has no CSRF token; it must hear what is really wrong: it sent no credentials.
    client = Client(enforce_csrf_checks=True)

    answer = client.post(
        "/api/v1/customers", {"given_name": "Олег"}, content_type="application/json", headers={}
    )

    assert answer.status_code == 401
    assert error_of(answer)["code"] == "not_authenticated"
    assert Customer.objects.count() == 1


def test_a_revoked_token_is_refused(api_as: Callable[..., Any], olena: User) -> None:
    client = api_as(olena)
    assert client.get("/api/v1/me").status_code == 200

    revoke_token(actor=Actor.of(olena), token=ApiToken.objects.get(user=olena))

    answer = client.get("/api/v1/me")
    assert answer.status_code == 401
    assert error_of(answer)["code"] == "not_authenticated"


def test_a_token_works_until_it_expires(olena: User) -> None:
    start = clock.now()
    with clock.frozen_at(start):
        _token, secret = issue_token(
            actor=SYSTEM, user=olena, name="temp", expires_at=start + timedelta(hours=1)
        )
    headers = {"Authorization": f"Bearer {secret}"}

    with clock.frozen_at(start + timedelta(minutes=59)):
        before = Client().get("/api/v1/me", headers=headers)
    with clock.frozen_at(start + timedelta(hours=1)):
        after = Client().get("/api/v1/me", headers=headers)

    assert before.status_code == 200
    assert after.status_code == 401
    assert error_of(after)["code"] == "not_authenticated"


def test_the_token_of_a_deactivated_person_is_refused(api_as: Callable[..., Any], olena: User) -> None:
    client = api_as(olena)
    olena.is_active = False
    olena.save(update_fields=["is_active"])

    assert client.get("/api/v1/customers").status_code == 401


def test_me_tells_who_is_calling_and_what_it_may_do(api_as: Callable[..., Any], olena: User) -> None:
    answer = api_as(olena).get("/api/v1/me")

    assert answer.status_code == 200
    assert answer.json() == {
        "id": olena.pk,
        "username": "olena",
        "role": "agent",
        "permissions": sorted(
            [CONSENT, EDIT, VIEW, Perm.ENGAGE_VIEW, Perm.TICKETS_VIEW, Perm.TICKETS_ANSWER]
        ),
        "token_id": ApiToken.objects.get(user=olena).pk,
    }


def test_me_shows_a_scoped_token_its_narrower_permissions(api_as: Callable[..., Any], olena: User) -> None:
    answer = api_as(olena, scopes=[VIEW, MERGE]).get("/api/v1/me")

    assert answer.json()["permissions"] == [VIEW]


# --- tokens --------------------------------------------------------------------------------------


def test_a_new_token_shows_its_secret_once_and_only_a_digest_is_kept(
    api_as: Callable[..., Any], olena: User
) -> None:
    client = api_as(olena)

    answer = client.post("/api/v1/tokens", {"name": "crm sync"})

    assert answer.status_code == 201
    made = answer.json()
    secret = made["secret"]
    assert secret.startswith("fw_")
    assert len(secret) > 40
    assert made["prefix"] == secret[:10]
    assert made["scopes"] == sorted(
        [CONSENT, EDIT, VIEW, Perm.ENGAGE_VIEW, Perm.TICKETS_VIEW, Perm.TICKETS_ANSWER]
    )
    stored = ApiToken.objects.get(pk=made["id"])
    assert stored.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(row) for row in ApiToken.objects.values())
    listed = client.get("/api/v1/tokens").json()
    assert all("secret" not in token for token in listed)
    assert made["id"] in [token["id"] for token in listed]
    me = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()
    assert me["token_id"] == made["id"]


def test_people_see_only_their_own_tokens(api_as: Callable[..., Any], olena: User, taras: User) -> None:
    api_as(taras)

    listed = api_as(olena).get("/api/v1/tokens").json()

    assert {token["id"] for token in listed} == set(
        ApiToken.objects.filter(user=olena).values_list("pk", flat=True)
    )


def test_a_revoked_token_stops_working_at_once(api_as: Callable[..., Any], olena: User) -> None:
    client = api_as(olena)
    made = client.post("/api/v1/tokens", {"name": "old laptop"}).json()

    answer = client.delete(f"/api/v1/tokens/{made['id']}")

    assert answer.status_code == 204
    assert ApiToken.objects.get(pk=made["id"]).revoked_at is not None
    revoked = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {made['secret']}"})
    assert revoked.status_code == 401
    listed = {t["id"]: t for t in client.get("/api/v1/tokens").json()}
    assert listed[made["id"]]["revoked_at"] is not None
    assert client.delete(f"/api/v1/tokens/{made['id']}").status_code == 204


def test_nobody_revokes_a_token_of_someone_else(api_as: Callable[..., Any], olena: User, taras: User) -> None:
    tarases, _secret = issue_token(actor=SYSTEM, user=taras, name="taras's")

    answer = api_as(olena).delete(f"/api/v1/tokens/{tarases.pk}")

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "token_not_found"
    assert ApiToken.objects.get(pk=tarases.pk).revoked_at is None


def test_an_administrator_may_revoke_anyones_token(
    api_as: Callable[..., Any], ada: User, olena: User
) -> None:
    olenas, _secret = issue_token(actor=SYSTEM, user=olena, name="olena's")

    answer = api_as(ada).delete(f"/api/v1/tokens/{olenas.pk}")

    assert answer.status_code == 204
    assert ApiToken.objects.get(pk=olenas.pk).revoked_at is not None


def test_revoking_an_unknown_token_is_not_found(api_as: Callable[..., Any], olena: User) -> None:
    answer = api_as(olena).delete("/api/v1/tokens/987654")

    assert answer.status_code == 404
    assert error_of(answer)["code"] == "token_not_found"


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        ({"name": "x", "scopes": ["customers.view", "customers.fly"]}, 422, {"scopes": "unknown_scope"}),
        ({"name": "x", "scopes": "customers.view"}, 422, {"scopes": "list_type"}),
        ({"name": ""}, 422, {"name": "string_too_short"}),
        ({}, 422, {"name": "missing"}),
        ({"name": "x", "expires_at": "2031-01-01T00:00:00"}, 422, {"expires_at": "timezone_aware"}),
        ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, 422, {"expires_at": "in_the_past"}),
        ({"name": "x", "scopes": [MERGE]}, 403, {"scopes": "scope_not_allowed"}),
    ],
)
def test_a_bad_token_request_is_refused_and_issues_nothing(
    api_as: Callable[..., Any], olena: User, body: dict[str, Any], status: int, problem: dict[str, str]
) -> None:
    client = api_as(olena)
    count = ApiToken.objects.count()

    answer = client.post("/api/v1/tokens", body)

    assert answer.status_code == status
    assert {f["path"]: f["code"] for f in error_of(answer)["fields"]} == problem
    assert ApiToken.objects.count() == count


def test_a_narrow_token_cannot_issue_a_wider_one(api_as: Callable[..., Any], taras: User) -> None:
    read_only = api_as(taras, scopes=[VIEW])

    wider = read_only.post("/api/v1/tokens", {"name": "more", "scopes": [VIEW, MERGE]})
    default = read_only.post("/api/v1/tokens", {"name": "same"})

    assert wider.status_code == 403
    assert error_of(wider)["code"] == "permission_denied"
    assert default.status_code == 201
    assert default.json()["scopes"] == [VIEW]
    assert ApiToken.objects.filter(user=taras).count() == 2


def test_a_token_may_be_issued_with_an_expiry(api_as: Callable[..., Any], olena: User) -> None:
    answer = api_as(olena).post(
        "/api/v1/tokens", {"name": "a week", "scopes": [VIEW], "expires_at": "2031-01-01T12:00:00+02:00"}
    )

    assert answer.status_code == 201
    assert datetime.fromisoformat(answer.json()["expires_at"]) == datetime(2031, 1, 1, 10, tzinfo=UTC)
    assert answer.json()["scopes"] == [VIEW]
