"""What the inbox holds about a person: their tickets, what was said in them, and attachments.

Erasure keeps each ticket and entry (for counts: how many contacts, how fast answered) and empties their
words, addresses, subjects, tags, custom fields, attachment names and the stored files themselves.
"""

from __future__ import annotations

from typing import Any

from forewarn.inbox.models import Attachment, Entry, Ticket
from forewarn.privacy.services.subjects import Holder, People


def export(people: People) -> list[dict[str, Any]]:
    tickets = []
    for t in (
        Ticket.objects.filter(customer__in=people).prefetch_related("entries__attachments").order_by("pk")
    ):
        tickets.append(
            {
                "id": t.pk,
                "channel": t.channel,
                "subject": t.subject,
                "status": t.status,
                "opened": t.created_at.isoformat(),
                "entries": [
                    {
                        "kind": e.kind,
                        "at": e.created_at.isoformat(),
                        "text": e.text,
                        "attachments": [a.filename for a in e.attachments.all()],
                    }
                    for e in t.entries.all()
                ],
            }
        )
    return tickets


def erase(people: People, _needles: set[str]) -> dict[str, int]:
    from forewarn.inbox.services.intake.email import attachment_path  # noqa: PLC0415 - the only file reader

    attachments = Attachment.objects.filter(entry__ticket__customer__in=people)
    removed = 0
    for digest in set(attachments.exclude(sha256="").values_list("sha256", flat=True)):
        if not Attachment.objects.filter(sha256=digest).exclude(pk__in=attachments.values("pk")).exists():
            attachment_path(digest).unlink(missing_ok=True)  # nobody else sent the same file
            removed += 1
    return {
        "attachment_files": removed,
        "attachments": attachments.update(filename="", sha256=""),
        "entries": Entry.objects.filter(ticket__customer__in=people).update(
            text="", html="", references=[], address=""
        ),
        "tickets": Ticket.objects.filter(customer__in=people).update(subject="", tags=[], custom_fields={}),
    }


HOLDER = Holder(name="inbox", export=export, erase=erase, order=25)
