"""Importing customers from CSV: normalise, reject bad rows with reasons, fold duplicates, flag look-alikes.

The file streams through in chunks. Each chunk is parsed row by row (every bad row is reported with its
line number, field and reason, and the import goes on), then written with a handful of bulk statements in
one transaction, so a crash loses at most the chunk in flight and a re-run matches what is already there.

A row whose phone, email, messenger or CRM id already belongs to a profile (in the database or earlier in
the same file) is the same person: its new identities, blank fields, segments and consents go into that
profile ("matched"). A row whose identities belong to two different profiles is folded into the first and
the two profiles are flagged for a person to merge. After the last chunk, the new profiles are compared
with everyone for fuzzy look-alikes (:mod:`.dedup`).

Columns (header names, case-insensitive; all optional except a name or an identity):
``given_name, middle_name, family_name`` (or ``full_name``), ``birth_date`` (YYYY-MM-DD), ``city``,
``address``, ``language``, ``time_zone``, ``preferred_channel``, ``phone``, ``email``, ``telegram``,
``viber``, ``external_id`` (several values separated by ``;``), ``segments`` (``vip;retail``),
``consent_<topic>`` (``email=yes;sms=no``), and ``attr.<name>`` for free attributes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.core.errors import FieldError, NotFound, ValidationFailed
from forewarn.core.vocab import Channel, Topic
from forewarn.customers import normalize as norm
from forewarn.customers.models import (
    Consent,
    ConsentChange,
    ConsentStatus,
    Customer,
    Identity,
    IdentityKind,
    ImportJob,
    ImportRejection,
)
from forewarn.customers.services import dedup
from forewarn.customers.services.merging import STRICTNESS
from forewarn.customers.services.profiles import (
    build_search_text,
    clean_segment_slugs,
    ensure_segments,
)

CHUNK_ROWS = 2000
IDENTITY_COLUMNS = {
    "external_id": IdentityKind.EXTERNAL,
    "phone": IdentityKind.PHONE,
    "email": IdentityKind.EMAIL,
    "telegram": IdentityKind.TELEGRAM,
    "viber": IdentityKind.VIBER,
}
TEXT_COLUMNS = ("given_name", "middle_name", "family_name", "city", "address")
YES = {"yes", "y", "true", "1", "granted", "так", "да"}
NO = {"no", "n", "false", "0", "denied", "ні", "нет"}

Progress = Callable[[int, int], None]


@dataclass
class ParsedRow:
    line: int
    fields: dict[str, Any]
    identities: list[tuple[str, str]]
    segments: list[str]
    consents: dict[tuple[str, str], str]
    attributes: dict[str, str]


@dataclass
class Target:
    """What one chunk writes for one profile: a new one, or one that exists (``pk`` set)."""

    pk: int | None
    line: int
    fields: dict[str, Any] = field(default_factory=dict)
    identities: list[tuple[str, str]] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    consents: dict[tuple[str, str], str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)

    def absorb(self, row: ParsedRow) -> None:
        """Fold a row about the same person in: fill blanks, add what is new, keep the stricter consent."""
        for name, value in row.fields.items():
            if value not in ("", None) and self.fields.get(name) in ("", None):
                self.fields[name] = value
        self.identities.extend(i for i in row.identities if i not in self.identities)
        self.segments.extend(s for s in row.segments if s not in self.segments)
        for key, status in row.consents.items():
            mine = self.consents.get(key)
            if mine is None or STRICTNESS[ConsentStatus(status)] > STRICTNESS[ConsentStatus(mine)]:
                self.consents[key] = status
        for name, value in row.attributes.items():
            self.attributes.setdefault(name, value)


@dataclass
class ImportResult:
    total_rows: int = 0
    processed_rows: int = 0
    created: int = 0
    matched: int = 0
    rejected: int = 0
    flagged: int = 0
    rejections: list[tuple[int, str, str, str]] = field(default_factory=list)
    new_ids: set[int] = field(default_factory=set)
    flagged_pairs: set[tuple[int, int]] = field(default_factory=set)


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(";") if v.strip()]


def _parse_consents(topic: str, raw: str, path: str, errors: list[FieldError]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for part in _split(raw):
        channel, _sep, answer = part.partition("=")
        channel, answer = channel.strip().lower(), answer.strip().lower()
        if channel not in Channel.values:
            errors.append(FieldError(path, "channel_unknown", _("Unknown channel “%(v)s”.") % {"v": channel}))
        elif answer in YES:
            found[(topic, channel)] = ConsentStatus.GRANTED
        elif answer in NO:
            found[(topic, channel)] = ConsentStatus.DENIED
        else:
            errors.append(FieldError(path, "consent_answer_unknown", _("Write channel=yes or channel=no.")))
    return found


class RowParser:
    """Turns one CSV record into a :class:`ParsedRow` or the list of what is wrong with it."""

    def __init__(self, header: list[str]) -> None:
        self.columns = [h.strip().lower().lstrip("\ufeff") for h in header]
        known = {
            *TEXT_COLUMNS,
            "full_name",
            "birth_date",
            "language",
            "time_zone",
            "preferred_channel",
            "segments",
            *IDENTITY_COLUMNS,
        }
        topics = {f"consent_{t}": t for t in Topic.values}
        self.topic_columns = {c: topics[c] for c in self.columns if c in topics}
        self.attribute_columns = {c: c[5:] for c in self.columns if c.startswith("attr.") and len(c) > 5}
        unknown = [
            c
            for c in self.columns
            if c and c not in known and c not in self.topic_columns and c not in self.attribute_columns
        ]
        if unknown:
            raise ValidationFailed.single(
                "file", "unknown_columns", _("Unknown columns: %(c)s") % {"c": ", ".join(unknown)}
            )
        if not ({"given_name", "family_name", "full_name"} | set(IDENTITY_COLUMNS)) & set(self.columns):
            raise ValidationFailed.single(
                "file", "no_usable_columns", _("The file needs a name or an identity column.")
            )

    def parse(self, line: int, record: list[str]) -> ParsedRow | list[FieldError]:  # noqa: PLR0912
        if len(record) != len(self.columns):
            return [
                FieldError(
                    "",
                    "column_count",
                    _("Expected %(e)d columns, found %(f)d.") % {"e": len(self.columns), "f": len(record)},
                )
            ]
        raw = dict(zip(self.columns, record, strict=True))
        errors: list[FieldError] = []
        fields: dict[str, Any] = {}
        for name in TEXT_COLUMNS:
            value = " ".join(raw.get(name, "").split())
            if len(value) > (255 if name == "address" else 100):
                errors.append(FieldError(name, "too_long", _("Too long.")))
            fields[name] = value
        full = raw.get("full_name", "").split()
        if full and not (fields["given_name"] or fields["family_name"]):
            fields["given_name"], fields["family_name"] = full[0], " ".join(full[1:])
        if raw.get("birth_date", "").strip():
            fields["birth_date"] = norm.collect(errors, norm.parse_birth_date, raw["birth_date"])
        for name, check in (
            ("language", norm.check_language),
            ("time_zone", norm.check_time_zone),
            ("preferred_channel", norm.check_channel),
        ):
            if raw.get(name, "").strip():
                fields[name] = norm.collect(errors, check, raw[name], path=name)
        identities: list[tuple[str, str]] = []
        for column, kind in IDENTITY_COLUMNS.items():
            for value in _split(raw.get(column, "")):
                clean = norm.collect(errors, norm.normalize_identity, kind, value, path=column)
                if clean is not None and (kind, clean) not in identities:
                    identities.append((kind, clean))
        if not identities and not (fields["given_name"] or fields["family_name"]):
            errors.append(FieldError("", "empty_row", _("The row has neither a name nor an identity.")))
        segment_errors: list[FieldError] = []
        segments = clean_segment_slugs(segment_errors, _split(raw.get("segments", "")))
        errors.extend(FieldError("segments", e.code, e.message) for e in segment_errors)
        consents: dict[tuple[str, str], str] = {}
        for column, topic in self.topic_columns.items():
            consents.update(_parse_consents(topic, raw.get(column, ""), column, errors))
        attributes = {
            key: raw[column].strip() for column, key in self.attribute_columns.items() if raw[column].strip()
        }
        if errors:
            return errors
        return ParsedRow(line, fields, identities, segments, consents, attributes)


def count_data_rows(path: Path) -> int:
    """Lines after the header: close enough for a progress bar (quoted newlines are rare)."""
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - 1, 0)


def _records(handle: io.TextIOBase) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(handle)
    for record in reader:
        if any(cell.strip() for cell in record):
            yield reader.line_num, record


class Importer:
    def __init__(self, *, actor: Actor, source: str, job: ImportJob | None) -> None:
        self.actor = actor
        self.source = source
        self.job = job
        self.result = ImportResult()
        # Identity -> profile id, for everything this import has looked up or created so far.
        self.owner: dict[tuple[str, str], int] = {}
        self._existing_primary_kinds: dict[int, set[str]] = {}

    def run(self, handle: io.TextIOBase, *, total: int, progress: Progress | None) -> ImportResult:
        self.result.total_rows = total
        records = _records(handle)
        first = next(records, None)
        if first is None:
            raise ValidationFailed.single("file", "empty_file", _("The file is empty."))
        parser = RowParser(first[1])
        chunk: list[tuple[int, list[str]]] = []
        for item in records:
            chunk.append(item)
            if len(chunk) >= CHUNK_ROWS:
                self._chunk(parser, chunk, progress)
                chunk = []
        if chunk:
            self._chunk(parser, chunk, progress)
        if self.result.new_ids:
            matches = dedup.score_pairs(dedup._load(), involving=self.result.new_ids)
            self.result.flagged += dedup.record_candidates(matches)
        return self.result

    def _chunk(
        self, parser: RowParser, chunk: list[tuple[int, list[str]]], progress: Progress | None
    ) -> None:
        parsed: list[ParsedRow] = []
        rejections: list[tuple[int, str, str, str]] = []
        for line, record in chunk:
            outcome = parser.parse(line, record)
            if isinstance(outcome, ParsedRow):
                parsed.append(outcome)
            else:
                rejections.extend((line, e.path, e.code, e.message) for e in outcome)
        try:
            with transaction.atomic():
                self._write(parsed)
        except IntegrityError:
            # Someone else added one of these identities since we looked: look again, once.
            self.owner.clear()
            with transaction.atomic():
                self._write(parsed)
        self._report(rejections, len(chunk), progress)

    def _lookup(self, rows: list[ParsedRow]) -> None:
        wanted: dict[str, set[str]] = {}
        for row in rows:
            for kind, value in row.identities:
                if (kind, value) not in self.owner:
                    wanted.setdefault(kind, set()).add(value)
        for kind, values in wanted.items():
            ordered = sorted(values)
            for start in range(0, len(ordered), 900):
                found = Identity.objects.filter(kind=kind, value__in=ordered[start : start + 900])
                for value, customer_id in found.values_list("value", "customer_id"):
                    self.owner[(kind, value)] = customer_id

    def _write(self, rows: list[ParsedRow]) -> None:
        self._lookup(rows)
        targets: list[Target] = []
        by_pk: dict[int, Target] = {}
        pending: dict[tuple[str, str], Target] = {}
        for row in rows:
            owners: list[Target | int] = []
            for ident in row.identities:
                owner: Target | int | None = pending.get(ident) or self.owner.get(ident)
                if owner is not None and owner not in owners:
                    owners.append(owner)
            if not owners:
                target = Target(pk=None, line=row.line)
                targets.append(target)
                self.result.created += 1
            else:
                first = owners[0]
                if isinstance(first, int):
                    target = by_pk.get(first) or Target(pk=first, line=row.line)
                    if first not in by_pk:
                        by_pk[first] = target
                        targets.append(target)
                else:
                    target = first
                self.result.matched += 1
                existing = [o for o in owners if isinstance(o, int)]
                for other in existing[1:]:
                    if existing[0] != other:
                        self.result.flagged_pairs.add((min(existing[0], other), max(existing[0], other)))
                # Identities another profile already holds stay with it; the pair is flagged above.
                row.identities = [
                    i for i in row.identities if i not in self.owner or self.owner[i] == target.pk
                ]
            target.absorb(row)
            for ident in row.identities:
                pending.setdefault(ident, target)
        self._save(targets)

    def _save(self, targets: list[Target]) -> None:
        moment = clock.now()
        new = [t for t in targets if t.pk is None]
        old = [t for t in targets if t.pk is not None]
        customers = [
            Customer(
                **{k: v for k, v in t.fields.items() if v is not None},
                attributes=t.attributes,
                created_at=moment,
                updated_at=moment,
            )
            for t in new
        ]
        for target, customer in zip(new, customers, strict=True):
            customer.search_text = build_search_text(customer, [v for _k, v in target.identities])
        Customer.objects.bulk_create(customers, batch_size=1000)
        for target, customer in zip(new, customers, strict=True):
            target.pk = customer.pk
            self.result.new_ids.add(customer.pk)
        self._enrich(old, moment)

        identities = []
        for target in targets:
            assert target.pk is not None
            primaries = set(self._existing_primary_kinds.get(target.pk, ()))
            for kind, value in target.identities:
                if self.owner.get((kind, value)) == target.pk:
                    continue
                identities.append(
                    Identity(
                        customer_id=target.pk,
                        kind=kind,
                        value=value,
                        is_primary=kind not in primaries,
                        source=self.source,
                        created_at=moment,
                    )
                )
                primaries.add(kind)
                self.owner[(kind, value)] = target.pk
        Identity.objects.bulk_create(identities, batch_size=1000)
        self._save_segments(targets)
        self._save_consents(targets, moment)

    def _enrich(self, old: list[Target], moment: Any) -> None:
        """Fill what existing profiles lack from the rows that matched them."""
        self._existing_primary_kinds = {}
        if not old:
            return
        ids = [t.pk for t in old if t.pk is not None]
        customers = Customer.objects.in_bulk(ids)
        for customer_id, kind in Identity.objects.filter(customer_id__in=ids, is_primary=True).values_list(
            "customer_id", "kind"
        ):
            self._existing_primary_kinds.setdefault(customer_id, set()).add(kind)
        values: dict[int, list[str]] = {}
        for customer_id, value in Identity.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "value"
        ):
            values.setdefault(customer_id, []).append(value)
        changed = []
        for target in old:
            assert target.pk is not None
            customer = customers[target.pk]
            for name, value in target.fields.items():
                if value not in ("", None) and getattr(customer, name) in ("", None):
                    setattr(customer, name, value)
            customer.attributes = {**target.attributes, **customer.attributes}
            known = values.get(target.pk, [])
            customer.search_text = build_search_text(
                customer, known + [v for _k, v in target.identities if v not in known]
            )
            customer.updated_at = moment
            changed.append(customer)
        Customer.objects.bulk_update(
            changed,
            [
                *TEXT_COLUMNS,
                "birth_date",
                "language",
                "time_zone",
                "preferred_channel",
                "attributes",
                "search_text",
                "updated_at",
            ],
            batch_size=500,
        )

    def _save_segments(self, targets: list[Target]) -> None:
        slugs = sorted({s for t in targets for s in t.segments})
        if not slugs:
            return
        by_slug = {s.slug: s.pk for s in ensure_segments(slugs)}
        through = Customer.segments.through
        links = [through(customer_id=t.pk, segment_id=by_slug[s]) for t in targets for s in t.segments]
        through.objects.bulk_create(links, batch_size=1000, ignore_conflicts=True)

    def _save_consents(self, targets: list[Target], moment: Any) -> None:
        with_consents = [t for t in targets if t.consents]
        if not with_consents:
            return
        current = {
            (c.customer_id, c.topic, c.channel): c
            for c in Consent.objects.filter(customer_id__in=[t.pk for t in with_consents])
        }
        create, update, history = [], [], []
        for target in with_consents:
            assert target.pk is not None
            for (topic, channel), status in target.consents.items():
                row = current.get((target.pk, topic, channel))
                previous = row.status if row else ""
                if previous == status:
                    continue
                if row is None:
                    create.append(
                        Consent(
                            customer_id=target.pk,
                            topic=topic,
                            channel=channel,
                            status=status,
                            source=self.source,
                            updated_at=moment,
                        )
                    )
                else:
                    row.status, row.source, row.updated_at = status, self.source, moment
                    update.append(row)
                history.append(
                    ConsentChange(
                        customer_id=target.pk,
                        topic=topic,
                        channel=channel,
                        previous=previous,
                        status=status,
                        source=self.source,
                        note=_("Import line %(n)d") % {"n": target.line},
                        actor_id=self.actor.user_id,
                        changed_at=moment,
                    )
                )
        Consent.objects.bulk_create(create, batch_size=1000)
        Consent.objects.bulk_update(update, ["status", "source", "updated_at"], batch_size=500)
        ConsentChange.objects.bulk_create(history, batch_size=1000)

    def _report(
        self, rejections: list[tuple[int, str, str, str]], rows: int, progress: Progress | None
    ) -> None:
        lines = {line for line, *_rest in rejections}
        self.result.rejected += len(lines)
        self.result.rejections.extend(rejections)
        self.result.processed_rows += rows
        if self.job is not None:
            ImportRejection.objects.bulk_create(
                [
                    ImportRejection(job=self.job, line=ln, field=f, code=c, message=m[:500])
                    for ln, f, c, m in rejections
                ]
            )
            self._save_job_counts()
        if progress is not None:
            progress(self.result.processed_rows, self.result.total_rows)

    def _save_job_counts(self, **extra: Any) -> None:
        assert self.job is not None
        r = self.result
        ImportJob.objects.filter(pk=self.job.pk).update(
            total_rows=max(r.total_rows, r.processed_rows),
            processed_rows=r.processed_rows,
            created_count=r.created,
            matched_count=r.matched,
            rejected_count=r.rejected,
            flagged_count=r.flagged + len(r.flagged_pairs),
            **extra,
        )


def import_customers(
    *,
    actor: Actor,
    path: Path,
    source: str = "import",
    job: ImportJob | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a CSV file (UTF-8, with a header row); see the module docstring for the columns."""
    actor.require(Perm.CUSTOMERS_IMPORT)
    importer = Importer(actor=actor, source=source, job=job)
    total = count_data_rows(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        result = importer.run(handle, total=total, progress=progress)
    pairs = [
        dedup.Match(a, b, 1.0, ("shared identities in one import row",))
        for a, b in sorted(result.flagged_pairs)
    ]
    result.flagged += dedup.record_candidates(pairs)
    result.total_rows = result.processed_rows
    if job is not None:
        importer._save_job_counts(status=ImportJob.Status.DONE, finished_at=clock.now())
    return result


def queue_import(*, actor: Actor, file_name: str, content: bytes, source: str = "import") -> ImportJob:
    """Keep an uploaded file and enqueue its import in the same transaction as the job record."""
    from forewarn.customers.tasks import run_import  # noqa: PLC0415 - tasks import services

    actor.require(Perm.CUSTOMERS_IMPORT)

    if not content.strip():
        raise ValidationFailed.single("file", "empty_file", _("The file is empty."))
    try:
        content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed.single("file", "not_utf8", _("The file must be UTF-8 encoded CSV.")) from exc
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    moment = clock.now()
    with transaction.atomic():
        job = ImportJob.objects.create(
            file_name=Path(file_name).name[:255],
            file_path="",
            source=source,
            actor_id=actor.user_id,
            created_at=moment,
        )
        target = folder / f"{job.pk}.csv"
        target.write_bytes(content)
        job.file_path = str(target)
        job.total_rows = count_data_rows(target)
        job.save(update_fields=["file_path", "total_rows"])
        run_import.enqueue(job_id=job.pk)
    return job


def run_import_job(*, actor: Actor, job_id: int) -> ImportJob:
    """Run a queued import (the task calls this). A job already done is left as it is."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status == ImportJob.Status.DONE:
        return job
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    job_actor = Actor.of(job.actor) if job.actor is not None else actor
    try:
        import_customers(actor=job_actor, path=Path(job.file_path), source=job.source, job=job)
    except ValidationFailed as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED,
            error="; ".join(f"{f.path}: {f.message}" for f in exc.fields) or exc.message,
            finished_at=clock.now(),
        )
    except Exception as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, error=repr(exc)[:2000], finished_at=clock.now()
        )
        raise
    job.refresh_from_db()
    return job


def get_import_for(actor: Actor, job_id: int) -> ImportJob:
    actor.require(Perm.CUSTOMERS_IMPORT)
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("No import #%(id)d.") % {"id": job_id}, code="import_not_found")
    return job


def rejection_summary(result: ImportResult, limit: int = 20) -> list[str]:
    return [f"line {line}: {fld or 'row'}: {msg}" for line, fld, _code, msg in result.rejections[:limit]]


__all__ = ["ImportResult", "get_import_for", "import_customers", "queue_import", "run_import_job"]
