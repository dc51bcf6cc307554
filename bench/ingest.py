"""Event ingestion over HTTP: ``POST /api/v1/events`` against the real server, batches from several clients.

Builds a fresh database (see ``benchdb``: a SQLite file in a temporary directory, or, with
``FOREWARN_DATABASE_URL``/``--database-url``, a PostgreSQL database of its own created for the run and
dropped after it), migrates it with ``forewarn migrate``, writes N customers with phones, external (CRM)
ids, consents, suppressions and a recent message history (``benchdb.populate``), sets up the five demo
journeys (``engage.demo.ensure_triggers``) and an admin's API token, then starts ``forewarn serve
--no-worker`` (no task worker, no outbox sender: only ingestion is measured) on a free port and sends
``--events`` journey events in batches of ``--batch`` from ``--clients`` threads, each with its own
keep-alive connection. The mix: products viewed (often the same product by the same person, so the "viewed
three times" history condition fires), orders shipped, bills issued (two triggers, one of them a wait) and
paid (cancelling the reminder), flights delayed, passwords expiring; customers named by phone in several
formats or by external id; every event id unique. A few small batches warm the server up first and are
not counted. Each answer is checked (every event accepted, none duplicate or rejected), and so is what was
stored; exceptions in the server's log are reported too, each as a ``PROBLEM:`` line.

After the server stops, one more batch goes through the same view in-process (Django's test client, so
authentication, parsing and the service all count) with its statements counted and grouped by shape
(statements a bulk writer sends through the driver's own cursor are not seen); ``--profile FILE``
profiles ``--profile-batches`` such batches.

The last line reads ``ingest: events=N events_per_s=X p99_ms=Z``: X is the events accepted over the wall
time from the first request sent to the last answer read, Z the 99th percentile (nearest rank) of one
batch request's latency.

    python bench/ingest.py                                  # 20,000 events on a fresh SQLite file
    python bench/ingest.py --events 50000 --clients 4 --workers 2
    FOREWARN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/forewarn python bench/ingest.py
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchdb import (
    Server,
    Ticker,
    add_profile_options,
    analyze,
    describe_database,
    is_postgres,
    populate,
    scratch,
)

ROOT = Path(__file__).resolve().parent.parent
FOREWARN = ROOT / ".venv" / "bin" / "forewarn"
HOST = "127.0.0.1"
# The last line of a traceback: "psycopg.errors.DeadlockDetected: deadlock detected".
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Detected|Violation|Conflict)\b.*")
BENCH_USER = "bench-ingest"
# Each event type: the system it comes from, and how often, by weight
MIX = {
    "product_viewed": ("web", 35),
    "order_shipped": ("shop", 20),
    "bill_issued": ("billing", 14),
    "payment_received": ("billing", 6),
    "flight_delayed": ("airline", 12),
    "password_expiring": ("identity", 13),
}
SKUS = (("TV-55-OLED", "OLED TV 55"), ("PHONE-X2", "Phone X2"), ("KETTLE-S", "Smart kettle"))
CARRIERS = ("Нова пошта", "Укрпошта", "Meest")


def default_events() -> int:
    return int(os.environ.get("BENCH_EVENTS", "20000"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=default_events(), help="events to send (measured)")
    parser.add_argument("--batch", type=int, default=1000, help="events per request (at most 1,000)")
    parser.add_argument("--clients", type=int, default=2, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=1, help="web worker processes of forewarn serve")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FOREWARN_DATABASE_URL", ""),
        help="a PostgreSQL server to use (default: FOREWARN_DATABASE_URL, else a SQLite file)",
    )
    parser.add_argument("--pg-name", default="forewarn_bench_ingest", help="the scratch database's name")
    parser.add_argument("--seed", type=int, default=20260310)
    parser.add_argument("--startup-timeout", type=float, default=90.0, help="seconds to wait for /health")
    parser.add_argument("--request-timeout", type=float, default=120.0, help="seconds for one request")
    parser.add_argument(
        "--deadline", type=float, default=900.0, help="seconds for all requests; clients stop after it"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and database")
    add_profile_options(parser, "in-process batches")
    parser.add_argument("--profile-batches", type=int, default=3, help="batches to profile in-process")
    args = parser.parse_args(argv)
    if not 1 <= args.batch <= 1000:
        parser.error("--batch: 1 to 1,000")
    if args.clients < 1 or args.workers < 1 or args.events < 1:
        parser.error("--events, --clients and --workers must be positive")
    return args


# -- the events ---------------------------------------------------------------------------------------


@dataclass
class Who:
    customer_id: int
    phone: str  # E.164, or "" for a customer without a phone
    external: str


def phone_as_written(rng: random.Random, e164: str) -> str:
    """A Ukrainian number as a source system might write it."""
    digits = e164.removeprefix("+380")
    r = rng.random()
    if r < 0.5:
        return e164
    if r < 0.8:
        return "0" + digits
    return f"+380 {digits[:2]} {digits[2:5]} {digits[5:7]} {digits[7:]}"


@dataclass
class EventMaker:
    """Journey events with unique ids, for customers named by phone or external id."""

    rng: random.Random
    people: list[Who]
    tag: str
    now: datetime
    serial: int = 0
    bills: list[tuple[Who, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.types = list(MIX)
        self.weights = [w for _s, w in MIX.values()]
        # Browsing is concentrated: a tenth of the customers look at three products, again and again.
        self.browsers = self.rng.sample(self.people, max(1, len(self.people) // 20))

    def reference(self, who: Who) -> dict[str, str]:
        if who.phone and self.rng.random() < 0.7:
            return {"phone": phone_as_written(self.rng, who.phone)}
        return {"external_id": who.external}

    def at(self, most: timedelta) -> str:
        return (self.now - most * self.rng.random()).isoformat()

    def one(self) -> dict[str, Any]:
        self.serial += 1
        n, rng = self.serial, self.rng
        kind = rng.choices(self.types, weights=self.weights)[0]
        if kind == "payment_received" and not self.bills:
            kind = "bill_issued"
        who = rng.choice(self.people)
        occurred = self.at(timedelta(hours=6))
        payload: dict[str, Any]
        if kind == "product_viewed":
            who = rng.choice(self.browsers)
            sku, name = rng.choice(SKUS)
            payload, occurred = {"sku": sku, "name": name}, self.at(timedelta(days=3))
        elif kind == "order_shipped":
            payload = {
                "order_id": f"{self.tag}-{n}",
                "carrier": rng.choice(CARRIERS),
                "tracking": f"2045{rng.randrange(10**10):010d}",
            }
        elif kind == "bill_issued":
            bill = f"B-{self.tag}-{n}"
            self.bills.append((who, bill))
            payload = {
                "bill_id": bill,
                "amount": rng.choice([189.5, 250, 389.5, 512]),
                "plan_fee": 250,
                "period": "листопад 2026",
                "due_date": "05.12.2026",
            }
            occurred = self.at(timedelta(hours=12))
        elif kind == "payment_received":
            who, bill = self.bills.pop(rng.randrange(len(self.bills)))
            payload, occurred = {"bill_id": bill}, self.now.isoformat()
        elif kind == "flight_delayed":
            delay = rng.choice([10, 25, 35, 35, 50, 90, 120])
            payload = {
                "flight": f"PS{rng.randrange(100, 1000)}",
                "date": self.now.date().isoformat(),
                "delay_minutes": delay,
                "new_departure": (self.now + timedelta(minutes=delay + 40)).isoformat(),
            }
            occurred = self.at(timedelta(minutes=10))
        else:  # password_expiring
            days = rng.randint(1, 7)
            payload = {"days_left": days, "expires_on": (self.now + timedelta(days=days)).date().isoformat()}
        return {
            "source": MIX[kind][0],
            "id": f"{self.tag}-{n}",
            "type": kind,
            "occurred_at": occurred,
            "customer": self.reference(who),
            "payload": payload,
        }

    def batch(self, size: int) -> list[dict[str, Any]]:
        return [self.one() for _ in range(size)]


def body_of(events: list[dict[str, Any]]) -> bytes:
    return json.dumps({"events": events}, ensure_ascii=False).encode()


# -- set-up -------------------------------------------------------------------------------------------


def forewarn_env(url: str, work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FOREWARN_DATA_DIR=str(work / "data"),
        FOREWARN_DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="forewarn.settings",
        FOREWARN_LOG_LEVEL="WARNING",
        FOREWARN_DEBUG="false",
    )
    return env


def migrate(env: dict[str, str]) -> None:
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own command
        [str(FOREWARN), "migrate"], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"forewarn migrate failed ({done.returncode})")
    print(f"migrated in {time.perf_counter() - started:.1f} s", flush=True)


def prepare(args: argparse.Namespace, url: str) -> tuple[list[Who], str]:
    """Customers, triggers and a token; returns who may be named in events, and the token's secret."""
    import django

    django.setup()
    from django.db import connections

    from forewarn.accounts.actors import Actor
    from forewarn.accounts.services import create_staff_user, issue_token
    from forewarn.core import clock
    from forewarn.customers.models import Identity
    from forewarn.engage.demo import ensure_triggers

    print(f"ingest: {describe_database()}", flush=True)
    started = time.perf_counter()
    population = populate(
        args.customers, now=clock.now(), seed=args.seed, progress=Ticker("customers written", args.customers)
    )
    people = [Who(cid, phone, f"CRM-{cid:08d}") for cid, phone in sorted(population.phones.items())]
    created = clock.now() - timedelta(days=400)
    for start in range(0, len(people), 5000):
        Identity.objects.bulk_create(
            Identity(customer_id=w.customer_id, kind="external", value=w.external, is_primary=True,
                     source="import", created_at=created)
            for w in people[start : start + 5000]
        )  # fmt: skip
    print(
        f"population: {len(people)} customers ({sum(1 for w in people if w.phone)} with a phone, all with "
        f"an external id) in {time.perf_counter() - started:.1f} s; "
        + ", ".join(f"{k}={v}" for k, v in sorted(population.counts.items())),
        flush=True,
    )
    ensure_triggers()
    system = Actor.system("bench")
    user = create_staff_user(
        actor=system, username=BENCH_USER, password=secrets.token_urlsafe(24), role="admin"
    )
    _token, secret = issue_token(actor=system, user=user, name="ingest benchmark")
    if is_postgres(url):
        analyze()  # as autovacuum would have done on a database that has been running a while
    connections.close_all()
    return people, secret


