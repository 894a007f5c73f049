"""VNPost registered mail: wire <-> canonical, pure functions (no I/O).

- ``create_request`` builds the TaoBuuGui body from canonical values (an ``Address`` and the document
  reference); VNPost makes it idempotent by the sender's reference (``maThamChieu``).
- ``parse_created`` / ``parse_status`` read the verified answers (``{"thanhCong": true, "duLieu": ...}``);
  tracking numbers are UPU S10 and are checked with their check digit.
- ``event_from_webhook`` maps one pushed event (``su-kien.schema.json``) to a ``DeliveryEvent``;
  ``verify_postal_hmac`` checks the ``X-VNPost-Timestamp`` / ``X-VNPost-Signature`` headers of an answer
  or a webhook (HMAC-SHA256 over ``timestamp + "." + body``, a bounded clock skew).
- ``VNPOST_STATES`` maps VNPost's state codes to the canonical ``DeliveryStatus``.

``DeliveryEvent`` has no ``extensions`` yet: the event members it has no place for (event id, sequence,
office, signer, return-reason code...) are returned by ``event_extensions`` and, once the model has the
field, filled into it by ``event_from_webhook`` as well.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.errors import (
    AgencyError,
    AgencyInvalidResponse,
    AgencyNotFound,
    AgencyRejected,
    AgencyUnavailable,
    HubError,
    InvalidValue,
)
from hub.model import Address, DeliveryEvent, DeliveryStatus, NotificationChannel

AGENCY = "postal"
ICT = dt.timezone(dt.timedelta(hours=7), "ICT")

OP_CREATE, PATH_CREATE = "TaoBuuGui", "/v1/buu-gui"
OP_STATUS, PATH_STATUS = "TraCuuBuuGui", "/v1/buu-gui/{tracking}"

API_KEY_HEADER = "X-API-Key"
TIMESTAMP_HEADER = "X-VNPost-Timestamp"
SIGNATURE_HEADER = "X-VNPost-Signature"
EVENT_ID_HEADER = "X-VNPost-Event-Id"
ATTEMPT_HEADER = "X-VNPost-Delivery-Attempt"
HMAC_TOLERANCE_S = 300.0  # the contract: receivers refuse a timestamp more than 5 minutes off

REFERENCE = r"^[A-Za-z0-9._:/-]{1,64}$"
S10 = r"^RR[0-9]{9}VN$"
VN_TIMESTAMP = r"^[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}$"

#: VNPost journey states -> canonical delivery status (KHOI_TAO: created, not yet handed to the post)
VNPOST_STATES: dict[str, DeliveryStatus] = {
    "KHOI_TAO": DeliveryStatus.QUEUED,
    "DA_NHAN_GUI": DeliveryStatus.ACCEPTED,
    "DANG_VAN_CHUYEN": DeliveryStatus.IN_TRANSIT,
    "DA_PHAT": DeliveryStatus.DELIVERED,
    "CHUYEN_HOAN": DeliveryStatus.RETURNED,
}

# --- the declared element table (kinds as in mappings.population.citizen) ------------------------------
CANONICAL, EXTENSION, ARGUMENT, RESULT, ERROR, PROTOCOL = (
    "canonical", "extension", "argument", "result", "error", "protocol")

FIELDS: dict[str, tuple[str, str]] = {
    # tao-buu-gui.yeu-cau.schema.json: the request
    "tao-buu-gui.yeu-cau.schema.json#/maThamChieu": (ARGUMENT, "create_shipment(reference)"),
    "tao-buu-gui.yeu-cau.schema.json#/tenNguoiNhan": (ARGUMENT, "create_shipment(recipient_name)"),
    "tao-buu-gui.yeu-cau.schema.json#/diaChiNguoiNhan": (CANONICAL, "Address.street"),
    "tao-buu-gui.yeu-cau.schema.json#/xaPhuongNhan": (CANONICAL, "Address.commune"),
    "tao-buu-gui.yeu-cau.schema.json#/maTinhNhan": (CANONICAL, "Address.province_code"),
    "tao-buu-gui.yeu-cau.schema.json#/soDienThoaiNhan": (ARGUMENT, "create_shipment(recipient_phone)"),
    "tao-buu-gui.yeu-cau.schema.json#/soHieuVanBan": (CANONICAL, "Notification.document_ref"),
    "tao-buu-gui.yeu-cau.schema.json#/trichYeu": (ARGUMENT, "create_shipment(summary)"),
    "tao-buu-gui.yeu-cau.schema.json#/buuCucGui": (ARGUMENT, "create_shipment(sender_office)"),
    "tao-buu-gui.yeu-cau.schema.json#/urlCallback": (ARGUMENT, "create_shipment(callback_url)"),
    # tao-buu-gui.ket-qua.schema.json
    "tao-buu-gui.ket-qua.schema.json#/thanhCong": (PROTOCOL, "must be true on a 200/201"),
    "tao-buu-gui.ket-qua.schema.json#/duLieu/soHieuBuuGui": (CANONICAL, "DeliveryEvent.tracking_number"),
    "tao-buu-gui.ket-qua.schema.json#/duLieu/maThamChieu": (PROTOCOL, "checked equal to the reference sent"),
    "tao-buu-gui.ket-qua.schema.json#/duLieu/trangThai": (CANONICAL, "DeliveryEvent.status"),
    "tao-buu-gui.ket-qua.schema.json#/duLieu/ngayNhanGui": (CANONICAL, "DeliveryEvent.at"),
    # trang-thai.ket-qua.schema.json
    "trang-thai.ket-qua.schema.json#/thanhCong": (PROTOCOL, "must be true on a 200"),
    "trang-thai.ket-qua.schema.json#/duLieu/soHieuBuuGui": (PROTOCOL, "checked equal to the number asked"),
    "trang-thai.ket-qua.schema.json#/duLieu/maThamChieu": (EXTENSION, "DeliveryEvent.extensions[maThamChieu]"),
    "trang-thai.ket-qua.schema.json#/duLieu/trangThai": (CANONICAL, "DeliveryEvent.status"),
    "trang-thai.ket-qua.schema.json#/duLieu/lichSu": (CANONICAL, "DeliveryEvent"),
    # su-kien.schema.json: one journey event (webhook body, and each lichSu entry)
    "su-kien.schema.json#/maSuKien": (EXTENSION, "DeliveryEvent.extensions[maSuKien]"),
    "su-kien.schema.json#/soHieuBuuGui": (CANONICAL, "DeliveryEvent.tracking_number"),
    "su-kien.schema.json#/maThamChieu": (EXTENSION, "DeliveryEvent.extensions[maThamChieu]"),
    "su-kien.schema.json#/thuTu": (EXTENSION, "DeliveryEvent.extensions[thuTu]"),
    "su-kien.schema.json#/trangThai": (CANONICAL, "DeliveryEvent.status"),
    "su-kien.schema.json#/moTa": (EXTENSION, "DeliveryEvent.extensions[moTa]"),
    "su-kien.schema.json#/thoiGian": (CANONICAL, "DeliveryEvent.at"),
    "su-kien.schema.json#/buuCuc": (EXTENSION, "DeliveryEvent.extensions[buuCuc]"),
    "su-kien.schema.json#/nguoiNhan": (EXTENSION, "DeliveryEvent.extensions[nguoiNhan]"),
    "su-kien.schema.json#/maLyDoHoan": (EXTENSION, "DeliveryEvent.extensions[maLyDoHoan]"),
    "su-kien.schema.json#/lyDoHoan": (CANONICAL, "DeliveryEvent.reason"),
    # loi.schema.json: refusals
    "loi.schema.json#/thanhCong": (PROTOCOL, "false on every refusal"),
    "loi.schema.json#/maLoi": (ERROR, "AgencyError.extra[agency_code]"),
    "loi.schema.json#/thongBao": (ERROR, "AgencyError.detail"),
    "loi.schema.json#/maLoiChuan": (ERROR, "AgencyError.extra[registry_code]"),
    "loi.schema.json#/quyTac": (ERROR, "AgencyError.rule"),
    # openapi.json: headers
    "openapi.json#header/X-API-Key": (PROTOCOL, "AgencyConfig.auth.api_key"),
    "openapi.json#header/X-VNPost-Timestamp": (PROTOCOL, "verify_postal_hmac(timestamp)"),
    "openapi.json#header/X-VNPost-Signature": (PROTOCOL, "verify_postal_hmac(signature_header)"),
    "openapi.json#path/soHieuBuuGui": (ARGUMENT, "shipment_status(tracking)"),
}

#: the su-kien members with no canonical place, kept as event extensions (strings)
EVENT_EXTENSION_KEYS = ("maSuKien", "maThamChieu", "thuTu", "moTa", "buuCuc", "nguoiNhan", "maLyDoHoan")


# --- wire models (strict, matching the published JSON Schemas) -----------------------------------------
class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TaoBuuGuiYeuCau(_Wire):
    maThamChieu: str = Field(pattern=REFERENCE)
    tenNguoiNhan: str = Field(min_length=1, max_length=100)
    diaChiNguoiNhan: str = Field(min_length=1, max_length=300)
    xaPhuongNhan: str | None = Field(default=None, max_length=100)
    maTinhNhan: str = Field(pattern=r"^[0-9]{2}$")
    soDienThoaiNhan: str | None = Field(default=None, pattern=r"^0[0-9]{9,10}$")
    soHieuVanBan: str = Field(min_length=1, max_length=100)
    trichYeu: str | None = Field(default=None, max_length=300)
    buuCucGui: str = Field(min_length=1, max_length=100)
    urlCallback: str | None = Field(default=None, pattern=r"^https?://", max_length=500)


class BuuGuiMoi(_Wire):
    soHieuBuuGui: str = Field(pattern=S10)
    maThamChieu: str = Field(pattern=REFERENCE)
    trangThai: Literal["KHOI_TAO"]
    ngayNhanGui: str = Field(pattern=VN_TIMESTAMP)


class TaoBuuGuiKetQua(_Wire):
    thanhCong: Literal[True]
    duLieu: BuuGuiMoi


class SuKien(_Wire):
    maSuKien: str = Field(pattern=r"^EV-[0-9a-f]{20}$")
    soHieuBuuGui: str = Field(pattern=S10)
    maThamChieu: str = Field(pattern=REFERENCE)
    thuTu: int = Field(ge=1)
    trangThai: Literal["DA_NHAN_GUI", "DANG_VAN_CHUYEN", "DA_PHAT", "CHUYEN_HOAN"]
    moTa: str
    thoiGian: str = Field(pattern=VN_TIMESTAMP)
    buuCuc: str
    nguoiNhan: str | None
    maLyDoHoan: Literal["KHONG_CO_NGUOI_NHAN", "SAI_DIA_CHI", "TU_CHOI_NHAN", "DA_CHUYEN_DI",
                        "HET_THOI_HAN_LUU"] | None
    lyDoHoan: str | None


class TrangThaiBuuGui(_Wire):
    soHieuBuuGui: str = Field(pattern=S10)
    maThamChieu: str = Field(pattern=REFERENCE)
    trangThai: Literal["KHOI_TAO", "DA_NHAN_GUI", "DANG_VAN_CHUYEN", "DA_PHAT", "CHUYEN_HOAN"]
    lichSu: list[SuKien]


class TrangThaiKetQua(_Wire):
    thanhCong: Literal[True]
    duLieu: TrangThaiBuuGui


class Loi(_Wire):
    thanhCong: Literal[False]
    maLoi: Literal["VNP-400", "VNP-401", "VNP-404", "VNP-405", "VNP-409", "VNP-413", "VNP-415", "VNP-500",
                   "VNP-503", "VNP-504"]
    thongBao: str
    maLoiChuan: str = Field(pattern=r"^[A-Z_]+$")
    quyTac: str | None


SCHEMA_MODELS: dict[str, type[_Wire]] = {
    "tao-buu-gui.yeu-cau.schema.json": TaoBuuGuiYeuCau,
    "tao-buu-gui.ket-qua.schema.json": TaoBuuGuiKetQua,
    "trang-thai.ket-qua.schema.json": TrangThaiKetQua,
    "su-kien.schema.json": SuKien,
    "loi.schema.json": Loi,
}


# --- UPU S10 ------------------------------------------------------------------------------------------
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_S10 = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")


def s10_check_digit(serial: str) -> int:
    """Over 8 serial digits: weights 8,6,4,2,3,5,9,7; 11 - (sum mod 11); 10 -> 0 and 11 -> 5."""
    if len(serial) != 8 or not serial.isascii() or not serial.isdigit():
        raise ValueError("an S10 serial is 8 digits")
    c = 11 - sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(c, c)


def s10_valid(number: str) -> bool:
    """RR123456785VN: two letters, 8 serial digits, the check digit, two letters."""
    return bool(_S10.fullmatch(number)) and s10_check_digit(number[2:10]) == int(number[10])


def check_tracking(number: str) -> str:
    """A tracking number the caller gave: refused (REQUEST_INVALID) unless it is a valid S10 number."""
    if not s10_valid(number):
        raise InvalidValue("not a UPU S10 tracking number with a valid check digit", code="REQUEST_INVALID",
                           rule="s10_tracking_number")
    return number


# --- HMAC ---------------------------------------------------------------------------------------------
def postal_hmac(secret: str, timestamp: str, body: bytes) -> str:
    """The X-VNPost-Signature value: ``sha256=`` + hex HMAC-SHA256(secret, timestamp + "." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


_SIGNATURE = re.compile(r"sha256=([0-9a-f]{64})")


def verify_postal_hmac(secret: str, timestamp: str | None, body: bytes, signature_header: str | None,
                       now: float, tolerance_s: float = HMAC_TOLERANCE_S) -> None:
    """Check VNPost's HMAC headers over the raw body; raise a SIGNATURE_INVALID refusal otherwise.

    ``now`` is Unix seconds. The timestamp must be within ``tolerance_s`` of it either way, so a captured
    answer or event cannot be replayed later; the comparison is constant-time.
    """
    def bad(detail: str, rule: str) -> HubError:
        return HubError(f"{AGENCY}: {detail}", code="SIGNATURE_INVALID", rule=rule)

    if not secret:
        raise bad("no HMAC secret is configured", "hmac_secret_missing")
    if not timestamp or not signature_header:
        raise bad(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required", "signature_present")
    ts = timestamp.strip()
    if not ts.isascii() or not ts.isdigit() or len(ts) > 12:
        raise bad(f"{TIMESTAMP_HEADER} is not Unix seconds", "hmac_timestamp")
    if abs(now - int(ts)) > tolerance_s:
        raise bad(f"{TIMESTAMP_HEADER} is more than {tolerance_s:.0f} s away from now", "hmac_timestamp_window")
    m = _SIGNATURE.fullmatch(signature_header.strip())
    if m is None:
        raise bad(f"{SIGNATURE_HEADER} is not sha256=<64 hex>", "hmac_form")
    if not hmac.compare_digest(postal_hmac(secret, ts, body), f"sha256={m.group(1)}"):
        raise bad("the HMAC does not match the body", "hmac_mismatch")


# --- helpers ------------------------------------------------------------------------------------------
def _where(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return ", ".join(".".join(str(p) for p in e["loc"]) or "(body)" for e in errors)


W = TypeVar("W", bound=_Wire)


def _invalid(detail: str, rule: str) -> AgencyInvalidResponse:
    return AgencyInvalidResponse(f"{AGENCY}: {detail}", rule=rule)


def _read(model: type[W], raw: bytes, what: str) -> W:
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise _invalid(f"the {what} answer breaks its schema at {_where(exc)}", "answer_schema") from None


def parse_vn_timestamp(text: str) -> dt.datetime:
    """dd/MM/yyyy HH:mm:ss, Vietnam time (UTC+7) -> aware UTC; ValueError when it is no real moment."""
    return dt.datetime.strptime(text.strip(), "%d/%m/%Y %H:%M:%S").replace(tzinfo=ICT).astimezone(dt.UTC)


# --- requests -----------------------------------------------------------------------------------------
def create_request(reference: str, recipient_name: str, address: Address, document_ref: str, sender_office: str,
                   *, recipient_phone: str | None = None, summary: str | None = None,
                   callback_url: str | None = None) -> dict[str, Any]:
    """The TaoBuuGui body. The address needs its province (one of the 34); the street line and commune
    go separately when known, else the address text as received."""
    if address.province_code is None:
        raise InvalidValue("a registered letter needs the recipient's province; the address has none",
                           code="PROVINCE_UNKNOWN", rule="maTinhNhan")
    street = address.street if address.street and address.commune else address.original_text
    try:
        body = TaoBuuGuiYeuCau(maThamChieu=reference, tenNguoiNhan=recipient_name, diaChiNguoiNhan=street,
                               xaPhuongNhan=address.commune, maTinhNhan=address.province_code,
                               soDienThoaiNhan=recipient_phone, soHieuVanBan=document_ref, trichYeu=summary,
                               buuCucGui=sender_office, urlCallback=callback_url)
    except ValidationError as exc:
        raise InvalidValue(f"{AGENCY} request: a value breaks the contract at {_where(exc)}",
                           code="REQUEST_INVALID", rule=_where(exc)) from None
    return body.model_dump(exclude_none=True)


def status_path(tracking: str) -> str:
    return PATH_STATUS.format(tracking=check_tracking(tracking))


# --- answers ------------------------------------------------------------------------------------------
def parse_created(raw: bytes, reference: str) -> str:
    """The verified TaoBuuGui answer -> the S10 tracking number (its check digit verified)."""
    data = _read(TaoBuuGuiKetQua, raw, OP_CREATE).duLieu
    if data.maThamChieu != reference:
        raise _invalid("the answer names another maThamChieu than the one sent", "reference_mismatch")
    if not s10_valid(data.soHieuBuuGui):
        raise _invalid("soHieuBuuGui fails the S10 check digit", "s10_check_digit")
    return data.soHieuBuuGui


def event_extensions(event: SuKien) -> dict[str, str]:
    """The members of a journey event that DeliveryEvent has no field for, as strings (None left out)."""
    values: dict[str, Any] = {key: getattr(event, key) for key in EVENT_EXTENSION_KEYS}
    return {key: str(value) for key, value in values.items() if value is not None}


def _event(event: SuKien) -> DeliveryEvent:
    if not s10_valid(event.soHieuBuuGui):
        raise ValueError("soHieuBuuGui fails the S10 check digit")
    values: dict[str, Any] = {
        "at": parse_vn_timestamp(event.thoiGian), "status": VNPOST_STATES[event.trangThai],
        "channel": NotificationChannel.POSTAL, "tracking_number": event.soHieuBuuGui,
        "reason": (event.lyDoHoan or event.maLyDoHoan) if event.trangThai == "CHUYEN_HOAN" else None}
    if "extensions" in DeliveryEvent.model_fields:  # pragma: no cover - once the model has the field
        values["extensions"] = event_extensions(event)
    return DeliveryEvent(**values)


def parse_status(raw: bytes, tracking: str) -> list[DeliveryEvent]:
    """The verified TraCuuBuuGui answer -> its journey as DeliveryEvents, ordered by thuTu.

    A shipment created but not yet taken in by a post office (KHOI_TAO) has no history: the list is empty
    (no event is invented for it).
    """
    data = _read(TrangThaiKetQua, raw, OP_STATUS).duLieu
    if data.soHieuBuuGui != tracking:
        raise _invalid("the answer is about another tracking number", "tracking_mismatch")
    history = sorted(data.lichSu, key=lambda e: e.thuTu)
    if any(e.soHieuBuuGui != tracking for e in history):
        raise _invalid("a history event names another tracking number", "tracking_mismatch")
    try:
        return [_event(e) for e in history]
    except (ValueError, ValidationError):
        raise _invalid("a history event has no real moment or tracking number", "answer_schema") from None


def read_webhook(body: bytes) -> SuKien:
    """Validate a pushed event against su-kien.schema.json (REQUEST_INVALID: it is the agency's request)."""
    try:
        return SuKien.model_validate_json(body, strict=True)
    except ValidationError as exc:
        raise InvalidValue(f"{AGENCY} event breaks su-kien.schema.json at {_where(exc)}", code="REQUEST_INVALID",
                           rule="su_kien_schema") from None


def event_from_webhook(body: bytes | SuKien) -> DeliveryEvent:
    """One INBOUND webhook body (already HMAC-verified) -> DeliveryEvent.

    De-duplicate by ``maSuKien`` and order by ``thuTu`` (events may arrive twice or out of order): both are
    in ``event_extensions``.
    """
    event = body if isinstance(body, SuKien) else read_webhook(body)
    try:
        return _event(event)
    except (ValueError, ValidationError):
        raise InvalidValue(f"{AGENCY} event has no real moment or tracking number", code="REQUEST_INVALID",
                           rule="su_kien_values") from None


# --- refusals -----------------------------------------------------------------------------------------
RULES: dict[str, str] = {"VNP-409": "reference_reused"}


def read_error(raw: bytes) -> Loi | None:
    try:
        return Loi.model_validate_json(raw, strict=True)
    except ValidationError:
        return None


def error_from_answer(status: int, raw: bytes) -> AgencyError:
    """The typed error for a non-2xx answer (its HMAC already checked when it matters)."""
    err = read_error(raw)
    if status >= 500:
        return AgencyUnavailable(f"{AGENCY} failed: {err.thongBao if err else f'HTTP {status}'}",
                                 rule=f"http_{status}", agency_code=err.maLoi if err else None)
    if err is None:
        return _invalid(f"HTTP {status} with a body that breaks loi.schema.json", "error_schema")
    extra: dict[str, Any] = {"agency_code": err.maLoi, "registry_code": err.maLoiChuan, "http_status": status}
    rule = RULES.get(err.maLoi) or err.quyTac or err.maLoi.lower()
    if status == 404 or err.maLoiChuan == "NOT_FOUND":
        return AgencyNotFound(f"{AGENCY}: {err.thongBao}", rule=rule, **extra)
    if 400 <= status < 500:
        return AgencyRejected(f"{AGENCY} refused: {err.thongBao}", rule=rule, **extra)
    return AgencyInvalidResponse(f"{AGENCY}: unexpected HTTP {status}", rule="http_status", **extra)
