"""Account freezes (phong tỏa) and their release (giải tỏa), canonical <-> wire. Pure functions.

Requests: ``AccountFreeze`` -> ``PhongToaTaiKhoan`` (freeze) and ``GiaiToaTaiKhoan`` (release). Answers:
the bank's receipt (``BienNhan``) -> ``FreezeReceipt`` / ``ReleaseReceipt`` -> the freeze with its new
status; a refusal (``TuChoi``) -> ``AgencyRejected`` whose ``rule`` is the bank's ``MaLoi``.

Both operations are idempotent at the bank by (SoQuyetDinh, SoTaiKhoan): the same request again answers
the first receipt (same MaGiaoDich, same amount held) and changes nothing, which is what makes them safe
to retry. The freeze request is a pure function of the freeze and its arguments (GhiChu names the hub's
id of the measure), so a retry, or a second call for the same decision, is the same request.

A freeze holds ``min(amount asked, available balance)``: ``frozen_vnd`` is what the bank held, less than
``amount_vnd`` when the balance was short (PHONG_TOA_MOT_PHAN), and the status is APPLIED either way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from lxml import etree
from pydantic import ValidationError

from hub.errors import AgencyRejected, InvalidValue
from hub.model.measures import AccountFreeze, MeasureStatus
from mappings.bank.accounts import (
    bool_text,
    check_account_number,
    check_decision_ref,
    check_text,
    element,
    expect_root,
    format_date,
    invalid,
    parse_amount,
    parse_bool,
    parse_time,
    q,
    required_text,
    text_of,
)

FREEZE: Final = "PhongToaTaiKhoan"
RELEASE: Final = "GiaiToaTaiKhoan"

FULL, PARTIAL, RELEASED = "PHONG_TOA_DU", "PHONG_TOA_MOT_PHAN", "DA_GIAI_TOA"
STATES: Final[dict[str, MeasureStatus]] = {FULL: MeasureStatus.APPLIED, PARTIAL: MeasureStatus.APPLIED,
                                           RELEASED: MeasureStatus.LIFTED}
REFUSAL_CODES: Final = ("KHONG_TIM_THAY_TAI_KHOAN", "TAI_KHOAN_DA_DONG", "TRUNG_SO_QUYET_DINH",
                        "KHONG_TIM_THAY_PHONG_TOA", "DA_GIAI_TOA_THEO_QUYET_DINH_KHAC")
_OFFICE_MAX = 255
_NOTE_MAX = 2000


@dataclass(frozen=True)
class FreezeReceipt:
    """Biên nhận phong tỏa: the bank's receipt of a freeze (also carried by the XacNhanPhongToa event)."""

    transaction_id: str  # MaGiaoDich: PT + BIN + yyyyMMdd + 6 digits
    decision_ref: str
    account_number: str
    holder_name: str  # TenChuTaiKhoan, as the bank writes it
    requested_vnd: int  # SoTienYeuCau
    frozen_vnd: int  # SoTienDaPhongToa
    state: str  # TrangThai: PHONG_TOA_DU / PHONG_TOA_MOT_PHAN / DA_GIAI_TOA
    urgent: bool  # KhanCap
    executed_at: dt.datetime  # ThoiGianThucHien, UTC
    decision_due_at: dt.datetime | None = None  # HanBoSungQuyetDinh (urgent freezes), UTC

    @property
    def status(self) -> MeasureStatus:
        return STATES[self.state]

    def extensions(self, prefix: str = FREEZE) -> dict[str, str]:
        """The receipt's fields the canonical freeze has no place for, keyed by element name."""
        out = {f"{prefix}/MaGiaoDich": self.transaction_id, f"{prefix}/TenChuTaiKhoan": self.holder_name,
               f"{prefix}/TrangThai": self.state}
        if self.decision_due_at is not None:
            out[f"{prefix}/HanBoSungQuyetDinh"] = self.decision_due_at.isoformat()
        return out


@dataclass(frozen=True)
class ReleaseReceipt:
    """Biên nhận giải tỏa: the bank's receipt of a release."""

    transaction_id: str  # MaGiaoDich of the release: GT + BIN + yyyyMMdd + 6 digits
    freeze_transaction_id: str  # MaGiaoDichPhongToa
    decision_ref: str
    release_decision_ref: str
    account_number: str
    released_vnd: int  # SoTienDaGiaiToa
    state: str
    executed_at: dt.datetime  # ThoiGianThucHien, UTC

    def extensions(self, prefix: str = RELEASE) -> dict[str, str]:
        return {f"{prefix}/MaGiaoDich": self.transaction_id, f"{prefix}/MaGiaoDichPhongToa": self.freeze_transaction_id,
                f"{prefix}/SoQuyetDinhGiaiToa": self.release_decision_ref,
                f"{prefix}/ThoiGianThucHien": self.executed_at.isoformat()}


