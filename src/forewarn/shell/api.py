"""The HTTP API: one versioned NinjaAPI, its authentication, its one error shape, and pagination.

Machine clients send ``Authorization: Bearer fw_…`` (a token with scopes); the UI's own scripts use the
session cookie with a CSRF token. Either way the handler receives ``request.auth``, an
:class:`~forewarn.accounts.actors.Actor`, and passes it to the service it calls.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.accounts.services import authenticate_token
from forewarn.core import idempotency
from forewarn.core.errors import FieldError, ServiceError
from forewarn.core.http import schema_field_errors

logger = logging.getLogger(__name__)

MAX_PAGE = 500
T = TypeVar("T")


class BearerToken(HttpBearer):
    def authenticate(self, _request: HttpRequest, token: str) -> Actor | None:
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

    def authenticate(self, request: HttpRequest, _key: str | None) -> Actor | None:
        user = request.user
        if isinstance(user, User) and user.is_authenticated and user.is_active:
            return Actor.of(user)
        return None


class ForewarnAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        """The schema, with the ``Idempotency-Key`` header that every POST honours (``one_transaction``)."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema.get("paths", {}).values():
            post = operations.get("post")
            if post is None or post.get("x-idempotent") is False:
                continue
            parameters = post.setdefault("parameters", [])
            if not any(p.get("name") == idempotency.HEADER for p in parameters):
                parameters.append(IDEMPOTENCY_PARAMETER)
        return schema


IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": idempotency.HEADER,
    "required": False,
    "schema": {"type": "string", "maxLength": idempotency.MAX_KEY_LENGTH},
    "description": "Sent again with the same request, the first answer comes back and nothing changes",
}


api = ForewarnAPI(
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


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    # ninja reports ("body", "payload", "identities", 0, "value"): the source and the argument name
    # are plumbing, the client knows its own document as "identities.0.value".
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 1 else []
    elif parts and parts[0] in {"query", "path", "header", "cookie", "form", "file"}:
        parts = parts[1:]
    return ".".join(parts)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = schema_field_errors(exc.errors, path=_field_path)
    return error_response(request, 422, "validation_failed", _("Some fields are not valid."), fields)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, _exc: AuthenticationError) -> HttpResponse:
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


@api.exception_handler(RequestDataTooBig)
def _too_large(request: HttpRequest, _exc: RequestDataTooBig) -> HttpResponse:
    megabytes = max(1, settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024))
    message = _("The request body is larger than the %(n)s MB a request may carry.") % {"n": megabytes}
    return error_response(request, 413, "body_too_large", message)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, _exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", _("Not found."))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    message = repr(exc) if settings.DEBUG else _("Something went wrong on our side; it was logged.")
    return error_response(request, 500, "internal_error", message)


# --- one Idempotency-Key for every POST ----------------------------------------------------------------

ONCE = "forewarn.idempotent"  # set while a POST with a key runs; the handler's wrapper leaves its claim
CLAIM = "forewarn.idempotency_claim"


def _replay_response(request: HttpRequest, stored: tuple[int, Any]) -> HttpResponse:
    status, body = stored
    response = api.create_response(request, body, status=status)
    response["Idempotent-Replayed"] = "true"
    return response


UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def one_transaction(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Around a whole request that changes something: one transaction holds the change, and its stored
    answer when a POST carries an ``Idempotency-Key``. An unexpected failure (5xx) keeps nothing of the
    change, so a client is never told it failed when half of it happened; a keyed POST that is refused
    keeps nothing either, so it can be corrected and sent again with its key. A refusal a service records
    on purpose (a refused reveal is audited) stays."""
    operation = getattr(run, "__self__", None)
    methods = set(getattr(operation, "methods", UNSAFE))
    if not methods & UNSAFE:
        return run
    extra = getattr(operation, "openapi_extra", None) or {}
    replayable = "POST" in methods and extra.get("x-idempotent") is not False

    @functools.wraps(run)
    def once(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in UNSAFE:
            return run(request, *args, **kwargs)
        if replayable and request.method == "POST" and request.headers.get(idempotency.HEADER):
            request.META[ONCE] = True
        claim: idempotency.Claim | None = None
        try:
            with transaction.atomic():
                response = run(request, *args, **kwargs)
                claim = request.META.pop(CLAIM, None)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                elif claim is not None:
                    if 200 <= response.status_code < 300:
                        body = json.loads(response.content) if response.content else None
                        idempotency.keep_answer(claim, response.status_code, body)
                    else:
                        transaction.set_rollback(True)
        except IntegrityError:  # the same key, answered a moment ago by a racing twin
            stored = idempotency.stored_answer(claim) if claim is not None else None
            if stored is None:
                raise
            return _replay_response(request, stored)
        return response

    return once


def claim_key(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Around the handler of such a POST, once the client is known: the stored answer to a repeated key,
    or the claim ``one_transaction`` keeps the answer under."""

    @functools.wraps(handler)
    def claimed(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        actor = getattr(request, "auth", None)
        if not request.META.get(ONCE) or not isinstance(actor, Actor):  # a signed webhook has its own
            return handler(request, *args, **kwargs)
        key = request.headers.get(idempotency.HEADER, "")
        claim = idempotency.claim_for(request, owner=actor.key, key=key)
        stored = idempotency.stored_answer(claim)
        if stored is not None:
            return _replay_response(request, stored)
        request.META[CLAIM] = claim
        return handler(request, *args, **kwargs)

    return claimed


# ninja's names: "view" wraps the whole request (before authentication), "operation" the handler itself.
api.add_decorator(one_transaction, mode="view")
api.add_decorator(claim_key, mode="operation")
