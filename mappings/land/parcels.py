"""Land registry parcels (thửa đất), wire <-> canonical. Pure functions: lxml in, canonical out.

The registry's own formats (land-registry.xsd) and where each lands in the canonical model:

- ``SoPhatHanhGCN`` "CS 123456" -> ``LandParcel.certificate_serial`` (the canonical type strips the space);
- ``SoThua`` / ``SoToBanDo`` -> ``parcel_number`` / ``map_sheet``;
- ``DiaChi`` -> ``Address``: ``original_text`` is ``DiaChiDayDu`` (or, when the registry sends none, the
  text composed from ``ChiTiet, XaPhuong, Ten``), ``province_code`` is ``TinhThanh/Ma`` (or the unit the
  name ``TinhThanh/Ten`` denotes when the code is not one of the 34), ``commune`` is ``XaPhuong``,
  ``street`` is ``ChiTiet``; ``DiaChiCu`` (the pre-2025 form) and the province's name are kept in the
  address's extensions, and the district the old form names becomes ``former_district``;
- ``DienTich`` with a decimal comma "96,5" -> ``area_m2`` ``Decimal("96.5")``;
- ``MucDichSuDung`` (the registry's land-use code, ODT, LUC...) -> ``land_use``;
- ``ChuSuDung/SoDinhDanh`` -> ``owner_ids``; ``ChuSuDung/HoTen`` -> extensions ``ChuSuDung/<id>/HoTen``
  (an id that breaks the personal-id rules is kept only there, never dropped);
- ``TheChap/BenNhanTheChap`` -> ``Encumbrance(kind=MORTGAGE, holder=...)``;
- ``HanChe`` -> ``Encumbrance(kind=TRANSFER_RESTRICTION | SEIZURE, reference=SoQuyetDinh,
  registered_on=NgayDangKy, holder=CoQuanThiHanhAn)``; its ``TrangThai`` goes to extensions
  ``HanChe/<SoQuyetDinh>/TrangThai``.

An answer that breaks these rules (an unparsable date, an area of zero...) raises
``AgencyInvalidResponse``: the connector validates answers against the XSD first, so this is the
second line, for what the schema cannot say.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Final

from lxml import etree
from pydantic import TypeAdapter, ValidationError

from hub.errors import AgencyInvalidResponse, InvalidValue
from hub.model.assets import Encumbrance, EncumbranceKind, LandParcel
from hub.model.party import Address
from hub.model.person_id import PersonIdStr, decode_person_id
from hub.model.provinces import ProvinceCode, resolve_province_name

NS: Final = "urn:vn:gov:tnmt:dangkydatdai:1"
NSMAP: Final = {"dd": NS}
# Viet Nam keeps UTC+07:00 all year: the registry's dates and times are local.
VN_TIME: Final = dt.timezone(dt.timedelta(hours=7), "ICT")

# Request element -> answer element, per WSDL operation.
FIND_BY_OWNER: Final = "TraCuuThuaDatTheoChuSoHuu"
FIND_BY_CERTIFICATE: Final = "TraCuuThuaDatTheoGiayChungNhan"

RESTRICTION_KINDS: Final[dict[str, EncumbranceKind]] = {
    "TAMDUNG": EncumbranceKind.TRANSFER_RESTRICTION,  # tạm dừng đăng ký, chuyển quyền
    "KEBIEN": EncumbranceKind.SEIZURE,  # kê biên
}
RESTRICTION_STATES: Final = ("DANG_HIEU_LUC", "DA_GO")

_SERIAL = re.compile(r"^[A-ZĐ]{2}[0-9]{6,8}$")
_DECISION = re.compile(r"^[0-9]{1,6}/\S{1,60}$")
_DISTRICT_WORDS = ("huyện ", "quận ", "thị xã ", "thành phố ")
_province_code: TypeAdapter[str] = TypeAdapter(ProvinceCode)
_person_id: TypeAdapter[str] = TypeAdapter(PersonIdStr)


def q(local: str) -> str:
    return f"{{{NS}}}{local}"


def element(local: str, **children: str | None) -> etree._Element:
    """A registry element with text children in the order given (None leaves a child out)."""
    el = etree.Element(q(local), nsmap=NSMAP)
    for name, text in children.items():
        if text is not None:
            etree.SubElement(el, q(name)).text = text
    return el


def invalid(detail: str, rule: str) -> AgencyInvalidResponse:
    return AgencyInvalidResponse(f"land registry answer: {detail}", rule=rule)


def text_of(parent: etree._Element, local: str, *, required: bool = True) -> str | None:
    """The stripped text of the child ``local``; a missing required child is an invalid answer."""
    child = parent.find(q(local))
    value = (child.text or "").strip() if child is not None else ""
    if not value:
        if required:
            raise invalid(f"{etree.QName(parent).localname}/{local} is missing", f"missing_{local}")
        return None
    return value


def required_text(parent: etree._Element, local: str) -> str:
    value = text_of(parent, local)
    assert value is not None  # text_of raised otherwise
    return value


def expect_root(answer: etree._Element, local: str) -> None:
    if answer.tag != q(local):
        raise invalid(f"expected {local}, got {answer.tag}", "answer_element")


# --- the registry's formats ------------------------------------------------------------------------
def parse_date(text: str, where: str) -> dt.date:
    """dd/MM/yyyy."""
    try:
        return dt.datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise invalid(f"{where} {text!r} is not dd/MM/yyyy", f"date_{where}") from None


def parse_time(text: str, where: str) -> dt.datetime:
    """dd/MM/yyyy HH:mm:ss, Viet Nam time -> an aware datetime (UTC)."""
    try:
        local = dt.datetime.strptime(text, "%d/%m/%Y %H:%M:%S")
    except ValueError:
        raise invalid(f"{where} {text!r} is not dd/MM/yyyy HH:mm:ss", f"time_{where}") from None
    return local.replace(tzinfo=VN_TIME).astimezone(dt.UTC)


def format_date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def parse_area(text: str) -> Decimal:
    """Square metres with a decimal comma: "96,5" -> Decimal("96.5")."""
    if not re.fullmatch(r"[0-9]{1,9}(,[0-9]{1,2})?", text):
        raise invalid(f"DienTich {text!r} is not square metres with a decimal comma", "area_format")
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern above admits only decimals
        raise invalid(f"DienTich {text!r} is not a number", "area_format") from None
    if value <= 0:
        raise invalid(f"DienTich {text!r} is not a positive area", "area_positive")
    return value


def canonical_serial(serial: str) -> str:
    """A certificate serial as the hub stores it (no space, upper case), refused when malformed."""
    value = unicodedata.normalize("NFC", "".join(serial.split())).upper()
    if not _SERIAL.match(value):
        raise InvalidValue(f"certificate serial {serial!r} is not two letters and 6 to 8 digits",
                           code="REQUEST_INVALID", rule="certificate_serial")
    return value


def wire_serial(serial: str) -> str:
    """The registry's own way of writing a serial: one space after the two letters, "CS 123456"."""
    value = canonical_serial(serial)
    return f"{value[:2]} {value[2:]}"


