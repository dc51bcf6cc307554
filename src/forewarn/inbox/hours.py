"""Business-hours arithmetic (pure): when a deadline of N working minutes or N working days falls, and how
many working minutes lie between two moments.

A calendar is a weekly timetable in one time zone (``09:00-18:00`` Monday to Friday, say) less the days it
is closed: the country's public holidays (from ``holidays``, with its subdivision) and dates of its own.
Times of day are wall-clock times in the calendar's zone, so a day on which clocks change is as long as it
really is, and "9 to 6" stays 9 to 6 on both sides of the change. Every moment in and out is aware UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays

DAY = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Ten years without a working minute: the timetable is empty or every day is closed.
SEARCH_LIMIT_DAYS = 3660

Interval = tuple[int, int]  # minutes from midnight, end exclusive (up to 1440)


class CalendarError(ValueError):
    pass


def parse_hours(week: dict[str, list[str]]) -> dict[int, tuple[Interval, ...]]:
    """``{"mon": ["09:00-13:00", "14:00-18:00"], ...}`` as minutes per weekday (0 is Monday)."""
    out: dict[int, tuple[Interval, ...]] = {}
    for name, spans in week.items():
        if name not in WEEKDAYS:
            raise CalendarError(f"{name!r} is not a weekday (use {', '.join(WEEKDAYS)})")
        intervals = []
        for span in spans:
            try:
                start_text, end_text = span.split("-")
                start, end = _minutes(start_text), _minutes(end_text)
            except ValueError as exc:
                raise CalendarError(f"{span!r} is not a span such as 09:00-18:00") from exc
            if not 0 <= start < end <= DAY:
                raise CalendarError(f"{span!r} does not run forwards within one day")
            intervals.append((start, end))
        intervals.sort()
        if any(a[1] > b[0] for a, b in pairwise(intervals)):
            raise CalendarError(f"the spans of {name} overlap")
        out[WEEKDAYS.index(name)] = tuple(intervals)
    return out


def _minutes(text: str) -> int:
    hours, _sep, minutes = text.strip().partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= DAY or (value == DAY and text.strip() != "24:00"):
        raise ValueError(text)
    return value


@cache
def _country(country: str, subdivision: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision or None)


def public_holidays(country: str, subdivision: str = "") -> Callable[[date], bool]:
    """Whether a date is a public holiday there, days off moved by law included (``holidays`` fills in
    each year as it is asked)."""
    return _country(country, subdivision).__contains__


def moved_workdays(country: str, subdivision: str = "") -> Callable[[date], bool]:
    """Whether a date is a weekend day worked instead of a day off (Ukraine's Saturday 16 January 2021
    for Friday the 8th), for countries ``holidays`` knows them of."""
    calendar = _country(country, subdivision)

    def worked(day: date) -> bool:
        _loaded = day in calendar  # fills in the day's year, its moved working days with it
        return day in calendar.weekend_workdays

    return worked


def _never(_day: date) -> bool:
    return False


@dataclass(frozen=True)
class Calendar:
    zone: ZoneInfo
    week: dict[int, tuple[Interval, ...]]
    closed_dates: frozenset[date] = frozenset()
    is_holiday: Callable[[date], bool] = field(default=_never)
    # A weekend day worked instead of a day off, with the hours of the first working weekday.
    is_moved_workday: Callable[[date], bool] = field(default=_never)

    @classmethod
    def always(cls) -> Calendar:
        """Every minute counts (24/7 support)."""
        return cls(ZoneInfo("UTC"), dict.fromkeys(range(7), ((0, DAY),)))

    def _hours(self, day: date) -> tuple[Interval, ...]:
        if day in self.closed_dates or self.is_holiday(day):
            return ()
        hours = self.week.get(day.weekday(), ())
        if not hours and self.is_moved_workday(day):
            hours = next((self.week[d] for d in range(7) if self.week.get(d)), ())
        return hours

    def is_working_day(self, day: date) -> bool:
        return bool(self._hours(day))

    def spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working spans of one local date, as UTC moments."""
        return [(self._at(day, start), self._at(day, end)) for start, end in self._hours(day)]

    def _at(self, day: date, minute: int) -> datetime:
        if minute >= DAY:
            day, minute = day + timedelta(days=1), minute - DAY
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    def _spans_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working spans from the day of ``moment`` on, clipped to start no earlier than it."""
        day = moment.astimezone(self.zone).date() - timedelta(days=1)  # a span may run past midnight
        for _ in range(SEARCH_LIMIT_DAYS):
            for start, end in self.spans(day):
                if end > moment:
                    yield max(start, moment), end
            day += timedelta(days=1)
        raise CalendarError("this calendar has no working time in ten years")

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment ``minutes`` working minutes after ``start``."""
        left = timedelta(minutes=minutes)
        if left <= timedelta(0):
            return self.next_open(start)
        for span_start, span_end in self._spans_from(start):
            length = span_end - span_start
            if left <= length:
                return span_start + left
            left -= length
        raise AssertionError("unreachable: _spans_from ends by raising")

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` if it is working time, else when working time next begins."""
        return next(self._spans_from(moment))[0]

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Working minutes from ``start`` to ``end`` (negative when ``end`` comes first)."""
        if end < start:
            return -self.minutes_between(end, start)
        total = timedelta(0)
        for span_start, span_end in self._spans_from(start):
            if span_start >= end:
                break
            total += min(span_end, end) - span_start
        return total.total_seconds() / 60

    def add_days(self, start: datetime, days: int) -> datetime:
        """``days`` working days after ``start``: the same working minute of the day, that many working
        days on (a message written at Friday 17:00 is two working days old on Tuesday at 17:00)."""
        begin = self.next_open(start)
        local_day = begin.astimezone(self.zone).date()
        into_day = self.minutes_between(self.spans(local_day)[0][0], begin) if self.spans(local_day) else 0
        day, counted = local_day, 0
        for _ in range(SEARCH_LIMIT_DAYS):
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
                if counted == days:
                    return self.add(self.spans(day)[0][0], into_day)
        raise CalendarError("this calendar has no working time in ten years")
