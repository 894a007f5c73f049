"""The court's judgment document (ba:BanAn of court-judgments.xsd) -> the canonical ``Judgment``.

One PURE function, :func:`judgment_from`, used twice: by the court connector for the documents it
reads back (GetJudgment, reconciliation) and by the hub's inbound SubmitJudgment endpoint for the
documents courts push. Both hand it the ``ba:BanAn`` element the envelope verifier returned as signed;
nothing here parses bytes, reads a clock or calls anyone.

Where the court's elements land:

- ``SoBanAn`` -> ``Judgment.number`` (``JudgmentNumber.parse``: "12/2024/DS-ST", "21/2014/HSST",
  "1750/2017/QĐPT-LĐ"); ``LoaiVanBan``, ``LoaiVuViec`` and ``CapXetXu`` restate what the number says and
  are checked against it (a disagreement is an invalid document);
- ``ToaAn`` -> ``Court`` (``MaToaAn`` code, ``TenToaAn`` name, ``CapToaAn`` -> ``CourtLevel``,
  ``MaTinhThanh`` the current provincial unit);
- ``NgayBanHanh`` / ``NgayCoHieuLuc`` (dd/MM/yyyy) -> ``issued_on`` / ``effective_on``;
- ``DuongSu`` -> ``JudgmentParty(role=TuCach, party=Party)``: ``CaNhan`` an individual whose
  ``full_name`` is ``HoTen`` as written, ``person_id`` the ``SoDinhDanh`` when it is a valid personal
  id that agrees with the birth written beside it (otherwise the number is kept in the party's
  extensions ``SoDinhDanh``, with the rule it broke in ``SoDinhDanh/KhongHopLe``), ``legacy_id`` the
  ``SoCMND``, ``birth_date`` the ``NgaySinh`` (a birth known only by its year stays in extensions
  ``NamSinh``); ``ToChuc`` an organisation with ``TenToChuc`` and its ``MaSoThue`` as ``tax_code``.
  ``DiaChi`` -> one ``Address`` whose ``original_text`` is the text as written, ``province_code`` the
  unit its last part names (a former province gives the unit it merged into), and ``former_district``
  the district an old-form address names. The party's ``ThuTu`` is kept in extensions ``ThuTu``.
  A party the court wrote without any number stays without one: identity is established later, from
  name, birth and address, never guessed here;
- ``NghiaVu`` -> ``Obligation`` in the judgment's order: TRA_TIEN -> pay_money to the obligee named,
  NOP_NGAN_SACH -> pay_money with no obligee (the State), GIAO_TAI_SAN -> hand_over_asset,
  THUC_HIEN_CONG_VIEC -> perform_act; ``KhoanAnPhi`` -> court_fee obligations. Parties are named by
  ``ThuTu`` and resolved to the parties' UUIDs;
- ``source_document_hash``: SHA-256 over the exclusive C14N form of the ``BanAn`` element as signed
  (the same function as ``adapters.envelope.canonical_hash``, written out here because mappings do
  not depend on adapters).

A document that breaks these rules raises ``AgencyInvalidResponse`` (rule named): the connector
validates the answer against the XSD first, so this is the second line, for what the schema cannot say.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections.abc import Mapping
from typing import Final
from uuid import UUID

from lxml import etree
from pydantic import TypeAdapter, ValidationError

from hub.errors import AgencyInvalidResponse, HubError, InvalidValue
from hub.model.judgment import Court, CourtLevel, Judgment, JudgmentParty, Obligation, ObligationKind
from hub.model.judgment_number import CaseType, Instance, JudgmentNumber
from hub.model.party import Address, Party, PartyKind, PartyRole
from hub.model.person_id import check_person_id_consistency, decode_person_id
from hub.model.provinces import ProvinceCode, resolve_province_name

NS: Final = "urn:vn:gov:toaan:banan:1"
NSMAP: Final = {"ba": NS}

# --- the court's code lists -> the canonical model ------------------------------------------------
COURT_LEVELS: Final[dict[str, CourtLevel]] = {
    "TOI_CAO": CourtLevel.SUPREME,
    "CAP_CAO": CourtLevel.HIGH,
    "TINH": CourtLevel.PROVINCIAL,
    "HUYEN": CourtLevel.DISTRICT,
    "KHU_VUC": CourtLevel.REGIONAL,
}
DOCUMENT_KINDS: Final[dict[str, str]] = {"BAN_AN": "judgment", "QUYET_DINH": "decision"}
CASE_TYPES: Final[dict[str, CaseType]] = {
    "DAN_SU": CaseType.DS,
    "HINH_SU": CaseType.HS,
    "HON_NHAN_GIA_DINH": CaseType.HNGD,
    "KINH_DOANH_THUONG_MAI": CaseType.KDTM,
    "LAO_DONG": CaseType.LD,
    "HANH_CHINH": CaseType.HC,
}
INSTANCES: Final[dict[str, Instance]] = {
    "SO_THAM": Instance.ST,
    "PHUC_THAM": Instance.PT,
    "GIAM_DOC_THAM": Instance.GDT,
    "TAI_THAM": Instance.TT,
}
ROLES: Final[dict[str, PartyRole]] = {
    "NGUOI_PHAI_THI_HANH_AN": PartyRole.OBLIGOR,
    "NGUOI_DUOC_THI_HANH_AN": PartyRole.OBLIGEE,
    "NGUOI_CO_QUYEN_LOI_NGHIA_VU_LIEN_QUAN": PartyRole.RELATED,
}
# LoaiNghiaVu -> (kind, an obligee party is required / forbidden / optional)
ORDER_KINDS: Final[dict[str, tuple[ObligationKind, bool | None]]] = {
    "TRA_TIEN": (ObligationKind.PAY_MONEY, True),  # paid to the obligee the order names
    "NOP_NGAN_SACH": (ObligationKind.PAY_MONEY, False),  # paid to the State: no obligee party
    "GIAO_TAI_SAN": (ObligationKind.HAND_OVER_ASSET, None),
    "THUC_HIEN_CONG_VIEC": (ObligationKind.PERFORM_ACT, None),
}

_DISTRICT_WORDS: Final = ("huyện ", "quận ", "thị xã ", "thành phố ", "tp ", "tp. ")
_province_code: TypeAdapter[str] = TypeAdapter(ProvinceCode)


# --- small readers ------------------------------------------------------------------------------------
def q(local: str) -> str:
    return f"{{{NS}}}{local}"


def invalid(detail: str, rule: str) -> AgencyInvalidResponse:
    return AgencyInvalidResponse(f"court document: {detail}", rule=rule)


def text_of(parent: etree._Element, local: str) -> str | None:
    """The child's text, NFC and stripped; None when the child is absent or empty."""
    child = parent.find(q(local))
    value = unicodedata.normalize("NFC", child.text or "").strip() if child is not None else ""
    return value or None


