"""Who may do what over the whole API: every role against every operation that the customers matrix
(``accounts/tests/test_access.py``) does not already cover, and token scopes against the same operations.

An allowed call answers its success status. A refused one answers 403 ``permission_denied``, names a
permission the caller lacks, and changes no row of any Forewarn model (but the audit log, where refused
reveals are recorded by design, and the API tokens, whose use is recorded). The operations listed here,
the customers matrix and the two signed webhooks must together be exactly the operations of the live
OpenAPI schema, so an endpoint added without a row here fails the suite.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import Team, User
from forewarn.accounts.roles import Perm
from forewarn.accounts.services import issue_token
from forewarn.accounts.tests.test_access import ENDPOINTS as CUSTOMERS_ENDPOINTS
from forewarn.accounts.tests.test_access import Endpoint, error_of
from forewarn.core import clock
from forewarn.core.models import Topic
from forewarn.customers.models import Customer
from forewarn.engage.models import Message
from forewarn.engage.services import incidents as incident_service
from forewarn.engage.services.triggers import TemplateIn, TriggerIn, create_trigger
from forewarn.inbox.models import Ticket
from forewarn.inbox.services import replies, setup
from forewarn.inbox.services.intake.email import receive_email
from forewarn.inbox.tests.test_email import mail
from forewarn.privacy import crypto
from forewarn.privacy.models import PersonalValue
from forewarn.shell.api import api

SYSTEM = Actor.system("tests")
CARD = "4111 1111 1111 1111"

# --- what each person may do, written out here rather than read from the role table -------------------

AGENT = {
    Perm.CONSENT_EDIT,
    Perm.CUSTOMERS_EDIT,
    Perm.CUSTOMERS_VIEW,
    Perm.ENGAGE_VIEW,
    Perm.TICKETS_ANSWER,
    Perm.TICKETS_VIEW,
}
SUPERVISOR = {
    Perm.CONSENT_EDIT,
    Perm.CUSTOMERS_EDIT,
    Perm.CUSTOMERS_IMPORT,
    Perm.CUSTOMERS_MERGE,
    Perm.CUSTOMERS_VIEW,
    Perm.ENGAGE_VIEW,
    Perm.HELPDESK_MANAGE,
    Perm.INCIDENTS_MANAGE,
    Perm.PII_REVEAL,
    Perm.STAFF_VIEW,
    Perm.TICKETS_ANSWER,
    Perm.TICKETS_VIEW,
    Perm.TICKETS_VIEW_ALL,
    Perm.TRIGGERS_MANAGE,
}
ANALYST = {Perm.CUSTOMERS_VIEW, Perm.ENGAGE_VIEW, Perm.TICKETS_VIEW}
MARKETER = {Perm.CUSTOMERS_IMPORT, Perm.CUSTOMERS_VIEW, Perm.ENGAGE_VIEW, Perm.TRIGGERS_MANAGE}
ADMIN = SUPERVISOR | {
    Perm.AUDIT_VIEW,
    Perm.EVENTS_SEND,
    Perm.PERSONAL_DATA_ERASE,
    Perm.PERSONAL_DATA_EXPORT,
    Perm.POLICY_MANAGE,
    Perm.STAFF_MANAGE,
}
MAY = {"olena": AGENT, "taras": SUPERVISOR, "iryna": ANALYST, "maksym": MARKETER, "ada": ADMIN}

# The only two operations without a bearer token: each checks its caller's own signature instead.
PUBLIC = [
    ("POST", "/api/v1/events/webhook/{source}"),
    ("POST", "/api/v1/channels/callbacks/{provider}"),
]

# The tokens of admin ada the scope test calls with, by name: none at all, or reading customers only.
SCOPES = {"no-scopes": [], "customers.view": [Perm.CUSTOMERS_VIEW]}

SIGNED_IN = ""  # as ``needs``: no permission, being authenticated is enough


@dataclass(frozen=True)
class Operation(Endpoint):
    """A row of the matrix: ``needs`` is the permission a role is most likely to lack, ``also`` what the
    operation checks besides it; a raw ``bytes`` body is sent as ``content_type``."""

    also: frozenset[str] = frozenset()
    query: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    @property
    def required(self) -> frozenset[str]:
        return frozenset({self.needs, *self.also} - {SIGNED_IN})


def trigger_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "event_type": "order_shipped",
        "topic": "transactional",
        "templates": [{"language": "uk", "body": "{{ customer.first_name }}, замовлення в дорозі."}],
    }


VIEW, TICKETS, ANSWER, HELPDESK = (
    Perm.CUSTOMERS_VIEW,
    Perm.TICKETS_VIEW,
    Perm.TICKETS_ANSWER,
    Perm.HELPDESK_MANAGE,
)
ENGAGE, EVENTS, POLICY, INCIDENTS = (
    Perm.ENGAGE_VIEW,
    Perm.EVENTS_SEND,
    Perm.POLICY_MANAGE,
    Perm.INCIDENTS_MANAGE,
)
SEEN_TICKET = frozenset({TICKETS})  # the ticket is found first: one nobody may see is not there at all

OPERATIONS = [
    # --- who am I, and my tokens
    Operation("me", "get", "/api/v1/me", SIGNED_IN, 200),
    Operation("tokens.list", "get", "/api/v1/tokens", SIGNED_IN, 200),
    Operation("tokens.create", "post", "/api/v1/tokens", SIGNED_IN, 201, lambda w: {"name": "crm sync"}),
    Operation("tokens.revoke", "delete", "/api/v1/tokens/{token_id}", SIGNED_IN, 204),
    # --- engage: events, sources, triggers, messages, incidents, the contact policy
    Operation(
        "events.send",
        "post",
        "/api/v1/events",
        EVENTS,
        200,
        lambda w: {
            "source": "shop",
            "id": "order-1",
            "type": "order_shipped",
            "customer": {"customer_id": w["customer_id"]},
            "payload": {"order_id": "A-1"},
        },
    ),
    Operation(
        "event-sources.put", "put", "/api/v1/event-sources/{slug}", POLICY, 200, lambda w: {"name": "Shop"}
    ),
    Operation("triggers.list", "get", "/api/v1/triggers", ENGAGE, 200),
    Operation(
        "triggers.create",
        "post",
        "/api/v1/triggers",
        Perm.TRIGGERS_MANAGE,
        201,
        lambda w: trigger_body("New"),
    ),
    Operation("triggers.read", "get", "/api/v1/triggers/{trigger_id}", ENGAGE, 200),
    Operation(
        "triggers.replace",
        "put",
        "/api/v1/triggers/{trigger_id}",
        Perm.TRIGGERS_MANAGE,
        200,
        lambda w: trigger_body("Renamed"),
        also=frozenset({ENGAGE}),
    ),
    Operation(
        "triggers.preview",
        "post",
        "/api/v1/triggers/preview",
        ENGAGE,
        200,
        lambda w: {"trigger": trigger_body("Draft"), "customer_id": w["customer_id"]},
        also=frozenset({VIEW}),
    ),
    Operation("messages.list", "get", "/api/v1/messages", ENGAGE, 200),
    Operation("messages.read", "get", "/api/v1/messages/{message_id}", ENGAGE, 200),
    Operation(
        "incidents.declare",
        "post",
        "/api/v1/incidents",
        INCIDENTS,
        201,
        lambda w: {"title": "Немає світла", "audience": {"city": "Одеса"}},
    ),
    Operation("incidents.list", "get", "/api/v1/incidents", ENGAGE, 200),
    Operation("incidents.read", "get", "/api/v1/incidents/{incident_id}", ENGAGE, 200),
    Operation(
        "incidents.resolve",
        "post",
        "/api/v1/incidents/{incident_id}/resolve",
        INCIDENTS,
        200,
        also=frozenset({ENGAGE}),
    ),
    Operation(
        "incidents.call-list",
        "get",
        "/api/v1/incidents/{incident_id}/call-list",
        INCIDENTS,
        200,
        also=frozenset({ENGAGE}),
    ),
    Operation("caps.list", "get", "/api/v1/policy/caps", ENGAGE, 200),
    Operation(
        "caps.replace",
        "put",
        "/api/v1/policy/caps",
        POLICY,
        200,
        lambda w: [{"topic": "", "limit": 3, "window_hours": 24}],
    ),
    Operation("quiet-hours.read", "get", "/api/v1/policy/quiet-hours", ENGAGE, 200),
    Operation(
        "quiet-hours.replace",
        "put",
        "/api/v1/policy/quiet-hours",
        POLICY,
        200,
        lambda w: {"start": "22:00", "end": "08:00"},
    ),
    Operation("topics.list", "get", "/api/v1/policy/topics", ENGAGE, 200),
    Operation(
        "topics.create",
        "post",
        "/api/v1/policy/topics",
        POLICY,
        201,
        lambda w: {"code": "news", "names": {"uk": "Новини", "en": "News"}},
    ),
    Operation("topics.read", "get", "/api/v1/policy/topics/{topic_id}", ENGAGE, 200),
    Operation(
        "topics.change",
        "patch",
        "/api/v1/policy/topics/{topic_id}",
        POLICY,
        200,
        lambda w: {"names": {"uk": "Опитування після розмови"}},
        also=frozenset({ENGAGE}),
    ),
    Operation(
        "suppressions.add",
        "post",
        "/api/v1/suppressions",
        Perm.CONSENT_EDIT,
        201,
        lambda w: {"customer_id": w["customer_id"], "scope": "marketing"},
    ),
    # --- personal data
    Operation("values.read", "get", "/api/v1/privacy/values/{value_id}", VIEW, 200),
    Operation(
        "values.reveal",
        "post",
        "/api/v1/privacy/values/{value_id}/reveal",
        Perm.PII_REVEAL,
        200,
        lambda w: {"reason": "the customer asks us to read it back"},
        also=frozenset({VIEW}),
    ),
    Operation("audit.list", "get", "/api/v1/privacy/audit", Perm.AUDIT_VIEW, 200),
    Operation("audit.verify", "get", "/api/v1/privacy/audit/verify", Perm.AUDIT_VIEW, 200),
    Operation(
        "person.export",
        "get",
        "/api/v1/customers/{customer_id}/personal-data",
        Perm.PERSONAL_DATA_EXPORT,
        200,
        query={"reason": "the person asked for a copy"},
    ),
    Operation(
        "person.erase",
        "post",
        "/api/v1/customers/{customer_id}/erase",
        Perm.PERSONAL_DATA_ERASE,
        200,
        lambda w: {"reason": "the person asked to be forgotten"},
    ),
    # --- the inbox
    Operation("tickets.list", "get", "/api/v1/tickets", TICKETS, 200),
    Operation("tickets.read", "get", "/api/v1/tickets/{ticket_id}", TICKETS, 200),
    Operation(
        "tickets.open",
        "post",
        "/api/v1/tickets",
        ANSWER,
        201,
        lambda w: {
            "customer_id": w["customer_id"],
            "channel": "voice",
            "subject": "Дзвінок: посилка не прийшла",
            "text": "Клієнтка дзвонила, посилки досі нема.",
        },
        also=frozenset({VIEW}),
    ),
    Operation(
        "tickets.change",
        "patch",
        "/api/v1/tickets/{ticket_id}",
        ANSWER,
        200,
        lambda w: {"priority": "high"},
        also=SEEN_TICKET,
    ),
    Operation(
        "tickets.answer",
        "post",
        "/api/v1/tickets/{ticket_id}/entries",
        ANSWER,
        201,
        lambda w: {"text": "Перевірили: посилка вже у відділенні."},
        also=SEEN_TICKET,
    ),
    Operation(
        "tickets.send-again",
        "post",
        "/api/v1/tickets/{ticket_id}/entries/{entry_id}/again",
        ANSWER,
        200,
        lambda w: {},
        also=SEEN_TICKET,
    ),
    Operation(
        "tickets.merge",
        "post",
        "/api/v1/tickets/{ticket_id}/merge",
        ANSWER,
        200,
        lambda w: {"into": w["other_ticket_id"]},
        also=SEEN_TICKET,
    ),
    Operation(
        "tickets.split",
        "post",
        "/api/v1/tickets/{ticket_id}/split",
        ANSWER,
        201,
        lambda w: {"entry_ids": [w["note_entry_id"]]},
        also=SEEN_TICKET,
    ),
    Operation(
        "tickets.bulk",
        "post",
        "/api/v1/tickets/bulk",
        ANSWER,
        200,
        lambda w: {"ticket_ids": [w["ticket_id"], w["other_ticket_id"]], "action": "tag", "tag": "parcel"},
        also=SEEN_TICKET,
    ),
    Operation(
        "sla-report",
        "get",
        "/api/v1/inbox/sla-report",
        TICKETS,
        200,
        query={"since": "2020-01-01T00:00:00Z", "until": "2040-01-01T00:00:00Z"},
    ),
    Operation(
        "inbox.email",
        "post",
        "/api/v1/inbox/email",
        EVENTS,
        200,
        lambda w: mail("Коли привезуть?", subject="Доставка").as_bytes(),
        content_type="message/rfc822",
    ),
    Operation(
        "inbox.calls",
        "post",
        "/api/v1/inbox/calls",
        EVENTS,
        200,
        lambda w: {
            "call_id": "call-1",
            "caller": "067 123 45 67",
            "started_at": "2026-03-10T12:00:00+02:00",
            "outcome": "missed",
        },
    ),
    # --- the helpdesk's setup
    Operation("calendars.list", "get", "/api/v1/inbox/calendars", HELPDESK, 200),
    Operation(
        "calendars.create",
        "post",
        "/api/v1/inbox/calendars",
        HELPDESK,
        201,
        lambda w: {"name": "Odesa office", "hours": {"mon": ["10:00-19:00"]}},
    ),
    Operation("calendars.read", "get", "/api/v1/inbox/calendars/{calendar_id}", HELPDESK, 200),
    Operation(
        "calendars.change",
        "patch",
        "/api/v1/inbox/calendars/{calendar_id}",
        HELPDESK,
        200,
        lambda w: {"closed_dates": ["2026-12-31"]},
    ),
    Operation("calendars.delete", "delete", "/api/v1/inbox/calendars/{calendar_id}", HELPDESK, 204),
    Operation("policies.list", "get", "/api/v1/inbox/sla-policies", HELPDESK, 200),
    Operation(
        "policies.create",
        "post",
        "/api/v1/inbox/sla-policies",
        HELPDESK,
        201,
        lambda w: {"name": "VIP", "first_response_minutes": 30, "resolution_minutes": 240},
    ),
    Operation("policies.read", "get", "/api/v1/inbox/sla-policies/{policy_id}", HELPDESK, 200),
    Operation(
        "policies.change",
        "patch",
        "/api/v1/inbox/sla-policies/{policy_id}",
        HELPDESK,
        200,
        lambda w: {"rank": 5},
    ),
    Operation("policies.delete", "delete", "/api/v1/inbox/sla-policies/{policy_id}", HELPDESK, 204),
    Operation("routing.list", "get", "/api/v1/inbox/routing-rules", HELPDESK, 200),
    Operation(
        "routing.create",
        "post",
        "/api/v1/inbox/routing-rules",
        HELPDESK,
        201,
        lambda w: {"team_id": w["team_id"], "language": "ru", "rank": 20},
    ),
    Operation("routing.read", "get", "/api/v1/inbox/routing-rules/{rule_id}", HELPDESK, 200),
    Operation(
        "routing.change",
        "patch",
        "/api/v1/inbox/routing-rules/{rule_id}",
        HELPDESK,
        200,
        lambda w: {"tag": "refund"},
    ),
    Operation("routing.delete", "delete", "/api/v1/inbox/routing-rules/{rule_id}", HELPDESK, 204),
    Operation("canned.list", "get", "/api/v1/inbox/canned-replies", HELPDESK, 200),
    Operation(
        "canned.create",
        "post",
        "/api/v1/inbox/canned-replies",
        HELPDESK,
        201,
        lambda w: {"title": "Refund", "shortcut": "refund", "language": "uk", "body": "Гроші повернемо."},
    ),
    Operation("canned.read", "get", "/api/v1/inbox/canned-replies/{canned_id}", HELPDESK, 200),
    Operation(
        "canned.change",
        "patch",
        "/api/v1/inbox/canned-replies/{canned_id}",
        HELPDESK,
        200,
        lambda w: {"title": "Parcel late"},
    ),
    Operation("canned.delete", "delete", "/api/v1/inbox/canned-replies/{canned_id}", HELPDESK, 204),
]


def cases(who: str) -> list[Any]:
    """Every operation for one person or one set of scopes."""
    return [pytest.param(who, operation, id=f"{who}-{operation}") for operation in OPERATIONS]


# --- something for every operation to act on -------------------------------------------------------------


@pytest.fixture(autouse=True)
def _keys_of_their_own(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.FOREWARN_PII_KEYS = ""
    settings.FOREWARN_PII_KEY_FILE = tmp_path / "pii_keys"
    crypto.keyring.cache_clear()
    yield
    crypto.keyring.cache_clear()


def _ticket(message: Any) -> Ticket:
    received = receive_email(message.as_bytes())
    assert received.ticket_id is not None
    return Ticket.objects.get(pk=received.ticket_id)


@pytest.fixture
def world(maria: Customer) -> dict[str, Any]:
    """Maria's two tickets (the first with a card number in it and a note, so it may be split), a
    trigger, a message, an open incident, and one of each part of the helpdesk's setup."""
    ticket = _ticket(mail(f"Списали двічі з картки {CARD}, посилки нема."))
    note = replies.add_entry(actor=SYSTEM, ticket=ticket, text="Перевірити оплату в банку", note=True)
    failed = replies.add_entry(actor=SYSTEM, ticket=ticket, text="Перевіряємо оплату.")
    assert failed.message_id is not None
    Message.objects.filter(pk=failed.message_id).update(status="failed", error="carrier refused")
    other = _ticket(mail("А ще друге замовлення", subject="Друге замовлення"))
    trigger = create_trigger(
        actor=SYSTEM,
        data=TriggerIn(
            name="Order shipped",
            event_type="order_shipped",
            topic="transactional",
            templates=[TemplateIn(language="uk", body="{{ customer.first_name }}, замовлення в дорозі.")],
        ),
    )
    message = Message.objects.create(
        customer=maria,
        trigger=trigger,
        kind="order_shipped",
        topic="transactional",
        channel="sms",
        body="Марія, замовлення в дорозі.",
        status="sent",
        planned_at=clock.now(),
        send_after=clock.now(),
        sent_at=clock.now(),
    )
    incident = incident_service.declare_incident(
        actor=SYSTEM,
        data=incident_service.IncidentIn(title="Аварія на підстанції", audience={"city": "Київ"}),
    )
    calendar = setup.create_calendar(
        actor=SYSTEM,
        data=setup.CalendarIn(name="Kyiv office", hours={"mon": ["09:00-18:00"], "tue": ["09:00-18:00"]}),
    )
    # Made after the tickets and for urgent ones only, so no ticket refers to it and it may be deleted.
    policy = setup.create_policy(
        actor=SYSTEM,
        data=setup.PolicyIn(
            name="Urgent", priority="urgent", first_response_minutes=15, resolution_minutes=120
        ),
    )
    team = Team.objects.create(name="Kyiv support")
    rule = setup.create_routing_rule(actor=SYSTEM, data=setup.RoutingRuleIn(team_id=team.pk, tag="wholesale"))
    card = PersonalValue.objects.filter(kind="card").order_by("pk").first()
    assert card is not None
    canned = setup.create_canned_reply(
        actor=SYSTEM,
        data=setup.CannedReplyIn(title="Parcel", shortcut="parcel", language="uk", body="Посилка в дорозі."),
    )
    return {
        "customer_id": maria.pk,
        "ticket_id": ticket.pk,
        "other_ticket_id": other.pk,
        "note_entry_id": note.pk,
        "entry_id": failed.pk,  # an answer that could not be sent
        "trigger_id": trigger.pk,
        "message_id": message.pk,
        "incident_id": incident.pk,
        "value_id": card.pk,
        "calendar_id": calendar.pk,
        "policy_id": policy.pk,
        "team_id": team.pk,
        "rule_id": rule.pk,
        "canned_id": canned.pk,
        "topic_id": Topic.objects.get(code="surveys").pk,
        "slug": "shop",
    }