# --- canonical -> wire -------------------------------------------------------------------------------
def idempotency_key(decision_ref: str, account_number: str) -> str:
    """The key the bank honours: (SoQuyetDinh, SoTaiKhoan)."""
    return f"{decision_ref.strip()}:{account_number.strip()}"


def freeze_note(freeze: AccountFreeze) -> str:
    """GhiChu of a freeze: the hub's id of the measure, so the bank's file leads back to it."""
    return f"THADS {freeze.id}"


def freeze_request(freeze: AccountFreeze, office: str, decided_on: dt.date, note: str | None = None) -> etree._Element:
    """PhongToaTaiKhoan: the decision, its date, the office, the account, the amount and whether it is an
    urgent freeze by record (KhanCap, always written so that the request says it)."""
    if freeze.amount_vnd < 1:
        raise InvalidValue("a freeze holds at least 1 đồng", code="AMOUNT_INVALID", rule="freeze_amount")
    return element(
        FREEZE,
        SoQuyetDinh=check_decision_ref(freeze.decision_ref),
        NgayQuyetDinh=format_date(decided_on),
        CoQuanThiHanhAn=check_text(office, _OFFICE_MAX, "office"),
        SoTaiKhoan=check_account_number(freeze.account_number),
        SoTien=str(freeze.amount_vnd),
        KhanCap=bool_text(freeze.urgent_record),
        GhiChu=check_text(note, _NOTE_MAX, "note") if note else None,
    )


def release_request(freeze: AccountFreeze, release_decision_ref: str, released_on: dt.date | None = None,
                    office: str | None = None) -> etree._Element:
    """GiaiToaTaiKhoan: release the freeze made under ``freeze.decision_ref`` by the release decision."""
    return element(
        RELEASE,
        SoQuyetDinh=check_decision_ref(freeze.decision_ref),
        SoTaiKhoan=check_account_number(freeze.account_number),
        SoQuyetDinhGiaiToa=check_decision_ref(release_decision_ref, "release_decision_ref"),
        NgayQuyetDinhGiaiToa=format_date(released_on) if released_on else None,
        CoQuanThiHanhAn=check_text(office, _OFFICE_MAX, "office") if office else None,
    )


# --- wire -> canonical -------------------------------------------------------------------------------
def refusal(answer: etree._Element) -> AgencyRejected | None:
    refused = answer.find(q("TuChoi"))
    if refused is None:
        return None
    code, message = required_text(refused, "MaLoi"), required_text(refused, "MoTaLoi")
    if code not in REFUSAL_CODES:
        raise invalid(f"MaLoi {code!r} is not in the contract's code list", "refusal_code")
    return AgencyRejected(f"the bank refused: {message}", rule=code, agency_code=code)


def _state(receipt: etree._Element) -> str:
    state = required_text(receipt, "TrangThai")
    if state not in STATES:
        raise invalid(f"TrangThai {state!r} is not in the contract's code list", "freeze_state")
    return state


def freeze_receipt_from(bien_nhan: etree._Element) -> FreezeReceipt:
    """A ``BienNhanPhongToaType`` (in a freeze answer or a XacNhanPhongToa event), its amounts checked."""
    due = text_of(bien_nhan, "HanBoSungQuyetDinh", required=False)
    receipt = FreezeReceipt(
        transaction_id=required_text(bien_nhan, "MaGiaoDich"), decision_ref=required_text(bien_nhan, "SoQuyetDinh"),
        account_number=required_text(bien_nhan, "SoTaiKhoan"), holder_name=required_text(bien_nhan, "TenChuTaiKhoan"),
        requested_vnd=parse_amount(required_text(bien_nhan, "SoTienYeuCau"), "SoTienYeuCau"),
        frozen_vnd=parse_amount(required_text(bien_nhan, "SoTienDaPhongToa"), "SoTienDaPhongToa"),
        state=_state(bien_nhan), urgent=parse_bool(required_text(bien_nhan, "KhanCap"), "KhanCap"),
        executed_at=parse_time(required_text(bien_nhan, "ThoiGianThucHien"), "ThoiGianThucHien"),
        decision_due_at=parse_time(due, "HanBoSungQuyetDinh") if due else None)
    if receipt.frozen_vnd > receipt.requested_vnd:
        raise invalid("the bank says it holds more than was asked", "frozen_over_requested")
    if receipt.state == FULL and receipt.frozen_vnd != receipt.requested_vnd:
        raise invalid("PHONG_TOA_DU but less than the amount asked is held", "full_amount")
    if receipt.state == PARTIAL and receipt.frozen_vnd >= receipt.requested_vnd:
        raise invalid("PHONG_TOA_MOT_PHAN but the whole amount is held", "partial_amount")
    return receipt