def required_text(parent: etree._Element, local: str) -> str:
    value = text_of(parent, local)
    if value is None:
        raise invalid(f"{etree.QName(parent).localname}/{local} is missing", f"missing_{local}")
    return value


def required_child(parent: etree._Element, local: str) -> etree._Element:
    child = parent.find(q(local))
    if child is None:
        raise invalid(f"{etree.QName(parent).localname}/{local} is missing", f"missing_{local}")
    return child


def coded(value: str, table: Mapping[str, object], where: str) -> None:
    if value not in table:
        raise invalid(f"{where} {value!r} is not in the contract's code list", f"code_{where}")


def parse_date(text: str, where: str) -> dt.date:
    """dd/MM/yyyy (the schema's pattern admits 31/02; the calendar does not)."""
    try:
        return dt.datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise invalid(f"{where} {text!r} is not a dd/MM/yyyy date", f"date_{where}") from None


def parse_amount(text: str, where: str) -> int:
    """Whole dong, digits only ("1433140000")."""
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text.startswith("0")):
        raise invalid(f"{where} {text!r} is not whole dong in digits", f"amount_{where}")
    return int(text)


def parse_position(text: str, where: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise invalid(f"{where} {text!r} is not a positive number", f"number_{where}")
    return int(text)


def canonical_hash(element: etree._Element) -> str:
    """SHA-256 (hex) over the exclusive canonical form: ``adapters.envelope.canonical_hash``."""
    return hashlib.sha256(etree.tostring(element, method="c14n", exclusive=True)).hexdigest()


def _refusal_text(exc: ValidationError | HubError) -> tuple[str, str | None]:
    if isinstance(exc, HubError):
        return exc.detail, exc.rule
    first = exc.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, HubError):
        return cause.detail, cause.rule
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", None


