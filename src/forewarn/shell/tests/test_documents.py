"""Every write of the API takes only the fields its document declares: a field it does not know is refused
with 422, named in the one error shape, and nothing is done. Checked against every operation of the live
OpenAPI schema that takes a JSON body, so a new endpoint whose document forgets it fails here."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from forewarn.accounts.models import User
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.engage.models import EventSource
from forewarn.inbox.models import Entry, Ticket
from forewarn.inbox.services.intake.email import receive_email
from forewarn.inbox.tests.test_email import mail
from forewarn.shell.api import api

WRITES = ("post", "put", "patch")
UNKNOWN = "kind_of_thing"


def _json_writes() -> Iterator[tuple[str, str, dict[str, Any]]]:
    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in WRITES:
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                yield method, path, _resolved(schema, content["application/json"]["schema"])


def _resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref", "")
    if ref:
        found: Any = schema
        for part in ref.removeprefix("#/").split("/"):
            found = found[part]
        return _resolved(schema, found)
    return node


def _with_unknown(body_schema: dict[str, Any]) -> tuple[Any, str]:
    """A body that holds a field the document does not declare, and the path the refusal must name."""
    if body_schema.get("type") == "array":
        return [{UNKNOWN: 1}], f"0.{UNKNOWN}"
    return {UNKNOWN: 1}, UNKNOWN


def _url(path: str) -> str:
    # Any id does: the body is checked before anything is looked up.
    return "/api/v1" + re.sub(r"\{[^}]+\}", "1", path.removeprefix("/api/v1"))


# A source system's webhook is signed, not authenticated: its signature is checked before its body.
SIGNED = "/api/v1/events/webhook/{source}"


def _signed_post(url: str, body: Any) -> Any:
    EventSource.objects.create(slug="1", webhook_secret="s3cret", created_at=clock.now())
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    return Client().post(
        url, data=raw, content_type="application/json", headers={"X-Forewarn-Signature": signature}
    )


CASES = sorted((method, path) for method, path, _body in _json_writes())
BODIES = {(method, path): body for method, path, body in _json_writes()}


def test_the_schema_has_writes_that_take_json() -> None:
    assert len(CASES) > 20
    assert ("post", "/api/v1/tickets/{ticket_id}/entries") in CASES
    assert ("put", "/api/v1/policy/caps") in CASES


@pytest.mark.parametrize(("method", "path"), CASES, ids=[f"{m} {p}" for m, p in CASES])
def test_a_field_the_document_does_not_declare_is_refused_and_named(
    api_as: Callable[..., Any], ada: User, method: str, path: str
) -> None:
    body, named = _with_unknown(BODIES[(method, path)])
    if path == SIGNED:
        answer = _signed_post(_url(path), body)
    else:
        answer = getattr(api_as(ada), method)(_url(path), body)
    assert answer.status_code == 422, answer.content
    error = answer.json()["error"]
    assert error["code"] == "validation_failed"
    unknown = [f for f in error["fields"] if f["path"] == named]
    assert unknown, error["fields"]
    assert unknown[0]["code"] == "extra_forbidden"
    assert "lists its fields" in unknown[0]["message"]


def test_a_note_sent_with_a_guessed_field_is_refused_and_reaches_nobody(
    api_as: Callable[..., Any], olena: User, maria: Customer
) -> None:
    """``{"kind": "note"}`` is not how a note is asked for (``"note": true`` is): refused, not sent."""
    received = receive_email(mail().as_bytes())
    assert received.ticket_id is not None
    ticket = Ticket.objects.get(pk=received.ticket_id)
    answer = api_as(olena).post(
        f"/api/v1/tickets/{ticket.pk}/entries", {"kind": "note", "text": "Між нами: клієнт сердитий."}
    )
    assert answer.status_code == 422, answer.content
    assert [(f["path"], f["code"]) for f in answer.json()["error"]["fields"]] == [("kind", "extra_forbidden")]
    assert not Entry.objects.filter(ticket=ticket).exclude(kind="inbound").exists()


def test_a_body_larger_than_a_request_may_carry_is_refused_in_the_one_shape(
    api_as: Callable[..., Any], olena: User, maria: Customer, settings: Any
) -> None:
    received = receive_email(mail().as_bytes())
    assert received.ticket_id is not None
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    answer = api_as(olena).post(
        f"/api/v1/tickets/{received.ticket_id}/entries", {"text": "x" * 1_100_000, "note": True}
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "body_too_large"
    assert "1 MB" in answer.json()["error"]["message"]
    assert not Entry.objects.filter(ticket_id=received.ticket_id).exclude(kind="inbound").exists()
