"""The web chat, end to end: a visitor writes in the widget on a plain HTML page of another site; the
message is in an agent's inbox within two seconds; the agent answers; the visitor sees the answer."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from forewarn.accounts.models import User
from forewarn.inbox.models import Entry, Ticket

from .steps import sign_in


@pytest.fixture
def shop_page(tmp_path: Path, live_server: Any) -> Iterator[str]:
    """A plain page of another site (its own origin) with the widget's one script tag."""
    (tmp_path / "index.html").write_text(
        "<!DOCTYPE html><html lang='uk'><head><meta charset='utf-8'><title>Магазин</title></head>"
        "<body><h1>Магазин</h1><p>Ласкаво просимо.</p>"
        f"<script src='{live_server.url}/static/forewarn/chat.js'"
        " data-offline-email='care@example.com' defer></script></body></html>",
        encoding="utf-8",
    )
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


def test_a_visitor_chats_with_an_agent_live(
    open_page: Callable[..., Page], shop_page: str, olena: User
) -> None:
    agent = open_page()
    sign_in(agent, olena)
    agent.goto("/inbox/")

    visitor = open_page()
    visitor.goto(shop_page)
    visitor.get_by_role("button", name="Написати нам").click()
    visitor.get_by_label("Ваше ім'я (необов'язково)").fill("Марія Петренко")
    visitor.get_by_label("Напишіть повідомлення…").fill("Коли приїде моє замовлення?")
    visitor.get_by_role("button", name="Надіслати").click()
    expect(visitor.locator(".fw-chat li.you")).to_have_text("Коли приїде моє замовлення?")
    sent = time.monotonic()

    row = agent.get_by_role("link", name="Коли приїде моє замовлення?")
    expect(row).to_be_visible(timeout=2000)  # the inbox refreshes itself: within two seconds
    assert time.monotonic() - sent < 2.5
    row.click()
    agent.get_by_label("Answer").fill("Завтра до 12:00, кур'єр зателефонує.")
    agent.get_by_role("button", name="Send answer").click()

    expect(visitor.locator(".fw-chat li.us")).to_have_text("Завтра до 12:00, кур'єр зателефонує.")
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.customer.given_name) == ("webchat", "Марія")
    assert ticket.first_response_at is not None
    assert [e.kind for e in Entry.objects.order_by("pk")] == ["inbound", "outbound"]
    # The visitor leaves: the server's stream notices at its next tick and ends, before the live server
    # (and the test's database connection) goes away.
    visitor.close()
    time.sleep(1.5)
