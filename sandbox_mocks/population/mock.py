"""The population database and VNeID as the hub meets them: REST/JSON, OAuth2 client credentials,
the hub's detached JWS on every request, JWS-signed answers, and the agency's own shapes and codes.

Contract: ``mappings/population/contracts/openapi.json`` and its JSON Schemas (served at
``/population/contracts/<file>``). The request models below are written by hand to match those schema
files; a test feeds the same bodies to both and checks they agree.

Where the agency differs from the hub's model, on purpose: Vietnamese member names without diacritics
(SoDinhDanh, HoVaTen), dd/MM/yyyy dates, its own gender codes ("1" Nam, "2" Nữ), a flat record with a
nested permanent address (NoiThuongTru {MaTinh, TenTinh, XaPhuong, ChiTiet, DiaChiDayDu}), the birth
province under its old three-digit code (QueQuan), and the old address text kept as written.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets
import time
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from adapters.refusal import Refusal
from sandbox_mocks.framework.rest_agency import Answer, RestCall, RestMockAgency
from sandbox_mocks.seed.world import Citizen, World

ICT = dt.timezone(dt.timedelta(hours=7), "ICT")
PROVINCES_FILE = Path(__file__).resolve().parents[1] / "seed" / "data" / "provinces.toml"
MAX_SEARCH_RESULTS = 200

CCCD = r"^[0-9]{12}$"
DATE_OR_YEAR = r"^((0[1-9]|[12][0-9]|3[01])/(0[1-9]|1[0-2])/)?[0-9]{4}$"
REFERENCE = r"^[A-Za-z0-9._:/-]{1,64}$"

# The agency's own error codes for the registry codes it answers with.
AGENCY_CODES: dict[str, str] = {
    "AUTH_REQUIRED": "TOKEN_KHONG_HOP_LE", "SIGNATURE_INVALID": "CHU_KY_KHONG_HOP_LE",
    "CERT_UNTRUSTED": "CHUNG_THU_KHONG_HOP_LE", "CERT_EXPIRED": "CHUNG_THU_KHONG_HOP_LE",
    "CERT_REVOKED": "CHUNG_THU_KHONG_HOP_LE", "CERT_WRONG_AGENCY": "CHUNG_THU_SAI_DON_VI",
    "MESSAGE_EXPIRED": "THONG_DIEP_HET_HAN", "REQUEST_INVALID": "DU_LIEU_KHONG_HOP_LE",
    "DATE_INVALID": "NGAY_KHONG_HOP_LE", "PURPOSE_MISSING": "THIEU_MUC_DICH",
    "UNSUPPORTED_MEDIA_TYPE": "DINH_DANG_KHONG_HO_TRO", "BODY_TOO_LARGE": "DU_LIEU_QUA_LON",
    "NOT_FOUND": "KHONG_TIM_THAY", "METHOD_NOT_ALLOWED": "PHUONG_THUC_KHONG_HO_TRO", "INTERNAL": "LOI_HE_THONG",
}
UNAVAILABLE_CODES = {500: "LOI_HE_THONG", 503: "TAM_NGUNG_DICH_VU", 504: "QUA_THOI_GIAN_XU_LY"}

# Operation names, signed by the hub in the JWS claim ``env.operation`` (x-thads-operation in the contract).
OP_LOOKUP = "TraCuuCongDan"
OP_SEARCH = "TimKiemCongDan"
OP_VNEID = "GuiThongBaoVNeID"


# --- request bodies (match the *.yeu-cau.schema.json files) ------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class TraCuuYeuCau(_Body):
    SoDinhDanh: str = Field(pattern=CCCD)


class TimKiemYeuCau(_Body):
    HoVaTen: str = Field(min_length=2, max_length=100)
    NgaySinh: str = Field(pattern=DATE_OR_YEAR)
    MaTinh: str | None = Field(default=None, pattern=r"^[0-9]{2}$")


class ThongBaoVNeIDYeuCau(_Body):
    SoDinhDanh: str = Field(pattern=CCCD)
    MaThamChieu: str = Field(pattern=REFERENCE)
    TieuDe: str = Field(min_length=1, max_length=200)
    NoiDung: str = Field(min_length=1, max_length=4000)
    MaHoSo: str | None = Field(default=None, max_length=64)
    DuongDanTaiLieu: str | None = Field(default=None, pattern=r"^https://", max_length=500)


# --- the agency's formats ----------------------------------------------------------------------
def vn_date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def vn_now() -> str:
    return dt.datetime.now(ICT).strftime("%d/%m/%Y %H:%M:%S")


def gender_code(gender: str) -> str:
    """The agency's code list: "1" Nam (male), "2" Nữ (female)."""
    return "2" if str(gender).strip().lower() in {"f", "female", "nu", "nữ", "2", "woman"} else "1"


