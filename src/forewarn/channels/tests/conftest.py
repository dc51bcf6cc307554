"""Real servers on 127.0.0.1 for the adapters to talk to: an HTTP API that records every request and
answers what the test tells it to, and an SMTP server (aiosmtpd) that keeps what it receives; and the
message the HTTP providers' tests send."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from forewarn.channels.base import Outbound
from forewarn.channels.registry import reset_providers


@pytest.fixture(autouse=True)
def _fresh_providers() -> Iterator[None]:
    # A provider built for one test's settings must not answer for the next test.
    reset_providers()
    yield
    reset_providers()


TEXT = "Марія, ваша посилка №1042 приїде в четвер. Відповідайте СТОП, щоб не отримувати повідомлень."


def outbound(channel: str, address: str, **changes: Any) -> Outbound:
    fields: dict[str, Any] = {
        "idempotency_key": f"outbox:1042:{channel}",
        "channel": channel,
        "address": address,
        "body": TEXT,
        "language": "uk",
    }
    fields.update(changes)
    return Outbound(**fields)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: dict[str, str] | None = None
    # Never answer (until the test ends): the client's time-out has to end the call.
    hang: bool = False


class FakeApi:
    """An HTTP server on a free local port. ``answer()`` queues answers; without one it answers 200 {}.

    One server serves the whole session (starting and stopping one per test is slow); each test starts
    with no requests and no answers queued.
    """

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._answers: list[Answer] = []
        self._release = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                api.requests.append(
                    Seen(
                        method="POST",
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=self.rfile.read(length),
                    )
                )
                answer = api._answers.pop(0) if api._answers else Answer(body={})
                if answer.hang:
                    release = api._release
                    release.wait(timeout=30)
                    return
                payload = b"" if answer.body is None else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (answer.headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self._answers.append(Answer(status, body, headers))

    def hang(self) -> None:
        self._answers.append(Answer(hang=True))

    @property
    def last(self) -> Seen:
        assert self.requests, "the server received nothing"
        return self.requests[-1]

    def reset(self) -> None:
        # Lets go of any request a test left hanging.
        self._release.set()
        self._release = threading.Event()
        self.requests.clear()
        self._answers.clear()

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


@pytest.fixture(scope="session")
def _api_server() -> Iterator[FakeApi]:
    server = FakeApi()
    yield server
    server.stop()


@pytest.fixture
def api(_api_server: FakeApi) -> Iterator[FakeApi]:
    _api_server.reset()
    yield _api_server
    _api_server.reset()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port that refuses connections: bound, so nobody else takes it, and never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


class Mailbox:
    """The aiosmtpd handler: keeps each message it accepts, or answers with a code the test set."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse_recipient = ""
        self.refuse_data = ""
        self.logins: list[tuple[str, str]] = []
        self.password = "right-password"

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refuse_recipient:
            return self.refuse_recipient
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        if self.refuse_data:
            return self.refuse_data
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        if password != self.password:
            # Not handled here: aiosmtpd answers 535, as a real server does.
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)

    def message(self, index: int = -1) -> EmailMessage:
        assert self.received, "the SMTP server received nothing"
        parsed = message_from_bytes(self.received[index][2], policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


def _free_port() -> int:
    # aiosmtpd connects to its own port to see that it is up, so it needs a real number, not 0.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve_smtp(mailbox: Mailbox, **options: Any) -> Iterator[SmtpServer]:
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port(), **options)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, mailbox)
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    yield from _serve_smtp(Mailbox())


@pytest.fixture
def smtp_server_with_login() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    # Plain-text AUTH is allowed only because client and server share the loopback interface.
    yield from _serve_smtp(mailbox, authenticator=mailbox.authenticate, auth_require_tls=False)
