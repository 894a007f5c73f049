"""The court's judgment document (ba:BanAn of court-judgments.xsd), written from a world judgment.

Shared by the mock (GetJudgment answers) and the pusher (SubmitJudgment messages), so the document a
court serves and the one it pushes are the same bytes for the same judgment. Built with lxml from the
contract's element names; nothing here knows the hub's canonical model.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from lxml import etree

from sandbox_mocks.framework.agency import CONTRACTS_ROOT
from sandbox_mocks.seed.records import Disposition, Judgment, JudgmentParty

NS = "urn:vn:gov:toaan:banan:1"
CONTRACT_DIR = CONTRACTS_ROOT / "court" / "contracts"
XSD_FILE = "court-judgments.xsd"
XSD_PATH: Path = CONTRACT_DIR / XSD_FILE
# Viet Nam keeps UTC+07:00 all year (no daylight saving): the court's dates and times are local.
VN_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")

ROLE_CODES = {"obligor": "NGUOI_PHAI_THI_HANH_AN", "obligee": "NGUOI_DUOC_THI_HANH_AN",
              "related": "NGUOI_CO_QUYEN_LOI_NGHIA_VU_LIEN_QUAN"}
CASE_TYPE_CODES = {"DS": "DAN_SU", "HS": "HINH_SU", "HNGĐ": "HON_NHAN_GIA_DINH", "KDTM": "KINH_DOANH_THUONG_MAI",
                   "LĐ": "LAO_DONG", "HC": "HANH_CHINH"}
INSTANCE_CODES = {"ST": "SO_THAM", "PT": "PHUC_THAM", "GĐT": "GIAM_DOC_THAM", "TT": "TAI_THAM"}

_TYPES = "|".join(CASE_TYPE_CODES)
_INSTANCES = "|".join(INSTANCE_CODES)
# The three ways a number is written (see the schema): "12/2024/DS-ST", "21/2014/HSST", "1750/2017/QĐPT-LĐ".
_NUMBER = re.compile(rf"(?P<seq>[0-9]{{1,5}})/(?P<year>[0-9]{{4}})/"
                     rf"(?:QĐ(?P<d_instance>{_INSTANCES})-(?P<d_type>{_TYPES})"
                     rf"|(?P<type>{_TYPES})-?(?P<instance>{_INSTANCES}))")
_COURT_LEVELS = ((re.compile(r"TANDTC"), "TOI_CAO"), (re.compile(r"TANDCC-[A-Z]+"), "CAP_CAO"),
                 (re.compile(r"TAND-[0-9]{3}-[0-9]{2}"), "HUYEN"), (re.compile(r"TAND-[0-9]{2}-KV[0-9]{2}"), "KHU_VUC"),
                 (re.compile(r"TAND-[0-9]{2,3}"), "TINH"))


def q(local: str) -> str:
    return f"{{{NS}}}{local}"


def element(local: str) -> etree._Element:
    return etree.Element(q(local), nsmap={"ba": NS})


def sub(parent: etree._Element, local: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, q(local))
    if text is not None:
        child.text = text
    return child


def vn_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def vn_time(at: dt.datetime) -> str:
    return at.astimezone(VN_TIME).strftime("%d/%m/%Y %H:%M:%S")


def parse_vn_date(text: str) -> dt.date:
    """dd/MM/yyyy; ValueError for a date the calendar does not have (31/02/2024)."""
    return dt.datetime.strptime(text.strip(), "%d/%m/%Y").date()


def number_codes(number: str) -> tuple[str, str, str]:
    """(LoaiVanBan, LoaiVuViec, CapXetXu) of a judgment number, in the court's code lists."""
    match = _NUMBER.fullmatch(number)
    if match is None:
        raise ValueError(f"not a judgment number the court writes: {number!r}")
    if match["d_type"]:
        return "QUYET_DINH", CASE_TYPE_CODES[match["d_type"]], INSTANCE_CODES[match["d_instance"]]
    return "BAN_AN", CASE_TYPE_CODES[match["type"]], INSTANCE_CODES[match["instance"]]


def court_level(court_code: str) -> str:
    for pattern, level in _COURT_LEVELS:
        if pattern.fullmatch(court_code):
            return level
    raise ValueError(f"not a court code: {court_code!r}")


