"""Outbox throughput with a deep queue: does a backlog of queued messages slow the sender down?

Builds a fresh database with a few thousand customers (see ``benchdb.populate``: consents, unsubscribes
and suppression lists, which the sender checks again at send time), then, in the same run:

1. puts ``--sends`` messages that are due now in an otherwise empty queue and sends them with the real
   sender's steps (``outbox.claim_due_messages`` and ``outbox.deliver``: claim under a lease, send-time
   checks, words, the local provider, which records every delivery in its own table, and the final
   mark; ``--loop dispatch`` runs the whole ``outbox.dispatch_once`` instead), timing the whole drain;
2. adds a backlog of N queued messages (``--due-fraction`` of them due already, the rest due in the
   next week), prints the query plans of the claim queries (they should use the partial indexes
   ``message_due_idx`` and ``message_lease_idx``), and sends ``--sends`` messages again with the backlog
   in place.

The last line reads ``outbox: backlog=N sends_per_s=X empty_queue_ratio=Y``: X is the pace with the
backlog, Y that pace over the pace with the empty queue (1.0: the backlog costs nothing).

    python bench/outbox.py                                   # a backlog of 100,000 on a SQLite file
    python bench/outbox.py --backlog 1000000
    FOREWARN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/forewarn python bench/outbox.py
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from benchdb import (
    Ticker,
    analyze,
    describe_database,
    describe_source,
    is_postgres,
    populate,
    scratch,
    setup_django,
)

INSERT_BATCH = 5000


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backlog", type=int, default=100_000, help="queued messages in the backlog")
    parser.add_argument("--sends", type=int, default=5000, help="messages sent in each measurement")
    parser.add_argument("--batch", type=int, default=100, help="messages claimed per round")
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument(
        "--loop",
        choices=("claim", "dispatch"),
        default="claim",
        help="claim_due_messages + deliver per round (default), or the whole outbox.dispatch_once",
    )
    parser.add_argument("--due-fraction", type=float, default=0.5, help="share of the backlog due now")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FOREWARN_DATABASE_URL", ""),
        help="a PostgreSQL server to use (default: FOREWARN_DATABASE_URL, else a SQLite file)",
    )
    parser.add_argument("--pg-name", default="forewarn_bench_outbox", help="the scratch database's name")
    parser.add_argument("--seed", type=int, default=20260310)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and database")
    return parser.parse_args(argv)


class Queue:
    """Makes outbox rows for customers who have a phone: notices and service notes, on SMS."""

    def __init__(self, phones: dict[int, str], seed: int) -> None:
        self.people = [(cid, phone) for cid, phone in phones.items() if phone]
        self.rng = random.Random(seed)

    def add(self, count: int, *, now: datetime, due: bool, label: str) -> None:
        from forewarn.engage.models import Message

        ticker = Ticker(label, count)
        made = 0
        while made < count:
            rows = []
            for _ in range(min(INSERT_BATCH, count - made)):
                cid, phone = self.rng.choice(self.people)
                if due:
                    at = now - timedelta(seconds=self.rng.uniform(1, 3600))
                else:
                    at = now + timedelta(seconds=self.rng.uniform(3600, 7 * 86400))
                topic = "transactional" if self.rng.random() < 0.7 else "service"
                rows.append(
                    Message(customer_id=cid, kind="bench", topic=topic, channel="sms", address=phone,
                            body="Світло відновлено о 14:30. Дякуємо за терпіння.", language="uk",
                            context={"customer": {"first_name": "Олена"}}, reason="ok",
                            trail=[["dedup", "pass", "", ""], ["ttl", "pass", "", ""]],
                            planned_at=at - timedelta(minutes=1), send_after=at, status="queued")
                )  # fmt: skip
            Message.objects.bulk_create(rows, batch_size=INSERT_BATCH)
            made += len(rows)
            ticker(made)


def statuses() -> Counter[str]:
    from django.db.models import Count

    from forewarn.engage.models import Message

    rows = Message.objects.filter(kind="bench").values("status").annotate(n=Count("pk"))
    return Counter({row["status"]: row["n"] for row in rows})


def one_round(limit: int) -> int:
    """What ``dispatch_once`` does, without its guard around each message: claim a batch, deliver it."""
    from forewarn.core import clock
    from forewarn.engage.services.outbox import claim_due_messages, deliver

    claimed = claim_due_messages(now=clock.now(), limit=limit)
    for message in claimed:
        deliver(message, now=clock.now())
    return len(claimed)


def drain(sends: int, batch: int, loop: str) -> tuple[int, float, dict[str, int]]:
    """Run the sender loop until ``sends`` messages are handled; returns (handled, seconds, outcomes)."""
    from forewarn.engage.services.outbox import dispatch_once

    step = one_round if loop == "claim" else (lambda limit: dispatch_once(limit=limit))
    before = statuses()
    ticker = Ticker("handled", sends)
    handled = 0
    started, cpu = time.perf_counter(), time.process_time()
    while handled < sends:
        done = step(min(batch, sends - handled))
        if not done:
            break
        handled += done
        ticker(handled)
    seconds = time.perf_counter() - started
    print(f"  (cpu {time.process_time() - cpu:.2f} s of {seconds:.2f} s)", flush=True)
    after = statuses()
    outcome = {status: after[status] - before[status] for status in after if status != "queued"}
    return handled, seconds, {k: v for k, v in outcome.items() if v}


def explain(now: datetime, limit: int) -> None:
    """The query plans of the sender's claim queries as they run now."""
    from django.db import transaction

    from forewarn.engage.models import Message, MessageStatus, Suppression

    due = (
        Message.objects.select_for_update(skip_locked=True)
        .filter(status=MessageStatus.QUEUED, send_after__lte=now)
        .order_by("send_after")
        .values_list("pk", flat=True)[:limit]
    )
    lapsed = (
        Message.objects.select_for_update(skip_locked=True)
        .filter(status=MessageStatus.SENDING, lease_until__lt=now)
        .values_list("pk", flat=True)[:limit]
    )
    # As send_time_block asks it (.exists(): no ordering, one row).
    listed = Suppression.objects.filter(customer__isnull=True, address="+380670000001").order_by()[:1]
    options: dict[str, Any] = {}
    from django.db import connection

    if connection.vendor == "postgresql":
        options = {"analyze": True, "buffers": True}
    for label, query in (
        ("claim due (message_due_idx)", due),
        ("claim lapsed leases (message_lease_idx)", lapsed),
        ("send-time check of the suppression list", listed),
    ):
        with transaction.atomic():
            plan = query.explain(**options)
        print(f"EXPLAIN {label}:\n    " + plan.replace("\n", "\n    "), flush=True)


