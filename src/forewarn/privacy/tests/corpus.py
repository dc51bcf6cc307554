"""A labelled evaluation set for the personal-data detector, built with Faker's uk_UA, ru_RU and en locales.

Values sit in sentences a customer or an agent would write, each in the forms people really type (a phone
in international or national form, with spaces, dashes or brackets; a card in groups or in one run). Beside
them sit decoys the detector must leave alone: order and waybill numbers, amounts, dates that are not
birthdays, times, flight numbers, a card number that fails Luhn, an IBAN with a wrong checksum. The set is
deterministic for a seed, so the tests and ``bench/pii.py`` judge the same text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import phonenumbers
from faker import Faker

from forewarn.privacy.detect import Kind, luhn_ok, rnokpp_ok


@dataclass
class Sample:
    text: str
    spans: list[tuple[Kind, int, int]] = field(default_factory=list)


LOCALES = {"uk": ("uk_UA", "UA"), "ru": ("ru_RU", "RU"), "en": ("en_US", "US")}

# Sentences per language. ``{slot}`` holds a value to be found; ``{~slot}`` a decoy to be left alone.
TEMPLATES: dict[str, list[str]] = {
    "uk": [
        "Добрий день! Мій номер {phone}, передзвоніть, будь ласка, після 18:00.",
        "Замовлення №{~order} досі не прийшло, ТТН {~ttn}. Телефон для зв'язку: {phone}",
        "Списали {~amount} з картки {card}, хоча я нічого не купувала {~date}.",
        "Повернення коштів прошу зробити на рахунок {iban}, отримувач — {name}.",
        "Пишіть мені на {email} або у Viber {phone}.",
        "Для перевірки: паспорт {passport_ua}, ІПН {rnokpp}.",
        "Моя дата народження: {dob_uk}, а в анкеті стоїть інша.",
        "Рейс {~flight} затримали на {~minutes} хвилин, квиток {~ticket}.",
        "Карта {~badcard} не проходить, спробуйте іншу: {card}",
        "Прошу змінити email з {email} на {email}. Договір №{~contract} від {~date}.",
        "Мій РНОКПП {rnokpp}, рахунок {~badiban} не мій.",
        "Дзвонила о {~time} з номера {phone}, ніхто не відповів.",
        "Оплата {~amount} за рахунком {~invoice} пройшла, чек на пошту {email}.",
        "ID-картка {passport_id}, дата народження {dob_uk}.",
        "Все добре, дякую! Оцінка {~score} з 10.",
    ],
    "ru": [
        "Здравствуйте, мой телефон {phone}, перезвоните после 18:00.",
        "Заказ №{~order} не пришёл, трек {~ttn}. Связаться со мной: {phone}",
        "С карты {card} списали {~amount}, хотя я ничего не покупал {~date}.",
        "Верните деньги на счёт {iban}, получатель {name}.",
        "Пишите на {email} или в Telegram {phone}.",
        "Мой ИНН {inn}, СНИЛС {snils}.",
        "Паспорт {passport_ru}, выдан {~date}.",
        "Дата рождения {dob_ru}, исправьте в анкете.",
        "Рейс {~flight} задержан на {~minutes} минут, билет {~ticket}.",
        "Карта {~badcard} не проходит, попробуйте {card}",
        "Счёт-фактура {~invoice} на сумму {~amount}, вопросы на {email}.",
        "Звонил в {~time} с номера {phone}, никто не ответил.",
        "Серия и номер {passport_ru}, ИНН {inn}.",
        "Спасибо, всё решили! Оценка {~score} из 10.",
    ],
    "en": [
        "Hi, my number is {phone}, please call back after 6pm.",
        "Order #{~order} has not arrived yet, tracking {~ttn}. You can reach me on {phone}",
        "You charged {~amount} to my card {card} on {~date}.",
        "Please refund to {iban}, account holder {name}.",
        "Email me at {email} or text {phone}.",
        "Date of birth: {dob_en}, the form shows another one.",
        "Flight {~flight} was delayed by {~minutes} minutes, ticket {~ticket}.",
        "The card {~badcard} was declined, try {card} instead.",
        "Invoice {~invoice} for {~amount}, questions to {email}.",
        "I called at {~time} from {phone} and nobody answered.",
        "My passport number is {passport_us} and my DOB is {dob_en}.",
        "Account {~badiban} is not mine.",
        "Thanks, all sorted! I'd give it {~score} out of 10.",
    ],
}

_MONTHS = {
    "uk": ["січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня", "жовтня",
           "листопада", "грудня"],
    "ru": ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
           "ноября", "декабря"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
}  # fmt: skip


class _Values:
    def __init__(self, language: str, rng: random.Random, fake: Faker) -> None:
        self.language, self.rng, self.fake = language, rng, fake
        self.region = LOCALES[language][1]

    # -- personal values: (kind, text as written) --

    def phone(self) -> tuple[Kind, str]:
        for _ in range(100):
            raw = self.fake.phone_number()
            if "x" in raw.lower():
                continue
            try:
                number = phonenumbers.parse(raw, self.region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                break
        else:  # pragma: no cover - Faker always gives a valid one within a hundred tries
            raise RuntimeError("no valid phone")
        forms = [
            raw,
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        ]
        return Kind.PHONE, self.rng.choice(forms)

    def card(self) -> tuple[Kind, str]:
        digits = self.fake.credit_card_number()
        style = self.rng.randrange(3)
        if style == 0 or len(digits) not in (15, 16):
            return Kind.CARD, digits
        if len(digits) == 15:
            return Kind.CARD, f"{digits[:4]} {digits[4:10]} {digits[10:]}"
        sep = " " if style == 1 else "-"
        return Kind.CARD, sep.join(digits[i : i + 4] for i in range(0, 16, 4))

    def iban(self) -> tuple[Kind, str]:
        value = self.fake.iban()
        if self.rng.random() < 0.4:
            value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
        return Kind.IBAN, value

    def email(self) -> tuple[Kind, str]:
        return Kind.EMAIL, self.rng.choice(
            [self.fake.email(), self.fake.free_email(), self.fake.company_email()]
        )

    def passport_ua(self) -> tuple[Kind, str]:
        letters = "АВЕКМНОРСТХ"
        series = self.rng.choice(letters) + self.rng.choice(letters)
        number = f"{self.rng.randrange(10**6):06d}"
        return Kind.PASSPORT, self.rng.choice([f"{series} {number}", f"{series}{number}"])

    def passport_id(self) -> tuple[Kind, str]:
        return Kind.PASSPORT, f"{self.rng.randrange(10**9):09d}"

    def passport_ru(self) -> tuple[Kind, str]:
        series, number = f"{self.rng.randrange(10**4):04d}", f"{self.rng.randrange(10**6):06d}"
        return Kind.PASSPORT, self.rng.choice([f"{series} {number}", f"{series[:2]} {series[2:]} {number}"])

    def passport_us(self) -> tuple[Kind, str]:
        # A US passport has no check digit; nine digits after the word "passport" are what is there.
        return Kind.PASSPORT, f"{self.rng.randrange(10**8, 10**9)}"

    def rnokpp(self) -> tuple[Kind, str]:
        while True:
            digits = f"{self.rng.randrange(10**9):09d}"
            for last in "0123456789":
                if rnokpp_ok(digits + last):
                    return Kind.RNOKPP, digits + last

    def inn(self) -> tuple[Kind, str]:
        return Kind.INN, self.fake.individuals_inn()

    def snils(self) -> tuple[Kind, str]:
        d = self.fake.snils()
        return Kind.SNILS, self.rng.choice([d, f"{d[:3]}-{d[3:6]}-{d[6:9]} {d[9:]}"])

    def _dob(self) -> tuple[int, int, int]:
        born = self.fake.date_of_birth(minimum_age=18, maximum_age=90)
        return born.day, born.month, born.year

    def dob_uk(self) -> tuple[Kind, str]:
        d, m, y = self._dob()
        return Kind.BIRTH_DATE, self.rng.choice([f"{d:02d}.{m:02d}.{y}", f"{d} {_MONTHS['uk'][m - 1]} {y}"])

    def dob_ru(self) -> tuple[Kind, str]:
        d, m, y = self._dob()
        return Kind.BIRTH_DATE, self.rng.choice([f"{d:02d}.{m:02d}.{y}", f"{d} {_MONTHS['ru'][m - 1]} {y}"])

    def dob_en(self) -> tuple[Kind, str]:
        d, m, y = self._dob()
        return Kind.BIRTH_DATE, self.rng.choice(
            [f"{y}-{m:02d}-{d:02d}", f"{_MONTHS['en'][m - 1]} {d}, {y}", f"{d} {_MONTHS['en'][m - 1]} {y}"]
        )

    # -- text that must stay as it is --

    def name(self) -> str:
        return self.fake.name()

    def order(self) -> str:
        return str(self.rng.randrange(10**5, 10**12))

    def ttn(self) -> str:
        return self.rng.choice(["59", "20"]) + f"{self.rng.randrange(10**12):012d}"

    def contract(self) -> str:
        return f"{self.rng.randrange(100, 9999)}/{self.rng.randrange(10, 99)}"

    def invoice(self) -> str:
        return f"{self.rng.choice(['INV-', 'СФ-', ''])}{self.rng.randrange(10**6, 10**10)}"

    def ticket(self) -> str:
        return f"{self.rng.randrange(100, 999)}{self.rng.randrange(10**9, 10**10)}"

    def amount(self) -> str:
        whole = self.rng.randrange(1, 99999)
        currency = {"uk": "грн", "ru": "₽", "en": "USD"}[self.language]
        return f"{whole:,}".replace(",", " ") + f",{self.rng.randrange(100):02d} {currency}"

    def date(self) -> str:
        when = self.fake.date_between(start_date="-2y", end_date="today")
        return when.strftime(self.rng.choice(["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y"]))

    def time(self) -> str:
        return f"{self.rng.randrange(24):02d}:{self.rng.randrange(60):02d}"

    def flight(self) -> str:
        return f"{self.rng.choice(['PS', 'LO', 'TK', 'SU'])} {self.rng.randrange(100, 9999)}"

    def minutes(self) -> str:
        return str(self.rng.randrange(15, 240))

    def score(self) -> str:
        return str(self.rng.randrange(0, 11))

    def badcard(self) -> str:
        while True:
            digits = "4" + "".join(str(self.rng.randrange(10)) for _ in range(15))
            if not luhn_ok(digits):
                return " ".join(digits[i : i + 4] for i in range(0, 16, 4))

    def badiban(self) -> str:
        value = self.fake.iban()
        check = (int(value[2:4]) + self.rng.randrange(1, 96)) % 97
        return f"{value[:2]}{max(check, 2):02d}{value[4:]}"


def build(count: int = 3000, seed: int = 20261203) -> list[Sample]:
    """``count`` labelled sentences, the languages in turn."""
    rng = random.Random(seed)
    fakers = {}
    for lang, (locale, _region) in LOCALES.items():
        fake = Faker(locale)
        fake.seed_instance(seed)
        fakers[lang] = _Values(lang, rng, fake)
    languages = list(TEMPLATES)
    samples: list[Sample] = []
    for n in range(count):
        lang = languages[n % len(languages)]
        values = fakers[lang]
        template = rng.choice(TEMPLATES[lang])
        samples.append(_fill(template, values))
    return samples


def _fill(template: str, values: _Values) -> Sample:
    sample = Sample("")
    parts: list[str] = []
    length = 0
    rest = template
    while "{" in rest:
        before, _, tail = rest.partition("{")
        slot, _, rest = tail.partition("}")
        parts.append(before)
        length += len(before)
        if slot.startswith("~") or slot == "name":
            written = getattr(values, slot.lstrip("~"))()
        else:
            kind, written = getattr(values, slot)()
            sample.spans.append((kind, length, length + len(written)))
        parts.append(written)
        length += len(written)
    parts.append(rest)
    sample.text = "".join(parts)
    return sample


def score(samples: list[Sample], spans_of) -> tuple[float, float, list[str]]:  # type: ignore[no-untyped-def]
    """Precision and recall of ``spans_of(text) -> [(kind, start, end)]`` over ``samples``, by exact span
    and kind, with the first few misses and false alarms for the reader."""
    true_pos = false_pos = false_neg = 0
    notes: list[str] = []
    for sample in samples:
        expected = set(sample.spans)
        got = set(spans_of(sample.text))
        true_pos += len(expected & got)
        for kind, a, b in sorted(got - expected):
            false_pos += 1
            if len(notes) < 20:
                notes.append(f"false alarm {kind}: {sample.text[a:b]!r} in {sample.text!r}")
        for kind, a, b in sorted(expected - got):
            false_neg += 1
            if len(notes) < 20:
                notes.append(f"missed {kind}: {sample.text[a:b]!r} in {sample.text!r}")
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 1.0
    return precision, recall, notes
