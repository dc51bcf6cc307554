"""Broadcast planning at scale: every customer through the contact policy, and the cost over a raw insert.

Builds a fresh database with N customers (see ``benchdb.populate``: three time zones, varied quiet hours,
consents granted, denied and missing, risk signals, unsubscribes, suppression lists, and recent messages
so that caps, digests, bumps and de-duplication keys matter), then plans, with the clock frozen at a
Kyiv evening (20:30 in Kyiv, 14:30 in New York, 23:30 in Almaty):

1. an incident notice to everyone, through the real ``incidents.broadcast`` (transactional: consent
   refusals, unsubscribes, suppression lists, channel choice, quiet hours);
2. a promotion to everyone through ``planning.plan`` with ``Draft``/``Intent`` in chunks of 2,000
   (marketing: opt-in consent, risk and the retention variant, digests, both frequency caps with bumping
   of less important queued messages, a de-duplication key, and a time to live).

Then, in the same run, it inserts the Message rows the two plans wrote (all their columns, values
prepared by the fields) into an empty copy of the table (same indexes and constraints) with plain
INSERTs through the driver, one transaction per 2,000 rows: ``executemany``, multi-row VALUES, and on
PostgreSQL one INSERT ... SELECT FROM UNNEST of an array per column (the shape the planner's own writer
uses); the fastest is the baseline.

The last line reads ``broadcast: customers=N decisions_per_s=X raw_insert_ratio=Y``: X counts the
decisions of both plans over their time, Y is the planning time over the raw insert time.

    python bench/broadcast.py                                   # 20,000 customers on a SQLite file
    python bench/broadcast.py --customers 1000000
    FOREWARN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/forewarn python bench/broadcast.py

On PostgreSQL the run uses a database of its own on that server (``--pg-name``), dropped at the end.
``--profile FILE`` profiles both plans (cProfile, or ``--profiler pyinstrument``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchdb import (
    PROMO_KEY,
    Ticker,
    add_profile_options,
    describe_database,
    describe_source,
    populate,
    scratch,
    setup_django,
)

CHUNK = 2000
SOURCES = (
    "forewarn.engage.services.planning",
    "forewarn.engage.services.words",
    "forewarn.engage.services.incidents",
    "forewarn.engage.policy",
    "forewarn.core.bulk",
)
# 20:30 in Kyiv (EET), 14:30 in New York (EDT), 23:30 in Almaty.
NOW = datetime(2026, 3, 10, 18, 30, tzinfo=UTC)
RAW_TABLE = "engage_message_raw"
MULTIROW_PARAMS = 30_000  # under SQLite's 32,766 bound parameters; PostgreSQL allows 65,535


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FOREWARN_DATABASE_URL", ""),
        help="a PostgreSQL server to use (default: FOREWARN_DATABASE_URL, else a SQLite file)",
    )
    parser.add_argument("--pg-name", default="forewarn_bench_broadcast", help="the scratch database's name")
    parser.add_argument("--seed", type=int, default=20260310)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and database")
    add_profile_options(parser, "both plans")
    parser.add_argument(
        "--phases",
        action="store_true",
        help="time the planner's phases (loading, deciding, preparing and inserting rows, moving bumps)",
    )
    parser.add_argument("--skip-marketing", action="store_true", help="plan the incident notice only")
    parser.add_argument(
        "--raw-methods",
        default="executemany,multirow,unnest",
        help="baseline insert methods to try, comma-separated (unnest: PostgreSQL only)",
    )
    parser.add_argument(
        "--no-bumps",
        action="store_true",
        help="no queued low-priority promotions for the new one to take the place of (_move_bumped)",
    )
    return parser.parse_args(argv)


# -- the plans ----------------------------------------------------------------------------------------


def plan_incident(customers: int) -> tuple[int, float]:
    from forewarn.core import clock
    from forewarn.engage.models import Incident
    from forewarn.engage.services import incidents

    incident = Incident.objects.create(
        title="Power outage",
        description="Substation repair",
        audience={"attributes": {"tenant": "bench"}},
        area="Kyiv, left bank",
        started_at=NOW - timedelta(minutes=40),
        critical=False,
        notice={lang: incidents.default_notice(lang) for lang in ("uk", "ru", "en")},
        resolution={lang: incidents.default_resolution(lang) for lang in ("uk", "ru", "en")},
        affected_count=customers,
        created_at=NOW,
    )
    ticker = Ticker("incident notice", customers)
    with clock.frozen_at(NOW):
        started, cpu = time.perf_counter(), time.process_time()
        planned = incidents.broadcast(incident.pk, incidents.NOTICE, progress=ticker)
        seconds = time.perf_counter() - started
    print(f"  (cpu {time.process_time() - cpu:.2f} s of {seconds:.2f} s)")
    return planned, seconds


def promotion_words() -> tuple[Any, Any]:
    """Words for everyone (any channel, a retention variant), and words for SMS and email only."""
    from forewarn.engage.services.words import Words

    body = {
        "uk": "{{ customer.first_name }}, весняні знижки {{ offer.percent }}% до {{ offer.until }}.",
        "ru": "{{ customer.first_name }}, весенние скидки {{ offer.percent }}% до {{ offer.until }}.",
        "en": "{{ customer.first_name }}, spring sale: {{ offer.percent }}% off until {{ offer.until }}.",
    }
    keep = {
        "uk": "{{ customer.first_name }}, ми цінуємо вас: місяць обслуговування в подарунок.",
        "en": "{{ customer.first_name }}, we value you: a month of service on us.",
    }
    full: dict[tuple[str, str, str], tuple[str, str]] = {}
    for lang, text in body.items():
        full[("standard", "", lang)] = ("", text)
    full[("standard", "email", "uk")] = ("Весняні знижки", "Вітаємо! " + body["uk"])
    full[("standard", "email", "en")] = ("Spring sale", "Hello! " + body["en"])
    for lang, text in keep.items():
        full[("retention", "", lang)] = ("", text)
    limited = {
        (variant, channel, lang): words
        for (variant, channel, lang), words in full.items()
        if variant == "standard"
    }
    for lang, text in body.items():
        limited[("standard", "sms", lang)] = ("", text)
    limited = {key: words for key, words in limited.items() if key[1] in {"sms", "email"}}
    return Words(full), Words(limited)


def plan_promotion() -> tuple[int, float]:
    from forewarn.core import clock
    from forewarn.customers.models import Customer
    from forewarn.engage import policy
    from forewarn.engage.services.planning import Draft, current_rules, plan

    full, limited = promotion_words()
    intent = policy.Intent(
        topic="marketing",
        priority=50,
        allow_digest=True,
        dedup_key=PROMO_KEY,
        ttl=timedelta(hours=20),
        when_late="expire",
    )
    # What the words need besides the customer, whom the sender reads when it writes them.
    context = {"offer": {"percent": 15, "until": "31.03"}}
    ids = list(Customer.objects.filter(status="active").order_by("pk").values_list("pk", flat=True))
    ticker = Ticker("promotion", len(ids))
    decided = 0
    with clock.frozen_at(NOW):
        started, cpu = time.perf_counter(), time.process_time()
        rules = current_rules()
        for at in range(0, len(ids), CHUNK):
            chunk = ids[at : at + CHUNK]
            drafts = [
                Draft(
                    customer_id=pk,
                    intent=intent,
                    kind="spring-promo",
                    words=limited if pk % 10 == 0 else full,
                    context=context,
                )
                for pk in chunk
            ]
            decided += len(plan(drafts, now=NOW, rules=rules).ids)
            ticker(at + len(chunk))
        seconds = time.perf_counter() - started
    print(f"  (cpu {time.process_time() - cpu:.2f} s of {seconds:.2f} s)")
    return decided, seconds


def outcomes(first_id: int) -> None:
    """What the policy decided, per plan: statuses, reasons and variants."""
    from django.db.models import Count

    from forewarn.engage.models import Message

    rows = (
        Message.objects.filter(pk__gt=first_id)
        .values("kind", "status", "reason", "variant")
        .annotate(n=Count("pk"))
        .order_by("kind", "-n")
    )
    for row in rows:
        print(f"  {row['kind']:>13} {row['status']:>10} {row['reason']:<24} {row['variant']:<9} {row['n']}")
    bumped = Message.objects.filter(pk__lte=first_id, reason="bumped").count()
    moved = Message.objects.filter(pk__lte=first_id, trail__icontains="bumped").count()
    print(f"  earlier messages bumped by the promotion: {moved} (dropped: {bumped})")


def policy_only(customers: int) -> tuple[int, float]:
    """The pure policy's own pace: ``policy.decide`` for a notice and a promotion per customer, on views
    loaded beforehand (not timed), for up to 100,000 customers."""
    from forewarn.customers.models import Customer
    from forewarn.engage import policy
    from forewarn.engage.services.planning import current_rules, load_views

    notice = policy.Intent(topic="transactional", priority=90, dedup_key="incident:again", when_late="hold")
    promo = policy.Intent(
        topic="marketing", priority=50, allow_digest=True, dedup_key="promo:again", when_late="expire",
        ttl=timedelta(hours=20), has_retention_variant=True,
    )  # fmt: skip
    rules = current_rules()
    spent, decided = 0.0, 0
    every = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[: min(customers, 100_000)])
    for start in range(0, len(every), CHUNK):
        ids = every[start : start + CHUNK]
        views = list(load_views(ids, now=NOW, rules=rules, dedup_keys=set()).values())
        started = time.perf_counter()
        for view in views:
            policy.decide(view, notice, NOW, rules)
            policy.decide(view, promo, NOW, rules)
        spent += time.perf_counter() - started
        decided += 2 * len(views)
    return decided, spent


# -- the baseline -------------------------------------------------------------------------------------


def make_empty_copy() -> None:
    """An empty ``engage_message_raw`` with the indexes, unique and foreign keys of ``engage_message``."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
            cursor.execute(f"CREATE TABLE {RAW_TABLE} (LIKE engage_message INCLUDING ALL)")
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'engage_message'::regclass AND contype = 'f'"
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f'ALTER TABLE {RAW_TABLE} ADD CONSTRAINT "{name}_raw" {definition}')
            return
        cursor.execute(f'DROP TABLE IF EXISTS "{RAW_TABLE}"')
        cursor.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'engage_message' AND sql IS NOT NULL"
        )
        statements = cursor.fetchall()
        for kind, name, statement in sorted(statements, key=lambda row: row[0] != "table"):
            if kind == "table":
                # Only the table's own name: its self-reference (digest_into) keeps pointing at the original.
                copy = statement.replace('"engage_message"', f'"{RAW_TABLE}"', 1)
            else:
                copy = statement.replace(f'"{name}"', f'"{name}_raw"', 1)
                copy = re.sub(r'ON "engage_message"', f'ON "{RAW_TABLE}"', copy, count=1)
            cursor.execute(copy)


