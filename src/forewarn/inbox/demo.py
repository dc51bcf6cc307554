"""The helpdesk of the demo world: a Kyiv office calendar, SLA policies (VIPs promised a faster answer,
by policy), routing to the Kyiv support team, agents online, canned replies in three languages, and a
morning's email: some answered, some waiting, one that has waited for days and went to head office."""

from __future__ import annotations

import random
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import Team, User
from forewarn.core import clock
from forewarn.customers.models import Customer, Identity, Segment
from forewarn.inbox.models import (
    AgentState,
    BusinessCalendar,
    CannedReply,
    Presence,
    RoutingRule,
    SlaPolicy,
    Ticket,
)
from forewarn.inbox.services import replies, sla
from forewarn.inbox.services.intake.email import receive_email

OFFICE_HOURS = {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")} | {
    "sat": ["10:00-15:00"]
}
CANNED = [
    ("hello", "uk", "Вітання", "Вітаю, {{ customer.first_name }}! Звернення №{{ ticket.id }} отримали."),
    ("hello", "ru", "Привет", "Добрый день, {{ customer.first_name }}! Обращение №{{ ticket.id }} принято."),
    ("hello", "en", "Greeting", "Hello {{ customer.first_name }}, we have your request #{{ ticket.id }}."),
    ("parcel", "uk", "Посилка в дорозі", "Посилка в дорозі й прибуде за два робочі дні. {{ agent.name }}"),
    ("parcel", "ru", "Посылка в пути", "Посылка в пути и прибудет за два рабочих дня. {{ agent.name }}"),
    ("parcel", "en", "Parcel on its way", "Your parcel arrives within two working days. {{ agent.name }}"),
]  # fmt: skip
# Olena's first word on a request, in the language it was written in.
FIRST_ANSWERS = {
    "uk": "Дякуємо, перевіряємо й повернемося з відповіддю.",
    "ru": "Спасибо, проверяем и вернёмся с ответом.",
    "en": "Thank you, we are looking into it and will come back with an answer.",
}
QUESTIONS = {
    "uk": [
        ("Де моя посилка?", "Добрий день! Замовлення досі не прийшло, підкажіть, будь ласка, де воно."),
        ("Неправильний рахунок", "У рахунку за листопад сума вдвічі більша, ніж зазвичай."),
        ("Не працює інтернет", "З ранку немає зв'язку вдома, роутер перезавантажувала."),
    ],
    "ru": [
        ("Где мой заказ?", "Здравствуйте, заказ должен был прийти вчера, но его всё нет."),
        ("Возврат денег", "Вернул товар неделю назад, деньги так и не пришли."),
    ],
    "en": [
        ("Flight delayed", "My flight was delayed by four hours; what are my options?"),
        ("Card blocked", "My card was blocked after a payment abroad, please help."),
    ],
}


def set_up_helpdesk(*, seed: int) -> int:
    """Policies, routing, canned replies and a morning's email; returns how many tickets it opened."""
    if SlaPolicy.objects.exists():
        return 0
    calendar = BusinessCalendar.objects.create(
        name="Kyiv office", time_zone="Europe/Kyiv", country="UA", hours=OFFICE_HOURS
    )
    vip = Segment.objects.filter(slug="vip").first()
    if vip is not None:
        SlaPolicy.objects.create(
            name="VIP",
            rank=10,
            segment=vip,
            calendar=calendar,
            first_response_minutes=30,
            resolution_minutes=4 * 60,
        )
    SlaPolicy.objects.create(
        name="Urgent", rank=20, priority="urgent", first_response_minutes=30, resolution_minutes=8 * 60
    )
    SlaPolicy.objects.create(
        name="Standard",
        rank=100,
        calendar=calendar,
        first_response_minutes=4 * 60,
        resolution_minutes=3 * 9 * 60,
    )
    support = Team.objects.filter(name="Kyiv support").first()
    if support is not None:
        RoutingRule.objects.create(rank=100, team=support)
    for username in ("olena", "andrii", "taras"):
        user = User.objects.filter(username=username).first()
        if user is not None:
            AgentState.objects.update_or_create(
                user=user,
                defaults={"presence": Presence.ONLINE, "languages": ["uk", "ru", "en"], "max_open": 8},
            )
    for shortcut, language, title, body in CANNED:
        CannedReply.objects.create(shortcut=shortcut, language=language, title=title, body=body)
    return _morning_mail(random.Random(seed))  # noqa: S311 - demo data, not secrets


def _morning_mail(rng: random.Random) -> int:
    people = list(
        Identity.objects.filter(kind="email", customer__status=Customer.Status.ACTIVE)
        .select_related("customer")
        .order_by("pk")[:400]
    )
    if not people:
        return 0
    now = clock.now()
    olena = User.objects.filter(username="olena").first()
    opened = 0
    # One from five working days ago that nobody answered: the sweep sends it to head office.
    ages = [timedelta(days=6), *(timedelta(minutes=rng.randint(5, 600)) for _ in range(11))]
    for n, age in enumerate(ages):
        identity = rng.choice(people)
        language = identity.customer.language if identity.customer.language in QUESTIONS else "uk"
        subject, body = rng.choice(QUESTIONS[language])
        message = EmailMessage()
        message["From"] = f"{identity.customer.full_name} <{identity.value}>"
        message["To"] = "care@forewarn.example"
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="mail.example")
        message["Date"] = format_datetime(now - age)
        message.set_content(body)
        with clock.frozen_at(now - age):
            received = receive_email(message.as_bytes())
            ticket = Ticket.objects.get(pk=received.ticket_id or 0)
            if olena is not None and n % 3 == 1:
                clock.advance(timedelta(minutes=rng.randint(3, 40)))
                replies.add_entry(
                    actor=Actor.of(olena),
                    ticket=ticket,
                    text=FIRST_ANSWERS[language],
                )
        opened += 1
    sla.sweep(now)
    return opened
