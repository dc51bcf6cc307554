"""A request that changes something is one transaction: an unexpected failure after the change keeps
nothing of it, so a client is never told it failed when half of it happened."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from forewarn.accounts.models import User
from forewarn.engage.models import FrequencyCap
from forewarn.engage.services import rules as rules_service


def test_a_server_error_after_the_change_keeps_nothing_of_it(
    api_as: Callable[..., Any], ada: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = list(FrequencyCap.objects.order_by("pk").values())
    real = rules_service.replace_caps

    def replaced_then_unshapeable(**kwargs: Any) -> list[Any]:
        real(**kwargs)  # the caps are replaced...
        return [object()]  # ...and then the answer cannot be shaped: a 500

    monkeypatch.setattr(rules_service, "replace_caps", replaced_then_unshapeable)
    answer = api_as(ada).put("/api/v1/policy/caps", [{"topic": "marketing", "limit": 1, "window_hours": 24}])
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
    assert list(FrequencyCap.objects.order_by("pk").values()) == before


def test_the_caps_are_read_and_replaced_over_the_api(api_as: Callable[..., Any], ada: User) -> None:
    client = api_as(ada)
    replaced = client.put("/api/v1/policy/caps", [{"topic": "marketing", "limit": 2, "window_hours": 168}])
    assert replaced.status_code == 200, replaced.content
    listed = client.get("/api/v1/policy/caps")
    assert listed.status_code == 200
    assert listed.json() == [{"topic": "marketing", "limit": 2, "window_hours": 168, "active": True}]
