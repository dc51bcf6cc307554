"""Outbound safety: a template may print a masked value's original only to the person it belongs to.

Templates see payloads as stored, masked; the ``unmasked`` filter (``engage.templating``) puts in place
of each mask of a ``Masked`` text a placeholder naming its value. ``split_words`` makes two texts of
words with placeholders: the one the provider gets (the original where the value is the recipient's own,
the mask where it is anyone else's) and the one Forewarn stores (masks only, always).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from forewarn.privacy.crypto import KeyMissing, keyring
from forewarn.privacy.models import PersonalValue

PLACE = "\u2060pv:{}\u2060"
PLACE_RE = re.compile("\u2060pv:(\\d+)\u2060")
PLACE_MARK = "\u2060pv:"


class Masked(str):
    """A stored text holding masks, and which personal value (by id) each mask at [start, end) stands for."""

    hidden: tuple[tuple[int, int, int], ...]

    def __new__(cls, text: str, hidden: Iterable[tuple[int, int, int]]) -> Masked:
        made = super().__new__(cls, text)
        made.hidden = tuple(sorted(hidden))
        return made


def unmasked(value: Any) -> Any:
    """The text with each mask replaced by its value's placeholder (plain text and numbers pass as is)."""
    if not isinstance(value, Masked):
        return value
    out: list[str] = []
    at = 0
    for start, end, value_id in value.hidden:
        out.extend((value[at:start], PLACE.format(value_id)))
        at = end
    out.append(value[at:])
    return "".join(out)


def split_words(text: str, *, recipient_id: int | None) -> tuple[str, str]:
    """(to send, to store) for words that may hold placeholders; the same text twice when they hold none."""
    if PLACE_MARK not in text:
        return text, text
    ids = {int(i) for i in PLACE_RE.findall(text)}
    values = {v.pk: v for v in PersonalValue.objects.filter(pk__in=ids)}
    ring = keyring()

    def to_send(match: re.Match[str]) -> str:
        value = values.get(int(match.group(1)))
        if value is None:
            return "\u2022\u2022\u2022"  # erased since the words were written
        if recipient_id is None or value.customer_id != recipient_id:
            return value.mask
        try:
            return ring.open(value.key_id, value.sealed, value.context)
        except (KeyMissing, ValueError):
            return value.mask

    def to_store(match: re.Match[str]) -> str:
        value = values.get(int(match.group(1)))
        return value.mask if value is not None else "\u2022\u2022\u2022"

    return PLACE_RE.sub(to_send, text), PLACE_RE.sub(to_store, text)


def with_masks(payload: Any, hidden: list[PersonalValue], path: str = "payload") -> Any:
    """The payload with each text that holds masks marked with the values they stand for."""
    by_field: dict[str, list[tuple[int, int, int]]] = {}
    for value in hidden:
        by_field.setdefault(value.field, []).append((value.start, value.end, value.pk))
    if not by_field:
        return payload

    def walk(value: Any, where: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, f"{where}.{i}") for i, v in enumerate(value)]
        if isinstance(value, str) and where in by_field:
            return Masked(value, by_field[where])
        return value

    return walk(payload, path)
