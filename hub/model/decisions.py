"""Decisions the enforcement offices carry to agencies, and the agencies' receipts of them.

A command (freeze, release, restriction, a copy to the procuracy) always carries a decision of an
enforcement office (quyết định); the agency that acts on it answers with a receipt (biên nhận) whose
own number is the reference an officer quotes when asking the agency about it.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from hub.model.base import CanonicalModel, ShortText, UtcDatetime

# The national register of organ codes (QCVN 102:2016 OrganId): "G12.HCM.079" an enforcement office,
# "H37.HCM.079" a provincial procuracy.
OrganCode = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64,
                                             pattern=r"^[A-Z0-9]{1,4}(\.[A-Z0-9]{1,6}){1,5}$")]
# Số and ký hiệu written apart ("15" and "QĐ-CCTHADS"), so that "15/QĐ-CCTHADS" is always one spelling.
DecisionNumber = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,6}$")]
DecisionNotation = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50,
                                                    pattern=r"^[^\W_]+(-[^\W_]+)*$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class DecisionKind(StrEnum):
    """The decisions an office sends the procuracy for supervision (Điều 38 Luật THADS)."""

    ENFORCEMENT = "enforcement"  # quyết định thi hành án
    POSTPONEMENT = "postponement"  # quyết định hoãn thi hành án
    TERMINATION = "termination"  # quyết định đình chỉ thi hành án
    ACCOUNT_FREEZE = "account_freeze"  # quyết định phong tỏa tài khoản
    ASSET_SEIZURE = "asset_seizure"  # quyết định cưỡng chế kê biên tài sản
    REGISTRATION_HALT = "registration_halt"  # quyết định tạm dừng đăng ký, chuyển quyền sở hữu, sử dụng


class Organ(CanonicalModel):
    """A state organ by its code in the national register and its name."""

    organ_id: OrganCode
    name: Name


class DecisionRef(CanonicalModel):
    """What an agency needs to act on a decision: which decision, of which office, of when."""

    number: DecisionNumber = Field(description="Số: the number alone, '15'.")
    notation: DecisionNotation = Field(description="Ký hiệu, 'QĐ-CCTHADS'.")
    issued_on: date = Field(description="Ngày ban hành, in Viet Nam.")
    office: Organ = Field(description="The enforcement office that issued it.")

    @property
    def ref(self) -> str:
        """Number and notation written together, '15/QĐ-CCTHADS': the agencies' idempotency key."""
        return f"{self.number}/{self.notation}"


class Decision(DecisionRef):
    """A decision as a document, with what the procuracy needs to supervise it."""

    kind: DecisionKind
    place: Name = Field(description="Where it was issued, 'TP Hồ Chí Minh'.")
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)] = Field(
        description="Trích yếu.")
    procuracy: Organ = Field(description="The procuracy that supervises the case.")
    signer_name: Name
    signer_position: Name = Field(description="Chức vụ of the signer, 'Chấp hành viên', 'Thủ trưởng'.")
    judgment_number: ShortText | None = Field(None, description="The judgment enforced, '12/2024/DS-ST'.")


class AgencyReceipt(CanonicalModel):
    """Biên nhận: an agency's acknowledgment that it acted on a decision. Asking the agency again with the
    same decision answers the same receipt (the agencies key their effects on the decision)."""

    reference: ShortText = Field(description="The agency's own number of the act: MaGiaoDich, MaTiepNhan.")
    at: UtcDatetime | None = Field(None, description="When the agency says it acted.")
    details: dict[str, str] = Field(default_factory=dict, description="What else the agency said of the act "
                                    "(the amount held, the state of the measure), as text.")
