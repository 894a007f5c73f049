"""Working-day arithmetic, with examples counted by hand on a paper calendar."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hub.deadlines import WorkingCalendar, add_months, load_calendar
from hub.errors import InvalidValue


def test_tet_2026_break_is_nine_days_off_from_14_to_22_february(vn: WorkingCalendar) -> None:
    assert vn.is_working_day(date(2026, 2, 13))
    assert not any(vn.is_working_day(date(2026, 2, d)) for d in range(14, 23))
    assert vn.is_working_day(date(2026, 2, 23))
    tet = vn.day_off(date(2026, 2, 17))
    assert tet is not None
    assert (tet.name, tet.kind) == ("Tết Nguyên đán", "holiday")


def test_five_working_days_from_thursday_before_tet_2026_jump_the_break(vn: WorkingCalendar) -> None:
    # Fri 13/02 is day 1; 14-22/02 are off; Mon 23 .. Thu 26/02 are days 2-5.
    assert vn.add_working_days(date(2026, 2, 12), 5) == date(2026, 2, 26)


def test_counting_starts_the_day_after_the_start(vn: WorkingCalendar) -> None:
    assert vn.add_working_days(date(2026, 3, 2), 1) == date(2026, 3, 3)
    assert vn.add_working_days(date(2026, 3, 2), 0) == date(2026, 3, 2)


def test_only_one_working_day_lies_between_the_eve_and_the_end_of_tet_2026(vn: WorkingCalendar) -> None:
    assert vn.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1
    assert vn.working_days_between(date(2026, 2, 23), date(2026, 2, 13)) == -1
    assert vn.working_days_between(date(2026, 2, 16), date(2026, 2, 16)) == 0


def test_make_up_saturday_counts_and_swapped_friday_does_not_in_the_2025_april_may_cluster(
    vn: WorkingCalendar,
) -> None:
    # From Fri 25/04/2025: Sat 26/04 is a make-up working day (1), Mon 28 (2), Tue 29 (3);
    # 30/04, 01/05 holidays, Fri 02/05 swapped off, weekend; Mon 05/05 (4), Tue 06/05 (5).
    assert vn.is_working_day(date(2025, 4, 26))
    assert not vn.is_working_day(date(2025, 5, 2))
    assert vn.add_working_days(date(2025, 4, 25), 5) == date(2025, 5, 6)


def test_hung_kings_day_on_sunday_2026_gives_monday_off_before_the_30_april_cluster(
    vn: WorkingCalendar,
) -> None:
    # From Thu 23/04/2026: Fri 24 (1); 25-27 off (Giỗ Tổ Sunday, compensatory Monday); Tue 28 (2),
    # Wed 29 (3); 30/04-03/05 off; Mon 04/05 (4), Tue 05/05 (5).
    assert not vn.is_working_day(date(2026, 4, 27))
    assert vn.add_working_days(date(2026, 4, 23), 5) == date(2026, 5, 5)


def test_new_year_2026_swap_friday_off_and_saturday_10_january_worked(vn: WorkingCalendar) -> None:
    assert not vn.is_working_day(date(2026, 1, 2))
    assert vn.is_working_day(date(2026, 1, 10))
    # From Wed 31/12/2025: 1/1 holiday, 2/1 swapped, weekend; Mon 5/1 is day 1.
    assert vn.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 5)


def test_a_weekend_last_day_rolls_forward_to_monday(vn: WorkingCalendar) -> None:
    assert vn.roll_forward(date(2025, 6, 14)) == date(2025, 6, 16)
    assert vn.roll_forward(date(2025, 6, 16)) == date(2025, 6, 16)


def test_a_last_day_inside_a_holiday_rolls_past_the_whole_break(vn: WorkingCalendar) -> None:
    assert vn.roll_forward(date(2026, 4, 30)) == date(2026, 5, 4)
    assert vn.roll_forward(date(2026, 8, 29)) == date(2026, 9, 3)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 31), 6, date(2026, 9, 30)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2026, 1, 15), 12, date(2027, 1, 15)),
        (date(2024, 2, 29), 60, date(2029, 2, 28)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
    ],
)
def test_months_add_with_end_of_month_clamping(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_a_year_without_holiday_data_is_refused_not_assumed_free(vn: WorkingCalendar) -> None:
    for day in (date(2028, 1, 3), date(2024, 12, 31)):
        with pytest.raises(InvalidValue) as caught:
            vn.is_working_day(day)
        assert caught.value.code == "DATE_INVALID"
        assert caught.value.rule == "calendar_year_unknown"
        assert caught.value.extra["year"] == day.year


def test_counting_into_an_unknown_year_is_refused(vn: WorkingCalendar) -> None:
    with pytest.raises(InvalidValue) as caught:
        vn.add_working_days(date(2027, 12, 28), 5)
    assert caught.value.rule == "calendar_year_unknown"


def test_a_negative_count_of_working_days_is_refused(vn: WorkingCalendar) -> None:
    with pytest.raises(InvalidValue) as caught:
        vn.add_working_days(date(2026, 3, 2), -1)
    assert (caught.value.code, caught.value.rule) == ("REQUEST_INVALID", "working_days_negative")


def test_each_year_carries_how_sure_its_data_is(vn: WorkingCalendar) -> None:
    assert vn.years == (2025, 2026, 2027)
    assert vn.year_status(2026) == "confirmed"
    assert vn.year_status(2027) == "open"
    assert vn.status_between(date(2026, 12, 1), date(2027, 1, 5)) == "open"


SIX_DAY_WEEK = """
weekend = ["sunday"]

[[year]]
year = 2026
status = "confirmed"
days_off = [{ date = 2026-03-10, name = "Local holiday" }]
working_days = []
"""


def test_a_deployment_can_load_its_own_calendar(tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(SIX_DAY_WEEK, encoding="utf-8")
    calendar = load_calendar(path)
    assert calendar.is_working_day(date(2026, 3, 7))  # a Saturday
    # From Mon 09/03: Tue 10 is the local holiday; Wed 11 (1), Thu (2), Fri (3), Sat 14 (4).
    assert calendar.add_working_days(date(2026, 3, 9), 4) == date(2026, 3, 14)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (SIX_DAY_WEEK.replace('"sunday"', '"sundae"'), "weekend.0"),
        (SIX_DAY_WEEK.replace("2026-03-10", "2025-03-10"), "listed under year 2026"),
        (SIX_DAY_WEEK.replace("working_days = []",
                              'working_days = [{ date = 2026-03-10, name = "x" }]'), "more than once"),
        (SIX_DAY_WEEK.replace("working_days = []",
                              'working_days = [{ date = 2026-03-11, name = "x" }]'), "not a weekend day"),
        (SIX_DAY_WEEK + SIX_DAY_WEEK[SIX_DAY_WEEK.index("[[year]]"):], "more than once"),
        (SIX_DAY_WEEK.replace('status = "confirmed"', 'status = "sure"'), "year.0.status"),
        ("weekend = [", "not valid TOML"),
    ],
)
def test_a_broken_calendar_file_is_refused_at_load_saying_where(
    tmp_path: Path, text: str, complaint: str,
) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidValue) as caught:
        load_calendar(path)
    assert (caught.value.code, caught.value.rule) == ("REQUEST_INVALID", "calendar_file_invalid")
    assert str(path) in caught.value.detail
    assert complaint in caught.value.detail


def test_a_missing_calendar_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidValue) as caught:
        load_calendar(tmp_path / "absent.toml")
    assert caught.value.rule == "calendar_file_invalid"
