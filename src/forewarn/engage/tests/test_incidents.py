"""Incidents: exactly the affected customers hear of it (through the policy), and "fixed" follows to the
same people; the call list holds consented, de-duplicated phones with each person's calling window."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from conftest import SYSTEM
from django.test import Client

from forewarn.accounts.models import User
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.customers.services.consent import record_consent
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, create_customer
from forewarn.engage.models import Incident, Message, MessageStatus
from forewarn.engage.services.outbox import dispatch_once
from forewarn.engage.tasks import broadcast_incident


def resident(name: str, district: str, phone: str, **extra: Any) -> Customer:
    return create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name=name,
            attributes={"district": district},
            identities=[IdentityIn(kind="phone", value=phone)],
            **extra,
        ),
        source="tests",
    )


@pytest.fixture
def podil(db: None) -> list[Customer]:
    """Three people in Podilskyi (one in New York, one who refused SMS), one in Obolonskyi."""
    people = [
        resident("Ганна", "Podilskyi", "+380671110001"),
        resident("John", "Podilskyi", "+380671110002", time_zone="America/New_York", language="en"),
        resident("Петро", "Podilskyi", "+380671110003"),
        resident("Іван", "Obolonskyi", "+380671110004"),
    ]
    record_consent(
        actor=SYSTEM,
        customer=people[2],
        topic="transactional",
        channel="sms",
        status="denied",
        source="tests",
    )
    return people


def test_an_outage_reaches_exactly_the_affected_consented_customers_and_resolved_follows(
    api_as: Callable[..., Any], taras: User, podil: list[Customer]
) -> None:
    hanna, john, petro, ivan = podil
    # 20:30 UTC: 22:30 in Kyiv (quiet hours), 15:30 in New York.
    with clock.frozen_at(datetime(2026, 3, 10, 20, 30, tzinfo=UTC)):
        client = api_as(taras)
        response = client.post(
            "/api/v1/incidents",
            {"title": "Немає світла", "area": "Поділ", "audience": {"attributes": {"district": "Podilskyi"}}},
        )
        assert response.status_code == 201, response.content
        incident = Incident.objects.get()
        assert incident.affected_count == 3
        notices = {m.customer_id: m for m in Message.objects.filter(incident=incident)}
        assert set(notices) == {hanna.pk, john.pk, petro.pk}
        assert ivan.pk not in notices
        assert notices[petro.pk].status == MessageStatus.SUPPRESSED
        assert notices[petro.pk].reason == "no_channel"
        assert notices[john.pk].send_after == clock.now()
        assert notices[hanna.pk].reason == "quiet_hours"
        assert notices[hanna.pk].send_after == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
        dispatch_once()
        notices[john.pk].refresh_from_db()
        assert notices[john.pk].body.startswith("John, we know about a disruption: Немає світла (Поділ)")
        clock.advance(timedelta(hours=11))  # 09:30 in Kyiv
        dispatch_once()
        notices[hanna.pk].refresh_from_db()
        assert notices[hanna.pk].body.startswith("Ганна, ми знаємо про перебої")
        progress = client.get(f"/api/v1/incidents/{incident.pk}").json()["progress"]
        assert progress["notice"] == {"sent": 2, "suppressed": 1}

        resolved = client.post(f"/api/v1/incidents/{incident.pk}/resolve")
        assert resolved.status_code == 200
        assert client.post(f"/api/v1/incidents/{incident.pk}/resolve").status_code == 409
        told = Message.objects.filter(incident=incident, kind="resolved")
        assert set(told.values_list("customer_id", flat=True)) == {hanna.pk, john.pk}


def test_notices_still_waiting_when_it_is_resolved_are_cancelled_and_get_no_resolved(
    api_as: Callable[..., Any], taras: User, podil: list[Customer]
) -> None:
    with clock.frozen_at(datetime(2026, 3, 10, 20, 30, tzinfo=UTC)):
        client = api_as(taras)
        incident_id = client.post(
            "/api/v1/incidents", {"title": "Outage", "audience": {"attributes": {"district": "Podilskyi"}}}
        ).json()["id"]
        dispatch_once()  # John's goes; Hanna's waits for the morning
        client.post(f"/api/v1/incidents/{incident_id}/resolve")
    statuses = dict(
        Message.objects.filter(incident_id=incident_id, kind="notice").values_list(
            "customer__given_name", "status"
        )
    )
    assert statuses == {"Ганна": "cancelled", "John": "sent", "Петро": "suppressed"}
    resolved = Message.objects.filter(incident_id=incident_id, kind="resolved")
    assert list(resolved.values_list("customer__given_name", flat=True)) == ["John"]


def test_a_critical_incident_passes_quiet_hours(
    api_as: Callable[..., Any], taras: User, podil: list[Customer]
) -> None:
    with clock.frozen_at(datetime(2026, 3, 10, 20, 30, tzinfo=UTC)):
        api_as(taras).post(
            "/api/v1/incidents",
            {"title": "Gas leak", "critical": True, "audience": {"attributes": {"district": "Podilskyi"}}},
        )
        hanna = Message.objects.get(customer=podil[0])
        assert (hanna.send_after, hanna.reason) == (clock.now(), "ok")


def test_broadcasting_again_does_not_tell_anyone_twice(
    api_as: Callable[..., Any], taras: User, podil: list[Customer]
) -> None:
    with clock.frozen_at(datetime(2026, 3, 10, 12, 0, tzinfo=UTC)):
        incident_id = (
            api_as(taras)
            .post(
                "/api/v1/incidents",
                {"title": "Outage", "audience": {"attributes": {"district": "Podilskyi"}}},
            )
            .json()["id"]
        )
        broadcast_incident.call(incident_id, "notice")
    live = Message.objects.filter(incident_id=incident_id).exclude(status=MessageStatus.SUPPRESSED)
    assert live.count() == 2
    repeats = Message.objects.filter(incident_id=incident_id, reason="already_said")
    assert repeats.count() == 2


def test_declaring_checks_the_audience_and_needs_the_permission(
    api_as: Callable[..., Any], taras: User, olena: User
) -> None:
    bad = api_as(taras).post("/api/v1/incidents", {"title": "x", "audience": {"district": "Podilskyi"}})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["code"] == "unknown_filter"
    denied = api_as(olena).post("/api/v1/incidents", {"title": "x", "audience": {"city": "Київ"}})
    assert denied.status_code == 403
    assert Incident.objects.count() == 0


def test_the_call_list_has_consented_unique_phones_and_call_windows(
    api_as: Callable[..., Any], taras: User, podil: list[Customer]
) -> None:
    _hanna, john, petro, _ivan = podil
    record_consent(
        actor=SYSTEM, customer=petro, topic="service", channel="voice", status="denied", source="tests"
    )
    Customer.objects.filter(pk=john.pk).update(quiet_hours_start=time(22, 0), quiet_hours_end=time(8, 0))
    with clock.frozen_at(datetime(2026, 3, 10, 12, 0, tzinfo=UTC)):
        client = api_as(taras)
        incident_id = client.post(
            "/api/v1/incidents", {"title": "Outage", "audience": {"attributes": {"district": "Podilskyi"}}}
        ).json()["id"]
        response = client.get(f"/api/v1/incidents/{incident_id}/call-list")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["phone"] for r in rows] == ["+380671110001", "+380671110002"]
    assert rows[0]["call_window_local"] == "09:00-21:00"
    assert rows[0]["call_from_utc"] == "2026-03-10T07:00:00+00:00"
    assert rows[1]["call_window_local"] == "08:00-22:00"
    assert rows[1]["call_from_utc"] == "2026-03-10T12:00:00+00:00"  # 08:00 in New York (UTC-4 from 8 March)


def test_the_incident_page_links_what_affected_customers_said_since_it_began(
    api_as: Callable[..., Any], taras: User, podil: list[Customer], ada: User
) -> None:
    hanna, _john, _petro, ivan = podil
    with clock.frozen_at(datetime(2026, 3, 10, 12, 0, tzinfo=UTC)):
        incident_id = (
            api_as(taras)
            .post(
                "/api/v1/incidents",
                {"title": "Outage", "audience": {"attributes": {"district": "Podilskyi"}}},
            )
            .json()["id"]
        )
        clock.advance(timedelta(minutes=10))
        for who, text in ((hanna, "Коли дадуть світло?"), (ivan, "Дякую за рахунок")):
            api_as(ada).post(
                "/api/v1/events",
                {
                    "source": "twilio",
                    "id": f"reply-{who.pk}",
                    "type": "message_replied",
                    "customer": {"customer_id": who.pk},
                    "payload": {"channel": "sms", "text": text},
                },
            )
        client = Client()
        client.force_login(taras)
        page = client.get(f"/engage/incidents/{incident_id}/").content.decode()
    assert "Коли дадуть світло?" in page
    assert "Дякую за рахунок" not in page