def release_receipt_from(bien_nhan: etree._Element) -> ReleaseReceipt:
    return ReleaseReceipt(
        transaction_id=required_text(bien_nhan, "MaGiaoDich"),
        freeze_transaction_id=required_text(bien_nhan, "MaGiaoDichPhongToa"),
        decision_ref=required_text(bien_nhan, "SoQuyetDinh"),
        release_decision_ref=required_text(bien_nhan, "SoQuyetDinhGiaiToa"),
        account_number=required_text(bien_nhan, "SoTaiKhoan"),
        released_vnd=parse_amount(required_text(bien_nhan, "SoTienDaGiaiToa"), "SoTienDaGiaiToa"),
        state=_state(bien_nhan),
        executed_at=parse_time(required_text(bien_nhan, "ThoiGianThucHien"), "ThoiGianThucHien"))


def _receipt_element(answer: etree._Element, operation: str) -> etree._Element:
    expect_root(answer, f"{operation}PhanHoi")
    refused = refusal(answer)
    if refused is not None:
        raise refused
    receipt = answer.find(q("BienNhan"))
    if receipt is None:
        raise invalid(f"{operation}PhanHoi holds neither BienNhan nor TuChoi", "receipt_choice")
    return receipt


def _updated(freeze: AccountFreeze, update: dict[str, object]) -> AccountFreeze:
    try:
        return AccountFreeze.model_validate({**freeze.model_dump(), **update})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise invalid(f"the receipt does not fit the canonical freeze: {first['loc']}: {first['msg']}",
                      "canonical_freeze") from None


def applied(freeze: AccountFreeze, receipt: FreezeReceipt) -> AccountFreeze:
    """The freeze as the receipt says it is: APPLIED (LIFTED once released), what was held, and when."""
    return _updated(freeze, {"status": receipt.status, "frozen_vnd": receipt.frozen_vnd,
                             "confirmed_at": receipt.executed_at, "urgent_record": receipt.urgent})


def frozen_from(answer: etree._Element, freeze: AccountFreeze) -> tuple[AccountFreeze, FreezeReceipt]:
    """PhongToaTaiKhoanPhanHoi -> the freeze APPLIED with ``frozen_vnd`` (what the bank held, capped by the
    balance) and ``confirmed_at``; LIFTED when the bank says it was released since. A TuChoi raises
    AgencyRejected with the bank's MaLoi as rule."""
    receipt = freeze_receipt_from(_receipt_element(answer, FREEZE))
    if receipt.decision_ref != freeze.decision_ref.strip():
        raise invalid("the receipt names another decision than the one sent", "decision_echo")
    if receipt.account_number != freeze.account_number.strip():
        raise invalid("the receipt names another account than the one sent", "account_echo")
    if receipt.requested_vnd != freeze.amount_vnd:
        raise invalid("the receipt names another amount than the one asked", "amount_echo")
    if receipt.urgent is not freeze.urgent_record:
        raise invalid("the receipt says otherwise about the freeze being urgent", "urgent_echo")
    return applied(freeze, receipt), receipt


def released_from(answer: etree._Element, freeze: AccountFreeze,
                  release_decision_ref: str) -> tuple[AccountFreeze, ReleaseReceipt]:
    """GiaiToaTaiKhoanPhanHoi -> the freeze LIFTED; ``frozen_vnd`` is what the freeze held until released."""
    receipt = release_receipt_from(_receipt_element(answer, RELEASE))
    if receipt.decision_ref != freeze.decision_ref.strip():
        raise invalid("the receipt names another decision than the one sent", "decision_echo")
    if receipt.account_number != freeze.account_number.strip():
        raise invalid("the receipt names another account than the one sent", "account_echo")
    if receipt.release_decision_ref != release_decision_ref.strip():
        raise invalid("the receipt names another release decision than the one sent", "release_decision_echo")
    if receipt.state != RELEASED:
        raise invalid("a release receipt whose freeze is still in force", "release_state")
    return _updated(freeze, {"status": MeasureStatus.LIFTED, "frozen_vnd": receipt.released_vnd}), receipt