def check_decision_ref(ref: str, rule: str = "decision_ref") -> str:
    """A decision number the registry accepts (SoQuyetDinhType): "15/QĐ-CCTHADS"."""
    value = ref.strip()
    if not _DECISION.match(value):
        raise InvalidValue(f"decision number {ref!r} is not <number>/<issuer suffix> without spaces",
                           code="REQUEST_INVALID", rule=rule)
    return value


# --- canonical -> wire ----------------------------------------------------------------------------
def parcels_of_owner_request(owner_id: str) -> etree._Element:
    """TraCuuThuaDatTheoChuSoHuu for the person ``owner_id`` (refused when not a valid personal id)."""
    return element(FIND_BY_OWNER, SoDinhDanh=decode_person_id(owner_id.strip()).value)


def parcel_by_certificate_request(serial: str) -> etree._Element:
    """TraCuuThuaDatTheoGiayChungNhan for the certificate ``serial`` (with or without the space)."""
    return element(FIND_BY_CERTIFICATE, SoPhatHanhGCN=wire_serial(serial))


# --- wire -> canonical ----------------------------------------------------------------------------
def former_district(old_text: str) -> str | None:
    """The district (huyện, quận, thị xã, thành phố thuộc tỉnh) a pre-2025 address names: the part
    before the province, when it is one."""
    parts = [p.strip() for p in old_text.split(",") if p.strip()]
    if len(parts) < 3:
        return None
    candidate = parts[-2]
    return candidate if candidate.casefold().startswith(_DISTRICT_WORDS) else None


