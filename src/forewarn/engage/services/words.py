"""Words at send time: a message is written when it goes, for its channel and the customer as they are at
that moment (a name corrected overnight is right in the morning), never when it is planned.

``compose`` returns what it wrote as a value (``Outgoing``): the words the provider gets, with a value a
template prints ``unmasked`` as the recipient's own original, and the words the message row keeps, with
the masks. The sender hands the one to the provider and stores the other; nothing is left on the row.

Every word a customer reads is in the language the message is written in (the customer's own whenever
there are words in it): the template is rendered with that language active, so what its filters add
(amounts, months) reads in it; an email always has a subject (the template's, an incident's own, or
the first sentence of its words); and the line that says how to stop such messages (``way_out``) is
written in it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from forewarn.core.vocab import Channel, Topic
from forewarn.customers.services.reach import customer_context
from forewarn.engage.models import Incident, Message, MessageStatus, MessageTemplate, Variant
from forewarn.engage.templating import render
from forewarn.privacy.services.outbound import split_words, with_masks
from forewarn.privacy.services.protect import values_in

# The languages tried, in this order, when there are no words in the customer's own.
LANGUAGE_FALLBACK = ("en", "uk", "ru")
# A staff member's answer to what a customer wrote (the inbox): its words are written already, and are
# sent as they are, never rendered as a template.
ANSWER_KIND = "answer"
# The "fixed" that follows an incident's notice (``incidents.RESOLVED``).
RESOLVED_KIND = "resolved"
# An email subject made from the words, when a template has none: about what a mail client shows.
SUBJECT_FROM_WORDS = 78
SENTENCE_END = re.compile(r"(?<=[.!?…])\s")


@dataclass
class Words:
    """The templates a message can be written with: {(variant, channel or "", language): (subject, body)}."""

    by_key: dict[tuple[str, str, str], tuple[str, str]]

    @classmethod
    def of_templates(cls, templates: Iterable[MessageTemplate]) -> Words:
        return cls({(t.variant, t.channel, t.language): (t.subject, t.body) for t in templates})

    @classmethod
    def per_language(cls, texts: dict[str, str], subject: dict[str, str] | None = None) -> Words:
        subject = subject or {}
        return cls(
            {(Variant.STANDARD, "", lang): (subject.get(lang, ""), body) for lang, body in texts.items()}
        )

    def channels(self, variant: str) -> frozenset[str] | None:
        found = {channel for (v, channel, _lang) in self.by_key if v == variant}
        return None if "" in found else frozenset(found)

    @property
    def asks_for_originals(self) -> bool:
        """Whether any of these words prints a masked value's original (the ``unmasked`` filter)."""
        return any("unmasked" in subject or "unmasked" in body for subject, body in self.by_key.values())

    def has(self, variant: str) -> bool:
        return any(v == variant for (v, _c, _l) in self.by_key)

    def pick(self, variant: str, channel: str, language: str) -> tuple[str, tuple[str, str]] | None:
        for lang in (language, *LANGUAGE_FALLBACK):
            for ch in (channel, ""):
                found = self.by_key.get((variant, ch, lang))
                if found is not None:
                    return lang, found
        return None


@dataclass(frozen=True)
class Outgoing:
    """A message's words as written at send time. ``subject`` and ``body`` are what the provider gets (a
    value printed ``unmasked`` is the recipient's own original here); ``kept_subject`` and ``kept_body``
    are what the message row keeps, with the masks; ``language`` is the one they were written in."""

    language: str
    subject: str
    body: str
    kept_subject: str
    kept_body: str


def write(
    words: Words, context: dict[str, Any], *, variant: str, channel: str, recipient_id: int
) -> Outgoing | None:
    """Render the subject and body for this channel, variant and the customer's language; None if there
    are no words for them."""
    picked = words.pick(variant, channel, context["customer"].get("language", ""))
    if picked is None:
        return None
    lang, (subject, body) = picked
    # Words that print an original (``unmasked``) are kept with masks; the provider gets the originals.
    send_subject, kept_subject = split_words(
        render(subject, context, language=lang), recipient_id=recipient_id
    )
    send_body, kept_body = split_words(render(body, context, language=lang), recipient_id=recipient_id)
    if channel == Channel.EMAIL and not kept_subject:
        # A template for any channel may have no subject; an email never goes without one.
        send_subject, kept_subject = subject_from(send_body), subject_from(kept_body)
    return Outgoing(lang, send_subject[:200], send_body, kept_subject[:200], kept_body)


