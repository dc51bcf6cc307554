"""Importing customers from CSV: every bad row reported on its line, duplicates folded or flagged, consent
with its history, progress, idempotent re-runs, and the queued path through the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from forewarn.accounts.actors import Actor
from forewarn.core.errors import Forbidden, ValidationFailed
from forewarn.customers.models import (
    Consent,
    ConsentChange,
    Customer,
    DuplicateCandidate,
    Identity,
    ImportJob,
    ImportRejection,
)
from forewarn.customers.normalize import normalize_email, plain_email
from forewarn.customers.services import importing
from forewarn.customers.services.importing import import_customers
from forewarn.customers.services.profiles import build_search_text

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("tests")
HEADER = [
    "external_id",
    "given_name",
    "family_name",
    "birth_date",
    "city",
    "address",
    "language",
    "time_zone",
    "preferred_channel",
    "phone",
    "email",
    "telegram",
    "viber",
    "segments",
    "consent_marketing",
    "consent_service",
    "attr.plan",
]


def person(n: int, **cells: str) -> dict[str, str]:
    """A good row; ``n`` keeps phones and emails apart."""
    return {
        "given_name": "Олена",
        "family_name": f"Коваленко{'' if n == 0 else n}",
        "birth_date": "1985-03-02",
        "city": "Київ",
        "language": "uk",
        "time_zone": "Europe/Kyiv",
        "preferred_channel": "sms",
        "phone": f"+38067{n:07d}",
        "email": f"client{n}@example.com",
        "segments": "retail",
        "consent_marketing": "email=yes;sms=no",
        **cells,
    }


def write(path: Path, rows: list[dict[str, str] | list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row if isinstance(row, list) else [row.get(name, "") for name in header])
    return path


def run(path: Path, **kwargs: Any) -> importing.ImportResult:
    return import_customers(actor=SYSTEM, path=path, **kwargs)


# -- rejections ----------------------------------------------------------------------------------------

BROKEN = [
    ("phone", "call me", "phone_unparseable"),
    ("phone", "+380 11 111 1111", "phone_invalid"),
    ("email", "olena@", "email_invalid"),
    ("email", "olena@shop.test", "email_invalid"),
    ("telegram", "@ab", "telegram_invalid"),
    ("viber", "no!", "viber_invalid"),
    ("external_id", "CRM 0001 !", "external_id_invalid"),
    ("birth_date", "1990-02-30", "date_invalid"),
    ("birth_date", "1850-05-05", "date_out_of_range"),
    ("time_zone", "Mars/Olympus", "time_zone_unknown"),
    ("language", "klingon", "language_unsupported"),
    ("preferred_channel", "pigeon", "channel_unknown"),
    ("family_name", "Я" * 101, "too_long"),
    ("segments", "!!!", "segment_invalid"),
    ("consent_marketing", "fax=yes", "channel_unknown"),
    ("consent_marketing", "email=maybe", "consent_answer_unknown"),
]


def test_every_bad_row_is_reported_on_its_line_and_the_good_rows_go_in(tmp_path: Path) -> None:
    rows: list[dict[str, str] | list[str]] = [person(1)]
    for n, (column, value, _code) in enumerate(BROKEN, start=10):
        rows.append(person(n, **{column: value}))
    rows.append({"city": "Львів", "segments": "retail"})  # neither a name nor an identity
    rows.append(["too", "few", "cells"])
    rows.append(person(2, address="Studio 5\nHigh Road"))  # a quoted cell over two lines
    rows.append(person(3, phone="bad"))  # starts on the line after the two-line record
    rows.append(person(4))
    result = run(write(tmp_path / "people.csv", rows))

    # The header is line 1 and the first good row line 2; broken rows follow from line 3.
    expected = [(n, column, code) for n, (column, _value, code) in enumerate(BROKEN, start=3)]
    last = 3 + len(BROKEN)
    expected += [
        (last, "", "empty_row"),
        (last + 1, "", "column_count"),
        (last + 4, "phone", "phone_unparseable"),
    ]
    got = [(line, path, code) for line, path, code, _message in result.rejections]
    assert sorted(got) == sorted(expected)
    assert all(message for *_rest, message in result.rejections)
    assert (result.rejected, result.created, result.matched) == (len(BROKEN) + 3, 3, 0)
    assert Customer.objects.count() == 3
    assert Customer.objects.get(identities__value="+380670000002").address == "Studio 5 High Road"


def test_a_row_with_several_faults_counts_once_and_reports_each(tmp_path: Path) -> None:
    result = run(write(tmp_path / "p.csv", [person(1, phone="call me", time_zone="Nowhere")]))
    assert result.rejected == 1
    assert sorted((path, code) for _line, path, code, _m in result.rejections) == [
        ("phone", "phone_unparseable"),
        ("time_zone", "time_zone_unknown"),
    ]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("", "empty_file"),
        ("shoe_size,name\n42,A\n", "unknown_columns"),
        ("city,segments\nКиїв,retail\n", "no_usable_columns"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(tmp_path: Path, content: str, code: str) -> None:
    source = tmp_path / "odd.csv"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        run(source)
    assert caught.value.fields[0].code == code
    assert not Customer.objects.exists()


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "cp1251.csv"
    source.write_bytes("given_name,phone\nОлена,+380671112233\n".encode("cp1251"))
    with pytest.raises(ValidationFailed) as caught:
        run(source)
    assert caught.value.fields[0].code == "not_utf8"


def test_a_full_name_column_is_split_and_still_checked_for_length(tmp_path: Path) -> None:
    source = tmp_path / "names.csv"
    source.write_text(
        f"full_name,phone\nОлена Петрівна Коваленко,+380671112233\n{'Я' * 101} Б,+380671112234\n"
    )
    result = run(source)
    customer = Customer.objects.get()
    assert (customer.given_name, customer.family_name) == ("Олена", "Петрівна Коваленко")
    assert [(line, path, code) for line, path, code, _m in result.rejections] == [
        (3, "given_name", "too_long")
    ]


# -- duplicates ----------------------------------------------------------------------------------------


def test_exact_duplicates_in_one_file_become_one_profile(tmp_path: Path) -> None:
    rows: list[dict[str, str] | list[str]] = [
        person(1, birth_date="", email=""),
        person(9),
        person(
            1, email="second@example.com", telegram="@olena_k", segments="vip", consent_marketing="email=no"
        ),
        person(1, email="", **{"attr.plan": "plus", "consent_marketing": "email=yes;sms=yes"}),
    ]
    result = run(write(tmp_path / "p.csv", rows))
    assert (result.created, result.matched, result.rejected) == (2, 2, 0)
    customer = Customer.objects.get(identities__value="+380670000001")
    assert customer.birth_date is not None  # a blank filled from a later row
    assert customer.attributes == {"plan": "plus"}
    assert set(customer.identities.values_list("kind", "value", "is_primary")) == {
        ("phone", "+380670000001", True),
        ("email", "second@example.com", True),
        ("telegram", "@olena_k", True),
    }
    assert set(customer.segments.values_list("slug", flat=True)) == {"retail", "vip"}
    # Within one file a refusal beats a grant, whatever the order.
    consents = {(c.topic, c.channel): c.status for c in customer.consents.all()}
    assert consents == {("marketing", "email"): "denied", ("marketing", "sms"): "denied"}
    history = ConsentChange.objects.filter(customer=customer)
    assert sorted(history.values_list("channel", "previous", "status")) == [
        ("email", "", "denied"),
        ("sms", "", "denied"),
    ]


def test_a_row_matching_a_profile_in_the_database_enriches_it(tmp_path: Path, maria: Customer) -> None:
    row = {
        "given_name": "Maria",
        "family_name": "Petrenko",
        "city": "Львів",
        "address": "вул. Січових Стрільців, 5",
        "phone": "+38 (067) 123-45-67",
        "telegram": "@maria_p",
        "segments": "vip",
        "consent_marketing": "email=no",
    }
    result = run(write(tmp_path / "p.csv", [row]))
    assert (result.created, result.matched) == (0, 1)
    maria.refresh_from_db()
    # What she had stays; what she lacked is filled.
    assert (maria.given_name, maria.city, maria.address) == ("Марія", "Київ", "вул. Січових Стрільців, 5")
    assert set(maria.identities.values_list("kind", flat=True)) == {"phone", "email", "telegram"}
    assert maria.identities.get(kind="telegram").source == "import"
    assert set(maria.segments.values_list("slug", flat=True)) == {"retail", "vip"}
    assert maria.consents.get(topic="marketing", channel="email").status == "denied"
    change = ConsentChange.objects.get(customer=maria, topic="marketing", channel="email", source="import")
    assert (change.previous, change.status, change.import_line) == ("granted", "denied", 2)
    assert "@maria_p" in maria.search_text
    assert maria.search_text == build_search_text(
        maria, list(maria.identities.values_list("value", flat=True))
    )


def test_a_row_tying_two_profiles_together_flags_them_and_moves_nothing(
    tmp_path: Path, maria: Customer
) -> None:
    run(write(tmp_path / "first.csv", [person(5)]))
    other = Customer.objects.exclude(pk=maria.pk).get()
    row = person(6, phone="0671234567", email="client5@example.com")
    result = run(write(tmp_path / "second.csv", [row]))
    assert (result.created, result.matched, result.flagged) == (0, 1, 1)
    pair = DuplicateCandidate.objects.get()
    assert {pair.first_id, pair.second_id} == {maria.pk, other.pk}
    assert pair.reasons == ["shared_identities"]
    assert Identity.objects.get(value="client5@example.com").customer_id == other.pk


def test_rows_tying_together_two_new_profiles_of_the_same_file_are_flagged(tmp_path: Path) -> None:
    rows: list[dict[str, str] | list[str]] = [
        person(1, email=""),
        person(2, phone="", family_name="Шевчук"),
        person(3, phone="+380670000001", email="client2@example.com", family_name="Бондар"),
    ]
    result = run(write(tmp_path / "p.csv", rows))
    assert (result.created, result.matched) == (2, 1)
    first = Customer.objects.get(identities__value="+380670000001")
    second = Customer.objects.get(identities__value="client2@example.com")
    assert first.pk != second.pk
    pair = DuplicateCandidate.objects.get(reasons=["shared_identities"])
    assert (pair.first_id, pair.second_id) == tuple(sorted((first.pk, second.pk)))
    assert Identity.objects.count() == 2


@pytest.mark.parametrize(
    ("given", "family"),
    [("Olena", "Kovalenko"), ("Олена", "Ковалнеко")],
    ids=["latin-spelling", "typo"],
)
def test_look_alikes_are_flagged_for_a_person(tmp_path: Path, given: str, family: str) -> None:
    original = person(0, address="вул. Хрещатик, 1")
    twin = person(1, given_name=given, family_name=family, email="", address="вул. Хрещатик, 1")
    result = run(write(tmp_path / "p.csv", [original, twin]))
    assert (result.created, result.flagged) == (2, 1)
    pair = DuplicateCandidate.objects.get()
    assert "birth_date" in pair.reasons
    assert "city" in pair.reasons


def test_namesakes_born_on_other_days_are_not_flagged(tmp_path: Path) -> None:
    rows: list[dict[str, str] | list[str]] = [
        person(0),
        person(1, family_name="Коваленко", birth_date="1990-07-15"),
    ]
    result = run(write(tmp_path / "p.csv", rows))
    assert (result.created, result.flagged) == (2, 0)
    assert not DuplicateCandidate.objects.exists()


# -- consent, progress, re-runs ------------------------------------------------------------------------


def test_consents_and_their_history_are_written(tmp_path: Path, maksym: Any) -> None:
    run_as = Actor.of(maksym)
    rows: list[dict[str, str] | list[str]] = [person(1, consent_service="email=так;sms=ні")]
    import_customers(actor=run_as, path=write(tmp_path / "p.csv", rows), source="crm-export")
    customer = Customer.objects.get()
    assert sorted(customer.consents.values_list("topic", "channel", "status", "source")) == [
        ("marketing", "email", "granted", "crm-export"),
        ("marketing", "sms", "denied", "crm-export"),
        ("service", "email", "granted", "crm-export"),
        ("service", "sms", "denied", "crm-export"),
    ]
    history = ConsentChange.objects.filter(customer=customer)
    assert history.count() == 4
    assert set(history.values_list("previous", "source", "import_line", "actor_id")) == {
        ("", "crm-export", 2, maksym.pk)
    }


def test_importing_the_same_file_again_changes_nothing(tmp_path: Path) -> None:
    rows: list[dict[str, str] | list[str]] = [
        person(1),
        person(2, telegram="@client_two", external_id="CRM-2;CRM-2b"),
        person(1, email="other@example.com"),
        person(3, phone="bad"),
        person(4, given_name="Olena", family_name="Kovalenko4", email=""),
    ]
    source = write(tmp_path / "p.csv", rows)
    first = run(source)
    tables = (Customer, Identity, Consent, ConsentChange, DuplicateCandidate)
    before = {model: list(model.objects.order_by("pk").values()) for model in tables}
    links = list(Customer.segments.through.objects.order_by("pk").values())
    again = run(source)
    assert (first.created, first.matched, first.rejected) == (3, 1, 1)
    assert (again.created, again.matched, again.rejected, again.flagged) == (0, 4, 1, 0)
    assert {model: list(model.objects.order_by("pk").values()) for model in tables} == before
    assert list(Customer.segments.through.objects.order_by("pk").values()) == links


def test_progress_is_reported_after_each_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "CHUNK_ROWS", 3)
    source = write(tmp_path / "p.csv", [person(n) for n in range(1, 9)])
    calls: list[tuple[int, int]] = []
    result = run(source, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 8), (6, 8), (8, 8)]
    assert result.total_rows == result.processed_rows == 8


def test_imported_profiles_are_found_by_search_as_if_typed_in(tmp_path: Path) -> None:
    run(write(tmp_path / "p.csv", [person(1, telegram="@olena_k"), person(2, city="")]))
    for customer in Customer.objects.all():
        values = list(customer.identities.values_list("value", flat=True))
        assert sorted(customer.search_text.split()) == sorted(build_search_text(customer, values).split())


def test_parsing_in_a_worker_process_gives_the_same_result(tmp_path: Path) -> None:
    rows: list[dict[str, str] | list[str]] = [person(n) for n in range(1, 30)]
    rows += [person(40, phone="call me"), person(3, email="again@example.com"), ["short"]]
    here = run(write(tmp_path / "a.csv", rows), workers=0)
    Customer.objects.all().delete()
    there = run(write(tmp_path / "b.csv", rows), workers=1)
    assert sorted(there.rejections) == sorted(here.rejections)
    assert (there.created, there.matched, there.rejected) == (here.created, here.matched, here.rejected)
    assert Customer.objects.count() == here.created


def test_importing_needs_the_permission(tmp_path: Path, olena: Any) -> None:
    with pytest.raises(Forbidden):
        import_customers(actor=Actor.of(olena), path=write(tmp_path / "p.csv", [person(1)]))
    assert not Customer.objects.exists()


# -- the queued path -----------------------------------------------------------------------------------


def csv_bytes(rows: list[dict[str, str] | list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(row if isinstance(row, list) else [row.get(name, "") for name in HEADER])
    return buffer.getvalue().encode()


@pytest.mark.usefixtures("immediate_tasks")
def test_an_upload_is_imported_by_the_queue_and_its_rejections_are_listed(
    api_as: Callable[..., Any], maksym: Any
) -> None:
    api = api_as(maksym)
    content = csv_bytes([person(1), person(2, time_zone="Mars/Base"), person(1, telegram="@olena_k")])
    upload = SimpleUploadedFile("people.csv", content, content_type="text/csv")
    response = api.client.post("/api/v1/imports", {"file": upload}, headers=api.headers)
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]

    job = api.get(f"/api/v1/imports/{job_id}").json()
    assert job["status"] == "done"
    assert job["file_name"] == "people.csv"
    assert (job["total_rows"], job["processed_rows"]) == (3, 3)
    assert (job["created_count"], job["matched_count"], job["rejected_count"]) == (1, 1, 1)

    page = api.get(f"/api/v1/imports/{job_id}/rejections").json()
    assert page["count"] == 1
    assert {k: page["items"][0][k] for k in ("line", "field", "code")} == {
        "line": 3,
        "field": "time_zone",
        "code": "time_zone_unknown",
    }
    assert ImportJob.objects.get(pk=job_id).actor_id == maksym.pk


@pytest.mark.usefixtures("immediate_tasks")
def test_a_broken_upload_fails_its_job_with_the_reason(api_as: Callable[..., Any], maksym: Any) -> None:
    api = api_as(maksym)
    upload = SimpleUploadedFile("odd.csv", b"shoe_size\n42\n", content_type="text/csv")
    job_id = api.client.post("/api/v1/imports", {"file": upload}, headers=api.headers).json()["id"]
    job = api.get(f"/api/v1/imports/{job_id}").json()
    assert job["status"] == "failed"
    assert "shoe_size" in job["error"]


@pytest.mark.usefixtures("immediate_tasks")
def test_an_agent_may_not_upload_an_import(api_as: Callable[..., Any], olena: Any) -> None:
    api = api_as(olena)
    upload = SimpleUploadedFile("people.csv", csv_bytes([person(1)]), content_type="text/csv")
    response = api.client.post("/api/v1/imports", {"file": upload}, headers=api.headers)
    assert response.status_code == 403
    assert not ImportJob.objects.exists()
    assert not Customer.objects.exists()


def test_a_finished_job_is_not_run_twice(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    job = importing.queue_import(actor=SYSTEM, file_name="p.csv", content=csv_bytes([person(1)]))
    first = importing.run_import_job(actor=SYSTEM, job_id=job.pk)
    again = importing.run_import_job(actor=SYSTEM, job_id=job.pk)
    assert first.status == again.status == ImportJob.Status.DONE
    assert (again.created_count, Customer.objects.count()) == (1, 1)
    assert not ImportRejection.objects.exists()


# -- the quick email check -----------------------------------------------------------------------------


def reference(address: str) -> str | None:
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


SAMPLE = [
    "olena.kovalenko@gmail.com",
    "Maria.Petrenko@Example.COM",
    "user+tag@ukr.net",
    "a_b-c@sub.domain.co.uk",
    "x@i.ua",
    "olena@shop.test",
    "ivan@example.invalid",
    "anna@printer.local",
    "root@localhost",
    "me@host.localhost",
    "hidden@service.onion",
    "ptr@1.0.0.127.in-addr.arpa",
    "test@test",
    "a@b",
    "a@b.c0m",
    "a@b.123",
    "a..b@gmail.com",
    ".a@gmail.com",
    "a.@gmail.com",
    "a@-b.com",
    "a@b-.com",
    "a@ab--cd.com",
    "a@xn--80ak6aa92e.com",
    "a@xn--a.com",
    "олена@ukr.net",
    "olena@пошта.укр",
    '"quoted"@example.com',
    "a b@example.com",
    "a@b@example.com",
    "name@[127.0.0.1]",
    "x" * 64 + "@example.com",
    "x" * 65 + "@example.com",
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",
    "a!#$%&'*/=?^`{|}~@example.com",
    "a@example.com.",
    "a@.example.com",
    "A@EXAMPLE.ORG",
    "",
    "@",
]


@pytest.mark.parametrize("address", SAMPLE)
def test_the_quick_email_check_agrees_with_email_validator(address: str) -> None:
    quick = plain_email(address)
    assert quick is None or quick == reference(address)
    try:
        assert normalize_email(address) == reference(address)
    except ValidationFailed:
        assert reference(address) is None


def test_the_quick_email_check_takes_the_common_addresses() -> None:
    assert plain_email("Olena.Kovalenko+shop@Gmail.com") == "olena.kovalenko+shop@gmail.com"
    assert plain_email("olena@shop.test") is None


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet="abcXYZ019._+-!@ я", min_size=1, max_size=12),
    st.lists(st.text(alphabet="abXY09-_я", min_size=0, max_size=8), min_size=1, max_size=3),
    st.sampled_from(["com", "ua", "test", "invalid", "local", "localhost", "onion", "arpa", "c0m", "x", ""]),
)
def test_the_quick_email_check_never_accepts_what_email_validator_refuses(
    local: str, labels: list[str], tld: str
) -> None:
    address = f"{local}@{'.'.join([*labels, tld])}"
    quick = plain_email(address)
    assert quick is None or quick == reference(address)
