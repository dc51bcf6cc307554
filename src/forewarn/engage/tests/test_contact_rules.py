"""The contact rules an administrator keeps, over the API: the frequency caps (read and replaced whole), the
default quiet hours (every customer who has not chosen their own has them, and follows a change), and
the topics customers consent to (added, renamed, made opt-in or not, retired). Every change is audited;
anyone else is refused and nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

import pytest
from conftest import SYSTEM

from forewarn.accounts.models import User
from forewarn.core.models import ContactDefaults
from forewarn.core.models import Topic as StoredTopic
from forewarn.customers.models import Customer
from forewarn.customers.services.profiles import IdentityIn, ProfileIn, create_customer
from forewarn.engage import policy
from forewarn.engage.models import FrequencyCap, Message, Trigger
from forewarn.engage.services.planning import Draft, plan
from forewarn.engage.services.words import Words
from forewarn.privacy.models import AuditAction, AuditEntry

# 19:30 UTC: 21:30 in Kyiv, inside 21:00-09:00 but not inside 22:00-08:00.
EVENING = datetime(2026, 3, 10, 19, 30, tzinfo=UTC)
CONTACT_RULES = ["engage.frequencycap", "core.contactdefaults", "core.topic"]
WORDS = Words.per_language({"uk": "Новини для вас", "en": "News for you"})


def _settings_audited(what: str = "") -> list[AuditEntry]:
    """The changes to the contact rules (``what``: to one kind) in the audit log, oldest first."""
    entries = AuditEntry.objects.filter(action=AuditAction.SETTING, detail__what__in=CONTACT_RULES)
    return list((entries.filter(detail__what=what) if what else entries).order_by("seq"))


def person(name: str, phone: str, **extra: Any) -> Customer:
    return create_customer(
        actor=SYSTEM,
        data=ProfileIn(given_name=name, identities=[IdentityIn(kind="phone", value=phone)], **extra),
        source="tests",
    )


def draft(customer: Customer, topic: str) -> Draft:
    intent = policy.Intent(topic=topic, priority=50, ttl=None, when_late="hold")
    return Draft(customer_id=customer.pk, intent=intent, kind="news", words=WORDS, context={})


# --- caps ---------------------------------------------------------------------------------------------


def test_the_caps_answer_what_is_stored_and_a_valid_replacement_is_read_back(
    api_as: Callable[..., Any], ada: User, iryna: User
) -> None:
    listed = api_as(iryna).get("/api/v1/policy/caps")
    assert listed.status_code == 200
    assert listed.json() == [
        {"topic": "", "limit": 3, "window_hours": 168, "active": True},
        {"topic": "marketing", "limit": 1, "window_hours": 24, "active": True},
    ]
    body = [
        {"topic": "marketing", "limit": 2, "window_hours": 24, "active": True},
        {"topic": "surveys", "limit": 1, "window_hours": 720, "active": False},
    ]
    replaced = api_as(ada).put("/api/v1/policy/caps", body)
    assert replaced.status_code == 200, replaced.content
    assert sorted(replaced.json(), key=str) == sorted(body, key=str)
    assert sorted(api_as(iryna).get("/api/v1/policy/caps").json(), key=str) == sorted(body, key=str)


def test_every_bad_cap_is_named_and_none_is_kept(api_as: Callable[..., Any], ada: User) -> None:
    before = list(FrequencyCap.objects.values_list("topic", "limit", "window_hours"))
    answer = api_as(ada).put(
        "/api/v1/policy/caps",
        [
            {"topic": "marketing", "limit": 1, "window_hours": 24},
            {"topic": "marketing", "limit": 2, "window_hours": 24},
            {"topic": "gossip", "limit": 1, "window_hours": 24},
            {"topic": "transactional", "limit": 1, "window_hours": 24},
            {"topic": "", "limit": 1001, "window_hours": 0},
        ],
    )
    assert answer.status_code == 422
    fields = {(f["path"], f["code"]) for f in answer.json()["error"]["fields"]}
    assert fields == {
        ("4.limit", "less_than_equal"),
        ("4.window_hours", "greater_than_equal"),
    }
    answer = api_as(ada).put(
        "/api/v1/policy/caps",
        [
            {"topic": "marketing", "limit": 1, "window_hours": 24},
            {"topic": "marketing", "limit": 2, "window_hours": 24},
            {"topic": "gossip", "limit": 1, "window_hours": 24},
            {"topic": "transactional", "limit": 1, "window_hours": 24},
        ],
    )
    assert answer.status_code == 422
    fields = {(f["path"], f["code"]) for f in answer.json()["error"]["fields"]}
    assert fields == {
        ("1.window_hours", "cap_duplicate"),
        ("2.topic", "topic_unknown"),
        ("3.topic", "transactional_uncapped"),
    }
    assert list(FrequencyCap.objects.values_list("topic", "limit", "window_hours")) == before


def test_only_an_administrator_changes_the_caps(
    api_as: Callable[..., Any], taras: User, maksym: User
) -> None:
    before = list(FrequencyCap.objects.values_list("topic", "limit", "window_hours"))
    for person_ in (taras, maksym):
        answer = api_as(person_).put("/api/v1/policy/caps", [{"limit": 9, "window_hours": 24}])
        assert answer.status_code == 403
    assert list(FrequencyCap.objects.values_list("topic", "limit", "window_hours")) == before
    assert not _settings_audited()


# --- the default quiet hours --------------------------------------------------------------------------


def test_customers_who_never_chose_follow_a_change_to_the_default_quiet_hours(
    api_as: Callable[..., Any], ada: User, iryna: User
) -> None:
    assert api_as(iryna).get("/api/v1/policy/quiet-hours").json() == {"start": "21:00:00", "end": "09:00:00"}
    follows = person("Ганна", "+380671110001")
    own = person("Петро", "+380671110002", quiet_hours_start=time(21, 0), quiet_hours_end=time(9, 0))
    read = api_as(iryna).get(f"/api/v1/customers/{follows.pk}").json()
    assert (read["quiet_hours_start"], read["quiet_hours_end"], read["quiet_hours_default"]) == (
        "21:00:00",
        "09:00:00",
        True,
    )
    assert api_as(iryna).get(f"/api/v1/customers/{own.pk}").json()["quiet_hours_default"] is False

    changed = api_as(ada).put("/api/v1/policy/quiet-hours", {"start": "22:00", "end": "08:00"})
    assert changed.status_code == 200
    assert changed.json() == {"start": "22:00:00", "end": "08:00:00"}
    read = api_as(iryna).get(f"/api/v1/customers/{follows.pk}").json()
    assert (read["quiet_hours_start"], read["quiet_hours_end"]) == ("22:00:00", "08:00:00")

    # At 21:30 in Kyiv Hanna (22:00-08:00 now) is told at once; Petro chose 21:00-09:00 and waits.
    first, second = plan([draft(follows, "service"), draft(own, "service")], now=EVENING).ids
    messages = {m.customer_id: m for m in plan_messages([first, second])}
    assert messages[follows.pk].send_after == EVENING
    assert messages[own.pk].reason == "quiet_hours"
    entry = _settings_audited("core.contactdefaults")[-1]
    assert entry.detail["fields"] == {
        "quiet_hours_start": ["21:00", "22:00"],
        "quiet_hours_end": ["09:00", "08:00"],
    }


def plan_messages(ids: list[int]) -> list[Message]:
    return list(Message.objects.filter(pk__in=ids))


def test_only_an_administrator_changes_the_default_quiet_hours(
    api_as: Callable[..., Any], taras: User, ada: User
) -> None:
    assert (
        api_as(taras).put("/api/v1/policy/quiet-hours", {"start": "20:00", "end": "10:00"}).status_code == 403
    )
    assert api_as(taras).get("/api/v1/policy/quiet-hours").json()["start"] == "21:00:00"
    bad = api_as(ada).put("/api/v1/policy/quiet-hours", {"start": "25:00", "end": "08:00", "tz": "UTC"})
    assert bad.status_code == 422
    assert {f["path"] for f in bad.json()["error"]["fields"]} == {"start", "tz"}
    offset = api_as(ada).put("/api/v1/policy/quiet-hours", {"start": "22:00+02:00", "end": "08:00"})
    assert offset.status_code == 422
    assert [(f["path"], f["code"]) for f in offset.json()["error"]["fields"]] == [
        ("start", "time_with_offset")
    ]
    row = ContactDefaults.objects.get()
    assert (row.quiet_hours_start, row.quiet_hours_end) == (time(21, 0), time(9, 0))


# --- topics -------------------------------------------------------------------------------------------


def test_the_topics_are_the_built_in_four_to_begin_with(api_as: Callable[..., Any], iryna: User) -> None:
    listed = api_as(iryna).get("/api/v1/policy/topics")
    assert listed.status_code == 200
    assert [(t["code"], t["opt_in"], t["active"], t["built_in"]) for t in listed.json()] == [
        ("transactional", False, True, True),
        ("service", False, True, True),
        ("marketing", True, True, True),
        ("surveys", True, True, True),
    ]
    assert listed.json()[2]["name"] == "Marketing"


def test_an_added_topic_is_consented_to_triggered_on_and_needs_a_yes(
    api_as: Callable[..., Any], ada: User, olena: User, maksym: User
) -> None:
    made = api_as(ada).post(
        "/api/v1/policy/topics", {"code": "product_news", "names": {"uk": "Новинки", "en": "Product news"}}
    )
    assert made.status_code == 201, made.content
    topic = made.json()
    assert (topic["code"], topic["name"], topic["opt_in"], topic["built_in"]) == (
        "product_news",
        "Product news",
        True,
        False,
    )
    hanna, petro = person("Ганна", "+380671110001"), person("Петро", "+380671110002")
    consent = api_as(olena).put(
        f"/api/v1/customers/{hanna.pk}/consents",
        {"topic": "product_news", "channel": "sms", "status": "granted"},
    )
    assert consent.status_code == 200, consent.content
    trigger = api_as(maksym).post(
        "/api/v1/triggers",
        {
            "name": "New arrivals",
            "event_type": "catalogue_updated",
            "topic": "product_news",
            "templates": [{"language": "uk", "body": "Новинки вже в магазині."}],
        },
    )
    assert trigger.status_code == 201, trigger.content

    ids = plan([draft(hanna, "product_news"), draft(petro, "product_news")], now=EVENING.replace(hour=12)).ids
    by_customer = {m.customer_id: m for m in plan_messages(ids)}
    assert by_customer[hanna.pk].status == "queued"
    assert (by_customer[petro.pk].status, by_customer[petro.pk].reason) == ("suppressed", "no_channel")
    assert ["channel", "skip", "consent_missing", "sms"] in by_customer[petro.pk].trail

    opened = api_as(ada).patch(f"/api/v1/policy/topics/{topic['id']}", {"opt_in": False})
    assert opened.status_code == 200
    assert opened.json()["opt_in"] is False
    [again] = plan([draft(petro, "product_news")], now=EVENING.replace(hour=12)).ids
    assert plan_messages([again])[0].status == "queued"
    created, changed = _settings_audited("core.topic")
    assert (created.detail["what"], created.detail["change"], created.detail["fields"]["code"]) == (
        "core.topic",
        "created",
        "product_news",
    )
    assert changed.detail["fields"] == {"opt_in": [True, False]}


def test_a_topic_active_triggers_send_on_is_not_retired(
    api_as: Callable[..., Any], ada: User, maksym: User, make_trigger: Callable[..., Trigger]
) -> None:
    surveys = StoredTopic.objects.get(code="surveys")
    trigger = make_trigger(event_type="call_ended", topic="surveys", name="After the call")
    refused = api_as(ada).patch(f"/api/v1/policy/topics/{surveys.pk}", {"active": False})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "topic_in_use"
    assert "After the call" in refused.json()["error"]["message"]
    assert StoredTopic.objects.get(code="surveys").active

    Trigger.objects.filter(pk=trigger.pk).update(active=False)
    retired = api_as(ada).patch(f"/api/v1/policy/topics/{surveys.pk}", {"active": False})
    assert retired.status_code == 200
    assert _settings_audited()[-1].detail["change"] == "deactivated"
    body = {
        "name": "Rate us",
        "event_type": "ticket_solved",
        "topic": "surveys",
        "templates": [{"language": "uk", "body": "Оцініть нас."}],
    }
    again = api_as(maksym).post("/api/v1/triggers", body)
    assert again.status_code == 422
    assert [(f["path"], f["code"]) for f in again.json()["error"]["fields"]] == [("topic", "topic_retired")]
    assert api_as(maksym).post("/api/v1/triggers", {**body, "active": False}).status_code == 201


@pytest.mark.parametrize(
    ("body", "path", "code"),
    [
        ({"code": "Product News", "names": {"en": "News"}}, "code", "code_invalid"),
        ({"code": "marketing", "names": {"en": "Ads"}}, "code", "code_taken"),
        ({"code": "news"}, "names", "required"),
        ({"code": "news", "names": {"de": "Neuigkeiten"}}, "names.de", "language_unknown"),
        ({"code": "news", "names": {"en": "N" * 61}}, "names.en", "too_long"),
    ],
)
def test_a_bad_topic_is_refused_with_its_field_named(
    api_as: Callable[..., Any], ada: User, body: dict[str, Any], path: str, code: str
) -> None:
    count = StoredTopic.objects.count()
    answer = api_as(ada).post("/api/v1/policy/topics", body)
    assert answer.status_code == 422
    assert (path, code) in {(f["path"], f["code"]) for f in answer.json()["error"]["fields"]}
    assert StoredTopic.objects.count() == count


def test_transactional_notices_stay_what_they_are(api_as: Callable[..., Any], ada: User) -> None:
    transactional = StoredTopic.objects.get(code="transactional")
    answer = api_as(ada).patch(f"/api/v1/policy/topics/{transactional.pk}", {"opt_in": True, "active": False})
    assert answer.status_code == 422
    assert {f["code"] for f in answer.json()["error"]["fields"]} == {
        "transactional_opt_out",
        "transactional_kept",
    }
    renamed = api_as(ada).patch(
        f"/api/v1/policy/topics/{transactional.pk}", {"names": {"uk": "Сповіщення про замовлення"}}
    )
    assert renamed.status_code == 200
    assert renamed.json()["names"] == {"uk": "Сповіщення про замовлення"}
    assert api_as(ada).patch(f"/api/v1/policy/topics/{transactional.pk}", {"code": "tx"}).status_code == 422
    assert api_as(ada).patch(f"/api/v1/policy/topics/{transactional.pk}", {"names": None}).status_code == 422


def test_only_an_administrator_keeps_the_topics(
    api_as: Callable[..., Any], taras: User, maksym: User
) -> None:
    surveys = StoredTopic.objects.get(code="surveys")
    for someone in (taras, maksym):
        assert (
            api_as(someone)
            .post("/api/v1/policy/topics", {"code": "news", "names": {"en": "News"}})
            .status_code
            == 403
        )
        assert (
            api_as(someone).patch(f"/api/v1/policy/topics/{surveys.pk}", {"active": False}).status_code == 403
        )
    assert not StoredTopic.objects.filter(code="news").exists()
    assert StoredTopic.objects.get(code="surveys").active
    assert api_as(taras).get("/api/v1/policy/topics/987654").status_code == 404
