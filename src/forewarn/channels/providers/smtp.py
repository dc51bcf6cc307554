"""Email over SMTP: one MIME message per outbound message, SMTP answers sorted into retry or not, and its
settings (``FOREWARN_SMTP_URL``).

SMTP has no idempotency key, so the key becomes the ``Message-ID``: a receiving system that sees the same
id twice can drop the copy, and a customer's reply names it in ``In-Reply-To``, which threads the reply
to what we sent (:func:`message_id_for`). Email that comes in (MIME parsing, the SMTP receiver, IMAP
polling) is ``channels.email``, ``channels.smtp`` and ``channels.imap``: it has no provider behind it.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from forewarn.channels.base import (
    Environment,
    FailureCode,
    Option,
    Outbound,
    PermanentError,
    ProviderKind,
    SendResult,
    TransientError,
)
from forewarn.core import clock

NAME = "smtp"

Security = Literal["starttls", "ssl", "none"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}


def message_id_for(idempotency_key: str, domain: str) -> str:
    """The ``Message-ID`` of the message sent with this key: the same for every retry.

    The key is hashed because it may hold characters a Message-ID may not.
    """
    # 128 bits, and short enough that the header stays on one line for ordinary domains.
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<fw.{digest}@{domain}>"


class SmtpProvider:
    name = NAME

    def __init__(
        self,
        *,
        channel: str = "email",
        host: str,
        from_address: str,
        port: int | None = None,
        username: str = "",
        password: str = "",
        security: Security = "starttls",
        from_name: str = "",
        timeout: float = 10.0,
    ) -> None:
        if security not in DEFAULT_PORTS:
            raise ValueError(f"security must be one of {', '.join(DEFAULT_PORTS)}, not {security!r}")
        if "@" not in from_address:
            raise ValueError(f"from_address {from_address!r} is not an email address")
        self.channel = channel
        self.host = host
        self.port = port or DEFAULT_PORTS[security]
        self.username = username
        self.password = password
        self.security = security
        self.from_address = from_address
        self.from_name = from_name
        self.timeout = timeout
        self.domain = from_address.rsplit("@", 1)[1]

    def build(self, message: Outbound) -> EmailMessage:
        """The MIME message as it goes on the wire: text, and the HTML as an alternative when there is one."""
        mime = EmailMessage()
        try:
            mime["From"] = (
                formataddr((self.from_name, self.from_address)) if self.from_name else self.from_address
            )
            mime["To"] = message.address
            mime["Subject"] = message.subject
            mime["Date"] = format_datetime(clock.now())
            mime["Message-ID"] = message_id_for(message.idempotency_key, self.domain)
            thread = message.metadata.get("thread") or {}
            if thread.get("in_reply_to"):
                # An answer threads under what the customer wrote in every mail client (RFC 5322 3.6.4).
                mime["In-Reply-To"] = thread["in_reply_to"]
                mime["References"] = " ".join(thread.get("references") or [thread["in_reply_to"]])
            unsubscribe_url = message.metadata.get("unsubscribe_url")
            if unsubscribe_url:
                # RFC 8058 one-click: mail clients show an unsubscribe button that POSTs to this URL.
                mime["List-Unsubscribe"] = f"<{unsubscribe_url}>"
                mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        except ValueError as exc:
            # The email package refuses line breaks in headers, which is how header injection would look.
            raise PermanentError(
                f"the message cannot be written as email: {exc}", code=FailureCode.MESSAGE_INVALID
            ) from exc
        # Quoted-printable keeps the parts 7-bit, so no relay has to support 8BITMIME for Cyrillic text.
        mime.set_content(message.body, charset="utf-8", cte="quoted-printable")
        if message.html:
            mime.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
        # After the parts: set_content() clears every Content-* header, this one included.
        mime["Content-Language"] = message.language
        return mime

    def send(self, message: Outbound) -> SendResult:
        mime = self.build(message)
        message_id = str(mime["Message-ID"])
        try:
            smtp = self._connect()
            try:
                smtp.send_message(mime, from_addr=self.from_address, to_addrs=[message.address])
            finally:
                _quit_quietly(smtp)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _classified(code, reply, refused_recipient=True) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(
                f"{self.host}:{self.port} lacks an SMTP extension this needs: {exc}",
                code=FailureCode.PROVIDER_MISCONFIGURED,
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentError(
                f"{self.host}:{self.port} refused the user name or password: {exc.smtp_code}",
                code=FailureCode.PROVIDER_MISCONFIGURED,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise _classified(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Refused or dropped connections, time-outs and TLS failures: the server may be back later.
            raise TransientError(
                f"{self.host}:{self.port} could not be reached: {exc!r}",
                code=FailureCode.PROVIDER_UNAVAILABLE,
            ) from exc
        return SendResult(provider=self.name, provider_message_id=message_id)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    # Once the server has taken the message, a failed goodbye must not turn into a retry (and a copy).
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _classified(code: int, reply: bytes | str, *, refused_recipient: bool = False) -> Exception:
    """5xx says "never", anything else "try later": RFC 5321's own split of reply codes."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    detail = f"SMTP {code} {text}".strip()
    if not 500 <= code < 600:
        return TransientError(detail, code=FailureCode.PROVIDER_UNAVAILABLE)
    if refused_recipient:
        return PermanentError(detail, code=FailureCode.ADDRESS_INVALID)
    return PermanentError(detail, code=FailureCode.PROVIDER_REJECTED)