def with_token_of(user: User, world: dict[str, Any]) -> dict[str, Any]:
    """The world, with a token of ``user``'s own to revoke (not the one the client calls with)."""
    token, _secret = issue_token(actor=SYSTEM, user=user, name="old laptop")
    return {**world, "token_id": token.pk}


def call(client: Any, operation: Operation, world: dict[str, Any]) -> Any:
    path = operation.path.format(**world)
    body = operation.body(world) if operation.body else None
    if isinstance(body, bytes):
        return client.client.post(
            path, data=body, content_type=operation.content_type, headers=client.headers
        )
    if operation.method == "get":
        return client.get(path, **operation.query)
    if operation.method == "delete":
        return client.delete(path)
    return getattr(client, operation.method)(path, body if body is not None else {})


SNAPSHOT_APPS = ("accounts", "customers", "channels", "engage", "inbox", "privacy", "core")
# Written by design on a refusal (a refused reveal is audited) or by any authenticated call (last use).
NOT_SNAPSHOT = {"privacy.auditentry", "accounts.apitoken"}


def snapshot_models() -> list[Any]:
    return [
        model
        for label in SNAPSHOT_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
        if model._meta.label_lower not in NOT_SNAPSHOT
    ]


def everything() -> dict[str, list[dict[str, Any]]]:
    """Every row of every Forewarn model (but those above), column by column. Plain SQL: the ORM takes
    twenty times as long for the same rows, and every refused case takes two of these."""
    quote = connection.ops.quote_name
    rows = {}
    with connection.cursor() as cursor:
        for model in snapshot_models():
            table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
            cursor.execute(f"SELECT * FROM {table} ORDER BY {pk}")  # noqa: S608 - names from the app registry
            columns = [c[0] for c in cursor.description]
            rows[model._meta.label_lower] = [
                dict(zip(columns, row, strict=True)) for row in cursor.fetchall()
            ]
    return rows


