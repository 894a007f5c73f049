"""Population database (Cơ sở dữ liệu quốc gia về dân cư) and VNeID: wire <-> canonical, pure functions.

Requests are built from canonical values (the citizen ID goes in the JSON body, never in a URL); answers
are read from the bytes the connector has already verified (JWS), validated against the strict wire
models of ``wire.py`` and only then mapped:

- ``HoVaTen`` -> ``Party.full_name`` as the agency spells it (NFC only); ``NgaySinh`` dd/MM/yyyy ->
  ``birth_date``; ``GioiTinh`` "1"/"2" -> ``Gender``; ``SoDinhDanh`` -> ``person_id``; ``SoCMND`` -> ``legacy_id``;
- ``NoiThuongTru`` -> ``addresses[0]`` (today's units: 2-digit province, commune, street line, the full
  text verbatim as ``original_text``);
- ``NoiThuongTruCu`` (the pre-1 July 2025 text, when the record still has it) -> ``addresses[1]``: the
  text verbatim, its former province resolved to the unit it merged into, the former district kept;
- ``QueQuan``, ``SoDienThoai``, ``Email``, ``DongYNhanThongBaoVNeID`` -> ``Party.extensions``.

``FIELDS`` declares where every member of every published schema lands; a test derives the member list
from the contract files and fails when one lands nowhere.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from hub.errors import AgencyInvalidResponse, InvalidValue
from hub.model import (
    Address,
    DeliveryEvent,
    DeliveryStatus,
    Gender,
    NotificationChannel,
    Party,
    PartyKind,
    SubjectHints,
    decode_person_id,
    resolve_province_name,
)
from mappings.population.wire import (
    CongDan,
    ThongBaoVNeIDKetQua,
    ThongBaoVNeIDYeuCau,
    TimKiemKetQua,
    TimKiemYeuCau,
    TraCuuKetQua,
    TraCuuYeuCau,
)

AGENCY = "population"
ICT = dt.timezone(dt.timedelta(hours=7), "ICT")

# Operations: the path under the agency's base URL and the name the hub signs in the JWS claim
# ``env.operation`` (``x-thads-operation`` in the contract).
OP_LOOKUP, PATH_LOOKUP = "TraCuuCongDan", "/v1/cong-dan/tra-cuu"
OP_SEARCH, PATH_SEARCH = "TimKiemCongDan", "/v1/cong-dan/tim-kiem"
OP_VNEID, PATH_VNEID = "GuiThongBaoVNeID", "/v1/vneid/thong-bao"
OP_TOKEN, PATH_TOKEN = "CapToken", "/oauth/token"

#: the agency's gender code list (GioiTinh)
GENDER_CODES: dict[str, Gender] = {"1": Gender.MALE, "2": Gender.FEMALE}
#: the agency's VNeID notification states (TrangThai)
VNEID_STATES: dict[str, DeliveryStatus] = {"DA_TIEP_NHAN": DeliveryStatus.ACCEPTED}

# --- the declared element table --------------------------------------------------------------------
# kind: canonical = a field of a canonical model ("Model.field", or "Model" for a whole record);
#       extension = kept verbatim in a model's extensions ("Model.extensions[key]");
#       argument  = a request member filled from the operation's input ("method(param)" / "CallContext.x");
#       result    = handed back by the operation as is;
#       error     = read into the typed AgencyError (class, detail, rule, extra);
#       protocol  = consumed by the exchange itself (tokens, result markers, counts, signatures).
CANONICAL, EXTENSION, ARGUMENT, RESULT, ERROR, PROTOCOL = (
    "canonical", "extension", "argument", "result", "error", "protocol")

FIELDS: dict[str, tuple[str, str]] = {
    # cong-dan.schema.json: the citizen record (inside CongDan / DanhSach[])
    "cong-dan.schema.json#/SoDinhDanh": (CANONICAL, "Party.person_id"),
    "cong-dan.schema.json#/SoCMND": (CANONICAL, "Party.legacy_id"),
    "cong-dan.schema.json#/HoVaTen": (CANONICAL, "Party.full_name"),
    "cong-dan.schema.json#/NgaySinh": (CANONICAL, "Party.birth_date"),
    "cong-dan.schema.json#/GioiTinh": (CANONICAL, "Party.gender"),
    "cong-dan.schema.json#/QueQuan/MaTinh": (EXTENSION, "Party.extensions[QueQuan.MaTinh]"),
    "cong-dan.schema.json#/QueQuan/TenTinh": (EXTENSION, "Party.extensions[QueQuan.TenTinh]"),
    "cong-dan.schema.json#/NoiThuongTru/MaTinh": (CANONICAL, "Address.province_code"),
    "cong-dan.schema.json#/NoiThuongTru/TenTinh": (EXTENSION, "Address.extensions[NoiThuongTru.TenTinh]"),
    "cong-dan.schema.json#/NoiThuongTru/XaPhuong": (CANONICAL, "Address.commune"),
    "cong-dan.schema.json#/NoiThuongTru/ChiTiet": (CANONICAL, "Address.street"),
    "cong-dan.schema.json#/NoiThuongTru/DiaChiDayDu": (CANONICAL, "Address.original_text"),
    "cong-dan.schema.json#/NoiThuongTruCu": (CANONICAL, "Address.former_district"),
    "cong-dan.schema.json#/SoDienThoai": (EXTENSION, "Party.extensions[SoDienThoai]"),
    "cong-dan.schema.json#/Email": (EXTENSION, "Party.extensions[Email]"),
    "cong-dan.schema.json#/DongYNhanThongBaoVNeID": (EXTENSION, "Party.extensions[DongYNhanThongBaoVNeID]"),
    # answers
    "tra-cuu.ket-qua.schema.json#/KetQua": (PROTOCOL, "must be TIM_THAY; a missing citizen is a 404"),
    "tra-cuu.ket-qua.schema.json#/CongDan": (CANONICAL, "Party"),
    "tim-kiem.ket-qua.schema.json#/TongSo": (PROTOCOL, "count of matches; the list is capped at 200"),
    "tim-kiem.ket-qua.schema.json#/DanhSach": (CANONICAL, "Party"),
    "thong-bao-vneid.ket-qua.schema.json#/MaThongBao": (RESULT, "notify_vneid() -> notification id"),
    "thong-bao-vneid.ket-qua.schema.json#/MaThamChieu": (PROTOCOL, "checked equal to the reference sent"),
    "thong-bao-vneid.ket-qua.schema.json#/TrangThai": (CANONICAL, "DeliveryEvent.status"),
    "thong-bao-vneid.ket-qua.schema.json#/ThoiGianTiepNhan": (CANONICAL, "DeliveryEvent.at"),
    # requests
    "tra-cuu.yeu-cau.schema.json#/SoDinhDanh": (CANONICAL, "Party.person_id"),
    "tim-kiem.yeu-cau.schema.json#/HoVaTen": (CANONICAL, "SubjectHints.full_name"),
    "tim-kiem.yeu-cau.schema.json#/NgaySinh": (CANONICAL, "SubjectHints.birth_date"),
    "tim-kiem.yeu-cau.schema.json#/MaTinh": (CANONICAL, "SubjectHints.province_code"),
    "thong-bao-vneid.yeu-cau.schema.json#/SoDinhDanh": (CANONICAL, "Party.person_id"),
    "thong-bao-vneid.yeu-cau.schema.json#/MaThamChieu": (ARGUMENT, "notify_vneid(reference)"),
    "thong-bao-vneid.yeu-cau.schema.json#/TieuDe": (ARGUMENT, "notify_vneid(title)"),
    "thong-bao-vneid.yeu-cau.schema.json#/NoiDung": (ARGUMENT, "notify_vneid(text)"),
    "thong-bao-vneid.yeu-cau.schema.json#/MaHoSo": (ARGUMENT, "CallContext.case_ref"),
    "thong-bao-vneid.yeu-cau.schema.json#/DuongDanTaiLieu": (ARGUMENT, "notify_vneid(document_url)"),
    # refusals
    "loi.schema.json#/MaLoi": (ERROR, "AgencyError.extra[agency_code]"),
    "loi.schema.json#/MoTaLoi": (ERROR, "AgencyError.detail"),
    "loi.schema.json#/MaLoiChuan": (ERROR, "AgencyError.extra[registry_code]"),
    "loi.schema.json#/QuyTac": (ERROR, "AgencyError.rule"),
    "loi.schema.json#/ThoiGian": (ERROR, "AgencyError.extra[agency_time]"),
    # OAuth 2.0 client credentials
    "token.ket-qua.schema.json#/access_token": (PROTOCOL, "bearer token, cached per process, never logged"),
    "token.ket-qua.schema.json#/token_type": (PROTOCOL, "must be Bearer"),
    "token.ket-qua.schema.json#/expires_in": (PROTOCOL, "refresh the cached token before it expires"),
    "token.loi.schema.json#/error": (ERROR, "AgencyError.rule"),
    "token.loi.schema.json#/error_description": (ERROR, "AgencyError.detail"),
    "openapi.json#CapToken/grant_type": (PROTOCOL, "client_credentials"),
    "openapi.json#CapToken/client_id": (PROTOCOL, "AgencyConfig.auth.client_id"),
    "openapi.json#CapToken/client_secret": (PROTOCOL, "AgencyConfig.auth.client_secret"),
    "openapi.json#header/X-JWS-Signature": (PROTOCOL, "the hub's detached JWS; the answer's is verified"),
}


# --- dates -----------------------------------------------------------------------------------------
_VN_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")
_VN_TIMESTAMP = re.compile(r"(\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2}):(\d{2})")


def parse_vn_date(text: str) -> dt.date:
    """dd/MM/yyyy -> date; ValueError for anything else (31/02/2000 included)."""
    m = _VN_DATE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not dd/MM/yyyy")
    day, month, year = (int(g) for g in m.groups())
    return dt.date(year, month, day)


def format_vn_date(value: dt.date) -> str:
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def parse_vn_timestamp(text: str) -> dt.datetime:
    """dd/MM/yyyy HH:mm:ss in Vietnam time (UTC+7) -> an aware UTC datetime."""
    m = _VN_TIMESTAMP.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not dd/MM/yyyy HH:mm:ss")
    d, mo, y, h, mi, s = (int(g) for g in m.groups())
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=ICT).astimezone(dt.UTC)


# --- requests ---------------------------------------------------------------------------------------
def _where(exc: ValidationError) -> str:
    """Where a model refused a value, without the value (it may be a citizen ID)."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return ", ".join(".".join(str(p) for p in e["loc"]) or "(body)" for e in errors)


