"""Customer import at scale: throughput, correctness, and the cost over a raw bulk insert of the same rows.

Generates a CSV of people with Ukrainian, Russian and English names (a share of them bad in varied ways, a
share entered twice: half with a phone or email seen earlier, half as a look-alike with a typo or a Latin
spelling and other contacts), imports it into a fresh database with the real importer, checks that every
bad row was rejected on its line, every exact duplicate matched and every look-alike flagged, then empties
the tables and inserts the customers, identities and consents the import wrote with plain
``executemany`` INSERTs, one transaction per 2,000 customers, on the same database in the same run.

The last line reads ``import_customers: rows=N rows_per_s=X raw_insert_ratio=Y``, Y being the import time
over the raw insert time: a ratio, so that a busy machine moves both sides.

    python bench/import_customers.py                       # 100,000 rows on a fresh SQLite file
    python bench/import_customers.py --rows 20000 --database-url postgres://postgres@127.0.0.1:5432/forewarn_bench

On PostgreSQL the database named in the URL is created when missing, and dropped and created again when an
earlier run of this script made it; a database with tables that this script did not make is left alone.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH_COMMENT = "forewarn import benchmark scratch database"
RAW_TRANSACTION_ROWS = 2000
BAD_KINDS = (
    "phone_unparseable",
    "phone_invalid",
    "email_invalid",
    "email_special_use",
    "time_zone_unknown",
    "date_invalid",
    "date_out_of_range",
    "language_unsupported",
    "channel_unknown",
    "consent_answer_unknown",
    "telegram_invalid",
    "external_id_invalid",
    "too_long",
    "empty_row",
    "column_count",
)


def default_rows() -> int:
    if os.environ.get("BENCH_ROWS"):
        return int(os.environ["BENCH_ROWS"])
    return 20_000 if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else 100_000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=default_rows(), help="data rows in the CSV")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FOREWARN_DATABASE_URL", ""),
        help="default: FOREWARN_DATABASE_URL, else a fresh SQLite file in a temporary directory",
    )
    parser.add_argument("--bad-fraction", type=float, default=0.05)
    parser.add_argument("--duplicate-fraction", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--workers", type=int, default=None, help="parsing processes for the import (default: its own choice)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (CSV, SQLite file)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the import to FILE")
    return parser.parse_args(argv)


# -- the data -----------------------------------------------------------------------------------------


@dataclass
class Plan:
    """The generated file and what the import should make of it."""

    rows: list[list[str]] = field(default_factory=list)
    bad_lines: dict[int, str] = field(default_factory=dict)
    # (line of the duplicate, an identity of the earlier row, an identity only the duplicate brings)
    exact: list[tuple[int, tuple[str, str], tuple[str, str]]] = field(default_factory=list)
    # (an identity of the earlier row, an identity of the look-alike)
    fuzzy: list[tuple[tuple[str, str], tuple[str, str]]] = field(default_factory=list)
    people: int = 0


class Contacts:
    """Hands out phones and emails no other row has, so that only the planned duplicates share any."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def claim(self, value: str) -> bool:
        key = value.lower()
        if not value or key in self.used:
            return False
        self.used.add(key)
        return True

    def phone(self) -> str:
        import phonenumbers

        while True:
            raw = f"+380{self.rng.choice(['50', '63', '66', '67', '68', '73', '93', '95', '97'])}"
            raw += f"{self.rng.randrange(10**7):07d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(raw, None)) and self.claim(raw):
                return raw

    def email(self, person: dict[str, str]) -> str:
        from anyascii import anyascii

        user = "".join(c for c in anyascii(person["given_name"]).lower() if c.isalnum()) or "client"
        while True:
            domain = self.rng.choice(["gmail.com", "ukr.net", "meta.ua", "outlook.com", "proton.me"])
            value = f"{user}.{self.rng.randrange(10**6)}@{domain}"
            if self.claim(value):
                return value


