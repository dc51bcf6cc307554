"""Request plumbing: times in the viewer's zone, and API errors in one shape."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _


class ViewerTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
        if zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(zone))
            except zoneinfo.ZoneInfoNotFoundError:
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class ApiMethodNotAllowedMiddleware:
    """ninja answers a wrong method with plain text; API clients get the one JSON error shape instead."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 405 and request.path.startswith("/api/"):
            body = {
                "error": {
                    "code": "method_not_allowed",
                    "message": _("%(method)s is not allowed here; use %(allowed)s.")
                    % {"method": request.method, "allowed": response.get("Allow", "")},
                    "fields": [],
                }
            }
            shaped = JsonResponse(body, status=405)
            shaped["Allow"] = response.get("Allow", "")
            return shaped
        return response
