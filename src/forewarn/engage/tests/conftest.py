"""Engage fixtures: a shop that sends events, the demo's triggers, and a clock set to a Kyiv afternoon."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.accounts.roles import Role
from forewarn.accounts.services import create_staff_user
from forewarn.core import clock
from forewarn.engage.models import Trigger
from forewarn.engage.services.triggers import TemplateIn, TriggerIn, create_trigger

SYSTEM = Actor.system("tests")
# 14:00 in Kyiv on a Tuesday: no quiet hours in Europe.
AFTERNOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _jobs_run_at_once(immediate_tasks: None) -> None:
    """Broadcasts are jobs; here they run inside the request that declares the incident."""


@pytest.fixture
def afternoon() -> Iterator[datetime]:
    with clock.frozen_at(AFTERNOON):
        yield AFTERNOON


@pytest.fixture
def shop(db: None) -> User:
    """The shop's integration account: sends events and nothing else."""
    return create_staff_user(
        actor=SYSTEM, username="shop", password="shop-long-password-1", role=Role.ADMIN, check_password=False
    )


@pytest.fixture
def order_shipped(db: None) -> Trigger:
    return create_trigger(
        actor=SYSTEM,
        data=TriggerIn(
            name="Order shipped",
            event_type="order_shipped",
            topic="transactional",
            priority=70,
            dedup_key="order-shipped:{{ payload.order_id }}",
            templates=[
                TemplateIn(
                    language="uk",
                    body="{{ customer.first_name }}, замовлення {{ payload.order_id }} вже в дорозі.",
                ),
                TemplateIn(
                    language="en",
                    body="{{ customer.first_name }}, order {{ payload.order_id }} is on its way.",
                ),
                TemplateIn(
                    language="en",
                    channel="email",
                    subject="Order {{ payload.order_id }} shipped",
                    body="Hello {{ customer.first_name }}, order {{ payload.order_id }} is on its way.",
                ),
            ],
        ),
    )


@pytest.fixture
def make_trigger(db: None) -> Callable[..., Trigger]:
    def make(**fields: Any) -> Trigger:
        templates = fields.pop("templates", None) or [TemplateIn(language="uk", body="{{ payload }}")]
        defaults: dict[str, Any] = {"name": fields.get("event_type", "t"), "topic": "service"}
        return create_trigger(actor=SYSTEM, data=TriggerIn(**{**defaults, **fields, "templates": templates}))

    return make
