"""The HTTP API: one versioned NinjaAPI, its authentication, its one error shape, and pagination.

Machine clients send ``Authorization: Bearer fw_…`` (a token with scopes); the UI's own scripts use the
session cookie with a CSRF token. Either way the handler receives ``request.auth``, an
:class:`~forewarn.accounts.actors.Actor`, and passes it to the service it calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth
from pydantic import ModelWrapValidatorHandler, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.accounts.services import authenticate_token
from forewarn.core.errors import FieldError, ServiceError

logger = logging.getLogger(__name__)

MAX_PAGE = 500
T = TypeVar("T")


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        return authenticate_token(token)


class StaffSession(SessionAuth):
    """The logged-in UI session; ninja checks the CSRF token on unsafe methods."""

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a signed-in session there is nothing a forged request could act as: skip the CSRF
        # check, so that a client without a valid token hears 401 not_authenticated, not csrf_failed.
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        user = request.user
        if isinstance(user, User) and user.is_authenticated and user.is_active:
            return Actor.of(user)
        return None


api = NinjaAPI(
    title="Forewarn API",
    version="1",
    description=(
        "Proactive customer care. Authenticate with `Authorization: Bearer <token>`. "
        'Errors share one shape: `{"error": {"code", "message", "fields": [{"path", "code", '
        '"message"}]}}`. Creates accept an `Idempotency-Key` header: a retry with the same key and '
        "body returns the first answer and changes nothing."
    ),
    urls_namespace="api-v1",
    auth=[BearerToken(), StaffSession()],
    docs_url="/docs",
)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, fields: Iterable[FieldError] = ()
) -> HttpResponse:
    body = {"error": {"code": code, "message": message, "fields": [f.as_dict() for f in fields]}}
    return api.create_response(request, body, status=status)


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.fields)


def _field_path(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    # ninja reports ("body", "payload", "identities", 0, "value"): the source and the argument name
    # are plumbing, the client knows its own document as "identities.0.value".
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 1 else []
    elif parts and parts[0] in {"query", "path", "header", "cookie", "form", "file"}:
        parts = parts[1:]
    return ".".join(parts)


def _schema_messages() -> dict[str, str]:
    """Pydantic words its messages in English only: the ones clients meet, in the reader's language."""
    whole, yes_no = _("Must be a whole number."), _("Must be true or false.")
    a_date, a_time = _("Must be a date (YYYY-MM-DD)."), _("Must be a time (HH:MM).")
    a_moment = _("Must be a date and time (ISO 8601, such as 2030-01-31T09:00:00+02:00).")
    an_object = _("Must be an object.")
    return {
        "missing": _("This field is required."),
        "string_type": _("Must be text."),
        "string_too_short": _("At least %(min_length)s characters."),
        "string_too_long": _("At most %(max_length)s characters."),
        "int_type": whole,
        "int_parsing": whole,
        "int_from_float": whole,
        "bool_type": yes_no,
        "bool_parsing": yes_no,
        "list_type": _("Must be a list."),
        "dict_type": an_object,
        "model_type": an_object,
        "literal_error": _("Must be one of %(expected)s."),
        "date_type": a_date,
        "date_parsing": a_date,
        "date_from_datetime_parsing": a_date,
        "date_from_datetime_inexact": a_date,
        "time_type": a_time,
        "time_parsing": a_time,
        "datetime_type": a_moment,
        "datetime_parsing": a_moment,
        "datetime_from_date_parsing": a_moment,
        "timezone_aware": _("Must include its offset from UTC (such as +02:00 or Z)."),
    }


def _schema_message(error: dict[str, Any], messages: dict[str, str]) -> str:
    template = messages.get(str(error.get("type")))
    if template is None:
        return str(error.get("msg", ""))
    try:
        return template % error.get("ctx", {})
    except (KeyError, TypeError, ValueError):
        return str(error.get("msg", ""))


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    messages = _schema_messages()
    fields = [
        FieldError(_field_path(e.get("loc", ())), str(e.get("type", "invalid")), _schema_message(e, messages))
        for e in exc.errors
    ]
    return error_response(request, 422, "validation_failed", _("Some fields are not valid."), fields)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(
        request, 401, "not_authenticated", _("Send a valid API token (Authorization: Bearer …).")
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {400: "bad_request", 403: "forbidden", 405: "method_not_allowed", 429: "rate_limited"}
    message = str(exc)
    if message.startswith("Cannot parse request body"):  # with DEBUG on, ninja appends the reason
        return error_response(request, 400, "malformed_body", _("The request body is not valid JSON."))
    if message == "CSRF check Failed":
        return error_response(request, 403, "csrf_failed", _("The CSRF token is missing or wrong."))
    return error_response(request, exc.status_code, codes.get(exc.status_code, "http_error"), message)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", _("Not found."))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    message = repr(exc) if settings.DEBUG else _("Something went wrong on our side; it was logged.")
    return error_response(request, 500, "internal_error", message)


def actor_of(request: HttpRequest) -> Actor:
    actor = getattr(request, "auth", None)
    if not isinstance(actor, Actor):  # pragma: no cover - every route is authenticated
        raise AuthenticationError
    return actor


class InputSchema(Schema):
    """A document a client sends: it must be a JSON object.

    ninja's ``Schema`` also reads attributes of any object (to shape models on the way out), so without
    this a list or a number sent as a body would be read as "every field left at its default".
    """

    @model_validator(mode="wrap")
    @classmethod
    def _require_object(
        cls, value: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo
    ) -> Any:
        if not isinstance(value, dict | cls):
            raise PydanticCustomError("dict_type", _("Send a JSON object."))
        return handler(value)


class Page(Schema, Generic[T]):
    items: list[T]
    count: int
    limit: int
    offset: int
    next_offset: int | None


def paginate(rows: QuerySet[Any], *, limit: int, offset: int, shape: Callable[[Any], T]) -> dict[str, Any]:
    """One page of ``rows`` with the total count; limits are clamped to 1..500."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    count = rows.count()
    items = [shape(row) for row in rows[offset : offset + limit]]
    next_offset = offset + limit if offset + limit < count else None
    return {
        "items": items,
        "count": count,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
    }
