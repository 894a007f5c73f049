"""Legal deadlines of enforcement: rules as data, and a working-day calendar to compute them.

The CLI sub-app lives in ``hub.deadlines.cli`` (``deadlines_app``) and is not imported here, so the
domain package does not pull in typer and rich.
"""

from hub.deadlines.calendar import (
    CalendarData,
    CalendarYear,
    DayOff,
    MakeUpDay,
    Status,
    WorkingCalendar,
    add_months,
    load_calendar,
)
from hub.deadlines.rules import Deadline, DeadlineRule, Unit, compute_deadline, load_rules

__all__ = [
    "CalendarData",
    "CalendarYear",
    "DayOff",
    "Deadline",
    "DeadlineRule",
    "MakeUpDay",
    "Status",
    "Unit",
    "WorkingCalendar",
    "add_months",
    "compute_deadline",
    "load_calendar",
    "load_rules",
]
