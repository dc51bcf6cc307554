"""Every word a customer reads is in the customer's language, and every email has a subject.

A day of the demo's journeys, an incident's notice and its "fixed", an agent's answer and a promotion
with its way out, sent through the API to Ukrainian, Russian and English customers on each channel, then
read as the provider got them. What people supplied (names, a title, a carrier, a product) is taken out
first: the check is on the words Forewarn writes itself, its templates, its filters and its footers.
Then the unsubscribe page a customer opens from such a message, whatever language their browser asks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from django.test import Client

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.channels.models import LocalDelivery
from forewarn.core import clock
from forewarn.customers.models import Customer
from forewarn.customers.services.profiles import ConsentIn, IdentityIn, ProfileIn, create_customer
from forewarn.engage.demo import TRIGGERS, ensure_triggers
from forewarn.engage.models import Message, MessageStatus
from forewarn.engage.services.outbox import dispatch_once
from forewarn.engage.services.rules import replace_caps
from forewarn.engage.services.triggers import TemplateIn, TriggerIn, create_trigger
from forewarn.engage.services.waits import release_due_waits
from forewarn.engage.services.words import Words, write

SYSTEM = Actor.system("tests")
LANGUAGES = ("uk", "ru", "en")
CHANNELS = ("email", "sms", "telegram", "viber")
FIRST_NAMES = {"uk": "Марія", "ru": "Мария", "en": "John"}
TOPICS = ("service", "marketing", "surveys")
# Names of things, the same in every language.
NAMES = {"SMS", "Telegram", "Viber", "Re"}
# What people supplied, which Forewarn writes as it was given.
SUPPLIED = ("Meest", "OLED", "Немає світла", "Поділ", *FIRST_NAMES.values())
CYRILLIC = re.compile(r"[А-Яа-яЁёІіЇїЄєҐґ]")
LETTERS = re.compile(r"[^\W\d_]+")


def words_out_of_place(text: str, language: str, supplied: Iterable[str] = SUPPLIED) -> list[str]:
    """The words of ``text`` that are not in ``language`` (codes, numbers, links and supplied values
    taken out first): Latin words in Ukrainian or Russian, Cyrillic ones in English."""
    for value in sorted(supplied, key=len, reverse=True):
        text = text.replace(value, " ")
    text = re.sub(r"https?://\S+|\S*\d\S*", " ", text)
    found = LETTERS.findall(text)
    if language == "en":
        return [w for w in found if CYRILLIC.search(w)]
    return [w for w in found if w.isascii() and w not in NAMES]


def person(language: str, channel: str, n: int, **extra: Any) -> Customer:
    return create_customer(
        actor=SYSTEM,
        data=ProfileIn(
            given_name=FIRST_NAMES[language],
            language=language,
            preferred_channel=channel,
            identities=[
                IdentityIn(kind="email", value=f"person{n}@example.com"),
                IdentityIn(kind="phone", value=f"+38067100{n:04d}"),
                IdentityIn(kind="telegram", value=f"5550{n:04d}"),
                IdentityIn(kind="viber", value=f"viber{n:04d}="),
            ],
            consents=[ConsentIn(topic=t, channel=c, status="granted") for t in TOPICS for c in CHANNELS],
            **extra,
        ),
        source="tests",
    )


def journeys(n: int) -> list[dict[str, Any]]:
    """One person's day with the demo's journeys, each event as its system sends it."""
    now = clock.now()

    def event(kind: str, key: str, payload: dict[str, Any], ago: timedelta = timedelta(0)) -> dict[str, Any]:
        return {
            "source": "tests",
            "id": f"{key}-{n}",
            "type": kind,
            "customer": {"email": f"person{n}@example.com"},
            "payload": payload,
            "occurred_at": (now - ago).isoformat(),
        }

    bill = {
        "bill_id": f"B-{n}",
        "amount": 1389.5,
        "plan_fee": 250,
        "period": "2026-11",
        "due_date": "05.12.2026",
    }
    departure = (now + timedelta(hours=1)).isoformat()
    flight = {"flight": "PS701", "date": "2026-03-10", "delay_minutes": 50, "new_departure": departure}
    return [
        event(
            "order_shipped", "ship", {"order_id": "100500", "carrier": "Meest", "tracking": "2045000000001"}
        ),
        event("bill_issued", "bill", bill),
        event("flight_delayed", "delay", flight),
        event("password_expiring", "pwd", {"days_left": 2, "expires_on": "12.03.2026"}),
        *viewed(n),
    ]


def viewed(n: int) -> list[dict[str, Any]]:
    now = clock.now()
    return [
        {
            "source": "tests",
            "id": f"view-{n}-{day}",
            "type": "product_viewed",
            "customer": {"email": f"person{n}@example.com"},
            "payload": {"sku": "TV-55-OLED", "name": "OLED 55"},
            "occurred_at": (now - timedelta(days=day)).isoformat(),
        }
        for day in (2, 1, 0)
    ]


def ticket_email(customer: Customer, n: int) -> bytes:
    questions = {"uk": "Де моя посилка?", "ru": "Где мой заказ?", "en": "Where is my parcel?"}
    message = EmailMessage()
    message["From"] = f"{customer.given_name} <person{n}@example.com>"
    message["To"] = "care@forewarn.example"
    message["Subject"] = questions[customer.language]
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content(questions[customer.language])
    return message.as_bytes()


ANSWERS = {
    "uk": "Посилка вже у відділенні, можна забирати.",
    "ru": "Посылка уже в отделении, можно забирать.",
    "en": "Your parcel is at the branch; you can collect it.",
}


def everyone() -> dict[int, Customer]:
    """A happy and an unhappy customer for each language and channel, by number."""
    people: dict[int, Customer] = {}
    for language in LANGUAGES:
        for channel in CHANNELS:
            n = len(people) + 1
            people[n] = person(language, channel, n)
            # Someone unhappy lately gets the gentler note instead of the promotion.
            people[n + 1] = person(language, channel, n + 1, attributes={"churn_risk": True})
    return people


def ask_and_answer(gateway: Any, agent: Any, people: dict[int, Customer]) -> None:
    """Those who prefer email write with a question; an agent working in English answers each."""
    for n, customer in people.items():
        if customer.preferred_channel == "email" and not customer.attributes:
            raw = ticket_email(customer, n)
            gateway.client.post(
                "/api/v1/inbox/email", data=raw, content_type="message/rfc822", headers=gateway.headers
            )
    for ticket in agent.get("/api/v1/tickets").json()["items"]:
        language = Customer.objects.get(pk=ticket["customer_id"]).language
        answer = agent.post(f"/api/v1/tickets/{ticket['id']}/entries", {"text": ANSWERS[language]})
        assert answer.status_code == 201, answer.content


def send_everything_due() -> None:
    while dispatch_once():
        pass


def what_was_said() -> dict[tuple[str, str], set[tuple[str, str]]]:
    """{(channel, language): {(trigger or kind, variant)}} of every message sent (or sent in a digest)."""
    said: dict[tuple[str, str], set[tuple[str, str]]] = {}
    sent = Message.objects.filter(status__in=[MessageStatus.SENT, MessageStatus.MERGED])
    for m in sent.select_related("trigger", "customer"):
        what = m.trigger.slug if m.trigger else m.kind
        said.setdefault((m.channel, m.customer.language), set()).add((what, m.variant))
    return said


def wrong_words(people: dict[int, Customer]) -> list[tuple[str, str, str, str]]:
    """(language, channel, what is wrong, the words) of every message as its provider got it."""
    language_at = {i.value: c.language for c in people.values() for i in c.identities.all()}
    wrong = []
    for delivery in LocalDelivery.objects.all():
        language = language_at[delivery.address]
        if delivery.channel == "email" and not delivery.subject.strip():
            wrong.append((language, delivery.channel, "no subject", delivery.body))
        out = words_out_of_place(f"{delivery.subject}\n{delivery.body}", language)
        if out:
            wrong.append((language, delivery.channel, " ".join(out), f"{delivery.subject} | {delivery.body}"))
    return wrong


@pytest.mark.usefixtures("afternoon")
def test_every_word_a_customer_reads_is_in_their_language_and_every_email_has_a_subject(
    api_as: Callable[..., Any], shop: User, taras: User, olena: User, ada: User
) -> None:
    ensure_triggers()
    replace_caps(actor=SYSTEM, caps=[])  # every message of the day goes today
    people = everyone()
    events = [e for n, c in people.items() for e in (viewed(n) if c.attributes else journeys(n))]
    assert api_as(shop).post("/api/v1/events", {"events": events}).json()["rejected"] == 0
    affected = [c.pk for c in people.values() if not c.attributes]
    incident = {"title": "Немає світла", "area": "Поділ", "audience": {"customer_ids": affected}}
    declared = api_as(taras).post("/api/v1/incidents", incident)
    assert declared.status_code == 201, declared.content
    send_everything_due()
    ask_and_answer(api_as(ada), api_as(olena), people)
    api_as(taras).post(f"/api/v1/incidents/{declared.json()['id']}/resolve")
    clock.advance(timedelta(days=3, hours=1))  # the bill is still not paid: its reminder
    release_due_waits()
    send_everything_due()

    journeys_said = {(t.slug, "standard") for t in TRIGGERS} | {("viewed-thrice", "retention")}
    incident_said = {("notice", "standard"), ("resolved", "standard")}
    assert what_was_said() == {
        (channel, language): journeys_said
        | incident_said
        | ({("answer", "standard")} if channel == "email" else set())
        for language in LANGUAGES
        for channel in CHANNELS
    }
    assert wrong_words(people) == []


def test_the_way_out_is_written_in_each_language_on_each_channel(
    api_as: Callable[..., Any], shop: User, afternoon: Any
) -> None:
    ensure_triggers()
    replace_caps(actor=SYSTEM, caps=[])
    people = {}
    for n, (language, channel) in enumerate(((lang, ch) for lang in LANGUAGES for ch in CHANNELS), start=1):
        people[n] = person(language, channel, n)
    api_as(shop).post("/api/v1/events", {"events": [e for n in people for e in viewed(n)]})
    dispatch_once()
    footers = {
        (d.language, d.channel): d.body.rsplit("\n\n", 1)[-1].split("http")[0].strip()
        for d in LocalDelivery.objects.all()
    }
    assert footers == {
        ("uk", "email"): "Відписатися:",
        ("uk", "sms"): "Щоб відписатися, надішліть СТОП.",
        ("uk", "telegram"): "Відписатися:",
        ("uk", "viber"): "Відписатися:",
        ("ru", "email"): "Отписаться:",
        ("ru", "sms"): "Чтобы отписаться, отправьте СТОП.",
        ("ru", "telegram"): "Отписаться:",
        ("ru", "viber"): "Отписаться:",
        ("en", "email"): "Unsubscribe:",
        ("en", "sms"): "Reply STOP to unsubscribe.",
        ("en", "telegram"): "Unsubscribe:",
        ("en", "viber"): "Unsubscribe:",
    }


def test_an_email_from_a_template_without_a_subject_takes_its_first_sentence(db: None) -> None:
    words = Words({("standard", "", "uk"): ("", "{{ customer.first_name }}, посилка в дорозі. Трек: 123.")})
    context = {"customer": {"first_name": "Марія", "language": "uk"}}
    on_email = write(words, context, variant="standard", channel="email", recipient_id=0)
    by_sms = write(words, context, variant="standard", channel="sms", recipient_id=0)
    assert on_email is not None
    assert by_sms is not None
    assert (on_email.subject, on_email.kept_subject) == ("Марія, посилка в дорозі", "Марія, посилка в дорозі")
    assert by_sms.subject == ""
    long = Words({("standard", "", "en"): ("", "word " * 40)})
    written = write(
        long, {"customer": {"language": "en"}}, variant="standard", channel="email", recipient_id=0
    )
    assert written is not None
    assert written.subject.endswith("…")
    assert len(written.subject) <= 78


def test_an_email_template_without_a_subject_is_refused(api_as: Callable[..., Any], ada: User) -> None:
    answer = api_as(ada).post(
        "/api/v1/triggers",
        {
            "name": "Order shipped",
            "event_type": "order_shipped",
            "topic": "transactional",
            "templates": [
                {"language": "uk", "body": "Замовлення в дорозі."},
                {"language": "uk", "channel": "email", "body": "Замовлення в дорозі.", "subject": " "},
            ],
        },
    )
    assert answer.status_code == 422
    assert [(f["path"], f["code"]) for f in answer.json()["error"]["fields"]] == [
        ("templates.1.subject", "required")
    ]
    create_trigger(
        actor=SYSTEM,
        data=TriggerIn(
            name="Any channel",
            event_type="order_shipped",
            topic="transactional",
            templates=[TemplateIn(language="uk", body="Замовлення в дорозі.")],
        ),
    )


# --- the unsubscribe page ---------------------------------------------------------------------------


def _promotion_link(api_as: Callable[..., Any], shop: User, language: str) -> str:
    ensure_triggers()
    customer = person(language, "email", 1)
    api_as(shop).post("/api/v1/events", {"events": viewed(1)})
    dispatch_once()
    body = LocalDelivery.objects.get(address="person1@example.com").body
    assert Message.objects.get(customer=customer).topic == "marketing"
    (url,) = re.findall(r"https?://\S+", body)
    return "/" + str(url).split("/", 3)[3]


def _text_of(page: str) -> str:
    """What the page says: its title and its main part, without the markup."""
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    main = page.split("<main", 1)[1].split(">", 1)[1]
    return f"{title} {re.sub(r'<[^>]+>', ' ', main)}"


@pytest.mark.parametrize("language", ["uk", "ru"])
def test_the_unsubscribe_page_speaks_the_customers_language_whatever_the_browser_asks(
    api_as: Callable[..., Any], shop: User, afternoon: Any, language: str
) -> None:
    link = _promotion_link(api_as, shop, language)
    browser = Client(headers={"Accept-Language": "en-GB,en;q=0.9"})

    shown = browser.get(link)
    assert shown.status_code == 200
    assert shown["Content-Language"] == language
    assert f'<html lang="{language}">' in shown.content.decode()
    assert words_out_of_place(_text_of(shown.content.decode()), language) == []
    done = browser.post(link, {"scope": "everything"})
    assert done.status_code == 200
    assert words_out_of_place(_text_of(done.content.decode()), language) == []
    said = {"uk": "Готово", "ru": "Готово"}[language]
    assert said in done.content.decode()


def test_the_unsubscribe_page_names_what_it_stops_in_the_customers_words(
    api_as: Callable[..., Any], shop: User, afternoon: Any
) -> None:
    link = _promotion_link(api_as, shop, "uk")
    shown = _text_of(Client().get(link).content.decode())
    assert "Ми надсилаємо вам пропозиції та новини електронною поштою." in " ".join(shown.split())
    done = _text_of(Client().post(link, {"scope": "topic"}).content.decode())
    assert "Ми більше не надсилатимемо вам пропозиції та новини електронною поштою." in " ".join(done.split())
    customer = Customer.objects.get()
    assert customer.consents.get(topic="marketing", channel="email").status == "denied"


def test_a_broken_unsubscribe_link_says_so_on_a_customers_page(db: None) -> None:
    answer = Client(headers={"Accept-Language": "uk"}).get("/u/forged-token/")

    assert answer.status_code == 404
    page = answer.content.decode()
    assert "Це посилання для відписки недійсне." in page
    assert "topbar" not in page  # nothing of the staff's screens
    assert words_out_of_place(_text_of(page), "uk") == []
