"""The contact policy's settings pages: an administrator edits the caps as one set, the default quiet
hours and the topics; a refusal is shown beside its field with what was typed kept and nothing saved;
nobody else sees a link to them or may open them."""

from __future__ import annotations

from datetime import time

import pytest
from django.test import Client

from forewarn.accounts.models import User
from forewarn.core.models import ContactDefaults, Topic
from forewarn.engage.models import FrequencyCap
from forewarn.privacy.models import AuditAction, AuditEntry

PAGES = ["/engage/policy/", "/engage/policy/caps/", "/engage/policy/quiet-hours/", "/engage/policy/topics/"]


def _signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def _caps() -> list[tuple[str, int, int, bool]]:
    return sorted(FrequencyCap.objects.values_list("topic", "limit", "window_hours", "active"))


def _audited(what: str) -> int:
    return AuditEntry.objects.filter(action=AuditAction.SETTING, detail__what=what).count()


def test_an_administrator_edits_adds_and_removes_caps_in_one_save(client: Client, ada: User) -> None:
    page = _signed_in(client, ada).get("/engage/policy/caps/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Every topic but transactional notices" in body
    assert "a week" in body
    # Row 0 is every topic over a week (3), row 1 marketing over a day (1), row 2 the blank one.
    saved = client.post(
        "/engage/policy/caps/",
        {
            "rows": "3",
            "topic-0": "",
            "limit-0": "4",
            "window_hours-0": "168",
            "active-0": "on",
            "topic-1": "marketing",
            "limit-1": "1",
            "window_hours-1": "24",
            "active-1": "on",
            "remove-1": "on",
            "topic-2": "surveys",
            "limit-2": "1",
            "window_hours-2": "720",
        },
    )
    assert saved.status_code == 302
    assert _caps() == [("", 4, 168, True), ("surveys", 1, 720, False)]
    assert _audited("engage.frequencycap") == 1
    assert "Frequency caps saved" in client.get("/engage/policy/caps/").content.decode()


def test_a_refused_cap_is_shown_at_its_row_as_typed_and_nothing_is_saved(client: Client, ada: User) -> None:
    before = _caps()
    answer = _signed_in(client, ada).post(
        "/engage/policy/caps/",
        {
            "rows": "3",
            "topic-0": "",
            "limit-0": "3",
            "window_hours-0": "168",
            "active-0": "on",
            "topic-1": "marketing",
            "limit-1": "1",
            "window_hours-1": "24",
            "active-1": "on",
            "topic-2": "marketing",
            "limit-2": "5000",
            "window_hours-2": "24",
        },
    )
    assert answer.status_code == 422
    body = answer.content.decode()
    assert 'id="limit-2-error"' in body
    assert "From 0 to 1000 messages." in body
    assert 'id="window_hours-2-error"' in body  # the same topic over the same window twice
    assert 'value="5000"' in body
    assert _caps() == before
    not_a_number = client.post(
        "/engage/policy/caps/", {"rows": "1", "topic-0": "", "limit-0": "three", "window_hours-0": "24"}
    )
    assert not_a_number.status_code == 422
    assert 'id="limit-0-error"' in not_a_number.content.decode()
    assert _caps() == before


def test_an_administrator_changes_the_default_quiet_hours(client: Client, ada: User) -> None:
    page = _signed_in(client, ada).get("/engage/policy/quiet-hours/")
    assert 'value="21:00"' in page.content.decode()
    refused = client.post("/engage/policy/quiet-hours/", {"start": "9pm", "end": "08:00"})
    assert refused.status_code == 422
    assert 'id="start-error"' in refused.content.decode()
    saved = client.post("/engage/policy/quiet-hours/", {"start": "22:00", "end": "08:00"})
    assert saved.status_code == 302
    row = ContactDefaults.objects.get()
    assert (row.quiet_hours_start, row.quiet_hours_end) == (time(22, 0), time(8, 0))
    assert _audited("core.contactdefaults") == 1


def test_an_administrator_adds_a_topic_and_is_told_why_one_is_not_retired(
    client: Client, ada: User, make_trigger: object
) -> None:
    _signed_in(client, ada)
    refused = client.post("/engage/policy/topics/new/", {"code": "News!", "name-en": "News", "opt_in": "on"})
    assert refused.status_code == 422
    assert 'id="code-error"' in refused.content.decode()
    made = client.post(
        "/engage/policy/topics/new/",
        {"code": "news", "name-uk": "Новини", "name-en": "News", "opt_in": "on", "active": "on"},
    )
    assert made.status_code == 302
    news = Topic.objects.get(code="news")
    assert (news.names, news.opt_in, news.active) == ({"uk": "Новини", "en": "News"}, True, True)
    listed = client.get("/engage/policy/topics/").content.decode()
    assert "News" in listed
    assert "needs a yes (opt-in)" in listed
    make_trigger(event_type="digest", topic="news", name="Weekly news")  # type: ignore[operator]
    kept = client.post(f"/engage/policy/topics/{news.pk}/", {"name-en": "News", "opt_in": "on"})
    assert kept.status_code == 422
    assert "Weekly news" in kept.content.decode()
    assert Topic.objects.get(code="news").active


@pytest.mark.parametrize("page", PAGES)
def test_nobody_but_an_administrator_opens_the_pages_or_sees_the_link(
    client: Client, taras: User, maksym: User, ada: User, page: str
) -> None:
    for someone in (taras, maksym):
        _signed_in(client, someone)
        assert client.get(page).status_code == 403
        assert 'href="/engage/policy/caps/"' not in client.get("/customers/").content.decode()
    _signed_in(client, taras)
    assert client.post("/engage/policy/quiet-hours/", {"start": "20:00", "end": "10:00"}).status_code == 403
    assert ContactDefaults.objects.get().quiet_hours_start == time(21, 0)
    _signed_in(client, ada)
    home = client.get("/customers/").content.decode()
    assert 'href="/engage/policy/caps/"' in home
