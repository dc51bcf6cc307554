"""The web chat's public endpoints, which the widget calls from any page (cross-origin, no cookies).

``POST /chat/sessions`` opens a session and returns its token; ``POST /chat/sessions/<token>/messages``
sends what the visitor wrote; ``GET /chat/sessions/<token>/messages?after=N`` returns what was said since
entry N; ``GET /chat/sessions/<token>/stream`` is the same as server-sent events, a stream the browser
keeps open (and reopens), so answers arrive as they are written. The token in the URL is the only key.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from forewarn.core.errors import ServiceError
from forewarn.inbox.services.intake import chat, limits

R = TypeVar("R", bound=HttpResponseBase)
STREAM_SECONDS = 55  # then the browser reconnects (EventSource does so by itself)
POLL_SECONDS = 0.5


def demo_page(request: HttpRequest) -> HttpResponse:
    """A plain page with the widget on it, to try the chat without a site of one's own."""
    return render(request, "inbox/chat_demo.html")


def _cors(response: R) -> R:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Cache-Control"] = "no-store"
    return response


def _json(data: Any, status: int = 200) -> HttpResponse:
    return _cors(JsonResponse(data, status=status, safe=False))


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _answer(call: Callable[[], HttpResponse]) -> HttpResponse:
    try:
        return call()
    except ServiceError as exc:
        return _json(exc.as_dict(), status=exc.status)


@csrf_exempt
def sessions(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    if request.method != "POST":
        return _json({"error": {"code": "method_not_allowed", "message": "POST", "fields": []}}, status=405)
    data = _body(request)

    def run() -> HttpResponse:
        session = chat.open_session(
            name=str(data.get("name", ""))[:200],
            email=str(data.get("email", ""))[:254],
            origin=request.headers.get("Origin", ""),
            ip=limits.client_ip(request),
        )
        return _json({"token": session.token}, status=201)

    return _answer(run)


@csrf_exempt
def messages(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))

    def run() -> HttpResponse:
        session = chat.get_session(token)
        if request.method == "POST":
            entry = chat.write(session, str(_body(request).get("text", "")), ip=limits.client_ip(request))
            return _json({"id": entry.pk}, status=201)
        after = request.GET.get("after", "0")
        return _json({"messages": chat.conversation(session, after=int(after) if after.isdigit() else 0)})

    return _answer(run)


@csrf_exempt
def files(request: HttpRequest, token: str) -> HttpResponse:
    """A file the visitor attaches (multipart, field ``file``)."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    if request.method != "POST":
        return _json({"error": {"code": "method_not_allowed", "message": "POST", "fields": []}}, status=405)

    def run() -> HttpResponse:
        session = chat.get_session(token)
        upload = request.FILES.get("file")
        entry = chat.attach(
            session,
            name=(upload.name or "") if upload else "",
            content_type=(upload.content_type if upload else "") or "application/octet-stream",
            size=upload.size or 0 if upload else 0,
            read=upload.read if upload else bytes,
            ip=limits.client_ip(request),
        )
        return _json({"id": entry.pk}, status=201)

    return _answer(run)


def _event(rows: list[dict[str, Any]]) -> str:
    return "".join(f"id: {r['id']}\ndata: {json.dumps(r, ensure_ascii=False)}\n\n" for r in rows)


def _sync_stream(token: str, after: int) -> Iterator[str]:
    deadline = time.monotonic() + STREAM_SECONDS
    yield "retry: 1000\n\n"
    try:
        while time.monotonic() < deadline:
            rows = chat.conversation(chat.get_session(token), after=after)
            if rows:
                after = rows[-1]["id"]
                yield _event(rows)
            else:
                yield ": waiting\n\n"  # keeps proxies from closing an idle stream
            time.sleep(POLL_SECONDS)
    finally:
        close_old_connections()


async def _async_stream(token: str, after: int) -> AsyncIterator[str]:
    deadline = time.monotonic() + STREAM_SECONDS
    read = sync_to_async(lambda after: chat.conversation(chat.get_session(token), after=after))
    yield "retry: 1000\n\n"
    while time.monotonic() < deadline:
        rows = await read(after)
        if rows:
            after = rows[-1]["id"]
            yield _event(rows)
        else:
            yield ": waiting\n\n"
        await asyncio.sleep(POLL_SECONDS)


def stream(request: HttpRequest, token: str) -> HttpResponseBase:
    """Server-sent events: each entry of the conversation after ``Last-Event-ID`` (or ``?after=``)."""
    try:
        chat.get_session(token)
    except ServiceError as exc:
        return _json(exc.as_dict(), status=exc.status)
    last = request.headers.get("Last-Event-ID") or request.GET.get("after", "0")
    after = int(last) if last.isdigit() else 0
    # Under ASGI (forewarn serve) the stream is asynchronous and holds no thread; under WSGI it is a
    # plain generator, as a threaded WSGI server serves it.
    body = _async_stream(token, after) if isinstance(request, ASGIRequest) else _sync_stream(token, after)
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["X-Accel-Buffering"] = "no"
    return _cors(response)
