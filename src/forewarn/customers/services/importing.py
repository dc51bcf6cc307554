"""Importing customers from CSV: normalise, reject bad rows with reasons, fold duplicates, flag look-alikes.

The file streams through in chunks. Each chunk is parsed row by row (every bad row is reported with the
line it starts on, the field and the reason, and the import goes on), then written in one transaction, so
a crash loses at most the chunk in flight and a re-run matches what is already there.

A row whose phone, email, messenger or CRM id already belongs to a profile (in the database or earlier in
the same file) is the same person: its new identities, blank fields, segments and consents go into that
profile ("matched"; within one file a refusal beats a grant). A row whose identities belong to two
different profiles is folded into the first and the two profiles are flagged for a person to merge; each
identity stays where it was. After the last chunk, the new profiles are compared with everyone for fuzzy
look-alikes (:mod:`.dedup`).

Columns (header names, case-insensitive; all optional except a name or an identity):
``given_name, middle_name, family_name`` (or ``full_name``), ``birth_date`` (YYYY-MM-DD), ``city``,
``address``, ``language``, ``time_zone``, ``preferred_channel``, ``phone``, ``email``, ``telegram``,
``viber``, ``external_id`` (several values separated by ``;``), ``segments`` (``vip;retail``),
``consent_<topic>`` (``email=yes;sms=no``), and ``attr.<name>`` for free attributes.
"""

from __future__ import annotations

import csv
import gc
import io
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock, preferences
from forewarn.core.bulk import Rows
from forewarn.core.errors import FieldError, NotFound, ValidationFailed
from forewarn.core.vocab import Channel
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
    Reason,
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
    "external_id": IdentityKind.EXTERNAL.value,
    "phone": IdentityKind.PHONE.value,
    "email": IdentityKind.EMAIL.value,
    "telegram": IdentityKind.TELEGRAM.value,
    "viber": IdentityKind.VIBER.value,
}
TEXT_COLUMNS = ("given_name", "middle_name", "family_name", "city", "address")
CUSTOMER_COLUMNS = (
    *TEXT_COLUMNS,
    "birth_date",
    "language",
    "time_zone",
    "preferred_channel",
    "attributes",
    "search_text",
    "updated_at",
)
YES = {"yes", "y", "true", "1", "granted", "так", "да"}
NO = {"no", "n", "false", "0", "denied", "ні", "нет"}
CHANNELS = frozenset(Channel.values)
STRICTER = {status: STRICTNESS[ConsentStatus(status)] for status in ConsentStatus.values}
# Segment and consent cells repeat a lot ("retail", "email=yes;sms=no"): each distinct one is read once.
SEEN_LIMIT = 10_000

Progress = Callable[[int, int], None]
Rejection = tuple[int, str, str, str]
Chunk = list[tuple[int, list[str]]]  # records with the line each starts on
WorkerResult = tuple[list[tuple[Any, ...]], list[Rejection]]


@dataclass(slots=True)
class ParsedRow:
    line: int
    fields: dict[str, Any]
    identities: list[tuple[str, str]]
    segments: list[str]
    consents: dict[tuple[str, str], str]
    attributes: dict[str, str]


