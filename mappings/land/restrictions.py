"""Land restrictions (hạn chế: tạm dừng / kê biên), canonical <-> wire. Pure functions.

Requests: ``LandRestriction`` -> ``DangKyHanChe`` (register) and ``GoHanChe`` (lift). Answers: the
registry's receipt (``BienNhan``) -> ``RestrictionReceipt`` -> the restriction with its new status;
a refusal (``TuChoi``) -> ``AgencyRejected`` whose ``rule`` is the registry's ``MaLoi``.

Both operations are idempotent at the registry by (SoQuyetDinh, SoPhatHanhGCN): the same request
again answers the first receipt and changes nothing, which is what makes them safe to retry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from lxml import etree

from hub.errors import AgencyRejected, InvalidValue
from hub.model.measures import LandRestriction, MeasureStatus, RestrictionKind
from mappings.land.parcels import (
    canonical_serial,
    check_decision_ref,
    element,
    expect_root,
    format_date,
    invalid,
    parse_time,
    q,
    required_text,
    text_of,
    wire_serial,
)

REGISTER: Final = "DangKyHanChe"
LIFT: Final = "GoHanChe"

KIND_CODES: Final[dict[RestrictionKind, str]] = {
    RestrictionKind.HALT_TRANSFER: "TAMDUNG",
    RestrictionKind.SEIZURE: "KEBIEN",
}
KINDS: Final[dict[str, RestrictionKind]] = {code: kind for kind, code in KIND_CODES.items()}
STATES: Final[dict[str, MeasureStatus]] = {"DANG_HIEU_LUC": MeasureStatus.APPLIED, "DA_GO": MeasureStatus.LIFTED}
REFUSAL_CODES: Final = ("KHONG_TIM_THAY_GCN", "KHONG_TIM_THAY_HAN_CHE", "HAN_CHE_DA_GO", "TRUNG_SO_QUYET_DINH")
_OFFICE_MAX = 255
_NOTE_MAX = 2000


@dataclass(frozen=True)
class RestrictionReceipt:
    """Biên nhận: the registry's receipt of a registration or of a lift."""

    file_number: str  # MaTiepNhan: DK-yyyyMMdd-nnnnnn / GO-yyyyMMdd-nnnnnn
    certificate_serial: str  # canonical form (no space)
    decision_ref: str
    kind: RestrictionKind
    status: MeasureStatus  # the restriction's state when the registry answered
    received_at: dt.datetime  # ThoiGianTiepNhan, UTC
    lift_decision_ref: str | None = None

    def extensions(self, prefix: str) -> dict[str, str]:
        """The receipt's fields the canonical restriction has no place for, keyed by element name."""
        out = {f"{prefix}/MaTiepNhan": self.file_number,
               f"{prefix}/ThoiGianTiepNhan": self.received_at.isoformat()}
        if self.lift_decision_ref:
            out[f"{prefix}/SoQuyetDinhGo"] = self.lift_decision_ref
        return out


# --- canonical -> wire ----------------------------------------------------------------------------
def idempotency_key(decision_ref: str, certificate_serial: str) -> str:
    """The key the registry honours: (SoQuyetDinh, SoPhatHanhGCN), serial in canonical form."""
    return f"{decision_ref.strip()}:{canonical_serial(certificate_serial)}"


def _bounded(value: str, limit: int, rule: str) -> str:
    text = " ".join(value.split())
    if not 1 <= len(text) <= limit:
        raise InvalidValue(f"{rule} must be 1 to {limit} characters", code="REQUEST_INVALID", rule=rule)
    return text


def register_request(restriction: LandRestriction, office: str, decided_on: dt.date,
                     note: str | None = None) -> etree._Element:
    """DangKyHanChe: the decision, its kind, the certificate, the decision's date and the office."""
    return element(
        REGISTER,
        SoQuyetDinh=check_decision_ref(restriction.decision_ref),
        LoaiHanChe=KIND_CODES[restriction.kind],
        SoPhatHanhGCN=wire_serial(restriction.certificate_serial),
        NgayQuyetDinh=format_date(decided_on),
        CoQuanThiHanhAn=_bounded(office, _OFFICE_MAX, "office"),
        GhiChu=_bounded(note, _NOTE_MAX, "note") if note else None,
    )


