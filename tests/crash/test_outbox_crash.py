"""The outbox survives senders killed at random: every message goes, and the provider keeps one of each.

A database of the test's own (a SQLite file, or a PostgreSQL database on the server that
``FOREWARN_DATABASE_URL`` names, created for the test and dropped after it) is migrated and filled by
processes of their own: ``forewarn migrate``, then ``seed.py``, which plans one incident notice per
customer through the real broadcast. SMS and email go through the webhook provider to a small HTTP
server in this test, which checks each request's signature and counts deliveries per ``Idempotency-Key``.

``forewarn dispatch`` is started, killed with SIGKILL at a random moment once it is sending, and started
again, ``FOREWARN_CRASH_KILLS`` times (10); then it runs until the outbox is empty. Afterwards every
message is sent, the provider has seen every message's key and no message under two keys, and keys it
saw more than once belong to messages a killed sender had in flight (claimed, not yet marked); the
provider dedupes those, so the distinct keys are exactly the messages.

``FOREWARN_CRASH_MESSAGES`` sets the size (20,000); ``FOREWARN_CRASH_SEED`` repeats a run's kill moments.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

MESSAGES = int(os.environ.get("FOREWARN_CRASH_MESSAGES", "20000"))
KILLS = int(os.environ.get("FOREWARN_CRASH_KILLS", "10"))
SECRET = "crash-test-webhook-secret"
# A killed sender's messages are claimed again after this; short, so the test does not wait a minute.
LEASE_SECONDS = 3
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 60.0
FINISH_TIMEOUT = 900.0

pytestmark = pytest.mark.crash


# -- the provider -------------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the provider received: deliveries per idempotency key, and the keys per message."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    per_key: Counter[str] = field(default_factory=Counter)
    keys_of: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    requests: int = 0
    refused: list[str] = field(default_factory=list)


class Sink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SinkHandler)
        self.ledger = Ledger()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/deliver"

    def __enter__(self) -> Sink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a killed sender hangs up mid-request
            super().handle_error(request, client_address)


class SinkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the webhook provider's client pool expects
    # Headers and body go in two writes; without this, Nagle and delayed ACKs cost 40 ms a request.
    disable_nagle_algorithm = True
    server: Sink

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if len(body) < length:  # the sender was killed halfway through the request: nothing arrived
            self.close_connection = True
            return
        key = self.headers.get("Idempotency-Key", "")
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        ledger = self.server.ledger
        try:
            data = json.loads(body)
            message_id = int(data["metadata"]["message_id"])
            good = hmac.compare_digest(expected, self.headers.get("X-Forewarn-Signature", ""))
            good = good and key == data["idempotency_key"]
        except (ValueError, KeyError, TypeError):
            good, message_id = False, 0
        if not good:
            with ledger.lock:
                ledger.refused.append(key)
            self.answer(400, {"error": "bad signature or body"})
            return
        with ledger.lock:
            ledger.requests += 1
            replayed = ledger.per_key[key] > 0
            ledger.per_key[key] += 1
            ledger.keys_of[message_id].add(key)
        self.answer(200, {"id": f"sink-{key}"}, replayed=replayed)

    def answer(self, status: int, payload: dict[str, Any], *, replayed: bool = False) -> None:
        out = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# -- the database -------------------------------------------------------------------------------------


class Database:
    """The test's own database, read directly (not through Django, which points at pytest's)."""

    def __init__(self, tmp_path: Path) -> None:
        server = os.environ.get("FOREWARN_DATABASE_URL", "")
        self.postgres = server.startswith(("postgres://", "postgresql://"))
        if self.postgres:
            self.name = f"forewarn_crash_{uuid.uuid4().hex[:10]}"
            self.url = urlunsplit(urlsplit(server)._replace(path=f"/{self.name}"))
        else:
            self.path = tmp_path / "crash.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def create(self) -> None:
        if self.postgres:
            self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url, dbname="postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement.encode())

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.postgres:
            import psycopg

            with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                return conn.execute(sql.encode()).fetchall()
        with sqlite3.connect(self.path, timeout=30) as conn:
            return conn.execute(sql).fetchall()

    def statuses(self) -> Counter[str]:
        return Counter(dict(self.rows("SELECT status, count(*) FROM engage_message GROUP BY status")))


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(tmp_path)
    db.create()
    try:
        yield db
    finally:
        db.drop()


# -- the processes ------------------------------------------------------------------------------------


def forewarn_env(db: Database, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOREWARN_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="forewarn.settings",
        FOREWARN_DATABASE_URL=db.url,
        FOREWARN_DATA_DIR=str(tmp_path / "data"),
        FOREWARN_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def run_once(args: list[str], env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603 - our own forewarn commands, built by the test
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def start_dispatcher(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [str(BIN / "forewarn"), "dispatch", "--batch", "100", "--interval", "0.05"]
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603 - our own forewarn commands, built by the test


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def wait_for_progress(sink: Sink, since: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the provider has heard from this sender (it is past its start-up and sending)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while sink.ledger.requests <= since:
        assert process.poll() is None, f"the sender exited with {process.returncode}:\n{tail(log)}"
        assert time.monotonic() < deadline, f"the sender sent nothing in {STARTUP_TIMEOUT} s:\n{tail(log)}"
        time.sleep(0.02)


def in_flight(db: Database) -> set[int]:
    return {pk for (pk,) in db.rows("SELECT id FROM engage_message WHERE status = 'sending'")}


# -- the test -----------------------------------------------------------------------------------------


def test_senders_killed_at_random_lose_nothing_and_the_provider_keeps_one_of_each(
    database: Database, tmp_path: Path
) -> None:
    seed = int(os.environ.get("FOREWARN_CRASH_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    print(f"crash test: {MESSAGES} messages, {KILLS} kills, seed {seed}, {database.url}")
    started = time.monotonic()
    plain = forewarn_env(database, tmp_path)
    run_once([str(BIN / "forewarn"), "migrate"], plain)
    seeded = run_once([sys.executable, str(HERE / "seed.py"), "--customers", str(MESSAGES)], plain)
    assert f"queued={MESSAGES}" in seeded
    seeded_at = time.monotonic()

    log = tmp_path / "dispatch.log"
    with Sink() as sink:
        webhook = {"provider": "webhook", "url": sink.url, "secret": SECRET, "timeout": 5}
        env = forewarn_env(
            database,
            tmp_path,
            FOREWARN_PROVIDERS_JSON=json.dumps({"sms": webhook, "email": webhook}),
            FOREWARN_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        interrupted: set[int] = set()
        kills = 0
        while kills < KILLS:
            before = sink.ledger.requests
            sender = start_dispatcher(env, log)
            wait_for_progress(sink, before, sender, log)
            time.sleep(rng.uniform(0, 0.5))
            sender.kill()  # SIGKILL: no clean-up, no last word
            sender.wait()
            kills += 1
            interrupted |= in_flight(database)
        sender = start_dispatcher(env, log)
        deadline = time.monotonic() + FINISH_TIMEOUT
        try:
            while True:
                left = database.statuses()
                if not left["queued"] and not left["sending"]:
                    break
                assert sender.poll() is None, f"the last sender exited:\n{tail(log)}"
                assert time.monotonic() < deadline, f"not done after {FINISH_TIMEOUT} s: {left}\n{tail(log)}"
                time.sleep(0.25)
        finally:
            sender.terminate()
            sender.wait(timeout=30)
        ledger = sink.ledger

    finished = time.monotonic()
    messages = {pk: (status, channel, provider_id) for pk, status, channel, provider_id in database.rows(
        "SELECT id, status, channel, provider_message_id FROM engage_message"
    )}  # fmt: skip
    expected_keys = {f"fw-{pk}-{channel}": pk for pk, (_s, channel, _p) in messages.items()}
    twice = {key: n for key, n in ledger.per_key.items() if n > 1}
    twice_messages = {expected_keys.get(key) for key in twice}
    print(
        f"crash test: {kills} kills; {len(interrupted)} messages in flight at a kill; provider saw "
        f"{ledger.requests} deliveries of {len(ledger.per_key)} keys, {len(twice)} keys more than once "
        f"(max {max(twice.values(), default=1)}); seed+migrate {seeded_at - started:.0f} s, "
        f"sending {finished - seeded_at:.0f} s"
    )
    assert not ledger.refused, f"the provider refused {len(ledger.refused)} requests: {ledger.refused[:3]}"
    assert len(messages) == MESSAGES
    assert Counter(status for status, _c, _p in messages.values()) == {"sent": MESSAGES}
    assert set(ledger.per_key) == set(expected_keys), "keys missing or unknown at the provider"
    assert len(ledger.per_key) == MESSAGES
    assert all(len(keys) == 1 for keys in ledger.keys_of.values()), "a message went under two keys"
    assert set(ledger.keys_of) == set(messages)
    assert twice_messages <= interrupted, "a key came twice for a message no killed sender held"
    # A sender sends one message at a time: a kill leaves at most one delivered and not marked.
    assert len(twice) <= kills
    assert all(provider == f"sink-fw-{pk}-{channel}" for pk, (_s, channel, provider) in messages.items())