# -- the server ---------------------------------------------------------------------------------------


# -- the load -----------------------------------------------------------------------------------------


@dataclass
class Answer:
    latency: float
    status: int
    sent: int
    counts: dict[str, int]
    problem: str = ""


def check_answer(response: Any, sent: int) -> tuple[dict[str, int], str]:
    if response.status_code != 200:
        return {}, f"HTTP {response.status_code}: {response.text[:300]}"
    data = response.json()
    counts = {k: int(data.get(k, -1)) for k in ("accepted", "duplicates", "rejected")}
    results = data.get("results", [])
    if counts["accepted"] != sent or counts["duplicates"] or counts["rejected"] or len(results) != sent:
        bad = [r for r in results if r.get("status") != "accepted"][:3]
        return (
            counts,
            f"{counts} for {sent} events; first not accepted: {json.dumps(bad, ensure_ascii=False)}",
        )
    return counts, ""


def drive(
    url: str, secret: str, bodies: list[tuple[int, bytes]], *, clients: int, timeout: float, deadline: float
) -> tuple[list[Answer], float]:
    """Send every body once from ``clients`` threads; returns the answers and the wall time."""
    import httpx

    answers: list[Answer] = []
    lock = threading.Lock()
    queue = iter(bodies)
    stop_at = time.monotonic() + deadline
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def client() -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=httpx.Timeout(timeout, connect=10)) as http:
            while time.monotonic() < stop_at:
                with lock:
                    item = next(queue, None)
                if item is None:
                    return
                sent, body = item
                started = time.perf_counter()
                try:
                    response = http.post("/api/v1/events", content=body)
                    latency = time.perf_counter() - started
                    counts, problem = check_answer(response, sent)
                    answer = Answer(latency, response.status_code, sent, counts, problem)
                except httpx.HTTPError as exc:
                    answer = Answer(
                        time.perf_counter() - started, 0, sent, {}, f"{type(exc).__name__}: {exc}"
                    )
                with lock:
                    answers.append(answer)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, stop_at - time.monotonic()) + timeout + 5)
    return answers, time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value at or above ``share`` of them."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else 0.0


