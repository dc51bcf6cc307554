"""A person's rights over their data: everything held about them, exported; or all of it, erased.

Each app knows what it holds about a person, so each registers a ``Holder`` in its ``AppConfig.ready``:
what to export, which strings are this person's (``needles``: names, identities, addresses, the
originals of masked values) and how to erase. privacy never imports the apps that hold data; they import
privacy. Erasure keeps the rows that anonymous counts are made of (an event happened, a message was sent,
a consent was given) and removes every personal value in them, in one transaction, then records in the
audit log what it did: how many rows of which kind, never a value.

``scan_for(needles)`` reads every text and JSON column of every table for any of the strings: the proof
an erasure left nothing behind (the tests run it; ``forewarn privacy erase --verify`` too).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.core.errors import NotFound, ValidationFailed
from forewarn.privacy.models import AuditAction
from forewarn.privacy.services import audit

People = list[int]


def _nothing(_people: People) -> set[str]:
    return set()


@dataclass(frozen=True)
class Holder:
    name: str
    export: Callable[[People], Any]
    erase: Callable[[People, set[str]], dict[str, int]]
    needles: Callable[[People], set[str]] = _nothing
    # Only one holder says who a person is: the profile and every profile merged into it.
    people: Callable[[int], People] | None = None
    order: int = 50  # erasure runs in this order (those that point at profiles before the profiles)


_HOLDERS: dict[str, Holder] = {}


def register(holder: Holder) -> None:
    _HOLDERS[holder.name] = holder


def _holders() -> list[Holder]:
    return sorted(_HOLDERS.values(), key=lambda h: (h.order, h.name))


def _people(customer_id: int) -> People:
    resolvers = [h.people for h in _HOLDERS.values() if h.people is not None]
    assert len(resolvers) == 1, "exactly one holder resolves people"
    people = resolvers[0](customer_id)
    if not people:
        raise NotFound(_("No such customer."), code="customer_not_found")
    return people


def export_person(*, actor: Actor, customer_id: int, reason: str = "") -> dict[str, Any]:
    """Everything Forewarn holds about a person, originals of masked values included (audited)."""
    actor.require(Perm.PERSONAL_DATA_EXPORT)
    people = _people(customer_id)
    sections = {h.name: h.export(people) for h in _holders()}
    data = {
        "customer_id": customer_id,
        "profiles": people,
        "exported_at": clock.now().isoformat(),
        "sections": sections,
    }
    audit.record(
        AuditAction.EXPORT,
        actor=actor,
        customer_id=customer_id,
        reason=reason,
        detail={"profiles": people, "sections": sorted(sections)},
    )
    return data


@dataclass
class Erasure:
    customer_id: int
    profiles: People
    erased: dict[str, int] = field(default_factory=dict)
    residue: list[tuple[str, str]] | None = None  # (table, column) still holding a needle, if verified


MIN_NEEDLE = 5  # shorter strings (a given name, a city) are shared with too many others to look for


def needles_of(people: People) -> set[str]:
    return {n for h in _holders() for n in h.needles(people) if n and len(n) >= MIN_NEEDLE}


def erase_person(*, actor: Actor, customer_id: int, reason: str, verify: bool = False) -> Erasure:
    """Remove every personal value held about a person, keep the anonymous rows, record the erasure."""
    actor.require(Perm.PERSONAL_DATA_ERASE)
    if len((reason or "").strip()) < 5:
        raise ValidationFailed.single(
            "reason", "reason_required", _("Say why this person is erased (for example, their request).")
        )
    with transaction.atomic():
        people = _people(customer_id)
        needles = needles_of(people)
        result = Erasure(customer_id, people)
        for holder in _holders():
            for what, count in holder.erase(people, needles).items():
                result.erased[f"{holder.name}.{what}"] = count
        audit.record(
            AuditAction.ERASE,
            actor=actor,
            customer_id=customer_id,
            reason=reason,
            detail={"profiles": people, "erased": result.erased},
        )
    if verify:
        result.residue = scan_for(needles)
    return result


def json_spellings(needles: Iterable[str]) -> set[str]:
    """Each string as it is and as JSON text may keep it (non-ASCII letters as \\u escapes)."""
    return {s for n in needles for s in (n, json.dumps(n)[1:-1])}


def text_columns() -> Iterable[tuple[type[models.Model], models.Field[Any, Any]]]:
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        for f in model._meta.local_fields:
            if isinstance(f, models.CharField | models.TextField | models.JSONField):
                yield model, f


def rows_holding(rows: models.QuerySet[Any], field: models.Field[Any, Any], needles: Iterable[str]) -> Any:
    """The rows whose ``field`` holds any of ``needles`` (a JSON field read as its text, both spellings)."""
    if isinstance(field, models.JSONField):
        rows = rows.annotate(_as_text=Cast(field.name, models.TextField()))
        column, spellings = "_as_text", json_spellings(needles)
    else:
        column, spellings = field.name, set(needles)
    condition = models.Q()
    for n in spellings:
        condition |= models.Q(**{f"{column}__contains": n})
    return rows.filter(condition)


def scan_for(needles: Iterable[str]) -> list[tuple[str, str]]:
    """Every (table, column) in which any of ``needles`` still appears (JSON read as its text)."""
    needles = sorted({n for n in needles if n})
    if not needles:
        return []
    return [
        (model._meta.db_table, f.column)
        for model, f in text_columns()
        if rows_holding(model._default_manager.all(), f, needles).exists()
    ]
