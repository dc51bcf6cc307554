"""What the providers reached over HTTP share (Twilio, Telegram, Viber, the webhook: each in its own module).

Each keeps one ``httpx.Client`` (connection reuse, time-outs on every call) and turns the provider's answer
into a :class:`SendResult` or a typed failure. The common rule: no answer, a time-out, 408, 429 or 5xx is
worth a retry; any other 4xx is not. Providers that answer errors in their own way (Telegram's
``error_code``, Viber's ``status`` inside an HTTP 200) read those first.
"""

from __future__ import annotations

import functools
import ssl
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from forewarn.channels.base import DeliveryError, FailureCode, PermanentError, TransientError
from forewarn.core import clock

# How much of a provider's error answer goes into the failure's message.
EXCERPT = 300


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, given as seconds or as an HTTP date."""
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        moment: datetime = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - clock.now()).total_seconds())


@functools.cache
def _tls() -> ssl.SSLContext:
    # httpx's own default (certifi's roots), built once: loading the roots is the slow part of a client.
    return httpx.create_ssl_context()


class HttpProvider:
    """What every HTTP provider shares: the client, transport failures, and the common status rule."""

    name = "http"

    def __init__(self, *, channel: str, timeout: float = 10.0) -> None:
        self.channel = channel
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"User-Agent": "Forewarn"},
            follow_redirects=False,
            verify=_tls(),
        )

    def close(self) -> None:
        self.client.close()

    def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.post(url, **kwargs)
        except httpx.UnsupportedProtocol as exc:
            raise PermanentError(
                f"{self.name}: the configured address is not http(s)", code=FailureCode.PROVIDER_MISCONFIGURED
            ) from exc
        except httpx.TransportError as exc:
            # The URL is left out on purpose: Telegram's carries the bot token.
            raise TransientError(
                f"{self.name} could not be reached: {type(exc).__name__}: {exc}",
                code=FailureCode.PROVIDER_UNAVAILABLE,
            ) from exc

    def _failure(
        self, response: httpx.Response, *, code: str | None = None, detail: str = ""
    ) -> DeliveryError:
        """What a non-2xx answer means by the common rule; ``code`` names a permanent failure exactly."""
        status = response.status_code
        message = f"{self.name} answered HTTP {status}: {detail or response.text[:EXCERPT]}"
        if status == 429:
            return TransientError(message, code=FailureCode.RATE_LIMITED, retry_after=retry_after(response))
        if status == 408 or status >= 500:
            return TransientError(
                message, code=FailureCode.PROVIDER_UNAVAILABLE, retry_after=retry_after(response)
            )
        if code is None:
            code = FailureCode.PROVIDER_MISCONFIGURED if status == 401 else FailureCode.PROVIDER_REJECTED
        return PermanentError(message, code=code)


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or an empty one when the answer is not one."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
