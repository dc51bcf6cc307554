"""Background jobs for customers: thin wrappers that call services."""

from __future__ import annotations

from django_tasks import task

from forewarn.accounts.actors import Actor
from forewarn.customers.services import dedup
from forewarn.customers.services.importing import run_import_job


@task(queue_name="imports")
def run_import(job_id: int) -> int:
    job = run_import_job(actor=Actor.system("import"), job_id=job_id)
    return job.processed_rows


@task()
def scan_for_duplicates() -> int:
    return dedup.find_duplicates(actor=Actor.system("dedup"))