def mask_id(person_id: str) -> str:
    return f"{person_id[:3]}******{person_id[-3:]}"


def former_province_names(path: Path = PROVINCES_FILE) -> dict[str, str]:
    """Old three-digit codes (the CCCD's PPP) -> province name, from the seed's data file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {str(f["cccd_code"]): str(f["name"]) for f in data.get("former", []) if "cccd_code" in f}


class PopulationMock(RestMockAgency):
    agency_id = "population"
    prefix = "/population"

    def __init__(self, *, key_dir: Path, world: World, client_id: str = "thads-hub",
                 client_secret: str = "sandbox-secret", token_ttl_s: float = 3600.0, **kw: Any) -> None:
        super().__init__(key_dir=key_dir, **kw)
        self.world = world
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl_s = token_ttl_s
        self.tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self.notifications: dict[str, tuple[str, dict[str, Any]]] = {}  # MaThamChieu -> (person, answer)
        self.province_names = former_province_names()

    # --- errors in the agency's own JSON -------------------------------------------------------
    def error_payload(self, status: int, code: str, message: str, rule: str | None,
                      agency_code: str | None) -> dict[str, Any]:
        own = agency_code or (UNAVAILABLE_CODES.get(status, "LOI_HE_THONG") if code == "AGENCY_UNAVAILABLE"
                              else AGENCY_CODES.get(code, "DU_LIEU_KHONG_HOP_LE"))
        return {"MaLoi": own, "MoTaLoi": message, "MaLoiChuan": code, "QuyTac": rule, "ThoiGian": vn_now()}

    def refusal_response(self, exc: Refusal, call: RestCall | None = None) -> Response:
        response = super().refusal_response(exc, call)
        if exc.code == "AUTH_REQUIRED":
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    # --- OAuth2 client credentials -------------------------------------------------------------
    def issue_token(self) -> tuple[str, int]:
        now = time.monotonic()
        for stale in [t for t, exp in self.tokens.items() if exp <= now]:
            del self.tokens[stale]
        token = secrets.token_urlsafe(32)
        self.tokens[token] = now + self.token_ttl_s
        return token, max(1, int(self.token_ttl_s))

    async def token_endpoint(self, request: Request) -> Response:
        def oauth_error(status: int, error: str, description: str) -> JSONResponse:
            headers = {"Cache-Control": "no-store"}
            if status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="population"'
            return JSONResponse({"error": error, "error_description": description}, status_code=status,
                                headers=headers)

        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            return oauth_error(400, "invalid_request", "expected application/x-www-form-urlencoded")
        body = await request.body()
        if len(body) > 8192:
            return oauth_error(400, "invalid_request", "form too large")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(basic[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return oauth_error(401, "invalid_client", "unreadable Basic credentials")
        if form.get("grant_type") is None:
            return oauth_error(400, "invalid_request", "grant_type is required")
        if form["grant_type"] != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
        good_id = hmac.compare_digest((client_id or "").encode(), self.client_id.encode())
        good_secret = hmac.compare_digest((client_secret or "").encode(), self.client_secret.encode())
        if not (good_id and good_secret):
            self.recorder.received("CapToken", b"", verdict="refused", detail="invalid_client")
            return oauth_error(401, "invalid_client", "unknown client or wrong secret")
        token, expires_in = self.issue_token()
        self.recorder.received("CapToken", b"", verdict="ok")
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": expires_in},
                            headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refusal("an access token is required (Authorization: Bearer)", code="AUTH_REQUIRED",
                          rule="token_missing")
        expiry = self.tokens.get(token.strip())
        if expiry is None:
            raise Refusal("the access token is not known", code="AUTH_REQUIRED", rule="token_unknown")
        if expiry <= time.monotonic():
            del self.tokens[token.strip()]
            raise Refusal("the access token has expired", code="AUTH_REQUIRED", rule="token_expired")

    # --- operations ----------------------------------------------------------------------------
    def add_routes(self, app: FastAPI) -> None:
        self.add_common_routes(app)
        app.add_api_route("/oauth/token", self.token_endpoint, methods=["POST"], include_in_schema=False)
        self.json_operation(app, "/v1/cong-dan/tra-cuu", OP_LOOKUP, TraCuuYeuCau, self.lookup)
        self.json_operation(app, "/v1/cong-dan/tim-kiem", OP_SEARCH, TimKiemYeuCau, self.search)
        self.json_operation(app, "/v1/vneid/thong-bao", OP_VNEID, ThongBaoVNeIDYeuCau, self.notify)

    @staticmethod
    def require_purpose(call: RestCall) -> None:
        """Every look-up of a person names the case and the legal purpose (signed in the JWS claims)."""
        header = call.jws.header if call.jws else None
        if header is None or not (header.case_ref or "").strip() or not (header.purpose or "").strip():
            raise Refusal("the request must name the case (CaseRef) and the purpose (Purpose)",
                          code="PURPOSE_MISSING", rule="purpose")

    def record(self, c: Citizen) -> dict[str, Any]:
        a = c.permanent_address
        return {
            "SoDinhDanh": c.person_id, "SoCMND": c.legacy_id or None, "HoVaTen": c.full_name,
            "NgaySinh": vn_date(c.birth_date), "GioiTinh": gender_code(c.gender),
            "QueQuan": {"MaTinh": c.birth_province_code,
                        "TenTinh": self.province_names.get(c.birth_province_code)},
            "NoiThuongTru": {"MaTinh": a.province_code, "TenTinh": a.province_name, "XaPhuong": a.commune,
                             "ChiTiet": a.street, "DiaChiDayDu": a.text},
            "NoiThuongTruCu": c.old_address_text or None, "SoDienThoai": c.phone or None,
            "Email": c.email or None, "DongYNhanThongBaoVNeID": bool(c.vneid_consent),
        }

    def _citizen(self, person_id: str) -> Citizen:
        citizen = self.world.citizen(person_id)
        if citizen is None:
            raise Refusal("no citizen with this personal identification number", code="NOT_FOUND",
                          rule="SoDinhDanh")
        return citizen

    async def lookup(self, call: RestCall, body: TraCuuYeuCau) -> Answer:
        self.require_purpose(call)
        return Answer({"KetQua": "TIM_THAY", "CongDan": self.record(self._citizen(body.SoDinhDanh))})

    async def search(self, call: RestCall, body: TimKiemYeuCau) -> Answer:
        self.require_purpose(call)
        birth_date: dt.date | None = None
        year: int | None = None
        if len(body.NgaySinh) == 4:
            year = int(body.NgaySinh)
        else:
            try:
                birth_date = dt.datetime.strptime(body.NgaySinh, "%d/%m/%Y").date()
            except ValueError:
                raise Refusal(f"{body.NgaySinh} is not a calendar date", code="DATE_INVALID",
                              rule="NgaySinh") from None
        # The world's order: names matching with their tones first, then by ID.
        found = [c for c in self.world.search(body.HoVaTen, birth_date=birth_date, province_code=body.MaTinh)
                 if year is None or c.birth_date.year == year]
        return Answer({"TongSo": len(found), "DanhSach": [self.record(c) for c in found[:MAX_SEARCH_RESULTS]]})

    async def notify(self, call: RestCall, body: ThongBaoVNeIDYeuCau) -> Answer:
        self.require_purpose(call)
        earlier = self.notifications.get(body.MaThamChieu)
        if earlier is not None:
            if earlier[0] != body.SoDinhDanh:
                raise Refusal("MaThamChieu was already used for another citizen", code="CONFLICT",
                              rule="MaThamChieu", agency_code="TRUNG_MA_THAM_CHIEU")
            return Answer(earlier[1])  # the same notification: asking twice sends once
        citizen = self._citizen(body.SoDinhDanh)
        if not citizen.vneid_consent:
            raise Refusal("the citizen has not agreed to receive notifications through VNeID", code="CONFLICT",
                          rule="vneid_consent", agency_code="CHUA_DONG_Y")
        digest = hashlib.sha256(f"{self.agency_id}:{body.MaThamChieu}".encode()).hexdigest()
        answer = {"MaThongBao": f"TB-{digest[:16].upper()}", "MaThamChieu": body.MaThamChieu,
                  "TrangThai": "DA_TIEP_NHAN", "ThoiGianTiepNhan": vn_now()}
        self.notifications[body.MaThamChieu] = (body.SoDinhDanh, answer)
        self.recorder.effect("vneid_notification", notification_id=answer["MaThongBao"],
                             reference=body.MaThamChieu, person=mask_id(body.SoDinhDanh), case=body.MaHoSo,
                             title=body.TieuDe, message_id=call.jws.header.message_id if call.jws else None)
        return Answer(answer)
