"""Events a bank pushes to the hub (POST /v1/inbound/banks/{BIN}/events, one bank-signed envelope each),
wire -> canonical. Pure functions, for the hub's inbound endpoint: it hardens, validates against
ngan-hang.xsd and verifies the signature (the signer must be ``bank-<BIN>`` of the path), then hands the
verified body element here.

- ``XacNhanPhongToa`` (freeze confirmation, pushed once per new freeze) -> ``FreezeConfirmation`` holding the
  canonical ``AccountFreeze`` (APPLIED, ``frozen_vnd`` what the bank held, ``confirmed_at``) and the bank's
  receipt; ``MaSuKien`` is unique per event, the receiver de-duplicates on it.
- ``BaoCo`` (credit advice: money arrived on the enforcement office's account) -> ``CreditAdvice`` holding
  the canonical ``Payment(direction=INCOMING, status=SETTLED)`` from the payer's account; ``MaGiaoDich`` is
  unique per transfer, and the payment's id is derived from it (a UUIDv5 of BIN and MaGiaoDich), so the same
  advice pushed twice maps to the same payment.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Final

from lxml import etree
from pydantic import ValidationError

from hub.model.measures import AccountFreeze
from hub.model.payments import Payment, PaymentDirection, PaymentStatus
from mappings.bank.accounts import (
    expect_root,
    find,
    invalid,
    parse_amount,
    parse_date,
    parse_time,
    required_text,
    text_of,
)
from mappings.bank.freezes import FREEZE_RECEIPT_ELEMENTS, FreezeReceipt, applied, freeze_receipt_from

FREEZE_CONFIRMED: Final = "XacNhanPhongToa"
CREDIT_ADVICE: Final = "BaoCo"
EVENT_OPERATIONS: Final = (FREEZE_CONFIRMED, CREDIT_ADVICE)
# Payment ids of credit advices: uuid5(PAYMENT_NAMESPACE, "<BIN>:<MaGiaoDich>").
PAYMENT_NAMESPACE: Final = uuid.UUID("5b0d7f5e-2f4a-5c43-9a53-7468616473a1")
_REFERENCE_MAX = 200  # Payment.reference (ShortText); NoiDung may hold up to 210


@dataclass(frozen=True)
class FreezeConfirmation:
    """XacNhanPhongToa: a freeze the bank applied, as the canonical freeze and the bank's receipt."""

    event_id: str  # MaSuKien: the receiver de-duplicates on it
    bank_bin: str  # MaNganHang
    office: str  # CoQuanThiHanhAn, as the hub sent it
    decided_on: dt.date  # NgayQuyetDinh
    receipt: FreezeReceipt
    freeze: AccountFreeze


@dataclass(frozen=True)
class CreditAdvice:
    """BaoCo: money credited to the enforcement office's account, as the canonical incoming payment."""

    transaction_id: str  # MaGiaoDich: the receiver de-duplicates on it
    bank_bin: str  # MaNganHang: the bank that holds the office's account
    office_account: str  # SoTaiKhoanNhan
    office_account_name: str | None  # TenTaiKhoanNhan
    note: str  # NoiDung, whole (Payment.reference is cut at 200 characters)
    payment: Payment


def payment_id(bank_bin: str, transaction_id: str) -> uuid.UUID:
    return uuid.uuid5(PAYMENT_NAMESPACE, f"{bank_bin}:{transaction_id}")


def freeze_confirmation_from(event: etree._Element, known: AccountFreeze | None = None,
                             *, bank_bin: str | None = None) -> FreezeConfirmation:
    """XacNhanPhongToa -> FreezeConfirmation. ``known`` is the hub's freeze of that decision and account when
    it has one (its id, requested_at... are kept; the event must be about it); otherwise a new canonical
    freeze is made from the receipt. ``bank_bin`` (the BIN of the path the event came in on) is checked."""
    expect_root(event, FREEZE_CONFIRMED)
    event_bin = required_text(event, "MaNganHang")
    if bank_bin is not None and event_bin != bank_bin:
        raise invalid("the event names another bank than the one that sent it", "bank_echo")
    bien_nhan = find(event, "BienNhan")
    if bien_nhan is None:
        raise invalid("XacNhanPhongToa without BienNhan", "missing_BienNhan")
    receipt = freeze_receipt_from(bien_nhan)
    if known is not None:
        if (known.decision_ref.strip(), known.account_number, known.bank_bin) != \
                (receipt.decision_ref, receipt.account_number, event_bin):
            raise invalid("the confirmation is about another freeze than the one given", "freeze_echo")
        if known.amount_vnd != receipt.requested_vnd:
            raise invalid("the confirmation names another amount than the one asked", "amount_echo")
        base = known
    else:
        try:
            base = AccountFreeze(decision_ref=receipt.decision_ref, bank_bin=event_bin,
                                 account_number=receipt.account_number, amount_vnd=receipt.requested_vnd,
                                 urgent_record=receipt.urgent)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise invalid(f"the confirmation does not fit the canonical freeze: {first['loc']}: {first['msg']}",
                          "canonical_freeze") from None
    return FreezeConfirmation(
        event_id=required_text(event, "MaSuKien"), bank_bin=event_bin, office=required_text(event, "CoQuanThiHanhAn"),
        decided_on=parse_date(required_text(event, "NgayQuyetDinh"), "NgayQuyetDinh"), receipt=receipt,
        freeze=applied(base, receipt))