# --- addresses ------------------------------------------------------------------------------------------
def former_district(text: str) -> str | None:
    """The district (huyện, quận, thị xã, thành phố thuộc tỉnh) an old-form address names: the part just
    before the province, when it is one. Districts were abolished on 1 July 2025."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) < 3:
        return None
    candidate = parts[-2]
    return candidate if candidate.casefold().startswith(_DISTRICT_WORDS) else None


def address_from_text(text: str) -> Address:
    """``DiaChi`` as the party gave it: kept verbatim; the province its last part names (a former province
    gives the unit it merged into), and the former district of an old-form address. Commune and street are
    not split out of free text here: that reading is the address resolver's, later, not the court's."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    province = resolve_province_name(parts[-1]) if parts else None
    district = former_district(text)
    try:
        return Address(original_text=text, province_code=province.code if province else None,
                       former_district=district)
    except ValidationError:  # a district name longer than a short field: keep the text, lose nothing
        return Address(original_text=text, province_code=province.code if province else None,
                       extensions={"DiaChi/HuyenCu": district} if district else {})


# --- parties ----------------------------------------------------------------------------------------------
def _individual(person: etree._Element, extensions: dict[str, str]) -> dict[str, object]:
    fields: dict[str, object] = {"kind": PartyKind.INDIVIDUAL, "full_name": required_text(person, "HoTen")}
    birth_text, year = text_of(person, "NgaySinh"), text_of(person, "NamSinh")
    birth = parse_date(birth_text, "NgaySinh") if birth_text else None
    if birth is not None:
        fields["birth_date"] = birth
    if year is not None:
        if not (len(year) == 4 and year.isascii() and year.isdigit()):
            raise invalid(f"NamSinh {year!r} is not a year", "date_NamSinh")
        extensions["NamSinh"] = year
    person_id, legacy = text_of(person, "SoDinhDanh"), text_of(person, "SoCMND")
    if person_id is not None:
        try:
            info = decode_person_id(person_id)
            check_person_id_consistency(person_id, birth_date=birth, gender=None)
            if year is not None and int(year) != info.birth_year:
                raise InvalidValue("NamSinh differs from the birth year the personal id encodes",
                                   code="ID_INVALID", rule="birth_year_mismatch")
            fields["person_id"] = person_id
        except HubError as exc:  # kept as written, never dropped, never used as an identity
            extensions["SoDinhDanh"] = person_id
            extensions["SoDinhDanh/KhongHopLe"] = exc.rule or exc.code
    if legacy is not None:
        if not (len(legacy) == 9 and legacy.isascii() and legacy.isdigit()):
            raise invalid("SoCMND is not 9 digits", "legacy_id")
        fields["legacy_id"] = legacy
    return fields


def _organisation(org: etree._Element) -> dict[str, object]:
    fields: dict[str, object] = {"kind": PartyKind.ORGANISATION, "full_name": required_text(org, "TenToChuc")}
    tax_code = text_of(org, "MaSoThue")
    if tax_code is not None:
        fields["tax_code"] = tax_code
    return fields


def party_from(duong_su: etree._Element) -> tuple[int, JudgmentParty]:
    """One ``DuongSu`` -> (its ThuTu, the canonical party with its role)."""
    number = parse_position(required_text(duong_su, "ThuTu"), "ThuTu")
    role_code = required_text(duong_su, "TuCach")
    coded(role_code, ROLES, "TuCach")
    extensions: dict[str, str] = {"ThuTu": str(number)}
    person, org = duong_su.find(q("CaNhan")), duong_su.find(q("ToChuc"))
    if (person is None) == (org is None):
        raise invalid(f"party {number} must be exactly one of CaNhan and ToChuc", "party_choice")
    if person is not None:
        fields = _individual(person, extensions)
    else:
        assert org is not None  # one of the two, checked above
        fields = _organisation(org)
    address = address_from_text(required_text(duong_su, "DiaChi"))
    try:
        party = Party.model_validate({**fields, "addresses": [address], "extensions": extensions})
    except (ValidationError, HubError) as exc:
        detail, rule = _refusal_text(exc)
        raise invalid(f"party {number} does not fit the canonical party: {detail}",
                      f"canonical_party{'_' + rule if rule else ''}") from None
    return number, JudgmentParty(role=ROLES[role_code], party=party)


# --- obligations --------------------------------------------------------------------------------------
def _party_id(parties: dict[int, UUID], text: str, where: str) -> UUID:
    number = parse_position(text, where)
    if number not in parties:
        raise invalid(f"{where} {number} names no party of the document", "party_reference")
    return parties[number]


def _obligation(**fields: object) -> Obligation:
    try:
        return Obligation.model_validate(fields)
    except (ValidationError, HubError) as exc:
        detail, rule = _refusal_text(exc)
        raise invalid(f"an order does not fit the canonical obligation: {detail}",
                      f"canonical_obligation{'_' + rule if rule else ''}") from None


