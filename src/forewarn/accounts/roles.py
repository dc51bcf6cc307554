"""Roles and what each may do.

A permission is a short string (``customers.merge``). Roles grant sets of them; API tokens carry scopes,
which are permissions too, and a token may do only what both its scopes and its owner's role allow, so
demoting a person shrinks every token they hold at once.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    SUPERVISOR = "supervisor", _("Supervisor")
    AGENT = "agent", _("Agent")
    ANALYST = "analyst", _("Analyst")
    MARKETER = "marketer", _("Marketer")


class Perm:
    CUSTOMERS_VIEW = "customers.view"
    CUSTOMERS_EDIT = "customers.edit"
    CUSTOMERS_IMPORT = "customers.import"
    CUSTOMERS_MERGE = "customers.merge"
    CONSENT_EDIT = "consent.edit"
    STAFF_VIEW = "staff.view"
    STAFF_MANAGE = "staff.manage"
    # Proactive messages: see triggers, messages and incidents; change triggers and the contact
    # policy; declare and resolve incidents; send journey events (machine clients).
    ENGAGE_VIEW = "engage.view"
    TRIGGERS_MANAGE = "triggers.manage"
    POLICY_MANAGE = "policy.manage"
    INCIDENTS_MANAGE = "incidents.manage"
    EVENTS_SEND = "events.send"
    # Personal data: see one masked value in the clear (with a reason, audited); read the audit log;
    # export or erase everything held about a person.
    PII_REVEAL = "pii.reveal"
    # The inbox: read tickets and what was said in them (those of one's teams, those no team holds yet and
    # those given to one), or every team's tickets, as supervisors do.
    TICKETS_VIEW = "tickets.view"
    TICKETS_VIEW_ALL = "tickets.view_all"
    TICKETS_ANSWER = "tickets.answer"
    # The helpdesk's setup: business calendars, SLA policies, routing rules and canned replies.
    HELPDESK_MANAGE = "helpdesk.manage"
    AUDIT_VIEW = "audit.view"
    PERSONAL_DATA_EXPORT = "personal_data.export"
    PERSONAL_DATA_ERASE = "personal_data.erase"


ALL_PERMISSIONS: frozenset[str] = frozenset(value for name, value in vars(Perm).items() if name.isupper())

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: ALL_PERMISSIONS,
    Role.SUPERVISOR: frozenset(
        {
            Perm.CUSTOMERS_VIEW,
            Perm.CUSTOMERS_EDIT,
            Perm.CUSTOMERS_IMPORT,
            Perm.CUSTOMERS_MERGE,
            Perm.CONSENT_EDIT,
            Perm.STAFF_VIEW,
            Perm.ENGAGE_VIEW,
            Perm.TRIGGERS_MANAGE,
            Perm.INCIDENTS_MANAGE,
            # A supervisor handles the cases where a card or passport number has to be read back.
            Perm.PII_REVEAL,
            Perm.TICKETS_VIEW,
            Perm.TICKETS_VIEW_ALL,
            Perm.TICKETS_ANSWER,
            Perm.HELPDESK_MANAGE,
        }
    ),
    # Agents correct contact details and record what a customer said about consent on a call.
    Role.AGENT: frozenset(
        {
            Perm.CUSTOMERS_VIEW,
            Perm.CUSTOMERS_EDIT,
            Perm.CONSENT_EDIT,
            Perm.ENGAGE_VIEW,
            Perm.TICKETS_VIEW,
            Perm.TICKETS_ANSWER,
        }
    ),
    Role.ANALYST: frozenset({Perm.CUSTOMERS_VIEW, Perm.ENGAGE_VIEW, Perm.TICKETS_VIEW}),
    # Marketers write the journeys; the contact policy that limits them is the administrator's.
    Role.MARKETER: frozenset(
        {Perm.CUSTOMERS_VIEW, Perm.CUSTOMERS_IMPORT, Perm.ENGAGE_VIEW, Perm.TRIGGERS_MANAGE}
    ),
}


def permissions_for_role(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())
