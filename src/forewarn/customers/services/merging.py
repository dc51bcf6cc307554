"""Merging two profiles of one person, and undoing it.

The survivor keeps its own values and gains what it lacked: every identity, blank fields filled, missing
attribute keys, segments. Consent takes the stricter answer per topic and channel: a refusal on either
profile wins over a grant; a grant on one with no answer on the other stays a grant (the same person
gave it). The absorbed profile stays in the database as ``merged`` with its own consent rows untouched,
and its consent history moves to the survivor marked with its origin. The snapshot names exactly what
changed, so an undo puts back what the merge did and leaves alone what people changed since.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from forewarn.accounts.actors import Actor
from forewarn.accounts.roles import Perm
from forewarn.core import clock
from forewarn.core.errors import Conflict, NotFound
from forewarn.customers.models import (
    Consent,
    ConsentChange,
    ConsentStatus,
    Customer,
    DuplicateCandidate,
    Identity,
    Merge,
)
from forewarn.customers.services.profiles import TEXT_FIELDS, refresh_search_text
from forewarn.privacy.services.protect import mask_text, store_values

FILLABLE = (*TEXT_FIELDS, "birth_date", "preferred_channel")
STRICTNESS = {ConsentStatus.DENIED: 2, ConsentStatus.GRANTED: 1}


def surviving(customer: Customer) -> Customer:
    """The profile a customer lives on in: itself, or the one it was merged into (and so on)."""
    seen = {customer.pk}
    while customer.status == Customer.Status.MERGED:
        into = customer.merged_into_id
        if into is None or into in seen:
            break
        seen.add(into)
        customer = Customer.objects.get(pk=into)
    return customer


def _stricter(a: str, b: str) -> str:
    return max((a, b), key=lambda s: STRICTNESS.get(ConsentStatus(s), 0) if s else 0)


def _locked_pair(first_id: int, second_id: int) -> dict[int, Customer]:
    rows = Customer.objects.select_for_update().filter(pk__in=[first_id, second_id])
    return {c.pk: c for c in rows.order_by("pk")}


@transaction.atomic
def merge_customers(*, actor: Actor, survivor_id: int, absorbed_id: int, reason: str = "") -> Merge:
    actor.require(Perm.CUSTOMERS_MERGE)
    if survivor_id == absorbed_id:
        raise Conflict(_("A profile cannot be merged into itself."), code="merge_same_customer")
    pair = _locked_pair(survivor_id, absorbed_id)
    if len(pair) != 2:
        raise NotFound(_("Both customers must exist."), code="customer_not_found")
    survivor, absorbed = pair[survivor_id], pair[absorbed_id]
    for customer in (survivor, absorbed):
        if customer.status != Customer.Status.ACTIVE:
            raise Conflict(
                _("Customer #%(id)d was already merged into another profile.") % {"id": customer.pk},
                code="customer_not_active",
            )
    moment = clock.now()
    snapshot: dict[str, Any] = {}

    identity_ids = list(absorbed.identities.values_list("pk", flat=True))
    survivor_primary = set(survivor.identities.filter(is_primary=True).values_list("kind", flat=True))
    demoted = list(
        absorbed.identities.filter(is_primary=True, kind__in=survivor_primary).values_list("pk", flat=True)
    )
    Identity.objects.filter(pk__in=demoted).update(is_primary=False)
    Identity.objects.filter(pk__in=identity_ids).update(customer=survivor)
    snapshot["identities"] = identity_ids
    snapshot["demoted_identities"] = demoted

    filled: dict[str, Any] = {}
    for name in FILLABLE:
        if not getattr(survivor, name) and getattr(absorbed, name):
            filled[name] = getattr(absorbed, name)
            setattr(survivor, name, getattr(absorbed, name))
    added_keys = {k: v for k, v in absorbed.attributes.items() if k not in survivor.attributes}
    survivor.attributes = {**survivor.attributes, **added_keys}
    snapshot["filled"] = {k: str(v) for k, v in filled.items()}
    snapshot["attributes_added"] = sorted(added_keys)

    survivor_segments = set(survivor.segments.values_list("pk", flat=True))
    new_segments = [
        pk for pk in absorbed.segments.values_list("pk", flat=True) if pk not in survivor_segments
    ]
    survivor.segments.add(*new_segments)
    snapshot["segments_added"] = new_segments

    snapshot["consents"] = _merge_consents(actor, survivor, absorbed, moment)
    moved_history = list(absorbed.consent_history.values_list("pk", flat=True))
    ConsentChange.objects.filter(pk__in=moved_history, origin_customer_id__isnull=True).update(
        origin_customer_id=absorbed.pk
    )
    ConsentChange.objects.filter(pk__in=moved_history).update(customer=survivor)
    snapshot["history"] = moved_history

    earlier = list(Customer.objects.filter(merged_into=absorbed).values_list("pk", flat=True))
    Customer.objects.filter(pk__in=earlier).update(merged_into=survivor)
    snapshot["repointed"] = earlier

    survivor.updated_at = moment
    survivor.save()
    absorbed.status = Customer.Status.MERGED
    absorbed.merged_into = survivor
    absorbed.updated_at = moment
    absorbed.save(update_fields=["status", "merged_into", "updated_at"])
    refresh_search_text(survivor)

    candidates = DuplicateCandidate.objects.filter(
        first_id=min(survivor.pk, absorbed.pk), second_id=max(survivor.pk, absorbed.pk)
    )
    snapshot["candidates"] = list(candidates.values_list("pk", flat=True))
    candidates.update(status=DuplicateCandidate.Status.MERGED, decided_at=moment, decided_by_id=actor.user_id)
    return _record_merge(actor, survivor, absorbed, snapshot=snapshot, reason=reason, moment=moment)


def _record_merge(
    actor: Actor,
    survivor: Customer,
    absorbed: Customer,
    *,
    snapshot: dict[str, Any],
    reason: str,
    moment: Any,
) -> Merge:
    """The merge and what it changed; a reason typed with a phone or card number in it keeps a mask."""
    reason, hidden = mask_text(reason, "reason", limit=255)
    merge = Merge.objects.create(
        survivor=survivor,
        absorbed=absorbed,
        snapshot=snapshot,
        reason=reason,
        actor_id=actor.user_id,
        merged_at=moment,
    )
    store_values([("customers.merge", merge.pk, survivor.pk, hidden)])
    return merge


def _merge_consents(
    actor: Actor, survivor: Customer, absorbed: Customer, moment: Any
) -> list[dict[str, str]]:
    mine = {(c.topic, c.channel): c for c in survivor.consents.all()}
    changed: list[dict[str, str]] = []
    for theirs in absorbed.consents.all():
        key = (theirs.topic, theirs.channel)
        row = mine.get(key)
        before = row.status if row else ""
        after = _stricter(before, theirs.status)
        if after == before:
            continue
        if row is None:
            Consent.objects.create(
                customer=survivor,
                topic=theirs.topic,
                channel=theirs.channel,
                status=after,
                source="merge",
                updated_at=moment,
            )
            changed.append({"topic": key[0], "channel": key[1], "before": "", "after": after})
        else:
            changed.append(
                {
                    "topic": key[0],
                    "channel": key[1],
                    "before": before,
                    "after": after,
                    "source": row.source,
                    "updated_at": row.updated_at.isoformat(),
                }
            )
            row.status, row.source, row.updated_at = after, "merge", moment
            row.save(update_fields=["status", "source", "updated_at"])
        ConsentChange.objects.create(
            customer=survivor,
            topic=key[0],
            channel=key[1],
            previous=before,
            status=after,
            source="merge",
            origin_customer_id=absorbed.pk,
            actor_id=actor.user_id,
            changed_at=moment,
        )
    return changed


@transaction.atomic
def undo_merge(*, actor: Actor, merge_id: int) -> Merge:
    actor.require(Perm.CUSTOMERS_MERGE)
    merge = Merge.objects.select_for_update().filter(pk=merge_id).first()
    if merge is None:
        raise NotFound(_("No merge #%(id)d.") % {"id": merge_id}, code="merge_not_found")
    if merge.undone_at is not None:
        raise Conflict(_("This merge was already undone."), code="merge_already_undone")
    pair = _locked_pair(merge.survivor_id, merge.absorbed_id)
    survivor, absorbed = pair[merge.survivor_id], pair[merge.absorbed_id]
    if survivor.status != Customer.Status.ACTIVE or absorbed.merged_into_id != survivor.pk:
        raise Conflict(
            _("The surviving profile was itself merged since; undo that merge first."),
            code="merge_not_undoable",
        )
    snap = merge.snapshot
    moment = clock.now()

    Identity.objects.filter(pk__in=snap["identities"], customer=survivor).update(customer=absorbed)
    Identity.objects.filter(pk__in=snap["demoted_identities"]).update(is_primary=True)
    for name, value in snap["filled"].items():
        if str(getattr(survivor, name)) == value:
            setattr(survivor, name, None if name == "birth_date" else "")
    survivor.attributes = {
        k: v
        for k, v in survivor.attributes.items()
        if not (k in snap["attributes_added"] and absorbed.attributes.get(k) == v)
    }
    survivor.segments.remove(*snap["segments_added"])
    for change in snap["consents"]:
        row = survivor.consents.filter(topic=change["topic"], channel=change["channel"]).first()
        if row is None or row.status != change["after"] or row.source != "merge":
            continue  # changed by someone since the merge: theirs is the newer word
        if change["before"]:
            # The answer in force is again the one given before the merge, so is its time.
            row.status, row.source = change["before"], change["source"]
            row.updated_at = datetime.fromisoformat(change["updated_at"])
            row.save(update_fields=["status", "source", "updated_at"])
        else:
            row.delete()
        ConsentChange.objects.create(
            customer=survivor,
            topic=change["topic"],
            channel=change["channel"],
            previous=change["after"],
            status=change["before"],
            source="merge-undo",
            actor_id=actor.user_id,
            changed_at=moment,
        )
    ConsentChange.objects.filter(pk__in=snap["history"]).update(customer=absorbed)
    ConsentChange.objects.filter(pk__in=snap["history"], origin_customer_id=absorbed.pk).update(
        origin_customer_id=None
    )
    Customer.objects.filter(pk__in=snap["repointed"]).update(merged_into=absorbed)
    DuplicateCandidate.objects.filter(pk__in=snap["candidates"]).update(
        status=DuplicateCandidate.Status.OPEN, decided_at=None, decided_by_id=None
    )
    survivor.updated_at = moment
    survivor.save()
    absorbed.status = Customer.Status.ACTIVE
    absorbed.merged_into = None
    absorbed.updated_at = moment
    absorbed.save(update_fields=["status", "merged_into", "updated_at"])
    refresh_search_text(survivor)
    refresh_search_text(absorbed)
    merge.undone_at = moment
    merge.undone_by_id = actor.user_id
    merge.save(update_fields=["undone_at", "undone_by"])
    return merge


@transaction.atomic
def dismiss_candidate(*, actor: Actor, candidate_id: int) -> DuplicateCandidate:
    """Record that two look-alike profiles are different people, so nobody is asked again."""
    actor.require(Perm.CUSTOMERS_MERGE)
    candidate = DuplicateCandidate.objects.select_for_update().filter(pk=candidate_id).first()
    if candidate is None:
        raise NotFound(
            _("No duplicate candidate #%(id)d.") % {"id": candidate_id}, code="candidate_not_found"
        )
    if candidate.status == DuplicateCandidate.Status.OPEN:
        candidate.status = DuplicateCandidate.Status.DISMISSED
        candidate.decided_at = clock.now()
        candidate.decided_by_id = actor.user_id
        candidate.save(update_fields=["status", "decided_at", "decided_by"])
    return candidate


def list_merges_for(actor: Actor, *, survivor: Customer | None = None, limit: int = 20) -> list[Merge]:
    """The newest merges, into one profile if named, with both profiles and who merged them."""
    actor.require(Perm.CUSTOMERS_VIEW)
    rows = Merge.objects.select_related("survivor", "absorbed", "actor")
    if survivor is not None:
        rows = rows.filter(survivor=survivor)
    return list(rows[:limit])