# -- after the run ------------------------------------------------------------------------------------


def outcomes(tag: str) -> tuple[int, Counter[str]]:
    """Events stored from the measured run, and the messages they led to by status."""
    from django.db.models import Count

    from forewarn.engage.models import Event, Message

    stored = Event.objects.filter(external_id__startswith=f"{tag}-").count()
    by_status = Counter(
        {
            f"{row['kind']}:{row['status']}": row["n"]
            for row in Message.objects.filter(event__isnull=False)
            .values("kind", "status")
            .annotate(n=Count("id"))
        }
    )
    return stored, by_status


SHAPE = re.compile(r"'[^']*'|\b\d+(\.\d+)?\b|%s|\?")


def shape_of(sql: str) -> str:
    """A query with its literals and placeholders taken out, and IN lists folded, to group by."""
    text = SHAPE.sub("?", sql)
    text = re.sub(r"\(\s*\?(\s*,\s*\?)*\s*\)", "(…)", text)
    text = re.sub(r"(\(…\)\s*,\s*)+\(…\)", "(…)…", text)
    return text[:150]


def in_process(args: argparse.Namespace, maker: EventMaker, secret: str) -> list[str]:
    """One batch through the view in-process, with its queries counted; then, if asked, a profile."""
    from django.db import connection
    from django.test import Client

    problems: list[str] = []
    http = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {secret}")

    def post(events: list[dict[str, Any]]) -> None:
        response = http.post("/api/v1/events", data=body_of(events), content_type="application/json")
        _counts, problem = check_answer(response, len(events))
        if problem:
            problems.append(f"in-process: {problem}")

    post(maker.batch(args.batch))  # a batch to warm this process up, not counted
    events = maker.batch(args.batch)
    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    # An execute wrapper rather than CaptureQueriesContext, which turns Django's debug cursor on and so
    # runs another code path (the one that formats each statement with its parameters).
    with connection.execute_wrapper(record):
        started = time.perf_counter()
        post(events)
        seconds = time.perf_counter() - started
    shapes = Counter(shape_of(sql) for sql in statements)
    print(
        f"in-process: 1 batch of {len(events)} events in {seconds * 1000:.0f} ms, {len(statements)} "
        f"statements through Django's cursor ({len(shapes)} shapes); the most frequent:",
        flush=True,
    )
    for text, times in shapes.most_common(8):
        print(f"  {times:6d} x {text}")
    if args.profile:
        profile_batches(args, [maker.batch(args.batch) for _ in range(args.profile_batches)], post)
    return problems


