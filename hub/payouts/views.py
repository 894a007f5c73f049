"""Payouts as the API shows them: the whole payout, its batches and rejections, and each creditor."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from pydantic import BaseModel, Field

from hub.commands.kinds import CommandStatus


class PayoutStatus(StrEnum):
    PAYING = "paying"  # some transfer waits for its bank's report
    PAID = "paid"  # every creditor with a share was paid
    AWAITING_CORRECTION = "awaiting_correction"  # nothing waits, some transfers were rejected: the officer acts


class CreditorStatus(StrEnum):
    PENDING = "pending"
    SETTLED = "settled"
    REJECTED = "rejected"
    NOTHING_DUE = "nothing_due"  # the share rounded to 0 đồng: no transfer


class BatchView(BaseModel):
    batch_id: str = Field(description="The message's MsgId at the bank (its idempotency key).")
    round: int
    bank_bin: str = Field(description="The paying bank: the office's account there is debited.")
    debtor_account: str
    transfers: int
    amount_vnd: int
    command_id: uuid.UUID
    command_url: str
    status: CommandStatus = Field(description="The batch's command: acknowledged once the bank reported.")
    report_id: str | None = Field(None, description="The bank's status report (pain.002-like) id.")


class TransferOutcome(BaseModel):
    position: int = Field(description="The creditor's number: its place in the payout request, from 1.")
    name: str
    bank_bin: str
    account_number: str
    amount_vnd: int
    round: int
    status: CreditorStatus
    reason_code: str | None = Field(None, description="ISO 20022 reason of a rejection (AC01, AC04, BE01...), "
                                    "or the error code of a batch the bank refused whole.")
    reason: str | None = None
    bank_reference: str | None = Field(None, description="The bank's transaction id of a settled transfer.")


class CreditorView(TransferOutcome):
    claim_vnd: int
    share_vnd: int


class PayoutTotals(BaseModel):
    creditors: int
    settled: int = 0
    settled_vnd: int = 0
    rejected: int = 0
    rejected_vnd: int = 0
    pending: int = 0
    pending_vnd: int = 0
    nothing_due: int = 0


class PayoutSummary(BaseModel):
    id: uuid.UUID
    url: str
    case_ref: str
    decision_ref: str
    total_vnd: int
    claims_vnd: int
    status: PayoutStatus
    rounds: int = Field(description="1 for the payout; one more for each re-send of rejected transfers.")
    created_at: dt.datetime


class OfficeAccountView(BaseModel):
    bank_bin: str
    account_number: str


class PayoutView(PayoutSummary):
    officer: str
    purpose: str
    office_accounts: list[OfficeAccountView] = Field(description="The office's accounts the batches debit.")
    totals: PayoutTotals
    batches: list[BatchView]
    rejected: list[TransferOutcome] = Field(description="The creditors whose latest transfer was rejected: what "
                                            "the officer corrects before a re-send (POST .../resends).")


class CreditorPage(BaseModel):
    creditors: list[CreditorView]
    total: int
    offset: int
