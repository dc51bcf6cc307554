"""The customer pages as a signed-in person sees them, through Django's test client.

Searching and filtering, the profile, recording consent, reviewing duplicates and importing a file; every
refused request is checked to have changed nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.customers.models import (
    Consent,
    ConsentChange,
    Customer,
    DuplicateCandidate,
    ImportJob,
    Merge,
)
from forewarn.customers.services.merging import merge_customers
from forewarn.customers.services.profiles import ProfileIn, create_customer

SYSTEM = Actor.system("tests")
LIST = "/customers/"
IMMEDIATE_TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "imports"],
    }
}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(answer: Any) -> str:
    content: bytes = answer.content
    return content.decode()


@pytest.fixture
def as_olena(olena: User) -> Client:
    return signed_in(olena)


@pytest.fixture
def as_taras(taras: User) -> Client:
    return signed_in(taras)


@pytest.fixture
def as_iryna(iryna: User) -> Client:
    return signed_in(iryna)


def names_listed(answer: Any) -> list[str]:
    rows = answer.context["rows"]
    return [customer.full_name for customer, _contacts in rows]


# The list and search


def test_the_list_asks_a_stranger_to_sign_in(client: Client, maria: Customer) -> None:
    answer = client.get(LIST)

    assert answer.status_code == 302
    assert answer["Location"] == f"/login/?next={LIST}"


def test_the_home_page_leads_to_sign_in_or_to_her_inbox(client: Client, as_olena: Client) -> None:
    assert client.get("/")["Location"] == "/login/"
    assert as_olena.get("/")["Location"] == "/inbox/"


def test_the_list_shows_every_active_customer_with_contacts(
    as_olena: Client, maria: Customer, oleh: Customer
) -> None:
    answer = as_olena.get(LIST)

    assert answer.status_code == 200
    page = text_of(answer)
    assert "<html" in page
    assert "Марія Петренко" in page
    assert "Олег Сидоренко" in page
    assert "+380 67 123 4567" in page  # stored as +380671234567, shown grouped
    assert "maria.petrenko@example.com" in page
    assert "2 customers" in page


@pytest.mark.parametrize(
    "query",
    ["Петр", "марія", "Petrenko", "maria petrenko", "067 123 45 67", "(067) 123-45-67", "+380671234567"],
)
def test_search_finds_a_customer_by_a_part_of_a_name_in_any_script_or_a_phone_however_written(
    as_olena: Client, maria: Customer, oleh: Customer, query: str
) -> None:
    answer = as_olena.get(LIST, {"q": query})

    assert names_listed(answer) == ["Марія Петренко"]


def test_search_by_email_and_by_customer_number(as_olena: Client, maria: Customer, oleh: Customer) -> None:
    assert names_listed(as_olena.get(LIST, {"q": "Maria.Petrenko@example.com"})) == ["Марія Петренко"]
    assert names_listed(as_olena.get(LIST, {"q": "Одеса"})) == ["Олег Сидоренко"]


def test_a_search_that_matches_nobody_says_so(as_olena: Client, maria: Customer) -> None:
    answer = as_olena.get(LIST, {"q": "Шевченко"})

    assert names_listed(answer) == []
    assert "No customer matches these filters." in text_of(answer)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("language", "uk", "Марія Петренко"),
        ("language", "ru", "Олег Сидоренко"),
        ("segment", "retail", "Марія Петренко"),
        ("segment", "wholesale", "Олег Сидоренко"),
        ("preferred_channel", "sms", "Марія Петренко"),
        ("preferred_channel", "email", "Олег Сидоренко"),
        ("consent_topic", "service", "Марія Петренко"),
    ],
)
@pytest.mark.usefixtures("maria", "oleh")
def test_each_filter_narrows_the_list(as_olena: Client, name: str, value: str, expected: str) -> None:
    answer = as_olena.get(LIST, {name: value})

    assert names_listed(answer) == [expected]
    # The chosen value stays selected so the person sees what the list is filtered by.
    assert f'<option value="{value}" selected>' in text_of(answer)


def test_a_refused_consent_does_not_count_as_consent(as_olena: Client, oleh: Customer) -> None:
    assert names_listed(as_olena.get(LIST, {"consent_topic": "marketing"})) == []


def test_filters_combine_with_the_search(as_olena: Client, maria: Customer, oleh: Customer) -> None:
    assert names_listed(as_olena.get(LIST, {"q": "Петренко", "language": "ru"})) == []
    assert names_listed(as_olena.get(LIST, {"q": "Петренко", "language": "uk"})) == ["Марія Петренко"]


def test_an_htmx_search_gets_only_the_results(as_olena: Client, maria: Customer, oleh: Customer) -> None:
    answer = as_olena.get(LIST, {"q": "Петр"}, headers={"HX-Request": "true"})

    page = text_of(answer)
    assert answer.status_code == 200
    assert "<html" not in page
    assert 'id="result-count"' in page
    assert "Марія Петренко" in page
    assert "Олег Сидоренко" not in page
    assert "HX-Request" in answer["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(as_olena: Client, maria: Customer) -> None:
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}

    answer = as_olena.get(LIST, {"q": "Петр"}, headers=headers)

    assert "<html" in text_of(answer)


def test_page_links_keep_the_search_and_filters(as_olena: Client) -> None:
    for n in range(26):
        create_customer(
            actor=SYSTEM,
            data=ProfileIn(given_name="Тест", family_name=f"Клієнт{n}", language="uk"),
            source="tests",
        )

    first = as_olena.get(LIST, {"q": "Тест & Ко", "language": "uk"})
    everyone = as_olena.get(LIST, {"q": "Тест", "language": "uk"})

    assert names_listed(first) == []
    assert len(names_listed(everyone)) == 25
    assert "q=%D0%A2%D0%B5%D1%81%D1%82&amp;language=uk&amp;page=2" in text_of(everyone)
    second = as_olena.get(LIST, {"q": "Тест", "language": "uk", "page": "2"})
    assert len(names_listed(second)) == 1
    assert "Page 2 of 2" in text_of(second)


# The profile


def test_the_profile_shows_identities_consent_and_timeline(as_olena: Client, maria: Customer) -> None:
    answer = as_olena.get(f"/customers/{maria.pk}/")

    page = text_of(answer)
    assert answer.status_code == 200
    assert "<h1>Марія Петренко</h1>" in page
    assert "+380 67 123 4567" in page
    assert "maria.petrenko@example.com" in page
    assert "Europe/Kyiv" in page
    granted = {
        (topic, channel)
        for topic, _label, cells in answer.context["consents"]
        for channel, _channel_label, status in cells
        if status == "granted"
    }
    assert granted == {("marketing", "email"), ("service", "sms")}
    assert page.count('class="status-granted"') == 2
    assert "Consent for Marketing by Email: — → Granted" in page
    assert "Consent for Service by SMS: — → Granted" in page
    assert f'action="/customers/{maria.pk}/consent/"' in page


def test_an_unknown_profile_is_a_not_found_page(as_olena: Client) -> None:
    answer = as_olena.get("/customers/999999/")

    assert answer.status_code == 404
    assert "Not found" in text_of(answer)
    assert "No customer #999999." in text_of(answer)


def test_a_merged_profile_sends_the_reader_to_the_survivor(
    as_olena: Client, maria: Customer, twin: Customer
) -> None:
    merge_customers(actor=SYSTEM, survivor_id=maria.pk, absorbed_id=twin.pk)

    answer = as_olena.get(f"/customers/{twin.pk}/", follow=True)

    assert answer.redirect_chain == [(f"/customers/{maria.pk}/", 302)]
    page = text_of(answer)
    assert "This profile was merged into another one; showing that one." in page
    assert "maria.p@example.org" in page  # the twin's email now belongs to the survivor
    assert f"Profile #{twin.pk} merged into this one" in page


# Recording consent


def consent_state(customer: Customer) -> tuple[dict[tuple[str, str], str], int]:
    current = {(c.topic, c.channel): c.status for c in Consent.objects.filter(customer=customer)}
    return current, ConsentChange.objects.filter(customer=customer).count()


def test_an_agent_records_consent_from_the_profile(as_olena: Client, olena: User, maria: Customer) -> None:
    answer = as_olena.post(
        f"/customers/{maria.pk}/consent/",
        {"topic": "surveys", "channel": "viber", "status": "denied", "note": "said on a call"},
        follow=True,
    )

    assert answer.redirect_chain == [(f"/customers/{maria.pk}/", 302)]
    page = text_of(answer)
    assert "Consent recorded." in page
    assert "Consent for Surveys by Viber: — → Denied" in page
    assert "said on a call" in page
    change = ConsentChange.objects.get(customer=maria, topic="surveys", channel="viber")
    assert (change.status, change.source, change.actor_id) == ("denied", "agent", olena.pk)


def test_recording_the_same_answer_again_changes_nothing(as_olena: Client, maria: Customer) -> None:
    before = consent_state(maria)

    answer = as_olena.post(
        f"/customers/{maria.pk}/consent/",
        {"topic": "marketing", "channel": "email", "status": "granted"},
        follow=True,
    )

    assert "Nothing changed." in text_of(answer)
    assert consent_state(maria) == before


def test_a_consent_with_an_unknown_topic_is_refused_with_a_reason(as_olena: Client, maria: Customer) -> None:
    before = consent_state(maria)

    answer = as_olena.post(
        f"/customers/{maria.pk}/consent/",
        {"topic": "gossip", "channel": "email", "status": "granted"},
        follow=True,
    )

    assert "Unknown topic." in text_of(answer)
    assert consent_state(maria) == before


def test_an_analyst_may_read_a_profile_but_not_record_consent(as_iryna: Client, maria: Customer) -> None:
    before = consent_state(maria)

    profile = as_iryna.get(f"/customers/{maria.pk}/")
    answer = as_iryna.post(
        f"/customers/{maria.pk}/consent/", {"topic": "marketing", "channel": "email", "status": "denied"}
    )

    assert profile.status_code == 200
    assert "/consent/" not in text_of(profile)
    assert answer.status_code == 403
    assert "Not allowed" in text_of(answer)
    assert consent_state(maria) == before


def test_consent_is_recorded_only_by_post(as_olena: Client, maria: Customer) -> None:
    assert as_olena.get(f"/customers/{maria.pk}/consent/").status_code == 405


# Duplicates


def test_the_duplicates_page_lists_open_pairs_with_their_reasons(as_taras: Client, twin: Customer) -> None:
    answer = as_taras.get("/customers/duplicates/")

    page = text_of(answer)
    assert answer.status_code == 200
    assert "1 pair to review" in page
    assert "same date of birth" in page
    assert 'action="/customers/merge/"' in page
    (pair,) = answer.context["page"].object_list
    assert f'action="/customers/duplicates/{pair.pk}/dismiss/"' in page


def test_an_agent_sees_duplicates_but_no_merge_buttons(as_olena: Client, twin: Customer) -> None:
    page = text_of(as_olena.get("/customers/duplicates/"))

    assert "1 pair to review" in page
    assert 'action="/customers/merge/"' not in page
    assert "/dismiss/" not in page


def test_a_supervisor_merges_a_pair_and_undoes_it(as_taras: Client, maria: Customer, twin: Customer) -> None:
    merged = as_taras.post(
        "/customers/merge/", {"survivor_id": maria.pk, "absorbed_id": twin.pk}, follow=True
    )

    assert merged.redirect_chain == [(f"/customers/{maria.pk}/", 302)]
    assert f"Customer #{twin.pk} was merged into #{maria.pk}." in text_of(merged)
    twin.refresh_from_db()
    assert (twin.status, twin.merged_into_id) == (Customer.Status.MERGED, maria.pk)
    assert "0 pairs to review" in text_of(as_taras.get("/customers/duplicates/"))
    done = Merge.objects.get(survivor=maria, absorbed=twin)
    listing = text_of(as_taras.get("/customers/duplicates/"))
    assert f'action="/customers/merges/{done.pk}/undo/"' in listing

    undone = as_taras.post(f"/customers/merges/{done.pk}/undo/", follow=True)

    assert undone.redirect_chain == [(f"/customers/{twin.pk}/", 302)]
    assert "The merge was undone; both profiles are back." in text_of(undone)
    twin.refresh_from_db()
    assert (twin.status, twin.merged_into_id) == (Customer.Status.ACTIVE, None)


def test_merging_without_two_profiles_explains_itself(as_taras: Client, twin: Customer) -> None:
    answer = as_taras.post("/customers/merge/", {"survivor_id": "", "absorbed_id": "x"}, follow=True)

    assert "Choose two profiles to merge." in text_of(answer)
    assert not Merge.objects.exists()


def test_an_agent_cannot_merge(as_olena: Client, maria: Customer, twin: Customer) -> None:
    answer = as_olena.post("/customers/merge/", {"survivor_id": maria.pk, "absorbed_id": twin.pk})

    assert answer.status_code == 403
    assert not Merge.objects.exists()
    twin.refresh_from_db()
    assert twin.status == Customer.Status.ACTIVE


def test_a_supervisor_dismisses_a_pair(as_taras: Client, twin: Customer) -> None:
    pair = DuplicateCandidate.objects.get()

    answer = as_taras.post(f"/customers/duplicates/{pair.pk}/dismiss/", follow=True)

    assert answer.redirect_chain == [("/customers/duplicates/", 302)]
    assert "Marked as different people." in text_of(answer)
    assert "0 pairs to review" in text_of(answer)
    pair.refresh_from_db()
    assert pair.status == DuplicateCandidate.Status.DISMISSED


def test_the_profile_points_to_an_open_duplicate(as_olena: Client, maria: Customer, twin: Customer) -> None:
    assert "This profile may have a duplicate." in text_of(as_olena.get(f"/customers/{maria.pk}/"))


# Imports

CSV = (
    "full_name,phone,email,birth_date,language\n"
    "Оксана Мельник,050 765 43 21,oksana@example.com,1990-06-01,uk\n"
    "Bad Phone,not-a-phone,,,en\n"
    "Марія Петренко,067 123 45 67,,,uk\n"
    "Future Child,,child@example.com,2999-01-01,en\n"
)


def upload(client: Client, content: str | bytes, name: str = "people.csv") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = content.encode() if isinstance(content, str) else content
    return client.post("/customers/imports/", {"file": SimpleUploadedFile(name, data, "text/csv")})


def test_a_supervisor_imports_a_csv_and_sees_counts_and_rejected_rows(
    as_taras: Client, maria: Customer, settings: Any
) -> None:
    settings.TASKS = IMMEDIATE_TASKS

    answer = upload(as_taras, CSV)

    job = ImportJob.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/customers/imports/{job.pk}/"
    assert (job.status, job.total_rows, job.created_count, job.matched_count, job.rejected_count) == (
        ImportJob.Status.DONE,
        4,
        1,
        1,
        2,
    )
    detail = as_taras.get(answer["Location"])
    page = text_of(detail)
    assert "<h1" in page
    assert "people.csv" in page
    assert "4 of 4 rows" in page
    assert "Rejected rows" in page
    rejected = [(r.line, r.field) for r in detail.context["rejections"]]
    assert rejected == [(3, "phone"), (5, "birth_date")]
    assert "not-a-phone" in page
    assert 'hx-trigger="every 1s"' not in page  # a finished import stops asking for progress
    assert "people.csv" in text_of(as_taras.get("/customers/imports/"))
    assert Customer.objects.filter(given_name="Оксана").exists()


def test_the_progress_of_an_import_comes_as_a_fragment_for_htmx(as_taras: Client, settings: Any) -> None:
    settings.TASKS = IMMEDIATE_TASKS
    job_url = upload(as_taras, CSV)["Location"]

    answer = as_taras.get(job_url, headers={"HX-Request": "true"})

    page = text_of(answer)
    assert "<html" not in page
    assert page.lstrip().startswith('<div id="progress"')
    assert "4 of 4 rows" in page


def test_an_import_without_a_file_or_with_an_empty_one_is_refused(as_taras: Client, settings: Any) -> None:
    settings.TASKS = IMMEDIATE_TASKS

    missing = as_taras.post("/customers/imports/", {})
    empty = upload(as_taras, "   \n")
    latin1 = upload(as_taras, "full_name\nJosé\n".encode("latin-1"))

    assert "Choose a CSV file to upload." in text_of(missing)
    assert "The file is empty." in text_of(empty)
    assert "The file must be UTF-8 encoded CSV." in text_of(latin1)
    assert not ImportJob.objects.exists()


def test_imports_are_closed_to_agents_and_analysts(as_olena: Client, as_iryna: Client, settings: Any) -> None:
    settings.TASKS = IMMEDIATE_TASKS

    assert as_iryna.get("/customers/imports/").status_code == 403
    assert upload(as_olena, CSV).status_code == 403
    assert not ImportJob.objects.exists()
    assert 'href="/customers/imports/"' not in text_of(as_olena.get(LIST))


def test_an_unknown_import_is_a_not_found_page(as_taras: Client) -> None:
    assert as_taras.get("/customers/imports/4242/").status_code == 404


# The frame around every page


def test_the_navigation_marks_the_current_section(as_taras: Client) -> None:
    page = text_of(as_taras.get("/customers/duplicates/"))

    assert '<a href="/customers/duplicates/" aria-current="page">' in page
    assert '<a href="/customers/" aria-current="page">' not in page


def test_the_language_switcher_offers_each_language_in_its_own_name(as_olena: Client) -> None:
    page = text_of(as_olena.get(LIST))

    assert '<html lang="en">' in page
    for code, name in [("en", "English"), ("uk", "Українська"), ("ru", "Русский")]:
        assert f'<option value="{code}"' in page
        assert name in page


def test_switching_the_language_changes_the_page(as_olena: Client) -> None:
    answer = as_olena.post("/i18n/setlang/", {"language": "uk", "next": LIST}, follow=True)

    assert answer.redirect_chain == [(LIST, 302)]
    assert '<html lang="uk">' in text_of(answer)


def test_health_reports_the_database(client: Client, db: None) -> None:
    answer = client.get("/health")

    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert answer.json()["database"] in {"sqlite", "postgresql"}
