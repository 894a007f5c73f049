"""The enforcement case (việc thi hành án / hồ sơ thi hành án): everything the office does for one
judgment's obligations."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from hub.errors import InvalidValue
from hub.model.assets import BankAccount, LandParcel
from hub.model.base import CanonicalModel, ShortText
from hub.model.measures import AccountFreeze, LandRestriction
from hub.model.money import Vnd
from hub.model.notification import Notification
from hub.model.payments import Payment, Receipt
from hub.model.procuracy import ProcuracyAction
from hub.model.provinces import ProvinceCode


class OfficeLevel(StrEnum):
    PROVINCIAL = "provincial"  # Thi hành án dân sự tỉnh/thành phố (34)
    REGIONAL = "regional"  # Phòng thi hành án dân sự khu vực (355)


class EnforcementOffice(CanonicalModel):
    code: ShortText
    name: ShortText
    level: OfficeLevel
    province_code: ProvinceCode


class CaseCategory(StrEnum):
    ON_INITIATIVE = "on_initiative"  # chủ động: fees, fines, confiscation
    ON_REQUEST = "on_request"  # theo yêu cầu of the creditor or debtor


class CaseStatus(StrEnum):
    RECEIVED = "received"  # thụ lý
    DECIDED = "decided"  # quyết định thi hành án issued
    VOLUNTARY_PERIOD = "voluntary_period"
    VERIFYING = "verifying"
    ENFORCING = "enforcing"  # cưỡng chế
    NO_MEANS = "no_means"  # chưa có điều kiện thi hành
    SUSPENDED = "suspended"  # hoãn / tạm đình chỉ
    CLOSED = "closed"  # kết thúc


class ObligationStatus(StrEnum):
    OPEN = "open"
    PARTLY_SATISFIED = "partly_satisfied"
    SATISFIED = "satisfied"
    WAIVED = "waived"  # miễn, giảm


class CaseObligation(CanonicalModel):
    """The case's view of one judgment obligation: what has been enforced of it so far."""

    obligation_id: UUID
    status: ObligationStatus = ObligationStatus.OPEN
    collected_vnd: Vnd = 0


class EnforcementDecision(CanonicalModel):
    number: ShortText = Field(description="Số quyết định thi hành án.")
    issued_on: date
    officer: ShortText = Field(description="Chấp hành viên assigned.")


class EnforcementCase(CanonicalModel):
    id: UUID = Field(default_factory=uuid4)
    office: EnforcementOffice
    judgment_id: UUID
    category: CaseCategory
    status: CaseStatus = CaseStatus.RECEIVED
    opened_on: date = Field(description="Ngày thụ lý.")
    decision: EnforcementDecision | None = None
    obligations: list[CaseObligation] = Field(default_factory=list)
    land_parcels: list[LandParcel] = Field(default_factory=list)
    bank_accounts: list[BankAccount] = Field(default_factory=list)
    verification_ids: list[UUID] = Field(default_factory=list)
    notifications: list[Notification] = Field(default_factory=list)
    freezes: list[AccountFreeze] = Field(default_factory=list)
    restrictions: list[LandRestriction] = Field(default_factory=list)
    payments: list[Payment] = Field(default_factory=list)
    receipts: list[Receipt] = Field(default_factory=list)
    procuracy_actions: list[ProcuracyAction] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> EnforcementCase:
        if self.decision and self.decision.issued_on < self.opened_on:
            raise InvalidValue("the enforcement decision predates the case", code="DATE_INVALID",
                               rule="decision_before_opened")
        ids = [o.obligation_id for o in self.obligations]
        if len(set(ids)) != len(ids):
            raise InvalidValue("an obligation is listed twice", code="REQUEST_INVALID", rule="obligation_unique")
        return self