def register_note(restriction: LandRestriction) -> str:
    """GhiChu of a registration: the hub's id of the measure, so the registry's file leads back to it."""
    return f"THADS {restriction.id}"


def lift_request(restriction: LandRestriction, lift_decision_ref: str,
                 lifted_on: dt.date | None = None) -> etree._Element:
    """GoHanChe: lift the restriction registered under ``restriction.decision_ref`` by the lifting decision."""
    return element(
        LIFT,
        SoQuyetDinh=check_decision_ref(restriction.decision_ref),
        SoPhatHanhGCN=wire_serial(restriction.certificate_serial),
        SoQuyetDinhGo=check_decision_ref(lift_decision_ref, "lift_decision_ref"),
        NgayQuyetDinhGo=format_date(lifted_on) if lifted_on else None,
    )


# --- wire -> canonical ----------------------------------------------------------------------------
def _refusal(answer: etree._Element) -> AgencyRejected | None:
    refused = answer.find(q("TuChoi"))
    if refused is None:
        return None
    code, message = required_text(refused, "MaLoi"), required_text(refused, "MoTaLoi")
    return AgencyRejected(f"the land registry refused: {message}", rule=code, agency_code=code)


def receipt_from(answer: etree._Element, operation: str) -> RestrictionReceipt:
    """The BienNhan of ``<operation>PhanHoi``; a TuChoi raises AgencyRejected with MaLoi as its rule."""
    expect_root(answer, f"{operation}PhanHoi")
    refusal = _refusal(answer)
    if refusal is not None:
        raise refusal
    receipt = answer.find(q("BienNhan"))
    if receipt is None:
        raise invalid(f"{operation}PhanHoi holds neither BienNhan nor TuChoi", "receipt_choice")
    kind_code, state = required_text(receipt, "LoaiHanChe"), required_text(receipt, "TrangThai")
    if kind_code not in KINDS:
        raise invalid(f"LoaiHanChe {kind_code!r} is not in the contract's code list", "restriction_kind")
    if state not in STATES:
        raise invalid(f"TrangThai {state!r} is not in the contract's code list", "restriction_state")
    try:
        serial = canonical_serial(required_text(receipt, "SoPhatHanhGCN"))
    except ValueError:
        raise invalid("BienNhan/SoPhatHanhGCN is not a certificate serial", "serial_format") from None
    return RestrictionReceipt(
        file_number=required_text(receipt, "MaTiepNhan"), certificate_serial=serial,
        decision_ref=required_text(receipt, "SoQuyetDinh"), kind=KINDS[kind_code], status=STATES[state],
        received_at=parse_time(required_text(receipt, "ThoiGianTiepNhan"), "ThoiGianTiepNhan"),
        lift_decision_ref=text_of(receipt, "SoQuyetDinhGo", required=False))


def _check_echo(receipt: RestrictionReceipt, restriction: LandRestriction) -> None:
    if receipt.decision_ref != restriction.decision_ref.strip():
        raise invalid("the receipt names another decision than the one sent", "decision_echo")
    if receipt.certificate_serial != restriction.certificate_serial:
        raise invalid("the receipt names another certificate than the one sent", "serial_echo")


def _updated(restriction: LandRestriction, update: dict[str, object], extensions: dict[str, str]) -> LandRestriction:
    update = {**update, "extensions": {**restriction.extensions, **extensions}}
    return LandRestriction.model_validate({**restriction.model_dump(), **update})


def registered_from(answer: etree._Element, restriction: LandRestriction) -> tuple[LandRestriction, RestrictionReceipt]:
    """DangKyHanChePhanHoi -> the restriction APPLIED (LIFTED when the registry says it was lifted since),
    with ``registered_at`` the registry's reception time."""
    receipt = receipt_from(answer, REGISTER)
    _check_echo(receipt, restriction)
    if receipt.kind is not restriction.kind:
        raise invalid("the receipt names another kind of restriction than the one sent", "kind_echo")
    updated = _updated(restriction, {"status": receipt.status, "registered_at": receipt.received_at},
                       receipt.extensions(REGISTER))
    return updated, receipt