def profile_batches(args: argparse.Namespace, batches: list[list[dict[str, Any]]], post: Any) -> None:
    started = time.perf_counter()
    if args.profiler == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        for events in batches:
            post(events)
        profiler.stop()
        Path(args.profile).write_text(profiler.output_text(unicode=True, show_all=False), encoding="utf-8")
    else:
        import cProfile
        import pstats

        cprofile = cProfile.Profile()
        cprofile.enable()
        for events in batches:
            post(events)
        cprofile.disable()
        cprofile.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(30)
    print(
        f"profile: {len(batches)} batches in {time.perf_counter() - started:.2f} s (under the profiler) "
        f"written to {args.profile}",
        flush=True,
    )


# -- the run ------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, url: str, work: Path) -> int:
    env = forewarn_env(url, work)
    os.environ.update({k: env[k] for k in ("FOREWARN_DATA_DIR", "FOREWARN_DATABASE_URL",
                                          "DJANGO_SETTINGS_MODULE", "FOREWARN_LOG_LEVEL")})  # fmt: skip
    migrate(env)
    people, secret = prepare(args, url)

    rng = random.Random(args.seed)
    tag = f"b{int(time.time())}"
    maker = EventMaker(rng, people, tag, datetime.now(UTC))
    warm = EventMaker(random.Random(args.seed + 1), people, f"warm{tag}", maker.now)
    sizes = [min(args.batch, args.events - start) for start in range(0, args.events, args.batch)]
    bodies = [(size, body_of(maker.batch(size))) for size in sizes]
    warmup = [(20, body_of(warm.batch(20))) for _ in range(2 * max(args.clients, args.workers))]
    print(
        f"events: {args.events} in {len(bodies)} requests of up to {args.batch} "
        f"({sum(len(b) for _n, b in bodies) / len(bodies) / 1024:.0f} KiB each), {args.clients} clients, "
        f"{args.workers} server worker(s)",
        flush=True,
    )

    problems: list[str] = []
    load = {"clients": args.clients, "timeout": args.request_timeout, "deadline": args.deadline}
    server = Server(env, work, ["--workers", str(args.workers)])
    try:
        started = time.perf_counter()
        server.wait_healthy(args.startup_timeout)
        print(f"server up on {server.url} in {time.perf_counter() - started:.1f} s", flush=True)
        answers, _warm_seconds = drive(server.url, secret, warmup, **load)
        problems += [f"warm-up: {a.problem}" for a in answers if a.problem]
        answers, seconds = drive(server.url, secret, bodies, **load)
    finally:
        server.stop()
    problems += [f"server log ({count}x): {line}" for line, count in server.errors().most_common(5)]
    problems += [a.problem for a in answers if a.problem]
    if len(answers) != len(bodies):
        problems.append(f"{len(bodies) - len(answers)} requests were not sent before the deadline")
    latencies = [a.latency for a in answers]
    accepted = sum(a.counts.get("accepted", 0) for a in answers)
    p50, p90, top = (percentile(latencies, share) * 1000 for share in (0.5, 0.9, 1.0))
    print(
        f"requests: {len(answers)} in {seconds:.2f} s; latency ms p50={p50:.0f} p90={p90:.0f} max={top:.0f}; "
        f"accepted {accepted} of {args.events}",
        flush=True,
    )

    stored, by_status = outcomes(tag)
    print(f"stored: {stored} events; messages from events: " + ", ".join(
        f"{k}={v}" for k, v in sorted(by_status.items())), flush=True)  # fmt: skip
    if stored != args.events:
        problems.append(f"{stored} events stored for {args.events} sent")
    problems += in_process(args, maker, secret)

    repeated = Counter(problems)
    for problem, count in list(repeated.items())[:20]:
        print(f"PROBLEM: {problem}" + (f" ({count} times)" if count > 1 else ""))
    if len(repeated) > 20:
        print(f"PROBLEM: … and {len(repeated) - 20} more")
    p99 = percentile(latencies, 0.99) * 1000
    print(f"ingest: events={args.events} events_per_s={accepted / seconds:.0f} p99_ms={p99:.0f}", flush=True)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not FOREWARN.exists():
        raise SystemExit(f"{FOREWARN} is missing: run make install first")
    with scratch(args) as (url, work):
        return run(args, url, work)


if __name__ == "__main__":
    sys.exit(main())
