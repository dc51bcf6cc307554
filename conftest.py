"""Shared test fixtures: named people (agent olena, supervisor taras, analyst iryna, marketer maksym,
admin ada; customers maria, her look-alike twin and oleh) and API clients that act as them through real
bearer tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import translation

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.accounts.roles import Role
from forewarn.accounts.services import create_staff_user, issue_token
from forewarn.core.models import ContactDefaults, Topic
from forewarn.core.preferences import BUILT_IN_OPT_IN
from forewarn.customers.models import Customer
from forewarn.customers.services.dedup import find_duplicates
from forewarn.customers.services.profiles import ConsentIn, IdentityIn, ProfileIn, create_customer

SYSTEM = Actor.system("tests")
HERE = Path(__file__).resolve().parent
# The lanes of `make test`: a test under one of these folders carries its marker, whether or not its file
# says so, so that `-m "not browser and not crash"` (make test-fast) leaves them all out.
LANES = {"browser": HERE / "tests" / "browser", "crash": HERE / "tests" / "crash"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for marker, folder in LANES.items():
            if folder in item.path.parents:
                item.add_marker(marker)


@pytest.fixture
def audit_log_steps_aside() -> Iterator[None]:
    """Request it after ``transactional_db`` (or ``live_server``): the database refuses to delete audit
    entries, and on SQLite the flush that ends a transactional test is a DELETE (on PostgreSQL a
    TRUNCATE, which row triggers do not see), so the guard steps aside for that one statement."""
    yield
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS privacy_auditentry_no_delete")
        cursor.execute("DELETE FROM privacy_auditentry")
        cursor.execute(
            "CREATE TRIGGER privacy_auditentry_no_delete BEFORE DELETE ON privacy_auditentry "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )


@pytest.fixture(autouse=True)
def _transactional_tests_may_write_the_audit_log(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        request.getfixturevalue("_django_db_helper")  # set up first, so torn down after
        request.getfixturevalue("audit_log_steps_aside")


@pytest.fixture(autouse=True)
def _transactional_tests_leave_the_rows_migrations_made(request: pytest.FixtureRequest) -> Iterator[None]:
    """The flush that ends a test outside a transaction (a browser test, a worker's) empties every table,
    the rows the data migrations made too: the built-in topics and the default quiet hours are put back
    for the tests that come after, as a migrated database has them."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
    )
    if transactional:
        request.getfixturevalue("_django_db_helper")  # set up first, so torn down (flushed) before this
    yield
    if transactional:
        for position, (code, opt_in) in enumerate(BUILT_IN_OPT_IN.items()):
            Topic.objects.get_or_create(code=code, defaults={"opt_in": opt_in, "position": position})
        ContactDefaults.objects.get_or_create(pk=1)


@pytest.fixture(autouse=True)
def _each_test_starts_in_the_default_language() -> Iterator[None]:
    """A page asked for in Ukrainian leaves Ukrainian active in the thread (LocaleMiddleware activates a
    request's language and does not put it back), so the next test would read its words in it."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Argon2 is the production hasher (tested on its own); tests hash thousands of times faster.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_folder(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    """Background jobs run at once, inside the request that enqueues them, on every queue."""
    queues = settings.TASKS["default"]["QUEUES"]
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": queues}
    }


def _staff(username: str, role: str, first: str = "", last: str = "") -> User:
    return create_staff_user(
        actor=SYSTEM,
        username=username,
        password=f"{username}-long-password-1",
        role=role,
        first_name=first,
        last_name=last,
        check_password=False,
    )


@pytest.fixture
def olena(db: None) -> User:
    return _staff("olena", Role.AGENT, "Олена", "Коваленко")


@pytest.fixture
def taras(db: None) -> User:
    return _staff("taras", Role.SUPERVISOR, "Тарас", "Шевчук")


@pytest.fixture
def iryna(db: None) -> User:
    return _staff("iryna", Role.ANALYST, "Ірина", "Бондар")


@pytest.fixture
def maksym(db: None) -> User:
    return _staff("maksym", Role.MARKETER, "Максим", "Ткаченко")


@pytest.fixture
def ada(db: None) -> User:
    return _staff("ada", Role.ADMIN, "Ada", "Admin")


class ApiClient:
    """A Django test client that sends a real bearer token and JSON, as a machine client would."""

    def __init__(self, secret: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {secret}"}

    def _send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        call = getattr(self.client, method)
        extra = {**self.headers, **(headers or {})}
        if body is None:
            return call(path, headers=extra)
        return call(path, data=body, content_type="application/json", headers=extra)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers=self.headers)

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self._send("post", path, body if body is not None else {}, headers)

    def patch(self, path: str, body: Any) -> Any:
        return self._send("patch", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self._send("put", path, body)

    def delete(self, path: str) -> Any:
        return self._send("delete", path)


@pytest.fixture
def api_as(db: None) -> Callable[..., ApiClient]:
    """``api_as(olena)`` or ``api_as(olena, scopes=["customers.view"])``."""

    def make(user: User, scopes: list[str] | None = None) -> ApiClient:
        _token, secret = issue_token(actor=SYSTEM, user=user, name="tests", scopes=scopes)
        return ApiClient(secret)

    return make


@pytest.fixture
def maria(db: None) -> Customer:
    return create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name="Марія",
            family_name="Петренко",
            birth_date="1988-04-12",
            city="Київ",
            language="uk",
            time_zone="Europe/Kyiv",
            preferred_channel="sms",
            segments=["retail"],
            identities=[
                IdentityIn(kind="phone", value="067 123 45 67"),
                IdentityIn(kind="email", value="Maria.Petrenko@Example.com"),
            ],
            consents=[
                ConsentIn(topic="marketing", channel="email", status="granted"),
                ConsentIn(topic="service", channel="sms", status="granted"),
            ],
        ),
        source="tests",
    )


@pytest.fixture
def oleh(db: None) -> Customer:
    """A Russian-speaking wholesale customer who prefers email and refused marketing."""
    return create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name="Олег",
            family_name="Сидоренко",
            city="Одеса",
            language="ru",
            preferred_channel="email",
            segments=["wholesale"],
            identities=[IdentityIn(kind="phone", value="+380 50 111 22 33")],
            consents=[ConsentIn(topic="marketing", channel="sms", status="denied")],
        ),
        source="tests",
    )


@pytest.fixture
def twin(maria: Customer) -> Customer:
    """Maria entered a second time with other contacts: a likely duplicate of her."""
    twin = create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name="Марія",
            family_name="Петренко",
            birth_date="1988-04-12",
            city="Київ",
            identities=[IdentityIn(kind="email", value="maria.p@example.org")],
        ),
        source="tests",
    )
    find_duplicates(actor=SYSTEM)
    return twin
