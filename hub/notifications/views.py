"""Notifications as the API shows them: a summary in lists (with counts), the whole story by id."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from hub.commands.views import CommandSummary
from hub.deadlines import Status
from hub.model.notification import DeliveryStatus, NotificationChannel
from hub.notifications.state import DeadlineState, NotificationStatus


class DeadlineView(BaseModel):
    rule_id: str
    start: dt.date = Field(description="The day the document was issued (the count starts the next day).")
    due_by: dt.date = Field(description="The last day on which the notification is in time (working days, "
                            "holidays skipped).")
    basis: str
    status: Status = Field(description="How sure the legal rule is for this start date.")
    calendar_status: Status = Field(description="How sure the holiday data used is.")
    state: DeadlineState
    days_left: int = Field(description="Calendar days from today (Vietnam) to the due day: negative once past.")


class EventView(BaseModel):
    at: dt.datetime
    channel: NotificationChannel
    status: DeliveryStatus
    source: str = Field(description="Who said it: postal (pushed), vneid (its answer), hub (a refusal, a failure).")
    sequence: int | None = Field(None, description="The step of the letter's journey, as the operator numbers it.")
    reason: str | None = None
    effect: str = Field(description="applied, or stale: it changed nothing (late, out of order, after the end).")
    received_at: dt.datetime


class NotificationSummary(BaseModel):
    id: uuid.UUID
    url: str
    reference: str = Field(description="The hub's reference of it at VNeID and VNPost.")
    case_ref: str
    document_ref: str
    document_kind: str
    recipient_name: str
    mode: str = Field(description="The channel policy applied (policy.toml): vneid_else_postal, postal...")
    channels: list[NotificationChannel] = Field(description="The channels tried, in order.")
    status: NotificationStatus
    channel: NotificationChannel | None = Field(None, description="The channel that delivered it, or returned it.")
    tracking_number: str | None = Field(None, description="The registered letter's UPU S10 number.")
    delivered_at: dt.datetime | None = None
    returned_reason: str | None = None
    due_by: dt.date
    deadline_state: DeadlineState


class NotificationView(NotificationSummary):
    officer: str
    purpose: str
    deadline: DeadlineView
    events: list[EventView]
    commands: list[CommandSummary] = Field(description="The channels' commands (GET /v1/commands/{id}: their "
                                           "history at the agency).")
    created_at: dt.datetime
    updated_at: dt.datetime


class NotificationCounts(BaseModel):
    total: int = 0
    queued: int = 0
    in_transit: int = 0
    delivered: int = 0
    returned: int = 0
    failed: int = 0
    deadline_open: int = 0
    deadline_met: int = 0
    deadline_missed: int = 0


class NotificationList(BaseModel):
    notifications: list[NotificationSummary]
    counts: NotificationCounts
