"""The inbox at a million tickets: how fast an agent's list, a ticket page and a search answer over HTTP.

Builds a fresh PostgreSQL database of its own (``--pg-name``, dropped and made again; see ``benchdb``),
migrates it and creates the staff through the services (``accounts.services.create_staff_user``: a few
dozen agents in three teams, three supervisors and ``bench-agent``, whose password is set properly so the
real sign-in works). Then it loads, with ``COPY`` and without the secondary indexes and foreign-key
triggers (the indexes are built again afterwards, as the migrations define them):

- ``--tickets`` / 10 customers (names in Ukrainian, Russian and English; a few people write a lot);
- ``--tickets`` tickets over a year, mostly solved or closed, the active ones (new, open, pending, on
  hold) recently touched with a stale tail, on email, SMS, messengers, chat and phone, with priorities,
  tags, teams, assignees and a few missed SLA targets; ``bench-agent`` holds 0.2 % of them (2,000 of a
  million), with more of the active ones than the average agent;
- five entries per ticket (what the customer wrote, answers, internal notes) in Ukrainian, Russian and
  English from a vocabulary of about 3,000 words (base words and their inflected forms, Zipf-distributed,
  English words sprinkled into Cyrillic text), so the full-text index has realistic selectivity.

``VACUUM (ANALYZE)`` follows, as a database that has been running a while has its statistics and
visibility map. Then ``forewarn serve --no-worker`` starts on a free port, the benchmark signs in as
``bench-agent`` through the login form and, after a warm-up, sends ``--requests`` requests of each kind,
one after another on one keep-alive connection, the kinds interleaved round by round so that a noisy
neighbour hurts them alike:

- list: ``/inbox/?view=mine&status=<open|new|pending>&page=<1..3>``;
- open: ``/inbox/<id>/``, half of them the agent's own tickets, half any ticket it may see (its teams',
  those no team holds);
- search: ``/inbox/?q=<words>`` (view all, or mine), words frequent, common, rare, prefixes, two words,
  and a word nobody wrote, in Cyrillic and Latin;
- baseline: ``/health`` (one ``SELECT 1``): the server's floor on this machine now.

After the server stops, the slowest request of each kind (and of each search class) is replayed
in-process with its statements timed, and every statement slower than ``--explain-ms`` is shown with its
``EXPLAIN (ANALYZE, BUFFERS)``.

The last two lines read ``inbox: tickets=N list_p95_ms=X open_p95_ms=Y search_p95_ms=Z
baseline_p95_ms=B`` and the same figures over the baseline. The exit status is 1 when X or Y is 100 ms
or more, or Z 300 ms or more (or any request failed).

    python bench/inbox.py --tickets 20000                   # a quick check, about a minute
    python bench/inbox.py                                   # a million tickets, five million entries
    FOREWARN_DATABASE_URL=postgres://postgres@127.0.0.1:5432/forewarn python bench/inbox.py --keep
    python bench/inbox.py --reuse --requests 60                # again on the kept database, no loading
    python bench/inbox.py --reuse --against ../before          # before and after in one run

``--against CHECKOUT`` serves another checkout of the code (its own ``.venv``, the same migrations) on the
same database beside this one; every request goes to both, one right after the other, so the two meet the
same moment of a noisy machine. The figures of each follow, and ``this over against`` divides them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import random
import re
import secrets
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlencode

from benchdb import FAMILY, GIVEN, Server, is_postgres, scratch, setup_django

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
HOST = "127.0.0.1"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
BENCH_USER = "bench-agent"
AGENTS = 40
TEAMS = ("Підтримка", "Білінг", "Техпідтримка")
DAY = 86_400.0
YEAR = 365 * DAY
ENTRIES_PER_TICKET = 5
COPY_CHUNK = 5000
# Goals: an agent's list and a ticket page under 100 ms, a search under 300 ms (95th percentile).
LIST_GOAL_MS, OPEN_GOAL_MS, SEARCH_GOAL_MS = 100.0, 100.0, 300.0

# -- the vocabulary -----------------------------------------------------------------------------------
# Function words come first (the most frequent), then base words, then their inflected forms: the
# ``simple`` text-search configuration does not stem, so "замовлення" and "замовленням" are two words.

UK_STOP = """і та й в у на не що з із до за я ми ви він вона вони це як але вже ще так чи від по для мене
мені нам вас вам є був була було буде можна потрібно треба дуже коли тому якщо тут там також лише просто
мій моя наш ваш цей ця ось будь ласка дякую вибачте досі знову вчасно нарешті терміново сьогодні завтра
вчора"""
UK_WORDS = """замовлення доставка посилка відділення накладна оплата рахунок квитанція картка банк переказ
кошти гроші повернення знижка акція бонус промокод тариф пакет послуга підключення відключення інтернет
швидкість роутер модем кабель сигнал мережа дзвінок оператор менеджер консультант підтримка звернення
заявка скарга претензія відповідь питання проблема помилка збій аварія ремонт майстер монтаж заміна
лічильник показники світло електроенергія газ вода опалення борг заборгованість пеня договір абонент
кабінет додаток сайт пароль логін акаунт профіль пошта телефон номер адреса квартира будинок вулиця місто
область документ паспорт довідка фото скріншот чек гарантія товар телевізор ноутбук холодильник машина
кавоварка навушники зарядка екран батарея розмір колір модель магазин склад термін дата тиждень місяць
година хвилина ранок вечір субота неділя понеділок клієнт покупець продавець працівник керівник директор
відділ компанія сервіс якість ціна вартість сума комісія списання нарахування перерахунок баланс
поповнення виписка кредит депозит ліміт блокування розблокування код повідомлення лист розсилка відписка
підписка згода дані курєр упаковка коробка кур пакунок пункт видача відмова затримка графік черга
відключення прилад розетка щиток провайдер абонплата реквізити платіж сплата знижка кешбек чекання
оцінка відгук зауваження пропозиція вимога компенсація штраф бригада виклик огляд діагностика
налаштування оновлення версія система сторінка кнопка форма вхід реєстрація підтвердження"""
UK_VERBS = """оплатити отримати замовити повернути скасувати змінити перевірити відправити доставити
підключити відключити відновити зателефонувати написати відповісти допомогти пояснити вирішити чекати
працювати зробити надіслати знайти бачити хотіти знати розуміти дякувати компенсувати нарахувати
списати заблокувати розблокувати оформити підтвердити зареєструвати обміняти передзвонити уточнити
вказати надати прийняти закрити відкрити виправити налаштувати"""
UK_ADJECTIVES = """новий старий повний частковий неправильний правильний терміновий важливий швидкий
повільний мобільний особовий платіжний банківський поштовий електронний офіційний безкоштовний платний
щомісячний додатковий погоджений незадоволений задоволений пошкоджений зламаний відкритий закритий
повторний"""

RU_STOP = """и в во на не что с со к по за я мы вы он она они это как но уже еще так или от для меня мне
нам вас вам есть был была было будет можно нужно очень когда потому если тут там также только просто мой
моя наш ваш этот эта вот пожалуйста спасибо извините снова вовремя наконец срочно сегодня завтра вчера"""
RU_WORDS = """заказ доставка посылка отделение накладная оплата счет квитанция карта банк перевод деньги
возврат скидка акция бонус промокод тариф пакет услуга подключение отключение интернет скорость роутер
модем кабель сигнал сеть звонок оператор менеджер консультант поддержка обращение заявка жалоба
претензия ответ вопрос проблема ошибка сбой авария ремонт мастер монтаж замена счетчик показания свет
электроэнергия газ вода отопление долг задолженность пеня договор абонент кабинет приложение сайт пароль
логин аккаунт профиль почта телефон номер адрес квартира дом улица город документ паспорт справка фото
скриншот чек гарантия товар телевизор ноутбук холодильник машина кофеварка наушники зарядка экран батарея
размер цвет модель магазин склад срок дата неделя месяц час минута утро вечер суббота воскресенье клиент
покупатель продавец сотрудник руководитель директор отдел компания сервис качество цена стоимость сумма
комиссия списание начисление перерасчет баланс пополнение выписка кредит депозит лимит блокировка код
сообщение письмо рассылка отписка подписка согласие данные курьер упаковка коробка пункт выдача отказ
задержка график очередь прибор розетка провайдер абонплата реквизиты платеж кэшбэк оценка отзыв
предложение требование компенсация штраф бригада вызов осмотр диагностика настройка обновление версия
система страница кнопка форма вход регистрация подтверждение"""
RU_VERBS = """оплатить получить заказать вернуть отменить изменить проверить отправить доставить подключить
отключить восстановить позвонить написать ответить помочь объяснить решить ждать работать сделать
прислать найти видеть хотеть знать понимать благодарить компенсировать начислить списать заблокировать
разблокировать оформить подтвердить зарегистрировать обменять перезвонить уточнить указать предоставить
принять закрыть открыть исправить настроить"""
RU_ADJECTIVES = """новый старый полный частичный неправильный правильный срочный важный быстрый медленный
мобильный лицевой платежный банковский почтовый электронный официальный бесплатный платный ежемесячный
дополнительный согласованный недовольный довольный поврежденный сломанный открытый закрытый повторный"""

EN_STOP = """the a an and or to of in on for with at from by is are was were be been it this that my your
our we you i me not no yes have has had do does did can could will would please there here just also
thanks sorry still again already today tomorrow yesterday"""
EN_WORDS = """order delivery parcel package shipment tracking payment invoice bill receipt card bank transfer
refund money discount promo bonus code tariff plan subscription service connection internet speed router
modem cable signal network call operator manager support request complaint claim answer question problem
error issue outage repair technician installation replacement meter reading electricity power gas water
heating debt penalty contract account cabinet app website password login profile email phone number
address apartment house street city document passport certificate photo screenshot warranty product tv
laptop fridge washer machine headphones charger screen battery size colour model shop store warehouse
date week month hour minute morning evening weekend customer buyer seller employee director department
company quality price cost amount fee balance statement credit deposit limit message notification
newsletter consent data courier branch office box pickup point queue schedule socket provider payee
cashback rating review proposal requirement compensation fine team visit inspection diagnostics setting
version system page button form registration confirmation voucher coupon plug adapter firmware"""
EN_VERBS = """pay receive return cancel change check send deliver connect disconnect restore call write
answer help explain solve wait work fix need want know understand thank apologize compensate charge block
unlock confirm register sign update reset install replace open close order track report refund exchange
specify provide accept correct"""
EN_ADJECTIVES = """new old full partial wrong correct urgent important fast slow mobile personal official
free paid monthly extra damaged broken closed late missing unfortunately finally"""

GREETINGS = {
    "uk": ("Добрий день", "Доброго дня", "Вітаю", "Привіт"),
    "ru": ("Здравствуйте", "Добрый день", "Привет"),
    "en": ("Hello", "Hi", "Good morning", "Dear support"),
}
ANSWER_OPENINGS = {
    "uk": ("Дякуємо за звернення", "Вибачте за незручності", "Перевірили ваше питання"),
    "ru": ("Спасибо за обращение", "Приносим извинения", "Проверили ваш вопрос"),
    "en": ("Thank you for contacting us", "Sorry for the trouble", "We have checked"),
}
UK_VOWELS, RU_VOWELS = set("аеєиіїоуюяь"), set("аеёиоуыэюяьй")


def _uk_forms(word: str, kind: str) -> list[str]:
    if kind == "v":  # оплатити: оплатив, оплатила, оплатили
        stem = word[:-2]
        return [word, stem + "в", stem + "ла", stem + "ли"]
    if kind == "a":  # новий: нова, нове, нового, нові
        stem = word[:-2]
        return [word, stem + "а", stem + "е", stem + "ого", stem + "і"]
    if word.endswith(("ння", "ття")):  # замовлення: замовленню, замовленням, замовлень
        return [word, word[:-1] + "ю", word + "м", word[:-2] + "ь"]
    endings = {"а": ("и", "у", "ою", "і"), "я": ("і", "ю", "ею")}
    if word[-1] in endings:
        return [word, *(word[:-1] + ending for ending in endings[word[-1]])]
    if word[-1] not in UK_VOWELS:
        return [word, word + "а", word + "у", word + "ом", word + "і"]
    return [word]


def _ru_forms(word: str, kind: str) -> list[str]:
    if kind == "v":  # оплатить: оплатил, оплатила, оплатили
        stem = word[:-2]
        return [word, stem + "л", stem + "ла", stem + "ли"]
    if kind == "a":  # новый: новая, новое, нового, новые
        stem = word[:-2]
        return [word, stem + "ая", stem + "ое", stem + "ого", stem + "ые"]
    if word.endswith(("ние", "тие")):  # подключение: подключения, подключению, подключением
        return [word, word[:-1] + "я", word[:-1] + "ю", word[:-1] + "м"]
    if word.endswith("а"):
        stem = word[:-1]
        return [word, stem + "ы", stem + "у", stem + "ой", stem + "е"]
    if word[-1] not in RU_VOWELS:
        return [word, word + "а", word + "у", word + "ом", word + "е"]
    return [word]


def _en_forms(word: str, kind: str) -> list[str]:
    if kind == "v":
        base = word[:-1] if word.endswith("e") else word
        return [word, base + "ed", base + "ing", word + "s"]
    if kind == "a":
        return [word]
    return [word, word + ("es" if word.endswith(("s", "x", "ch")) else "s")]


@dataclass
class Vocabulary:
    """One language's words, most frequent first, with Zipf weights (s = 1.05) over their rank."""

    language: str
    words: list[str]
    stops: int  # how many of the first words are function words and the most frequent domain words
    bases: int  # how many base words follow them
    cum: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cum = list(itertools.accumulate(1 / (rank + 2) ** 1.05 for rank in range(len(self.words))))

    def sample(self, rng: random.Random, count: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=count)

    def by_class(self, rng: random.Random, cls: str) -> str:
        """A word (or words) an agent would search for: ``frequent`` (among the 40 most frequent content
        words), ``common`` (ranks 150-600), ``rare`` (the last fifth), ``prefix`` (the start of a frequent
        word, as typed), ``two`` (a frequent and a common word), ``none`` (a word nobody wrote)."""
        stops = set(self.words[: self.stops])
        content = [w for w in self.words if w not in stops]
        if cls == "frequent":
            return rng.choice(content[:40])
        if cls == "common":
            return rng.choice(content[150:600])
        if cls == "rare":
            return rng.choice(content[len(content) * 4 // 5 :])
        if cls == "prefix":
            word = rng.choice([w for w in content[:60] if len(w) >= 6])
            return word[: rng.randint(4, 5)]
        if cls == "two":
            return f"{rng.choice(content[:40])} {rng.choice(content[100:400])}"
        return rng.choice(content[:200])[::-1] + ("zq" if self.language == "en" else "щ")  # nobody did


def build_vocabularies(seed: int) -> dict[str, Vocabulary]:
    rng = random.Random(seed)
    made = {}
    for language, stop, parts, inflect in (
        ("uk", UK_STOP, (UK_WORDS, UK_VERBS, UK_ADJECTIVES), _uk_forms),
        ("ru", RU_STOP, (RU_WORDS, RU_VERBS, RU_ADJECTIVES), _ru_forms),
        ("en", EN_STOP, (EN_WORDS, EN_VERBS, EN_ADJECTIVES), _en_forms),
    ):
        stops = list(dict.fromkeys(stop.split()))
        bases: list[str] = []
        forms: list[str] = []
        for words, kind in zip(parts, ("n", "v", "a"), strict=True):
            for word in words.split():
                first, *rest = inflect(word, kind)
                bases.append(first)
                forms.extend(rest)
        seen = set(stops)
        bases = [w for w in dict.fromkeys(bases) if w not in seen]
        seen.update(bases)
        forms = [w for w in dict.fromkeys(forms) if w not in seen]
        rng.shuffle(bases)
        rng.shuffle(forms)
        # The most frequent words: two function words to one domain word ("замовлення" is said a lot).
        top = [w for pair in itertools.zip_longest(stops[0::2], stops[1::2], bases[:35]) for w in pair if w]
        made[language] = Vocabulary(language, top + bases[35:] + forms, len(stops) + 35, len(bases) - 35)
    return made


# -- the population -----------------------------------------------------------------------------------

LANGUAGES = (("uk", 60), ("ru", 25), ("en", 15))
CHANNELS = (("email", 35), ("telegram", 20), ("sms", 13), ("webchat", 15), ("viber", 10), ("voice", 7))
PRIORITIES = (("normal", 65), ("low", 15), ("high", 15), ("urgent", 5))
# Most tickets are done with; the active ones are a few per cent, as in a year-old help desk.
STATUSES = (
    ("closed", 700), ("solved", 245), ("open", 25), ("new", 12), ("pending", 12), ("on_hold", 6),
)  # fmt: skip
# bench-agent's tickets: a working agent's desk holds more of the active ones than the year's average.
BENCH_STATUSES = (
    ("closed", 50), ("solved", 20), ("open", 14), ("pending", 8), ("new", 4), ("on_hold", 4),
)  # fmt: skip
ACTIVE = frozenset({"new", "open", "pending", "on_hold"})
TAGS = (
    "billing", "delivery", "refund", "outage", "complaint", "vip", "bug", "password", "invoice", "tariff",
    "return", "warranty", "installation", "app", "callback",
)  # fmt: skip
PREFERRED = ("sms", "email", "telegram", "viber", "")


def pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _w in weighted], weights=[w for _v, w in weighted])[0]


def stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


@dataclass(slots=True)
class Plan:
    """One ticket as planned: what its row and its entries need."""

    created: float
    updated: float
    status: str
    language: str
    channel: str
    customer: int
    assignee: int | None = None
    team: int | None = None


@dataclass
class Staff:
    bench_id: int
    password: str
    agents: list[int]  # every agent's id, bench-agent's too
    team_of: dict[int, int]


def plan_tickets(rng: random.Random, count: int, customers: int, now: float, staff: Staff) -> list[Plan]:
    """Every ticket's times, status, channel, customer and assignee, in the order they were opened."""
    customer_language = _customer_languages(customers, rng.getrandbits(32))
    bench_share = max(60, count // 500) / count
    others = [a for a in staff.agents if a != staff.bench_id]
    plans = []
    for _ in range(count):
        bench = rng.random() < bench_share
        status = pick(rng, BENCH_STATUSES if bench else STATUSES)
        if status == "new":
            age, life = rng.expovariate(1 / (0.4 * DAY)), rng.uniform(0, 600)
        elif status in ACTIVE:  # most touched this week, a stale tail of forgotten ones
            recent = rng.random() < 0.8
            age = rng.expovariate(1 / (2.5 * DAY)) if recent else rng.uniform(7, 120) * DAY
            life = rng.expovariate(1 / (2 * DAY))
        else:
            age, life = rng.uniform(0.2 * DAY, YEAR), rng.expovariate(1 / (1.5 * DAY))
        age = min(age, YEAR - 3600)
        updated = now - age
        created = max(updated - life, now - YEAR)
        # A few customers write a lot; most write once or twice a year.
        customer = 1 + int(customers * rng.random() ** 1.6)
        language = customer_language[customer - 1]
        plan = Plan(created, updated, status, language, pick(rng, CHANNELS), customer)
        if bench:
            plan.assignee = staff.bench_id
        elif status != "new" or rng.random() < 0.3:
            plan.assignee = rng.choice(others)
        if plan.assignee is not None:
            plan.team = staff.team_of.get(plan.assignee)
        plans.append(plan)
    plans.sort(key=lambda p: p.created)
    return plans


def _customer_languages(customers: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [pick(rng, LANGUAGES) for _ in range(customers)]


def customer_lines(customers: int, seed: int, now: float) -> Iterator[str]:
    """COPY lines of customers_customer, languages as ``_customer_languages`` gives them."""
    languages = _customer_languages(customers, seed)
    rng = random.Random(seed + 1)
    for cid in range(1, customers + 1):
        language = languages[cid - 1]
        given, family = rng.choice(GIVEN[language]), rng.choice(FAMILY[language])
        city = {"uk": "Київ", "ru": "Харків", "en": "Львів"}[language]
        attributes: dict[str, Any] = {"tenant": "bench"}
        if rng.random() < 0.05:
            attributes["last_nps"] = rng.randint(0, 10)
        created = stamp(now - YEAR - rng.uniform(0, 3 * YEAR))
        yield "\t".join(
            (str(cid), given, "", family, city, "", language, "Europe/Kyiv", "21:00", "09:00",
             rng.choice(PREFERRED), json.dumps(attributes), "active", f"{given} {family}".casefold(),
             created, created)
        )  # fmt: skip


CUSTOMER_COLUMNS = (
    "id, given_name, middle_name, family_name, city, address, language, time_zone, quiet_hours_start, "
    "quiet_hours_end, preferred_channel, attributes, status, search_text, created_at, updated_at"
)
TICKET_COLUMNS = (
    "id, customer_id, channel, subject, status, priority, tags, custom_fields, language, team_id, "
    "assignee_id, created_at, updated_at, last_inbound_at, last_answer_at, first_response_at, solved_at, "
    "resolution_due, resolution_breached_at, sla_paused_minutes, escalation, escalated_at"
)
ENTRY_COLUMNS = (
    'id, ticket_id, kind, channel, author_id, text, html, provider_id, "references", address, created_at'
)
NULL = "\\N"


class Writer:
    """Words of tickets and entries, in the ticket's language with some English in between."""

    def __init__(self, vocabularies: dict[str, Vocabulary], seed: int) -> None:
        self.vocabularies = vocabularies
        self.rng = random.Random(seed)

    def words(self, language: str, low: int, high: int) -> list[str]:
        rng = self.rng
        words = self.vocabularies[language].sample(rng, rng.randint(low, high))
        if language != "en" and rng.random() < 0.3:  # "роутер TP-Link не бачить wifi": English inside
            words[rng.randrange(len(words))] = self.vocabularies["en"].sample(rng, 1)[0]
        return words

    def text(self, language: str, kind: str) -> str:
        rng = self.rng
        if kind == "note":
            return " ".join(self.words(language, 3, 12))
        words = self.words(language, 8, 30) if kind == "inbound" else self.words(language, 8, 22)
        openings = GREETINGS if kind == "inbound" else ANSWER_OPENINGS
        body = " ".join(words)
        if rng.random() < 0.6:
            return f"{rng.choice(openings[language])}, {body}."
        return body.capitalize() + "."

    def subject(self, language: str) -> str:
        return " ".join(self.words(language, 2, 6)).capitalize()


def _address(channel: str, customer: int) -> str:
    if channel == "email":
        return f"client{customer}@ukr.net"
    if channel == "telegram":
        return f"@client_{customer}"
    if channel == "webchat":
        return ""
    return f"+38067{customer:07d}"


def ticket_lines(plans: list[Plan], writer: Writer, now: float) -> Iterator[str]:
    rng = writer.rng
    for tid, p in enumerate(plans, start=1):
        span = p.updated - p.created
        answered = p.status != "new"
        tags = json.dumps(rng.sample(TAGS, k=rng.choice((0, 0, 1, 1, 1, 2))))
        solved = stamp(p.updated) if p.status in {"solved", "closed"} else NULL
        resolution_due = breached = escalated_at = NULL
        escalation = "0"
        if p.status in ACTIVE:
            due = p.created + 2 * DAY
            resolution_due = stamp(due)
            if due < now and rng.random() < 0.3:
                breached = stamp(due)
                if rng.random() < 0.5:
                    escalation, escalated_at = "1", stamp(due + 600)
        yield "\t".join(
            (str(tid), str(p.customer), p.channel, writer.subject(p.language), p.status,
             pick(rng, PRIORITIES), tags, "{}", p.language, NULL if p.team is None else str(p.team),
             NULL if p.assignee is None else str(p.assignee), stamp(p.created), stamp(p.updated),
             stamp(p.created + span * 0.75), stamp(p.updated) if answered else NULL,
             stamp(p.created + span * 0.25) if answered else NULL, solved, resolution_due, breached, "0",
             escalation, escalated_at)
        )  # fmt: skip


def entry_lines(plans: list[Plan], writer: Writer, agents: list[int]) -> Iterator[str]:
    """Five entries a ticket: the customer writes, staff answer, someone leaves a note."""
    rng = writer.rng
    eid = 0
    for tid, p in enumerate(plans, start=1):
        if p.status == "new":
            kinds = ("inbound", "inbound", "note", "inbound", "inbound")
        else:
            kinds = ("inbound", "outbound", "inbound", rng.choice(("note", "outbound")), "outbound")
        address = _address(p.channel, p.customer)
        staff = str(p.assignee if p.assignee is not None else rng.choice(agents))
        for k, kind in enumerate(kinds):
            eid += 1
            at = stamp(p.created + (p.updated - p.created) * k / (ENTRIES_PER_TICKET - 1))
            inbound = kind == "inbound"
            yield "\t".join(
                (str(eid), str(tid), kind, p.channel, NULL if inbound else staff,
                 writer.text(p.language, kind), "", f"bench-{eid}" if inbound else "", "[]",
                 address if inbound else "", at)
            )  # fmt: skip


# -- loading ------------------------------------------------------------------------------------------


def create_staff(seed: int) -> Staff:
    """Teams, agents, supervisors and bench-agent, through the service that creates staff."""
    from forewarn.accounts.actors import Actor
    from forewarn.accounts.services import create_staff_user
    from forewarn.inbox.models import AgentState, Presence

    rng = random.Random(seed)
    system = Actor.system("bench")
    password = secrets.token_urlsafe(18)
    bench = create_staff_user(
        actor=system, username=BENCH_USER, password=password, role="agent", first_name="Bench",
        last_name="Agent", teams=[TEAMS[0]],
    )  # fmt: skip
    users = [bench]
    for n in range(1, AGENTS + 1):
        language = pick(rng, LANGUAGES)
        users.append(
            create_staff_user(
                actor=system, username=f"agent-{n:02d}", password=secrets.token_urlsafe(18), role="agent",
                first_name=rng.choice(GIVEN[language]), last_name=rng.choice(FAMILY[language]),
                teams=[TEAMS[n % len(TEAMS)]],
            )
        )  # fmt: skip
    for n, team in enumerate(TEAMS, start=1):
        create_staff_user(
            actor=system, username=f"supervisor-{n}", password=secrets.token_urlsafe(18), role="supervisor",
            teams=[team],
        )  # fmt: skip
    AgentState.objects.bulk_create(
        AgentState(user=u, presence=Presence.ONLINE if rng.random() < 0.7 else Presence.OFFLINE, max_open=20)
        for u in users
    )
    team_of = {u.pk: u.teams.get().pk for u in users}
    return Staff(bench.pk, password, [u.pk for u in users], team_of)


def _secondary_indexes(conn: Any, tables: Iterable[str]) -> list[tuple[str, str]]:
    """(name, definition) of the indexes on ``tables`` that no constraint owns (they can be rebuilt)."""
    rows = conn.execute(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY t.relname, i.relname
        """,
        [list(tables)],
    ).fetchall()
    return [(str(name), str(definition)) for name, definition in rows]


def _copy(conn: Any, table: str, columns: str, lines: Iterable[str], *, label: str, total: int) -> float:
    started = time.perf_counter()
    last, done = started, 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for chunk in _batched(lines):
            copy.write("\n".join(chunk) + "\n")
            done += len(chunk)
            if time.perf_counter() - last > 15:
                last = time.perf_counter()
                print(f"  {label} {done:,}/{total:,}, {done / (last - started):,.0f}/s", flush=True)
    seconds = time.perf_counter() - started
    print(f"  {label}: {done:,} rows in {seconds:.1f} s", flush=True)
    return seconds


def _batched(lines: Iterable[str]) -> Iterator[tuple[str, ...]]:
    iterator = iter(lines)
    while chunk := tuple(itertools.islice(iterator, COPY_CHUNK)):
        yield chunk


@dataclass
class Loaded:
    tickets: int
    customers: int
    bench_tickets: list[int]
    bench_statuses: Counter[str]
    password: str
    seconds: float
    # The tickets bench-agent may open: its teams', those no team holds, its own (``tickets_visible_to``).
    visible: list[int] = field(default_factory=list)


def visible_to_bench() -> list[int]:
    """The ids of the tickets ``bench-agent`` may see, as the inbox decides it for an agent."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.id FROM inbox_ticket t, accounts_user u
            WHERE u.username = %s AND (t.team_id IS NULL OR t.assignee_id = u.id
                OR t.team_id IN (SELECT team_id FROM accounts_user_teams WHERE user_id = u.id))
            """,
            [BENCH_USER],
        )
        return [row[0] for row in cursor.fetchall()]


def load(url: str, tickets: int, seed: int) -> tuple[Loaded, dict[str, Vocabulary]]:
    import psycopg
    from django.db import connections

    started = time.perf_counter()
    vocabularies = build_vocabularies(seed)
    sizes = {lang: len(v.words) for lang, v in vocabularies.items()}
    print(f"vocabulary: {sum(sizes.values())} words {sizes}", flush=True)
    staff = create_staff(seed)
    connections.close_all()
    now = time.time()
    customers = max(100, tickets // 10)
    rng = random.Random(seed)
    plans = plan_tickets(rng, tickets, customers, now, staff)
    print(f"planned {tickets:,} tickets in {time.perf_counter() - started:.1f} s", flush=True)
    tables = ("customers_customer", "inbox_ticket", "inbox_entry")
    with psycopg.connect(url, autocommit=True) as conn:
        # Set-up, not measured: no foreign-key triggers (the rows are consistent by construction), no
        # index upkeep row by row; the indexes are built afterwards from their own definitions.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        indexes = _secondary_indexes(conn, tables)
        for name, _definition in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        people = customer_lines(customers, seed, now)
        _copy(conn, "customers_customer", CUSTOMER_COLUMNS, people, label="customers", total=customers)
        writer = Writer(vocabularies, seed + 2)
        rows = ticket_lines(plans, writer, now)
        _copy(conn, "inbox_ticket", TICKET_COLUMNS, rows, label="tickets", total=tickets)
        entries = entry_lines(plans, writer, staff.agents)
        _copy(
            conn, "inbox_entry", ENTRY_COLUMNS, entries, label="entries", total=tickets * ENTRIES_PER_TICKET
        )
        for name, definition in indexes:
            began = time.perf_counter()
            conn.execute(definition)
            print(f"  index {name}: {time.perf_counter() - began:.1f} s", flush=True)
        for table in tables:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        began = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) customers_customer, inbox_ticket, inbox_entry")
        conn.execute("ANALYZE")
        print(f"  vacuum and analyze: {time.perf_counter() - began:.1f} s", flush=True)
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
    bench = [tid for tid, p in enumerate(plans, start=1) if p.assignee == staff.bench_id]
    statuses = Counter(plans[tid - 1].status for tid in bench)
    seconds = time.perf_counter() - started
    print(f"database size: {size[0] if size else '?'}", flush=True)
    loaded = Loaded(tickets, customers, bench, statuses, staff.password, seconds, visible_to_bench())
    return loaded, vocabularies


def reuse(tickets: int, seed: int) -> tuple[Loaded, dict[str, Vocabulary]]:
    """What ``load`` would return, read from a database an earlier run loaded and kept (``--keep``):
    bench-agent gets a new password, the rows stay as they are (their times are those of that run)."""
    from forewarn.accounts.models import User
    from forewarn.inbox.models import Ticket

    found = Ticket.objects.count()
    bench = User.objects.filter(username=BENCH_USER).first()
    if bench is None or found != tickets:
        raise SystemExit(f"--reuse: the database holds {found:,} tickets and no {BENCH_USER}; load it anew")
    password = secrets.token_urlsafe(18)
    bench.set_password(password)
    bench.save(update_fields=["password"])
    mine = list(Ticket.objects.filter(assignee=bench).values_list("pk", "status"))
    statuses = Counter(status for _pk, status in mine)
    customers = max(100, tickets // 10)
    loaded = Loaded(tickets, customers, [pk for pk, _s in mine], statuses, password, 0.0, visible_to_bench())
    return loaded, build_vocabularies(seed)


# -- the server ---------------------------------------------------------------------------------------


# -- measuring ----------------------------------------------------------------------------------------

KINDS = ("baseline", "list", "open", "search")
SEARCH_CLASSES = ("frequent", "common", "rare", "prefix", "two", "none")


def sign_in(client: Any, password: str) -> None:
    """Through the login form, as a browser does: its CSRF token, then the credentials."""
    form = client.get("/login/")
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    if form.status_code != 200 or found is None:
        raise SystemExit(f"no login form at /login/ ({form.status_code})")
    answer = client.post(
        "/login/",
        data={"csrfmiddlewaretoken": found.group(1), "username": BENCH_USER, "password": password},
    )
    if answer.status_code != 302 or "sessionid" not in client.cookies:
        raise SystemExit(f"signing in as {BENCH_USER} failed ({answer.status_code})")
    page = client.get("/inbox/?view=mine")
    if page.status_code != 200:
        raise SystemExit(f"the inbox answered {page.status_code} after signing in")


class Workload:
    """The URLs of each kind, drawn at random: (url, label)."""

    def __init__(self, loaded: Loaded, vocabularies: dict[str, Vocabulary], seed: int) -> None:
        self.rng = random.Random(seed)
        self.loaded = loaded
        self.vocabularies = vocabularies

    def next(self, kind: str) -> tuple[str, str]:
        rng = self.rng
        if kind == "baseline":
            return "/health", "health"
        if kind == "list":
            status, page = rng.choice(("open", "new", "pending")), rng.randint(1, 3)
            return f"/inbox/?view=mine&status={status}&page={page}", f"{status} page {page}"
        if kind == "open":
            if rng.random() < 0.5 and self.loaded.bench_tickets:
                return f"/inbox/{rng.choice(self.loaded.bench_tickets)}/", "mine"
            return f"/inbox/{rng.choice(self.loaded.visible)}/", "any"
        cls = rng.choice(SEARCH_CLASSES)
        language = pick(rng, (("uk", 50), ("ru", 25), ("en", 25)))
        q = self.vocabularies[language].by_class(rng, cls)
        view = "mine" if rng.random() < 0.3 else "all"
        return "/inbox/?" + urlencode({"view": view, "q": q}), f"{cls} {view}"


@dataclass
class Sample:
    ms: float
    url: str
    label: str


def p95(values: list[float]) -> float:
    """The 95th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] if ordered else float("nan")


def measure(
    servers: dict[str, Server], loaded: Loaded, workload: Workload, rounds: int, warmup: int
) -> dict[str, dict[str, list[Sample]]]:
    """The samples of each server, by kind. With two servers (``--against``) every URL goes to both,
    one right after the other, in an order drawn anew each time, so that they meet the same moment."""
    import httpx

    samples: dict[str, dict[str, list[Sample]]] = {name: defaultdict(list) for name in servers}
    failures: Counter[str] = Counter()
    clients = {
        name: httpx.Client(base_url=server.url, timeout=120, follow_redirects=False)
        for name, server in servers.items()
    }
    try:
        for client in clients.values():
            sign_in(client, loaded.password)
        started = time.perf_counter()
        for n in range(warmup + rounds):
            kinds = list(KINDS)
            workload.rng.shuffle(kinds)
            for kind in kinds:
                url, label = workload.next(kind)
                order = list(clients)
                workload.rng.shuffle(order)
                for name in order:
                    began = time.perf_counter()
                    answer = clients[name].get(url)
                    ms = (time.perf_counter() - began) * 1000
                    if answer.status_code != 200:
                        failures[f"{name} {kind} {answer.status_code}"] += 1
                    elif n >= warmup:
                        samples[name][kind].append(Sample(ms, url, label))
            if (n + 1) % 50 == 0:
                print(
                    f"  {n + 1}/{warmup + rounds} rounds, {time.perf_counter() - started:.0f} s", flush=True
                )
    finally:
        for client in clients.values():
            client.close()
    if failures:
        print(f"PROBLEM: requests that failed: {dict(failures)}", flush=True)
        for name in servers:
            samples[name]["failed"] = [Sample(0, k, k) for k in failures.elements()]
    return samples


def report(samples: dict[str, list[Sample]]) -> None:
    for kind in KINDS:
        by_label: dict[str, list[float]] = defaultdict(list)
        for s in samples[kind]:
            by_label[s.label].append(s.ms)
        parts = [
            f"{label} p50={sorted(v)[len(v) // 2]:.1f} p95={p95(v):.1f} max={max(v):.1f} (n={len(v)})"
            for label, v in sorted(by_label.items())
        ]
        print(f"{kind}:\n    " + "\n    ".join(parts), flush=True)


def explain_slowest(samples: dict[str, list[Sample]], threshold_ms: float) -> None:
    """Replay the slowest request of each kind (and of each search class) in-process, its statements
    timed; show the plan of each statement slower than ``threshold_ms``."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from forewarn.accounts.models import User

    logging.getLogger("axes").setLevel(logging.WARNING)  # it tells of the sign-in below
    client = Client(SERVER_NAME=HOST, raise_request_exception=False)  # a failure is reported, not raised
    client.force_login(User.objects.get(username=BENCH_USER))
    chosen: dict[str, Sample] = {}
    for kind in ("list", "open", "search"):
        for s in samples[kind]:
            key = f"search {s.label.split()[0]}" if kind == "search" else kind
            if key not in chosen or s.ms > chosen[key].ms:
                chosen[key] = s
    for key, sample in chosen.items():
        client.get(sample.url)  # templates compiled, caches warm: as the server had them
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            status = client.get(sample.url).status_code
            ms = (time.perf_counter() - began) * 1000
        times = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
        db_ms = sum(t for t, _sql in times)
        print(
            f"slowest {key}: {unquote_plus(sample.url)} took {sample.ms:.1f} ms over HTTP; replayed "
            f"{status} in {ms:.1f} ms, {len(times)} statements, {db_ms:.1f} ms in the database",
            flush=True,
        )
        slow = sorted(((t, sql) for t, sql in times if t >= threshold_ms), reverse=True)
        shown: set[str] = set()
        for t, sql in slow:
            shape = re.sub(r"'[^']*'|\b\d+\b", "?", sql)
            if shape in shown:
                print(f"    (another {t:.1f} ms statement of the same shape)")
                continue
            shown.add(shape)
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                plan = "\n      ".join(row[0] for row in cursor.fetchall())
            print(f"    {t:.1f} ms: {sql}\n      {plan}", flush=True)


def run(args: argparse.Namespace, url: str, work: Path) -> int:
    print(f"inbox: PostgreSQL {url.rsplit('/', 1)[-1]}, {args.tickets:,} tickets", flush=True)
    loaded, vocabularies = (
        reuse(args.tickets, args.seed) if args.reuse else load(url, args.tickets, args.seed)
    )
    print(
        f"load: {loaded.tickets:,} tickets, {loaded.tickets * ENTRIES_PER_TICKET:,} entries, "
        f"{loaded.customers:,} customers in {loaded.seconds:.1f} s; {BENCH_USER} has "
        f"{len(loaded.bench_tickets):,} tickets {dict(loaded.bench_statuses.most_common())}",
        flush=True,
    )
    env = dict(os.environ)
    env.update(FOREWARN_LOG_LEVEL="WARNING", FOREWARN_DEBUG="false")
    servers = {"this": Server(env, work)}
    if args.against:
        # The other checkout's code on the same database (the schema must be the same: same migrations).
        servers["against"] = Server(
            env, work, python=args.against / ".venv" / "bin" / "python", name="against"
        )
    try:
        for server in servers.values():
            server.wait_healthy(args.startup_timeout)
        samples = measure(
            servers, loaded, Workload(loaded, vocabularies, args.seed + 3), args.requests, args.warmup
        )
    finally:
        for server in servers.values():
            server.stop()
    for name, server in servers.items():
        if server.tracebacks():
            print(f"PROBLEM: {name} logged {server.tracebacks()} tracebacks:\n{server.tail()}", flush=True)
    figures: dict[str, dict[str, float]] = {}
    for name in servers:
        if args.against:
            print(f"-- {name}: {args.against if name == 'against' else ROOT}", flush=True)
        report(samples[name])
        figures[name] = {kind: p95([s.ms for s in samples[name][kind]]) for kind in KINDS}
    if args.explain_ms >= 0:
        explain_slowest(samples["this"], args.explain_ms)
    for name, f in figures.items():
        who = "" if name == "this" else "against "
        base = f["baseline"]
        print(
            f"inbox: {who}tickets={args.tickets} list_p95_ms={f['list']:.1f} open_p95_ms={f['open']:.1f} "
            f"search_p95_ms={f['search']:.1f} baseline_p95_ms={base:.1f}",
            flush=True,
        )
        print(
            f"inbox: {who}over baseline list={f['list'] / base:.1f}x open={f['open'] / base:.1f}x "
            f"search={f['search'] / base:.1f}x",
            flush=True,
        )
    if args.against:
        this, other = figures["this"], figures["against"]
        print(
            "inbox: this over against (p95) "
            + " ".join(f"{kind}={this[kind] / other[kind]:.2f}x" for kind in KINDS),
            flush=True,
        )
    mine = figures["this"]
    met = mine["list"] < LIST_GOAL_MS and mine["open"] < OPEN_GOAL_MS and mine["search"] < SEARCH_GOAL_MS
    failed = samples["this"].get("failed") or any(s.tracebacks() for s in servers.values())
    return 0 if met and not failed else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets (five entries each)")
    parser.add_argument("--requests", type=int, default=200, help="measured requests of each kind")
    parser.add_argument("--warmup", type=int, default=20, help="rounds of requests not counted")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FOREWARN_DATABASE_URL", DEFAULT_SERVER),
        help="the PostgreSQL server to use (default: FOREWARN_DATABASE_URL, else the local one)",
    )
    parser.add_argument("--pg-name", default="forewarn_bench_inbox", help="the scratch database's name")
    parser.add_argument("--seed", type=int, default=20260310)
    parser.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for /health")
    parser.add_argument(
        "--explain-ms", type=float, default=50.0, help="plans of replayed statements this slow (-1: none)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and database")
    parser.add_argument(
        "--against",
        type=Path,
        metavar="CHECKOUT",
        help="also serve another checkout (with its own .venv, the same migrations) on the same database "
        "and send it every request too: before and after in one run",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database an earlier --keep run left (kept again)"
    )
    args = parser.parse_args(argv)
    args.keep = args.keep or args.reuse
    if not is_postgres(args.database_url):
        parser.error("--database-url: a postgres:// URL (the full-text search measured is PostgreSQL's)")
    if args.tickets < 100 or args.requests < 1:
        parser.error("--tickets: 100 at least; --requests: 1 at least")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch(args) as (url, work):
        os.environ["FOREWARN_DATA_DIR"] = str(work / "data")
        setup_django(url, work)
        return run(args, url, work)


if __name__ == "__main__":
    sys.exit(main())
