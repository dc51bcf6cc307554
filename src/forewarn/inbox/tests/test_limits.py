"""Abuse control: per-IP and per-sender limits at the public entry points, a clear refusal, and a block
for a sender that floods; senders are stored only as keyed hashes."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta

import pytest
from django.test import Client

from forewarn.core import clock
from forewarn.inbox.models import Block, Hit
from forewarn.inbox.services.intake import limits


def post(client: Client, path: str, body: dict[str, str], ip: str) -> object:
    return client.post(path, data=json.dumps(body), content_type="application/json", REMOTE_ADDR=ip)


def test_one_address_opening_chats_too_fast_is_limited_and_told_how_long_to_wait(db: None) -> None:
    client = Client()
    with clock.frozen_at(clock.now().replace(second=0, microsecond=0)):
        for _n in range(limits.LIMITS["ip"]):
            assert post(client, "/chat/sessions", {}, "203.0.113.7").status_code == 201  # type: ignore[attr-defined]
        refused = post(client, "/chat/sessions", {}, "203.0.113.7")
        assert refused.status_code == 429  # type: ignore[attr-defined]
        error = refused.json()["error"]  # type: ignore[attr-defined]
        assert error["code"] == "rate_limited"
        assert "60 seconds" in error["message"]
        assert post(client, "/chat/sessions", {}, "198.51.100.1").status_code == 201  # type: ignore[attr-defined]
    assert not Hit.objects.filter(key__contains="203.0.113").exists()


def test_a_flood_is_blocked_for_an_hour_then_let_in_again(db: None) -> None:
    start = clock.now().replace(second=0, microsecond=0)
    with clock.frozen_at(start):
        for _n in range(limits.LIMITS["portal"] * limits.FLOOD_FACTOR):
            with contextlib.suppress(limits.Limited):
                limits.check("portal", "visitor-1")
        with pytest.raises(limits.Limited) as blocked:
            limits.check("portal", "visitor-1")
        assert blocked.value.code == "blocked"
        clock.advance(timedelta(minutes=5))
        with pytest.raises(limits.Limited):
            limits.check("portal", "visitor-1")  # a new minute, still blocked
        clock.advance(limits.FLOOD_BLOCK)
        limits.check("portal", "visitor-1")
    assert Block.objects.get().label == "portal •••-1"


def test_staff_block_and_unblock_by_hand(db: None) -> None:
    limits.block("ip", "192.0.2.55")
    assert limits.is_blocked("ip", "192.0.2.55")
    assert Block.objects.get().label == "ip 192.0.2.x"
    with pytest.raises(limits.Limited):
        limits.check("ip", "192.0.2.55")
    assert limits.unblock("ip", "192.0.2.55") == 1
    limits.check("ip", "192.0.2.55")
