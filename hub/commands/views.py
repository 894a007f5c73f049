"""Commands as the API shows them: a summary in lists, the whole story by id."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from hub.commands.kinds import CommandKind, CommandStatus


class CommandSummary(BaseModel):
    id: uuid.UUID
    kind: CommandKind
    agency: str = Field(description="The agency that acts: bank-<BIN>, land, procuracy.")
    target: str = Field(description="What it acts on: the account number, the certificate serial, or the "
                        "document id of a decision sent to the procuracy.")
    case_ref: str
    decision_ref: str
    status: CommandStatus
    agency_ref: str | None = Field(None, description="The agency's own number of the act, once acknowledged.")
    linked_to: uuid.UUID | None = Field(None, description="A freeze: the command carrying the copy of its "
                                        "decision to the procuracy.")
    url: str


class HistoryEntry(BaseModel):
    at: dt.datetime
    status: CommandStatus | Literal["confirmed"] = Field(description="The status the command moved to; or "
                                                         "'confirmed': the agency confirmed the act later by an "
                                                         "event it pushed (a bank's freeze confirmation), "
                                                         "its event id in agency_ref.")
    attempt: int | None = None
    agency_ref: str | None = None
    error_code: str | None = None
    detail: str | None = None


class CommandError(BaseModel):
    code: str = Field(description="The error code (GET /v1/errors); an agency's refusal names its own code "
                      "in detail.")
    detail: str


class CommandView(CommandSummary):
    officer: str
    purpose: str
    attempts: int = Field(description="Deliveries to the agency so far.")
    receipt: dict[str, Any] | None = Field(None, description="The agency's receipt: reference, time, details.")
    error: CommandError | None = Field(None, description="Why it failed or was dead-lettered (or why its last "
                                       "attempt failed while it waits for the next).")
    copy_of: list[uuid.UUID] = Field(default_factory=list, description="A copy to the procuracy: the freezes "
                                     "whose decision it carries.")
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None
    history: list[HistoryEntry]


class CommandsAccepted(BaseModel):
    commands: list[CommandSummary] = Field(description="One per agency and target, in the order asked; a freeze "
                                           "ends with the copy of its decision to the procuracy.")