def orders_from(ban_an: etree._Element, parties: dict[int, UUID]) -> list[Obligation]:
    """``PhanQuyetDinh/NghiaVu`` then ``DanhSachAnPhi/KhoanAnPhi``, each in the document's order."""
    obligations: list[Obligation] = []
    seen: set[int] = set()
    for order in required_child(ban_an, "PhanQuyetDinh").findall(q("NghiaVu")):
        number = parse_position(required_text(order, "ThuTu"), "NghiaVu/ThuTu")
        if number in seen:
            raise invalid(f"two orders numbered {number}", "order_unique")
        seen.add(number)
        code = required_text(order, "LoaiNghiaVu")
        coded(code, ORDER_KINDS, "LoaiNghiaVu")
        kind, needs_obligee = ORDER_KINDS[code]
        obligee_text, amount_text = text_of(order, "NguoiDuocThiHanh"), text_of(order, "SoTien")
        if needs_obligee is True and obligee_text is None:
            raise invalid(f"order {number} ({code}) names no NguoiDuocThiHanh", "order_obligee")
        if needs_obligee is False and obligee_text is not None:
            raise invalid(f"order {number} ({code}) pays the State but names a NguoiDuocThiHanh", "order_obligee")
        obligations.append(_obligation(
            kind=kind, obligor_id=_party_id(parties, required_text(order, "NguoiPhaiThiHanh"), "NguoiPhaiThiHanh"),
            obligee_id=_party_id(parties, obligee_text, "NguoiDuocThiHanh") if obligee_text else None,
            amount_vnd=parse_amount(amount_text, "SoTien") if amount_text is not None else None,
            description=required_text(order, "NoiDung")))
    fees = ban_an.find(q("DanhSachAnPhi"))
    seen.clear()
    for fee in fees.findall(q("KhoanAnPhi")) if fees is not None else ():
        number = parse_position(required_text(fee, "ThuTu"), "KhoanAnPhi/ThuTu")
        if number in seen:
            raise invalid(f"two court fees numbered {number}", "fee_unique")
        seen.add(number)
        obligations.append(_obligation(
            kind=ObligationKind.COURT_FEE,
            obligor_id=_party_id(parties, required_text(fee, "NguoiPhaiNop"), "NguoiPhaiNop"),
            amount_vnd=parse_amount(required_text(fee, "SoTien"), "SoTien"),
            description=required_text(fee, "NoiDung")))
    return obligations


# --- the document ---------------------------------------------------------------------------------------
def court_from(toa_an: etree._Element) -> Court:
    level = required_text(toa_an, "CapToaAn")
    coded(level, COURT_LEVELS, "CapToaAn")
    province = required_text(toa_an, "MaTinhThanh")
    try:
        province_code = _province_code.validate_python(province)
    except (ValidationError, HubError):
        raise invalid(f"MaTinhThanh {province!r} is not one of the 34 provincial units", "court_province") from None
    try:
        return Court(code=required_text(toa_an, "MaToaAn"), name=required_text(toa_an, "TenToaAn"),
                     level=COURT_LEVELS[level], province_code=province_code)
    except ValidationError as exc:
        detail, _ = _refusal_text(exc)
        raise invalid(f"ToaAn does not fit the canonical court: {detail}", "canonical_court") from None


def number_from(ban_an: etree._Element) -> JudgmentNumber:
    """``SoBanAn`` parsed, checked against ``LoaiVanBan``, ``LoaiVuViec`` and ``CapXetXu``."""
    text = required_text(ban_an, "SoBanAn")
    try:
        number = JudgmentNumber.parse(text)
    except HubError as exc:
        raise invalid(f"SoBanAn {text!r}: {exc.detail}", f"number_{exc.rule}") from None
    for local, table, value in (("LoaiVanBan", DOCUMENT_KINDS, number.kind),
                                ("LoaiVuViec", CASE_TYPES, number.case_type),
                                ("CapXetXu", INSTANCES, number.instance)):
        code = required_text(ban_an, local)
        coded(code, table, local)
        if table[code] != value:
            raise invalid(f"{local} {code} contradicts the number {text}", f"number_{local}")
    return number


