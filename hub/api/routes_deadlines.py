"""Legal deadlines over the API: the same rules and calendar as `thads-hub deadlines`."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from hub.api.problems import problem_responses
from hub.deadlines import Deadline, DeadlineRule, WorkingCalendar, compute_deadline, load_calendar, load_rules

router = APIRouter(prefix="/v1/deadlines", tags=["deadlines"])


@cache
def _calendar(path: Path | None) -> WorkingCalendar:
    return load_calendar(path)


class DeadlineQuery(BaseModel):
    rule: str = Field(description="Rule id, e.g. enforcement_decision (GET /v1/deadlines/rules lists them).",
                      examples=["enforcement_decision"])
    start: date = Field(description="The day of the start event (the count starts the next day).")


@router.get("/rules", summary="The legal deadline rules, with their legal basis and how sure they are")
def rules() -> list[DeadlineRule]:
    return list(load_rules().values())


@router.post(":compute", summary="Compute a legal deadline on the working-day calendar",
             responses=problem_responses("REQUEST_INVALID", "DATE_INVALID"))
def compute(body: DeadlineQuery, request: Request) -> Deadline:
    calendar = _calendar(request.app.state.services.settings.holidays_file)
    return compute_deadline(body.rule, body.start, calendar)
