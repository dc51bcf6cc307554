"""What the customers app holds about a person, for export and erasure (``privacy.services.subjects``).

A person is a profile and every profile merged into it. Erasure empties the profile (names, birth date,
address, attributes, search text), removes identities and duplicate pairs, empties consent-change notes
and merge snapshots (a merge of an erased person cannot be undone), and marks the profile erased. The
profile row, its consents and their history stay, without personal values, for the counts built on them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from forewarn.core import clock
from forewarn.customers.models import ConsentChange, Customer, DuplicateCandidate, Identity, Merge
from forewarn.privacy.services.subjects import Holder, People


def people_of(customer_id: int) -> People:
    found: list[int] = []
    frontier = list(Customer.objects.filter(pk=customer_id).values_list("pk", flat=True))
    while frontier:
        found.extend(frontier)
        frontier = list(
            Customer.objects.filter(merged_into__in=frontier)
            .exclude(pk__in=found)
            .values_list("pk", flat=True)
        )
    return found


def export(people: People) -> dict[str, Any]:
    profiles = []
    for c in Customer.objects.filter(pk__in=people).prefetch_related("identities", "consents", "segments"):
        profiles.append(
            {
                "id": c.pk,
                "status": c.status,
                "given_name": c.given_name,
                "middle_name": c.middle_name,
                "family_name": c.family_name,
                "birth_date": c.birth_date.isoformat() if c.birth_date else None,
                "city": c.city,
                "address": c.address,
                "language": c.language,
                "time_zone": c.time_zone,
                # What they chose; null where they did not, and the default quiet hours apply.
                "quiet_hours": [
                    c.quiet_hours_start.isoformat() if c.quiet_hours_start is not None else None,
                    c.quiet_hours_end.isoformat() if c.quiet_hours_end is not None else None,
                ],
                "preferred_channel": c.preferred_channel,
                "segments": [s.name for s in c.segments.all()],
                "attributes": c.attributes,
                "created_at": c.created_at.isoformat(),
                "identities": [
                    {"kind": i.kind, "value": i.value, "primary": i.is_primary, "source": i.source}
                    for i in c.identities.all()
                ],
                "consents": [
                    {"topic": k.topic, "channel": k.channel, "status": k.status, "source": k.source}
                    for k in c.consents.all()
                ],
            }
        )
    history = [
        {
            "topic": h.topic,
            "channel": h.channel,
            "previous": h.previous,
            "status": h.status,
            "source": h.source,
            "note": h.note,
            "at": h.changed_at.isoformat(),
        }
        for h in ConsentChange.objects.filter(customer__in=people).order_by("changed_at", "pk")
    ]
    merges = [
        {
            "survivor": m.survivor_id,
            "absorbed": m.absorbed_id,
            "at": m.merged_at.isoformat(),
            "reason": m.reason,
        }
        for m in Merge.objects.filter(Q(survivor__in=people) | Q(absorbed__in=people)).order_by("merged_at")
    ]
    return {"profiles": profiles, "consent_history": history, "merges": merges}


def needles(people: People) -> set[str]:
    found: set[str] = set()
    for c in Customer.objects.filter(pk__in=people):
        found |= {c.full_name, c.address, f"{c.given_name} {c.family_name}".strip()}
        if c.family_name and c.given_name:
            found.add(f"{c.family_name} {c.given_name}")
    for value in Identity.objects.filter(customer__in=people).values_list("value", flat=True):
        found.add(value)
        if value.startswith("+"):
            found.add(value[1:])  # a phone written without its plus
    return found


def erase(people: People, _needles: set[str]) -> dict[str, int]:
    merges = Q(survivor__in=people) | Q(absorbed__in=people)
    return {
        "identities": Identity.objects.filter(customer__in=people).delete()[0],
        "duplicate_pairs": DuplicateCandidate.objects.filter(
            Q(first__in=people) | Q(second__in=people)
        ).delete()[0],
        "consent_notes": ConsentChange.objects.filter(customer__in=people).exclude(note="").update(note=""),
        "merge_snapshots": Merge.objects.filter(merges).update(snapshot={}, reason=""),
        "profiles": Customer.objects.filter(pk__in=people).update(
            given_name="",
            middle_name="",
            family_name="",
            birth_date=None,
            city="",
            address="",
            attributes={},
            search_text="",
            status=Customer.Status.ERASED,
            merged_into=None,
            updated_at=clock.now(),
        ),
    }


HOLDER = Holder(name="customers", export=export, erase=erase, needles=needles, people=people_of, order=90)
