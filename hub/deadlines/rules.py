"""Deadline rules (data from ``rules.toml``) and the computation of a concrete deadline from one."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.deadlines.calendar import Status, WorkingCalendar, add_months
from hub.deadlines.toml_data import load_model
from hub.errors import InvalidValue

PACKAGED_RULES = "rules.toml"

_SNAKE_CASE = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"


class Unit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    MONTHS = "months"
    YEARS = "years"


class DeadlineRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_SNAKE_CASE)
    term_vi: str = Field(min_length=1)
    description: str = Field(min_length=1)
    start_event: str = Field(pattern=_SNAKE_CASE)
    amount: int = Field(gt=0)
    unit: Unit
    basis: str = Field(min_length=1)
    basis_in_force_until: dt.date | None = None
    status: Status
    note: str = ""

    def status_for(self, start: dt.date) -> Status:
        # Past the basis's last day the law that governs the period is another one, whose figures
        # may differ: the number is still useful, but nobody may treat it as confirmed.
        if self.basis_in_force_until is not None and start > self.basis_in_force_until:
            return "open"
        return self.status


class _RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: tuple[DeadlineRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_unique(self) -> _RulesFile:
        twice = sorted(i for i, n in Counter(r.id for r in self.rule).items() if n > 1)
        if twice:
            raise ValueError(f"rule ids defined more than once: {', '.join(twice)}")
        return self


class Deadline(BaseModel):
    """A deadline computed for one start date; ``due`` is the last day on which the act is in time."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    start: dt.date
    due: dt.date
    nominal_due: dt.date = Field(description="The period's last day before moving off a non-working day.")
    unit: Unit
    amount: int
    basis: str
    status: Status = Field(description="How sure the legal rule is for this start date.")
    calendar_status: Status = Field(description="How sure the holiday data used is.")

    @property
    def moved(self) -> bool:
        return self.due != self.nominal_due

    def days_left(self, today: dt.date) -> int:
        """Calendar days from ``today`` to ``due``: 0 on the last day, negative once overdue."""
        return (self.due - today).days


def load_rules(path: Path | None = None) -> dict[str, DeadlineRule]:
    """The rules in ``path``, or those shipped with the package when ``path`` is None."""
    if path is None:
        return dict(_packaged_rules())
    return _index(load_model(_RulesFile, path, PACKAGED_RULES, rule="deadline_rules_invalid"))


@cache
def _packaged_rules() -> Mapping[str, DeadlineRule]:
    return _index(load_model(_RulesFile, None, PACKAGED_RULES, rule="deadline_rules_invalid"))


def _index(data: _RulesFile) -> dict[str, DeadlineRule]:
    return {r.id: r for r in data.rule}


def compute_deadline(rule_id: str, start: dt.date, calendar: WorkingCalendar, *,
                     rules: Mapping[str, DeadlineRule] | None = None) -> Deadline:
    """The deadline of ``rule_id`` for a period starting on ``start``.

    ``rules`` defaults to the packaged rules; a deployment passes the result of ``load_rules(path)``.
    """
    table = _packaged_rules() if rules is None else rules
    rule = table.get(rule_id)
    if rule is None:
        raise InvalidValue(f"unknown deadline rule {rule_id!r}; known rules: {', '.join(sorted(table))}",
                           code="REQUEST_INVALID", rule="deadline_rule_unknown")

    if rule.unit is Unit.WORKING_DAYS:
        due = nominal = calendar.add_working_days(start, rule.amount)
        consulted_from = start + dt.timedelta(days=1)
    else:
        if rule.unit is Unit.CALENDAR_DAYS:
            nominal = start + dt.timedelta(days=rule.amount)
        elif rule.unit is Unit.MONTHS:
            nominal = add_months(start, rule.amount)
        else:
            # Civil Code art. 148(4) ends a period in years on the corresponding day; 29/02 has
            # none in a common year, so the month-end clamp of art. 148(3) is applied as well.
            nominal = add_months(start, 12 * rule.amount)
        consulted_from = nominal
        try:
            due = calendar.roll_forward(nominal)
        except InvalidValue as exc:
            if exc.rule != "calendar_year_unknown":
                raise
            # Say which date was asked about: for a 5-year limit the caller cannot guess it.
            raise InvalidValue(f"{rule_id}: the period's last day is {nominal.isoformat()}, but "
                               f"{exc.detail}", code=exc.code, rule=exc.rule,
                               nominal_due=nominal.isoformat(), **exc.extra) from exc

    return Deadline(
        rule_id=rule.id, start=start, due=due, nominal_due=nominal, unit=rule.unit,
        amount=rule.amount, basis=rule.basis, status=rule.status_for(start),
        calendar_status=calendar.status_between(consulted_from, due),
    )
