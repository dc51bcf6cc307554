"""Finding personal data in free text, in Ukrainian, Russian and English, and masking it.

Pure functions: no database, no settings. ``find(text)`` returns the spans of personal values it is sure
of; ``mask(kind, value)`` says how each is shown once stored. Sureness comes from validators, not from
guesses: a phone must be a valid number for its country (``phonenumbers``), a card must pass Luhn and
start like a card, an IBAN must pass ISO 7064 mod 97, tax ids and SNILS must carry their check digits. Values
that look like a dozen other things (a 10-digit tax id, a passport number, a date) count only when the text
names them ("ІПН", "паспорт", "дата народження"); numbers the text calls an order, a waybill or an invoice
are left alone unless their own shape says otherwise.

The scan is a handful of compiled regular expressions over the text and a validator per candidate, so it
runs at megabytes per second in one Python process (``bench/pii.py``).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache

import phonenumbers

BULLET = "\u2022"


class Kind(StrEnum):
    PHONE = "phone"
    CARD = "card"
    IBAN = "iban"
    EMAIL = "email"
    PASSPORT = "passport"  # Ukrainian booklet (КВ 123456) or ID card, Russian internal passport, others
    RNOKPP = "rnokpp"  # Ukrainian taxpayer number
    INN = "inn"  # Russian taxpayer number
    SNILS = "snils"  # Russian insurance number
    BIRTH_DATE = "birth_date"


@dataclass(frozen=True, slots=True)
class Found:
    kind: Kind
    start: int
    end: int
    value: str  # the value as written in the text
    normalized: str  # one canonical form (E.164 for phones, digits for numbers, lower case for emails)


# --- validators -----------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_prefix_ok(digits: str) -> bool:
    """Issuer ranges are many and change (Visa, Mastercard, Mir, ПРОСТІР, UnionPay, JCB, Maestro...): only
    the major industry identifiers no payment card uses are refused, and the lengths cards have."""
    if len(digits) == 12:  # Maestro
        return digits[0] in "56"
    return digits[0] not in "07" and 13 <= len(digits) <= 19


def iban_ok(compact: str) -> bool:
    if not 15 <= len(compact) <= 34 or not compact[2:4].isdigit():
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False))


def rnokpp_ok(digits: str) -> bool:
    if len(digits) != 10:
        return False
    check = _weighted(digits, (-1, 5, 7, 9, 4, 6, 10, 5, 7)) % 11 % 10
    return check == int(digits[9])


def inn_ok(digits: str) -> bool:
    if len(digits) == 10:
        return _weighted(digits, (2, 4, 10, 3, 5, 9, 4, 6, 8)) % 11 % 10 == int(digits[9])
    if len(digits) == 12:
        first = _weighted(digits, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) % 11 % 10
        second = _weighted(digits, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) % 11 % 10
        return first == int(digits[10]) and second == int(digits[11])
    return False


def snils_ok(digits: str) -> bool:
    if len(digits) != 11 or int(digits[:9]) <= 1001998:
        return False
    total = _weighted(digits, (9, 8, 7, 6, 5, 4, 3, 2, 1))
    check = total % 101
    if check == 100:
        check = 0
    return check == int(digits[9:])


@lru_cache(maxsize=8192)
def phone_e164(candidate: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- the words that say what a number is ----------------------------------------------------------

_LABELS: dict[str, str] = {
    # Ukrainian taxpayer number (РНОКПП, commonly "ІПН" or "ідентифікаційний код").
    r"рнокпп|іпн|ідентифікаційн\w*\s+(?:код|номер)\w*|податков\w*\s+номер\w*|код\s+платника": "tax_ua",
    r"инн|инн\s+физ\w*|идентификационн\w*\s+номер\w*\s+налогоплательщик\w*": "tax_ru",
    r"tax\s*(?:id|number|payer)|taxpayer\s*(?:id|number)|tin\b|itin\b": "tax",
    r"снилс|страхов\w*\s+номер\w*": "snils",
    r"паспорт\w*|passport\w*|серія\s+(?:та|і)\s+номер|серия\s+и\s+номер|id[\s-]*(?:карт|card)\w*": "passport",
    r"карт[кауио]\w*|card\b|visa|mastercard": "card",
    r"тел\b|тел\.|телефон\w*|моб\w*|phone\w*|mobile|cell|номер\w*\s+телефон\w*|viber|telegram|whatsapp": (
        "phone"
    ),
    # Decoys: numbers the text itself calls something else.
    r"замовлен\w*|заказ\w*|order\w*|ттн|накладн\w*|waybill|tracking|трек\w*|invoice|рахун\w*[\s-]+фактур\w*"
    r"|счет[\s-]+фактур\w*|квитанц\w*|receipt|договор\w*|договір\w*|contract|ticket|квиток\w*|билет\w*"
    r"|рейс\w*|flight|артикул\w*|sku|посилк\w*|посылк\w*|parcel|№|#|no\.|ref\w*\.?": "other",
}
# Labels are matched in lower-cased text (much faster than a case-blind match), or case-blind in the rare
# text whose lower case is longer than itself.
_LABEL_RE = re.compile("|".join(f"(?:{p})" for p in _LABELS))
_LABEL_RE_ANY_CASE = re.compile(_LABEL_RE.pattern, re.IGNORECASE)
_LABEL_PARTS = [(re.compile(rf"(?:{p})$", re.IGNORECASE), name) for p, name in _LABELS.items()]
_WINDOW = 40


def _label_before(hay: str, start: int, floor: int = 0) -> str | None:
    """The name of the nearest label in the few words before ``start`` (None if there is none).

    ``hay`` is the text in lower case (or as it is, if lower-casing would move its characters); a label
    names only the first value after it, so the window starts no earlier than ``floor``, the end of the
    value found before this one."""
    window = hay[max(floor, start - _WINDOW) : start]
    last = None
    labels = _LABEL_RE if window.islower() or not window else _LABEL_RE_ANY_CASE
    for match in labels.finditer(window):
        last = match
    if last is None:
        return None
    # Words after the label that are not part of the number's description ("ІПН моєї мами ...") still
    # leave the label in force; a sentence break does not.
    if re.search(r"[.!?;]\s", window[last.end() :]):
        return None
    word = last.group(0)
    for pattern, name in _LABEL_PARTS:
        if pattern.match(word):
            return name
    return None


# --- the scanners ---------------------------------------------------------------------------------

_SEP = r"(?:[ \u00a0]?[-\u2010\u2013.][ \u00a0]?|[ \u00a0]?\([ \u00a0]?|[ \u00a0]?\)[ \u00a0]?|[ \u00a0])"
# A run of digit groups. It may follow a full stop ("тел.0671234567") but not a letter: digits glued to
# letters are a code ("GB08QGLX9044...", "INV1666"), not a number someone told us.
_NUMBER_RE = re.compile(rf"(?<![\w+/,-])(?<!\d[.:])(?:\+[ \u00a0]?|\([ \u00a0]?)?\d+(?:{_SEP}\d+)*(?![\w/])")
_GROUP_RE = re.compile(r"\d+")
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])\w(?:[\w.%+-]{0,62}\w)?@(?:\w(?:[\w-]{0,61}\w)?\.)+[^\W\d_]{2,24}(?![\w-])"
)
_NOT_DIGIT_RE = re.compile(r"\D+")
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_IBAN_RE = re.compile(
    r"(?<![\w])[A-Z]{2}\d{2}(?:[ \u00a0]?[A-Z0-9]{4}){2,7}(?:[ \u00a0]?[A-Z0-9]{1,4})?(?![\w])"
)
_PASSPORT_LETTERS_RE = re.compile(r"(?<![\w])([А-ЯІЇЄҐ]{2})[ \u00a0]?(?:№[ \u00a0]?)?(\d{6})(?![\w])")

_MONTHS = (
    r"січ\w*|лют\w*|берез\w*|квіт\w*|трав\w*|черв\w*|лип\w*|серп\w*|верес\w*|жовт\w*|листоп\w*|груд\w*"
    r"|январ\w*|феврал\w*|март\w*|апрел\w*|ма[йя]\w*|июн\w*|июл\w*|август\w*|сентябр\w*|октябр\w*"
    r"|ноябр\w*|декабр\w*|jan\w*|feb\w*|mar\w*|apr\w*|may|jun\w*|jul\w*|aug\w*|sep\w*|oct\w*|nov\w*|dec\w*"
)
_BIRTH_RE = re.compile(
    r"(?:дат\w*\s+народженн\w*|д\.\s?н\.|народив(?:ся|сь)|народилас[ья]|дат\w*\s+рождени\w*|д\.\s?р\.|родил(?:ся|ась)"
    r"|date\s+of\s+birth|birth\s*date|birthday|born(?:\s+on)?|dob)"
    r"[\s:,\-\u2013]{0,6}(?:(?:is|was|є|—)\s+)?"
    rf"(?P<date>\d{{1,2}}[./-]\d{{1,2}}[./-](?:19|20)\d{{2}}|(?:19|20)\d{{2}}-\d{{2}}-\d{{2}}"
    rf"|\d{{1,2}}\s+(?:{_MONTHS})\s+(?:19|20)\d{{2}}(?:\s?(?:р\.|г\.|року|года))?"
    rf"|(?:{_MONTHS})\s+\d{{1,2}},?\s+(?:19|20)\d{{2}})",
    re.IGNORECASE,
)
# Only text with one of these in it (lower-cased) can hold a labelled birth date.
_BIRTH_HINTS = ("народж", "народи", "рожд", "родил", "д.", "birth", "born", "dob")
_MONTH_NUMBER = {
    **dict.fromkeys(("січ", "янв", "jan"), 1),
    **dict.fromkeys(("лют", "фев", "feb"), 2),
    **dict.fromkeys(("бер", "мар", "mar"), 3),
    **dict.fromkeys(("кві", "апр", "apr"), 4),
    **dict.fromkeys(("тра", "май", "мая", "may"), 5),
    **dict.fromkeys(("чер", "июн", "jun"), 6),
    **dict.fromkeys(("лип", "июл", "jul"), 7),
    **dict.fromkeys(("сер", "авг", "aug"), 8),
    **dict.fromkeys(("вер", "сен", "sep"), 9),
    **dict.fromkeys(("жов", "окт", "oct"), 10),
    **dict.fromkeys(("лис", "ноя", "nov"), 11),
    **dict.fromkeys(("гру", "дек", "dec"), 12),
}


def _birth_date(written: str) -> date | None:
    parts = re.findall(r"\d+|[^\W\d]+", written.lower())
    try:
        if len(parts) >= 3 and parts[0].isdigit() and parts[1].isdigit():
            if len(parts[0]) == 4:
                return date(int(parts[0]), int(parts[1]), int(parts[2]))
            day, month, year = int(parts[0]), int(parts[1]), int(parts[2])
            if month > 12 >= day:  # 03/27/1985, the American order
                day, month = month, day
            return date(year, month, day)
        if parts[0].isdigit():
            return date(int(parts[2]), _MONTH_NUMBER[parts[1][:3]], int(parts[0]))
        return date(int(parts[2]), _MONTH_NUMBER[parts[0][:3]], int(parts[1]))
    except (ValueError, KeyError, IndexError):
        return None


# Phones written without a country code: the trunk prefix says whose they are.
def _national_phone(digits: str, written: str, latin: bool) -> str | None:  # noqa: PLR0911 - a table of forms
    n = len(digits)
    if n == 10 and digits[0] == "0":
        return phone_e164(digits, "UA")
    if n == 11 and digits[0] == "8":
        return phone_e164(digits, "RU")
    if n == 12 and digits.startswith("380"):
        return phone_e164("+" + digits, None)
    if n == 11 and digits[0] == "7" and not written.isdigit():
        return phone_e164("+" + digits, None)
    if n == 10 and (latin or "(" in written or "-" in written):
        # (212) 555-0147, 212.555.0147 and, in text with no Cyrillic in it, 2125550147: North American
        # numbers written the North American way.
        return phone_e164(digits, "US")
    if n == 11 and digits[0] == "0" and " " in written:
        return phone_e164(digits, "GB")  # 020 7946 0018, 07700 900123
    return None


_CARD_SHAPE = re.compile(
    r"\d{4}(?:[ \u00a0-]\d{4}){2}[ \u00a0-]\d{4}(?:\d{3})?|\d{4}[ \u00a0-]\d{6}[ \u00a0-]\d{5}"
)
_SNILS_SHAPE = re.compile(r"\d{3}-\d{3}-\d{3}[ \u00a0-]\d{2}")


def _classify(  # noqa: C901, PLR0911, PLR0912 - one answer per kind, in the order they are tried
    hay: str, start: int, written: str, digits: str, *, latin: bool, floor: int
) -> tuple[Kind, str] | None:
    """What the number ``written`` at ``start`` is, with its normal form, or None."""
    n = len(digits)
    if n < 6 or n > 19:
        return None
    if written[0] == "+":
        e164 = phone_e164(written, None)
        return (Kind.PHONE, e164) if e164 else None
    label = _label_before(hay, start, floor)
    shaped_card = 13 <= n <= 19 and bool(_CARD_SHAPE.fullmatch(written))
    if label == "other" and not shaped_card:
        return None
    if label == "tax_ua" and rnokpp_ok(digits):
        return Kind.RNOKPP, digits
    if label == "tax_ru" and inn_ok(digits):
        return Kind.INN, digits
    if label == "tax":
        if n == 10 and rnokpp_ok(digits):
            return Kind.RNOKPP, digits
        if inn_ok(digits):
            return Kind.INN, digits
    if (label == "snils" or _SNILS_SHAPE.fullmatch(written)) and snils_ok(digits):
        return Kind.SNILS, digits
    if label == "passport":
        if n == 9:  # the Ukrainian ID card
            return Kind.PASSPORT, digits
        if n == 10:  # the Russian internal passport: 4-digit series, 6-digit number
            return Kind.PASSPORT, digits
    card_label = label in (None, "card", "phone") or shaped_card
    if 12 <= n <= 19 and card_label and luhn_ok(digits) and _card_prefix_ok(digits):
        return Kind.CARD, digits
    if 9 <= n <= 12 and label in (None, "phone", "card", "passport"):
        e164 = _national_phone(digits, written, latin)
        if e164:
            return Kind.PHONE, e164
    return None


def _numbers(text: str, hay: str, out: list[Found]) -> None:
    latin = _CYRILLIC_RE.search(text) is None
    floor = 0
    # Values other scanners found (a passport by its letters, an email) end a label's reach too.
    others = sorted(f.end for f in out)
    for run in _NUMBER_RE.finditer(text):
        written_run = run.group(0)
        if len(written_run) < 6:
            continue
        base = run.start()
        if others and others[0] <= base:
            floor = max(floor, others[bisect.bisect_right(others, base) - 1])
        if _CARD_SHAPE.fullmatch(written_run):
            # Four groups of four are one card number or nothing: never a phone in its last three groups.
            digits = re.sub(r"\D", "", written_run)
            kind = _classify(hay, base, written_run, digits, latin=False, floor=floor)
            if kind is not None:
                out.append(Found(kind[0], base, run.end(), written_run, kind[1]))
                floor = run.end()
            continue
        groups = [(m.start(), m.end()) for m in _GROUP_RE.finditer(written_run)]
        i = 0
        while i < len(groups):
            # The longest run of groups from here that is one value ("067 123 45 67 2 рази" holds a
            # phone and a count).
            taken = False
            first = groups[i][0]
            lead = first
            if i == 0 and written_run[0] in "+(":
                lead = 0
            for j in range(min(len(groups), i + 8), i, -1):
                end = groups[j - 1][1]
                written = written_run[lead:end]
                digits = "".join(written_run[a:b] for a, b in groups[i:j])
                kind = _classify(hay, base + lead, written, digits, latin=latin, floor=floor)
                if kind is not None:
                    out.append(Found(kind[0], base + lead, base + end, written, kind[1]))
                    floor = base + end
                    i, taken = j, True
                    break
            if not taken:
                i += 1


def worth_a_look(text: str) -> bool:
    """Whether ``text`` could hold a value at all: every kind but email has five digits or more (a birth
    date written "4 July 1976"), and most text in payloads has fewer."""
    return "@" in text or len(_NOT_DIGIT_RE.sub("", text)) >= 5


def find(text: str) -> list[Found]:  # noqa: C901 - one pass over the text, the hot path of every intake
    """Every personal value in ``text`` that its validator confirms, in order, never overlapping."""
    found: list[Found] = []
    if not worth_a_look(text):
        return found
    hay = text.lower()
    if len(hay) != len(text):
        hay = text
    if "@" in text:
        found.extend(
            Found(Kind.EMAIL, m.start(), m.end(), m.group(0), m.group(0).lower())
            for m in _EMAIL_RE.finditer(text)
        )
    for m in _IBAN_RE.finditer(text):
        compact = re.sub(r"\s", "", m.group(0))
        if iban_ok(compact):
            found.append(Found(Kind.IBAN, m.start(), m.end(), m.group(0), compact))
    for m in _PASSPORT_LETTERS_RE.finditer(text):
        if _label_before(hay, m.start()) == "passport":
            found.append(Found(Kind.PASSPORT, m.start(), m.end(), m.group(0), m.group(1) + m.group(2)))
    for m in _BIRTH_RE.finditer(text) if any(hint in hay for hint in _BIRTH_HINTS) else ():
        born = _birth_date(m.group("date"))
        if born is not None and 1900 <= born.year <= date.today().year:  # noqa: DTZ011 - a bound, not a clock
            found.append(
                Found(Kind.BIRTH_DATE, m.start("date"), m.end("date"), m.group("date"), born.isoformat())
            )
    _numbers(text, hay, found)
    if not found:
        return found
    # Earlier scanners win an overlap: an IBAN's digits are no phone, an email's digits no card.
    kept: list[Found] = []
    taken: list[tuple[int, int]] = []
    for item in found:
        if any(item.start < b and a < item.end for a, b in taken):
            continue
        kept.append(item)
        taken.append((item.start, item.end))
    kept.sort(key=lambda f: f.start)
    return kept


# --- masks ----------------------------------------------------------------------------------------


def _blot(written: str, keep_last: int = 2) -> str:
    """Every letter and digit but the last ``keep_last`` digits becomes a bullet; separators stay."""
    out, kept = [], 0
    for ch in reversed(written):
        if ch.isdigit() and kept < keep_last:
            out.append(ch)
            kept += 1
        elif ch.isalnum():
            out.append(BULLET)
        else:
            out.append(ch)
    return "".join(reversed(out))


def _group(digits: str, sizes: tuple[int, ...]) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at : at + size])
        at += size
    if at < len(digits):
        parts.append(digits[at:])
    return " ".join(p for p in parts if p)


def mask(found: Found) -> str:
    """How a value is shown once stored: enough to recognise it, never enough to use it."""
    kind, value = found.kind, found.normalized
    if kind == Kind.PHONE:
        number = phonenumbers.parse(value, None)
        code = str(number.country_code)
        national = value[1 + len(code) :]
        shown = _blot(national)
        sizes = (
            (2, 3, 2, 2) if len(national) == 9 else (3, 3, 2, 2) if len(national) == 10 else (len(national),)
        )
        return f"+{code} {_group(shown, sizes)}"
    if kind == Kind.CARD:
        middle = BULLET * (len(value) - 8)
        return _group(value[:4] + middle + value[-4:], (4, 4, 4, 4, 3))
    if kind == Kind.IBAN:
        hidden = _group(BULLET * (len(value) - 8), (4,) * 8)
        return f"{value[:4]} {hidden} {value[-4:]}"
    if kind == Kind.EMAIL:
        local, _, domain = value.partition("@")
        return f"{local[0]}{BULLET * 3}@{domain}"
    if kind == Kind.BIRTH_DATE:
        return _blot(found.value, keep_last=0)
    return _blot(found.value)


def mask_text(text: str, found: list[Found] | None = None) -> tuple[str, list[tuple[Found, int, int, str]]]:
    """``text`` with every value in ``found`` (default: ``find(text)``) replaced by its mask.

    Returns the masked text and, per value, where its mask sits in the masked text and the mask itself.
    """
    found = find(text) if found is None else found
    if not found:
        return text, []
    parts: list[str] = []
    placed: list[tuple[Found, int, int, str]] = []
    at, length = 0, 0
    for item in found:
        before = text[at : item.start]
        parts.append(before)
        length += len(before)
        shown = mask(item)
        parts.append(shown)
        placed.append((item, length, length + len(shown), shown))
        length += len(shown)
        at = item.end
    parts.append(text[at:])
    return "".join(parts), placed
