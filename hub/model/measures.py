"""Enforcement measures carried to agencies: account freezes and land restrictions."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID, uuid4

from pydantic import Field

from hub.model.assets import AccountNumber, BankBin, CertificateSerial
from hub.model.base import CanonicalModel, Extensions, ShortText, UtcDatetime
from hub.model.money import Vnd


class MeasureStatus(StrEnum):
    REQUESTED = "requested"
    APPLIED = "applied"  # the agency confirmed
    REJECTED = "rejected"
    LIFTED = "lifted"


class AccountFreeze(CanonicalModel):
    """Phong tỏa tài khoản: the decision states the amount; a copy goes to the procuracy."""

    id: UUID = Field(default_factory=uuid4)
    decision_ref: ShortText = Field(description="Số quyết định phong tỏa; the bank's idempotency key.")
    bank_bin: BankBin
    account_number: AccountNumber
    amount_vnd: Vnd
    status: MeasureStatus = MeasureStatus.REQUESTED
    urgent_record: bool = Field(False, description="Phong tỏa bằng biên bản: a decision must follow "
                                "within 24 hours.")
    requested_at: UtcDatetime | None = None
    confirmed_at: UtcDatetime | None = None
    frozen_vnd: Vnd | None = Field(None, description="What the bank actually froze (capped by balance).")
    lift_decision_ref: ShortText | None = Field(None, description="The decision that released it (giải tỏa).")
    lifted_at: UtcDatetime | None = None
    extensions: Extensions = Field(default_factory=dict)


class RestrictionKind(StrEnum):
    HALT_TRANSFER = "halt_transfer"  # tạm dừng việc chuyển quyền sở hữu, sử dụng
    SEIZURE = "seizure"  # kê biên


class LandRestriction(CanonicalModel):
    """Restriction registered at the land registry (văn phòng đăng ký đất đai)."""

    id: UUID = Field(default_factory=uuid4)
    decision_ref: ShortText
    kind: RestrictionKind
    certificate_serial: CertificateSerial
    status: MeasureStatus = MeasureStatus.REQUESTED
    requested_at: UtcDatetime | None = None
    registered_at: UtcDatetime | None = None
    lift_decision_ref: ShortText | None = Field(None, description="The decision that lifted it (quyết định gỡ).")
    lifted_at: UtcDatetime | None = None
    extensions: Extensions = Field(default_factory=dict)
