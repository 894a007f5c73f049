"""VNPost registered mail as the hub meets it: REST/JSON with an API key, HMAC-signed answers, UPU S10
tracking numbers, and delivery events pushed back to a webhook.

Contract: ``mappings/postal/contracts/openapi.json`` (operations and the ``webhooks`` entry) and its JSON
Schemas, served at ``/postal/contracts/<file>``. The agency's style differs from the population
database's on purpose: flat camelCase members (tenNguoiNhan, maTinhNhan), answers wrapped in
``{"thanhCong": true, "duLieu": ...}``, numeric-style error codes (VNP-400...), its own state codes.

HMAC: ``X-VNPost-Timestamp`` (Unix seconds) and ``X-VNPost-Signature: sha256=<hex>`` where the hex is
HMAC-SHA256(secret, timestamp + "." + raw body); receivers refuse a timestamp more than 5 minutes off,
so a captured event cannot be replayed later. Answers and webhooks are signed the same way.

After a shipment is created, its journey runs in the background: DA_NHAN_GUI (accepted),
DANG_VAN_CHUYEN (in transit), then DA_PHAT (delivered) or CHUYEN_HOAN (returned, with a reason),
one event every ``event_delay_s``. Whether it is delivered, and why not, is fixed by the seed and the
tracking number (``delivered_share`` of shipments are delivered).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from adapters.refusal import Refusal
from sandbox_mocks.framework.callbacks import Callback, CallbackSender, RetryPolicy
from sandbox_mocks.framework.rest_agency import Answer, RestCall, RestMockAgency

ICT = dt.timezone(dt.timedelta(hours=7), "ICT")
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
S10_PATTERN = re.compile(r"^[A-Z]{2}[0-9]{9}[A-Z]{2}$")
REFERENCE = r"^[A-Za-z0-9._:/-]{1,64}$"

TIMESTAMP_HEADER = "X-VNPost-Timestamp"
SIGNATURE_HEADER = "X-VNPost-Signature"
EVENT_ID_HEADER = "X-VNPost-Event-Id"
ATTEMPT_HEADER = "X-VNPost-Delivery-Attempt"
API_KEY_HEADER = "X-API-Key"

OP_CREATE = "TaoBuuGui"
OP_STATUS = "TraCuuBuuGui"

ACCEPTED, IN_TRANSIT, DELIVERED, RETURNED = "DA_NHAN_GUI", "DANG_VAN_CHUYEN", "DA_PHAT", "CHUYEN_HOAN"
RETURN_REASONS: tuple[tuple[str, str], ...] = (
    ("KHONG_CO_NGUOI_NHAN", "Không có người nhận"),
    ("SAI_DIA_CHI", "Sai địa chỉ"),
    ("TU_CHOI_NHAN", "Người nhận từ chối nhận"),
    ("DA_CHUYEN_DI", "Người nhận đã chuyển đi nơi khác"),
    ("HET_THOI_HAN_LUU", "Quá thời hạn lưu giữ tại bưu cục"),
)
AGENCY_CODES: dict[str, str] = {
    "REQUEST_INVALID": "VNP-400", "DATE_INVALID": "VNP-400", "AUTH_REQUIRED": "VNP-401", "NOT_FOUND": "VNP-404",
    "METHOD_NOT_ALLOWED": "VNP-405", "CONFLICT": "VNP-409", "BODY_TOO_LARGE": "VNP-413",
    "UNSUPPORTED_MEDIA_TYPE": "VNP-415", "INTERNAL": "VNP-500",
}
UNAVAILABLE_CODES = {500: "VNP-500", 503: "VNP-503", 504: "VNP-504"}


# --- UPU S10 -------------------------------------------------------------------------------------
def s10_check_digit(serial: str) -> int:
    """The check digit over 8 serial digits: weights 8,6,4,2,3,5,9,7; 11 - (sum mod 11); 10 -> 0, 11 -> 5."""
    if len(serial) != 8 or not serial.isascii() or not serial.isdigit():
        raise ValueError("an S10 serial is 8 digits")
    c = 11 - sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(c, c)


def s10_number(serial: int, service: str = "RR", country: str = "VN") -> str:
    """RR12345678 5 VN for serial 12345678."""
    digits = f"{serial:08d}"
    return f"{service}{digits}{s10_check_digit(digits)}{country}"


def s10_valid(number: str) -> bool:
    return bool(S10_PATTERN.match(number)) and s10_check_digit(number[2:10]) == int(number[10])


# --- HMAC ----------------------------------------------------------------------------------------
def hmac_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def hmac_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: hmac_signature(secret, timestamp, body)}


def vn_time(moment: dt.datetime) -> str:
    return moment.astimezone(ICT).strftime("%d/%m/%Y %H:%M:%S")


# --- request body (matches tao-buu-gui.yeu-cau.schema.json) -------------------------------------
class TaoBuuGuiYeuCau(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

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


@dataclass
class Shipment:
    tracking: str
    reference: str
    content_hash: str
    created_at: dt.datetime
    callback_url: str | None
    events: list[dict[str, Any]] = field(default_factory=list)
    due: list[dt.datetime] = field(default_factory=list)  # when each event happens

    def history(self, now: dt.datetime) -> list[dict[str, Any]]:
        return [e for e, at in zip(self.events, self.due, strict=True) if at <= now]


class PostalMock(RestMockAgency):
    agency_id = "postal"
    prefix = "/postal"
    signature_header = SIGNATURE_HEADER
    requires_jws = False

    def __init__(self, *, key_dir: Path, api_key: str = "sandbox-postal-key",
                 hmac_secret: str = "sandbox-postal-hmac-secret", callback_url: str | None = None,
                 event_delay_s: float = 0.2, delivered_share: float = 0.85, retry: RetryPolicy | None = None,
                 seed: int = 0, **kw: Any) -> None:
        super().__init__(key_dir=key_dir, seed=seed, **kw)
        self.seed = seed
        self.api_key = api_key
        self.hmac_secret = hmac_secret
        self.callback_url = callback_url
        self.event_delay_s = event_delay_s
        self.delivered_share = delivered_share
        self.shipments: dict[str, Shipment] = {}
        self.by_reference: dict[str, str] = {}
        self.sender = CallbackSender(faults=self.faults, recorder=self.recorder, sign=self._sign_callback,
                                     retry=retry or RetryPolicy(), seed=seed)

    # --- signatures, authentication, errors ----------------------------------------------------
    def answer_headers(self, body: bytes, call: RestCall | None) -> dict[str, str]:
        return hmac_headers(self.hmac_secret, body)

    def _sign_callback(self, callback: Callback, attempt: int) -> Mapping[str, str]:
        return {**hmac_headers(self.hmac_secret, callback.body), EVENT_ID_HEADER: callback.event_id,
                ATTEMPT_HEADER: str(attempt)}

    async def authenticate(self, request: Request) -> None:
        given = request.headers.get(API_KEY_HEADER, "")
        if not given:
            raise Refusal(f"the {API_KEY_HEADER} header is required", code="AUTH_REQUIRED", rule="api_key_missing")
        if not hmac.compare_digest(given.encode(), self.api_key.encode()):
            raise Refusal("unknown API key", code="AUTH_REQUIRED", rule="api_key_unknown")

    def error_payload(self, status: int, code: str, message: str, rule: str | None,
                      agency_code: str | None) -> dict[str, Any]:
        own = agency_code or (UNAVAILABLE_CODES.get(status, "VNP-500") if code == "AGENCY_UNAVAILABLE"
                              else AGENCY_CODES.get(code, "VNP-400"))
        return {"thanhCong": False, "maLoi": own, "thongBao": message, "maLoiChuan": code, "quyTac": rule}

    # --- operations ----------------------------------------------------------------------------
    def add_routes(self, app: FastAPI) -> None:
        self.add_common_routes(app)
        self.json_operation(app, "/v1/buu-gui", OP_CREATE, TaoBuuGuiYeuCau, self.create)

        @app.get("/v1/buu-gui/{tracking}", include_in_schema=False)
        async def get_status(tracking: str, request: Request) -> Response:
            try:
                await self.authenticate(request)
                answer = self.status(tracking)
            except Refusal as exc:
                self.recorder.received(OP_STATUS, b"", verdict="refused", detail=exc.code)
                return self.refusal_response(exc)
            self.recorder.received(OP_STATUS, b"", verdict="ok")
            return self.json_answer(answer.payload, status=answer.status)

    def tracking_for(self, reference: str) -> str:
        """A serial fixed by the seed and the sender's reference, the next free one on a collision."""
        serial = int(hashlib.sha256(f"{self.seed}:{reference}".encode()).hexdigest(), 16) % 100_000_000
        while (number := s10_number(serial)) in self.shipments:
            serial = (serial + 1) % 100_000_000
        return number

    def outcome(self, tracking: str) -> tuple[str, str] | None:
        """None when delivered, else the return reason (code, text): fixed by the seed and the number."""
        h = int(hashlib.sha256(f"{self.seed}:{tracking}:outcome".encode()).hexdigest(), 16)
        if h % 10_000 < round(self.delivered_share * 10_000):
            return None
        return RETURN_REASONS[(h // 10_000) % len(RETURN_REASONS)]

    async def create(self, call: RestCall, body: TaoBuuGuiYeuCau) -> Answer:
        content_hash = hashlib.sha256(json.dumps(body.model_dump(), sort_keys=True).encode()).hexdigest()
        known = self.by_reference.get(body.maThamChieu)
        if known is not None:
            shipment = self.shipments[known]
            if shipment.content_hash != content_hash:
                raise Refusal("maThamChieu was already used for a different shipment", code="CONFLICT",
                              rule="maThamChieu")
            return Answer(self._created_answer(shipment), status=200)
        now = dt.datetime.now(dt.UTC)
        tracking = self.tracking_for(body.maThamChieu)
        shipment = Shipment(tracking=tracking, reference=body.maThamChieu, content_hash=content_hash,
                            created_at=now, callback_url=body.urlCallback or self.callback_url)
        self._plan_journey(shipment, body)
        self.shipments[tracking] = shipment
        self.by_reference[body.maThamChieu] = tracking
        returned = self.outcome(tracking)
        self.recorder.effect("shipment_created", tracking=tracking, reference=body.maThamChieu,
                             document=body.soHieuVanBan, outcome=RETURNED if returned else DELIVERED,
                             callback_url=shipment.callback_url)
        if shipment.callback_url:
            self.sender.dispatch([Callback(url=shipment.callback_url, event_id=e["maSuKien"],
                                           body=json.dumps(e, ensure_ascii=False).encode())
                                  for e in shipment.events], spacing_s=self.event_delay_s)
        return Answer(self._created_answer(shipment), status=201)

    def _created_answer(self, shipment: Shipment) -> dict[str, Any]:
        return {"thanhCong": True, "duLieu": {"soHieuBuuGui": shipment.tracking, "maThamChieu": shipment.reference,
                                              "trangThai": "KHOI_TAO", "ngayNhanGui": vn_time(shipment.created_at)}}

    def _plan_journey(self, shipment: Shipment, body: TaoBuuGuiYeuCau) -> None:
        returned = self.outcome(shipment.tracking)
        last = (RETURNED, "Chuyển hoàn về người gửi") if returned else (DELIVERED, "Phát thành công")
        steps = [(ACCEPTED, "Bưu cục đã nhận gửi", f"Bưu cục nhận gửi - {body.buuCucGui}"),
                 (IN_TRANSIT, "Đang vận chuyển", "Trung tâm khai thác chia chọn"),
                 (*last, f"Bưu cục phát - tỉnh {body.maTinhNhan}")]
        for order, (state, text, office) in enumerate(steps, start=1):
            at = shipment.created_at + dt.timedelta(seconds=self.event_delay_s * order)
            event_id = hashlib.sha256(f"{shipment.tracking}:{order}".encode()).hexdigest()[:20]
            final = order == len(steps)
            shipment.events.append({
                "maSuKien": f"EV-{event_id}", "soHieuBuuGui": shipment.tracking, "maThamChieu": shipment.reference,
                "thuTu": order, "trangThai": state, "moTa": text, "thoiGian": vn_time(at), "buuCuc": office,
                "nguoiNhan": body.tenNguoiNhan if final and not returned else None,
                "maLyDoHoan": returned[0] if final and returned else None,
                "lyDoHoan": returned[1] if final and returned else None})
            shipment.due.append(at)

    def status(self, tracking: str) -> Answer:
        if not s10_valid(tracking):
            raise Refusal("not an S10 tracking number (RR + 9 digits + VN, with its check digit)",
                          code="REQUEST_INVALID", rule="soHieuBuuGui")
        shipment = self.shipments.get(tracking)
        if shipment is None:
            raise Refusal("no shipment with this tracking number", code="NOT_FOUND", rule="soHieuBuuGui")
        history = shipment.history(dt.datetime.now(dt.UTC))
        return Answer({"thanhCong": True, "duLieu": {
            "soHieuBuuGui": tracking, "maThamChieu": shipment.reference,
            "trangThai": history[-1]["trangThai"] if history else "KHOI_TAO", "lichSu": history}})
