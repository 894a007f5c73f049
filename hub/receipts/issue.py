"""Issuing a receipt, in the caller's transaction (the one that records the payment it is for).

The number comes from the office's counter row for the year (hub/inbound/counters.py): taken only if the
transaction commits, so the numbers of an office's year are 1..n with no gap and no repeat. The receipt
document (``rc:BienLai``, namespace ``urn:thads:receipt:1``) is signed by the hub in a THADS envelope and
stored as signed; the verify URL it names is what its QR code encodes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from lxml import etree
from sqlalchemy import Connection, insert

from adapters.envelope import EnvelopeFields, EnvelopeSigner, build_envelope
from hub.inbound.counters import next_number
from hub.model.payments import Payment, Receipt
from hub.store.tables import receipts

RECEIPT_NS = "urn:thads:receipt:1"
VN_TIME = dt.timezone(dt.timedelta(hours=7))
SERIES = "receipt"


@dataclass(frozen=True)
class CaseOffice:
    case_id: uuid.UUID
    case_ref: str
    office_code: str
    province_code: str


def verify_url(base_url: str, receipt_id: uuid.UUID) -> str:
    return f"{base_url.rstrip('/')}/v1/receipts/{receipt_id}/verify"


def receipt_document(receipt: Receipt, case: CaseOffice, payment: Payment, url: str) -> etree._Element:
    root = etree.Element(f"{{{RECEIPT_NS}}}BienLai", nsmap={"rc": RECEIPT_NS})
    for local, text in (("MaBienLai", str(receipt.id)), ("KyHieu", receipt.series), ("So", f"{receipt.number:07d}"),
                        ("CoQuanThiHanhAn", case.office_code), ("HoSo", case.case_ref),
                        ("NguoiNop", receipt.payer_name), ("SoTien", str(receipt.amount_vnd)),
                        ("NoiDung", payment.reference), ("MaThanhToan", str(payment.id)),
                        ("NganHang", payment.bank_bin), ("ThoiGianNop", payment.at.isoformat()),
                        ("ThoiGianLap", receipt.issued_at.isoformat()), ("DiaChiKiemTra", url)):
        etree.SubElement(root, f"{{{RECEIPT_NS}}}{local}").text = text
    return root


def issue_receipt(conn: Connection, signer: EnvelopeSigner, case: CaseOffice, payment: Payment,
                  base_url: str) -> tuple[Receipt, str]:
    """The receipt for ``payment`` on ``case``, numbered and signed, stored; returns it and its verify URL."""
    now = dt.datetime.now(dt.UTC)
    year = now.astimezone(VN_TIME).year
    number = next_number(conn, case.office_code, year, SERIES)
    receipt = Receipt(series=f"BL-{case.province_code}-{year}", number=number, payment_id=payment.id,
                      amount_vnd=payment.amount_vnd, payer_name=payment.counterparty_name, issued_at=now)
    url = verify_url(base_url, receipt.id)
    header = EnvelopeFields(message_id=str(receipt.id), from_agency="hub", to_agency="hub", service="receipts",
                            operation="BienLai", created=now, expires=now + dt.timedelta(minutes=5),
                            case_ref=case.case_ref)
    signed = signer.sign_bytes(build_envelope(header, receipt_document(receipt, case, payment, url)))
    conn.execute(insert(receipts).values(
        id=receipt.id, office_code=case.office_code, year=year, series=SERIES, number=number, case_id=case.case_id,
        payment_id=payment.id, receipt={**receipt.model_dump(mode="json"), "case_ref": case.case_ref,
                                        "office_code": case.office_code, "verify_url": url},
        signed_xml=signed.decode(), issued_at=now))
    return receipt, url
