"""The readable export: any JSON-like value as nested tables, and the section titles in words."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()
EMPTY = mark_safe("<p>—</p>")


@register.filter
def section_title(name: str) -> str:
    titles = {
        "customers": _("Profile, identities and consent"),
        "engage": _("Events and messages"),
        "privacy": _("Values masked in texts"),
        "channels": _("Deliveries"),
    }
    return titles.get(name, name)


@register.simple_tag(name="readable")
def readable(value: Any) -> SafeString:
    if isinstance(value, dict):
        if not value:
            return EMPTY
        rows = format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", ((k, readable(v)) for k, v in value.items())
        )
        return format_html("<table>{}</table>", rows)
    if isinstance(value, list):
        if not value:
            return EMPTY
        if all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            head = format_html_join("", "<th>{}</th>", ((k,) for k in keys))
            body = format_html_join(
                "",
                "<tr>{}</tr>",
                (
                    (format_html_join("", "<td>{}</td>", ((readable(v.get(k, "")),) for k in keys)),)
                    for v in value
                ),
            )
            return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)
        return format_html_join(", ", "{}", ((readable(v),) for v in value))
    return format_html("{}", "" if value is None else value)
