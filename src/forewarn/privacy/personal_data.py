"""privacy's own part of a person's data: the values masked in their texts, opened for an export; and the
platform's stored answers to idempotent creates that quote the person (a retry after the erasure is
answered afresh)."""

from __future__ import annotations

from typing import Any

from forewarn.core.models import IdempotencyRecord
from forewarn.privacy.crypto import KeyMissing, keyring
from forewarn.privacy.models import PersonalValue
from forewarn.privacy.services.subjects import Holder, People, rows_holding


def _opened(people: People) -> list[tuple[PersonalValue, str]]:
    ring, out = keyring(), []
    for value in PersonalValue.objects.filter(customer__in=people).order_by("pk"):
        try:
            out.append((value, ring.open(value.key_id, value.sealed, value.context)))
        except (KeyMissing, ValueError):
            out.append((value, ""))  # its key is gone: the value cannot be read by anyone any more
    return out


def export(people: People) -> list[dict[str, Any]]:
    return [
        {"kind": v.kind, "value": original, "shown_as": v.mask, "in": f"{v.source} {v.source_id} {v.field}"}
        for v, original in _opened(people)
    ]


def needles(people: People) -> set[str]:
    return {original for _v, original in _opened(people) if original}


def erase(people: People, found: set[str]) -> dict[str, int]:
    response = IdempotencyRecord._meta.get_field("response")
    quoting = rows_holding(IdempotencyRecord.objects.all(), response, found)
    answers = list(quoting.values_list("pk", flat=True)) if found else []
    return {
        "values": PersonalValue.objects.filter(customer__in=people).delete()[0],
        "stored_answers": IdempotencyRecord.objects.filter(pk__in=answers).delete()[0],
    }


HOLDER = Holder(name="privacy", export=export, erase=erase, needles=needles, order=30)