def raw_insert(first_id: int, last_id: int, method: str) -> tuple[int, float]:
    """Insert the plans' rows into the empty copy through the driver itself (sqlite3, or psycopg with
    server-side binding, whose ``executemany`` pipelines): one row per statement (``executemany``),
    many rows per statement (``multirow``), or, on PostgreSQL, one array per column (``unnest``, as the
    planner's own writer does). Returns (rows, seconds spent inserting)."""
    from django.db import connection, transaction

    from forewarn.engage.models import Message

    fields = Message._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    mark = "?" if connection.vendor == "sqlite" else "%s"
    marks = "(" + ", ".join([mark] * len(fields)) + ")"
    single = f"INSERT INTO {RAW_TABLE} ({columns}) VALUES {marks}"
    per_statement = max(1, MULTIROW_PARAMS // len(fields))
    types = [str(f.db_type(connection)).split("(")[0] for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {RAW_TABLE}")
    spent = 0.0
    rows = 0
    cursor_at = first_id
    while cursor_at < last_id:
        values = list(
            Message.objects.filter(pk__gt=cursor_at, pk__lte=last_id)
            .order_by("pk")
            .values_list(*[f.attname for f in fields])[:CHUNK]
        )
        if not values:
            break
        cursor_at = values[-1][0]
        prepared = [tuple(f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True))
                    for row in values]  # fmt: skip
        statements = []
        if method == "unnest":  # PostgreSQL: one statement, one array per column, sent in binary
            arrays = ", ".join(f"(%b)::{t}[]" for t in types)
            sql = f"INSERT INTO {RAW_TABLE} ({columns}) SELECT * FROM UNNEST({arrays})"
            statements.append((sql, [list(column) for column in zip(*prepared, strict=True)]))
        elif method == "multirow":
            for at in range(0, len(prepared), per_statement):
                part = prepared[at : at + per_statement]
                sql = f"INSERT INTO {RAW_TABLE} ({columns}) VALUES " + ", ".join([marks] * len(part))
                statements.append((sql, [v for row in part for v in row]))
        started = time.perf_counter()
        with transaction.atomic(), driver_cursor(connection) as cursor:
            if statements:
                for sql, params in statements:
                    cursor.execute(sql, params)
            else:
                cursor.executemany(single, prepared)
        spent += time.perf_counter() - started
        rows += len(prepared)
    return rows, spent


def driver_cursor(connection: Any) -> Any:
    """A cursor of the database driver, without Django's wrapper (PostgreSQL: server-side binding)."""
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        import psycopg

        return psycopg.Cursor(connection.connection)
    return closing(connection.connection.cursor())


# -- where the time goes -----------------------------------------------------------------------------

PHASES = (
    ("forewarn.engage.services.planning", "load_views"),
    ("forewarn.engage.policy", "decide"),
    ("forewarn.engage.services.planning", "_row"),
    ("forewarn.core.bulk", "Rows.prepare"),
    ("forewarn.core.bulk", "Rows.insert_returning_pks"),
    ("forewarn.engage.services.planning", "_move_bumped"),
    ("forewarn.engage.services.planning", "plan"),
)


def time_phases() -> dict[str, list[float]]:
    """Wrap the planner's phases in timers: {phase: [seconds, calls]}, filled as they run. Phases nest
    (``plan`` holds all the others, ``insert_returning_pks`` holds ``prepare``); a phase that calls itself
    (``plan`` through ``_move_bumped``) is timed once, from its outer call."""
    import functools
    import importlib

    spent: dict[str, list[float]] = {}
    for module_name, qualified in PHASES:
        owner: Any = importlib.import_module(module_name)
        *path, name = qualified.split(".")
        for part in path:
            owner = getattr(owner, part)
        inner = getattr(owner, name)
        into = spent[qualified] = [0.0, 0, 0]  # seconds, calls, depth

        def timer(*args: Any, _inner: Any = inner, _into: list[float] = into, **kw: Any) -> Any:
            _into[2] += 1
            started = time.perf_counter()
            try:
                return _inner(*args, **kw)
            finally:
                _into[2] -= 1
                if not _into[2]:
                    _into[0] += time.perf_counter() - started
                    _into[1] += 1

        wrapped = functools.wraps(inner)(timer)
        setattr(owner, name, wrapped)
        # Modules that imported the function by name call it through their own reference.
        for module in list(sys.modules.values()):
            if (
                getattr(module, "__name__", "").startswith("forewarn.")
                and getattr(module, name, None) is inner
            ):
                setattr(module, name, wrapped)
    return spent


def print_phases(spent: dict[str, list[float]]) -> None:
    total = spent["plan"][0] or 1.0
    for name, (seconds, calls, _depth) in spent.items():
        print(f"  phase {name:<26} {seconds:7.2f} s {seconds / total:6.1%} of plan, {calls:.0f} calls")


# -- the run ------------------------------------------------------------------------------------------


def start_profiler(args: argparse.Namespace) -> Any:
    if not args.profile:
        return None
    if args.profiler == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001)
        profiler.start()
        return profiler
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    return profiler