def lifted_from(answer: etree._Element, restriction: LandRestriction,
                lift_decision_ref: str) -> tuple[LandRestriction, RestrictionReceipt]:
    """GoHanChePhanHoi -> the restriction LIFTED."""
    receipt = receipt_from(answer, LIFT)
    _check_echo(receipt, restriction)
    if receipt.status is not MeasureStatus.LIFTED:
        raise invalid("a lift receipt whose restriction is still in force", "lift_state")
    if receipt.lift_decision_ref is not None and receipt.lift_decision_ref != lift_decision_ref.strip():
        raise invalid("the receipt names another lifting decision than the one sent", "lift_decision_echo")
    # The registry's record of the decision's kind is the one that counts once it is lifted.
    update: dict[str, object] = {"status": MeasureStatus.LIFTED, "kind": receipt.kind,
                                 "lift_decision_ref": lift_decision_ref.strip(), "lifted_at": receipt.received_at}
    return _updated(restriction, update, receipt.extensions(LIFT)), receipt


# --- where each element of the contract lands (checked against the XSD by the tests) ----------------
_RECEIPT: Final[dict[str, str]] = {  # the register receipt; the lift receipt differs where noted below
    "BienNhan/MaTiepNhan": "receipt:RestrictionReceipt.file_number "
                           "(LandRestriction has no extensions field yet: see the connector's report)",
    "BienNhan/SoPhatHanhGCN": "check:equals LandRestriction.certificate_serial",
    "BienNhan/SoQuyetDinh": "check:equals LandRestriction.decision_ref",
    "BienNhan/LoaiHanChe": "canonical:LandRestriction.kind",
    "BienNhan/TrangThai": "canonical:LandRestriction.status",
    "BienNhan/ThoiGianTiepNhan": "canonical:LandRestriction.registered_at",
    "BienNhan/SoQuyetDinhGo": "check:equals the lift_decision_ref sent (RestrictionReceipt.lift_decision_ref)",
    "TuChoi/MaLoi": "error:AgencyRejected.rule",
    "TuChoi/MoTaLoi": "error:AgencyRejected.detail",
}

RESTRICTION_ELEMENTS: Final[dict[str, str]] = {
    f"{REGISTER}/SoQuyetDinh": "request:LandRestriction.decision_ref",
    f"{REGISTER}/LoaiHanChe": "request:LandRestriction.kind",
    f"{REGISTER}/SoPhatHanhGCN": "request:LandRestriction.certificate_serial",
    f"{REGISTER}/NgayQuyetDinh": "request:decided_on (argument)",
    f"{REGISTER}/CoQuanThiHanhAn": "request:office (argument)",
    f"{REGISTER}/GhiChu": "request:LandRestriction.id (as 'THADS <id>')",
    **{f"{REGISTER}PhanHoi/{k}": v for k, v in _RECEIPT.items()},
    f"{LIFT}/SoQuyetDinh": "request:LandRestriction.decision_ref",
    f"{LIFT}/SoPhatHanhGCN": "request:LandRestriction.certificate_serial",
    f"{LIFT}/SoQuyetDinhGo": "request:lift_decision_ref (argument)",
    f"{LIFT}/NgayQuyetDinhGo": "request:lifted_on (optional argument)",
    **{f"{LIFT}PhanHoi/{k}": v for k, v in _RECEIPT.items()},
    f"{LIFT}PhanHoi/BienNhan/ThoiGianTiepNhan": "receipt:RestrictionReceipt.received_at (the lift's time; "
                                                "LandRestriction has no lifted_at)",
    f"{LIFT}PhanHoi/BienNhan/TrangThai": "check:DA_GO, then LandRestriction.status = LIFTED",
}
