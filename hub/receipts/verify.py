"""Checking a receipt: what the public verify URL answers, and the QR code that points there.

Anyone holding a receipt (paper or PDF) scans its QR code and lands on the verify URL. The hub answers
from its own record only after checking that record's hub signature again (against the trust store, at
the time it was issued), so an edited row in the database reads as not genuine, never as a receipt.
The payer's name is shown with its initials only: the URL is public.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import segno
from sqlalchemy import select

from adapters.envelope import EnvelopeVerifier
from adapters.refusal import Refusal
from hub.errors import NotFound
from hub.receipts.issue import RECEIPT_NS
from hub.store.database import Database
from hub.store.tables import receipts
from hub.store.timestamps import as_utc


def initials(name: str) -> str:
    return " ".join(part[0] + "." for part in name.split() if part)


def qr_svg(url: str) -> bytes:
    """The QR code of ``url`` (error correction M: a receipt printed and folded still scans)."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="svg", scale=4, xmldecl=False)
    return out.getvalue()


def stored(db: Database, receipt_id: uuid.UUID) -> Any:
    with db.engine.connect() as conn:
        row = conn.execute(select(receipts).where(receipts.c.id == receipt_id)).first()
    if row is None:
        raise NotFound(f"no receipt {receipt_id}")
    return row


def check(db: Database, verifier: EnvelopeVerifier, receipt_id: uuid.UUID) -> dict[str, Any]:
    row = stored(db, receipt_id)
    facts = row.receipt
    answer: dict[str, Any] = {
        "receipt_id": str(row.id), "series": facts["series"], "number": facts["number"],
        "office_code": facts["office_code"], "case_ref": facts["case_ref"], "amount_vnd": facts["amount_vnd"],
        "payer": initials(facts["payer_name"]), "issued_at": as_utc(row.issued_at).isoformat()}
    try:
        verified = verifier.verify(row.signed_xml.encode(), now=as_utc(row.issued_at))
    except Refusal as refusal:
        return {**answer, "genuine": False, "reason": f"{refusal.code}: {refusal.detail}"}
    body = verified.body

    def said(local: str) -> str | None:
        return body.findtext(f"{{{RECEIPT_NS}}}{local}")

    agrees = (verified.signer == "hub" and said("MaBienLai") == str(row.id) and said("KyHieu") == facts["series"]
              and said("So") == f"{facts['number']:07d}" and said("SoTien") == str(facts["amount_vnd"])
              and said("HoSo") == facts["case_ref"] and said("CoQuanThiHanhAn") == facts["office_code"])
    if not agrees:
        return {**answer, "genuine": False, "reason": "the record differs from the receipt the hub signed"}
    return {**answer, "genuine": True, "signed_by": verified.signer,
            "certificate_fingerprint": verified.certificate_fingerprint, "document_sha256": verified.payload_hash}