def assert_refused(answer: Any, lacking: frozenset[str]) -> None:
    assert answer.status_code == 403, answer.content
    error = error_of(answer)
    assert error["code"] == "permission_denied"
    assert any(perm in error["message"] for perm in lacking), (error["message"], lacking)


# --- the matrix -------------------------------------------------------------------------------------------


def schema_operations() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in api.get_openapi_schema()["paths"].items()
        for method in operations
    }


def shape(method: str, path: str) -> tuple[str, str]:
    """An operation with its path parameters unnamed: the customers matrix names them its own way."""
    return method.upper(), re.sub(r"\{[^}]*\}", "{}", path)


def test_every_operation_of_the_api_is_in_a_matrix_or_public() -> None:
    covered = [shape(e.method, e.path) for e in [*OPERATIONS, *CUSTOMERS_ENDPOINTS]]
    covered += [shape(method, path) for method, path in PUBLIC]
    live = {shape(method, path) for method, path in schema_operations()}

    assert len(covered) == len(set(covered)), "an operation is listed twice"
    assert set(covered) == live
    assert len(OPERATIONS) == len(live) - len(CUSTOMERS_ENDPOINTS) - len(PUBLIC)


def test_this_matrix_names_its_paths_as_the_schema_does() -> None:
    live = schema_operations()

    assert {(o.method.upper(), o.path) for o in OPERATIONS} <= live
    assert set(PUBLIC) <= live