def address_from(dia_chi: etree._Element) -> Address:
    province = dia_chi.find(q("TinhThanh"))
    if province is None:
        raise invalid("DiaChi/TinhThanh is missing", "missing_TinhThanh")
    code, name = required_text(province, "Ma"), required_text(province, "Ten")
    commune = required_text(dia_chi, "XaPhuong")
    street = text_of(dia_chi, "ChiTiet", required=False)
    full = text_of(dia_chi, "DiaChiDayDu", required=False)
    old = text_of(dia_chi, "DiaChiCu", required=False)
    extensions = {"TinhThanh/Ten": name}
    try:
        province_code: str | None = _province_code.validate_python(code)
    except ValidationError:
        found = resolve_province_name(name)
        province_code = found.code if found else None
        extensions["TinhThanh/Ma"] = code  # not one of the 34 units: kept as sent
    if old:
        extensions["DiaChiCu"] = old
    original = full or ", ".join(p for p in (street, commune, name) if p)
    return Address(original_text=original, province_code=province_code, commune=commune, street=street,
                   former_district=former_district(old) if old else None, extensions=extensions)


def encumbrances_from(thua_dat: etree._Element, extensions: dict[str, str]) -> list[Encumbrance]:
    found: list[Encumbrance] = []
    mortgage = thua_dat.find(q("TheChap"))
    if mortgage is not None:
        # The registry names the mortgagee but no contract number: the reference is its mortgage record.
        found.append(Encumbrance(kind=EncumbranceKind.MORTGAGE, reference="TheChap",
                                 holder=required_text(mortgage, "BenNhanTheChap")))
    for restriction in thua_dat.findall(q("HanChe")):
        reference = required_text(restriction, "SoQuyetDinh")
        kind_code = required_text(restriction, "LoaiHanChe")
        kind = RESTRICTION_KINDS.get(kind_code)
        if kind is None:
            raise invalid(f"LoaiHanChe {kind_code!r} is not in the contract's code list", "restriction_kind")
        state = required_text(restriction, "TrangThai")
        if state not in RESTRICTION_STATES:
            raise invalid(f"TrangThai {state!r} is not in the contract's code list", "restriction_state")
        extensions[f"HanChe/{reference}/TrangThai"] = state
        found.append(Encumbrance(kind=kind, reference=reference,
                                 registered_on=parse_date(required_text(restriction, "NgayDangKy"), "NgayDangKy"),
                                 holder=text_of(restriction, "CoQuanThiHanhAn", required=False)))
    return found