W = TypeVar("W", bound=BaseModel)


def _build(model: type[W], **values: Any) -> dict[str, Any]:
    try:
        return model(**values).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise InvalidValue(f"{AGENCY} request: a value breaks the contract at {_where(exc)}",
                           code="REQUEST_INVALID", rule=_where(exc)) from None


def lookup_request(person_id: str) -> dict[str, Any]:
    """POST /v1/cong-dan/tra-cuu body. The ID is checked (ID_INVALID) before it goes anywhere."""
    decode_person_id(person_id)
    return _build(TraCuuYeuCau, SoDinhDanh=person_id)


def search_request(hints: SubjectHints) -> dict[str, Any]:
    """POST /v1/cong-dan/tim-kiem body: name + birth date (+ current province code).

    The agency needs a birth date (or year): a search by name alone is refused here, not sent.
    """
    if hints.birth_date is not None:
        born = format_vn_date(hints.birth_date)
    elif hints.birth_year is not None:  # judgments often say only "sinh năm 1980"; the agency takes a year
        born = str(hints.birth_year)
    else:
        raise InvalidValue("the population database searches by name and birth date or year; neither given",
                           code="REQUEST_INVALID", rule="birth_date_required")
    return _build(TimKiemYeuCau, HoVaTen=hints.full_name, NgaySinh=born, MaTinh=hints.province_code)


