"""IMAP polling, the alternative to the built-in SMTP receiver when the support mailbox lives with a mail
provider: every unread message of a folder is handed, raw, to the receiver the poll is given
(``inbox.services.intake.email.receive_email``) and then marked read (or moved to ``done_folder``). The
way in is idempotent by Message-ID, so a poll that dies between storing a message and marking it read
stores it once when the next poll finds it again.

Configured by ``FOREWARN_IMAP`` (host, port, user, password, folder, done_folder, ssl); ``forewarn
imap-poll`` polls once or keeps polling, and ``forewarn dispatch`` polls every ``interval`` seconds when
it is set.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from forewarn.core.errors import ServiceError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImapSettings:
    host: str
    user: str
    password: str
    port: int = 993
    folder: str = "INBOX"
    done_folder: str = ""  # empty: leave messages where they are, marked read
    ssl: bool = True
    interval: int = 60

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> ImapSettings:
        return cls(**{k: v for k, v in config.items() if k in cls.__dataclass_fields__})


@dataclass
class PollResult:
    seen: int = 0
    stored: int = 0
    skipped: int = 0  # auto-replies, bounces, repeats
    refused: int = 0  # a sender that is not an address: marked read, logged


def connect(config: ImapSettings) -> imaplib.IMAP4:
    client: imaplib.IMAP4 = (
        imaplib.IMAP4_SSL(config.host, config.port) if config.ssl else imaplib.IMAP4(config.host, config.port)
    )
    client.login(config.user, config.password)
    return client


# Takes one raw message and the name of the way it came ("imap"); says what became of it: "created" or
# "threaded" when it was stored; raises ServiceError for a message it refuses.
Receiver = Callable[[bytes, str], str]
STORED = ("created", "threaded")


def poll_once(
    config: ImapSettings, *, receive: Receiver, opener: Callable[[ImapSettings], Any] = connect
) -> PollResult:
    result = PollResult()
    client = opener(config)
    try:
        status, _data = client.select(config.folder)
        if status != "OK":
            raise RuntimeError(f"IMAP folder {config.folder!r} cannot be opened")
        _status, found = client.uid("SEARCH", None, "UNSEEN")
        for uid in (found[0] or b"").split():
            _status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
            if raw is None:
                continue
            result.seen += 1
            try:
                outcome = receive(raw, "imap")
            except ServiceError as exc:
                log.warning("IMAP message %s refused: %s", uid.decode(), exc.code)
                result.refused += 1
            else:
                if outcome in STORED:
                    result.stored += 1
                else:
                    result.skipped += 1
            _done(client, uid, config)
        if config.done_folder:
            client.expunge()
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()
    return result


def _done(client: Any, uid: bytes, config: ImapSettings) -> None:
    client.uid("STORE", uid, "+FLAGS", r"(\Seen)")
    if config.done_folder:
        client.uid("COPY", uid, config.done_folder)
        client.uid("STORE", uid, "+FLAGS", r"(\Deleted)")


def configured() -> ImapSettings | None:
    from django.conf import settings  # noqa: PLC0415 - read when polled, so that tests can change the settings

    config = getattr(settings, "FOREWARN_IMAP", None)
    return ImapSettings.of(config) if config else None


def poll_configured(receive: Receiver) -> PollResult | None:
    """The periodic job: poll the configured mailbox, if there is one."""
    config = configured()
    return poll_once(config, receive=receive) if config is not None else None
