"""Fill the crash test's database: customers who can be reached by SMS and email, and an incident notice
planned for each of them by the real broadcast (``incidents.broadcast``), so the outbox holds exactly one
queued message per customer.

Run by the crash test in a process of its own, pointed at its database by ``FOREWARN_DATABASE_URL``:

    python tests/crash/seed.py --customers 20000
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import time, timedelta

BATCH = 5000


def seed(customers: int) -> int:
    from forewarn.core import clock
    from forewarn.customers.models import Customer, Identity
    from forewarn.engage.models import Incident, Message
    from forewarn.engage.services import incidents

    now = clock.now()
    for start in range(0, customers, BATCH):
        numbers = range(start, min(start + BATCH, customers))
        made = Customer.objects.bulk_create(
            Customer(
                given_name="Олена",
                family_name=f"Крашенко {n}",
                language=("uk", "ru", "en")[n % 3],
                time_zone="Europe/Kyiv",
                # Quiet all day long: only a critical notice goes, so nothing waits for the morning.
                quiet_hours_start=time(0, 0),
                quiet_hours_end=time(23, 59),
                preferred_channel="sms" if n % 2 else "email",
                attributes={"crash_test": True},
                search_text=f"олена крашенко {n}",
                created_at=now,
                updated_at=now,
            )
            for n in numbers
        )
        identities = []
        for n, customer in zip(numbers, made, strict=True):
            identities.append(
                Identity(customer=customer, kind="phone", value=f"+38067{n:07d}", is_primary=True,
                         source="import", created_at=now)
            )  # fmt: skip
            identities.append(
                Identity(customer=customer, kind="email", value=f"crash{n}@ukr.net", is_primary=True,
                         source="import", created_at=now)
            )  # fmt: skip
        Identity.objects.bulk_create(identities, batch_size=BATCH)
    incident = Incident.objects.create(
        title="Crash test outage",
        audience={"attributes": {"crash_test": True}},
        area="everywhere",
        started_at=now - timedelta(minutes=5),
        critical=True,
        notice={lang: incidents.default_notice(lang) for lang in ("uk", "ru", "en")},
        resolution={lang: incidents.default_resolution(lang) for lang in ("uk", "ru", "en")},
        affected_count=customers,
        created_at=now,
    )
    incidents.broadcast(incident.pk, incidents.NOTICE)
    return Message.objects.filter(status="queued").count()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forewarn.settings")
    import django

    django.setup()
    queued = seed(args.customers)
    print(f"queued={queued}")
    return 0 if queued == args.customers else 1


if __name__ == "__main__":
    sys.exit(main())