def test_the_written_out_roles_name_real_permissions_and_the_admin_every_one() -> None:
    every = {value for name, value in vars(Perm).items() if name.isupper()}

    assert every == ADMIN
    assert all(perms <= every for perms in MAY.values())
    assert all(o.required <= every for o in OPERATIONS)


def test_every_operation_has_a_name_of_its_own() -> None:
    assert len({o.name for o in OPERATIONS}) == len(OPERATIONS)


def test_the_snapshot_sees_the_rows_a_call_could_change(world: dict[str, Any]) -> None:
    rows = everything()

    for label in ("inbox.ticket", "inbox.entry", "engage.trigger", "engage.message", "engage.incident"):
        assert rows[label], label
    for label in ("inbox.businesscalendar", "inbox.slapolicy", "inbox.routingrule", "inbox.cannedreply"):
        assert len(rows[label]) == 1, label
    assert rows["privacy.personalvalue"]
    assert "privacy.auditentry" not in rows
    assert "accounts.apitoken" not in rows
    assert any(m._meta.auto_created for m in snapshot_models())  # many-to-many tables too


@pytest.mark.parametrize(("person", "operation"), [c for person in sorted(MAY) for c in cases(person)])
def test_each_role_may_do_exactly_what_it_is_allowed(
    request: pytest.FixtureRequest,
    api_as: Callable[..., Any],
    world: dict[str, Any],
    person: str,
    operation: Operation,
) -> None:
    user = request.getfixturevalue(person)
    client = api_as(user)
    world = with_token_of(user, world)
    before = everything()

    answer = call(client, operation, world)

    lacking = operation.required - MAY[person]
    if not lacking:
        assert answer.status_code == operation.success, answer.content
    else:
        assert_refused(answer, lacking)
        assert everything() == before


@pytest.mark.parametrize(("scopes", "operation"), [c for scopes in SCOPES for c in cases(scopes)])
def test_an_admins_token_may_do_only_what_its_scopes_allow(
    api_as: Callable[..., Any], ada: User, world: dict[str, Any], scopes: str, operation: Operation
) -> None:
    client = api_as(ada, scopes=SCOPES[scopes])
    world = with_token_of(ada, world)
    before = everything()

    answer = call(client, operation, world)

    lacking = operation.required - set(SCOPES[scopes])
    if not lacking:
        assert answer.status_code == operation.success, answer.content
    else:
        assert_refused(answer, lacking)
        assert everything() == before
