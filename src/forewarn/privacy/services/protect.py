"""Masking at ingestion: text in, masked text and sealed values out.

A service that takes text from outside (an event's payload, a note, later an inbound message) calls
``mask_text``/``mask_payload`` before it stores anything, stores the masked text, and hands what was
found to ``store_values`` in the same transaction, naming the record the text went into. From then on the
original exists only sealed (``crypto``), linked to the customer and to where its mask sits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from forewarn.core import clock
from forewarn.core.bulk import Rows
from forewarn.privacy import detect
from forewarn.privacy.crypto import keyring
from forewarn.privacy.models import PersonalValue


@dataclass(frozen=True, slots=True)
class Hidden:
    """One value taken out of a field: where its mask now sits in the field's stored text."""

    field: str
    kind: str
    start: int
    end: int
    mask: str
    original: str


def mask_text(
    text: str, field: str = "", *, context: str = "", limit: int | None = None
) -> tuple[str, list[Hidden]]:
    """``text`` with its personal values masked, and what was hidden.

    ``context`` is read for labels but not masked: a JSON key ("order_id", "phone") says what the value
    after it is, as words in a sentence do. ``limit`` is the stored field's length: the text is cut to it
    after masking (a mask may be longer than its value), and a value whose mask was cut is not kept.
    """
    if limit is not None:
        masked, hidden = mask_text(text[:limit], field, context=context)
        return masked[:limit], [h for h in hidden if h.end <= limit]
    if context and detect.worth_a_look(text):
        lead = f"{context}: "
        found = [f for f in detect.find(lead + text) if f.start >= len(lead)]
        shifted = [
            detect.Found(f.kind, f.start - len(lead), f.end - len(lead), f.value, f.normalized) for f in found
        ]
        masked, placed = detect.mask_text(text, shifted)
    elif context:
        return text, []
    else:
        masked, placed = detect.mask_text(text)
    return masked, [Hidden(field, f.kind.value, a, b, shown, f.value) for f, a, b, shown in placed]


# ISO 8601 dates and times, and the dotted and slashed dates people write.
_DATE_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}[./]\d{1,2}[./]\d{4}"
)
_BIRTH_KEY_RE = re.compile(r"birth|dob|народж|рожд", re.IGNORECASE)


def _label(key: str) -> str:
    return key.replace("_", " ").replace("-", " ")


def mask_payload(payload: Any, path: str = "payload") -> tuple[Any, list[Hidden]]:
    """A JSON value with every string (and every long number) masked, keys read as labels."""
    hidden: list[Hidden] = []

    def walk(value: Any, where: str, key: str) -> Any:
        if isinstance(value, str):
            # Most payload text (names of things, codes, dates) cannot hold a value: skip it cheaply.
            if not detect.worth_a_look(value) or (
                _DATE_RE.fullmatch(value) and not _BIRTH_KEY_RE.search(key)
            ):
                return value
            text = value
        elif isinstance(value, dict):
            return {k: walk(v, f"{where}.{k}", str(k)) for k, v in value.items()}
        elif isinstance(value, list):
            return [walk(v, f"{where}.{i}", key) for i, v in enumerate(value)]
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**5:
            text = str(value)
        else:
            return value
        masked, found = mask_text(text, where, context=_label(key))
        if not found:
            return value
        hidden.extend(found)
        return masked

    return walk(payload, path, ""), hidden


COLUMNS = ["kind", "customer", "source", "source_id", "field", "start", "end", "mask", "key_id", "sealed"]


def store_values(
    records: Iterable[tuple[str, object, int | None, Sequence[Hidden]]],
) -> int:
    """Seal and keep what was hidden: ``(source, source_id, customer_id, hidden)`` per record."""
    ring = keyring()
    now = clock.now()
    rows = []
    for source, source_id, customer_id, hidden in records:
        for h in hidden:
            key_id, sealed = ring.seal(h.original, f"forewarn.privacy:{h.kind}")
            rows.append(
                (
                    h.kind,
                    customer_id,
                    source,
                    str(source_id),
                    h.field,
                    h.start,
                    h.end,
                    h.mask,
                    key_id,
                    sealed,
                    now,
                )
            )
    if rows:
        Rows(PersonalValue, [*COLUMNS, "created_at"]).insert(rows)
    return len(rows)


def with_hidden(source: str, rows: Sequence[Any]) -> Sequence[Any]:
    """Each row with ``hidden``: the values masked in it (no originals), for ``{% masked %}`` to mark."""
    found = values_in(source, [row.pk for row in rows])
    for row in rows:
        row.hidden = found.get(str(row.pk), [])
    return rows


def values_in(source: str, source_ids: Iterable[object]) -> dict[str, list[PersonalValue]]:
    """The values hidden in these records, by record id, in the order their masks appear (no originals)."""
    by_id: dict[str, list[PersonalValue]] = {}
    ids = [str(i) for i in source_ids]
    query = (
        PersonalValue.objects.filter(source=source, source_id__in=ids)
        .defer("sealed")
        .order_by("source_id", "field", "start")
    )
    for value in query:
        by_id.setdefault(value.source_id, []).append(value)
    return by_id


def leaves(payload: Any, path: str = "payload") -> list[tuple[str, str]]:
    """Every leaf of a JSON value as (path, text), in the paths ``mask_payload`` names its fields by."""
    out: list[tuple[str, str]] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}.{i}")
        else:
            out.append((where, "" if value is None else str(value)))

    walk(payload, path)
    return out
