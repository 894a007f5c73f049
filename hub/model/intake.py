"""What agencies push into the hub, as the core sees it once a connector mapped it.

``IntakeRecord`` is the thụ lý record a pushed judgment opens: the judgment, the enforcement case in
state "received" at the competent office, where it came from (the signed message) and how each party
without a citizen ID was resolved. ``InboundAction`` and ``InboundBankEvent`` carry the procuracy's
and the banks' documents in canonical terms, with the references the hub links them by.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from hub.model.base import AgencyId, CanonicalModel, Sha256Hex, ShortText, UtcDatetime
from hub.model.case import EnforcementCase
from hub.model.judgment import Judgment
from hub.model.measures import AccountFreeze
from hub.model.payments import Payment
from hub.model.procuracy import ProcuracyAction


class ResolutionState(StrEnum):
    """How a party the court named without a citizen ID was resolved (hub/identity decisions)."""

    PENDING = "pending"  # queued for identity resolution
    RESOLVED = "resolved"
    AMBIGUOUS = "ambiguous"
    WEAK = "weak"
    NO_MATCH = "no_match"
    NO_ANSWER = "no_answer"  # no identity source answered: nothing is known either way
    INSUFFICIENT = "insufficient"  # the judgment gives no birth date or year: nothing to search with


class PartyResolution(CanonicalModel):
    party_id: UUID
    state: ResolutionState = ResolutionState.PENDING
    verification_id: UUID | None = Field(None, description="The verification that resolved it (its report "
                                          "lists the candidates and reasons).")
    person_id_masked: ShortText | None = Field(None, description="The resolved person, masked (079******123).")
    resolved_at: UtcDatetime | None = None


class IntakeSource(CanonicalModel):
    """The signed message an intake came from: enough to prove what was received and when."""

    agency: AgencyId
    message_id: ShortText
    channel: Literal["soap", "rest", "reconciliation"]
    envelope_hash: Sha256Hex | None = Field(description="SHA-256 of the signed envelope's exclusive C14N "
                                              "(none for a judgment read back by reconciliation).")
    document_hash: Sha256Hex = Field(description="SHA-256 of the judgment document's exclusive C14N.")
    received_at: UtcDatetime


class IntakeRecord(CanonicalModel):
    """Hồ sơ tiếp nhận: a judgment taken in and the case it opened."""

    id: UUID
    intake_ref: ShortText = Field(description="MaTiepNhan: the reference the court's receipt carries.")
    case_ref: ShortText = Field(description="The case reference (THADS-<province>-<year>-<nnnn>).")
    sequence: int | None = Field(None, description="Position in the case systems' feed (GET /v1/judgments); "
                                 "null until the feed has numbered it.")
    source: IntakeSource
    judgment: Judgment
    case: EnforcementCase
    resolutions: list[PartyResolution] = Field(default_factory=list)


class InboundAction(CanonicalModel):
    """A protest or recommendation of the procuracy, with what links it to a case."""

    action: ProcuracyAction
    document_id: ShortText = Field(description="edXML DocumentId: the key pushes are de-duplicated on.")
    case_ref: ShortText = Field(description="HoSoThiHanhAn/MaHoSo as the procuracy wrote it.")
    judgment_number: ShortText | None = Field(None, description="HoSoThiHanhAn/SoBanAn when written.")
    details: dict[str, str] = Field(default_factory=dict, description="Every other element, by path.")


class BankEventKind(StrEnum):
    FREEZE_CONFIRMED = "freeze_confirmed"  # XacNhanPhongToa
    CREDIT = "credit"  # BaoCo: money arrived on the office's account


class InboundBankEvent(CanonicalModel):
    kind: BankEventKind
    event_id: ShortText = Field(description="The bank's unique id of the event (MaSuKien / MaGiaoDich).")
    bank_bin: ShortText
    freeze: AccountFreeze | None = None
    payment: Payment | None = None
    note: str | None = Field(None, description="The transfer note as written (NoiDung), whole.")
    office_account: ShortText | None = None
