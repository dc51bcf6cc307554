"""The import as an operator and a worker run it: the real database task backend and the real CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext
from django_tasks_db.models import DBTaskResult
from typer.testing import CliRunner

from forewarn.accounts.actors import Actor
from forewarn.cli import app
from forewarn.customers.models import Customer, ImportJob
from forewarn.customers.services.importing import queue_import

CSV = (
    "given_name,family_name,phone,email,time_zone\n"
    "Олена,Коваленко,067 111 22 33,olena@example.com,Europe/Kyiv\n"
    "Bad,Phone,12,bad-phone@example.com,Europe/Kyiv\n"
    "Ivan,Petrov,+380501112233,ivan@example.com,Mars/Base\n"
    "Oksana,Melnyk,+380631112233,oksana@example.com,Europe/Kyiv\n"
)


@pytest.mark.django_db(transaction=True)
def test_an_uploaded_import_is_queued_with_its_job_and_a_worker_runs_it() -> None:
    job = queue_import(actor=Actor.system("tests"), file_name="people.csv", content=CSV.encode())
    # The job record and the task row committed together; nothing has run yet.
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.QUEUED
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, interval=0.1)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.rejected_count) == (2, 2)
    assert sorted(job.rejections.values_list("line", "field")) == [(3, "phone"), (4, "time_zone")]
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_cli_import_reports_each_bad_row_and_the_totals(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(CSV, encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "customers", str(source)])
    assert result.exit_code == 0, result.output
    assert "line 3: phone:" in result.output
    assert "line 4: time_zone:" in result.output
    assert "rows=4 created=2 matched=0 rejected=2" in result.output
    assert Customer.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_cli_keeps_every_rejected_row_in_a_report_beyond_those_it_prints(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(CSV, encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "customers", str(source), "--show", "1"])
    assert result.exit_code == 0, result.output
    assert "line 4" not in result.output
    report = tmp_path / "people.rejections.csv"
    assert str(report) in result.output
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [(r["line"], r["field"], r["code"]) for r in rows] == [
        ("3", "phone", "phone_invalid"),
        ("4", "time_zone", "time_zone_unknown"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_queued_import_writes_its_reasons_in_the_uploaders_language() -> None:
    job = queue_import(
        actor=Actor.system("tests"), file_name="people.csv", content=CSV.encode(), language="uk"
    )
    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, interval=0.1)
    reason = ImportJob.objects.get(pk=job.pk).rejections.get(field="time_zone").message
    english = "“%(v)s” is not a known time zone (use an IANA name such as Europe/Kyiv)."
    with translation.override("uk"):
        expected = gettext(english) % {"v": "Mars/Base"}
    assert expected != english % {"v": "Mars/Base"}
    assert reason == expected


@pytest.mark.django_db(transaction=True)
def test_the_cli_refuses_a_file_with_unknown_columns(tmp_path: Path) -> None:
    source = tmp_path / "odd.csv"
    source.write_text("name,shoe_size\nA,42\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "customers", str(source)])
    assert result.exit_code == 2
    assert "shoe_size" in result.output
    assert not Customer.objects.exists()
