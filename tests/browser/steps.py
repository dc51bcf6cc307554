"""What a person does in the browser, in a few words each, for the tests to read like a story."""

from __future__ import annotations

from playwright.sync_api import Page

from forewarn.accounts.models import User

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def password_of(user: User) -> str:
    return f"{user.username}-long-password-1"  # as the root conftest creates the personas


def sign_in(page: Page, user: User, password: str | None = None) -> None:
    page.goto("/login/")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(password or password_of(user))
    page.get_by_role("button", name="Sign in").click()


def has_no_page_scroll(page: Page) -> bool:
    """Nothing wider than the window: wide tables scroll inside their own box, never the whole page."""
    return bool(page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))