def judgment_from(ban_an: etree._Element) -> Judgment:
    """The signed ``ba:BanAn`` -> the canonical Judgment (``received_at`` left to the caller)."""
    if ban_an.tag != q("BanAn"):
        raise invalid(f"expected ba:BanAn, got {ban_an.tag}", "document_element")
    number = number_from(ban_an)
    court = court_from(required_child(ban_an, "ToaAn"))
    issued = parse_date(required_text(ban_an, "NgayBanHanh"), "NgayBanHanh")
    effective = parse_date(required_text(ban_an, "NgayCoHieuLuc"), "NgayCoHieuLuc")
    by_number: dict[int, JudgmentParty] = {}
    for duong_su in required_child(ban_an, "DanhSachDuongSu").findall(q("DuongSu")):
        position, party = party_from(duong_su)
        if position in by_number:
            raise invalid(f"two parties numbered {position}", "party_unique")
        by_number[position] = party
    if not by_number:
        raise invalid("the document names no party", "party_count")
    obligations = orders_from(ban_an, {n: jp.party.id for n, jp in by_number.items()})
    try:
        return Judgment(number=number, court=court, issued_on=issued, effective_on=effective,
                        parties=list(by_number.values()), obligations=obligations,
                        source_document_hash=canonical_hash(ban_an))
    except (ValidationError, HubError) as exc:
        detail, rule = _refusal_text(exc)
        raise invalid(f"the document does not fit the canonical judgment: {detail}",
                      f"canonical_judgment{'_' + rule if rule else ''}") from None


# --- where each element of ba:BanAn lands (paths from BanAn; checked against the XSD by the tests) -------
_PARTY = "DanhSachDuongSu/DuongSu"
BAN_AN_ELEMENTS: Final[dict[str, str]] = {
    "ToaAn/MaToaAn": "canonical:Court.code",
    "ToaAn/TenToaAn": "canonical:Court.name",
    "ToaAn/CapToaAn": "canonical:Court.level",
    "ToaAn/MaTinhThanh": "canonical:Court.province_code",
    "SoBanAn": "canonical:Judgment.number",
    "LoaiVanBan": "check:agrees with Judgment.number.kind (QĐ: decision)",
    "LoaiVuViec": "check:agrees with Judgment.number.case_type",
    "CapXetXu": "check:agrees with Judgment.number.instance",
    "NgayBanHanh": "canonical:Judgment.issued_on",
    "NgayCoHieuLuc": "canonical:Judgment.effective_on",
    f"{_PARTY}/ThuTu": "extensions:Party.extensions[ThuTu] (orders and fees name parties by it -> Party.id)",
    f"{_PARTY}/TuCach": "canonical:JudgmentParty.role",
    f"{_PARTY}/CaNhan/HoTen": "canonical:Party.full_name",
    f"{_PARTY}/CaNhan/SoDinhDanh": "canonical:Party.person_id (an invalid one: extensions[SoDinhDanh])",
    f"{_PARTY}/CaNhan/SoCMND": "canonical:Party.legacy_id",
    f"{_PARTY}/CaNhan/NgaySinh": "canonical:Party.birth_date",
    f"{_PARTY}/CaNhan/NamSinh": "extensions:Party.extensions[NamSinh]",
    f"{_PARTY}/ToChuc/TenToChuc": "canonical:Party.full_name",
    f"{_PARTY}/ToChuc/MaSoThue": "canonical:Party.tax_code",
    f"{_PARTY}/DiaChi": "canonical:Address.original_text (+ province_code, former_district)",
    "PhanQuyetDinh/NghiaVu/ThuTu": "check:unique; the order of Judgment.obligations",
    "PhanQuyetDinh/NghiaVu/LoaiNghiaVu": "canonical:Obligation.kind",
    "PhanQuyetDinh/NghiaVu/NguoiPhaiThiHanh": "canonical:Obligation.obligor_id",
    "PhanQuyetDinh/NghiaVu/NguoiDuocThiHanh": "canonical:Obligation.obligee_id",
    "PhanQuyetDinh/NghiaVu/SoTien": "canonical:Obligation.amount_vnd",
    "PhanQuyetDinh/NghiaVu/NoiDung": "canonical:Obligation.description",
    "DanhSachAnPhi/KhoanAnPhi/ThuTu": "check:unique; the order of the court_fee obligations",
    "DanhSachAnPhi/KhoanAnPhi/NguoiPhaiNop": "canonical:Obligation.obligor_id",
    "DanhSachAnPhi/KhoanAnPhi/SoTien": "canonical:Obligation.amount_vnd",
    "DanhSachAnPhi/KhoanAnPhi/NoiDung": "canonical:Obligation.description",
}
