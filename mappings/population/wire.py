"""The population database's JSON shapes, as strict pydantic models written to match its published
JSON Schemas (``contracts/*.schema.json``): unknown members are refused (the schemas say
``additionalProperties: false``), patterns and enums are the schemas' own. A test walks the schema files
and checks these models name the same members with the same required sets.

Answers are validated against these models before anything is mapped: a schema-breaking answer is an
``AgencyInvalidResponse``, never a half-mapped person.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CCCD = r"^[0-9]{12}$"
CMND = r"^[0-9]{9}$"
VN_DATE = r"^(0[1-9]|[12][0-9]|3[01])/(0[1-9]|1[0-2])/[0-9]{4}$"
VN_DATE_OR_YEAR = r"^((0[1-9]|[12][0-9]|3[01])/(0[1-9]|1[0-2])/)?[0-9]{4}$"
VN_TIMESTAMP = r"^[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
REFERENCE = r"^[A-Za-z0-9._:/-]{1,64}$"

AgencyErrorCode = Literal[
    "TOKEN_KHONG_HOP_LE", "CHU_KY_KHONG_HOP_LE", "CHUNG_THU_KHONG_HOP_LE", "CHUNG_THU_SAI_DON_VI",
    "THONG_DIEP_HET_HAN", "DU_LIEU_KHONG_HOP_LE", "NGAY_KHONG_HOP_LE", "THIEU_MUC_DICH", "DINH_DANG_KHONG_HO_TRO",
    "DU_LIEU_QUA_LON", "PHUONG_THUC_KHONG_HO_TRO", "KHONG_TIM_THAY", "CHUA_DONG_Y", "TRUNG_MA_THAM_CHIEU",
    "LOI_HE_THONG", "TAM_NGUNG_DICH_VU", "QUA_THOI_GIAN_XU_LY",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- requests ------------------------------------------------------------------------------------
class TraCuuYeuCau(_Wire):
    """tra-cuu.yeu-cau.schema.json: look a citizen up by ID (the ID travels in the body only)."""

    SoDinhDanh: str = Field(pattern=CCCD)


class TimKiemYeuCau(_Wire):
    """tim-kiem.yeu-cau.schema.json: search by name and birth date (or year), optionally province."""

    HoVaTen: str = Field(min_length=2, max_length=100)
    NgaySinh: str = Field(pattern=VN_DATE_OR_YEAR)
    MaTinh: str | None = Field(default=None, pattern=r"^[0-9]{2}$")


class ThongBaoVNeIDYeuCau(_Wire):
    """thong-bao-vneid.yeu-cau.schema.json: an electronic notification through VNeID."""

    SoDinhDanh: str = Field(pattern=CCCD)
    MaThamChieu: str = Field(pattern=REFERENCE)
    TieuDe: str = Field(min_length=1, max_length=200)
    NoiDung: str = Field(min_length=1, max_length=4000)
    MaHoSo: str | None = Field(default=None, max_length=64)
    DuongDanTaiLieu: str | None = Field(default=None, pattern=r"^https://", max_length=500)


# --- answers -------------------------------------------------------------------------------------
class QueQuanDuLieu(_Wire):
    """CongDan.QueQuan: the birth registration's former province (3-digit code)."""

    MaTinh: str = Field(pattern=r"^[0-9]{3}$")
    TenTinh: str | None


class NoiThuongTruDuLieu(_Wire):
    """CongDan.NoiThuongTru: the permanent address in today's units (34 provinces, no district)."""

    MaTinh: str = Field(pattern=r"^[0-9]{2}$")
    TenTinh: str
    XaPhuong: str
    ChiTiet: str
    DiaChiDayDu: str


class CongDan(_Wire):
    """cong-dan.schema.json: one citizen record (every member required, some nullable)."""

    SoDinhDanh: str = Field(pattern=CCCD)
    SoCMND: str | None = Field(pattern=CMND)
    HoVaTen: str
    NgaySinh: str = Field(pattern=VN_DATE)
    GioiTinh: Literal["1", "2"]
    QueQuan: QueQuanDuLieu
    NoiThuongTru: NoiThuongTruDuLieu
    NoiThuongTruCu: str | None
    SoDienThoai: str | None
    Email: str | None
    DongYNhanThongBaoVNeID: bool


class TraCuuKetQua(_Wire):
    KetQua: Literal["TIM_THAY"]
    CongDan: CongDan


class TimKiemKetQua(_Wire):
    TongSo: int = Field(ge=0)
    DanhSach: list[CongDan] = Field(max_length=200)


class ThongBaoVNeIDKetQua(_Wire):
    MaThongBao: str = Field(pattern=r"^TB-[0-9A-F]{16}$")
    MaThamChieu: str = Field(pattern=REFERENCE)
    TrangThai: Literal["DA_TIEP_NHAN"]
    ThoiGianTiepNhan: str = Field(pattern=VN_TIMESTAMP)


class Loi(_Wire):
    """loi.schema.json: every refusal. MaLoiChuan is the THADS registry code the agency maps to."""

    MaLoi: AgencyErrorCode
    MoTaLoi: str
    MaLoiChuan: str = Field(pattern=r"^[A-Z_]+$")
    QuyTac: str | None
    ThoiGian: str = Field(pattern=VN_TIMESTAMP)


class TokenKetQua(_Wire):
    """token.ket-qua.schema.json (RFC 6749 §4.4 access token response)."""

    access_token: str = Field(min_length=20)
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=1)


class TokenLoi(_Wire):
    """token.loi.schema.json (RFC 6749 §5.2 error response)."""

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type"]
    error_description: str | None = None


#: schema file -> the model that reads or writes it (the coverage and agreement tests walk this)
SCHEMA_MODELS: dict[str, type[_Wire]] = {
    "tra-cuu.yeu-cau.schema.json": TraCuuYeuCau,
    "tim-kiem.yeu-cau.schema.json": TimKiemYeuCau,
    "thong-bao-vneid.yeu-cau.schema.json": ThongBaoVNeIDYeuCau,
    "cong-dan.schema.json": CongDan,
    "tra-cuu.ket-qua.schema.json": TraCuuKetQua,
    "tim-kiem.ket-qua.schema.json": TimKiemKetQua,
    "thong-bao-vneid.ket-qua.schema.json": ThongBaoVNeIDKetQua,
    "loi.schema.json": Loi,
    "token.ket-qua.schema.json": TokenKetQua,
    "token.loi.schema.json": TokenLoi,
}