def subject_from(body: str) -> str:
    """An email's subject from its words: their first sentence, cut at a word if it is long."""
    lines = body.strip().splitlines()
    first = SENTENCE_END.split(lines[0].strip(), maxsplit=1)[0] if lines else ""
    if len(first) <= SUBJECT_FROM_WORDS:
        return first.rstrip(".")
    cut = first[: SUBJECT_FROM_WORDS - 1].rsplit(" ", 1)[0].rstrip(",;:—- ")
    return f"{cut}…"


def incident_subject(kind: str, language: str) -> str:
    """The subject of an incident's notice, or of its "fixed", in ``language`` (a template itself)."""
    with translation.override(language):
        if kind == RESOLVED_KIND:
            return _("Fixed: {{ incident.title }}")
        return _("Disruption: {{ incident.title }}")


def way_out(*, channel: str, topic: str, language: str, url: str) -> str:
    """The line that tells a customer how to stop messages like this one, in the message's language; ""
    when there is none to add. An email carries the unsubscribe link on every topic a customer may refuse
    (beside its List-Unsubscribe header); SMS and messengers, where every character counts, carry it on
    promotions: the reply word on SMS (heard in each of the three languages), the link in messengers."""
    if topic == Topic.TRANSACTIONAL or (channel != Channel.EMAIL and topic != Topic.MARKETING):
        return ""
    with translation.override(language or settings.LANGUAGE_CODE):
        if channel == Channel.SMS:
            return _("Reply STOP to unsubscribe.")
        if channel in {Channel.EMAIL, Channel.TELEGRAM, Channel.VIBER}:
            return _("Unsubscribe: %(url)s") % {"url": url}
    return ""


def incident_context(incident: Incident) -> dict[str, Any]:
    return {
        "title": incident.title,
        "area": incident.area,
        "since": incident.started_at.isoformat(),
        "description": incident.description,
    }


def render_context(message: Message, *, originals: bool = False) -> dict[str, Any]:
    """What a message's words may use: what it was planned with (the event's payload, the offer), the
    customer as they are now, and its incident; with ``originals`` (words that say ``unmasked``), the
    payload's masked texts marked with the values they stand for."""
    context = {**message.context, "customer": customer_context(message.customer)}
    if originals and message.event_id is not None and "payload" in context:
        hidden = values_in("engage.event", [message.event_id]).get(str(message.event_id), [])
        context["payload"] = with_masks(context["payload"], hidden)
    if message.incident is not None:
        context["incident"] = incident_context(message.incident)
    return context


def words_for(message: Message, *, variant: str = "") -> Words:
    """The words a message can be written with: its trigger's templates, its incident's texts, or the
    words it holds already (under ``variant``, the message's own unless given: a digest part is written
    under its host's)."""
    if message.trigger is not None:
        return Words.of_templates(message.trigger.templates.all())
    if message.incident is not None:
        texts = message.incident.resolution if message.kind == RESOLVED_KIND else message.incident.notice
        return Words.per_language(texts, {lang: incident_subject(message.kind, lang) for lang in texts})
    held = (variant or message.variant, "", message.language or "en")
    return Words({held: (message.subject, message.body)})


def _written(message: Message, *, on: Message) -> Outgoing | None:
    """``message``'s words, written for the channel and in the variant of the message it goes ``on``:
    itself, or the host of the digest it is a part of."""
    words = words_for(message, variant=on.variant)
    return write(
        words,
        render_context(message, originals=words.asks_for_originals),
        variant=on.variant,
        channel=on.channel,
        recipient_id=message.customer_id,
    )


def compose(message: Message) -> Outgoing | None:
    """Write the message's words now, for its channel and the customer as they are at this moment; a
    digest gathers its parts' words under its own. None when there are no words for this channel."""
    if message.kind == ANSWER_KIND:
        return _answer_words(message)
    outgoing = _written(message, on=message)
    if outgoing is None or not message.allow_digest:
        return outgoing
    parts = (
        Message.objects.filter(digest_into=message, status=MessageStatus.MERGED)
        .select_related("customer", "trigger", "incident")
        .order_by("planned_at", "pk")
    )
    kept, sent = [outgoing.kept_body], [outgoing.body]
    for part in parts:
        written = _written(part, on=message)
        if written is not None:
            kept.append(written.kept_body)
            sent.append(written.body)
    return replace(outgoing, body="\n\n".join(sent), kept_body="\n\n".join(kept))


def _answer_words(message: Message) -> Outgoing | None:
    """An answer's words as its author wrote them (stored masked: a value an agent types goes out masked)."""
    answer = message.context.get("answer") or {}
    subject, body = answer.get("subject", "")[:200], answer.get("body", "")
    return Outgoing(answer.get("language", ""), subject, body, subject, body) if body else None
