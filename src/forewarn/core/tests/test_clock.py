from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from forewarn.core import clock


def test_now_is_aware_utc() -> None:
    assert clock.now().tzinfo is UTC


def test_frozen_time_moves_only_when_told_and_is_restored() -> None:
    moment = datetime(2026, 3, 29, 0, 30, tzinfo=ZoneInfo("Europe/Kyiv"))
    with clock.frozen_at(moment):
        assert clock.now() == moment
        assert clock.now().tzinfo is UTC
        clock.advance(timedelta(hours=2))
        assert clock.now() == moment + timedelta(hours=2)
    assert clock.now() != moment + timedelta(hours=2)


def test_frozen_at_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="aware"), clock.frozen_at(datetime(2026, 1, 1)):  # noqa: DTZ001 - a naive time is what this test refuses
        pass
