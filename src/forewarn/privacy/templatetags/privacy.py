"""``{% masked text values %}``: stored text with each mask marked, and for those who may, a reveal form."""

from __future__ import annotations

from collections.abc import Sequence

from django import template
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from forewarn.privacy.models import PersonalValue

register = template.Library()


@register.simple_tag(takes_context=True)
def masked(
    context: template.Context, text: object, values: Sequence[PersonalValue] | None, field: str = ""
) -> SafeString:
    """``text`` escaped, with the masks of ``values`` (of ``field``, if named) marked at their places."""
    text = "" if text is None else str(text)
    spans = sorted((v for v in values or () if not field or v.field == field), key=lambda v: v.start)
    may_reveal = bool(context.get("may_reveal"))
    parts: list[str] = []
    at = 0
    for value in spans:
        if value.start < at or text[value.start : value.end] != value.mask:
            continue  # the text changed since (an erasure, an edit): show it as it is
        parts.append(conditional_escape(text[at : value.start]))
        parts.append(
            render_to_string(
                "privacy/_value.html",
                {"value": value, "may_reveal": may_reveal},
                request=context.get("request"),
            ).strip()
        )
        at = value.end
    parts.append(conditional_escape(text[at:]))
    return mark_safe("".join(parts))  # noqa: S308 - every part is escaped or a rendered template
