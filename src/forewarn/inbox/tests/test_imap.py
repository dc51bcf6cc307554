"""IMAP polling against a mailbox that speaks the IMAP commands the poller uses: unread messages become
tickets and are marked read (or moved), auto-replies are skipped, and a repeat is stored once."""

from __future__ import annotations

from typing import Any

from forewarn.channels.imap import ImapSettings, poll_once
from forewarn.customers.models import Customer
from forewarn.inbox.models import Ticket
from forewarn.inbox.services.intake.email import take_raw_email

from .test_email import mail


class Mailbox:
    """The part of an IMAP server's state the poller touches: messages by uid with their flags."""

    def __init__(self, messages: list[bytes]) -> None:
        self.messages = {str(n + 1).encode(): raw for n, raw in enumerate(messages)}
        self.flags: dict[bytes, set[str]] = {uid: set() for uid in self.messages}
        self.copied: list[tuple[bytes, str]] = []
        self.logged_out = False

    def select(self, folder: str) -> tuple[str, list[bytes]]:
        return ("OK", [str(len(self.messages)).encode()]) if folder == "INBOX" else ("NO", [b""])

    def uid(self, command: str, *args: Any) -> tuple[str, list[Any]]:
        if command == "SEARCH":
            unseen = [uid for uid in self.messages if "\\Seen" not in self.flags[uid]]
            return "OK", [b" ".join(unseen)]
        uid = args[0]
        if command == "FETCH":
            return "OK", [(uid + b" (BODY[] {n})", self.messages[uid]), b")"]
        if command == "STORE":
            self.flags[uid].add(args[2].strip("()"))
            return "OK", []
        if command == "COPY":
            self.copied.append((uid, args[1]))
            return "OK", []
        raise AssertionError(command)

    def expunge(self) -> None:
        for uid in [u for u, f in self.flags.items() if "\\Deleted" in f]:
            del self.messages[uid]

    def logout(self) -> None:
        self.logged_out = True


def test_unread_mail_becomes_tickets_and_is_marked_read(maria: Customer) -> None:
    question = mail()
    box = Mailbox(
        [question.as_bytes(), mail("Я у відпустці", subject="Автовідповідь").as_bytes(), question.as_bytes()]
    )
    config = ImapSettings(host="imap.example", user="care", password="x")
    result = poll_once(config, receive=take_raw_email, opener=lambda _config: box)
    assert (result.seen, result.stored, result.skipped) == (3, 1, 2)
    assert Ticket.objects.get().customer == maria
    assert all("\\Seen" in flags for flags in box.flags.values())
    assert box.logged_out
    again = poll_once(config, receive=take_raw_email, opener=lambda _config: box)
    assert again.seen == 0


def test_done_messages_can_be_moved_to_another_folder(maria: Customer) -> None:
    box = Mailbox([mail().as_bytes()])
    config = ImapSettings(host="imap.example", user="care", password="x", done_folder="Forewarn")
    poll_once(config, receive=take_raw_email, opener=lambda _config: box)
    assert box.copied == [(b"1", "Forewarn")]
    assert box.messages == {}


def test_the_mailbox_is_configured_by_one_url() -> None:
    from forewarn.settings import imap_settings

    config = ImapSettings.of(
        imap_settings("imaps://care%40shop.ua:s3cr%2Ft@imap.shop.ua/Support?done=Done") or {}
    )
    assert (config.host, config.port, config.user, config.password) == (
        "imap.shop.ua",
        993,
        "care@shop.ua",
        "s3cr/t",
    )
    assert (config.folder, config.done_folder, config.ssl) == ("Support", "Done", True)
    assert imap_settings("") is None
