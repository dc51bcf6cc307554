"""What every page's frame needs: the navigation, marked for the current section."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from forewarn.accounts.models import User
from forewarn.accounts.roles import Perm, Role

SECTIONS = [
    ("inbox", _("Inbox"), "inbox:list", Perm.TICKETS_VIEW),
    ("customers", _("Customers"), "customers:list", Perm.CUSTOMERS_VIEW),
    ("duplicates", _("Duplicates"), "customers:duplicates", Perm.CUSTOMERS_VIEW),
    ("imports", _("Imports"), "customers:imports", Perm.CUSTOMERS_IMPORT),
    ("incidents", _("Incidents"), "engage:incidents", Perm.ENGAGE_VIEW),
    ("messages", _("Messages"), "engage:messages", Perm.ENGAGE_VIEW),
    ("triggers", _("Triggers"), "engage:triggers", Perm.ENGAGE_VIEW),
    # The top bar keeps to one line at 1440 px in every language: the settings' sections have a short
    # name there ("Helpdesk", "Policy", "Audit"), and their full name as the link's title.
    ("helpdesk", pgettext_lazy("top bar", "Helpdesk"), "inbox_settings:policies", Perm.HELPDESK_MANAGE),
    ("policy", pgettext_lazy("top bar", "Policy"), "policy:caps", Perm.POLICY_MANAGE),
    ("audit", pgettext_lazy("top bar", "Audit"), "privacy:audit", Perm.AUDIT_VIEW),
]
FULL_NAMES = {"helpdesk": _("Helpdesk settings"), "policy": _("Contact policy"), "audit": _("Audit log")}
# A section whose pages have a URL namespace to themselves is current on every page in it, not only on the
# page its link opens (Customers and Duplicates share one, so they are current on their own page alone).
OWN_NAMESPACES = {"inbox": "inbox", "helpdesk": "inbox_settings", "policy": "policy"}
# Where each role's day starts: agents and supervisors work the inbox, marketers write the triggers,
# analysts read the message log (what was decided and why); administrators see the inbox, every team's.
ROLE_HOME: dict[str, str] = {
    Role.AGENT: "inbox",
    Role.SUPERVISOR: "inbox",
    Role.ADMIN: "inbox",
    Role.MARKETER: "triggers",
    Role.ANALYST: "messages",
}


def home_of(user: User) -> str | None:
    """The URL of the page ``user`` starts on: their role's own, or else the first section they may open."""
    allowed = {key: name for key, _label, name, perm in SECTIONS if user.may(perm)}
    key = ROLE_HOME.get(user.role)
    if key in allowed:
        return reverse(allowed[key])
    return reverse(next(iter(allowed.values()))) if allowed else None


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    match = request.resolver_match
    current = match.view_name if match else ""
    namespace = match.namespace if match else ""
    return {
        "nav": [
            {
                "key": key,
                "label": label,
                "title": FULL_NAMES[key] if str(FULL_NAMES.get(key, label)) != str(label) else "",
                "url": reverse(name),
                "active": current == name or OWN_NAMESPACES.get(key) == namespace,
            }
            for key, label, name, perm in SECTIONS
            if user.may(perm)
        ]
    }