def stop_profiler(args: argparse.Namespace, profiler: Any) -> None:
    if args.profiler == "pyinstrument":
        profiler.stop()
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        Path(args.profile).write_text(text)
        print(f"profile: {args.profile}")
        return
    import pstats

    profiler.disable()
    profiler.dump_stats(args.profile)
    stats = pstats.Stats(args.profile)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats("forewarn", 40)


def run(args: argparse.Namespace) -> int:
    from django.db import connection
    from django.db.models import Max

    from forewarn.engage.models import Message

    print(f"broadcast: {describe_database()}", flush=True)
    print(f"source: {describe_source(*SOURCES)}", flush=True)
    started = time.perf_counter()
    population = populate(
        args.customers,
        now=NOW,
        seed=args.seed,
        bumps=not args.no_bumps,
        progress=Ticker("customers written", args.customers),
    )
    print(
        f"population: {args.customers} customers in {time.perf_counter() - started:.1f} s; "
        + ", ".join(f"{k}={v}" for k, v in sorted(population.counts.items())),
        flush=True,
    )
    first_id = Message.objects.aggregate(top=Max("pk"))["top"] or 0

    phases = time_phases() if args.phases else None
    profiler = start_profiler(args)
    notices, notice_seconds = plan_incident(args.customers)
    print(
        f"incident notice: {notices} decisions in {notice_seconds:.2f} s, {notices / notice_seconds:,.0f}/s",
        flush=True,
    )
    promos, promo_seconds = 0, 0.0
    if not args.skip_marketing:
        promos, promo_seconds = plan_promotion()
        print(
            f"promotion: {promos} decisions in {promo_seconds:.2f} s, {promos / promo_seconds:,.0f}/s",
            flush=True,
        )
    if profiler is not None:
        stop_profiler(args, profiler)
    if phases is not None:
        print_phases(phases)
    outcomes(first_id)
    decided, pure = policy_only(args.customers)
    print(f"policy only (decide on loaded views): {decided} in {pure:.2f} s, {decided / pure:,.0f}/s")

    last_id = Message.objects.aggregate(top=Max("pk"))["top"] or 0
    make_empty_copy()
    raw: dict[str, float] = {}
    methods = [m for m in args.raw_methods.split(",") if m != "unnest" or connection.vendor == "postgresql"]
    for method in methods:
        rows, raw[method] = raw_insert(first_id, last_id, method)
        print(f"raw insert ({method}): {rows} rows in {raw[method]:.2f} s, {rows / raw[method]:,.0f}/s")
    raw_seconds = min(raw.values())
    decisions = notices + promos
    planning = notice_seconds + promo_seconds
    print(
        f"broadcast: customers={args.customers} decisions_per_s={decisions / planning:.0f} "
        f"raw_insert_ratio={planning / raw_seconds:.2f}",
        flush=True,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch(args) as (url, work):
        setup_django(url, work)
        return run(args)


if __name__ == "__main__":
    sys.exit(main())
