"""SLA clocks with time travel: business-hour and holiday arithmetic, warnings, first-response and
resolution breaches, the resolution clock standing still while pending, and escalation to the supervisors
and then to head office after N working days without an answer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Q
from hypothesis import given, settings
from hypothesis import strategies as st

from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.core import clock
from forewarn.core.stats import wilson
from forewarn.customers.models import Customer, Identity, Segment
from forewarn.inbox.hours import Calendar, CalendarError, moved_workdays, parse_hours, public_holidays
from forewarn.inbox.models import BusinessCalendar, Escalation, SlaPolicy, Ticket, TicketEvent, TicketStatus
from forewarn.inbox.services import replies, report, sla
from forewarn.inbox.services.intake.email import receive_email
from forewarn.inbox.services.intake.inbound import record_inbound
from forewarn.inbox.services.tickets import TicketChange, update_ticket

from .test_email import mail

KYIV = ZoneInfo("Europe/Kyiv")
OFFICE = {day: ["09:00-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def kyiv(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KYIV).astimezone(UTC)


def office(country: str = "UA") -> Calendar:
    return Calendar(
        KYIV,
        parse_hours(OFFICE),
        is_holiday=public_holidays(country),
        is_moved_workday=moved_workdays(country),
    )


# --- arithmetic --------------------------------------------------------------------------------------


def test_working_minutes_skip_nights_and_weekends() -> None:
    calendar = office()
    assert calendar.add(kyiv(2021, 1, 22, 17, 0), 120) == kyiv(2021, 1, 25, 10, 0)  # Friday -> Monday
    assert calendar.add(kyiv(2021, 1, 25, 7, 0), 30) == kyiv(2021, 1, 25, 9, 30)  # before opening
    assert calendar.minutes_between(kyiv(2021, 1, 22, 17, 0), kyiv(2021, 1, 25, 10, 0)) == 120


def test_public_holidays_are_not_working_days() -> None:
    calendar = office("UA")
    # 2021-01-01 (Friday) is New Year and 2021-01-07 (Thursday) Orthodox Christmas in Ukraine; Friday the
    # 8th was a day off moved to Saturday the 16th, which was worked.
    assert calendar.add(kyiv(2020, 12, 31, 17, 0), 120) == kyiv(2021, 1, 4, 10, 0)
    assert calendar.add(kyiv(2021, 1, 6, 17, 30), 60) == kyiv(2021, 1, 11, 9, 30)
    # Poland's 2026 calendar: 1 May (a Friday) is Labour Day.
    assert office("PL").add(kyiv(2026, 4, 30, 17, 0), 120) == kyiv(2026, 5, 4, 10, 0)


def test_a_saturday_worked_instead_of_a_day_off_is_a_working_day() -> None:
    assert office("UA").add(kyiv(2021, 1, 15, 17, 30), 60) == kyiv(2021, 1, 16, 9, 30)
    assert office("PL").add(kyiv(2021, 1, 15, 17, 30), 60) == kyiv(2021, 1, 18, 9, 30)


def test_a_calendars_own_closed_dates_count_too() -> None:
    closed = Calendar(KYIV, parse_hours(OFFICE), closed_dates=frozenset({date(2026, 12, 7)}))
    assert closed.add(kyiv(2026, 12, 4, 17, 0), 120) == kyiv(2026, 12, 8, 10, 0)


def test_a_day_when_clocks_change_is_as_long_as_it_really_is() -> None:
    always_in_kyiv = Calendar(KYIV, dict.fromkeys(range(7), ((0, 1440),)))
    # Clocks went forward on 28 March 2021: a day of working time ends an hour later by the clock.
    assert always_in_kyiv.add(kyiv(2021, 3, 27, 12, 0), 24 * 60) == kyiv(2021, 3, 28, 13, 0)
    # Office hours stay 9 to 6 by the clock on both sides of the change.
    assert office().add(kyiv(2021, 3, 26, 17, 0), 120) == kyiv(2021, 3, 29, 10, 0)


def test_working_days_keep_the_minute_of_the_day() -> None:
    calendar = office()
    assert calendar.add_days(kyiv(2021, 1, 22, 17, 0), 2) == kyiv(2021, 1, 26, 17, 0)  # Fri -> Tue
    assert calendar.add_days(kyiv(2021, 1, 23, 12, 0), 1) == kyiv(2021, 1, 26, 9, 0)  # Sat counts from Mon


def test_a_timetable_that_makes_no_sense_is_refused() -> None:
    for bad in ({"mon": ["18:00-09:00"]}, {"mon": ["9-13", "12:00-14:00"]}, {"funday": ["09:00-10:00"]}):
        with pytest.raises(CalendarError):
            parse_hours(bad)
    with pytest.raises(CalendarError):
        Calendar(KYIV, {}).add(kyiv(2026, 1, 1, 9, 0), 1)


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2027, 12, 31)),  # noqa: DTZ001 - hypothesis wants naive bounds
    minutes=st.integers(min_value=1, max_value=20 * 540),
)
def test_adding_and_measuring_agree(start: datetime, minutes: int) -> None:
    calendar = office()
    moment = start.replace(tzinfo=UTC)
    end = calendar.add(moment, minutes)
    assert calendar.minutes_between(moment, end) == pytest.approx(minutes)
    assert calendar.minutes_between(end, moment) == pytest.approx(-minutes)


# --- clocks on tickets -------------------------------------------------------------------------------


@pytest.fixture
def policy(db: None) -> SlaPolicy:
    calendar = BusinessCalendar.objects.create(
        name="Kyiv office", time_zone="Europe/Kyiv", country="UA", hours=OFFICE
    )
    return SlaPolicy.objects.create(
        name="Standard",
        calendar=calendar,
        first_response_minutes=60,
        resolution_minutes=8 * 60,
        warn_before_minutes=15,
        head_office_after_days=2,
    )


def _ticket_at(moment: datetime) -> Ticket:
    with clock.frozen_at(moment):
        received = receive_email(mail().as_bytes())
    assert received.ticket_id is not None
    return Ticket.objects.get(pk=received.ticket_id)


def test_a_first_response_warning_then_a_breach_go_to_the_supervisors(
    policy: SlaPolicy, maria: Customer
) -> None:
    ticket = _ticket_at(kyiv(2021, 1, 22, 17, 30))  # Friday evening
    assert ticket.sla_policy == policy
    assert ticket.first_response_due == kyiv(2021, 1, 25, 9, 30)
    with clock.frozen_at(kyiv(2021, 1, 25, 9, 14)):
        assert sla.sweep().warnings == 0
        clock.advance(timedelta(minutes=1))
        assert sla.sweep().warnings == 1
        assert sla.sweep().warnings == 0  # once
        clock.advance(timedelta(minutes=16))
        result = sla.sweep()
    assert (result.breaches, result.to_supervisor) == (1, 1)
    ticket.refresh_from_db()
    assert ticket.first_response_breached_at == kyiv(2021, 1, 25, 9, 30)
    assert ticket.escalation == Escalation.SUPERVISOR
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == ["sla_warning", "sla_breach", "escalated"]


def test_an_answer_in_time_stops_the_first_response_clock(
    policy: SlaPolicy, olena: User, maria: Customer
) -> None:
    ticket = _ticket_at(kyiv(2021, 1, 25, 10, 0))
    with clock.frozen_at(kyiv(2021, 1, 25, 10, 20)):
        replies.add_entry(actor=Actor.of(olena), ticket=ticket, text="Дивимося.")
        clock.advance(timedelta(hours=2))
        assert sla.sweep().breaches == 0
    ticket.refresh_from_db()
    assert ticket.first_response_at == kyiv(2021, 1, 25, 10, 20)
    assert ticket.first_response_breached_at is None
    assert ticket.first_response_due is None


def test_pending_on_the_customer_stops_the_resolution_clock(
    policy: SlaPolicy, olena: User, maria: Customer
) -> None:
    ticket = _ticket_at(kyiv(2021, 1, 25, 9, 0))  # Monday 9:00: resolution due 17:00
    assert ticket.resolution_due == kyiv(2021, 1, 25, 17, 0)
    actor = Actor.of(olena)
    with clock.frozen_at(kyiv(2021, 1, 25, 10, 0)):
        replies.add_entry(actor=actor, ticket=ticket, text="Надішліть, будь ласка, номер замовлення.")
        update_ticket(actor=actor, ticket=ticket, change=TicketChange(status=TicketStatus.PENDING))
        ticket.refresh_from_db()
        assert ticket.resolution_due is None
        # Three working hours later (and across a night) nothing is due: the clock stands still.
        clock.advance(timedelta(hours=22))  # Tuesday 8:00
        assert sla.sweep().breaches == 0
    with clock.frozen_at(kyiv(2021, 1, 26, 12, 0)):  # the customer answers on Tuesday at noon
        question = ticket.entries.filter(kind="inbound").get()
        receive_email(mail("Замовлення 12345", In_Reply_To=question.provider_id).as_bytes())
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    # Paused from Monday 10:00 to Tuesday 12:00: 8 + 3 working hours. Seven working hours were left, so
    # it is due on Tuesday 12:00 plus 6 hours, plus 1 hour on Wednesday.
    assert ticket.sla_paused_minutes == 11 * 60
    assert ticket.resolution_due == kyiv(2021, 1, 27, 10, 0)


def test_resolution_breach_is_recorded_when_solved_late_or_by_the_sweep(
    policy: SlaPolicy, olena: User, maria: Customer
) -> None:
    late = _ticket_at(kyiv(2021, 1, 25, 9, 0))
    with clock.frozen_at(kyiv(2021, 1, 25, 17, 1)):
        result = sla.sweep()
    late.refresh_from_db()
    assert late.resolution_breached_at == kyiv(2021, 1, 25, 17, 0)
    assert result.breaches == 2  # first response (10:00) and resolution (17:00)
    solved_late = _ticket_at(kyiv(2021, 1, 26, 9, 0))
    with clock.frozen_at(kyiv(2021, 1, 26, 17, 30)):
        update_ticket(
            actor=Actor.of(olena), ticket=solved_late, change=TicketChange(status=TicketStatus.SOLVED)
        )
    solved_late.refresh_from_db()
    assert solved_late.resolution_breached_at == kyiv(2021, 1, 26, 17, 0)
    assert solved_late.resolution_due is None


def test_a_contact_nobody_answers_goes_to_head_office_after_n_working_days(
    policy: SlaPolicy, maria: Customer
) -> None:
    ticket = _ticket_at(kyiv(2021, 1, 22, 17, 30))  # Friday; two working days on: Tuesday 17:30
    assert ticket.head_office_due == kyiv(2021, 1, 26, 17, 30)
    with clock.frozen_at(kyiv(2021, 1, 26, 17, 29)):
        assert sla.sweep().to_head_office == 0
        clock.advance(timedelta(minutes=2))
        assert sla.sweep().to_head_office == 1
        assert sla.sweep().to_head_office == 0
    ticket.refresh_from_db()
    assert ticket.escalation == Escalation.HEAD_OFFICE
    reasons = [e.data for e in TicketEvent.objects.filter(ticket=ticket, kind="escalated")]
    assert reasons[-1] == {"level": 2, "reason": "unanswered"}


def test_the_most_specific_policy_applies_and_vips_are_served_faster_only_when_it_says_so(
    policy: SlaPolicy, maria: Customer
) -> None:
    vip = Segment.objects.create(slug="vip", name="VIP")
    faster = SlaPolicy.objects.create(
        name="VIP", rank=10, segment=vip, first_response_minutes=15, resolution_minutes=120
    )
    ordinary = _ticket_at(kyiv(2021, 1, 25, 10, 0))
    assert ordinary.sla_policy == policy
    maria.segments.add(vip)
    special = _ticket_at(kyiv(2021, 1, 25, 11, 0))
    assert special.pk != ordinary.pk
    assert special.sla_policy == faster
    assert special.first_response_due == kyiv(2021, 1, 25, 11, 15)  # every minute counts: no calendar


def test_attainment_per_segment_shows_ordinary_customers_served_as_well_as_vips(
    policy: SlaPolicy, olena: User, maria: Customer, oleh: Customer
) -> None:
    vip = Segment.objects.create(slug="vip", name="VIP")
    oleh.segments.add(vip)
    Identity.objects.create(customer=oleh, kind="email", value="oleh@example.com", created_at=oleh.created_at)
    actor = Actor.of(olena)
    start = kyiv(2021, 1, 25, 9, 0)
    for n in range(4):
        for customer, address in ((maria, "maria.petrenko@example.com"), (oleh, "oleh@example.com")):
            with clock.frozen_at(start + timedelta(hours=n)):
                received = receive_email(
                    mail(f"Питання {n}", sender=address, subject=f"Питання {n}").as_bytes()
                )
                assert received.ticket_id is not None
                ticket = Ticket.objects.get(pk=received.ticket_id)
                assert ticket.customer_id == customer.pk
                # One in four of each segment's tickets is answered late.
                clock.advance(timedelta(minutes=90 if n == 0 else 10))
                replies.add_entry(actor=actor, ticket=ticket, text="Відповідь")
    rows = {
        r.segment: r for r in report.sla_attainment(actor=actor, since=start, until=start + timedelta(days=1))
    }
    vip_row = rows["vip"]
    retail_row = rows["retail"]
    assert (vip_row.tickets, retail_row.tickets) == (4, 4)
    assert vip_row.first_response.share == retail_row.first_response.share == 0.75
    assert vip_row.first_response.low < 0.75 < vip_row.first_response.high
    assert vip_row.policies == retail_row.policies == ["Standard"]


def test_the_wilson_interval_is_honest_for_small_samples() -> None:
    none = wilson(0, 0)
    assert (none.share, none.low, none.high) == (None, 0.0, 1.0)
    all_five = wilson(5, 5)
    assert all_five.share == 1.0
    assert 0.5 < all_five.low < 0.6  # five out of five is not proof of 100 %
    assert all_five.high == 1.0
    many = wilson(750, 1000)
    assert many.high - many.low < 0.06


def test_a_ticket_reopened_long_after_it_was_solved_goes_on_where_it_stopped(
    policy: SlaPolicy, olena: User, maria: Customer
) -> None:
    ticket = _ticket_at(kyiv(2021, 1, 25, 9, 0))  # resolution due Monday 17:00
    with clock.frozen_at(kyiv(2021, 1, 25, 11, 0)):  # solved after two working hours
        replies.add_entry(actor=Actor.of(olena), ticket=ticket, text="Готово.")
        update_ticket(actor=Actor.of(olena), ticket=ticket, change=TicketChange(status=TicketStatus.SOLVED))
    with clock.frozen_at(kyiv(2021, 2, 1, 9, 0)):  # the customer writes again a week later
        question = ticket.entries.filter(kind="inbound").get()
        receive_email(mail("Знову не працює", In_Reply_To=question.provider_id).as_bytes())
        assert sla.sweep().breaches == 0
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.resolution_breached_at is None
    assert ticket.resolution_due == kyiv(2021, 2, 1, 15, 0)  # the six working hours that were left


def test_a_customer_writing_as_an_agent_solves_the_ticket_goes_by_what_is_stored(
    policy: SlaPolicy, olena: User, maria: Customer
) -> None:
    stale = _ticket_at(kyiv(2021, 1, 25, 9, 0))  # found by a channel before the agent acted
    ticket = Ticket.objects.get(pk=stale.pk)
    with clock.frozen_at(kyiv(2021, 1, 25, 11, 0)):
        replies.add_entry(actor=Actor.of(olena), ticket=ticket, text="Готово.")
        update_ticket(actor=Actor.of(olena), ticket=ticket, change=TicketChange(status=TicketStatus.SOLVED))
    with clock.frozen_at(kyiv(2021, 1, 25, 12, 0)):
        record_inbound(stale, channel="email", text="А ще питання", now=clock.now())
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN  # opened again, with the clock that stood still going on
    assert ticket.sla_paused_at is None
    assert ticket.first_response_at == kyiv(2021, 1, 25, 11, 0)  # the answer given is not forgotten
    assert ticket.resolution_due == kyiv(2021, 1, 25, 18, 0)  # six working hours left, from noon


# --- recomputing running clocks after a policy or its calendar changed ----------------------------------


def test_a_changed_policy_recomputes_the_clocks_of_its_running_tickets_batch_by_batch(
    policy: SlaPolicy, olena: User, maria: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    actor = Actor.of(olena)
    waiting = _ticket_at(kyiv(2021, 1, 25, 9, 0))  # Monday: first response due 10:00, resolution 17:00
    answered = _ticket_at(kyiv(2021, 1, 25, 9, 0))
    pending = _ticket_at(kyiv(2021, 1, 25, 9, 0))
    solved = _ticket_at(kyiv(2021, 1, 25, 9, 0))
    with clock.frozen_at(kyiv(2021, 1, 25, 9, 20)):
        replies.add_entry(actor=actor, ticket=answered, text="Дивимося.")
        replies.add_entry(actor=actor, ticket=pending, text="Номер замовлення, будь ласка?")
        update_ticket(actor=actor, ticket=pending, change=TicketChange(status=TicketStatus.PENDING))
        update_ticket(actor=actor, ticket=solved, change=TicketChange(status=TicketStatus.SOLVED))
    solved.refresh_from_db()
    solved_before = (solved.first_response_due, solved.resolution_due)
    batches: list[int] = []
    real_batch = sla._recompute_batch

    def spy(ids: list[int], scope: Q) -> int:
        batches.append(len(ids))
        return real_batch(ids, scope)

    monkeypatch.setattr(sla, "_recompute_batch", spy)
    SlaPolicy.objects.filter(pk=policy.pk).update(first_response_minutes=120, resolution_minutes=600)
    policy.refresh_from_db()
    with clock.frozen_at(kyiv(2021, 1, 25, 9, 30)):
        # Two tickets' clocks move; the pending one was answered and stands still, so nothing moves.
        assert sla.recompute_running(policy, batch_size=2) == 2
    assert batches == [2, 1]  # never more than a batch at once; the solved ticket is not read
    for ticket in (waiting, answered, pending, solved):
        ticket.refresh_from_db()
    assert waiting.first_response_due == kyiv(2021, 1, 25, 11, 0)
    assert waiting.resolution_due == kyiv(2021, 1, 26, 10, 0)  # 9 hours on Monday, one on Tuesday
    assert waiting.first_response_warn_at == kyiv(2021, 1, 25, 10, 45)
    assert answered.first_response_due is None  # its clock stopped at the answer
    assert answered.resolution_due == kyiv(2021, 1, 26, 10, 0)
    assert pending.resolution_due is None  # pending on the customer: the clock stands still
    assert (solved.first_response_due, solved.resolution_due) == solved_before
    # The same again changes nothing.
    assert sla.recompute_running(policy) == 0


def test_recomputing_keeps_recorded_breaches_and_gives_a_warning_once_per_due_moment(
    policy: SlaPolicy, maria: Customer
) -> None:
    late = _ticket_at(kyiv(2021, 1, 25, 9, 0))
    warned = _ticket_at(kyiv(2021, 1, 25, 9, 30))  # first response due 10:30, warned at 10:15
    with clock.frozen_at(kyiv(2021, 1, 25, 10, 16)):
        result = sla.sweep()
    assert (result.warnings, result.breaches, result.to_supervisor) == (2, 1, 1)
    # The warning lead changes: the due moments stay where they were, and so do the given warnings.
    SlaPolicy.objects.filter(pk=policy.pk).update(warn_before_minutes=20)
    policy.refresh_from_db()
    with clock.frozen_at(kyiv(2021, 1, 25, 10, 17)):
        sla.recompute_running(policy)
        assert sla.sweep().warnings == 0
    warned.refresh_from_db()
    assert warned.first_response_due == kyiv(2021, 1, 25, 10, 30)
    assert warned.first_response_warn_at is None
    assert warned.resolution_warn_at == kyiv(2021, 1, 25, 17, 10)  # not given yet: 20 minutes ahead now
    # A longer target moves the due moments: the missed one stays missed, the other is warned of anew.
    SlaPolicy.objects.filter(pk=policy.pk).update(first_response_minutes=120)
    policy.refresh_from_db()
    with clock.frozen_at(kyiv(2021, 1, 25, 10, 20)):
        assert sla.recompute_running(policy) == 2
    late.refresh_from_db()
    warned.refresh_from_db()
    assert late.first_response_breached_at == kyiv(2021, 1, 25, 10, 0)
    assert late.escalation == Escalation.SUPERVISOR
    assert late.first_response_due == kyiv(2021, 1, 25, 11, 0)
    assert late.first_response_warn_at is None  # missed already: nothing to warn of
    assert warned.first_response_due == kyiv(2021, 1, 25, 11, 30)
    with clock.frozen_at(kyiv(2021, 1, 25, 11, 11)):
        result = sla.sweep()
    assert (result.warnings, result.breaches) == (1, 0)  # the moved clock, once; no second breach
    kinds = list(TicketEvent.objects.filter(ticket=late).values_list("kind", flat=True))
    assert kinds.count("sla_breach") == 1


def test_a_deactivated_policy_hands_its_running_tickets_to_the_next_that_matches(
    policy: SlaPolicy, maria: Customer
) -> None:
    around_the_clock = SlaPolicy.objects.create(
        name="24/7", rank=200, first_response_minutes=30, resolution_minutes=240
    )
    ticket = _ticket_at(kyiv(2021, 1, 22, 17, 30))  # Friday evening
    assert ticket.sla_policy == policy
    SlaPolicy.objects.filter(pk=policy.pk).update(active=False)
    policy.refresh_from_db()
    with clock.frozen_at(kyiv(2021, 1, 22, 17, 40)):
        assert sla.recompute_policies([policy.pk, 999_999]) == 1
        assert sla.recompute_running(policy) == 0  # nothing runs under it any more
    ticket.refresh_from_db()
    assert ticket.sla_policy == around_the_clock
    assert ticket.first_response_due == kyiv(2021, 1, 22, 18, 0)  # every minute counts


def test_a_new_policy_takes_the_running_tickets_it_matches_and_comes_first_for(
    policy: SlaPolicy, maria: Customer, oleh: Customer
) -> None:
    vip = Segment.objects.create(slug="vip", name="VIP")
    oleh.segments.add(vip)
    Identity.objects.create(customer=oleh, kind="email", value="oleh@example.com", created_at=oleh.created_at)
    ordinary = _ticket_at(kyiv(2021, 1, 25, 9, 0))  # first response due 10:00 under the standard policy
    with clock.frozen_at(kyiv(2021, 1, 25, 9, 0)):
        received = receive_email(mail(sender="oleh@example.com", subject="Рахунок").as_bytes())
    assert received.ticket_id is not None
    special = Ticket.objects.get(pk=received.ticket_id)
    assert special.sla_policy == policy
    faster = SlaPolicy.objects.create(
        name="VIP", rank=10, segment=vip, first_response_minutes=15, resolution_minutes=120
    )
    assert set(Ticket.objects.filter(sla.governed_by(faster)).values_list("pk", flat=True)) == {special.pk}
    with clock.frozen_at(kyiv(2021, 1, 25, 9, 5)):
        assert sla.recompute_running(faster) == 1
    special.refresh_from_db()
    ordinary.refresh_from_db()
    assert special.sla_policy == faster
    assert special.first_response_due == kyiv(2021, 1, 25, 9, 15)  # counted from when it opened
    assert ordinary.sla_policy == policy
    assert ordinary.first_response_due == kyiv(2021, 1, 25, 10, 0)
    # An inactive policy governs only what it held: it takes nothing, and what it held goes back.
    SlaPolicy.objects.filter(pk=faster.pk).update(active=False)
    faster.refresh_from_db()
    assert set(Ticket.objects.filter(sla.governed_by(faster)).values_list("pk", flat=True)) == {special.pk}
    with clock.frozen_at(kyiv(2021, 1, 25, 9, 6)):
        assert sla.recompute_running(faster) == 1
    special.refresh_from_db()
    assert (special.sla_policy, special.first_response_due) == (policy, kyiv(2021, 1, 25, 10, 0))


def test_a_changed_calendar_moves_the_due_times_of_tickets_counted_in_it(
    policy: SlaPolicy, maria: Customer
) -> None:
    ticket = _ticket_at(kyiv(2021, 1, 22, 17, 30))  # Friday evening: due Monday 9:30
    assert ticket.first_response_due == kyiv(2021, 1, 25, 9, 30)
    assert policy.calendar is not None
    BusinessCalendar.objects.filter(pk=policy.calendar.pk).update(hours={**OFFICE, "sat": ["10:00-15:00"]})
    policy.refresh_from_db()
    with clock.frozen_at(kyiv(2021, 1, 22, 18, 0)):
        assert sla.recompute_running(policy) == 1
    ticket.refresh_from_db()
    assert ticket.first_response_due == kyiv(2021, 1, 23, 10, 30)  # the office now opens on Saturdays
    assert ticket.head_office_due == kyiv(2021, 1, 25, 17, 30)  # two working days: Saturday and Monday


def test_a_sweep_records_no_breach_of_a_due_moment_that_moved_while_it_ran(
    policy: SlaPolicy, maria: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = [_ticket_at(kyiv(2021, 1, 25, 9, 0)) for _ in range(2)]  # first responses due 10:00
    first_breached: list[int] = []
    record = sla._event

    def and_meanwhile(ticket: Ticket, kind: str, now: datetime, **data: object) -> None:
        record(ticket, kind, now, **data)
        if kind == TicketEvent.Kind.SLA_BREACH and not first_breached:
            first_breached.append(ticket.pk)
            # A supervisor gives the policy more time while the sweep is still going through its list.
            SlaPolicy.objects.filter(pk=policy.pk).update(first_response_minutes=120)
            policy.refresh_from_db()
            sla.recompute_running(policy)

    monkeypatch.setattr(sla, "_event", and_meanwhile)
    with clock.frozen_at(kyiv(2021, 1, 25, 10, 5)):
        assert sla.sweep().breaches == 1
    late, spared = sorted(tickets, key=lambda t: t.pk != first_breached[0])
    late.refresh_from_db()
    spared.refresh_from_db()
    assert late.first_response_breached_at == kyiv(2021, 1, 25, 10, 0)  # recorded before the change
    assert spared.first_response_breached_at is None  # its clock runs to 11:00 now
    assert spared.first_response_due == kyiv(2021, 1, 25, 11, 0)
    assert spared.escalation == Escalation.NONE


def test_a_contact_answered_while_the_sweep_runs_does_not_go_to_head_office(
    policy: SlaPolicy, olena: User, maria: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tickets = [_ticket_at(kyiv(2021, 1, 22, 17, 30)) for _ in range(2)]  # head office due Tuesday 17:30
    first_sent: list[int] = []
    record = sla._event

    def and_meanwhile(ticket: Ticket, kind: str, now: datetime, **data: object) -> None:
        record(ticket, kind, now, **data)
        if data.get("level") == Escalation.HEAD_OFFICE and not first_sent:
            first_sent.append(ticket.pk)
            other = next(t for t in tickets if t.pk != ticket.pk)
            replies.add_entry(actor=Actor.of(olena), ticket=other, text="Вибачте, що так довго.")

    monkeypatch.setattr(sla, "_event", and_meanwhile)
    with clock.frozen_at(kyiv(2021, 1, 26, 17, 31)):
        assert sla.sweep().to_head_office == 1
    sent, answered = sorted(tickets, key=lambda t: t.pk != first_sent[0])
    sent.refresh_from_db()
    answered.refresh_from_db()
    assert sent.escalation == Escalation.HEAD_OFFICE
    assert answered.escalation == Escalation.SUPERVISOR  # its first response was missed, nothing more
    assert answered.head_office_due is None
