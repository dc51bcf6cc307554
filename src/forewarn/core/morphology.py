"""The forms a searched word takes in Ukrainian, Russian and English, so that "рахунок" finds "рахунку"
and "billing" finds "billed".

Search expands the query rather than the stored text (ADR 0022): the words people wrote stay as they were
written and indexed as they are (a ``simple`` full-text index on PostgreSQL, a pattern on SQLite), and
each searched word becomes the set of its forms. Nothing is re-indexed when the rules get better, and a
word the dictionaries do not know still matches as written.

- Cyrillic words: every form of the word's paradigm from the OpenCorpora (Russian) and VESUM (Ukrainian)
  dictionaries that ship inside the ``pymorphy3-dicts-*`` packages, for the likeliest readings of the
  word; the Ukrainian letters (і, ї, є, ґ) leave out Russian, the Russian ones (ы, э, ъ, ё) Ukrainian.
  "ё" is also written "е", so both spellings are kept.
- Latin words: English has few endings, so the word matches as a prefix of its Snowball stem's common
  part with it ("delivery" → ``deliver*``: delivered, deliveries), never shorter than four letters.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import Any

# At most this many forms of one word (a Russian verb has over a hundred: the likeliest come first).
MAX_FORMS = 48
# Readings of a word less likely than this share of the likeliest one are left out.
MIN_SCORE_SHARE = 0.25
MIN_PREFIX = 4
UKRAINIAN_ONLY = frozenset("іїєґ")
RUSSIAN_ONLY = frozenset("ыэъё")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN = re.compile(r"^[a-z]+$")


@dataclass(frozen=True)
class Term:
    """One searched word: what it matches as, any of its ``prefixes`` or its exact ``forms``.

    Forms that share their first four letters or more are matched by what they share, as a prefix
    ("рахунок", "рахунку", "рахунками": ``рахун*``): one comparison per row instead of a dozen, which
    matters where a search reads the newest entries one by one. A form alone in its beginning (and the
    forms of a short stem: "їжа", "їжі") is matched exactly."""

    word: str
    forms: tuple[str, ...]
    prefixes: tuple[str, ...] = ()

    @property
    def options(self) -> tuple[str, ...]:
        return (*self.prefixes, *self.forms)


@functools.cache
def _analyzer(lang: str) -> Any:
    # Loaded on first use (a third of a second and some 15 MB each): a process that never searches
    # never pays for it.
    import pymorphy3  # noqa: PLC0415 - loaded on first use, see above

    logging.getLogger("pymorphy3").setLevel(logging.WARNING)  # it tells of every dictionary it loads
    return pymorphy3.MorphAnalyzer(lang=lang)


@functools.cache
def _english() -> Any:
    import snowballstemmer  # noqa: PLC0415 - loaded on first use, like the dictionaries

    return snowballstemmer.stemmer("english")


def _languages(word: str) -> tuple[str, ...]:
    letters = set(word)
    if letters & UKRAINIAN_ONLY:
        return ("uk",)
    if letters & RUSSIAN_ONLY:
        return ("ru",)
    return ("uk", "ru")


@functools.lru_cache(maxsize=4096)
def forms_of(word: str) -> tuple[str, ...]:
    """The forms of ``word`` (lower case) in the languages its letters allow, the word itself first."""
    word = word.casefold()
    if not CYRILLIC.search(word):
        return (word,)
    found: dict[str, None] = {word: None}
    for lang in _languages(word):
        parses = _analyzer(lang).parse(word)
        if not parses:
            continue
        best = parses[0].score or 1.0
        for parse in parses[:4]:
            if parse.score < best * MIN_SCORE_SHARE:
                continue
            for form in parse.lexeme:
                found[form.word] = None
                found[form.word.replace("ё", "е")] = None
    return tuple(found)[:MAX_FORMS]


def _shared_start(words: list[str]) -> str:
    """The letters every one of ``words`` begins with."""
    first, last = min(words), max(words)
    size = 0
    while size < len(first) and first[size] == last[size]:
        size += 1
    return first[:size]


def prefix_of(word: str) -> str:
    """What an English ``word`` matches as a prefix: its stem's common part with it (four letters at
    least), or "" when it is not an English word or too short to stem."""
    word = word.casefold()
    if not LATIN.match(word) or len(word) <= MIN_PREFIX:
        return ""
    stem = str(_english().stemWord(word))
    # The stem writes a final y as i ("deliveries", "delivery": "deliveri"), which "delivered" lacks.
    common = _shared_start([word, stem]).removesuffix("i")
    return common if len(common) >= MIN_PREFIX else ""


def term_for(word: str, *, typing: bool = False) -> Term:
    """What ``word`` matches as; ``typing``: it is the last word of the query, perhaps not yet whole,
    so it matches as a prefix too."""
    word = word.casefold()
    forms = forms_of(word)
    prefixes = [p for p in (prefix_of(word),) if p]
    # Forms that begin alike (four letters or more) are matched by what they share: "бачила", "бачили",
    # "бачив" by ``бачи*``: as few comparisons per row as the paradigm allows.
    alike: dict[str, list[str]] = {}
    for form in forms:
        alike.setdefault(form[:MIN_PREFIX], []).append(form)
    prefixes += [
        _shared_start(group) for head, group in alike.items() if len(head) == MIN_PREFIX and len(group) > 1
    ]
    if typing:
        prefixes.append(word)
    kept = sorted({p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes)})
    exact = tuple(f for f in forms if not any(f.startswith(p) for p in kept))
    return Term(word, exact, tuple(kept))


def terms(q: str, *, limit: int = 8) -> list[Term]:
    """The words of a query, each with what it matches as; the last one, still being typed, also as a
    prefix."""
    words = [w for w in re.findall(r"\w+", q.casefold()) if w][:limit]
    return [term_for(w, typing=i == len(words) - 1) for i, w in enumerate(words)]
