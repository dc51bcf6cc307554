"""The audit log: append a record of a reveal, an export or an erasure; read it; prove it unbroken.

Each entry's hash covers its own fields and the previous entry's hash, so the log is a chain: an entry
changed or removed behind the database's back (the database itself refuses both) breaks every hash after
it. Appends take a lock on PostgreSQL so two at once cannot both claim the next number; SQLite writes one
at a time anyway.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model, QuerySet

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.privacy.detect import mask_text
from forewarn.privacy.models import AuditAction, AuditEntry

GENESIS = "0" * 64
_LOCK_KEY = 0x466F7265  # "Fore": the advisory lock that orders appends on PostgreSQL


def _digest(entry: AuditEntry) -> str:
    fields = [
        entry.previous_hash,
        str(entry.seq),
        entry.at.isoformat(),
        entry.action,
        entry.actor,
        str(entry.actor_user_id or ""),
        str(entry.customer_id or ""),
        str(entry.value_id or ""),
        entry.value_kind,
        entry.reason,
        json.dumps(entry.detail, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
    ]
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def record(
    action: str,
    *,
    actor: Actor,
    customer_id: int | None = None,
    value_id: int | None = None,
    value_kind: str = "",
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. The reason is stored masked: people type phone numbers into reasons too."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, previous = (last[0] + 1, last[1]) if last else (1, GENESIS)
        entry = AuditEntry(
            seq=seq,
            at=clock.now(),
            action=action,
            actor=str(actor)[:200],
            actor_user_id=actor.user_id,
            customer_id=customer_id,
            value_id=value_id,
            value_kind=value_kind,
            reason=mask_text(reason)[0],
            detail=detail or {},
            previous_hash=previous,
        )
        entry.hash = _digest(entry)
        entry.save(force_insert=True)
    return entry


def _plain(value: Any) -> Any:
    """A value as the audit log keeps it: JSON, with personal values in text masked."""
    if isinstance(value, str):
        return mask_text(value)[0]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, bool | int | float) else str(value)


def values_of(row: Model, names: Any) -> dict[str, Any]:
    """The named fields of ``row`` as they are now: what ``record_setting`` compares a change with."""
    return {name: getattr(row, name) for name in names}


def record_setting(
    actor: Actor,
    row: Model | type[Model],
    change: str,
    values: dict[str, Any] | None = None,
    before: dict[str, Any] | None = None,
) -> None:
    """Record a change to a setting: what (``inbox.slapolicy`` #id and its name; a model class for a
    setting kept as a whole table, such as the frequency caps), how (created, changed, deactivated,
    deleted, or a word of the caller's) and, field by field, the new value (and, given ``before``, the
    old one beside it: only the fields that differ). A change that changed nothing is not recorded."""
    fields: dict[str, Any] = {}
    for name, new in (values or {}).items():
        if before is None:
            fields[name] = _plain(new)
        elif before.get(name) != new:
            fields[name] = [_plain(before.get(name)), _plain(new)]
    if change == "changed" and not fields:
        return
    if isinstance(row, Model):
        what, row_id, name = row._meta.label_lower, row.pk, str(row)[:200]
    else:
        what, row_id, name = row._meta.label_lower, None, str(row._meta.verbose_name_plural)
    detail = {"what": what, "id": row_id, "name": name, "change": change}
    record(AuditAction.SETTING, actor=actor, detail={**detail, "fields": fields})


def audit_entries_for(actor: Actor) -> QuerySet[AuditEntry]:
    actor.require(Perm.AUDIT_VIEW)
    return AuditEntry.objects.all()


@dataclass(frozen=True)
class ChainReport:
    entries: int
    first_broken: int | None  # the seq of the first entry whose hash or link does not hold

    @property
    def intact(self) -> bool:
        return self.first_broken is None


def verify_audit_chain(*, actor: Actor) -> ChainReport:
    actor.require(Perm.AUDIT_VIEW)
    previous, expected_seq, count = GENESIS, 1, 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        count += 1
        if entry.seq != expected_seq or entry.previous_hash != previous or entry.hash != _digest(entry):
            return ChainReport(count, entry.seq)
        previous, expected_seq = entry.hash, entry.seq + 1
    return ChainReport(count, None)
