from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET


@require_GET
def health(_request: HttpRequest) -> JsonResponse:
    """For load balancers: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


@csrf_exempt
def api_not_found(_request: HttpRequest) -> JsonResponse:
    body = {"error": {"code": "not_found", "message": _("There is no such API endpoint."), "fields": []}}
    return JsonResponse(body, status=404)
