"""The land registry mapping (mappings/land): pure functions, checked against the published contract
and against the sandbox world the registry mock writes its answers from."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from lxml import etree
from pydantic import BaseModel

from adapters.xsd import CompiledSchema
from hub.agency_ids import sandbox_agencies
from hub.errors import AgencyInvalidResponse, AgencyRejected, InvalidValue
from hub.model.assets import Encumbrance, EncumbranceKind, LandParcel
from hub.model.measures import LandRestriction, MeasureStatus, RestrictionKind
from hub.model.party import Address
from hub.trust.pki_init import init_pki
from mappings import land as m
from mappings.land import parcels as wire
from mappings.land.restrictions import REFUSAL_CODES, STATES
from sandbox_mocks.land.mock import LandRegistryMock
from sandbox_mocks.seed.world import Parcel, World, build_world

NS = m.NS
MODELS: dict[str, type[BaseModel]] = {"LandParcel": LandParcel, "Address": Address, "Encumbrance": Encumbrance,
          "LandRestriction": LandRestriction}
KINDS = ("canonical", "extensions", "request", "check", "error", "receipt")


def q(local: str) -> str:
    return f"{{{NS}}}{local}"


def el(local: str, *children: etree._Element | tuple[str, str]) -> etree._Element:
    """A registry element; children are elements or (name, text) pairs, in order."""
    out = etree.Element(q(local), nsmap={"dd": NS})
    for child in children:
        if isinstance(child, tuple):
            etree.SubElement(out, q(child[0])).text = child[1]
        else:
            out.append(child)
    return out


def thua_dat(*, serial: str = "CS 123456", area: str = "96,5", owners: tuple[tuple[str, str], ...] | None = None,
             address: etree._Element | None = None, extra: tuple[etree._Element, ...] = ()) -> etree._Element:
    owners = owners or (("079203001234", "Nguyễn Văn An"),)
    address = address if address is not None else el(
        "DiaChi", el("TinhThanh", ("Ma", "79"), ("Ten", "Hồ Chí Minh")), ("XaPhuong", "Phường Bến Thành"),
        ("ChiTiet", "Số 12 đường Lê Lợi"), ("DiaChiDayDu", "Số 12 đường Lê Lợi, phường Bến Thành, TP Hồ Chí Minh"),
        ("DiaChiCu", "Số 12 đường Lê Lợi, phường Bến Thành, quận 1, TP Hồ Chí Minh"))
    return el("ThuaDat", ("SoPhatHanhGCN", serial), ("SoThua", "611"), ("SoToBanDo", "37"), address,
              ("DienTich", area), ("MucDichSuDung", "ODT"),
              *(el("ChuSuDung", ("SoDinhDanh", pid), ("HoTen", name)) for pid, name in owners), *extra)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=5, citizens=500)


@pytest.fixture(scope="module")
def mock(world: World, tmp_path_factory: pytest.TempPathFactory) -> LandRegistryMock:
    key_dir = tmp_path_factory.mktemp("land-mapping-pki")
    init_pki(key_dir, sandbox_agencies())
    return LandRegistryMock(world=world, key_dir=key_dir, seed=3)


@pytest.fixture(scope="module")
def xsd() -> CompiledSchema:
    return CompiledSchema.load(m.XSD)


# --- every element of the contract lands somewhere ---------------------------------------------------
def contract_paths(xsd_file: Path) -> set[str]:
    """Every leaf element of the XSD as a path from its global element (ThuaDat under both answers)."""
    schema = xmlschema.XMLSchema(str(xsd_file))
    paths: set[str] = set()

    def walk(element: Any, path: str) -> None:  # xmlschema's element and type classes
        if element.type.is_simple() or element.type.has_simple_content():
            paths.add(path)
            return
        for child in element.type.content.iter_elements():
            walk(child, f"{path}/{child.local_name}")

    for element in schema.elements.values():
        walk(element, element.local_name)
    return paths


def test_every_element_of_the_contract_is_declared_and_nothing_else() -> None:
    paths = contract_paths(m.XSD)
    assert len(paths) > 60  # the walk really went through the contract
    assert sorted(paths - set(m.ELEMENTS)) == [], "contract elements that land nowhere"
    assert sorted(set(m.ELEMENTS) - paths) == [], "declared elements the contract does not have"


def test_every_declared_destination_exists() -> None:
    for path, destination in m.ELEMENTS.items():
        kind, _, target = destination.partition(":")
        assert kind in KINDS, (path, destination)
        assert target.strip(), path
        if kind == "canonical":
            model, _, field = target.split(" ")[0].partition(".")
            assert field in MODELS[model].model_fields, (path, target)
        if kind == "extensions":
            model = target.split(".")[0]
            assert "extensions" in MODELS[model].model_fields, (path, target)
            assert target.startswith(f"{model}.extensions["), (path, target)


def test_the_code_lists_are_all_mapped() -> None:
    schema = xmlschema.XMLSchema(str(m.XSD))

    def enumeration(name: str) -> set[str]:
        simple: Any = schema.types[name]
        return {str(v) for v in simple.enumeration or []}

    assert enumeration("LoaiHanCheType") == set(m.RESTRICTION_KINDS) == set(m.KIND_CODES.values())
    assert set(m.KIND_CODES) == set(RestrictionKind)
    assert enumeration("TrangThaiHanCheType") == set(STATES) == set(wire.RESTRICTION_STATES)
    assert enumeration("MaLoiType") == set(REFUSAL_CODES)


# --- parcels: values equal the world's ------------------------------------------------------------
def assert_parcel_is(parcel: LandParcel, source: Parcel, world: World) -> None:
    assert parcel.certificate_serial == "".join(source.certificate_serial.split()).upper()
    assert " " not in parcel.certificate_serial
    assert (parcel.parcel_number, parcel.map_sheet) == (source.parcel_number, source.map_sheet)
    address = parcel.address
    assert address.original_text == source.address.text
    assert address.province_code == source.address.province_code
    assert address.commune == source.address.commune
    assert address.street == (source.address.street or None)
    assert address.former_district == source.address.former_district
    assert address.extensions["DiaChiCu"] == source.address.old_text
    assert address.extensions["TinhThanh/Ten"] == source.address.province_name
    assert parcel.area_m2 == Decimal(source.area_m2)
    assert parcel.land_use == source.land_use.upper()
    assert parcel.owner_ids == list(source.owner_ids)
    for person_id in source.owner_ids:
        citizen = world.citizen(person_id)
        assert citizen is not None
        assert parcel.extensions[f"ChuSuDung/{person_id}/HoTen"] == citizen.full_name
    mortgages = [e for e in parcel.encumbrances if e.kind is EncumbranceKind.MORTGAGE]
    if source.mortgage_holder:
        assert [(e.holder, e.reference) for e in mortgages] == [(source.mortgage_holder, "TheChap")]
    else:
        assert mortgages == []


def test_every_parcel_the_registry_writes_maps_to_the_worlds_values(mock: LandRegistryMock, world: World,
                                                                    xsd: CompiledSchema) -> None:
    assert any(p.mortgage_holder for p in world.parcels) and any(len(p.owner_ids) > 1 for p in world.parcels)
    for source in world.parcels:
        answer = el("TraCuuThuaDatTheoGiayChungNhanPhanHoi")
        mock.parcel_xml(answer, source)
        xsd.validate(answer)
        parcel = m.parcel_by_certificate_from(answer, source.certificate_serial)
        assert parcel is not None
        assert_parcel_is(parcel, source, world)


def test_the_parcels_of_a_holder(mock: LandRegistryMock, world: World) -> None:
    holder = next(c for c in world.citizens if len(world.parcels_of(c.person_id)) > 1)
    answer = el("TraCuuThuaDatTheoChuSoHuuPhanHoi", ("SoDinhDanh", holder.person_id),
                ("TongSo", str(len(world.parcels_of(holder.person_id)))))
    for source in world.parcels_of(holder.person_id):
        mock.parcel_xml(answer, source)
    parcels = m.parcels_of_owner_from(answer, holder.person_id)
    assert len(parcels) == len(world.parcels_of(holder.person_id))
    for parcel, source in zip(parcels, world.parcels_of(holder.person_id), strict=True):
        assert_parcel_is(parcel, source, world)
    empty = el("TraCuuThuaDatTheoChuSoHuuPhanHoi", ("SoDinhDanh", holder.person_id), ("TongSo", "0"))
    assert m.parcels_of_owner_from(empty, holder.person_id) == []


def test_decimal_comma_areas_and_formats() -> None:
    for text, value in (("96,5", "96.5"), ("1250", "1250"), ("104,25", "104.25"), ("0,5", "0.5")):
        parcel = wire.parcel_from(thua_dat(area=text))
        assert parcel.area_m2 == Decimal(value)
    for bad in ("0", "96.5", "1.250,5", "abc"):
        with pytest.raises(AgencyInvalidResponse):
            wire.parcel_from(thua_dat(area=bad))
    assert wire.parse_date("05/03/2026", "NgayDangKy") == dt.date(2026, 3, 5)
    with pytest.raises(AgencyInvalidResponse):
        wire.parse_date("2026-03-05", "NgayDangKy")
    # registry times are Viet Nam local (UTC+07:00): 06:30 on New Year's Day is 23:30 UTC the day before
    assert wire.parse_time("01/01/2026 06:30:00", "ThoiGianTiepNhan") == dt.datetime(2025, 12, 31, 23, 30,
                                                                                        tzinfo=dt.UTC)


def test_restrictions_and_mortgage_become_encumbrances() -> None:
    parcel = wire.parcel_from(thua_dat(extra=(
        el("TheChap", ("BenNhanTheChap", "Ngân hàng TMCP Ngoại thương Việt Nam")),
        el("HanChe", ("SoQuyetDinh", "15/QĐ-CCTHADS"), ("LoaiHanChe", "TAMDUNG"), ("NgayDangKy", "20/11/2026"),
           ("TrangThai", "DANG_HIEU_LUC"), ("CoQuanThiHanhAn", "Thi hành án dân sự TP Hồ Chí Minh")),
        el("HanChe", ("SoQuyetDinh", "102/2026/QĐ-THADS"), ("LoaiHanChe", "KEBIEN"), ("NgayDangKy", "01/12/2026"),
           ("TrangThai", "DANG_HIEU_LUC")),
    )))
    assert parcel.encumbrances == [
        Encumbrance(kind=EncumbranceKind.MORTGAGE, reference="TheChap", holder="Ngân hàng TMCP Ngoại thương Việt Nam"),
        Encumbrance(kind=EncumbranceKind.TRANSFER_RESTRICTION, reference="15/QĐ-CCTHADS",
                    registered_on=dt.date(2026, 11, 20), holder="Thi hành án dân sự TP Hồ Chí Minh"),
        Encumbrance(kind=EncumbranceKind.SEIZURE, reference="102/2026/QĐ-THADS", registered_on=dt.date(2026, 12, 1)),
    ]
    assert parcel.extensions["HanChe/15/QĐ-CCTHADS/TrangThai"] == "DANG_HIEU_LUC"


def test_addresses_keep_what_the_registry_sent() -> None:
    composed = wire.parcel_from(thua_dat(address=el(
        "DiaChi", el("TinhThanh", ("Ma", "01"), ("Ten", "Hà Nội")), ("XaPhuong", "Phường Hoàn Kiếm"),
        ("ChiTiet", "Số 5, ngõ 12 phố Hàng Bạc")))).address
    assert composed.original_text == "Số 5, ngõ 12 phố Hàng Bạc, Phường Hoàn Kiếm, Hà Nội"
    assert (composed.province_code, composed.commune, composed.street) == ("01", "Phường Hoàn Kiếm",
                                                                          "Số 5, ngõ 12 phố Hàng Bạc")
    assert composed.former_district is None and "DiaChiCu" not in composed.extensions
    # a code that is not one of the 34 units: the name decides, and the code is kept as sent
    odd = wire.parcel_from(thua_dat(address=el(
        "DiaChi", el("TinhThanh", ("Ma", "99"), ("Ten", "Thành phố Hồ Chí Minh")), ("XaPhuong", "Phường Sài Gòn"),
        ("DiaChiCu", "phường Bến Nghé, quận 1, TP Hồ Chí Minh")))).address
    assert odd.province_code == "79"
    assert odd.extensions["TinhThanh/Ma"] == "99"
    assert odd.former_district == "quận 1"
    assert wire.former_district("Ấp 1, xã Hiệp Khánh, tỉnh Kiên Giang") is None


def test_owners_names_go_to_extensions_and_an_invalid_id_is_kept_not_dropped() -> None:
    parcel = wire.parcel_from(thua_dat(owners=(("079203001234", "Nguyễn Văn An"), ("000000000000", "Không rõ"))))
    assert parcel.owner_ids == ["079203001234"]
    assert parcel.extensions["ChuSuDung/079203001234/HoTen"] == "Nguyễn Văn An"
    assert parcel.extensions["ChuSuDung/000000000000/HoTen"] == "Không rõ"
    assert "ChuSuDung/000000000000/SoDinhDanh" in parcel.extensions


def test_answers_about_something_else_are_invalid() -> None:
    answer = el("TraCuuThuaDatTheoChuSoHuuPhanHoi", ("SoDinhDanh", "079203001234"), ("TongSo", "2"), thua_dat())
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.parcels_of_owner_from(answer, "079203001234")
    assert caught.value.rule == "count"
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.parcels_of_owner_from(answer, "001090001234")
    assert caught.value.rule == "owner_echo"
    by_serial = el("TraCuuThuaDatTheoGiayChungNhanPhanHoi", thua_dat(serial="CS 123456"))
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.parcel_by_certificate_from(by_serial, "CS654321")
    assert caught.value.rule == "serial_echo"
    with pytest.raises(AgencyInvalidResponse):
        m.parcel_by_certificate_from(el("DangKyHanChePhanHoi"), "CS123456")
    missing = el("TraCuuThuaDatTheoGiayChungNhanPhanHoi",
                 el("KhongTimThay", ("SoPhatHanhGCN", "ZZ 000001"), ("ThongBao", "Không tìm thấy")))
    assert m.parcel_by_certificate_from(missing, "zz000001") is None


# --- requests -----------------------------------------------------------------------------------------
def restriction(kind: RestrictionKind = RestrictionKind.SEIZURE, serial: str = "CS 123456") -> LandRestriction:
    return LandRestriction(decision_ref="102/2026/QĐ-THADS", kind=kind, certificate_serial=serial)


def test_requests_are_valid_registry_requests(xsd: CompiledSchema) -> None:
    lookups = (m.parcels_of_owner_request("079203001234"), m.parcel_by_certificate_request("cs123456"))
    for request in lookups:
        xsd.validate(request)
    assert lookups[1].findtext(q("SoPhatHanhGCN")) == "CS 123456"
    with pytest.raises(InvalidValue) as caught:
        m.parcels_of_owner_request("12345")
    assert caught.value.code == "ID_INVALID"
    with pytest.raises(InvalidValue):
        m.parcel_by_certificate_request("C 12")

    halt = restriction(RestrictionKind.HALT_TRANSFER)
    register = m.register_request(halt, "Thi hành án dân sự TP Hồ Chí Minh", dt.date(2026, 11, 20),
                                  m.register_note(halt))
    xsd.validate(register)
    assert [(etree.QName(c).localname, c.text) for c in register] == [
        ("SoQuyetDinh", "102/2026/QĐ-THADS"), ("LoaiHanChe", "TAMDUNG"), ("SoPhatHanhGCN", "CS 123456"),
        ("NgayQuyetDinh", "20/11/2026"), ("CoQuanThiHanhAn", "Thi hành án dân sự TP Hồ Chí Minh"),
        ("GhiChu", f"THADS {halt.id}")]
    assert m.register_request(restriction(), "Chi cục THADS", dt.date(2026, 1, 2)).findtext(q("LoaiHanChe")) == "KEBIEN"
    lift = m.lift_request(halt, "7/QĐ-CCTHADS", dt.date(2026, 12, 2))
    xsd.validate(lift)
    assert [(etree.QName(c).localname, c.text) for c in lift] == [
        ("SoQuyetDinh", "102/2026/QĐ-THADS"), ("SoPhatHanhGCN", "CS 123456"), ("SoQuyetDinhGo", "7/QĐ-CCTHADS"),
        ("NgayQuyetDinhGo", "02/12/2026")]
    xsd.validate(m.lift_request(halt, "7/QĐ-CCTHADS"))
    with pytest.raises(InvalidValue):
        m.register_request(LandRestriction(decision_ref="QĐ số 12", kind=RestrictionKind.SEIZURE,
                                           certificate_serial="CS123456"), "Chi cục", dt.date(2026, 1, 2))
    assert m.idempotency_key("102/2026/QĐ-THADS", "cs 123456") == "102/2026/QĐ-THADS:CS123456"


# --- receipts -----------------------------------------------------------------------------------------
def receipt(local: str, *, state: str = "DANG_HIEU_LUC", kind: str = "KEBIEN", serial: str = "CS 123456",
            decision: str = "102/2026/QĐ-THADS", lift: str | None = None) -> etree._Element:
    children: list[tuple[str, str]] = [
        ("MaTiepNhan", "DK-20261120-000001" if lift is None else "GO-20261202-000002"), ("SoPhatHanhGCN", serial),
        ("SoQuyetDinh", decision), ("LoaiHanChe", kind), ("TrangThai", state),
        ("ThoiGianTiepNhan", "20/11/2026 09:15:00")]
    if lift:
        children.append(("SoQuyetDinhGo", lift))
    return el(f"{local}PhanHoi", el("BienNhan", *children))


def test_a_registration_receipt_applies_the_restriction(xsd: CompiledSchema) -> None:
    answer = receipt("DangKyHanChe")
    xsd.validate(answer)
    applied, got = m.registered_from(answer, restriction())
    assert applied.status is MeasureStatus.APPLIED
    assert applied.registered_at == dt.datetime(2026, 11, 20, 2, 15, tzinfo=dt.UTC)
    assert got.file_number == "DK-20261120-000001"
    assert got.extensions("DangKyHanChe")["DangKyHanChe/MaTiepNhan"] == "DK-20261120-000001"
    lifted_since, _ = m.registered_from(receipt("DangKyHanChe", state="DA_GO"), restriction())
    assert lifted_since.status is MeasureStatus.LIFTED
    for bad in (receipt("DangKyHanChe", kind="TAMDUNG"), receipt("DangKyHanChe", serial="CS 999999"),
                receipt("DangKyHanChe", decision="1/QĐ-X"), receipt("GoHanChe")):
        with pytest.raises(AgencyInvalidResponse):
            m.registered_from(bad, restriction())


def test_a_lift_receipt_lifts_it(xsd: CompiledSchema) -> None:
    answer = receipt("GoHanChe", state="DA_GO", lift="7/QĐ-CCTHADS")
    xsd.validate(answer)
    lifted, got = m.lifted_from(answer, restriction(), "7/QĐ-CCTHADS")
    assert lifted.status is MeasureStatus.LIFTED
    assert got.lift_decision_ref == "7/QĐ-CCTHADS"
    with pytest.raises(AgencyInvalidResponse):
        m.lifted_from(receipt("GoHanChe", state="DANG_HIEU_LUC"), restriction(), "7/QĐ-CCTHADS")
    with pytest.raises(AgencyInvalidResponse):
        m.lifted_from(answer, restriction(), "8/QĐ-CCTHADS")


@pytest.mark.parametrize("code", REFUSAL_CODES)
def test_a_refusal_is_agency_rejected_with_the_registrys_code(code: str, xsd: CompiledSchema) -> None:
    for local, apply in (("DangKyHanChe", lambda a: m.registered_from(a, restriction())),
                         ("GoHanChe", lambda a: m.lifted_from(a, restriction(), "7/QĐ-CCTHADS"))):
        answer = el(f"{local}PhanHoi", el("TuChoi", ("MaLoi", code), ("MoTaLoi", "Lý do từ chối")))
        xsd.validate(answer)
        with pytest.raises(AgencyRejected) as caught:
            apply(answer)
        assert (caught.value.code, caught.value.rule) == ("AGENCY_REJECTED", code)
        assert "Lý do từ chối" in caught.value.detail

