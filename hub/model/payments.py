"""Money moving through the enforcement office's account, and the receipts it issues."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID, uuid4

from pydantic import Field

from hub.model.assets import AccountNumber, BankBin
from hub.model.base import CanonicalModel, Extensions, ShortText, UtcDatetime
from hub.model.money import Vnd


class PaymentDirection(StrEnum):
    INCOMING = "incoming"  # a debtor pays into the office's account (thu tiền)
    PAYOUT = "payout"  # the office pays a creditor (chi trả)


class PaymentStatus(StrEnum):
    PENDING = "pending"
    SETTLED = "settled"
    REJECTED = "rejected"


class Payment(CanonicalModel):
    id: UUID = Field(default_factory=uuid4)
    case_id: UUID | None = None
    direction: PaymentDirection
    amount_vnd: Vnd = Field(gt=0)
    counterparty_name: ShortText
    bank_bin: BankBin
    account_number: AccountNumber
    reference: ShortText = Field(description="Payment reference (nội dung chuyển khoản) / end-to-end id.")
    status: PaymentStatus = PaymentStatus.PENDING
    at: UtcDatetime
    reject_reason: ShortText | None = None
    extensions: Extensions = Field(default_factory=dict)


class Receipt(CanonicalModel):
    """Biên lai thu tiền điện tử: numbered automatically within a series, digitally signed."""

    id: UUID = Field(default_factory=uuid4)
    series: ShortText = Field(description="Ký hiệu biên lai.")
    number: int = Field(ge=1, description="Số biên lai, sequential within the series.")
    payment_id: UUID
    amount_vnd: Vnd = Field(gt=0)
    payer_name: ShortText
    issued_at: UtcDatetime