def _typo(rng: random.Random, name: str) -> str:
    """One letter dropped or two swapped, away from the ends."""
    if len(name) < 4:
        return name + name[-1]
    i = rng.randrange(1, len(name) - 2)
    if rng.random() < 0.5:
        return name[:i] + name[i + 1 :]
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def _lookalike(rng: random.Random, person: dict[str, str], contacts: Contacts) -> dict[str, str]:
    from anyascii import anyascii

    twin = dict(person)
    latin = anyascii(person["given_name"]), anyascii(person["family_name"])
    if latin != (person["given_name"], person["family_name"]) and rng.random() < 0.5:
        twin["given_name"], twin["family_name"] = latin
    else:
        part = max(("family_name", "given_name"), key=lambda name: len(person[name]))
        twin[part] = _typo(rng, person[part])
    twin.update(external_id="", phone=contacts.phone(), email="", telegram="", viber="", segments="retail")
    return twin


def _exact(rng: random.Random, person: dict[str, str], contacts: Contacts) -> tuple[dict[str, str], str]:
    """The same person again, sharing a phone or an email, bringing a new one and other answers."""
    twin = dict(person, external_id="", telegram="", viber="", birth_date="", address="")
    if person["email"] and rng.random() < 0.5:
        twin["phone"] = contacts.phone()
        shared = "email"
    else:
        twin["email"] = contacts.email(person)
        shared = "phone"
    twin["consent_marketing"] = rng.choice(["email=no;sms=no", "email=yes", "sms=no", ""])
    twin["segments"] = "retail;returning"
    return twin, shared


def _break(rng: random.Random, person: dict[str, str], kind: str, header: list[str]) -> list[str]:  # noqa: PLR0912 - one case per kind of fault
    row = dict(person)
    match kind:
        case "phone_unparseable":
            row["phone"] = rng.choice(["12", "call me", "+", "067-ABC"])
        case "phone_invalid":
            row["phone"] = rng.choice(["+380 11 111 1111", "+44 7000", "+1 555 0100", "+380671"])
        case "email_invalid":
            row["email"] = rng.choice(
                [
                    "olena@",
                    "@ukr.net",
                    "ivan petrov@gmail.com",
                    "a..b@gmail.com",
                    "x@@i.ua",
                    "me@exa_mple.com",
                ]
            )
        case "email_special_use":
            row["email"] = rng.choice(["olena@shop.test", "ivan@example.invalid", "anna@printer.local"])
        case "time_zone_unknown":
            row["time_zone"] = rng.choice(["Mars/Olympus", "Europe/Kyyiv", "GMT+25", "Kyiv"])
        case "date_invalid":
            row["birth_date"] = rng.choice(["1990-02-30", "31.12.1985", "yesterday", "1985-13-01"])
        case "date_out_of_range":
            row["birth_date"] = rng.choice(["1850-05-05", "2101-01-01"])
        case "language_unsupported":
            row["language"] = rng.choice(["de", "klingon"])
        case "channel_unknown":
            row["preferred_channel"] = rng.choice(["pigeon", "fax"])
        case "consent_answer_unknown":
            row["consent_marketing"] = rng.choice(["email=maybe", "sms=later"])
        case "telegram_invalid":
            row["telegram"] = rng.choice(["@ab", "@1abcdef", "no spaces allowed"])
        case "external_id_invalid":
            row["external_id"] = "CRM 0001 !"
        case "too_long":
            row["family_name"] = "Коваленко" * 12
        case "empty_row":
            row = dict.fromkeys(header, "") | {"city": person["city"], "segments": "retail"}
        case "column_count":
            return [row[name] for name in header] + ["stray"]
    return [row[name] for name in header]


