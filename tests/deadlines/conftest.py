from __future__ import annotations

import pytest

from hub.deadlines import WorkingCalendar, load_calendar


@pytest.fixture(scope="session")
def vn() -> WorkingCalendar:
    """The packaged Vietnamese calendar: the examples below were counted by hand against it."""
    return load_calendar()
