"""The helpdesk's setup: business calendars, SLA policies, routing rules and canned replies, checked by
the services, managed over the API and on the settings pages by supervisor taras and admin ada, and
refused to agent olena with nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django_tasks_db.models import DBTaskResult

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import Team, User
from forewarn.accounts.roles import Perm, Role, permissions_for_role
from forewarn.core import clock
from forewarn.core.errors import Conflict, Forbidden, ValidationFailed
from forewarn.customers.models import Customer, Segment
from forewarn.inbox.models import BusinessCalendar, CannedReply, RoutingRule, SlaPolicy, Ticket
from forewarn.inbox.services import assignment, canned, setup
from forewarn.inbox.services.intake.email import receive_email
from forewarn.privacy.models import AuditAction, AuditEntry
from forewarn.privacy.services import audit

from .test_email import mail

KYIV = ZoneInfo("Europe/Kyiv")
OFFICE = {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def kyiv(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV).astimezone(UTC)


def paths(caught: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {f.path: f.code for f in caught.value.fields}


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def office(db: None) -> BusinessCalendar:
    return setup.create_calendar(
        actor=Actor.system("tests"),
        data=setup.CalendarIn(name="Kyiv office", time_zone="Europe/Kyiv", country="UA", hours=OFFICE),
    )


@pytest.fixture
def standard(office: BusinessCalendar) -> SlaPolicy:
    return setup.create_policy(
        actor=Actor.system("tests"),
        data=setup.PolicyIn(
            name="Standard", calendar_id=office.pk, first_response_minutes=60, resolution_minutes=480
        ),
    )


@pytest.fixture
def support(db: None) -> Team:
    return Team.objects.create(name="Kyiv support")


def _ticket_at(moment: datetime) -> Ticket:
    with clock.frozen_at(moment):
        received = receive_email(mail().as_bytes())
    assert received.ticket_id is not None
    return Ticket.objects.get(pk=received.ticket_id)


# --- who may ---------------------------------------------------------------------------------------------


def test_supervisors_and_admins_manage_the_helpdesk_and_nobody_else_does() -> None:
    managers = {role for role in Role.values if Perm.HELPDESK_MANAGE in permissions_for_role(role)}
    assert managers == {Role.SUPERVISOR, Role.ADMIN}


def test_an_agent_may_change_nothing_of_the_setup(olena: User, office: BusinessCalendar) -> None:
    agent = Actor.of(olena)
    with pytest.raises(Forbidden):
        setup.create_calendar(actor=agent, data=setup.CalendarIn(name="Night shift", hours=OFFICE))
    with pytest.raises(Forbidden):
        setup.update_calendar(actor=agent, calendar=office, data=setup.CalendarIn(name="Mine", hours=OFFICE))
    with pytest.raises(Forbidden):
        setup.list_canned_replies(agent)
    assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["Kyiv office"]


# --- business calendars ----------------------------------------------------------------------------------


def test_a_calendar_is_kept_in_one_spelling(taras: User) -> None:
    calendar = setup.create_calendar(
        actor=Actor.of(taras),
        data=setup.CalendarIn(
            name="  Lviv office ",
            time_zone="Europe/Kyiv",
            country="ua",
            hours={"TUE": ["14:00-18:00", "9:00-13:00"], "mon": ["9-18"], "sat": []},
            closed_dates=["2026-12-31", "2026-12-24", "2026-12-31"],
        ),
    )
    calendar.refresh_from_db()
    assert calendar.name == "Lviv office"
    assert calendar.country == "UA"
    assert calendar.hours == {"mon": ["09:00-18:00"], "tue": ["09:00-13:00", "14:00-18:00"]}
    assert calendar.closed_dates == ["2026-12-24", "2026-12-31"]


def test_a_calendar_that_makes_no_sense_is_refused_with_every_field_at_fault(
    taras: User, office: BusinessCalendar
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        setup.create_calendar(
            actor=Actor.of(taras),
            data=setup.CalendarIn(
                name="Kyiv office",
                time_zone="Europe/Kiev-ish",
                country="XX",
                hours={
                    "mon": ["09:00-18:00"],
                    "tue": ["18:00-09:00"],
                    "wed": ["09:00-13:00", "12:00-18:00"],
                    "thu": ["nine to five"],
                    "funday": ["09:00-10:00"],
                    "MON": ["10:00-11:00"],
                },
                closed_dates=["2026-12-31", "31.12.2026"],
            ),
        )
    assert paths(caught) == {
        "name": "name_taken",
        "time_zone": "time_zone_unknown",
        "country": "country_unknown",
        "hours.tue.0": "span_invalid",
        "hours.wed": "spans_overlap",
        "hours.thu.0": "span_invalid",
        "hours.funday": "not_a_weekday",
        "hours.MON": "weekday_repeated",
        "closed_dates.1": "date_invalid",
    }
    assert BusinessCalendar.objects.count() == 1


def test_a_calendar_needs_working_time_and_a_subdivision_of_its_country(taras: User) -> None:
    actor = Actor.of(taras)
    with pytest.raises(ValidationFailed) as caught:
        setup.create_calendar(actor=actor, data=setup.CalendarIn(name="Never", hours={"mon": []}))
    assert paths(caught) == {"hours": "no_working_time"}
    with pytest.raises(ValidationFailed) as caught:
        setup.create_calendar(
            actor=actor, data=setup.CalendarIn(name="Bavaria", country="DE", subdivision="XY", hours=OFFICE)
        )
    assert paths(caught) == {"subdivision": "subdivision_unknown"}
    with pytest.raises(ValidationFailed) as caught:
        setup.create_calendar(
            actor=actor, data=setup.CalendarIn(name="Nowhere", subdivision="BY", hours=OFFICE)
        )
    assert paths(caught) == {"subdivision": "needs_country"}
    bavaria = setup.create_calendar(
        actor=actor, data=setup.CalendarIn(name="Munich", country="de", subdivision="by", hours=OFFICE)
    )
    assert (bavaria.country, bavaria.subdivision) == ("DE", "BY")


def test_a_calendar_too_thin_for_the_policies_that_use_it_is_refused(
    taras: User, office: BusinessCalendar
) -> None:
    actor = Actor.of(taras)
    setup.create_policy(
        actor=actor,
        data=setup.PolicyIn(
            name="Yearly",
            calendar_id=office.pk,
            first_response_minutes=60,
            resolution_minutes=setup.MINUTES_MAX,
        ),
    )
    with pytest.raises(ValidationFailed) as caught:
        setup.update_calendar(
            actor=actor,
            calendar=office,
            data=setup.CalendarIn(name="Kyiv office", hours={"mon": ["09:00-10:00"]}),
        )
    assert paths(caught) == {"hours": "too_little_time"}
    office.refresh_from_db()
    assert office.hours == OFFICE


def test_a_calendar_in_use_is_not_deleted_and_one_unused_is(
    taras: User, office: BusinessCalendar, standard: SlaPolicy
) -> None:
    actor = Actor.of(taras)
    with pytest.raises(Conflict) as caught:
        setup.delete_calendar(actor=actor, calendar=office)
    assert caught.value.code == "calendar_in_use"
    assert "Standard" in caught.value.message
    spare = setup.create_calendar(actor=actor, data=setup.CalendarIn(name="Spare", hours=OFFICE))
    setup.delete_calendar(actor=actor, calendar=spare)
    assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["Kyiv office"]


# --- SLA policies ----------------------------------------------------------------------------------------


def test_a_policy_is_checked_field_by_field(taras: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        setup.create_policy(
            actor=Actor.of(taras),
            data=setup.PolicyIn(
                name="",
                rank=-1,
                priority="asap",
                channel="fax",
                segment_id=999,
                calendar_id=999,
                first_response_minutes=-5,
                resolution_minutes=60,
                warn_before_minutes=-1,
                head_office_after_days=0,
            ),
        )
    assert paths(caught) == {
        "name": "required",
        "rank": "out_of_range",
        "priority": "priority_unknown",
        "channel": "channel_unknown",
        "segment_id": "segment_not_found",
        "calendar_id": "calendar_not_found",
        "first_response_minutes": "out_of_range",
        "warn_before_minutes": "out_of_range",
        "head_office_after_days": "out_of_range",
    }
    with pytest.raises(ValidationFailed) as caught:
        setup.create_policy(
            actor=Actor.of(taras),
            data=setup.PolicyIn(name="Odd", first_response_minutes=120, resolution_minutes=60),
        )
    assert paths(caught) == {"resolution_minutes": "shorter_than_first_response"}
    assert not SlaPolicy.objects.exists()


def test_changing_how_a_policy_counts_enqueues_the_recompute_in_the_same_transaction(
    taras: User, standard: SlaPolicy
) -> None:
    actor = Actor.of(taras)
    # A new active policy may come first for running tickets: they are recomputed too.
    made = DBTaskResult.objects.get()
    assert made.task_path == "forewarn.inbox.tasks.recompute_sla_clocks"
    assert made.args_kwargs["args"] == [[standard.pk]]
    made.delete()
    inactive = setup.PolicyIn(name="Later", first_response_minutes=60, resolution_minutes=480, active=False)
    setup.create_policy(actor=actor, data=inactive)
    assert not DBTaskResult.objects.exists()  # an inactive one governs nothing
    renamed = setup.policy_input_of(standard)
    renamed.name = "Standard (weekdays)"
    setup.update_policy(actor=actor, policy=standard, data=renamed)
    assert not DBTaskResult.objects.exists()  # a new name moves no clock
    faster = setup.policy_input_of(standard)
    faster.first_response_minutes = 30
    setup.update_policy(actor=actor, policy=standard, data=faster)
    job = DBTaskResult.objects.get()
    assert job.task_path == "forewarn.inbox.tasks.recompute_sla_clocks"
    assert job.args_kwargs["args"] == [[standard.pk]]
    # A change that rolls back takes its job with it.
    slower = setup.policy_input_of(standard)
    slower.first_response_minutes = 90
    with transaction.atomic():
        setup.update_policy(actor=actor, policy=standard, data=slower)
        assert DBTaskResult.objects.count() == 2
        transaction.set_rollback(True)
    assert DBTaskResult.objects.count() == 1


@pytest.mark.usefixtures("immediate_tasks")
def test_a_changed_policy_moves_the_due_times_of_its_open_tickets_at_once(
    taras: User, standard: SlaPolicy, maria: Customer
) -> None:
    ticket = _ticket_at(kyiv(2021, 1, 25, 9, 0))  # Monday: first response due 10:00
    assert ticket.first_response_due == kyiv(2021, 1, 25, 10, 0)
    data = setup.policy_input_of(standard)
    data.first_response_minutes = 120
    with clock.frozen_at(kyiv(2021, 1, 25, 9, 10)):
        setup.update_policy(actor=Actor.of(taras), policy=standard, data=data)
    ticket.refresh_from_db()
    assert ticket.first_response_due == kyiv(2021, 1, 25, 11, 0)


@pytest.mark.usefixtures("immediate_tasks")
def test_a_calendar_change_moves_the_due_times_of_tickets_counted_in_it(
    taras: User, office: BusinessCalendar, standard: SlaPolicy, maria: Customer
) -> None:
    ticket = _ticket_at(kyiv(2021, 1, 22, 17, 30))  # Friday evening: due Monday 9:30
    data = setup.calendar_input_of(office)
    data.hours = {**OFFICE, "sat": ["10:00-15:00"]}
    with clock.frozen_at(kyiv(2021, 1, 22, 18, 0)):
        setup.update_calendar(actor=Actor.of(taras), calendar=office, data=data)
    ticket.refresh_from_db()
    assert ticket.first_response_due == kyiv(2021, 1, 23, 10, 30)


@pytest.mark.usefixtures("immediate_tasks")
def test_a_policy_tickets_refer_to_is_deactivated_not_deleted(
    taras: User, standard: SlaPolicy, maria: Customer
) -> None:
    actor = Actor.of(taras)
    ticket = _ticket_at(kyiv(2021, 1, 25, 9, 0))
    assert ticket.sla_policy == standard
    assert setup.delete_policy(actor=actor, policy=standard) is False
    standard.refresh_from_db()
    assert standard.active is False
    ticket.refresh_from_db()
    assert ticket.sla_policy is None  # no other policy matches: no clocks
    assert ticket.first_response_due is None
    unused = setup.create_policy(
        actor=actor, data=setup.PolicyIn(name="Unused", first_response_minutes=10, resolution_minutes=20)
    )
    assert setup.delete_policy(actor=actor, policy=unused) is True
    assert list(SlaPolicy.objects.values_list("name", flat=True)) == ["Standard"]


def test_every_change_to_the_setup_is_in_the_audit_log_with_its_fields(
    taras: User, ada: User, office: BusinessCalendar, maria: Customer
) -> None:
    actor = Actor.of(taras)
    policy = setup.create_policy(
        actor=actor,
        data=setup.PolicyIn(
            name="Gold", calendar_id=office.pk, first_response_minutes=30, resolution_minutes=240
        ),
    )
    changed = setup.policy_input_of(policy)
    changed.first_response_minutes = 15
    setup.update_policy(actor=actor, policy=policy, data=changed)
    setup.update_policy(actor=actor, policy=policy, data=changed)  # nothing changed: nothing recorded
    reply = setup.create_canned_reply(
        actor=actor,
        data=setup.CannedReplyIn(
            title="Дзвінок", shortcut="call", language="uk", body="Зателефонуйте +380 67 123 45 67"
        ),
    )
    setup.delete_canned_reply(actor=actor, canned=reply)
    assert _ticket_at(kyiv(2021, 1, 25, 9, 0)).sla_policy == policy
    assert setup.delete_policy(actor=actor, policy=policy) is False
    entries = list(
        AuditEntry.objects.filter(action=AuditAction.SETTING, actor_user_id=taras.pk).order_by("seq")
    )
    assert AuditEntry.objects.get(detail__what="inbox.businesscalendar").detail["fields"]["hours"] == OFFICE
    assert [(e.detail["what"], e.detail["change"]) for e in entries] == [
        ("inbox.slapolicy", "created"),
        ("inbox.slapolicy", "changed"),
        ("inbox.cannedreply", "created"),
        ("inbox.cannedreply", "deleted"),
        ("inbox.slapolicy", "deactivated"),
    ]
    assert {e.actor for e in entries} == {str(taras)}
    assert entries[0].detail["fields"]["first_response_minutes"] == 30
    assert entries[0].detail["fields"]["calendar_id"] == office.pk
    assert entries[1].detail["fields"] == {"first_response_minutes": [30, 15]}
    # What a supervisor typed is kept masked, as everywhere else.
    assert "123 45 67" not in entries[2].detail["fields"]["body"]
    assert audit.verify_audit_chain(actor=Actor.system("tests")).intact
    reader = signed_in(ada)
    page = reader.get("/privacy/audit/").content.decode()
    assert f"Gold (SLA policy #{policy.pk}): changed · first response within (working minutes)" in page
    reader.cookies[settings.LANGUAGE_COOKIE_NAME] = "uk"
    page = reader.get("/privacy/audit/").content.decode()
    assert f"Gold (політика SLA #{policy.pk}): змінено · перша відповідь протягом (робочих хвилин)" in page
    assert "inbox.slapolicy" not in page


# --- routing rules ---------------------------------------------------------------------------------------


def test_a_routing_rule_names_a_team_and_routes_new_tickets(
    taras: User, support: Team, maria: Customer
) -> None:
    actor = Actor.of(taras)
    with pytest.raises(ValidationFailed) as caught:
        setup.create_routing_rule(
            actor=actor, data=setup.RoutingRuleIn(team_id=None, channel="pigeon", language="de", rank=40000)
        )
    assert paths(caught) == {
        "team_id": "required",
        "channel": "channel_unknown",
        "language": "language_unsupported",
        "rank": "out_of_range",
    }
    rule = setup.create_routing_rule(
        actor=actor,
        data=setup.RoutingRuleIn(team_id=support.pk, channel="email", tag=" Delivery ", skill="parcels"),
    )
    assert rule.tag == "delivery"
    ticket = Ticket(channel="email", tags=["delivery"], custom_fields={})
    assignment.route(ticket)
    assert (ticket.team_id, ticket.custom_fields) == (support.pk, {"skill": "parcels"})
    changed = setup.routing_rule_input_of(rule)
    changed.team_id = 999
    with pytest.raises(ValidationFailed) as caught:
        setup.update_routing_rule(actor=actor, rule=rule, data=changed)
    assert paths(caught) == {"team_id": "team_not_found"}
    setup.delete_routing_rule(actor=actor, rule=rule)
    assert not RoutingRule.objects.exists()


# --- canned replies --------------------------------------------------------------------------------------


def test_a_canned_reply_may_use_only_the_variables_it_is_filled_with(taras: User) -> None:
    actor = Actor.of(taras)
    for body, code in [
        ("Вітаю, {{ customer.phone }}!", "variable_unknown"),
        ("Замовлення {{ payload.order_id }}", "variable_unknown"),
        ("Вітаю, {{ customer.first_name ", "template_syntax"),
        ("Картка {{ customer.attributes.card|unmasked }}", "unmasked_not_allowed"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            setup.create_canned_reply(
                actor=actor,
                data=setup.CannedReplyIn(title="Привіт", shortcut="hello", language="uk", body=body),
            )
        assert paths(caught) == {"body": code}, body
    with pytest.raises(ValidationFailed) as caught:
        setup.create_canned_reply(
            actor=actor, data=setup.CannedReplyIn(title="", shortcut="Hello there!", language="de", body="")
        )
    assert paths(caught) == {
        "title": "required",
        "shortcut": "shortcut_invalid",
        "language": "language_unsupported",
        "body": "required",
    }
    assert not CannedReply.objects.exists()


def test_a_canned_reply_is_filled_in_for_a_ticket(taras: User, olena: User, maria: Customer) -> None:
    actor = Actor.of(taras)
    reply = setup.create_canned_reply(
        actor=actor,
        data=setup.CannedReplyIn(
            title="Привіт",
            shortcut="Hello",
            language="uk",
            body=(
                "Вітаю, {{ customer.first_name }}! Звернення №{{ ticket.id }}."
                "{% if customer.attributes.card %} Картка {{ customer.attributes.card }}.{% endif %}"
                "{% for word in ['Дякуємо'] %} {{ word }}!{% endfor %} {{ agent.name }}"
            ),
        ),
    )
    assert reply.shortcut == "hello"
    with pytest.raises(ValidationFailed) as caught:
        setup.create_canned_reply(
            actor=actor,
            data=setup.CannedReplyIn(title="Ще раз", shortcut="hello", language="uk", body="Так."),
        )
    assert paths(caught) == {"shortcut": "shortcut_taken"}
    setup.create_canned_reply(
        actor=actor, data=setup.CannedReplyIn(title="Hi", shortcut="hello", language="en", body="Hi!")
    )
    ticket = _ticket_at(kyiv(2021, 1, 25, 9, 0))
    text = canned.fill(Actor.of(olena), ticket, reply.pk)
    assert text == f"Вітаю, Марія! Звернення №{ticket.pk}. Дякуємо! Олена Коваленко"


# --- the API ---------------------------------------------------------------------------------------------


@pytest.fixture
def supervisor_api(api_as: Callable[..., Any], taras: User) -> Any:
    return api_as(taras)


def test_calendars_over_the_api(supervisor_api: Any, standard: SlaPolicy) -> None:
    api = supervisor_api
    made = api.post(
        "/api/v1/inbox/calendars",
        {"name": "Odesa office", "time_zone": "Europe/Kyiv", "hours": {"mon": ["10:00-19:00"]}},
    )
    assert made.status_code == 201, made.content
    calendar = made.json()
    assert calendar["hours"] == {"mon": ["10:00-19:00"]}
    assert calendar["policy_ids"] == []
    listed = api.get("/api/v1/inbox/calendars", limit=1)
    assert listed.json()["count"] == 2
    assert listed.json()["next_offset"] == 1
    assert listed.json()["items"][0]["name"] == "Kyiv office"
    assert listed.json()["items"][0]["policy_ids"] == [standard.pk]
    changed = api.patch(f"/api/v1/inbox/calendars/{calendar['id']}", {"closed_dates": ["2026-12-31"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["closed_dates"] == ["2026-12-31"]
    assert changed.json()["hours"] == {"mon": ["10:00-19:00"]}  # left as it was
    assert api.get(f"/api/v1/inbox/calendars/{calendar['id']}").json()["closed_dates"] == ["2026-12-31"]
    assert api.delete(f"/api/v1/inbox/calendars/{calendar['id']}").status_code == 204
    assert api.get(f"/api/v1/inbox/calendars/{calendar['id']}").status_code == 404
    in_use = api.delete(f"/api/v1/inbox/calendars/{standard.calendar_id}")
    assert in_use.status_code == 409
    assert in_use.json()["error"]["code"] == "calendar_in_use"


def test_bad_setup_gets_field_errors_over_the_api(supervisor_api: Any, office: BusinessCalendar) -> None:
    api = supervisor_api
    bad = api.post(
        "/api/v1/inbox/calendars",
        {"name": "Night", "time_zone": "Mars/Olympus", "country": "XX", "hours": {"mon": ["25:00-26:00"]}},
    )
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "validation_failed"
    assert {(f["path"], f["code"]) for f in error["fields"]} == {
        ("time_zone", "time_zone_unknown"),
        ("country", "country_unknown"),
        ("hours.mon.0", "span_invalid"),
    }
    negative = api.post(
        "/api/v1/inbox/sla-policies",
        {"name": "Fast", "first_response_minutes": -1, "resolution_minutes": 100},
    )
    assert negative.status_code == 422
    assert [f["path"] for f in negative.json()["error"]["fields"]] == ["first_response_minutes"]
    typed = api.post("/api/v1/inbox/sla-policies", {"name": "Fast", "first_response_minutes": "soon"})
    assert typed.status_code == 422
    assert {f["path"] for f in typed.json()["error"]["fields"]} == {
        "first_response_minutes",
        "resolution_minutes",
    }
    null = api.patch(f"/api/v1/inbox/calendars/{office.pk}", {"name": None})
    assert null.status_code == 422
    assert null.json()["error"]["fields"] == [
        {"path": "name", "code": "null", "message": "This field cannot be null."}
    ]
    malformed = api.client.post(
        "/api/v1/inbox/canned-replies", data="{not json", content_type="application/json", headers=api.headers
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_body"
    assert BusinessCalendar.objects.count() == 1
    assert not SlaPolicy.objects.exists()


def test_sla_policies_over_the_api(supervisor_api: Any, office: BusinessCalendar, maria: Customer) -> None:
    api = supervisor_api
    vip = Segment.objects.create(slug="vip", name="VIP")
    body = {
        "name": "VIP",
        "rank": 10,
        "segment_id": vip.pk,
        "calendar_id": office.pk,
        "first_response_minutes": 30,
        "resolution_minutes": 240,
    }
    made = api.post("/api/v1/inbox/sla-policies", body, headers={"Idempotency-Key": "vip-1"})
    again = api.post("/api/v1/inbox/sla-policies", body, headers={"Idempotency-Key": "vip-1"})
    assert made.status_code == again.status_code == 201
    assert made.json() == again.json()
    assert SlaPolicy.objects.count() == 1
    policy_id = made.json()["id"]
    assert made.json()["warn_before_minutes"] == 30
    assert made.json()["active"] is True
    every_minute = api.patch(f"/api/v1/inbox/sla-policies/{policy_id}", {"calendar_id": None, "rank": 5})
    assert every_minute.status_code == 200, every_minute.content
    assert (every_minute.json()["calendar_id"], every_minute.json()["rank"]) == (None, 5)
    assert api.get("/api/v1/inbox/sla-policies").json()["items"][0]["id"] == policy_id
    maria.segments.add(vip)
    ticket = _ticket_at(kyiv(2021, 1, 25, 9, 0))
    assert ticket.sla_policy_id == policy_id
    kept = api.delete(f"/api/v1/inbox/sla-policies/{policy_id}")
    assert kept.status_code == 200  # tickets refer to it: deactivated
    assert kept.json()["active"] is False
    unused = api.post("/api/v1/inbox/sla-policies", {**body, "name": "Spare", "segment_id": None})
    assert api.delete(f"/api/v1/inbox/sla-policies/{unused.json()['id']}").status_code == 204
    assert list(SlaPolicy.objects.values_list("name", "active")) == [("VIP", False)]


def test_routing_rules_and_canned_replies_over_the_api(supervisor_api: Any, support: Team) -> None:
    api = supervisor_api
    rule = api.post("/api/v1/inbox/routing-rules", {"team_id": support.pk, "language": "ru", "rank": 20})
    assert rule.status_code == 201, rule.content
    rule_id = rule.json()["id"]
    assert api.patch(f"/api/v1/inbox/routing-rules/{rule_id}", {"tag": "Refund"}).json()["tag"] == "refund"
    assert api.get(f"/api/v1/inbox/routing-rules/{rule_id}").json()["language"] == "ru"
    assert api.get("/api/v1/inbox/routing-rules").json()["count"] == 1
    assert api.delete(f"/api/v1/inbox/routing-rules/{rule_id}").status_code == 204
    assert not RoutingRule.objects.exists()
    for language, body in (("uk", "Посилка в дорозі."), ("en", "Your parcel is on its way.")):
        made = api.post(
            "/api/v1/inbox/canned-replies",
            {"title": "Parcel", "shortcut": "parcel", "language": language, "body": body},
        )
        assert made.status_code == 201, made.content
    english = api.get("/api/v1/inbox/canned-replies", language="en").json()
    assert [c["body"] for c in english["items"]] == ["Your parcel is on its way."]
    reply_id = english["items"][0]["id"]
    bad = api.patch(f"/api/v1/inbox/canned-replies/{reply_id}", {"body": "Hello {{ customer.passport }}"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["code"] == "variable_unknown"
    taken = api.patch(f"/api/v1/inbox/canned-replies/{reply_id}", {"language": "uk"})
    assert taken.json()["error"]["fields"][0]["path"] == "shortcut"
    good = api.patch(f"/api/v1/inbox/canned-replies/{reply_id}", {"body": "Hi {{ customer.first_name }}."})
    assert good.json()["body"] == "Hi {{ customer.first_name }}."
    assert api.delete(f"/api/v1/inbox/canned-replies/{reply_id}").status_code == 204
    assert api.get("/api/v1/inbox/canned-replies").json()["count"] == 1


@pytest.mark.parametrize(
    "call",
    [
        ("get", "/api/v1/inbox/calendars", None),
        ("post", "/api/v1/inbox/calendars", {"name": "Mine", "hours": {"mon": ["09:00-18:00"]}}),
        ("patch", "/api/v1/inbox/calendars/{calendar}", {"name": "Mine"}),
        ("delete", "/api/v1/inbox/calendars/{calendar}", None),
        ("get", "/api/v1/inbox/sla-policies/{policy}", None),
        ("patch", "/api/v1/inbox/sla-policies/{policy}", {"first_response_minutes": 1}),
        ("delete", "/api/v1/inbox/sla-policies/{policy}", None),
        ("post", "/api/v1/inbox/routing-rules", {"team_id": 1}),
        ("get", "/api/v1/inbox/canned-replies", None),
        (
            "post",
            "/api/v1/inbox/canned-replies",
            {"title": "x", "shortcut": "x", "language": "uk", "body": "x"},
        ),
    ],
)
def test_an_agent_is_refused_the_setup_api_and_nothing_changes(
    api_as: Callable[..., Any], olena: User, standard: SlaPolicy, call: tuple[str, str, Any]
) -> None:
    method, path, body = call
    api = api_as(olena)
    url = path.format(calendar=standard.calendar_id, policy=standard.pk)
    answer = getattr(api, method)(url, body) if body is not None else getattr(api, method)(url)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "permission_denied"
    standard.refresh_from_db()
    assert (standard.first_response_minutes, standard.active) == (60, True)
    assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["Kyiv office"]
    assert not RoutingRule.objects.exists()
    assert not CannedReply.objects.exists()


# --- the pages -------------------------------------------------------------------------------------------


def test_the_settings_link_and_pages_are_for_those_who_manage_the_helpdesk(
    taras: User, olena: User, office: BusinessCalendar
) -> None:
    supervisor = signed_in(taras)
    current = 'aria-label="Helpdesk settings" aria-current="page">Helpdesk</a>'
    for page in (
        "sla-policies/",
        "sla-policies/new/",
        "calendars/",
        f"calendars/{office.pk}/",
        "routing-rules/",
        "routing-rules/new/",
        "canned-replies/",
        "canned-replies/new/",
    ):
        assert current in supervisor.get(f"/inbox/settings/{page}").content.decode(), page
    assert current not in supervisor.get("/inbox/").content.decode()
    agent = signed_in(olena)
    assert "/inbox/settings/" not in agent.get("/inbox/").content.decode()
    for page in ("", "sla-policies/", "calendars/new/", "routing-rules/", "canned-replies/new/"):
        assert agent.get(f"/inbox/settings/{page}").status_code == 403, page
    made = agent.post("/inbox/settings/calendars/new/", {"name": "Mine", "hours-mon": "09:00-18:00"})
    assert made.status_code == 403
    assert agent.post(f"/inbox/settings/calendars/{office.pk}/delete/").status_code == 403
    assert list(BusinessCalendar.objects.values_list("name", flat=True)) == ["Kyiv office"]


def test_every_settings_page_shows_what_is_set_up(
    taras: User, standard: SlaPolicy, support: Team, office: BusinessCalendar
) -> None:
    actor = Actor.of(taras)
    rule = setup.create_routing_rule(
        actor=actor, data=setup.RoutingRuleIn(team_id=support.pk, skill="parcels")
    )
    reply = setup.create_canned_reply(
        actor=actor,
        data=setup.CannedReplyIn(title="Посилка", shortcut="parcel", language="uk", body="В дорозі."),
    )
    client = signed_in(taras)
    assert client.get("/inbox/settings/")["Location"] == "/inbox/settings/sla-policies/"
    pages = {
        "sla-policies/": ["Standard", "1 h", "8 h", "Kyiv office"],
        f"sla-policies/{standard.pk}/": [f'<option value="{office.pk}" selected>Kyiv office</option>'],
        "calendars/": ["Kyiv office", "Mon 09:00-18:00", "UA", "Standard"],
        f"calendars/{office.pk}/": ['name="country" value="UA"', 'name="hours-fri" value="09:00-18:00"'],
        "routing-rules/": ["Kyiv support", "parcels", "every ticket"],
        f"routing-rules/{rule.pk}/": [f'<option value="{support.pk}" selected>Kyiv support</option>'],
        "canned-replies/": ["parcel", "Посилка", "В дорозі."],
        f"canned-replies/{reply.pk}/": [
            'name="shortcut" maxlength="50" value="parcel"',
            "В дорозі.</textarea>",
        ],
    }
    for page, expected in pages.items():
        answer = client.get(f"/inbox/settings/{page}")
        assert answer.status_code == 200, page
        for text in expected:
            assert text in answer.content.decode(), (page, text)


def test_a_calendar_round_trip_through_its_form(taras: User) -> None:
    client = signed_in(taras)
    blank = client.get("/inbox/settings/calendars/new/")
    assert blank.status_code == 200
    assert 'name="hours-mon" value="09:00-18:00"' in blank.content.decode()
    form = {
        "name": "Kharkiv office",
        "time_zone": "Europe/Kyiv-Central",
        "country": "UA",
        "subdivision": "",
        "hours-mon": "09:00-13:00, 14:00-18:00",
        "hours-tue": "9:00-18:00",
        "hours-wed": "18:00-09:00",
        "closed_dates": "2026-12-31\n2026-13-01",
    }
    refused = client.post("/inbox/settings/calendars/new/", form)
    assert refused.status_code == 422
    page = refused.content.decode()
    assert 'id="time_zone-error">“Europe/Kyiv-Central” is not a known time zone' in page
    assert 'aria-describedby="hours-wed-error"' in page
    assert 'id="hours-wed-error">“18:00-09:00” is not a span' in page
    assert 'id="closed_dates-error">“2026-13-01” is not a date' in page
    assert 'value="09:00-13:00, 14:00-18:00"' in page  # what was typed is kept
    assert not BusinessCalendar.objects.exists()
    saved = client.post(
        "/inbox/settings/calendars/new/",
        {**form, "time_zone": "Europe/Kyiv", "hours-wed": "", "closed_dates": "2026-12-31"},
    )
    assert saved.status_code == 302
    assert saved["Location"] == "/inbox/settings/calendars/"
    calendar = BusinessCalendar.objects.get()
    assert calendar.hours == {"mon": ["09:00-13:00", "14:00-18:00"], "tue": ["09:00-18:00"]}
    listed = client.get(saved["Location"]).content.decode()
    assert "Calendar saved." in listed
    assert "Kharkiv office" in listed
    edit = client.get(f"/inbox/settings/calendars/{calendar.pk}/").content.decode()
    assert 'name="hours-tue" value="09:00-18:00"' in edit
    assert "2026-12-31</textarea>" in edit
    changed = client.post(
        f"/inbox/settings/calendars/{calendar.pk}/",
        {**form, "time_zone": "Europe/Warsaw", "hours-wed": "", "closed_dates": ""},
    )
    assert changed.status_code == 302
    calendar.refresh_from_db()
    assert (calendar.time_zone, calendar.closed_dates) == ("Europe/Warsaw", [])
    assert client.post(f"/inbox/settings/calendars/{calendar.pk}/delete/").status_code == 302
    assert not BusinessCalendar.objects.exists()


def test_a_policy_form_keeps_what_was_typed_and_saves_with_its_calendar(
    taras: User, office: BusinessCalendar
) -> None:
    client = signed_in(taras)
    form = {
        "name": "Urgent",
        "rank": "20",
        "priority": "urgent",
        "channel": "",
        "segment_id": "",
        "calendar_id": str(office.pk),
        "first_response_minutes": "half an hour",
        "resolution_minutes": "480",
        "warn_before_minutes": "10",
        "head_office_after_days": "2",
        "active": "on",
    }
    refused = client.post("/inbox/settings/sla-policies/new/", form)
    assert refused.status_code == 422
    page = refused.content.decode()
    assert 'id="first_response_minutes-error">Must be a whole number.' in page
    assert 'name="first_response_minutes" value="half an hour"' in page
    assert f'<option value="{office.pk}" selected>Kyiv office</option>' in page
    # A segment that is not one of the choices is an error, never "any segment".
    forged = client.post("/inbox/settings/sla-policies/new/", {**form, "segment_id": "vip"})
    assert forged.status_code == 422
    assert 'id="segment_id-error">' in forged.content.decode()
    assert not SlaPolicy.objects.exists()
    saved = client.post("/inbox/settings/sla-policies/new/", {**form, "first_response_minutes": "30"})
    assert saved.status_code == 302
    policy = SlaPolicy.objects.get()
    assert (policy.priority, policy.calendar_id, policy.first_response_minutes) == ("urgent", office.pk, 30)
    listed = client.get("/inbox/settings/sla-policies/").content.decode()
    assert "30 min" in listed
    assert "8 h" in listed
    too_short = client.post(
        f"/inbox/settings/sla-policies/{policy.pk}/",
        {**form, "first_response_minutes": "30", "resolution_minutes": "20"},
    )
    assert too_short.status_code == 422
    assert (
        'id="resolution_minutes-error">Resolution cannot be due before the first response.'
        in too_short.content.decode()
    )
    policy.refresh_from_db()
    assert policy.resolution_minutes == 480
    # Saying "recomputed" only when what the policy counts changed.
    renamed = client.post(
        f"/inbox/settings/sla-policies/{policy.pk}/",
        {**form, "name": "Терміново", "first_response_minutes": "30"},
    )
    assert "SLA policy saved." in client.get(renamed["Location"]).content.decode()
    faster = client.post(
        f"/inbox/settings/sla-policies/{policy.pk}/", {**form, "first_response_minutes": "15"}
    )
    recomputing = "open tickets it governs or matches are being recomputed"
    assert recomputing in client.get(faster["Location"]).content.decode()


def test_routing_rules_and_canned_replies_through_their_forms(taras: User, support: Team) -> None:
    client = signed_in(taras)
    missing = client.post("/inbox/settings/routing-rules/new/", {"rank": "10", "team_id": ""})
    assert missing.status_code == 422
    assert 'id="team_id-error">Choose the team the tickets go to.' in missing.content.decode()
    saved = client.post(
        "/inbox/settings/routing-rules/new/",
        {
            "rank": "10",
            "channel": "telegram",
            "language": "uk",
            "tag": "",
            "team_id": str(support.pk),
            "skill": "",
        },
    )
    assert saved.status_code == 302
    rule = RoutingRule.objects.get()
    assert (rule.channel, rule.language, rule.team_id) == ("telegram", "uk", support.pk)
    assert "Kyiv support" in client.get("/inbox/settings/routing-rules/").content.decode()
    bad = client.post(
        "/inbox/settings/canned-replies/new/",
        {
            "title": "Вітання",
            "shortcut": "hello",
            "language": "uk",
            "body": "Вітаю, {{ customer.nickname }}!",
        },
    )
    assert bad.status_code == 422
    assert 'id="body-error">Unknown variables: customer.nickname.' in bad.content.decode()
    good = client.post(
        "/inbox/settings/canned-replies/new/",
        {
            "title": "Вітання",
            "shortcut": "hello",
            "language": "uk",
            "body": "Вітаю, {{ customer.first_name }}!",
        },
    )
    assert good.status_code == 302
    reply = CannedReply.objects.get()
    assert "Вітання" in client.get("/inbox/settings/canned-replies/?language=uk").content.decode()
    assert "Вітання" not in client.get("/inbox/settings/canned-replies/?language=en").content.decode()
    assert client.post(f"/inbox/settings/canned-replies/{reply.pk}/delete/").status_code == 302
    assert not CannedReply.objects.exists()


def test_settings_forms_need_their_csrf_token(taras: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(taras)
    answer = client.post("/inbox/settings/calendars/new/", {"name": "Forged", "hours-mon": "09:00-18:00"})
    assert answer.status_code == 403
    assert not BusinessCalendar.objects.exists()
