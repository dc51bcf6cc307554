"""The front door: a signed-in person goes to their role's own page, anyone else to the sign-in page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from forewarn.accounts.models import User
from forewarn.shell.context_processors import home_of


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return redirect("login")
    # A role with no section at all (none today) still gets a page with the sign-out button on it.
    return redirect(home_of(user) or "customers:list")
