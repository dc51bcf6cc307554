"""Periodic work: each job runs on its own schedule, and one that fails does not stop the others."""

from __future__ import annotations

from typing import Any

import pytest

from forewarn.core import periodic


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    registry: dict[str, Any] = {}
    monkeypatch.setattr(periodic, "JOBS", registry)
    return registry


def test_jobs_run_on_their_schedule_and_a_failure_stops_nothing(jobs: dict[str, Any]) -> None:
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("boom")

    periodic.every(60, "broken", broken)
    periodic.every(30, "sweep", lambda: calls.append("sweep"))
    last: dict[str, float] = {}
    assert periodic.run_due(last, 1000.0) == 2
    assert periodic.run_due(last, 1029.0) == 0
    assert periodic.run_due(last, 1030.0) == 1
    assert periodic.run_due(last, 1060.0) == 2
    assert calls == ["broken", "sweep", "sweep", "broken", "sweep"]
