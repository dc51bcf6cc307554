"""The built-in SMTP receiver: mail for the support address is handed, raw, to the receiver it is started
with (``inbox.services.intake.email.receive_email``: the one way in, then a ticket).

``forewarn smtp`` runs it; point the support domain's MX (or a forwarding rule) at it. Each message is
handed over in a worker thread (the ORM is synchronous), and the sender hears the outcome: 250 for a
ticket, a repeat, an auto-reply or a bounce (all taken), 550 for a sender that is not a valid address, 451
(try again later) if the database is away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from django.db import DatabaseError, close_old_connections, connections

from forewarn.core.errors import ServiceError

log = logging.getLogger(__name__)


# Takes one raw message and the name of the way it came ("smtp"); says what became of it ("created",
# "duplicate", "bounce"...); raises ServiceError for a message it refuses.
Receiver = Callable[[bytes, str], str]


def _receive(receive: Receiver, raw: bytes) -> str:
    close_old_connections()
    try:
        outcome = receive(raw, "smtp")
    except ServiceError as exc:
        return f"550 {exc.message}"
    except DatabaseError:
        log.exception("inbound email could not be stored")
        return "451 Try again later"
    finally:
        connections.close_all()  # the thread goes back to a pool: hold no connection there
    log.info("inbound email: %s", outcome)
    return "250 OK"


class InboundHandler:
    def __init__(self, receive: Receiver) -> None:
        self.receive = receive

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        raw = envelope.original_content or envelope.content
        return await asyncio.to_thread(_receive, self.receive, bytes(raw))


def start_receiver(host: str, port: int, *, receive: Receiver) -> Controller:
    from django.conf import settings  # noqa: PLC0415 - read when serving, so that tests can change the settings

    controller = Controller(
        InboundHandler(receive), hostname=host, port=port, data_size_limit=settings.FOREWARN_SMTP_MAX_BYTES
    )
    controller.start()
    return controller
