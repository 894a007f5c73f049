"""Courts, judgments (bản án, quyết định) and the obligations they impose."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID, uuid4

from pydantic import Field, model_validator

from hub.errors import InvalidValue
from hub.model.base import CanonicalModel, LongText, Sha256Hex, ShortText, UtcDatetime
from hub.model.judgment_number import JudgmentNumber
from hub.model.money import Vnd
from hub.model.party import Party, PartyRole
from hub.model.provinces import ProvinceCode


class CourtLevel(StrEnum):
    SUPREME = "supreme"  # Tòa án nhân dân tối cao
    HIGH = "high"  # Tòa án nhân dân cấp cao (dissolved 1/7/2025; kept for old judgments)
    PROVINCIAL = "provincial"  # Tòa án nhân dân cấp tỉnh
    REGIONAL = "regional"  # Tòa án nhân dân khu vực (since 1/7/2025)
    DISTRICT = "district"  # Tòa án nhân dân cấp huyện (dissolved 1/7/2025)


class Court(CanonicalModel):
    """Tòa án that issued the judgment."""

    code: ShortText = Field(description="The court's identifier in the court system.")
    name: ShortText = Field(description="Tên tòa án, e.g. 'Tòa án nhân dân khu vực 1 - TP Hồ Chí Minh'.")
    level: CourtLevel
    province_code: ProvinceCode | None = None


class ObligationKind(StrEnum):
    PAY_MONEY = "pay_money"  # trả tiền
    HAND_OVER_ASSET = "hand_over_asset"  # trả tài sản
    PERFORM_ACT = "perform_act"  # buộc thực hiện công việc
    REFRAIN_FROM_ACT = "refrain_from_act"  # không được thực hiện công việc
    COURT_FEE = "court_fee"  # án phí

    @property
    def is_money(self) -> bool:
        return self in (ObligationKind.PAY_MONEY, ObligationKind.COURT_FEE)


class Obligation(CanonicalModel):
    """Nghĩa vụ thi hành án: one disposition of the judgment, owed by one party.

    Money is whole VND. A court fee (án phí) is owed to the state, so it has no obligee party.
    """

    id: UUID = Field(default_factory=uuid4)
    kind: ObligationKind
    obligor_id: UUID = Field(description="The party who must perform (người phải thi hành án).")
    obligee_id: UUID | None = Field(None, description="The party who benefits (người được thi hành án); "
                                    "none for court fees and fines owed to the state.")
    amount_vnd: Vnd | None = None
    description: LongText = Field(description="The disposition as worded in the judgment.")

    @model_validator(mode="after")
    def _money_has_amount(self) -> Obligation:
        if self.kind.is_money and self.amount_vnd is None:
            raise InvalidValue(f"a {self.kind.value} obligation needs amount_vnd", code="AMOUNT_INVALID",
                               rule="money_obligation_amount")
        if not self.kind.is_money and self.amount_vnd is not None:
            raise InvalidValue(f"a {self.kind.value} obligation carries no amount", code="AMOUNT_INVALID",
                               rule="non_money_obligation_amount")
        return self


class JudgmentParty(CanonicalModel):
    role: PartyRole
    party: Party


class Judgment(CanonicalModel):
    """Bản án / quyết định có hiệu lực pháp luật, as received from a court."""

    id: UUID = Field(default_factory=uuid4)
    number: JudgmentNumber
    court: Court
    issued_on: date = Field(description="Ngày tuyên án / ban hành.")
    effective_on: date | None = Field(None, description="Ngày có hiệu lực pháp luật.")
    parties: list[JudgmentParty] = Field(min_length=1)
    obligations: list[Obligation] = Field(default_factory=list)
    source_document_hash: Sha256Hex | None = Field(
        None, description="SHA-256 of the signed source document this judgment was mapped from.")
    received_at: UtcDatetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Judgment:
        if self.number.year != self.issued_on.year:
            raise InvalidValue("the judgment number's year differs from the issue date's year",
                               code="JUDGMENT_NUMBER_INVALID", rule="year_matches_issue_date")
        if self.effective_on and self.effective_on < self.issued_on:
            raise InvalidValue("legal effect cannot precede issue", code="DATE_INVALID",
                               rule="effective_before_issued")
        ids = [jp.party.id for jp in self.parties]
        if len(set(ids)) != len(ids):
            raise InvalidValue("a party appears twice", code="REQUEST_INVALID", rule="party_unique")
        known = set(ids)
        for ob in self.obligations:
            if ob.obligor_id not in known or (ob.obligee_id is not None and ob.obligee_id not in known):
                raise InvalidValue("an obligation names a party that is not in the judgment",
                                   code="REQUEST_INVALID", rule="obligation_party_known")
        return self

    def party(self, party_id: UUID) -> Party:
        for jp in self.parties:
            if jp.party.id == party_id:
                return jp.party
        raise KeyError(party_id)
