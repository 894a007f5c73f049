"""The packaged holiday data against the breaks as announced: a second entry of the same facts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.deadlines import WorkingCalendar

# (first day off, last day off) of each announced break, weekends included.
ANNOUNCED_BREAKS = [
    (date(2025, 1, 1), date(2025, 1, 1)),
    (date(2025, 1, 25), date(2025, 2, 2)),
    (date(2025, 4, 5), date(2025, 4, 7)),
    (date(2025, 4, 30), date(2025, 5, 4)),
    (date(2025, 8, 30), date(2025, 9, 2)),
    (date(2026, 1, 1), date(2026, 1, 4)),
    (date(2026, 2, 14), date(2026, 2, 22)),
    (date(2026, 4, 25), date(2026, 4, 27)),
    (date(2026, 4, 30), date(2026, 5, 3)),
    (date(2026, 8, 29), date(2026, 9, 2)),
]


@pytest.mark.parametrize(("first", "last"), ANNOUNCED_BREAKS, ids=lambda d: d.isoformat())
def test_announced_break_is_off_and_bounded_by_working_days(
    vn: WorkingCalendar, first: date, last: date,
) -> None:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    assert not any(vn.is_working_day(d) for d in days)
    if first.year - 1 in vn.years or first.month > 1 or first.day > 1:
        assert vn.is_working_day(first - timedelta(days=1))
    assert vn.is_working_day(last + timedelta(days=1))


@pytest.mark.parametrize("day", [date(2025, 4, 26), date(2026, 1, 10), date(2026, 8, 22)])
def test_announced_make_up_saturdays_are_working_days(vn: WorkingCalendar, day: date) -> None:
    assert day.weekday() == 5
    assert vn.is_working_day(day)


def test_each_known_year_has_its_eleven_statutory_holidays(vn: WorkingCalendar) -> None:
    # Labour Code art. 112(1): 1 + 5 + 1 + 1 + 1 + 2 days; swaps and compensatory days come on top.
    for year in vn.years:
        days = (date(year, 1, 1) + timedelta(days=i) for i in range(366))
        entries = [vn.day_off(d) for d in days if d.year == year]
        holidays = [e.date for e in entries if e is not None and e.kind == "holiday"]
        assert len(holidays) == 11, (year, holidays)
