"""What the engage benchmarks share: a scratch database, Django set up on it, and a population of customers.

The scratch database is a SQLite file in the run's temporary directory, or, when a PostgreSQL URL is given
(``--database-url`` or ``FOREWARN_DATABASE_URL``), a database of its own on that server (``--pg-name``),
created for the run and dropped after it. A database of that name that a benchmark did not make is left
alone.

The population is set-up, not measured, so it is written with ``bulk_create``: customers in three time
zones with varied quiet hours, preferred channels, identities (phones, emails, Telegram, Viber), consents
granted, denied and missing, risk signals, global unsubscribes and suppression-list entries, and a
history of messages recent enough for the frequency caps, digests and de-duplication keys to matter.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_COMMENT = "forewarn engage benchmark scratch database"
BATCH = 5000
ZONES = (("Europe/Kyiv", 85), ("America/New_York", 10), ("Asia/Almaty", 5))
QUIET = (
    ((wall(21), wall(9)), 55),
    ((wall(22), wall(8)), 15),
    ((wall(20), wall(8)), 12),
    ((wall(0), wall(0)), 10),  # none
    ((wall(23), wall(10)), 5),
    ((wall(13), wall(15)), 3),  # a night-shift worker sleeps after lunch
)
PREFERRED = (("sms", 40), ("email", 20), ("telegram", 20), ("viber", 5), ("", 15))
LANGUAGES = (("uk", 60), ("ru", 25), ("en", 15))
GIVEN = {
    "uk": ("Олена", "Тарас", "Ірина", "Максим", "Марія", "Олег", "Анна", "Іван", "Наталія", "Андрій"),
    "ru": ("Елена", "Сергей", "Ольга", "Дмитрий", "Татьяна", "Алексей"),
    "en": ("Anna", "John", "Maria", "Peter", "Kate", "David"),
}
FAMILY = {
    "uk": ("Коваленко", "Шевчук", "Бондар", "Ткаченко", "Мельник", "Кравченко", "Бойко", "Олійник"),
    "ru": ("Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов"),
    "en": ("Smith", "Brown", "Taylor", "Wilson", "Evans"),
}
CITIES = ("Київ", "Львів", "Одеса", "Дніпро", "Харків", "New York", "Алмати")
DISTRICTS = ("Podilskyi", "Pecherskyi", "Obolonskyi", "Shevchenkivskyi", "Darnytskyi")
PROMO_KEY = "promo:spring-2026"


def pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([value for value, _w in weighted], weights=[w for _v, w in weighted])[0]


# -- the database -------------------------------------------------------------------------------------


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://"))


def scratch_url(server_url: str, name: str, work: Path) -> str:
    """The URL of this run's database: ``name`` on the server in ``server_url``, or a SQLite file."""
    if not server_url:
        return f"sqlite:///{work / 'bench.sqlite3'}"
    if not is_postgres(server_url):
        raise SystemExit("--database-url: a postgres:// URL (SQLite is the default without one)")
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def prepare_postgres(url: str) -> None:
    """Make the database in ``url`` exist and be empty: create it, or drop and create an earlier one."""
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=5) as admin:
        found = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if found is not None and found[0] != BENCH_COMMENT:
            raise SystemExit(f"database {name!r} exists and a benchmark did not make it; pick another name")
        if found is not None:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(name), BENCH_COMMENT))


def drop_postgres(url: str) -> None:
    import psycopg
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def scratch(args: argparse.Namespace) -> Iterator[tuple[str, Path]]:
    """A temporary directory and a database of the run's own in it (a SQLite file, or on the PostgreSQL
    server of ``args.database_url`` the database ``args.pg_name``); both go at the end unless
    ``args.keep``. With ``args.reuse`` (where a benchmark offers it) a database kept by an earlier run is
    used as it is. Yields (database URL, directory)."""
    work = Path(tempfile.mkdtemp(prefix="forewarn-bench-"))
    url = scratch_url(args.database_url, args.pg_name, work)
    if is_postgres(url) and not getattr(args, "reuse", False):
        prepare_postgres(url)
    try:
        yield url, work
    finally:
        if args.keep:
            print(f"kept {work} ({url})", file=sys.stderr)
        else:
            if is_postgres(url):
                drop_postgres(url)
            shutil.rmtree(work, ignore_errors=True)