def disposition_code(disposition: Disposition) -> str:
    """LoaiNghiaVu of an operative order; court fees are not orders here (they go to DanhSachAnPhi)."""
    if disposition.kind == "pay_money":
        return "TRA_TIEN" if disposition.obligee is not None else "NOP_NGAN_SACH"
    if disposition.kind == "hand_over_asset":
        return "GIAO_TAI_SAN"
    if disposition.kind == "perform_act":
        return "THUC_HIEN_CONG_VIEC"
    raise ValueError(f"no operative-order code for {disposition.kind!r}")


def _party(parent: etree._Element, number: int, party: JudgmentParty) -> None:
    el = sub(parent, "DuongSu")
    sub(el, "ThuTu", str(number))
    sub(el, "TuCach", ROLE_CODES[party.role])
    written_id = party.person_id_as_written
    if party.kind == "organisation":
        org = sub(el, "ToChuc")
        sub(org, "TenToChuc", party.name_as_written)
        if written_id:
            sub(org, "MaSoThue", written_id)
    else:
        person = sub(el, "CaNhan")
        sub(person, "HoTen", party.name_as_written)
        if written_id:
            if len(written_id) == 12:
                sub(person, "SoDinhDanh", written_id)
            elif len(written_id) == 9:
                sub(person, "SoCMND", written_id)
            else:
                raise ValueError(f"an identity number of {len(written_id)} digits")
        birth = party.birth_year_or_date
        if birth:
            sub(person, "NamSinh" if len(birth) == 4 else "NgaySinh", birth)
    sub(el, "DiaChi", party.address_as_written)


def judgment_document(judgment: Judgment) -> etree._Element:
    """ba:BanAn for ``judgment``: parties numbered in order of appearance, orders and fees naming them
    by that number. ValueError when the world holds something the court's contract cannot say."""
    doc = element("BanAn")
    court = sub(doc, "ToaAn")
    sub(court, "MaToaAn", judgment.court_code)
    sub(court, "TenToaAn", judgment.court_name)
    sub(court, "CapToaAn", court_level(judgment.court_code))
    sub(court, "MaTinhThanh", judgment.court_province_code.zfill(2))
    sub(doc, "SoBanAn", judgment.number)
    kind, case_type, instance = number_codes(judgment.number)
    sub(doc, "LoaiVanBan", kind)
    sub(doc, "LoaiVuViec", case_type)
    sub(doc, "CapXetXu", instance)
    sub(doc, "NgayBanHanh", vn_date(judgment.issued_on))
    sub(doc, "NgayCoHieuLuc", vn_date(judgment.effective_on))
    parties = sub(doc, "DanhSachDuongSu")
    numbers: dict[str, int] = {}
    for party in judgment.parties:
        numbers[party.world_id] = len(numbers) + 1
        _party(parties, numbers[party.world_id], party)

    def number_of(world_id: str) -> str:
        if world_id not in numbers:
            raise ValueError(f"judgment {judgment.number} orders someone who is not a party")
        return str(numbers[world_id])

    orders = sub(doc, "PhanQuyetDinh")
    fees: list[Disposition] = []
    for disposition in judgment.dispositions:
        if disposition.kind == "court_fee":
            fees.append(disposition)
            continue
        order = sub(orders, "NghiaVu")
        sub(order, "ThuTu", str(len(orders)))
        sub(order, "LoaiNghiaVu", disposition_code(disposition))
        sub(order, "NguoiPhaiThiHanh", number_of(disposition.obligor))
        if disposition.obligee is not None:
            sub(order, "NguoiDuocThiHanh", number_of(disposition.obligee))
        if disposition.amount_vnd is not None:
            sub(order, "SoTien", str(disposition.amount_vnd))
        sub(order, "NoiDung", disposition.text)
    if fees:
        fee_list = sub(doc, "DanhSachAnPhi")
        for index, fee in enumerate(fees, start=1):
            if fee.amount_vnd is None:
                raise ValueError(f"judgment {judgment.number} orders a court fee without an amount")
            item = sub(fee_list, "KhoanAnPhi")
            sub(item, "ThuTu", str(index))
            sub(item, "NguoiPhaiNop", number_of(fee.obligor))
            sub(item, "SoTien", str(fee.amount_vnd))
            sub(item, "NoiDung", fee.text)
    return doc