def vneid_request(person_id: str, reference: str, title: str, text: str, *, case_ref: str | None = None,
                  document_url: str | None = None) -> dict[str, Any]:
    """POST /v1/vneid/thong-bao body; idempotent at the agency by ``reference`` (MaThamChieu)."""
    decode_person_id(person_id)
    return _build(ThongBaoVNeIDYeuCau, SoDinhDanh=person_id, MaThamChieu=reference, TieuDe=title, NoiDung=text,
                  MaHoSo=case_ref, DuongDanTaiLieu=document_url)


# --- answers ----------------------------------------------------------------------------------------
def _invalid(detail: str, rule: str) -> AgencyInvalidResponse:
    return AgencyInvalidResponse(f"{AGENCY}: {detail}", rule=rule)


def _read(model: type[W], raw: bytes, what: str) -> W:
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise _invalid(f"the {what} answer breaks its schema at {_where(exc)}", "answer_schema") from None


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def current_address(rec: CongDan) -> Address:
    """NoiThuongTru: the permanent address in today's units."""
    a = rec.NoiThuongTru
    return Address(original_text=a.DiaChiDayDu, province_code=a.MaTinh, commune=a.XaPhuong or None,
                   street=a.ChiTiet or None, extensions={"NoiThuongTru.TenTinh": a.TenTinh})


_DISTRICT_PREFIXES = ("huyện ", "quận ", "thị xã ", "thành phố ")
_COMMUNE_PREFIXES = ("xã ", "phường ", "thị trấn ", "đặc khu ")


