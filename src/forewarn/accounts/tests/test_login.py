"""Signing in to the UI: the login page, password hashing, lock-out after wrong passwords, and CSRF on
API calls that ride on the session."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from forewarn import settings as production
from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.accounts.services import create_staff_user
from forewarn.customers.models import Customer

PASSWORD = "olena-long-password-1"  # what conftest gives olena
SIGNED_IN = "_auth_user_id"


def sign_in(client: Client, username: str, password: str) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password})


def signed_in_client(user: User) -> Client:
    """A browser that signed in through the form and kept its CSRF cookie, as the UI's own scripts do."""
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("login"))
    token = client.cookies["csrftoken"].value
    answer = client.post(
        reverse("login"),
        {"username": user.username, "password": f"{user.username}-long-password-1"},
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 302
    return client


def test_the_login_page_renders(db: None) -> None:
    answer = Client().get(reverse("login"))

    assert answer.status_code == 200
    page = answer.content.decode()
    assert 'name="username"' in page
    assert 'name="password"' in page
    assert "csrfmiddlewaretoken" in page


def test_the_right_password_signs_in_and_opens_her_inbox(olena: User) -> None:
    client = Client()

    answer = sign_in(client, "olena", PASSWORD)

    assert answer.status_code == 302
    assert client.get(answer["Location"])["Location"] == reverse("inbox:list")
    assert client.session[SIGNED_IN] == str(olena.pk)
    assert client.get(reverse("customers:duplicates")).status_code == 200


def test_the_customer_list_opens_after_signing_in(olena: User, maria: Customer) -> None:
    client = Client()
    sign_in(client, "olena", PASSWORD)

    answer = client.get(reverse("customers:list"))

    assert answer.status_code == 200
    assert "Петренко" in answer.content.decode()


def test_a_wrong_password_is_refused_with_a_message(olena: User) -> None:
    client = Client()

    answer = sign_in(client, "olena", "not-her-password")

    assert answer.status_code == 200
    assert 'role="alert"' in answer.content.decode()
    assert SIGNED_IN not in client.session


def test_a_page_behind_the_login_sends_a_stranger_to_sign_in(db: None) -> None:
    answer = Client().get(reverse("customers:list"))

    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("login"))


def test_passwords_are_hashed_with_argon2_in_production(db: None, settings: Any) -> None:
    # conftest swaps in a fast hasher for every test; put the production list back for this one.
    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS

    user = create_staff_user(
        actor=Actor.system("tests"),
        username="nadia",
        password="nadia-long-password-1",
        role="agent",
        check_password=False,
    )

    stored = User.objects.get(pk=user.pk).password
    assert stored.startswith("argon2")
    assert "nadia-long-password-1" not in stored
    assert User.objects.get(pk=user.pk).check_password("nadia-long-password-1")


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(olena: User) -> None:
    assert django_settings.AXES_FAILURE_LIMIT == 5
    client = Client()
    for _attempt in range(5):
        sign_in(client, "olena", "guessing")

    answer = sign_in(client, "olena", PASSWORD)

    assert answer.status_code == 429
    assert "Too many failed sign-ins" in answer.content.decode()
    assert SIGNED_IN not in client.session


def test_four_wrong_passwords_do_not_lock_the_account(olena: User) -> None:
    client = Client()
    for _attempt in range(4):
        sign_in(client, "olena", "guessing")

    answer = sign_in(client, "olena", PASSWORD)

    assert answer.status_code == 302
    assert client.session[SIGNED_IN] == str(olena.pk)


def test_a_lock_on_one_account_leaves_others_alone(olena: User, taras: User) -> None:
    client = Client()
    for _attempt in range(5):
        sign_in(client, "olena", "guessing")

    answer = sign_in(client, "taras", "taras-long-password-1")

    assert answer.status_code == 302


def test_session_api_writes_without_the_csrf_token_are_refused(olena: User, maria: Customer) -> None:
    client = signed_in_client(olena)
    body = {"given_name": "Олег"}

    created = client.post("/api/v1/customers", body, content_type="application/json")
    patched = client.patch(
        f"/api/v1/customers/{maria.pk}", {"city": "Одеса"}, content_type="application/json"
    )
    identity = maria.identities.first()
    assert identity is not None
    removed = client.delete(f"/api/v1/customers/{maria.pk}/identities/{identity.pk}")

    for answer in (created, patched, removed):
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "csrf_failed"
    assert Customer.objects.count() == 1
    maria.refresh_from_db()
    assert maria.city == "Київ"
    assert maria.identities.count() == 2


def test_session_api_reads_and_writes_with_the_csrf_token_work(olena: User, maria: Customer) -> None:
    client = signed_in_client(olena)
    token = client.cookies["csrftoken"].value

    listed = client.get("/api/v1/customers")
    me = client.get("/api/v1/me")
    created = client.post(
        "/api/v1/customers",
        {"given_name": "Олег"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert (me.json()["username"], me.json()["token_id"]) == ("olena", None)
    assert created.status_code == 201
    assert Customer.objects.count() == 2


def test_after_signing_out_the_session_opens_nothing(olena: User, maria: Customer) -> None:
    client = signed_in_client(olena)
    token = client.cookies["csrftoken"].value
    client.post(reverse("logout"), headers={"X-CSRFToken": token})

    answer = client.get("/api/v1/customers")

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"