def parcel_from(thua_dat: etree._Element) -> LandParcel:
    """One ``ThuaDat`` as a canonical ``LandParcel``."""
    dia_chi = thua_dat.find(q("DiaChi"))
    if dia_chi is None:
        raise invalid("ThuaDat/DiaChi is missing", "missing_DiaChi")
    holders = thua_dat.findall(q("ChuSuDung"))
    if not holders:
        raise invalid("ThuaDat has no ChuSuDung", "missing_ChuSuDung")
    extensions: dict[str, str] = {}
    owners: list[str] = []
    for holder in holders:
        person_id, name = required_text(holder, "SoDinhDanh"), required_text(holder, "HoTen")
        extensions[f"ChuSuDung/{person_id}/HoTen"] = name
        try:
            owners.append(_person_id.validate_python(person_id))
        except ValidationError:
            extensions[f"ChuSuDung/{person_id}/SoDinhDanh"] = "not a valid personal id; kept here only"
    encumbrances = encumbrances_from(thua_dat, extensions)
    try:
        return LandParcel(
            certificate_serial=required_text(thua_dat, "SoPhatHanhGCN"),
            parcel_number=int(required_text(thua_dat, "SoThua")),
            map_sheet=int(required_text(thua_dat, "SoToBanDo")),
            address=address_from(dia_chi),
            area_m2=parse_area(required_text(thua_dat, "DienTich")),
            land_use=required_text(thua_dat, "MucDichSuDung"),
            owner_ids=owners,
            encumbrances=encumbrances,
            extensions=extensions,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise invalid(f"ThuaDat does not fit the canonical parcel: {where}: {first['msg']}",
                      "canonical_parcel") from None
    except ValueError as exc:  # int() of a non-number
        raise invalid(f"ThuaDat: {exc}", "canonical_parcel") from None


def parcels_of_owner_from(answer: etree._Element, owner_id: str) -> list[LandParcel]:
    """TraCuuThuaDatTheoChuSoHuuPhanHoi -> the parcels; the echoed id and the count are checked."""
    expect_root(answer, f"{FIND_BY_OWNER}PhanHoi")
    echoed = required_text(answer, "SoDinhDanh")
    if echoed != owner_id.strip():
        raise invalid("the answer is about another person than the one asked for", "owner_echo")
    parcels = [parcel_from(el) for el in answer.findall(q("ThuaDat"))]
    total = required_text(answer, "TongSo")
    if not total.isdigit() or int(total) != len(parcels):
        raise invalid(f"TongSo {total} but {len(parcels)} ThuaDat", "count")
    for parcel in parcels:
        if owner_id.strip() not in parcel.owner_ids:
            raise invalid(f"parcel {parcel.certificate_serial} does not name the person asked for", "owner_listed")
    return parcels


def parcel_by_certificate_from(answer: etree._Element, serial: str) -> LandParcel | None:
    """TraCuuThuaDatTheoGiayChungNhanPhanHoi -> the parcel, or None for KhongTimThay (a clean answer)."""
    expect_root(answer, f"{FIND_BY_CERTIFICATE}PhanHoi")
    asked = canonical_serial(serial)
    thua_dat, missing = answer.find(q("ThuaDat")), answer.find(q("KhongTimThay"))
    if (thua_dat is None) == (missing is None):
        raise invalid("expected exactly one of ThuaDat and KhongTimThay", "certificate_choice")
    if missing is not None:
        required_text(missing, "ThongBao")
        if canonical_serial(required_text(missing, "SoPhatHanhGCN")) != asked:
            raise invalid("KhongTimThay names another certificate than the one asked for", "serial_echo")
        return None
    assert thua_dat is not None
    parcel = parcel_from(thua_dat)
    if parcel.certificate_serial != asked:
        raise invalid("the answer is about another certificate than the one asked for", "serial_echo")
    return parcel


# --- where each element of the contract lands (checked against the XSD by the tests) ----------------
# Kinds: "canonical:<Model.field>", "extensions:<Model>.extensions[<key>]", "request:<source>" (built from
# a canonical value), "check:<what>" (an echo or a count verified against the request).
THUA_DAT_ELEMENTS: Final[dict[str, str]] = {
    "SoPhatHanhGCN": "canonical:LandParcel.certificate_serial",
    "SoThua": "canonical:LandParcel.parcel_number",
    "SoToBanDo": "canonical:LandParcel.map_sheet",
    "DiaChi/TinhThanh/Ma": "canonical:Address.province_code",
    "DiaChi/TinhThanh/Ten": "extensions:Address.extensions[TinhThanh/Ten]",
    "DiaChi/XaPhuong": "canonical:Address.commune",
    "DiaChi/ChiTiet": "canonical:Address.street",
    "DiaChi/DiaChiDayDu": "canonical:Address.original_text",
    "DiaChi/DiaChiCu": "extensions:Address.extensions[DiaChiCu]",
    "DienTich": "canonical:LandParcel.area_m2",
    "MucDichSuDung": "canonical:LandParcel.land_use",
    "ChuSuDung/SoDinhDanh": "canonical:LandParcel.owner_ids",
    "ChuSuDung/HoTen": "extensions:LandParcel.extensions[ChuSuDung/<SoDinhDanh>/HoTen]",
    "TheChap/BenNhanTheChap": "canonical:Encumbrance.holder",  # kind MORTGAGE, reference "TheChap"
    "HanChe/SoQuyetDinh": "canonical:Encumbrance.reference",
    "HanChe/LoaiHanChe": "canonical:Encumbrance.kind",
    "HanChe/NgayDangKy": "canonical:Encumbrance.registered_on",
    "HanChe/TrangThai": "extensions:LandParcel.extensions[HanChe/<SoQuyetDinh>/TrangThai]",
    "HanChe/CoQuanThiHanhAn": "canonical:Encumbrance.holder",
}

PARCEL_ELEMENTS: Final[dict[str, str]] = {
    f"{FIND_BY_OWNER}/SoDinhDanh": "request:owner_id (PersonIdStr)",
    f"{FIND_BY_OWNER}PhanHoi/SoDinhDanh": "check:equals the owner_id asked for",
    f"{FIND_BY_OWNER}PhanHoi/TongSo": "check:equals the number of LandParcel returned",
    **{f"{FIND_BY_OWNER}PhanHoi/ThuaDat/{k}": v for k, v in THUA_DAT_ELEMENTS.items()},
    f"{FIND_BY_CERTIFICATE}/SoPhatHanhGCN": "request:certificate_serial (CertificateSerial)",
    **{f"{FIND_BY_CERTIFICATE}PhanHoi/ThuaDat/{k}": v for k, v in THUA_DAT_ELEMENTS.items()},
    f"{FIND_BY_CERTIFICATE}PhanHoi/KhongTimThay/SoPhatHanhGCN": "check:equals the serial asked for; answer is None",
    f"{FIND_BY_CERTIFICATE}PhanHoi/KhongTimThay/ThongBao": "check:present; the not-found answer is None "
                                                          "(the text stays in the message log)",
}
