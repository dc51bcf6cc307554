"""How long a text may be where it goes: the longest message each channel takes, the longest internal note,
and the parts an SMS takes.

An SMS is written in GSM-7 when every character is one of its alphabet (160 characters alone, 153 a part
when it is split; ``^{}[]~|€`` and ``\\`` take two), and in UCS-2 otherwise, Cyrillic included (70 alone,
67 a part). Everything else is counted in UTF-16 code units, as the SMS standard, Telegram and the
browser's own string length count them, so the counter an agent sees while typing and the check here
agree. Line breaks count as one (a browser sends ``\\r\\n``: callers pass text with ``\\n`` only).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from forewarn.core.errors import FieldError
from forewarn.core.vocab import Channel, label_of

GSM7 = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"
_GSM7, _GSM7_EXTENDED = frozenset(GSM7), frozenset(GSM7_EXTENDED)

# An SMS of more parts than this is refused: most gateways stop at ten, and phones join them unreliably.
SMS_MAX_PARTS = 10
SMS_SINGLE = {"gsm7": 160, "ucs2": 70}
SMS_PART = {"gsm7": 153, "ucs2": 67}
# The longest answer each channel takes, in UTF-16 code units: Telegram's and Viber's own limits, the web
# chat's (what a visitor may write, so both sides are alike), and an email that is still a letter.
LONGEST = {
    Channel.EMAIL.value: 50_000,
    Channel.TELEGRAM.value: 4_096,
    Channel.VIBER.value: 7_000,
    Channel.WEBCHAT.value: 4_000,
}
LONGEST_NOTE = 20_000


def units(text: str) -> int:
    """The length of ``text`` in UTF-16 code units (an emoji outside the basic plane counts two)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Measure:
    """How long a text is where it goes, and the most that place takes, in the same units."""

    length: int
    limit: int
    # An SMS's encoding ("gsm7" or "ucs2"), its parts and how much one part holds; empty elsewhere.
    encoding: str = ""
    parts: int | None = None
    per_part: int | None = None

    @property
    def too_long(self) -> bool:
        return self.length > self.limit


def sms(text: str) -> Measure:
    """The parts an SMS of ``text`` takes."""
    if all(c in _GSM7 or c in _GSM7_EXTENDED for c in text):
        encoding, length = "gsm7", len(text) + sum(1 for c in text if c in _GSM7_EXTENDED)
    else:
        encoding, length = "ucs2", units(text)
    single, per_part = SMS_SINGLE[encoding], SMS_PART[encoding]
    parts = 1 if length <= single else -(-length // per_part)
    return Measure(
        length=length,
        limit=per_part * SMS_MAX_PARTS,
        encoding=encoding,
        parts=parts,
        per_part=single if parts == 1 else per_part,
    )


def measure(text: str, *, channel: str, note: bool = False) -> Measure:
    """``text`` as an answer on ``channel`` (an SMS in parts), or as an internal note."""
    if note:
        return Measure(units(text), LONGEST_NOTE)
    if channel == Channel.SMS:
        return sms(text)
    return Measure(units(text), LONGEST.get(channel, LONGEST_NOTE))


def refusal(text: str, *, channel: str, note: bool = False, path: str = "text") -> FieldError | None:
    """Why ``text`` is too long to be an answer on ``channel`` (or a note), or None when it fits."""
    found = measure(text, channel=channel, note=note)
    if not found.too_long:
        return None
    if note:
        message = _("A note can be at most %(limit)s characters; this one has %(n)s.")
    elif found.parts is not None:
        message = _(
            "An SMS answer can take at most %(parts_max)s parts; this one would take %(parts)s "
            "(%(per_part)s characters a part, %(alphabet)s)."
        )
    else:
        message = _("An answer by %(channel)s can be at most %(limit)s characters; this one has %(n)s.")
    alphabet = (
        _("plain Latin text")
        if found.encoding == "gsm7"
        else _("Cyrillic or other letters beyond plain Latin")
    )
    return FieldError(
        path,
        "too_long",
        message
        % {
            "limit": found.limit,
            "n": found.length,
            "parts": found.parts,
            "parts_max": SMS_MAX_PARTS,
            "per_part": found.per_part,
            "alphabet": alphabet,
            "channel": label_of(Channel, channel),
        },
    )
