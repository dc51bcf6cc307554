"""The demo world speaks to each customer in their language: every message its journeys and its helpdesk
send (a Ukrainian, Russian or English customer's, on every channel) as the provider got it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from forewarn.channels.models import LocalDelivery
from forewarn.core import clock
from forewarn.customers.models import Customer, Identity
from forewarn.engage.services.outbox import dispatch_once
from forewarn.engage.tests.test_words import words_out_of_place
from forewarn.shell.demo import build_world

# 14:00 in Kyiv: nobody there is in quiet hours.
AFTERNOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
# What the demo's source systems send, written as they send it.
SUPPLIED = ("Нова пошта", "Укрпошта", "Meest", "OLED 55", "Nova X2", "Aqua S1")


@pytest.mark.usefixtures("immediate_tasks")
def test_every_message_of_the_demo_world_is_in_its_customers_language(
    db: None, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path  # where the demo keeps its sign-in accounts
    with clock.frozen_at(AFTERNOON):
        build_world(customers=150, seed=7)
        for _hours in range(0, 24, 6):  # customers far away are out of their quiet hours by then
            while dispatch_once():
                pass
            clock.advance(timedelta(hours=6))
    deliveries = list(LocalDelivery.objects.all())
    assert len({d.language for d in deliveries}) == 3
    owner = dict(Identity.objects.values_list("value", "customer_id"))
    customers = Customer.objects.in_bulk()
    wrong = []
    for delivery in deliveries:
        customer = customers[owner[delivery.address]]
        if delivery.channel == "email" and not delivery.subject.strip():
            wrong.append((customer.language, delivery.channel, "no subject", delivery.body))
        names = (customer.full_name, customer.given_name, customer.family_name, *SUPPLIED)
        out = words_out_of_place(f"{delivery.subject}\n{delivery.body}", customer.language, names)
        if out:
            wrong.append((customer.language, delivery.channel, " ".join(out), delivery.body))
    assert wrong == []
