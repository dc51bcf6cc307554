"""The privacy pages: masks and reveal forms on the profile, the audit log, export files and erasure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.customers.models import Customer
from forewarn.customers.services.consent import record_consent
from forewarn.privacy import crypto
from forewarn.privacy.models import AuditAction, AuditEntry, PersonalValue

SYSTEM = Actor.system("tests")


@pytest.fixture(autouse=True)
def _keys_of_their_own(settings: Any, tmp_path: Path) -> None:
    settings.FOREWARN_PII_KEYS = ""
    settings.FOREWARN_PII_KEY_FILE = tmp_path / "pii_keys"
    crypto.keyring.cache_clear()


@pytest.fixture
def noted(maria: Customer) -> Customer:
    record_consent(
        actor=SYSTEM,
        customer=maria,
        topic="marketing",
        channel="sms",
        status="denied",
        source="call",
        note="Картка 4111 1111 1111 1111 заблокована, більше не писати",
    )
    return maria


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_profile_shows_the_mask_and_offers_a_reveal_only_to_those_who_may(
    noted: Customer, olena: User, taras: User
) -> None:
    value = PersonalValue.objects.get()
    url = f"/customers/{noted.pk}/"
    agent_page = signed_in(olena).get(url).content.decode()
    assert "4111 •••• •••• 1111" in agent_page
    assert "4111 1111 1111 1111" not in agent_page
    assert f"/privacy/values/{value.pk}/reveal/" not in agent_page
    supervisor_page = signed_in(taras).get(url).content.decode()
    assert f"/privacy/values/{value.pk}/reveal/" in supervisor_page
    assert "4111 1111 1111 1111" not in supervisor_page  # offered, not shown
    assert "Export (JSON)" not in supervisor_page  # exports and erasure are the administrator's


def test_the_audit_log_page_is_for_admins(noted: Customer, taras: User, ada: User) -> None:
    value = PersonalValue.objects.get()
    signed_in(taras).post(f"/privacy/values/{value.pk}/reveal/", {"reason": "the customer asked to read it"})
    assert signed_in(taras).get("/privacy/audit/").status_code == 403
    page = signed_in(ada).get("/privacy/audit/?verify=1")
    assert page.status_code == 200
    text = page.content.decode()
    assert "the customer asked to read it" in text
    assert "unbroken" in text


def test_an_admin_downloads_the_export_as_a_readable_file_and_as_json(noted: Customer, ada: User) -> None:
    client = signed_in(ada)
    readable = client.get(f"/privacy/customers/{noted.pk}/export/")
    assert readable.status_code == 200
    assert readable["Content-Disposition"] == f'attachment; filename="customer-{noted.pk}.html"'
    assert "Петренко" in readable.content.decode()
    assert "4111 1111 1111 1111" in readable.content.decode()  # the person's own values, opened for them
    data = json.loads(client.get(f"/privacy/customers/{noted.pk}/export/?format=json").content)
    assert data["sections"]["customers"]["profiles"][0]["given_name"] == "Марія"
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT).count() == 2


def test_erasure_in_the_ui_asks_for_a_reason_and_the_customer_number(noted: Customer, ada: User) -> None:
    client = signed_in(ada)
    url = f"/privacy/customers/{noted.pk}/erase/"
    assert client.get(url).status_code == 200
    wrong = client.post(url, {"reason": "she asked in writing", "confirm": "12345"})
    assert wrong.status_code == 422
    noted.refresh_from_db()
    assert noted.family_name == "Петренко"
    done = client.post(url, {"reason": "she asked in writing", "confirm": str(noted.pk)}, follow=True)
    assert done.status_code == 200
    noted.refresh_from_db()
    assert (noted.status, noted.family_name) == ("erased", "")
    assert "erased on request" in done.content.decode()
    assert not PersonalValue.objects.exists()
