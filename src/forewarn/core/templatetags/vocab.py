"""``{{ code|channel_label }}``, ``{{ code|language_label }}``: a stored code of the shared words as staff
read it, in the active language (a code the words do not know, as it is)."""

from __future__ import annotations

from django import template

from forewarn.core.vocab import Channel, Language, label_of

register = template.Library()


@register.filter
def channel_label(code: object) -> str:
    return label_of(Channel, str(code or ""))


@register.filter
def language_label(code: object) -> str:
    return label_of(Language, str(code or ""))
