"""No promotion to someone the inbox knows is unhappy: a customer whose problem is still open, or who
complained lately, gets the retention variant of a promotion, or nothing (the contact policy's risk
step, fed by the inbox's signal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.accounts.roles import Role
from forewarn.accounts.services import create_staff_user
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.engage.demo import ensure_triggers
from forewarn.engage.models import Message, Trigger
from forewarn.engage.services.rules import replace_caps
from forewarn.engage.tests.test_words import person, viewed
from forewarn.inbox.models import Ticket
from forewarn.inbox.services.intake.email import receive_email
from forewarn.inbox.services.unhappy import unhappy_customers

from .test_email import mail

SYSTEM = Actor.system("tests")
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def noon() -> Iterator[datetime]:
    with clock.frozen_at(NOON):
        yield NOON


@pytest.fixture
def shop(db: None) -> User:
    return create_staff_user(
        actor=SYSTEM, username="shop", password="shop-long-password-1", role=Role.ADMIN, check_password=False
    )


def _write_in(customer: Customer, n: int, subject: str, **change: Any) -> Ticket:
    received = receive_email(
        mail("Не працює інтернет з ранку", sender=f"person{n}@example.com", subject=subject).as_bytes()
    )
    assert received.ticket_id is not None
    ticket = Ticket.objects.get(pk=received.ticket_id)
    assert ticket.customer_id == customer.pk
    if change:
        Ticket.objects.filter(pk=ticket.pk).update(**change)
    return ticket


def _promotion_to(customer: Customer) -> Message:
    return Message.objects.get(customer=customer, trigger__slug="viewed-thrice")


def test_a_customer_with_open_tickets_or_a_recent_complaint_gets_no_plain_promotion(
    api_as: Callable[..., Any], shop: User, noon: datetime, immediate_tasks: None
) -> None:
    ensure_triggers()
    replace_caps(actor=SYSTEM, caps=[])
    down, content, complained, long_ago = (person("uk", "email", n) for n in (1, 2, 3, 4))
    for _ in range(3):
        _write_in(down, 1, "Не працює інтернет")
    _write_in(
        complained, 3, "Скарга", status="solved", tags=["complaint"], updated_at=noon - timedelta(days=3)
    )
    _write_in(long_ago, 4, "Скарга", status="closed", priority="urgent", updated_at=noon - timedelta(days=40))
    answer = api_as(shop).post("/api/v1/events", {"events": [e for n in (1, 2, 3, 4) for e in viewed(n)]})
    assert answer.status_code == 200, answer.content

    for unhappy, reason in ((down, "open_ticket"), (complained, "recent_complaint")):
        promotion = _promotion_to(unhappy)
        assert promotion.variant == "retention", reason
        assert ["risk", "switch", "retention_variant", reason] in promotion.trail
    for happy in (content, long_ago):
        assert _promotion_to(happy).variant == "standard"


def test_without_a_retention_variant_an_unhappy_customer_gets_nothing(
    api_as: Callable[..., Any], shop: User, noon: datetime, immediate_tasks: None
) -> None:
    ensure_triggers()
    replace_caps(actor=SYSTEM, caps=[])
    trigger = Trigger.objects.get(slug="viewed-thrice")
    trigger.templates.filter(variant="retention").delete()
    down = person("uk", "email", 1)
    _write_in(down, 1, "Не працює інтернет")
    api_as(shop).post("/api/v1/events", {"events": viewed(1)})
    promotion = _promotion_to(down)
    assert (promotion.status, promotion.reason) == ("suppressed", "at_risk")


def test_the_signal_reads_one_batch_and_names_each_reason(noon: datetime, db: None) -> None:
    down, solved, content = (person("en", "email", n) for n in (1, 2, 3))
    _write_in(down, 1, "Down", status="pending")
    _write_in(solved, 2, "Thanks", status="solved", updated_at=noon - timedelta(days=1))
    assert unhappy_customers([down.pk, solved.pk, content.pk], noon) == {down.pk: "open_ticket"}
    assert unhappy_customers([], noon) == {}
