"""What every UI view shares: service errors shown as pages, not tracebacks, and pages or their parts."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

from forewarn.core.errors import ServiceError

View = Callable[..., HttpResponse]


def public_view(view: View) -> View:
    """A page anyone may open (an unsubscribe link): a ServiceError is shown as a page with its status."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ServiceError as exc:
            return render(request, "error.html", {"error": exc}, status=exc.status)

    return wrapped


def staff_view(view: View) -> View:
    """Require a signed-in member of staff; render a ServiceError as a page with its status."""
    return login_required(public_view(view))


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request for part of a page; a history restore after a cache miss needs the whole page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page_or_part(request: HttpRequest, page: str, part: str, context: dict[str, Any]) -> HttpResponse:
    """The whole page, or only the part htmx asked for; they share a URL, so caches must keep them apart."""
    response = render(request, part if is_htmx(request) else page, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