def run(args: argparse.Namespace) -> int:
    from django.db.models import Count

    from forewarn.core import clock
    from forewarn.engage.models import Message

    print(f"outbox: {describe_database()}", flush=True)
    source = describe_source(
        "forewarn.engage.services.outbox",
        "forewarn.engage.services.words",
        "forewarn.channels.providers.local",
    )
    print(f"source: {source}")
    now = clock.now()
    population = populate(args.customers, now=now, seed=args.seed, messages=False)
    queue = Queue(population.phones, args.seed)
    print(f"population: {args.customers} customers", flush=True)

    queue.add(args.sends, now=clock.now(), due=True, label="queued (empty queue)")
    if is_postgres(os.environ["FOREWARN_DATABASE_URL"]):
        analyze()
    empty_handled, empty_seconds, outcome = drain(args.sends, args.batch, args.loop)
    empty_rate = empty_handled / empty_seconds
    print(
        f"empty queue: {empty_handled} handled in {empty_seconds:.2f} s, {empty_rate:,.0f}/s; {outcome}",
        flush=True,
    )

    due = round(args.backlog * args.due_fraction)
    queue.add(due, now=clock.now(), due=True, label="backlog due")
    queue.add(args.backlog - due, now=clock.now(), due=False, label="backlog not due")
    depth = {row["status"]: row["n"] for row in Message.objects.values("status").annotate(n=Count("pk"))}
    print(f"queue: {depth}", flush=True)
    explain(clock.now(), args.batch)
    if is_postgres(os.environ["FOREWARN_DATABASE_URL"]):
        analyze()  # what autovacuum does after a load this size
        print("after ANALYZE:")
        explain(clock.now(), args.batch)
    handled, seconds, outcome = drain(args.sends, args.batch, args.loop)
    rate = handled / seconds
    print(
        f"backlog of {args.backlog}: {handled} handled in {seconds:.2f} s, {rate:,.0f}/s; {outcome}",
        flush=True,
    )
    print(
        f"outbox: backlog={args.backlog} sends_per_s={rate:.0f} empty_queue_ratio={rate / empty_rate:.2f}",
        flush=True,
    )
    return 0 if handled == args.sends and empty_handled == args.sends else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch(args) as (url, work):
        setup_django(url, work)
        return run(args)


if __name__ == "__main__":
    sys.exit(main())
