"""What customers may be asked about and what they have until they say otherwise, as stored: the topics of
consent (the four built in, and those an administrator adds) and the default quiet hours.

Only reads live here, for every app to check a topic or fill in quiet hours; ``engage.services.rules``
changes them, with the permission and the audit log. Each read is one small query, made afresh, so a
change is seen by every process at once (the policy must never send on a topic that has just become
opt-in as if it had not).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from django.utils.translation import get_language

from forewarn.core.models import ContactDefaults, Topic
from forewarn.core.vocab import Language
from forewarn.core.vocab import Topic as BuiltIn

DEFAULT_QUIET_HOURS = (time(21, 0), time(9, 0))
# A name in the reader's language first, then these.
NAME_ORDER = (Language.UKRAINIAN.value, Language.ENGLISH.value, Language.RUSSIAN.value)


# The built-in topics and whether each needs a yes, as the first migration stores them; a database
# without their rows (emptied by hand) still knows them so.
BUILT_IN_OPT_IN = {
    BuiltIn.TRANSACTIONAL.value: False,
    BuiltIn.SERVICE.value: False,
    BuiltIn.MARKETING.value: True,
    BuiltIn.SURVEYS.value: True,
}


@dataclass(frozen=True)
class TopicInfo:
    id: int | None  # None: a built-in topic without its row
    code: str
    names: dict[str, str]
    opt_in: bool
    active: bool

    @property
    def built_in(self) -> bool:
        return self.code in BuiltIn.values

    @property
    def label(self) -> str:
        return name_of(self.code, self.names)


def name_of(code: str, names: dict[str, str]) -> str:
    """A topic's name in the active language: its own there, a built-in topic's translated one, or its
    own in another language; its code when it has none."""
    language = (get_language() or "").split("-")[0]
    if names.get(language):
        return names[language]
    if code in BuiltIn.values:
        return str(BuiltIn(code).label)
    return next((names[lang] for lang in NAME_ORDER if names.get(lang)), code)


def topics() -> list[TopicInfo]:
    """Every topic, retired ones too, in the order they are shown."""
    stored = [
        TopicInfo(row.pk, row.code, dict(row.names or {}), row.opt_in, row.active)
        for row in Topic.objects.all()
    ]
    have = {t.code for t in stored}
    missing = [
        TopicInfo(None, code, {}, opt_in, active=True)
        for code, opt_in in BUILT_IN_OPT_IN.items()
        if code not in have
    ]
    return missing + stored


def topic_codes() -> frozenset[str]:
    """The codes a consent, a trigger or a cap may name (retired topics too: what named them stays)."""
    return frozenset(t.code for t in topics())


def opt_in_codes() -> frozenset[str]:
    """Topics a customer must have said yes to before anything on them goes."""
    return frozenset(t.code for t in topics() if t.opt_in)


def is_opt_in(code: str) -> bool:
    return code in opt_in_codes()


def topic_choices(*, keep: str = "") -> list[tuple[str, str]]:
    """(code, name) of the active topics, for a form; ``keep`` is offered too when retired (the topic a
    row has already)."""
    return [(t.code, t.label) for t in topics() if t.active or t.code == keep]


def quiet_hours_default() -> tuple[time, time]:
    """The quiet hours of every customer who has not chosen their own (start, end; start == end: none)."""
    row = ContactDefaults.objects.filter(pk=1).first()
    return (row.quiet_hours_start, row.quiet_hours_end) if row else DEFAULT_QUIET_HOURS


def quiet_hours_of(start: time | None, end: time | None, default: tuple[time, time]) -> tuple[time, time]:
    """A customer's quiet hours: each end their own if they chose it, the default's otherwise."""
    return (default[0] if start is None else start, default[1] if end is None else end)


def follows_default(start: time | None, end: time | None) -> bool:
    return start is None and end is None
