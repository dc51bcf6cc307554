"""Debian's Chromium, driven by Playwright against pytest-django's live server.

One browser for the whole session; each test gets a fresh context (cookies, storage) and page. Playwright
never downloads a browser here: it is pointed at /usr/bin/chromium, and a machine without it fails loudly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from .steps import DESKTOP

# Playwright's sync API runs an event loop in this thread, so Django's guard against database calls from
# async code would fire on every ORM call a test makes; nothing here is async, as Django's docs allow.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]
WAIT_MS = 10_000

expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM}: run 'sudo apt-get install -y chromium'"
            " (or 'make check-chromium') and try again.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(
    browser: Browser, live_server: Any, transactional_db: None, audit_log_steps_aside: None
) -> Iterator[Callable[..., Page]]:
    """``open_page()`` for a desktop window, ``open_page(PHONE)`` for a phone-sized one."""
    contexts = []

    def make(viewport: dict[str, int] | None = None) -> Page:
        size = viewport or DESKTOP
        window = ViewportSize(width=size["width"], height=size["height"])
        context = browser.new_context(
            base_url=live_server.url, viewport=window, locale="en-GB", timezone_id="Europe/Kyiv"
        )
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    return open_page()
