"""The demo world's journeys: five triggers that show what Forewarn says first, and a day of events.

Order shipped; the first bill explained (and a reminder if it is not paid in three days); a flight
delayed by more than half an hour, with an offer valid while the passenger waits; a product viewed three
times in a week, with an offer (or, for an unhappy customer, a gentler retention note); a password about
to expire. Events go through the real ingestion path, so the policy decides on each message.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from faker import Faker

from forewarn.accounts.actors import Actor
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.engage.models import EventSource, Trigger, UnknownCustomer
from forewarn.engage.services.ingest import EventIn, ingest_events
from forewarn.engage.services.triggers import TemplateIn, TriggerIn, create_trigger
from forewarn.privacy.detect import luhn_ok

DEMO = Actor.system("demo")


def _t(language: str, body: str, subject: str = "", variant: str = "standard") -> TemplateIn:
    return TemplateIn(language=language, body=body, subject=subject, variant=variant)


TRIGGERS = [
    TriggerIn(
        name="Order shipped",
        slug="order-shipped",
        event_type="order_shipped",
        topic="transactional",
        priority=70,
        allow_digest=True,
        dedup_key="order-shipped:{{ payload.order_id }}",
        templates=[
            _t(
                "uk",
                "{{ customer.first_name }}, замовлення №{{ payload.order_id }} вже в дорозі ({{ payload.carrier }}). "
                "Номер для відстеження: {{ payload.tracking }}.",
                "Замовлення №{{ payload.order_id }} відправлено",
            ),
            _t(
                "ru",
                "{{ customer.first_name }}, заказ №{{ payload.order_id }} уже в пути ({{ payload.carrier }}). "
                "Номер для отслеживания: {{ payload.tracking }}.",
                "Заказ №{{ payload.order_id }} отправлен",
            ),
            _t(
                "en",
                "{{ customer.first_name }}, order {{ payload.order_id }} is on its way ({{ payload.carrier }}). "
                "Tracking number: {{ payload.tracking }}.",
                "Order {{ payload.order_id }} has shipped",
            ),
        ],
    ),
    TriggerIn(
        name="First bill explained",
        slug="first-bill",
        event_type="bill_issued",
        topic="service",
        priority=60,
        conditions=[{"history": {"type": "bill_issued", "max": 1}}],
        dedup_key="first-bill",
        templates=[
            _t(
                "uk",
                "{{ customer.first_name }}, це ваш перший рахунок: {{ payload.amount|money }} за {{ payload.period|month }}. "
                "Абонплата {{ payload.plan_fee|money }}, решта — підключення, яке більше не повториться. "
                "Сплатити до {{ payload.due_date }}.",
                "Ваш перший рахунок: {{ payload.amount|money }}",
            ),
            _t(
                "ru",
                "{{ customer.first_name }}, это ваш первый счёт: {{ payload.amount|money }} за {{ payload.period|month }}. "
                "Абонплата {{ payload.plan_fee|money }}, остальное — подключение, которое больше не повторится. "
                "Оплатить до {{ payload.due_date }}.",
                "Ваш первый счёт: {{ payload.amount|money }}",
            ),
            _t(
                "en",
                "{{ customer.first_name }}, this is your first bill: {{ payload.amount|money }} for "
                "{{ payload.period|month }}. The plan is {{ payload.plan_fee|money }}; the rest is the one-off "
                "connection fee. Due by {{ payload.due_date }}.",
                "Your first bill: {{ payload.amount|money }}",
            ),
        ],
    ),
    TriggerIn(
        name="Bill not paid in 3 days",
        slug="bill-reminder",
        event_type="bill_issued",
        topic="service",
        priority=50,
        wait_seconds=3 * 86400,
        cancel_on_event="payment_received",
        cancel_match=["bill_id"],
        dedup_key="bill-reminder:{{ payload.bill_id }}",
        templates=[
            _t("uk", "{{ customer.first_name }}, нагадуємо: рахунок {{ payload.amount|money }} чекає оплати до {{ payload.due_date }}.", "Нагадуємо про оплату рахунку до {{ payload.due_date }}"),
            _t("ru", "{{ customer.first_name }}, напоминаем: счёт {{ payload.amount|money }} ждёт оплаты до {{ payload.due_date }}.", "Напоминаем об оплате счёта до {{ payload.due_date }}"),
            _t("en", "{{ customer.first_name }}, a reminder: your bill of {{ payload.amount|money }} is due by {{ payload.due_date }}.", "A reminder: your bill is due by {{ payload.due_date }}"),
        ],
    ),
    TriggerIn(
        name="Flight delayed",
        slug="flight-delayed",
        event_type="flight_delayed",
        topic="service",
        priority=85,
        conditions=[{"path": "payload.delay_minutes", "op": "gte", "value": 30}],
        # A delay notice that cannot arrive before the new departure is of no use: it expires.
        ttl_seconds=2 * 3600,
        when_late="expire",
        dedup_key="flight-delayed:{{ payload.flight }}:{{ payload.date }}",
        extras={"code": "WAIT20", "discount": "20%"},
        templates=[
            _t(
                "uk",
                "{{ customer.first_name }}, рейс {{ payload.flight }} затримується на {{ payload.delay_minutes }} хв; "
                "новий виліт о {{ local(payload.new_departure, '%H:%M') }}. Поки чекаєте — знижка {{ offer.discount }} "
                "у кафе терміналу за кодом {{ offer.code }}, дійсна до вильоту.",
                "Рейс {{ payload.flight }} затримується",
            ),
            _t(
                "ru",
                "{{ customer.first_name }}, рейс {{ payload.flight }} задерживается на {{ payload.delay_minutes }} мин; "
                "новый вылет в {{ local(payload.new_departure, '%H:%M') }}. Пока ждёте — скидка {{ offer.discount }} "
                "в кафе терминала по коду {{ offer.code }}, действует до вылета.",
                "Рейс {{ payload.flight }} задерживается",
            ),
            _t(
                "en",
                "{{ customer.first_name }}, flight {{ payload.flight }} is delayed by {{ payload.delay_minutes }} "
                "minutes; new departure {{ local(payload.new_departure, '%H:%M') }}. While you wait: "
                "{{ offer.discount }} off at the terminal café with code {{ offer.code }}, valid until departure.",
                "Flight {{ payload.flight }} is delayed",
            ),
        ],
    ),
    TriggerIn(
        name="Product viewed 3 times",
        slug="viewed-thrice",
        event_type="product_viewed",
        topic="marketing",
        priority=30,
        conditions=[{"history": {"type": "product_viewed", "same": ["sku"], "within_days": 7, "min": 3}}],
        dedup_key="viewed-thrice:{{ payload.sku }}",
        extras={"code": "LOOK10", "discount": "10%"},
        templates=[
            _t("uk", "{{ customer.first_name }}, «{{ payload.name }}» досі чекає на вас — зі знижкою {{ offer.discount }} за кодом {{ offer.code }} до неділі.", "«{{ payload.name }}» зі знижкою {{ offer.discount }} до неділі"),
            _t("ru", "{{ customer.first_name }}, «{{ payload.name }}» всё ещё ждёт вас — со скидкой {{ offer.discount }} по коду {{ offer.code }} до воскресенья.", "«{{ payload.name }}» со скидкой {{ offer.discount }} до воскресенья"),
            _t("en", "{{ customer.first_name }}, “{{ payload.name }}” is still waiting for you: {{ offer.discount }} off with code {{ offer.code }} until Sunday.", "“{{ payload.name }}”: {{ offer.discount }} off until Sunday"),
            _t("uk", "{{ customer.first_name }}, нам шкода, що останнім часом не все було гаразд. Якщо щось потрібно — просто відповідайте на це повідомлення.", "Ми поруч, якщо щось потрібно", variant="retention"),
            _t("ru", "{{ customer.first_name }}, нам жаль, что в последнее время не всё было хорошо. Если что-то нужно — просто ответьте на это сообщение.", "Мы рядом, если что-то нужно", variant="retention"),
            _t("en", "{{ customer.first_name }}, we are sorry things have not been right lately. If you need anything, just reply to this message.", "We are here if you need anything", variant="retention"),
        ],
    ),
    TriggerIn(
        name="Password expiring",
        slug="password-expiring",
        event_type="password_expiring",
        topic="transactional",
        priority=80,
        conditions=[{"path": "payload.days_left", "op": "lte", "value": 3}],
        dedup_key="password-expiring:{{ payload.expires_on }}",
        templates=[
            _t("uk", "{{ customer.first_name }}, ваш пароль спливає {{ payload.expires_on }}. Змініть його в особистому кабінеті; ми ніколи не просимо пароль у повідомленнях.", "Ваш пароль спливає {{ payload.expires_on }}"),
            _t("ru", "{{ customer.first_name }}, ваш пароль истекает {{ payload.expires_on }}. Смените его в личном кабинете; мы никогда не просим пароль в сообщениях.", "Ваш пароль истекает {{ payload.expires_on }}"),
            _t("en", "{{ customer.first_name }}, your password expires on {{ payload.expires_on }}. Change it in your account; we never ask for passwords in messages.", "Your password expires on {{ payload.expires_on }}"),
        ],
    ),
]  # fmt: skip


def ensure_triggers() -> None:
    for data in TRIGGERS:
        if not Trigger.objects.filter(slug=data.slug).exists():
            create_trigger(actor=DEMO, data=data)
    now = clock.now()
    for slug in ("shop", "billing", "airline", "web", "identity"):
        EventSource.objects.get_or_create(
            slug=slug, defaults={"created_at": now, "unknown_customer": UnknownCustomer.REJECT}
        )


def _events(rng: random.Random, ids: list[int]) -> list[EventIn]:
    now = clock.now()
    events: list[EventIn] = []

    def add(
        source: str, key: str, kind: str, customer: int, payload: dict[str, Any], *, ago: timedelta
    ) -> None:
        events.append(
            EventIn(
                source=source,
                id=key,
                type=kind,
                customer={"customer_id": customer},
                payload=payload,
                occurred_at=now - ago,
            )
        )

    for n, cid in enumerate(rng.sample(ids, min(120, len(ids)))):
        order = f"{100500 + n}"
        carrier = rng.choice(["Нова пошта", "Укрпошта", "Meest"])
        tracking = f"2045{rng.randrange(10**10):010d}"
        add(
            "shop",
            f"ship-{order}",
            "order_shipped",
            cid,
            {"order_id": order, "carrier": carrier, "tracking": tracking},
            ago=timedelta(minutes=n),
        )
    for n, cid in enumerate(rng.sample(ids, min(80, len(ids)))):
        bill = f"B-{2026110 + n}"
        payload = {
            "bill_id": bill,
            "amount": 389.5,
            "plan_fee": 250,
            "period": "2026-11",
            "due_date": "05.12.2026",
        }
        add("billing", bill, "bill_issued", cid, payload, ago=timedelta(days=rng.choice([0, 1, 4])))
        if rng.random() < 0.5:
            add("billing", f"pay-{bill}", "payment_received", cid, {"bill_id": bill}, ago=timedelta(hours=2))
    for n, cid in enumerate(rng.sample(ids, min(25, len(ids)))):
        delay = rng.choice([15, 35, 35, 50, 90])
        departure = (now + timedelta(minutes=delay + 40)).isoformat()
        payload = {
            "flight": f"PS{700 + n}",
            "date": now.date().isoformat(),
            "delay_minutes": delay,
            "new_departure": departure,
        }
        add("airline", f"delay-PS{700 + n}-{cid}", "flight_delayed", cid, payload, ago=timedelta(minutes=5))
    for cid in rng.sample(ids, min(40, len(ids))):
        sku = rng.choice(["TV-55-OLED", "PHONE-X2", "KETTLE-S"])
        # Model names, read the same in every language.
        name = {"TV-55-OLED": "OLED 55", "PHONE-X2": "Nova X2", "KETTLE-S": "Aqua S1"}[sku]
        for view in range(3):
            add(
                "web",
                f"view-{cid}-{sku}-{view}",
                "product_viewed",
                cid,
                {"sku": sku, "name": name},
                ago=timedelta(days=2 - view),
            )
    for cid in rng.sample(ids, min(20, len(ids))):
        expires = (now + timedelta(days=2)).date()
        add(
            "identity",
            f"pwd-{cid}-{expires.isoformat()}",
            "password_expiring",
            cid,
            {"days_left": 2, "expires_on": expires.strftime("%d.%m.%Y")},
            ago=timedelta(0),
        )
    # Customers answer with their card, passport or tax numbers in the text: stored masked (privacy).
    fake = Faker("uk_UA")
    fake.seed_instance(rng.randrange(10**6))
    for n, cid in enumerate(rng.sample(ids, min(30, len(ids)))):
        card = _card(f"4149{rng.randrange(10**11):011d}")
        text = rng.choice(REPLIES).format(
            card=card,
            phone=f"+380 {rng.choice(['50', '67', '93'])} {rng.randrange(100, 999)} {rng.randrange(10, 99)} "
            f"{rng.randrange(10, 99)}",
            passport=f"{rng.choice('АВЕКМН')}{rng.choice('АВЕКМН')} {rng.randrange(10**5, 10**6)}",
            email=fake.free_email(),
        )
        add(
            "sms",
            f"reply-{n}-{cid}",
            "message_replied",
            cid,
            {"channel": "sms", "text": text},
            ago=timedelta(hours=n),
        )
    events.sort(key=lambda e: e.occurred_at or now)
    return events  # fmt: skip


REPLIES = (
    "Доброго дня! Гроші списали двічі з картки {card}, поверніть, будь ласка.",
    "Передзвоніть мені на {phone}, бо на цей номер не можу говорити.",
    "Для ідентифікації: паспорт {passport}, пишіть на {email}.",
    "Здравствуйте, с карты {card} списали лишнее, мой телефон {phone}.",
    "Please call me back on {phone}, my card {card} was charged twice.",
)


def _card(digits: str) -> str:
    """Fifteen digits and the check digit that makes them pass Luhn, as a real card number would."""
    for last in "0123456789":
        if luhn_ok(digits + last):
            full = digits + last
            return " ".join(full[i : i + 4] for i in range(0, 16, 4))
    raise AssertionError("unreachable: one last digit always fits")


def play_journeys(*, seed: int) -> int:
    """Set up the demo triggers and feed them a day of events; returns how many events went in."""
    ensure_triggers()
    rng = random.Random(seed)  # noqa: S311 - repeatable demo data
    ids = list(
        Customer.objects.filter(status=Customer.Status.ACTIVE).order_by("pk").values_list("pk", flat=True)
    )
    if not ids:
        return 0
    # A few unhappy customers, so the policy's care for them shows.
    unhappy = rng.sample(ids, max(1, len(ids) // 50))
    for n, cid in enumerate(unhappy):
        customer = Customer.objects.get(pk=cid)
        customer.attributes = {
            **customer.attributes,
            **({"churn_risk": True} if n % 2 else {"last_nps": 3, "last_nps_at": clock.now().isoformat()}),
        }
        customer.save(update_fields=["attributes"])
    events = _events(rng, ids)
    for start in range(0, len(events), 500):
        ingest_events(actor=DEMO, items=events[start : start + 500])
    return len(events)  # fmt: skip