def _distinct_people(count: int, seed: int) -> Iterator[dict[str, str]]:
    """People from the demo generator, without its own look-alikes (a row that repeats the last one's
    date of birth and address)."""
    from forewarn.shell.demo import build_rows

    previous: dict[str, str] | None = None
    for row in build_rows(count + count // 20 + 10, seed):
        twin = previous is not None and (row["birth_date"], row["address"]) == (
            previous["birth_date"],
            previous["address"],
        )
        previous = row
        if not twin:
            yield row


def build_plan(rows: int, bad_fraction: float, duplicate_fraction: float, seed: int) -> Plan:  # noqa: PLR0912 - one branch per kind of broken row the plan makes
    import re

    from forewarn.shell.demo import HEADER

    rng = random.Random(seed)
    n_bad = round(rows * bad_fraction)
    n_dup = round(rows * duplicate_fraction)
    n_exact = n_dup // 2
    n_people = rows - n_bad - n_dup
    contacts = Contacts(rng)
    telegram = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{4,31}$")
    people: list[dict[str, str]] = []
    for person in _distinct_people(n_people + n_bad, seed):
        if len(people) == n_people + n_bad:
            break
        if not contacts.claim(person["phone"]):
            person["phone"] = contacts.phone()
        if person["email"] and not contacts.claim(person["email"]):
            person["email"] = contacts.email(person)
        if person["telegram"] and not telegram.match(person["telegram"]):
            person["telegram"] = ""
        people.append(person)
    if len(people) < n_people + n_bad:
        raise SystemExit("the demo generator gave too few distinct people")
    fresh, spare = people[:n_people], people[n_people:]

    # Order: every person at its index; a duplicate somewhere after its original; bad rows anywhere.
    keyed: list[tuple[float, str, Any]] = [(float(i), "person", p) for i, p in enumerate(fresh)]
    originals = rng.sample(range(n_people), n_dup)
    for k, index in enumerate(originals):
        kind = "exact" if k < n_exact else "fuzzy"
        keyed.append((rng.uniform(index + 0.5, n_people), kind, index))
    for k, person in enumerate(spare):
        keyed.append((rng.uniform(0, n_people), BAD_KINDS[k % len(BAD_KINDS)], person))
    keyed.sort(key=lambda item: item[0])

    plan = Plan(people=n_people)
    line = 1  # the header; an address may take more than one line
    for _key, kind, payload in keyed:
        line += 1 + (sum(cell.count("\n") for cell in plan.rows[-1]) if plan.rows else 0)
        if kind == "person":
            plan.rows.append([payload[name] for name in HEADER])
        elif kind == "exact":
            original = fresh[payload]
            twin, shared = _exact(rng, original, contacts)
            new = "phone" if shared == "email" else "email"
            plan.exact.append((line, (shared, original[shared].lower()), (new, twin[new].lower())))
            plan.rows.append([twin[name] for name in HEADER])
        elif kind == "fuzzy":
            original = fresh[payload]
            twin = _lookalike(rng, original, contacts)
            plan.fuzzy.append((("phone", original["phone"]), ("phone", twin["phone"])))
            plan.rows.append([twin[name] for name in HEADER])
        else:
            plan.bad_lines[line] = kind
            plan.rows.append(_break(rng, payload, kind, HEADER))
    return plan


def write_plan(plan: Plan, path: Path) -> None:
    from forewarn.shell.demo import HEADER

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(plan.rows)


# -- the database -------------------------------------------------------------------------------------


def prepare_postgres(url: str) -> None:
    """Make the database in ``url`` exist and be empty: create it, or drop and create an earlier one."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise SystemExit("the PostgreSQL URL needs a database name")
    with psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=5) as admin:
        found = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if found is not None and found[0] != BENCH_COMMENT:
            with psycopg.connect(url, connect_timeout=5) as conn:
                tables = conn.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                ).fetchone()
            if tables and tables[0]:
                raise SystemExit(
                    f"database {name!r} has tables this benchmark did not make; pick another name"
                )
        if found is not None:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), BENCH_COMMENT))


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


def dump_written_rows() -> tuple[Table, Table, Table]:
    """The customers, identities and consents the import wrote, ready to bind as the database wants."""
    from django.db import connection

    from forewarn.customers.models import Consent, Customer, Identity

    tables = []
    for model in (Customer, Identity, Consent):
        fields = model._meta.concrete_fields
        rows = (
            model.objects.order_by("pk").values_list(*[f.attname for f in fields]).iterator(chunk_size=10_000)
        )
        prepared = [
            tuple(f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)) for row in rows
        ]
        tables.append(Table(model._meta.db_table, [f.column for f in fields], prepared))
    customers, identities, consents = tables
    return customers, identities, consents


def empty_customer_tables() -> None:
    from django.core.management.color import no_style
    from django.db import connection

    from forewarn.customers.models import Customer

    app_tables = [m._meta.db_table for m in Customer._meta.app_config.get_models()]
    app_tables.append(Customer.segments.through._meta.db_table)
    statements = connection.ops.sql_flush(no_style(), app_tables, reset_sequences=True, allow_cascade=True)
    connection.ops.execute_sql_flush(statements)


def raw_insert(customers: Table, identities: Table, consents: Table) -> float:
    """Plain INSERTs with ``executemany``, one transaction per 2,000 customers with their rows."""
    from django.db import connection, transaction

    def insert(table: Table) -> str:
        marks = ", ".join(["%s"] * len(table.columns))
        return f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks})"

    owner_at = {t.name: t.columns.index("customer_id") for t in (identities, consents)}
    by_customer: dict[str, dict[int, list[tuple[Any, ...]]]] = {}
    for table in (identities, consents):
        grouped: dict[int, list[tuple[Any, ...]]] = {}
        for row in table.rows:
            grouped.setdefault(row[owner_at[table.name]], []).append(row)
        by_customer[table.name] = grouped
    batches = []
    for start in range(0, len(customers.rows), RAW_TRANSACTION_ROWS):
        batch = customers.rows[start : start + RAW_TRANSACTION_ROWS]
        ids = [row[0] for row in batch]
        batches.append(
            (
                batch,
                [r for pk in ids for r in by_customer[identities.name].get(pk, ())],
                [r for pk in ids for r in by_customer[consents.name].get(pk, ())],
            )
        )
    statements = insert(customers), insert(identities), insert(consents)
    started = time.perf_counter()
    for batch in batches:
        with transaction.atomic(), connection.cursor() as cursor:
            for statement, rows in zip(statements, batch, strict=True):
                cursor.executemany(statement, rows)
    return time.perf_counter() - started


# -- the run ------------------------------------------------------------------------------------------


def check(plan: Plan, result: Any) -> list[str]:
    """Compare what the import did with the plan; print the figures, return what is wrong."""
    from forewarn.customers.models import DuplicateCandidate, Identity

    problems = []
    rejected_lines = {line for line, *_rest in result.rejections}
    missed = sorted(set(plan.bad_lines) - rejected_lines)
    extra = sorted(rejected_lines - set(plan.bad_lines))
    print(
        f"check: rejected {result.rejected} rows for {len(plan.bad_lines)} bad ones; "
        f"bad rows let through: {len(missed)}; good rows rejected: {len(extra)}"
    )
    for line in missed[:5]:
        problems.append(f"line {line} ({plan.bad_lines[line]}) was not rejected")
    for line, path, code, _message in result.rejections:
        if line in extra[:5]:
            problems.append(f"line {line} was rejected: {path} {code}")
    kinds_seen = {code for _l, _p, code, _m in result.rejections}
    print(f"check: rejection codes seen: {', '.join(sorted(kinds_seen))}")

    owner = {
        (kind, value): customer
        for kind, value, customer in Identity.objects.values_list("kind", "value", "customer_id").iterator(
            chunk_size=10_000
        )
    }
    exact_ok = sum(1 for _line, shared, new in plan.exact if owner.get(shared) == owner.get(new) is not None)
    exact_recall = exact_ok / len(plan.exact) if plan.exact else 1.0
    print(f"check: exact duplicates folded into the earlier profile: {exact_ok}/{len(plan.exact)}")
    if exact_ok != len(plan.exact):
        problems.append(f"{len(plan.exact) - exact_ok} exact duplicates were not matched")

    pairs = set(DuplicateCandidate.objects.values_list("first_id", "second_id"))
    expected = set()
    for first, second in plan.fuzzy:
        a, b = owner.get(first), owner.get(second)
        if a is not None and b is not None:
            expected.add((min(a, b), max(a, b)))
    fuzzy_ok = len(expected & pairs)
    fuzzy_recall = fuzzy_ok / len(plan.fuzzy) if plan.fuzzy else 1.0
    print(
        f"check: look-alikes flagged: {fuzzy_ok}/{len(plan.fuzzy)}; "
        f"other pairs flagged (people who happen to look alike): {len(pairs - expected)}"
    )
    if fuzzy_recall < 0.95:
        problems.append(f"only {fuzzy_ok} of {len(plan.fuzzy)} look-alikes were flagged")
    expected_created = plan.people + len(plan.fuzzy)
    if result.created != expected_created:
        problems.append(f"created {result.created} profiles, expected {expected_created}")
    if result.matched != len(plan.exact):
        problems.append(f"matched {result.matched} rows, expected {len(plan.exact)}")
    print(f"check: exact recall={exact_recall:.4f} fuzzy recall={fuzzy_recall:.4f}")
    return problems


def run(args: argparse.Namespace, work: Path) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from forewarn.accounts.actors import Actor
    from forewarn.customers.services.importing import import_customers

    call_command("migrate", verbosity=0)
    print(f"import_customers: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)

    started = time.perf_counter()
    plan = build_plan(args.rows, args.bad_fraction, args.duplicate_fraction, args.seed)
    source = work / "customers.csv"
    write_plan(plan, source)
    print(
        f"generated {len(plan.rows)} rows in {time.perf_counter() - started:.1f} s: {plan.people} people, "
        f"{len(plan.exact)} exact duplicates, {len(plan.fuzzy)} look-alikes, {len(plan.bad_lines)} bad rows",
        flush=True,
    )

    last_report = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last_report[0] >= 2 or done >= total:
            last_report[0] = now
            rate = done / max(now - import_started, 1e-9)
            print(f"  progress {done}/{total} rows, {rate:.0f} rows/s", flush=True)

    import_started = time.perf_counter()
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(
            import_customers,
            actor=Actor.system("bench"),
            path=source,
            progress=progress,
            workers=args.workers,
        )
        profiler.dump_stats(args.profile)
    else:
        result = import_customers(
            actor=Actor.system("bench"), path=source, progress=progress, workers=args.workers
        )
    import_seconds = time.perf_counter() - import_started
    print(
        f"import: {import_seconds:.2f} s; created={result.created} matched={result.matched} "
        f"rejected={result.rejected} flagged={result.flagged}",
        flush=True,
    )
    problems = check(plan, result)

    customers, identities, consents = dump_written_rows()
    empty_customer_tables()
    raw_seconds = raw_insert(customers, identities, consents)
    print(
        f"raw insert: {len(customers.rows)} customers, {len(identities.rows)} identities, "
        f"{len(consents.rows)} consents in {raw_seconds:.2f} s"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    rows = len(plan.rows)
    print(
        f"import_customers: rows={rows} rows_per_s={rows / import_seconds:.0f} "
        f"raw_insert_ratio={import_seconds / raw_seconds:.2f}",
        flush=True,
    )
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="forewarn-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forewarn.settings")
    os.environ.setdefault("FOREWARN_DATA_DIR", str(work / "data"))
    url = args.database_url or f"sqlite:///{work / 'bench.sqlite3'}"
    if url.startswith(("postgres://", "postgresql://")):
        prepare_postgres(url)
    os.environ["FOREWARN_DATABASE_URL"] = url
    try:
        return run(args, work)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