def account_freeze_from(event: etree._Element, known: AccountFreeze | None = None,
                        *, bank_bin: str | None = None) -> AccountFreeze:
    """XacNhanPhongToa -> the canonical AccountFreeze it confirms."""
    return freeze_confirmation_from(event, known, bank_bin=bank_bin).freeze


def _reference(note: str) -> str:
    text = " ".join(note.split())
    return text if len(text) <= _REFERENCE_MAX else text[: _REFERENCE_MAX - 1] + "…"


def credit_advice_from(event: etree._Element, *, bank_bin: str | None = None,
                       office_account: str | None = None) -> CreditAdvice:
    """BaoCo -> CreditAdvice. ``bank_bin`` (the BIN of the path) and ``office_account`` (the office's account at
    that bank), when given, are checked: an advice about someone else's account is not the hub's business."""
    expect_root(event, CREDIT_ADVICE)
    event_bin = required_text(event, "MaNganHang")
    if bank_bin is not None and event_bin != bank_bin:
        raise invalid("the event names another bank than the one that sent it", "bank_echo")
    account = required_text(event, "SoTaiKhoanNhan")
    if office_account is not None and account != office_account:
        raise invalid("the credit advice is about another account than the office's", "office_account")
    transaction = required_text(event, "MaGiaoDich")
    note = required_text(event, "NoiDung")
    try:
        payment = Payment(
            id=payment_id(event_bin, transaction), direction=PaymentDirection.INCOMING,
            amount_vnd=parse_amount(required_text(event, "SoTien"), "SoTien"),
            counterparty_name=required_text(event, "TenNguoiChuyen"),
            bank_bin=required_text(event, "MaNganHangChuyen"), account_number=required_text(event, "SoTaiKhoanChuyen"),
            reference=_reference(note), status=PaymentStatus.SETTLED,
            at=parse_time(required_text(event, "ThoiGian"), "ThoiGian"))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise invalid(f"the credit advice does not fit the canonical payment: {first['loc']}: {first['msg']}",
                      "canonical_payment") from None
    return CreditAdvice(transaction_id=transaction, bank_bin=event_bin, office_account=account,
                        office_account_name=text_of(event, "TenTaiKhoanNhan", required=False), note=note,
                        payment=payment)


def payment_from(event: etree._Element, *, bank_bin: str | None = None,
                 office_account: str | None = None) -> Payment:
    """BaoCo -> the canonical incoming Payment."""
    return credit_advice_from(event, bank_bin=bank_bin, office_account=office_account).payment


# --- where each element of the contract lands (checked against the XSD by the tests) ----------------
_NO_PLACE = "(Payment has no extensions field: see the connector's report)"
EVENT_ELEMENTS: Final[dict[str, str]] = {
    f"{FREEZE_CONFIRMED}/MaSuKien": "receipt:FreezeConfirmation.event_id (the receiver de-duplicates on it)",
    f"{FREEZE_CONFIRMED}/MaNganHang": "canonical:AccountFreeze.bank_bin (checked against the sender's BIN)",
    f"{FREEZE_CONFIRMED}/CoQuanThiHanhAn": "receipt:FreezeConfirmation.office",
    f"{FREEZE_CONFIRMED}/NgayQuyetDinh": "receipt:FreezeConfirmation.decided_on",
    **{f"{FREEZE_CONFIRMED}/BienNhan/{k}": v for k, v in FREEZE_RECEIPT_ELEMENTS.items()},
    f"{CREDIT_ADVICE}/MaGiaoDich": "canonical:Payment.id (uuid5 of BIN and MaGiaoDich; CreditAdvice.transaction_id)",
    f"{CREDIT_ADVICE}/MaNganHang": f"receipt:CreditAdvice.bank_bin (the office's bank) {_NO_PLACE}",
    f"{CREDIT_ADVICE}/SoTaiKhoanNhan": f"receipt:CreditAdvice.office_account (checked when given) {_NO_PLACE}",
    f"{CREDIT_ADVICE}/TenTaiKhoanNhan": f"receipt:CreditAdvice.office_account_name {_NO_PLACE}",
    f"{CREDIT_ADVICE}/SoTien": "canonical:Payment.amount_vnd",
    f"{CREDIT_ADVICE}/TenNguoiChuyen": "canonical:Payment.counterparty_name",
    f"{CREDIT_ADVICE}/SoTaiKhoanChuyen": "canonical:Payment.account_number",
    f"{CREDIT_ADVICE}/MaNganHangChuyen": "canonical:Payment.bank_bin",
    f"{CREDIT_ADVICE}/NoiDung": "canonical:Payment.reference (whole in CreditAdvice.note when over 200 characters)",
    f"{CREDIT_ADVICE}/ThoiGian": "canonical:Payment.at",
}
