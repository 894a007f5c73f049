"""Properties of working-day counting that every calendar must keep."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from hub.deadlines import load_calendar

VN = load_calendar()
# Late enough that 120 working days from any start stay inside the data (2025-2027).
starts = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 6, 30))


@given(start=starts, n=st.integers(min_value=1, max_value=120))
def test_adding_working_days_lands_on_a_working_day_and_counts_back_to_n(start: date, n: int) -> None:
    result = VN.add_working_days(start, n)
    assert VN.is_working_day(result)
    assert VN.working_days_between(start, result) == n


@given(a=starts, b=starts)
def test_counting_backwards_is_the_negative_of_counting_forwards(a: date, b: date) -> None:
    assert VN.working_days_between(a, b) == -VN.working_days_between(b, a)


@given(day=starts)
def test_rolling_forward_reaches_the_first_working_day_on_or_after(day: date) -> None:
    rolled = VN.roll_forward(day)
    assert VN.is_working_day(rolled)
    assert rolled >= day
    assert not any(VN.is_working_day(day + timedelta(days=i)) for i in range((rolled - day).days))