@dataclass(eq=False)
class Target:
    """What one chunk writes for one profile: a new one, or one that exists (``pk`` set)."""

    pk: int | None
    line: int
    fields: dict[str, Any] = field(default_factory=dict)
    identities: list[tuple[str, str]] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    consents: dict[tuple[str, str], str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def new(cls, row: ParsedRow, identities: list[tuple[str, str]]) -> Target:
        return cls(
            None,
            row.line,
            dict(row.fields),
            list(identities),
            list(row.segments),
            dict(row.consents),
            dict(row.attributes),
        )

    def absorb(self, row: ParsedRow, identities: list[tuple[str, str]]) -> None:
        """Fold a row about the same person in: fill blanks, add what is new, keep the stricter consent."""
        for name, value in row.fields.items():
            if value not in ("", None) and self.fields.get(name) in ("", None):
                self.fields[name] = value
        self.identities.extend(i for i in identities if i not in self.identities)
        self.segments.extend(s for s in row.segments if s not in self.segments)
        for key, status in row.consents.items():
            mine = self.consents.get(key)
            if mine is None or STRICTER[status] > STRICTER[mine]:
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
    rejections: list[Rejection] = field(default_factory=list)
    new_ids: set[int] = field(default_factory=set)
    flagged_pairs: set[tuple[int, int]] = field(default_factory=set)


@dataclass
class ChunkOutcome:
    """What a chunk did, kept apart until its transaction commits (a retried chunk must not count twice)."""

    created: int = 0
    matched: int = 0
    new_ids: list[int] = field(default_factory=list)
    pairs: list[tuple[Target, Target]] = field(default_factory=list)
    owners: dict[tuple[str, str], int] = field(default_factory=dict)


def _split(value: str) -> list[str]:
    if ";" not in value:
        value = value.strip()
        return [value] if value else []
    return [v.strip() for v in value.split(";") if v.strip()]


def _parse_consents(topic: str, raw: str, path: str, errors: list[FieldError]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for part in _split(raw):
        channel, _sep, answer = part.partition("=")
        channel, answer = channel.strip().lower(), answer.strip().lower()
        if channel not in CHANNELS:
            errors.append(FieldError(path, "channel_unknown", _("Unknown channel “%(v)s”.") % {"v": channel}))
        elif answer in YES:
            found[(topic, channel)] = ConsentStatus.GRANTED.value
        elif answer in NO:
            found[(topic, channel)] = ConsentStatus.DENIED.value
        else:
            errors.append(FieldError(path, "consent_answer_unknown", _("Write channel=yes or channel=no.")))
    return found


def _search_text(fields: dict[str, Any], identity_values: Iterable[str]) -> str:
    """What :func:`~forewarn.customers.services.profiles.build_search_text` makes of a profile with these
    fields, without building a model instance per row (the tests hold the two to the same text)."""
    full_name = " ".join(p for p in (fields["given_name"], fields["middle_name"], fields["family_name"]) if p)
    parts = [norm.fold(full_name), *identity_values]
    if fields["city"]:
        parts.append(norm.fold(fields["city"]))
    return " ".join(p for p in parts if p)


class RowParser:
    """Turns one CSV record into a :class:`ParsedRow` or the list of what is wrong with it."""

    def __init__(self, header: list[str], *, region: str | None = None) -> None:
        self.header = header
        # Numbers written without a country code are read in this region.
        self.region: str = region or settings.DEFAULT_PHONE_REGION
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
        topics = {f"consent_{t}": t for t in preferences.topic_codes()}
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
        # Where each column is in a record (the last one wins when a name repeats).
        at = {name: i for i, name in enumerate(self.columns)}
        self.width = len(self.columns)
        self.text_at = [(name, at.get(name)) for name in TEXT_COLUMNS]
        self.full_name_at = at.get("full_name")
        self.birth_date_at = at.get("birth_date")
        self.checks_at = [
            (name, check, at[name])
            for name, check in (
                ("language", norm.check_language),
                ("time_zone", norm.check_time_zone),
                ("preferred_channel", norm.check_channel),
            )
            if name in at
        ]
        normalizers: dict[str, Callable[..., str]] = {kind.value: fn for kind, fn in norm.NORMALIZERS.items()}
        normalizers[IdentityKind.PHONE.value] = partial(norm.normalize_phone, region=self.region)
        self.identities_at = [
            (column, kind, normalizers[kind], at[column])
            for column, kind in IDENTITY_COLUMNS.items()
            if column in at
        ]
        self.segments_at = at.get("segments")
        self.topics_at = [(column, topic, at[column]) for column, topic in self.topic_columns.items()]
        self.attributes_at = [(key, at[column]) for column, key in self.attribute_columns.items()]
        self._segments_seen: dict[str, tuple[list[str], list[FieldError]]] = {}
        self._consents_seen: dict[tuple[str, str], tuple[dict[tuple[str, str], str], list[FieldError]]] = {}

    def _segments(self, raw: str) -> tuple[list[str], list[FieldError]]:
        seen = self._segments_seen.get(raw)
        if seen is None:
            errors: list[FieldError] = []
            slugs = clean_segment_slugs(errors, _split(raw))
            seen = slugs, [FieldError("segments", e.code, e.message) for e in errors]
            if len(self._segments_seen) >= SEEN_LIMIT:
                self._segments_seen.clear()
            self._segments_seen[raw] = seen
        return seen

    def _consents(
        self, column: str, topic: str, raw: str
    ) -> tuple[dict[tuple[str, str], str], list[FieldError]]:
        seen = self._consents_seen.get((column, raw))
        if seen is None:
            errors: list[FieldError] = []
            seen = _parse_consents(topic, raw, column, errors), errors
            if len(self._consents_seen) >= SEEN_LIMIT:
                self._consents_seen.clear()
            self._consents_seen[(column, raw)] = seen
        return seen

    def parse(  # noqa: C901, PLR0912 - one check per column of the file, in the file's order
        self, line: int, record: list[str]
    ) -> ParsedRow | list[FieldError]:
        if len(record) != self.width:
            return [
                FieldError(
                    "",
                    "column_count",
                    _("Expected %(e)d columns, found %(f)d.") % {"e": self.width, "f": len(record)},
                )
            ]
        errors: list[FieldError] = []
        fields: dict[str, Any] = {
            name: (" ".join(record[i].split()) if i is not None else "") for name, i in self.text_at
        }
        if self.full_name_at is not None and not (fields["given_name"] or fields["family_name"]):
            full = record[self.full_name_at].split()
            if full:
                fields["given_name"], fields["family_name"] = full[0], " ".join(full[1:])
        for name in TEXT_COLUMNS:
            if len(fields[name]) > (255 if name == "address" else 100):
                errors.append(FieldError(name, "too_long", _("Too long.")))
        if self.birth_date_at is not None and record[self.birth_date_at].strip():
            fields["birth_date"] = norm.collect(errors, norm.parse_birth_date, record[self.birth_date_at])
        for name, check, i in self.checks_at:
            if record[i].strip():
                fields[name] = norm.collect(errors, check, record[i], path=name)
        identities: list[tuple[str, str]] = []
        for column, kind, normalize, i in self.identities_at:
            for value in _split(record[i]):
                try:
                    clean = normalize(value, path=column)
                except ValidationFailed as exc:
                    errors.extend(exc.fields)
                    continue
                if (kind, clean) not in identities:
                    identities.append((kind, clean))
        if not identities and not (fields["given_name"] or fields["family_name"]):
            errors.append(FieldError("", "empty_row", _("The row has neither a name nor an identity.")))
        segments: list[str] = []
        if self.segments_at is not None and record[self.segments_at]:
            slugs, segment_errors = self._segments(record[self.segments_at])
            segments = list(slugs)
            errors.extend(segment_errors)
        consents: dict[tuple[str, str], str] = {}
        for column, topic, i in self.topics_at:
            if record[i]:
                found, consent_errors = self._consents(column, topic, record[i])
                consents.update(found)
                errors.extend(consent_errors)
        attributes = {key: value for key, i in self.attributes_at if (value := record[i].strip())}
        if errors:
            return errors
        return ParsedRow(line, fields, identities, segments, consents, attributes)


def _records(handle: io.TextIOBase) -> Iterator[tuple[int, list[str]]]:
    """Each record that is not blank, with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(handle)
    start = 1
    for record in reader:
        if "".join(record).strip():
            yield start, record
        start = reader.line_num + 1


def count_data_rows(path: Path) -> int:
    """Records after the header, as the import will see them (for the progress bar)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return max(sum(1 for record in csv.reader(handle) if "".join(record).strip()) - 1, 0)


def parse_chunk(parser: RowParser, chunk: Chunk) -> tuple[list[ParsedRow], list[Rejection]]:
    parsed: list[ParsedRow] = []
    rejections: list[Rejection] = []
    for line, record in chunk:
        outcome = parser.parse(line, record)
        if isinstance(outcome, ParsedRow):
            parsed.append(outcome)
        else:
            rejections.extend((line, e.path, e.code, e.message) for e in outcome)
    return parsed, rejections


def _chunks(records: Iterator[tuple[int, list[str]]]) -> Iterator[Chunk]:
    chunk: Chunk = []
    for item in records:
        chunk.append(item)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# Checking phones and emails is most of the work of parsing: in a large file it is done in another process
# while this one writes. The worker is forked, so it parses exactly as this process would (same settings,
# language and code) and re-runs nothing; it only computes, touching no connection, file or lock it
# inherits, and ends without running any clean-up of this process's objects.
PARALLEL_ROWS = 10_000
IN_FLIGHT = 2
_worker_parser: RowParser | None = None


def _workers_for(total: int) -> int:
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    return 1 if can_fork and total >= PARALLEL_ROWS and (os.cpu_count() or 1) > 1 else 0


def _parse_in_worker(chunk: Chunk) -> WorkerResult:
    assert _worker_parser is not None
    parsed, rejections = parse_chunk(_worker_parser, chunk)
    # Plain tuples travel back several times faster than the objects.
    return [
        (r.line, r.fields, r.identities, r.segments, r.consents, r.attributes) for r in parsed
    ], rejections


def _parse_chunks(
    parser: RowParser, chunks: Iterator[Chunk], workers: int
) -> Generator[tuple[int, list[ParsedRow], list[Rejection]], None, None]:
    """Each chunk parsed, in order: by worker processes a few chunks ahead, or here.

    A worker that cannot start or dies (memory, a signal) leaves the rest of the file to this process.
    """
    global _worker_parser  # noqa: PLW0603 - what a forked worker parses with
    pool: ProcessPoolExecutor | None = None
    if workers > 0:
        _worker_parser = parser
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    pending: deque[tuple[Chunk, Future[WorkerResult] | None]] = deque()

    def collect() -> tuple[int, list[ParsedRow], list[Rejection]]:
        chunk, future = pending.popleft()
        if future is not None:
            try:
                rows, rejections = future.result()
                return len(chunk), [ParsedRow(*row) for row in rows], rejections
            except BrokenProcessPool:
                pass
        return (len(chunk), *parse_chunk(parser, chunk))

    try:
        for chunk in chunks:
            future = None
            if pool is not None:
                try:
                    future = pool.submit(_parse_in_worker, chunk)
                except BrokenProcessPool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = None
            pending.append((chunk, future))
            if len(pending) > IN_FLIGHT * max(workers, 1) - 1:
                yield collect()
        while pending:
            yield collect()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        _worker_parser = None


@contextmanager
def _older_objects_left_out_of_gc() -> Iterator[None]:
    """An import allocates millions of short-lived objects, and each full pass of the cycle collector would
    walk everything the process held before (Django, modules, caches) again: a sixth of the import's time
    on a large file. Those objects are set aside while the import runs, and put back afterwards."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Importer:
    def __init__(
        self, *, actor: Actor, source: str, job: ImportJob | None, workers: int | None = None
    ) -> None:
        self.actor = actor
        self.source = source
        self.job = job
        # Processes that parse while this one writes: None chooses by the size of the file.
        self.workers = workers
        self.result = ImportResult()
        # Identity -> profile id, for everything this import has looked up or written so far.
        self.owner: dict[tuple[str, str], int] = {}
        self._pairs_recorded = False
        self._customers = Rows(
            Customer, [f.name for f in Customer._meta.concrete_fields if not f.primary_key]
        )
        self._identities = Rows(Identity, ["customer", "kind", "value", "is_primary", "source", "created_at"])
        self._customer_updates = Rows(Customer, CUSTOMER_COLUMNS)
        self._consents = Rows(Consent, ["customer", "topic", "channel", "status", "source", "updated_at"])
        self._consent_updates = Rows(Consent, ["status", "source", "updated_at"])
        self._history = Rows(
            ConsentChange,
            [
                "customer",
                "topic",
                "channel",
                "previous",
                "status",
                "source",
                "note",
                "import_line",
                "actor",
                "changed_at",
            ],
        )
        self._segment_links = Rows(Customer.segments.through, ["customer", "segment"], ignore_conflicts=True)
        self._rejections = Rows(ImportRejection, ["job", "line", "field", "code", "message"])

    def run(self, handle: io.TextIOBase, *, total: int, progress: Progress | None) -> ImportResult:
        self.result.total_rows = total
        records = _records(handle)
        first = next(records, None)
        if first is None:
            raise ValidationFailed.single("file", "empty_file", _("The file is empty."))
        parser = RowParser(first[1])
        workers = self.workers if self.workers is not None else _workers_for(total)
        with _older_objects_left_out_of_gc():
            with closing(_parse_chunks(parser, _chunks(records), workers)) as parsed_chunks:
                for rows, parsed, rejections in parsed_chunks:
                    self._chunk(rows, parsed, rejections, progress)
            self.record_flagged_pairs()
            if self.result.new_ids:
                matches = dedup.score_pairs(dedup._load(), involving=self.result.new_ids)
                self.result.flagged += dedup.record_candidates(matches)
        return self.result

    def record_flagged_pairs(self) -> None:
        """Ask a person about the profiles that one row's identities tied together."""
        if self._pairs_recorded:
            return
        self._pairs_recorded = True
        pairs = [
            dedup.Match(a, b, 1.0, (Reason.SHARED_IDENTITIES,)) for a, b in sorted(self.result.flagged_pairs)
        ]
        self.result.flagged += dedup.record_candidates(pairs)

    def _chunk(
        self, rows: int, parsed: list[ParsedRow], rejections: list[Rejection], progress: Progress | None
    ) -> None:
        try:
            with transaction.atomic():
                done = self._write(parsed)
        except IntegrityError:
            # Someone else added one of these identities since we looked: look again, once.
            self.owner.clear()
            with transaction.atomic():
                done = self._write(parsed)
        self.result.created += done.created
        self.result.matched += done.matched
        self.result.new_ids.update(done.new_ids)
        self.owner.update(done.owners)
        for first, other in done.pairs:
            assert first.pk is not None
            assert other.pk is not None
            self.result.flagged_pairs.add((min(first.pk, other.pk), max(first.pk, other.pk)))
        self._report(rejections, rows, progress)

    def _lookup(self, rows: list[ParsedRow]) -> None:
        wanted: dict[str, set[str]] = {}
        for row in rows:
            for kind, value in row.identities:
                if (kind, value) not in self.owner:
                    wanted.setdefault(kind, set()).add(value)
        # Plain SQL: the ORM's work on a long IN list costs more than the index look-ups. PostgreSQL takes
        # the values as one array, so the statement text stays the same from chunk to chunk.
        qn = connection.ops.quote_name
        table = qn(Identity._meta.db_table)
        select = f"SELECT {qn('value')}, {qn('customer_id')} FROM {table} WHERE {qn('kind')} = %s"  # noqa: S608 - names quoted by the backend; values are parameters
        with connection.cursor() as cursor:
            for kind, values in wanted.items():
                ordered = sorted(values)
                batches: list[tuple[str, list[Any]]]
                if connection.vendor == "postgresql":
                    batches = [(f"{select} AND {qn('value')} = ANY(%s)", [kind, ordered])]
                else:
                    batches = [
                        (f"{select} AND {qn('value')} IN ({', '.join(['%s'] * len(part))})", [kind, *part])
                        for part in (ordered[i : i + 900] for i in range(0, len(ordered), 900))
                    ]
                for sql, params in batches:
                    cursor.execute(sql, params)
                    for value, customer_id in cursor.fetchall():
                        self.owner[(kind, value)] = customer_id

    def _write(self, rows: list[ParsedRow]) -> ChunkOutcome:
        """Decide which profile each row is about, then save the chunk."""
        self._lookup(rows)
        done = ChunkOutcome()
        targets: list[Target] = []
        existing: dict[int, Target] = {}
        # Who holds each identity in this chunk: the row that brought it, or the profile that has it.
        holder: dict[tuple[str, str], Target] = {}
        for row in rows:
            owners: list[Target] = []
            for ident in row.identities:
                owner = holder.get(ident)
                if owner is None and ident in self.owner:
                    pk = self.owner[ident]
                    owner = existing.get(pk)
                    if owner is None:
                        owner = existing[pk] = Target(pk=pk, line=row.line)
                        targets.append(owner)
                    holder[ident] = owner
                if owner is not None and all(owner is not o for o in owners):
                    owners.append(owner)
            if not owners:
                target = Target.new(row, row.identities)
                targets.append(target)
                done.created += 1
            else:
                target = owners[0]
                done.matched += 1
                done.pairs.extend((target, other) for other in owners[1:])
                # An identity another profile holds stays with it; the pair is flagged for a person.
                target.absorb(row, [i for i in row.identities if holder.get(i, target) is target])
            for ident in target.identities:
                holder.setdefault(ident, target)
        self._save(targets, done)
        return done

    def _save(self, targets: list[Target], done: ChunkOutcome) -> None:
        moment = clock.now()
        new = [t for t in targets if t.pk is None]
        old = [t for t in targets if t.pk is not None]
        defaults = {f.name: f.get_default() for f in Customer._meta.concrete_fields if not f.primary_key}
        rows = []
        for target in new:
            values = {name: value for name, value in target.fields.items() if value is not None}
            values["attributes"] = target.attributes
            values["search_text"] = _search_text(target.fields, [v for _k, v in target.identities])
            values["created_at"] = values["updated_at"] = moment
            rows.append([values.get(name, default) for name, default in defaults.items()])
        for target, pk in zip(new, self._customers.insert_returning_pks(rows), strict=True):
            target.pk = pk
            done.new_ids.append(pk)
        primary_kinds = self._enrich(old, moment)

        identities = []
        stamp = self._identities.adapt("created_at", moment)
        for target in targets:
            assert target.pk is not None
            primaries = primary_kinds.get(target.pk, set())
            for kind, value in target.identities:
                if self.owner.get((kind, value)) == target.pk:
                    continue
                identities.append((target.pk, kind, value, kind not in primaries, self.source, stamp))
                primaries.add(kind)
                done.owners[(kind, value)] = target.pk
        self._identities.insert(identities, prepared=True)
        self._save_segments(targets)
        self._save_consents(new, old, moment)

    def _enrich(self, old: list[Target], moment: datetime) -> dict[int, set[str]]:
        """Fill what existing profiles lack from the rows that matched them; their primary identity kinds."""
        primary_kinds: dict[int, set[str]] = {}
        if not old:
            return primary_kinds
        ids = [t.pk for t in old if t.pk is not None]
        customers = Customer.objects.in_bulk(ids)
        values: dict[int, list[str]] = {}
        for customer_id, kind, value, is_primary in Identity.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "kind", "value", "is_primary"
        ):
            values.setdefault(customer_id, []).append(value)
            if is_primary:
                primary_kinds.setdefault(customer_id, set()).add(kind)
        changed = []
        for target in old:
            assert target.pk is not None
            customer = customers[target.pk]
            filled = False
            for name, value in target.fields.items():
                if value not in ("", None) and getattr(customer, name) in ("", None):
                    setattr(customer, name, value)
                    filled = True
            attributes = {**target.attributes, **customer.attributes}
            known = values.get(target.pk, [])
            added = [v for _k, v in target.identities if v not in known]
            if not (filled or added or attributes != customer.attributes):
                continue  # nothing new: a file imported again leaves its profiles as they are
            customer.attributes = attributes
            customer.search_text = build_search_text(customer, known + added)
            customer.updated_at = moment
            changed.append(customer)
        self._customer_updates.update(
            [*(getattr(c, name) for name in CUSTOMER_COLUMNS), c.pk] for c in changed
        )
        return primary_kinds

    def _save_segments(self, targets: list[Target]) -> None:
        slugs = sorted({s for t in targets for s in t.segments})
        if not slugs:
            return
        by_slug = {s.slug: s.pk for s in ensure_segments(slugs)}
        self._segment_links.insert([(t.pk, by_slug[s]) for t in targets for s in t.segments])

    def _save_consents(self, new: list[Target], old: list[Target], moment: datetime) -> None:
        """Current answers and their history; a new profile has nothing to compare with."""
        current: dict[tuple[int | None, str, str], Consent] = {
            (c.customer_id, c.topic, c.channel): c
            for c in Consent.objects.filter(customer_id__in=[t.pk for t in old if t.consents])
        }
        create, update, history = [], [], []
        source, actor_id = self.source, self.actor.user_id
        stamp = self._consents.adapt("updated_at", moment)
        changed_at = self._history.adapt("changed_at", moment)
        for target in new:
            for (topic, channel), status in target.consents.items():
                create.append((target.pk, topic, channel, status, source, stamp))
                history.append(
                    (target.pk, topic, channel, "", status, source, "", target.line, actor_id, changed_at)
                )
        for target in old:
            for (topic, channel), status in target.consents.items():
                row = current.get((target.pk, topic, channel))
                previous = row.status if row else ""
                if previous == status:
                    continue
                if row is None:
                    create.append((target.pk, topic, channel, status, source, stamp))
                else:
                    row.status, row.source, row.updated_at = status, source, moment
                    update.append(row)
                history.append(
                    (
                        target.pk,
                        topic,
                        channel,
                        previous,
                        status,
                        source,
                        "",
                        target.line,
                        actor_id,
                        changed_at,
                    )
                )
        self._consents.insert(create, prepared=True)
        self._consent_updates.update((c.status, c.source, c.updated_at, c.pk) for c in update)
        self._history.insert(history, prepared=True)

    def _report(self, rejections: list[Rejection], rows: int, progress: Progress | None) -> None:
        lines = {line for line, *_rest in rejections}
        self.result.rejected += len(lines)
        self.result.rejections.extend(rejections)
        self.result.processed_rows += rows
        if self.job is not None:
            self._rejections.insert((self.job.pk, ln, f, c, m[:500]) for ln, f, c, m in rejections)
            self.save_job_counts()
        if progress is not None:
            progress(self.result.processed_rows, max(self.result.total_rows, self.result.processed_rows))

    def save_job_counts(self, **extra: Any) -> None:
        assert self.job is not None
        r = self.result
        pending = 0 if self._pairs_recorded else len(r.flagged_pairs)
        ImportJob.objects.filter(pk=self.job.pk).update(
            total_rows=max(r.total_rows, r.processed_rows),
            processed_rows=r.processed_rows,
            created_count=r.created,
            matched_count=r.matched,
            rejected_count=r.rejected,
            flagged_count=r.flagged + pending,
            **extra,
        )


def import_customers(
    *,
    actor: Actor,
    path: Path,
    source: str = "import",
    job: ImportJob | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportResult:
    """Import a CSV file (UTF-8, with a header row); see the module docstring for the columns.

    ``workers``: processes that parse rows while this one writes (0: none; None: one for a large file).
    """
    actor.require(Perm.CUSTOMERS_IMPORT)
    importer = Importer(actor=actor, source=source, job=job, workers=workers)
    try:
        total = count_data_rows(path)
        with path.open(encoding="utf-8-sig", newline="") as handle:
            result = importer.run(handle, total=total, progress=progress)
    except UnicodeDecodeError as exc:
        raise ValidationFailed.single("file", "not_utf8", _("The file must be UTF-8 encoded CSV.")) from exc
    result.total_rows = result.processed_rows
    if job is not None:
        importer.save_job_counts(status=ImportJob.Status.DONE, finished_at=clock.now())
    return result


def queue_import(
    *, actor: Actor, file_name: str, content: bytes, source: str = "import", language: str = ""
) -> ImportJob:
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
            language=language or translation.get_language() or settings.LANGUAGE_CODE,
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
        with translation.override(job.language or settings.LANGUAGE_CODE):
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


def list_imports_for(actor: Actor, limit: int = 50) -> QuerySet[ImportJob]:
    """The newest imports, with who started each."""
    actor.require(Perm.CUSTOMERS_IMPORT)
    return ImportJob.objects.select_related("actor")[:limit]
