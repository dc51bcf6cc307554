"""Email through a real SMTP server on 127.0.0.1: the message as a mail client reads it, how refusals are
sorted into "retry" and "never", and the settings read from ``FOREWARN_SMTP_URL``."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from forewarn.channels.base import FailureCode, Outbound, PermanentError, TransientError
from forewarn.channels.providers.smtp import SmtpProvider, message_id_for
from forewarn.channels.registry import providers_from_env
from forewarn.channels.tests.conftest import SmtpServer
from forewarn.core import clock

MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
SUBJECT = "Ваше замовлення №1042 затримується"
TEXT = "Марія, вибачте: посилка приїде в четвер.\nМи додали знижку 10% на наступне замовлення."
HTML = "<p>Марія, вибачте: посилка приїде <b>в четвер</b>.</p>"


def provider_for(server: SmtpServer, **options: Any) -> SmtpProvider:
    settings: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "from_address": "care@forewarn.example",
        "from_name": "Турбота Forewarn",
        "timeout": 5.0,
    }
    settings.update(options)
    return SmtpProvider(**settings)


def apology(**changes: Any) -> Outbound:
    fields: dict[str, Any] = {
        "idempotency_key": "outbox:1042:email",
        "channel": "email",
        "address": "maria.petrenko@example.com",
        "subject": SUBJECT,
        "body": TEXT,
        "html": HTML,
        "language": "uk",
        "metadata": {"unsubscribe_url": "https://care.example/u/abc123"},
    }
    fields.update(changes)
    return Outbound(**fields)


def test_the_received_message_has_both_parts_cyrillic_intact_and_the_list_headers(
    smtp_server: SmtpServer,
) -> None:
    with clock.frozen_at(MONDAY):
        result = provider_for(smtp_server).send(apology())

    mail_from, recipients, raw = smtp_server.mailbox.received[0]
    assert (mail_from, recipients) == ("care@forewarn.example", ["maria.petrenko@example.com"])
    # Every byte on the wire is 7-bit: no relay on the way has to understand UTF-8.
    assert max(raw) < 128
    received = smtp_server.mailbox.message()
    assert received["Subject"] == SUBJECT
    assert received["From"].addresses[0].display_name == "Турбота Forewarn"
    assert received["From"].addresses[0].addr_spec == "care@forewarn.example"
    assert received["To"] == "maria.petrenko@example.com"
    assert parsedate_to_datetime(received["Date"]) == MONDAY
    assert received["Content-Language"] == "uk"
    assert received["List-Unsubscribe"] == "<https://care.example/u/abc123>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received.get_content_type() == "multipart/alternative"
    text_part = received.get_body(preferencelist=("plain",))
    html_part = received.get_body(preferencelist=("html",))
    assert text_part is not None
    assert html_part is not None
    assert text_part.get_content().replace("\r\n", "\n").rstrip("\n") == TEXT
    assert html_part.get_content().replace("\r\n", "\n").rstrip("\n") == HTML
    assert str(received["Message-ID"]).strip() == result.provider_message_id
    assert result.provider == "smtp"
    assert result.duplicate is False


def test_the_message_id_comes_from_the_key_so_a_retry_repeats_it(smtp_server: SmtpServer) -> None:
    provider = provider_for(smtp_server)
    first = provider.send(apology())
    retry = provider.send(apology())
    other = provider.send(apology(idempotency_key="outbox:1043:email"))

    ids = [str(smtp_server.mailbox.message(n)["Message-ID"]).strip() for n in range(3)]
    assert ids[0] == ids[1] == first.provider_message_id == retry.provider_message_id
    assert ids[0] == message_id_for("outbox:1042:email", "forewarn.example")
    assert ids[2] == other.provider_message_id != ids[0]
    assert ids[0].startswith("<fw.")
    assert ids[0].endswith("@forewarn.example>")


def test_a_text_only_message_without_unsubscribe_link_is_one_plain_part(smtp_server: SmtpServer) -> None:
    provider_for(smtp_server, from_name="").send(apology(html="", metadata={}))

    received = smtp_server.mailbox.message()
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"
    assert received["From"] == "care@forewarn.example"
    assert "List-Unsubscribe" not in received
    assert "List-Unsubscribe-Post" not in received
    assert received.get_content().replace("\r\n", "\n").rstrip("\n") == TEXT


def test_a_refused_recipient_is_permanent_and_nothing_is_delivered(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.refuse_recipient = "550 5.1.1 No such user here"

    with pytest.raises(PermanentError) as refused:
        provider_for(smtp_server).send(apology())

    assert refused.value.code == FailureCode.ADDRESS_INVALID
    assert "550" in str(refused.value)
    assert smtp_server.mailbox.received == []


def test_a_temporary_refusal_is_worth_a_retry(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.refuse_data = "451 4.3.0 Mail server temporarily rejected message"

    with pytest.raises(TransientError) as refused:
        provider_for(smtp_server).send(apology())

    assert refused.value.code == FailureCode.PROVIDER_UNAVAILABLE
    assert "451" in str(refused.value)
    assert smtp_server.mailbox.received == []


def test_a_greylisted_recipient_is_worth_a_retry(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.refuse_recipient = "450 4.2.0 Greylisted, come back later"

    with pytest.raises(TransientError):
        provider_for(smtp_server).send(apology())
    assert smtp_server.mailbox.received == []


def test_a_rejected_message_body_is_permanent(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.refuse_data = "554 5.7.1 Message rejected as spam"

    with pytest.raises(PermanentError) as refused:
        provider_for(smtp_server).send(apology())
    assert refused.value.code == FailureCode.PROVIDER_REJECTED


def test_a_server_that_is_not_there_is_worth_a_retry(closed_port: int) -> None:
    provider = SmtpProvider(
        host="127.0.0.1", port=closed_port, security="none", from_address="care@forewarn.example"
    )
    with pytest.raises(TransientError) as failed:
        provider.send(apology())
    assert failed.value.code == FailureCode.PROVIDER_UNAVAILABLE


def test_starttls_asked_of_a_server_without_it_is_a_settings_problem(smtp_server: SmtpServer) -> None:
    with pytest.raises(PermanentError) as failed:
        provider_for(smtp_server, security="starttls").send(apology())
    assert failed.value.code == FailureCode.PROVIDER_MISCONFIGURED
    assert smtp_server.mailbox.received == []


def test_the_user_name_and_password_are_used(smtp_server_with_login: SmtpServer) -> None:
    server = smtp_server_with_login
    provider_for(server, username="forewarn", password="right-password").send(apology())

    assert server.mailbox.logins == [("forewarn", "right-password")]
    assert len(server.mailbox.received) == 1


def test_a_wrong_password_is_a_settings_problem(smtp_server_with_login: SmtpServer) -> None:
    server = smtp_server_with_login
    with pytest.raises(PermanentError) as failed:
        provider_for(server, username="forewarn", password="old-password").send(apology())

    assert failed.value.code == FailureCode.PROVIDER_MISCONFIGURED
    # smtplib tries each mechanism the server offers before it gives up.
    assert set(server.mailbox.logins) == {("forewarn", "old-password")}
    assert server.mailbox.received == []


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Привіт\r\nBcc: everyone@example.com"},
        {"address": "maria@example.com\r\nBcc: everyone@example.com"},
    ],
)
def test_line_breaks_in_headers_are_refused_before_anything_is_sent(
    smtp_server: SmtpServer, changes: dict[str, str]
) -> None:
    with pytest.raises(PermanentError) as refused:
        provider_for(smtp_server).send(apology(**changes))
    assert refused.value.code == FailureCode.MESSAGE_INVALID
    assert smtp_server.mailbox.received == []


def test_settings_that_cannot_work_are_refused_when_the_provider_is_made() -> None:
    with pytest.raises(ValueError, match="security"):
        SmtpProvider(host="mail.example.com", from_address="care@example.com", security="tls")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="from_address"):
        SmtpProvider(host="mail.example.com", from_address="care")
    assert SmtpProvider(host="h", from_address="a@b.example", security="ssl").port == 465
    assert SmtpProvider(host="h", from_address="a@b.example").port == 587


# --- From the environment ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "security", "port"),
    [
        ("smtp://relay.internal?from=a@example.com&starttls=false", "none", None),
        ("smtp://relay.internal:25?from=a@example.com&starttls=FALSE", "none", 25),
        ("smtp://relay.internal?from=a@example.com", "starttls", None),
        ("smtps://relay.internal?from=a@example.com", "ssl", None),
    ],
)
def test_the_smtp_url_chooses_the_encryption(url: str, security: str, port: int | None) -> None:
    email = providers_from_env({"FOREWARN_SMTP_URL": url})["email"]
    assert email["security"] == security
    assert email.get("port") == port
    assert "username" not in email


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://mail.example.com?from=a@example.com", "smtp://"),
        ("smtp://mail.example.com", "from="),
        ("smtp://u:secret-pw@mail.example.com:x?from=a@b.c", "port"),
        ("smtp://mail.example.com?from=a@b.c&tls=yes", "tls"),
        ("smtp://mail.example.com?from=a@b.c&starttls=maybe", "starttls"),
    ],
)
def test_incomplete_environment_settings_are_named_without_their_secrets(url: str, named: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=named) as wrong:
        providers_from_env({"FOREWARN_SMTP_URL": url})
    assert "secret-pw" not in str(wrong.value)
