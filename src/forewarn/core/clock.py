"""The one place Forewarn asks what time it is: tests can move time, and no naive datetime gets in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, aware, in UTC."""
    return _frozen if _frozen is not None else datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Within the block, :func:`now` answers ``moment`` (tests move it with :func:`advance`)."""
    global _frozen  # noqa: PLW0603 - the clock is process-wide by design
    if moment.tzinfo is None:
        raise ValueError("frozen_at needs an aware datetime")
    previous, _frozen = _frozen, moment.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def advance(delta: timedelta) -> None:
    global _frozen  # noqa: PLW0603 - the clock is process-wide by design
    if _frozen is None:
        raise RuntimeError("advance() works only inside frozen_at()")
    _frozen += delta
