"""Element by element, derived from the court contract: a judgment pushed with every element of ba:BanAn
filled in, taken in by the hub, and each element found where it lands in the stored record as a case
system reads it (GET /v1/cases/{id}). A new element in court-judgments.xsd fails this test until its
landing place is written here."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from lxml import etree

from adapters import soap_envelope
from adapters.envelope import EnvelopeFields, EnvelopeSigner, build_envelope
from hub.clients import add_client
from hub.store.database import Database
from hub.store.tables import intakes
from mappings import court as m
from tests.conftest import ServedApp
from tests.connectors.test_court_mapping import ban_an, contract_paths, el, order, organisation, person

View = dict[str, Any]


def judgment(v: View) -> View:
    return dict(v["judgment"])


def party(v: View, n: int) -> View:
    return dict(next(jp for jp in judgment(v)["parties"] if jp["party"]["extensions"]["ThuTu"] == str(n)))


def party_id(v: View, n: int) -> str:
    return str(party(v, n)["party"]["id"])


def obligations(v: View, kind: str | None = None) -> list[View]:
    return [o for o in judgment(v)["obligations"] if kind is None or o["kind"] == kind]


DOCUMENT = ban_an(
    number="12/2024/DS-ST", issued="05/03/2024", effective="10/04/2024",
    parties=(person(1, "NGUOI_PHAI_THI_HANH_AN", "Nguyễn Văn An", ("SoDinhDanh", "079090001234"),
                    ("NgaySinh", "12/03/1990")),
             person(2, "NGUOI_CO_QUYEN_LOI_NGHIA_VU_LIEN_QUAN", "Trần Thị Bình", ("SoCMND", "025123456"),
                    ("NamSinh", "1975"), address="Số 5 đường Hùng Vương, phường Bến Thủy, tỉnh Nghệ An"),
             organisation(3, "NGUOI_DUOC_THI_HANH_AN", "Ngân hàng TMCP Ngoại thương Việt Nam", "0100112437")),
    orders=(order(1, "TRA_TIEN", 1, 3, "150000000", "Buộc ông An trả ngân hàng 150.000.000 đồng."),
            order(2, "NOP_NGAN_SACH", 1, None, "5000000", "Nộp ngân sách 5.000.000 đồng."),
            order(3, "GIAO_TAI_SAN", 2, 3, None, "Giao xe ô tô biển số 51A-123.45."),
            order(4, "THUC_HIEN_CONG_VIEC", 1, None, None, "Tháo dỡ tường rào.")),
    fees=(el("KhoanAnPhi", ("ThuTu", "1"), ("NguoiPhaiNop", "1"), ("SoTien", "7500000"),
             ("NoiDung", "Án phí dân sự sơ thẩm.")),))

_P = "DanhSachDuongSu/DuongSu"
_O = "PhanQuyetDinh/NghiaVu"
_F = "DanhSachAnPhi/KhoanAnPhi"
# element path under BanAn -> (where it lands in the case view, what is found there)
LANDS: dict[str, tuple[Callable[[View], Any], Any]] = {
    "ToaAn/MaToaAn": (lambda v: judgment(v)["court"]["code"], "TAND-79-KV01"),
    "ToaAn/TenToaAn": (lambda v: judgment(v)["court"]["name"], "Tòa án nhân dân khu vực 1 - Thành phố Hồ Chí Minh"),
    "ToaAn/CapToaAn": (lambda v: judgment(v)["court"]["level"], "regional"),
    "ToaAn/MaTinhThanh": (lambda v: (judgment(v)["court"]["province_code"], v["case"]["office"]["code"]),
                          ("79", "THADS-79")),
    "SoBanAn": (lambda v: judgment(v)["number"]["text"], "12/2024/DS-ST"),
    "LoaiVanBan": (lambda v: judgment(v)["number"]["kind"], "judgment"),
    "LoaiVuViec": (lambda v: judgment(v)["number"]["case_type"], "DS"),
    "CapXetXu": (lambda v: judgment(v)["number"]["instance"], "ST"),
    "NgayBanHanh": (lambda v: judgment(v)["issued_on"], "2024-03-05"),
    "NgayCoHieuLuc": (lambda v: judgment(v)["effective_on"], "2024-04-10"),
    f"{_P}/ThuTu": (lambda v: [jp["party"]["extensions"]["ThuTu"] for jp in judgment(v)["parties"]], ["1", "2", "3"]),
    f"{_P}/TuCach": (lambda v: [party(v, n)["role"] for n in (1, 2, 3)], ["obligor", "related", "obligee"]),
    f"{_P}/CaNhan/HoTen": (lambda v: party(v, 1)["party"]["full_name"], "Nguyễn Văn An"),
    f"{_P}/CaNhan/SoDinhDanh": (lambda v: party(v, 1)["party"]["person_id"], "079090001234"),
    f"{_P}/CaNhan/SoCMND": (lambda v: party(v, 2)["party"]["legacy_id"], "025123456"),
    f"{_P}/CaNhan/NgaySinh": (lambda v: party(v, 1)["party"]["birth_date"], "1990-03-12"),
    f"{_P}/CaNhan/NamSinh": (lambda v: party(v, 2)["party"]["extensions"]["NamSinh"], "1975"),
    f"{_P}/ToChuc/TenToChuc": (lambda v: party(v, 3)["party"]["full_name"], "Ngân hàng TMCP Ngoại thương Việt Nam"),
    f"{_P}/ToChuc/MaSoThue": (lambda v: party(v, 3)["party"]["tax_code"], "0100112437"),
    f"{_P}/DiaChi": (lambda v: [(a["original_text"], a["province_code"]) for a in party(v, 2)["party"]["addresses"]],
                     [("Số 5 đường Hùng Vương, phường Bến Thủy, tỉnh Nghệ An", "40")]),
    f"{_O}/ThuTu": (lambda v: [o["description"][:9] for o in obligations(v)][:4],
                    ["Buộc ông ", "Nộp ngân ", "Giao xe ô", "Tháo dỡ t"]),
    f"{_O}/LoaiNghiaVu": (lambda v: [o["kind"] for o in obligations(v)][:4],
                          ["pay_money", "pay_money", "hand_over_asset", "perform_act"]),
    f"{_O}/NguoiPhaiThiHanh": (lambda v: [o["obligor_id"] == party_id(v, n)
                                          for o, n in zip(obligations(v), (1, 1, 2, 1), strict=False)], [True] * 4),
    f"{_O}/NguoiDuocThiHanh": (lambda v: [o["obligee_id"] and o["obligee_id"] == party_id(v, 3)
                                          for o in obligations(v)][:4], [True, None, True, None]),
    f"{_O}/SoTien": (lambda v: [o["amount_vnd"] for o in obligations(v)][:4], [150_000_000, 5_000_000, None, None]),
    f"{_O}/NoiDung": (lambda v: obligations(v)[2]["description"], "Giao xe ô tô biển số 51A-123.45."),
    f"{_F}/ThuTu": (lambda v: len(obligations(v, "court_fee")), 1),
    f"{_F}/NguoiPhaiNop": (lambda v: obligations(v, "court_fee")[0]["obligor_id"] == party_id(v, 1), True),
    f"{_F}/SoTien": (lambda v: obligations(v, "court_fee")[0]["amount_vnd"], 7_500_000),
    f"{_F}/NoiDung": (lambda v: obligations(v, "court_fee")[0]["description"], "Án phí dân sự sơ thẩm."),
}


def test_the_landing_table_covers_the_contract() -> None:
    paths = {p.removeprefix("BanAn/") for p in contract_paths(m.XSD) if p.startswith("BanAn/")}
    assert len(paths) >= 30
    assert sorted(paths - set(LANDS)) == [], "elements of the contract whose landing place is not checked"
    assert sorted(set(LANDS) - paths) == []


def test_every_element_lands_where_the_table_says(hub: ServedApp, key_dir: Path, db: Database) -> None:
    m.judgment_from(DOCUMENT)  # the hand-written document is one the court could send
    now = dt.datetime.now(dt.UTC)
    header = EnvelopeFields(message_id=str(uuid.uuid4()), from_agency="court", to_agency="hub", service="judgments",
                            operation="SubmitJudgment", created=now, expires=now + dt.timedelta(minutes=5))
    signed = EnvelopeSigner.from_key_dir(key_dir, "court").sign(build_envelope(header, DOCUMENT))
    answer = httpx.post(f"{hub.url}/soap/court", content=soap_envelope.wrap(signed),
                        headers={"content-type": soap_envelope.CONTENT_TYPE})
    assert answer.status_code == 200, answer.text
    with db.engine.connect() as conn:
        case_id = conn.execute(intakes.select()).one().case_id
    _, key = add_client(db, "case-system", ["cases:read"])
    view = httpx.get(f"{hub.url}/v1/cases/{case_id}", headers={"authorization": f"Bearer {key}"}).json()
    for path, (where, value) in LANDS.items():
        assert where(view) == value, path
    assert view["source"]["document_hash"] == m.canonical_hash(etree.fromstring(etree.tostring(DOCUMENT)))