# --- where each element of the contract lands (checked against the XSD by the tests) ----------------
_NO_EXTENSIONS = "(AccountFreeze has no extensions field yet: see the connector's report)"
FREEZE_RECEIPT_ELEMENTS: Final[dict[str, str]] = {  # BienNhanPhongToaType, in answers and in XacNhanPhongToa
    "MaGiaoDich": f"receipt:FreezeReceipt.transaction_id {_NO_EXTENSIONS}",
    "SoQuyetDinh": "canonical:AccountFreeze.decision_ref (checked against the freeze sent, or given with an event)",
    "SoTaiKhoan": "canonical:AccountFreeze.account_number (checked likewise)",
    "TenChuTaiKhoan": f"receipt:FreezeReceipt.holder_name {_NO_EXTENSIONS}",
    "SoTienYeuCau": "canonical:AccountFreeze.amount_vnd (checked likewise)",
    "SoTienDaPhongToa": "canonical:AccountFreeze.frozen_vnd",
    "TrangThai": "canonical:AccountFreeze.status (PHONG_TOA_DU/PHONG_TOA_MOT_PHAN -> APPLIED, DA_GIAI_TOA -> "
                 "LIFTED; kept as FreezeReceipt.state)",
    "KhanCap": "canonical:AccountFreeze.urgent_record (checked against the freeze sent)",
    "ThoiGianThucHien": "canonical:AccountFreeze.confirmed_at",
    "HanBoSungQuyetDinh": f"receipt:FreezeReceipt.decision_due_at {_NO_EXTENSIONS}",
}

_REFUSAL: Final[dict[str, str]] = {
    "TuChoi/MaLoi": "error:AgencyRejected.rule",
    "TuChoi/MoTaLoi": "error:AgencyRejected.detail",
}

FREEZE_ELEMENTS: Final[dict[str, str]] = {
    f"{FREEZE}/SoQuyetDinh": "request:AccountFreeze.decision_ref",
    f"{FREEZE}/NgayQuyetDinh": "request:decided_on (argument)",
    f"{FREEZE}/CoQuanThiHanhAn": "request:office (argument)",
    f"{FREEZE}/SoTaiKhoan": "request:AccountFreeze.account_number",
    f"{FREEZE}/SoTien": "request:AccountFreeze.amount_vnd",
    f"{FREEZE}/KhanCap": "request:AccountFreeze.urgent_record",
    f"{FREEZE}/GhiChu": "request:AccountFreeze.id (as 'THADS <id>')",
    **{f"{FREEZE}PhanHoi/BienNhan/{k}": v for k, v in FREEZE_RECEIPT_ELEMENTS.items()},
    **{f"{FREEZE}PhanHoi/{k}": v for k, v in _REFUSAL.items()},
    f"{RELEASE}/SoQuyetDinh": "request:AccountFreeze.decision_ref",
    f"{RELEASE}/SoTaiKhoan": "request:AccountFreeze.account_number",
    f"{RELEASE}/SoQuyetDinhGiaiToa": "request:release_decision_ref (argument)",
    f"{RELEASE}/NgayQuyetDinhGiaiToa": "request:released_on (optional argument)",
    f"{RELEASE}/CoQuanThiHanhAn": "request:office (optional argument)",
    f"{RELEASE}PhanHoi/BienNhan/MaGiaoDich": f"receipt:ReleaseReceipt.transaction_id {_NO_EXTENSIONS}",
    f"{RELEASE}PhanHoi/BienNhan/MaGiaoDichPhongToa": f"receipt:ReleaseReceipt.freeze_transaction_id {_NO_EXTENSIONS}",
    f"{RELEASE}PhanHoi/BienNhan/SoQuyetDinh": "check:equals AccountFreeze.decision_ref",
    f"{RELEASE}PhanHoi/BienNhan/SoQuyetDinhGiaiToa": "check:equals the release_decision_ref sent "
                                                     "(ReleaseReceipt.release_decision_ref; AccountFreeze has no "
                                                     "lift_decision_ref)",
    f"{RELEASE}PhanHoi/BienNhan/SoTaiKhoan": "check:equals AccountFreeze.account_number",
    f"{RELEASE}PhanHoi/BienNhan/SoTienDaGiaiToa": "canonical:AccountFreeze.frozen_vnd (what the freeze held)",
    f"{RELEASE}PhanHoi/BienNhan/TrangThai": "check:DA_GIAI_TOA, then AccountFreeze.status = LIFTED",
    f"{RELEASE}PhanHoi/BienNhan/ThoiGianThucHien": "receipt:ReleaseReceipt.executed_at (AccountFreeze has no "
                                                   "lifted_at: see the connector's report)",
    **{f"{RELEASE}PhanHoi/{k}": v for k, v in _REFUSAL.items()},
}