def add_profile_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--profile FILE`` and ``--profiler``, alike in every benchmark."""
    parser.add_argument("--profile", metavar="FILE", help=f"profile {what} into FILE")
    parser.add_argument(
        "--profiler",
        choices=("cprofile", "pyinstrument"),
        default="cprofile",
        help="cProfile (pstats file, top functions printed) or pyinstrument (text tree, if installed)",
    )


def setup_django(url: str, work: Path) -> None:
    """Point Forewarn at ``url``, set Django up and migrate."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "forewarn.settings"
    os.environ.setdefault("FOREWARN_DATA_DIR", str(work / "data"))
    os.environ["FOREWARN_DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def describe_source(*modules: str) -> str:
    """The commit checked out and a digest of the modules measured, as they are on disk now: the code
    under test changes while benchmarks run."""
    import hashlib
    from importlib.util import find_spec

    root = Path(__file__).resolve().parent.parent
    head = (root / ".git" / "HEAD").read_text().strip() if (root / ".git" / "HEAD").exists() else "?"
    if head.startswith("ref: "):
        ref = root / ".git" / head[5:]
        head = ref.read_text().strip() if ref.exists() else head[5:]
    digests = []
    for name in modules:
        spec = find_spec(name)
        if spec is not None and spec.origin:
            digest = hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()[:8]
            digests.append(f"{name.rsplit('.', 1)[-1]}.py={digest}")
    return f"HEAD {head[:10]}; " + ", ".join(digests)


def describe_database() -> str:
    from django.db import connection

    return f"{connection.vendor} {connection.settings_dict['NAME']}"


def analyze() -> None:
    """Fresh planner statistics, as a database that has been running a while has."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# -- the population -----------------------------------------------------------------------------------


@dataclass
class Population:
    customers: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    # Per customer: its phone (or ""), for benchmarks that address messages themselves.
    phones: dict[int, str] = field(default_factory=dict)


def _customer_rows(
    rng: random.Random, start: int, count: int, now: datetime
) -> Iterator[tuple[int, dict[str, Any]]]:
    for i in range(start, start + count):
        language = pick(rng, LANGUAGES)
        zone = pick(rng, ZONES)
        quiet_start, quiet_end = pick(rng, QUIET)
        attributes: dict[str, Any] = {"tenant": "bench", "district": rng.choice(DISTRICTS)}
        r = rng.random()
        if r < 0.05:
            attributes["churn_risk"] = True
        elif r < 0.07:
            attributes["open_complaints"] = 1
        elif r < 0.10:
            attributes["last_nps"] = rng.randint(0, 6)
            attributes["last_nps_at"] = (now - timedelta(days=rng.randint(1, 60))).isoformat()
        elif r < 0.12:
            attributes["last_nps"] = rng.randint(0, 6)  # long ago: forgiven
            attributes["last_nps_at"] = (now - timedelta(days=200)).isoformat()
        yield (
            i,
            {
                "given_name": rng.choice(GIVEN[language]),
                "family_name": rng.choice(FAMILY[language]),
                "city": "New York"
                if zone == "America/New_York"
                else ("Алмати" if zone == "Asia/Almaty" else rng.choice(CITIES[:5])),
                "language": language,
                "time_zone": zone,
                "quiet_hours_start": quiet_start,
                "quiet_hours_end": quiet_end,
                "preferred_channel": pick(rng, PREFERRED),
                "attributes": attributes,
            },
        )


@dataclass
class _Batch:
    """The rows of one batch of customers, in the order they are written."""

    now: datetime
    counts: Counter[str]
    identities: list[Any] = field(default_factory=list)
    consents: list[Any] = field(default_factory=list)
    suppressions: list[Any] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)

    def identity(self, cid: int, kind: str, value: str, *, primary: bool = True, age: int = 400) -> None:
        from forewarn.customers.models import Identity

        self.identities.append(
            Identity(customer_id=cid, kind=kind, value=value, is_primary=primary, source="import",
                     created_at=self.now - timedelta(days=age))
        )  # fmt: skip

    def consent(self, cid: int, topic: str, channel: str, status: str) -> None:
        from forewarn.customers.models import Consent

        self.consents.append(
            Consent(customer_id=cid, topic=topic, channel=channel, status=status, source="import",
                    updated_at=self.now - timedelta(days=100))
        )  # fmt: skip
        self.counts[f"consent {topic} {status}"] += 1

    def suppression(self, label: str, **fields: Any) -> None:
        from forewarn.engage.models import Suppression

        self.suppressions.append(Suppression(created_at=self.now, **fields))
        self.counts[f"suppression {label}"] += 1

    def message(
        self, cid: int, channels: dict[str, str], topic: str, status: str, at: datetime, **extra: Any
    ) -> None:
        from forewarn.engage.models import Message

        channel = extra.pop("channel", None) or next(iter(channels), "sms")
        self.messages.append(
            Message(customer_id=cid, kind=extra.pop("kind", "history"), topic=topic, status=status,
                    channel=channel, address=channels.get(channel, ""), body="…", planned_at=at,
                    send_after=at, sent_at=at if status == "sent" else None,
                    reason="sent" if status == "sent" else "ok", **extra)
        )  # fmt: skip
        self.counts[f"message {topic} {status}"] += 1


def _contacts(rng: random.Random, batch: _Batch, cid: int, i: int) -> dict[str, str]:
    """Identities for customer number ``i``; returns its address per channel."""
    channels: dict[str, str] = {}
    if rng.random() < 0.92:
        channels["sms"] = f"+38067{i:07d}"
        batch.identity(cid, "phone", channels["sms"])
        if rng.random() < 0.05:  # a second, older phone that is not the primary one
            batch.identity(cid, "phone", f"+38050{i:07d}", primary=False, age=401)
    if rng.random() < 0.6:
        channels["email"] = f"client{i}@ukr.net"
        batch.identity(cid, "email", channels["email"])
    if rng.random() < 0.3:
        channels["telegram"] = f"@client_{i}"
        batch.identity(cid, "telegram", channels["telegram"])
    if rng.random() < 0.1:
        channels["viber"] = f"v{i:09d}AAAA=="
        batch.identity(cid, "viber", channels["viber"])
    return channels


def _answers(rng: random.Random, batch: _Batch, cid: int, channels: dict[str, str], preferred: str) -> None:
    """Consents, unsubscribes and suppression-list entries."""
    r = rng.random()
    if r < 0.35:  # said yes to promotions on the preferred channel, some on email as well
        yes = {preferred or "sms"}
        if "email" in channels and rng.random() < 0.5:
            yes.add("email")
        for channel in sorted(yes):
            batch.consent(cid, "marketing", channel, "granted")
    elif r < 0.45:
        for channel in ("sms", "email", "telegram", "viber"):
            batch.consent(cid, "marketing", channel, "denied")
    # else: never asked, which for promotions means no
    if rng.random() < 0.03:
        batch.consent(cid, "transactional", "sms", "denied")
    if rng.random() < 0.05 and preferred:
        batch.consent(cid, "service", preferred, "denied")
    r = rng.random()
    if r < 0.01:
        scope = rng.choice(("marketing", "non_transactional", "everything"))
        batch.suppression(scope, customer_id=cid, scope=scope, reason="unsubscribed")
    elif r < 0.015 and "sms" in channels:
        batch.suppression(
            "list sms", channel="sms", address=channels["sms"], scope="everything", reason="carrier_blocklist"
        )
    elif r < 0.017 and "email" in channels:
        batch.suppression("list any", address=channels["email"], scope="everything", reason="bounced")


def _history(
    rng: random.Random,
    batch: _Batch,
    cid: int,
    channels: dict[str, str],
    preferred: str,
    *,
    old: bool,
    bumps: bool,
) -> None:
    """Messages said or waiting, recent enough for caps, digests, bumps and de-duplication to matter."""
    now = batch.now
    if old and rng.random() < 0.5:
        batch.message(cid, channels, "transactional", "sent", now - timedelta(days=rng.randint(40, 120)))
    r = rng.random()
    if r < 0.20:  # a promotion yesterday evening or this morning: the daily cap bites
        batch.message(cid, channels, "marketing", "sent", now - timedelta(hours=rng.uniform(1, 23)))
    elif r < 0.23:  # three service notes this week: the weekly cap bites
        for _ in range(3):
            batch.message(cid, channels, "service", "sent", now - timedelta(days=rng.uniform(0.5, 6.5)))
    elif r < 0.25:  # a less important promotion waiting: it gives up its place
        if not bumps:
            return
        batch.message(
            cid, channels, "marketing", "queued", now + timedelta(hours=1), priority=20, kind="weekly-digest"
        )
    elif r < 0.26:  # a more important one waiting: ours waits for the next slot
        batch.message(
            cid, channels, "marketing", "queued", now + timedelta(hours=2), priority=80, kind="flash-sale"
        )
    elif r < 0.28:  # a note about to go that a promotion can join
        batch.message(
            cid, channels, "service", "queued", now + timedelta(minutes=5), allow_digest=True,
            channel=preferred or None, kind="bonus-points",
        )  # fmt: skip
    elif r < 0.29:  # this very promotion was sent already
        batch.message(
            cid, channels, "marketing", "sent", now - timedelta(days=3), dedup_key=PROMO_KEY, kind="spring"
        )


def populate(
    customers: int,
    *,
    now: datetime,
    seed: int = 20260310,
    history: bool = True,
    messages: bool = True,
    bumps: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Population:
    """``customers`` people with everything the contact policy looks at, written with ``bulk_create``;
    ``messages=False`` leaves out their messages, ``history=False`` only the old ones, ``bumps=False``
    the queued promotions of low priority that a new promotion takes the place of."""
    from forewarn.customers.models import Consent, Customer, Identity
    from forewarn.engage.models import Message, Suppression

    rng = random.Random(seed)
    found = Population(customers=customers)
    for start in range(0, customers, BATCH):
        rows = list(_customer_rows(rng, start, min(BATCH, customers - start), now))
        made = Customer.objects.bulk_create(
            [
                Customer(
                    **fields,
                    search_text=f"{fields['given_name']} {fields['family_name']}".casefold(),
                    created_at=now - timedelta(days=400),
                    updated_at=now - timedelta(days=30),
                )
                for _i, fields in rows
            ],
            batch_size=BATCH,
        )
        batch = _Batch(now, found.counts)
        for (i, fields), customer in zip(rows, made, strict=True):
            cid, preferred = customer.pk, fields["preferred_channel"]
            channels = _contacts(rng, batch, cid, i)
            found.phones[cid] = channels.get("sms", "")
            _answers(rng, batch, cid, channels, preferred)
            if messages:
                _history(rng, batch, cid, channels, preferred, old=history, bumps=bumps)
        Identity.objects.bulk_create(batch.identities, batch_size=BATCH)
        Consent.objects.bulk_create(batch.consents, batch_size=BATCH)
        Suppression.objects.bulk_create(batch.suppressions, batch_size=BATCH)
        Message.objects.bulk_create(batch.messages, batch_size=BATCH)
        found.counts["identities"] += len(batch.identities)
        if progress:
            progress(start + len(rows))
    return found


class Ticker:
    """Prints ``label done/total, rate/s`` at most every ``every`` seconds (and at the end)."""

    def __init__(self, label: str, total: int, every: float = 5.0) -> None:
        self.label, self.total, self.every = label, total, every
        self.started = self.last = time.perf_counter()

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last >= self.every or done >= self.total:
            self.last = now
            rate = done / max(now - self.started, 1e-9)
            print(f"  {self.label} {done}/{self.total}, {rate:,.0f}/s", flush=True)


# -- the server ---------------------------------------------------------------------------------------

PYTHON = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "python"
HOST = "127.0.0.1"
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Detected|Violation|Conflict)\b.*")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """``forewarn serve --no-worker`` in its own process group, so that stopping it stops its children."""

    def __init__(
        self,
        env: dict[str, str],
        work: Path,
        extra: list[str] | None = None,
        *,
        python: Path = PYTHON,
        name: str = "serve",
    ) -> None:
        """``python``: another checkout's interpreter serves that checkout's code (an A/B run)."""
        self.port = free_port()
        self.log_path = work / f"{name}.log"
        self.log = self.log_path.open("wb")
        command = [str(python), "-m", "forewarn.cli", "serve", "--no-worker", "--host", HOST]
        command += ["--port", str(self.port), *(extra or [])]
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = f"http://{HOST}:{self.port}"

    def wait_healthy(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"the server did not answer /health in {timeout:.1f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def tracebacks(self) -> int:
        return self.log_path.read_text(encoding="utf-8", errors="replace").count("Traceback")

    def errors(self) -> Counter[str]:
        """The exceptions the server logged (their last line, the message cut short), with counts."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return Counter(line.strip()[:240] for line in text.splitlines() if EXCEPTION_LINE.match(line.strip()))

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.log.close()
