"""The working calendar of the enforcement offices: weekends, public holidays, make-up working days.

Holiday data is configuration (``holidays_vn.toml``), because the government fixes the days off year by
year; this module only does the arithmetic, and refuses a year it has no data for rather than guess.
"""

from __future__ import annotations

import calendar as _gregorian
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.deadlines.toml_data import load_model
from hub.errors import InvalidValue

Status = Literal["confirmed", "believed", "open"]
"""How sure a piece of legal data is, with the marks of DOMAIN.md."""

_STATUS_RANK: dict[Status, int] = {"confirmed": 0, "believed": 1, "open": 2}

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAYS: tuple[Weekday, ...] = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)

PACKAGED_CALENDAR = "holidays_vn.toml"


def weakest_status(*statuses: Status) -> Status:
    """A result is only as sure as the least sure datum it was computed from."""
    return max(statuses, key=_STATUS_RANK.__getitem__, default="confirmed")


def add_months(start: dt.date, months: int) -> dt.date:
    """``start`` plus ``months``, clamped to the end of a shorter month (31/01 + 1 -> 28 or 29/02).

    The clamp follows Civil Code 2015 art. 148(3): a period in months whose last month has no
    corresponding day ends on that month's last day.
    """
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    last_day = _gregorian.monthrange(year, month)[1]
    return dt.date(year, month, min(start.day, last_day))


class MakeUpDay(BaseModel):
    """A weekly rest day declared a working day (làm bù) in exchange for a day off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    name: str = Field(min_length=1)


class DayOff(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    name: str = Field(min_length=1)
    kind: Literal["holiday", "compensatory", "swap"] = "holiday"


class CalendarYear(BaseModel):
    """One year of holiday data, as announced (or estimated, then ``status`` says so)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int = Field(ge=1900, le=2999)
    status: Status
    source: str = ""
    days_off: tuple[DayOff, ...]
    working_days: tuple[MakeUpDay, ...] = ()

    @model_validator(mode="after")
    def _dates_belong_to_the_year(self) -> CalendarYear:
        days: list[dt.date] = [d.date for d in self.days_off] + [d.date for d in self.working_days]
        stray = sorted(d for d in days if d.year != self.year)
        if stray:
            raise ValueError(f"dates {', '.join(map(str, stray))} are listed under year {self.year}")
        twice = sorted(d for d, count in Counter(days).items() if count > 1)
        if twice:
            # Covers both a day listed twice and a day that is at once a day off and a working day.
            raise ValueError(f"dates listed more than once in {self.year}: {', '.join(map(str, twice))}")
        return self


class CalendarData(BaseModel):
    """The whole content of a calendar file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekend: tuple[Weekday, ...]
    year: tuple[CalendarYear, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> CalendarData:
        years = [y.year for y in self.year]
        if len(set(years)) != len(years):
            raise ValueError(f"a year is described more than once: {sorted(years)}")
        weekend = {_WEEKDAYS.index(name) for name in self.weekend}
        for year in self.year:
            for day in year.working_days:
                # A make-up day only makes sense on a rest day; anything else is a typo in the date.
                if day.date.weekday() not in weekend:
                    raise ValueError(f"make-up working day {day.date} ({day.name}) is not a weekend day")
        return self


class WorkingCalendar:
    """Answers "is this a working day" for the years it has data for, and counts on that basis."""

    def __init__(self, data: CalendarData) -> None:
        self._weekend = frozenset(_WEEKDAYS.index(name) for name in data.weekend)
        self._years = {y.year: y for y in data.year}
        self._days_off = {d.date: d for y in data.year for d in y.days_off}
        self._make_up = {d.date: d.name for y in data.year for d in y.working_days}

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted(self._years))

    def year_status(self, year: int) -> Status:
        return self._year(year).status

    def status_between(self, first: dt.date, last: dt.date) -> Status:
        """The weakest data status over the years from ``first`` to ``last`` inclusive."""
        lo, hi = sorted((first.year, last.year))
        return weakest_status(*(self.year_status(y) for y in range(lo, hi + 1)))

    def day_off(self, day: dt.date) -> DayOff | None:
        """The holiday, compensatory or swapped day off listed for ``day``, if any."""
        return self._days_off.get(day)

    def is_working_day(self, day: dt.date) -> bool:
        self._year(day.year)
        if day in self._make_up:
            return True
        if day in self._days_off:
            return False
        return day.weekday() not in self._weekend

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The day on which ``n`` working days have passed since ``start``.

        The count starts the day after ``start`` (Vietnamese practice, Civil Code 2015 art. 147(1):
        the day of the event is not counted), so the start itself never counts, working day or not.
        """
        if n < 0:
            raise InvalidValue(f"cannot add a negative number of working days ({n})",
                               code="REQUEST_INVALID", rule="working_days_negative")
        day, left = start, n
        while left:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, a: dt.date, b: dt.date) -> int:
        """Working days in (a, b]; negative when ``b`` is before ``a``.

        Counted like ``add_working_days``, so ``working_days_between(s, add_working_days(s, n)) == n``.
        """
        if b < a:
            return -self.working_days_between(b, a)
        return sum(1 for day in _days_after(a, b) if self.is_working_day(day))

    def roll_forward(self, last_day: dt.date) -> dt.date:
        """Where a period ending on ``last_day`` really ends: the first working day on or after it.

        Assumed rule: Civil Code 2015 art. 148(5), "when the last day of a period is a weekly rest
        day or a public holiday, the period ends at the end of the next working day". We read the
        enforcement law as deferring to the Civil Code for reckoning periods; confirm with the
        ministry's legal department before relying on it in a dispute.
        """
        day = last_day
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def _year(self, year: int) -> CalendarYear:
        try:
            return self._years[year]
        except KeyError:
            span = f"{min(self._years)}-{max(self._years)}" if self._years else "no year"
            raise InvalidValue(
                f"the working calendar has no public-holiday data for {year} (it covers {span}); "
                f"add {year} to the calendar file from the government's announcement",
                code="DATE_INVALID", rule="calendar_year_unknown", year=year,
            ) from None


def _days_after(a: dt.date, b: dt.date) -> Iterator[dt.date]:
    day = a
    while day < b:
        day += dt.timedelta(days=1)
        yield day


def load_calendar(path: Path | None = None) -> WorkingCalendar:
    """The calendar in ``path``, or the one shipped with the package when ``path`` is None."""
    if path is None:
        return _packaged_calendar()
    return WorkingCalendar(load_model(CalendarData, path, PACKAGED_CALENDAR, rule="calendar_file_invalid"))


@cache
def _packaged_calendar() -> WorkingCalendar:
    # Safe to share: a WorkingCalendar offers no way to change it after construction.
    return WorkingCalendar(load_model(CalendarData, None, PACKAGED_CALENDAR, rule="calendar_file_invalid"))
