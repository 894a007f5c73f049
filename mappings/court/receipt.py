"""The hub's receipt for a judgment a court pushes (SubmitJudgment, court-submit.wsdl): ``ba:BienNhanBanAn``.

Canonical -> wire, pure. The inbound SubmitJudgment endpoint (a later issue) maps the pushed ``BanAn``
with :func:`mappings.court.judgment.judgment_from`, stores it, and answers with :func:`submit_receipt`:
``DA_TIEP_NHAN`` the first time, ``TRUNG_LAP`` with the first receipt's intake reference and time when it
already holds that (SoBanAn, MaToaAn).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from lxml import etree

from hub.errors import InvalidValue
from hub.model.judgment import Judgment
from mappings.court.judgment import NSMAP, q

ACCEPTED: Final = "DA_TIEP_NHAN"
DUPLICATE: Final = "TRUNG_LAP"
# Viet Nam keeps UTC+07:00 all year: the court's times are local.
VN_TIME: Final = dt.timezone(dt.timedelta(hours=7), "ICT")
_INTAKE_REF: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/\-]{0,63}")
_NOTE_MAX: Final = 2000


def vn_time(at: dt.datetime) -> str:
    """dd/MM/yyyy HH:mm:ss in Viet Nam time; a naive time is refused."""
    if at.tzinfo is None:
        raise InvalidValue("receipt times must carry a time zone", code="DATE_INVALID", rule="receipt_time")
    return at.astimezone(VN_TIME).strftime("%d/%m/%Y %H:%M:%S")


def submit_receipt(judgment: Judgment, intake_ref: str, *, duplicate: bool, received_at: dt.datetime,
                   note: str | None = None) -> etree._Element:
    """BienNhanBanAn for ``judgment``: the number as the court wrote it, its court, the hub's intake
    reference, DA_TIEP_NHAN or TRUNG_LAP, the (first) reception time and an optional note."""
    if not _INTAKE_REF.fullmatch(intake_ref):
        raise InvalidValue("the intake reference breaks MaTiepNhanType", code="REQUEST_INVALID", rule="intake_ref")
    root = etree.Element(q("BienNhanBanAn"), nsmap=NSMAP)
    for local, text in (("SoBanAn", judgment.number.format()), ("MaToaAn", judgment.court.code),
                        ("MaTiepNhan", intake_ref), ("TrangThai", DUPLICATE if duplicate else ACCEPTED),
                        ("ThoiGian", vn_time(received_at))):
        etree.SubElement(root, q(local)).text = text
    if note:
        etree.SubElement(root, q("GhiChu")).text = " ".join(note.split())[:_NOTE_MAX]
    return root


RECEIPT_ELEMENTS: Final[dict[str, str]] = {
    "BienNhanBanAn/SoBanAn": "receipt:Judgment.number (as written)",
    "BienNhanBanAn/MaToaAn": "receipt:Court.code",
    "BienNhanBanAn/MaTiepNhan": "receipt:intake_ref (the hub's intake reference)",
    "BienNhanBanAn/TrangThai": "receipt:duplicate (DA_TIEP_NHAN / TRUNG_LAP)",
    "BienNhanBanAn/ThoiGian": "receipt:received_at (the first reception, Viet Nam time)",
    "BienNhanBanAn/GhiChu": "receipt:note (optional)",
}
