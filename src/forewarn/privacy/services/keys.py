"""Key rotation: every value sealed under an older key is opened and sealed again under the current one."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.privacy.crypto import keyring
from forewarn.privacy.models import AuditAction, PersonalValue
from forewarn.privacy.services import audit


def reencrypt_values(*, actor: Actor, batch: int = 1000) -> int:
    """Move every value to the current key, a batch per transaction; returns how many moved."""
    actor.require(Perm.PERSONAL_DATA_ERASE)  # the administrator's: whoever may erase may re-key
    ring = keyring()
    moved = 0
    while True:
        with transaction.atomic():
            values = list(
                PersonalValue.objects.select_for_update()
                .exclude(key_id=ring.current)
                .only("pk", "kind", "key_id", "sealed")
                .order_by("pk")[:batch]
            )
            for value in values:
                plain = ring.open(value.key_id, value.sealed, value.context)
                value.key_id, value.sealed = ring.seal(plain, value.context)
            PersonalValue.objects.bulk_update(values, ["key_id", "sealed"])
        moved += len(values)
        if len(values) < batch:
            break
    if moved:
        audit.record(AuditAction.REENCRYPT, actor=actor, detail={"values": moved, "key": ring.current})
    return moved


def keys_in_use() -> dict[str, int]:
    """How many values each key seals: a key with none left can be dropped."""
    rows = PersonalValue.objects.values("key_id").order_by("key_id").annotate(n=Count("pk"))
    return {row["key_id"]: row["n"] for row in rows}