def old_address(text: str) -> Address:
    """NoiThuongTruCu: an address written before 1 July 2025 ("street, xã X, huyện Y, tỉnh Z").

    The text is kept verbatim; the former province is resolved to the unit it merged into, the
    district kept as ``former_district``, the commune written with a capital as the agency writes
    today's (``Xã X``). A text of another shape keeps only what can be read safely.
    """
    text = unicodedata.normalize("NFC", text)
    parts = [p.strip() for p in text.split(",") if p.strip()]
    province = resolve_province_name(parts[-1]) if parts else None
    district = commune = street = None
    rest = parts[:-1]
    if rest and rest[-1].casefold().startswith(_DISTRICT_PREFIXES):
        district, rest = rest[-1], rest[:-1]
    if rest and rest[-1].casefold().startswith(_COMMUNE_PREFIXES):
        commune, rest = _capitalised(rest[-1]), rest[:-1]
    if rest and (district or commune):
        street = ", ".join(rest)
    try:
        return Address(original_text=text, province_code=province.code if province else None, commune=commune,
                       street=street, former_district=district)
    except ValidationError:  # a part too long for a short field: keep the text, lose nothing
        return Address(original_text=text, province_code=province.code if province else None)


def party_from_record(rec: CongDan) -> Party:
    """One citizen record -> Party. Raises AgencyInvalidResponse when the record breaks a canonical rule
    (an ID that disagrees with the birth date, an unknown province...)."""
    extensions = {"QueQuan.MaTinh": rec.QueQuan.MaTinh,
                  "DongYNhanThongBaoVNeID": "true" if rec.DongYNhanThongBaoVNeID else "false"}
    for key, value in (("QueQuan.TenTinh", rec.QueQuan.TenTinh), ("SoDienThoai", rec.SoDienThoai),
                       ("Email", rec.Email)):
        if value is not None:
            extensions[key] = value
    try:
        addresses = [current_address(rec)]
        if rec.NoiThuongTruCu:
            addresses.append(old_address(rec.NoiThuongTruCu))
        return Party(kind=PartyKind.INDIVIDUAL, full_name=rec.HoVaTen, birth_date=parse_vn_date(rec.NgaySinh),
                     gender=GENDER_CODES[rec.GioiTinh], person_id=rec.SoDinhDanh, legacy_id=rec.SoCMND,
                     addresses=addresses, extensions=extensions)
    except ValidationError as exc:
        raise _invalid(f"a citizen record breaks the canonical model at {_where(exc)}", "record_invalid") from None
    except InvalidValue as exc:
        raise _invalid(f"a citizen record breaks rule {exc.rule}", "record_invalid") from None
    except ValueError:
        raise _invalid("a citizen record has a date that does not exist", "record_invalid") from None


def parse_lookup(raw: bytes) -> Party:
    """The verified TraCuuCongDan answer -> Party."""
    return party_from_record(_read(TraCuuKetQua, raw, OP_LOOKUP).CongDan)


def parse_lookup_residence(raw: bytes) -> Address:
    """The verified TraCuuCongDan answer -> the current permanent address only."""
    rec = _read(TraCuuKetQua, raw, OP_LOOKUP).CongDan
    try:
        return current_address(rec)
    except ValidationError as exc:
        raise _invalid(f"the permanent address breaks the canonical model at {_where(exc)}",
                       "record_invalid") from None


def parse_search(raw: bytes) -> list[Party]:
    """The verified TimKiemCongDan answer -> every match, in the agency's order."""
    answer = _read(TimKiemKetQua, raw, OP_SEARCH)
    if answer.TongSo < len(answer.DanhSach):
        raise _invalid("TongSo is smaller than the list it counts", "search_count")
    return [party_from_record(rec) for rec in answer.DanhSach]


@dataclass(frozen=True)
class VneidReceipt:
    """What the agency said of a VNeID notification: its id, the sender's reference, and the event."""

    notification_id: str
    reference: str
    event: DeliveryEvent


def parse_vneid(raw: bytes, reference: str) -> VneidReceipt:
    """The verified GuiThongBaoVNeID answer; its MaThamChieu must be the one sent."""
    answer = _read(ThongBaoVNeIDKetQua, raw, OP_VNEID)
    if answer.MaThamChieu != reference:
        raise _invalid("the answer names another MaThamChieu than the one sent", "reference_mismatch")
    try:
        at = parse_vn_timestamp(answer.ThoiGianTiepNhan)
    except ValueError:
        raise _invalid("ThoiGianTiepNhan is not a real moment", "answer_schema") from None
    event = DeliveryEvent(at=at, status=VNEID_STATES[answer.TrangThai], channel=NotificationChannel.VNEID)
    return VneidReceipt(notification_id=answer.MaThongBao, reference=answer.MaThamChieu, event=event)