# --- Settings -----------------------------------------------------------------------------------------------


def from_env(env: Environment) -> dict[str, dict[str, Any]]:
    """The email channel from ``FOREWARN_SMTP_URL``: ``smtp://user:password@host:587?from=care@example.com``
    (STARTTLS unless ``starttls=false``; ``smtps://`` for TLS from the start; also ``from_name`` and
    ``timeout``)."""
    url = env.get("SMTP_URL")
    return {"email": smtp_from_url(url)} if url else {}


def smtp_from_url(url: str) -> dict[str, Any]:
    """SMTP settings from ``smtp[s]://user:password@host:port?from=...&starttls=true|false``."""
    # The URL holds a password: messages name the part at fault, never the URL.
    where = "FOREWARN_SMTP_URL"
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ImproperlyConfigured(f"{where} must start with smtp:// or smtps://")
    try:
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"{where} has a port that is not a number") from exc
    if not parts.hostname:
        raise ImproperlyConfigured(f"{where} names no host")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(query) - {"from", "from_name", "starttls", "timeout"}
    if unknown:
        raise ImproperlyConfigured(f"{where}: unknown options {', '.join(sorted(unknown))}")
    if not query.get("from"):
        raise ImproperlyConfigured(f"{where} needs ?from=<the address messages come from>")
    starttls = query.get("starttls", "true").strip().lower()
    if starttls not in ("true", "false"):
        raise ImproperlyConfigured(f"{where}: starttls is true or false")
    config: dict[str, Any] = {
        "provider": NAME,
        "host": parts.hostname,
        "from_address": query["from"],
        "security": "ssl" if parts.scheme == "smtps" else ("starttls" if starttls == "true" else "none"),
    }
    if port:
        config["port"] = port
    if parts.username:
        config["username"] = unquote(parts.username)
        config["password"] = unquote(parts.password or "")
    if query.get("from_name"):
        config["from_name"] = query["from_name"]
    if query.get("timeout"):
        try:
            config["timeout"] = float(query["timeout"])
        except ValueError as exc:
            raise ImproperlyConfigured(f"{where}: timeout is a number of seconds") from exc
    return config


KIND = ProviderKind(
    name=NAME,
    channels=("email",),
    factory=SmtpProvider,
    options=(
        Option("host", required=True),
        Option("from_address", required=True),
        Option("port"),
        Option("username"),
        Option("password", secret=True),
        Option("security"),
        Option("from_name"),
        Option("timeout"),
    ),
    from_env=from_env,
)
