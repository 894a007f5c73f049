"""The courts' mapping (mappings/court): pure functions, checked against the published contract and
against the judgment documents the court mock writes from the sandbox world."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from lxml import etree
from pydantic import BaseModel

from adapters.envelope import canonical_hash
from adapters.xsd import CompiledSchema
from hub.errors import AgencyInvalidResponse, InvalidValue
from hub.model.judgment import Court, CourtLevel, Judgment, JudgmentParty, Obligation, ObligationKind
from hub.model.judgment_number import CaseType, Instance
from hub.model.party import Address, Party, PartyKind, PartyRole
from mappings import court as m
from mappings.court.lookups import EffectiveJudgmentRef
from sandbox_mocks.court.document import judgment_document
from sandbox_mocks.seed.world import World, build_world

NS = m.NS
MODELS: dict[str, type[BaseModel]] = {"Court": Court, "Judgment": Judgment, "JudgmentParty": JudgmentParty,
                                      "Party": Party, "Address": Address, "Obligation": Obligation}
KINDS = ("canonical", "extensions", "ref", "request", "check", "receipt")


def q(local: str) -> str:
    return f"{{{NS}}}{local}"


def el(local: str, *children: etree._Element | tuple[str, str]) -> etree._Element:
    out = etree.Element(q(local), nsmap={"ba": NS})
    for child in children:
        if isinstance(child, tuple):
            etree.SubElement(out, q(child[0])).text = child[1]
        else:
            out.append(child)
    return out


def person(number: int, role: str, name: str, *ids: tuple[str, str], address: str = "Ấp 7, xã Hòa Phú, "
           "thành phố Thuận An, tỉnh Bình Dương") -> etree._Element:
    return el("DuongSu", ("ThuTu", str(number)), ("TuCach", role), el("CaNhan", ("HoTen", name), *ids),
              ("DiaChi", address))


def organisation(number: int, role: str, name: str, tax_code: str | None = None) -> etree._Element:
    org = el("ToChuc", ("TenToChuc", name), *((("MaSoThue", tax_code),) if tax_code else ()))
    return el("DuongSu", ("ThuTu", str(number)), ("TuCach", role), org,
              ("DiaChi", "Số 12 đường Lê Lợi, phường Sài Gòn, TP Hồ Chí Minh"))


def order(number: int, kind: str, obligor: int, obligee: int | None, amount: str | None,
          text: str = "Buộc trả tiền.") -> etree._Element:
    children: list[tuple[str, str]] = [("ThuTu", str(number)), ("LoaiNghiaVu", kind),
                                       ("NguoiPhaiThiHanh", str(obligor))]
    if obligee is not None:
        children.append(("NguoiDuocThiHanh", str(obligee)))
    if amount is not None:
        children.append(("SoTien", amount))
    children.append(("NoiDung", text))
    return el("NghiaVu", *children)


def ban_an(*, number: str = "12/2024/DS-ST", codes: tuple[str, str, str] = ("BAN_AN", "DAN_SU", "SO_THAM"),
           parties: tuple[etree._Element, ...] | None = None, orders: tuple[etree._Element, ...] | None = None,
           fees: tuple[etree._Element, ...] | None = None, court: tuple[str, str, str, str] | None = None,
           issued: str = "05/03/2024", effective: str = "10/04/2024") -> etree._Element:
    court = court or ("TAND-79-KV01", "Tòa án nhân dân khu vực 1 - Thành phố Hồ Chí Minh", "KHU_VUC", "79")
    parties = parties if parties is not None else (
        person(1, "NGUOI_PHAI_THI_HANH_AN", "Nguyễn Văn An", ("SoDinhDanh", "079090001234"),
               ("NgaySinh", "12/03/1990")),
        organisation(2, "NGUOI_DUOC_THI_HANH_AN", "Ngân hàng TMCP Ngoại thương Việt Nam", "0100112437"))
    orders = orders if orders is not None else (order(1, "TRA_TIEN", 1, 2, "150000000"),)
    doc = el("BanAn", el("ToaAn", ("MaToaAn", court[0]), ("TenToaAn", court[1]), ("CapToaAn", court[2]),
                         ("MaTinhThanh", court[3])),
             ("SoBanAn", number), ("LoaiVanBan", codes[0]), ("LoaiVuViec", codes[1]), ("CapXetXu", codes[2]),
             ("NgayBanHanh", issued), ("NgayCoHieuLuc", effective), el("DanhSachDuongSu", *parties),
             el("PhanQuyetDinh", *orders))
    if fees is None or fees:
        doc.append(el("DanhSachAnPhi", *(fees or (el("KhoanAnPhi", ("ThuTu", "1"), ("NguoiPhaiNop", "1"),
                                                      ("SoTien", "7500000"), ("NoiDung", "Án phí sơ thẩm.")),))))
    return doc


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=5, citizens=500)


@pytest.fixture(scope="module")
def xsd() -> CompiledSchema:
    return CompiledSchema.load(m.XSD)


# --- every element of the contract lands somewhere ---------------------------------------------------
def contract_paths(xsd_file: Path) -> set[str]:
    """Every leaf element of the XSD as a path from its global element (BanAn also under TraCuuBanAnPhanHoi)."""
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
    assert len(paths) > 70  # the walk really went through the contract
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
            assert "extensions" in MODELS[model].model_fields and target.startswith(f"{model}.extensions["), path
        if kind == "ref":
            assert target.split(".")[1] in EffectiveJudgmentRef.model_fields, path


def test_the_code_lists_are_all_mapped() -> None:
    schema = xmlschema.XMLSchema(str(m.XSD))

    def enumeration(name: str) -> set[str]:
        simple: Any = schema.types[name]
        return {str(v) for v in simple.enumeration or []}

    assert enumeration("CapToaAnType") == set(m.COURT_LEVELS)
    assert set(m.COURT_LEVELS.values()) == set(CourtLevel)
    assert enumeration("LoaiVanBanType") == set(m.DOCUMENT_KINDS)
    assert enumeration("LoaiVuViecType") == set(m.CASE_TYPES) and set(m.CASE_TYPES.values()) == set(CaseType)
    assert enumeration("CapXetXuType") == set(m.INSTANCES) and set(m.INSTANCES.values()) == set(Instance)
    assert enumeration("TuCachType") == set(m.ROLES) and set(m.ROLES.values()) == set(PartyRole)
    assert enumeration("LoaiNghiaVuType") == set(m.ORDER_KINDS)
    assert enumeration("TrangThaiTiepNhanType") == {m.ACCEPTED, m.DUPLICATE}


# --- documents the court writes: values equal the world's --------------------------------------------
def test_every_judgment_the_court_writes_maps_to_the_worlds_values(world: World, xsd: CompiledSchema) -> None:
    assert len(world.judgments) > 10
    for source in world.judgments:
        doc = judgment_document(source)
        xsd.validate(doc)
        judgment = m.judgment_from(doc)
        assert judgment.number.format() == source.number
        assert judgment.court.code == source.court_code and judgment.court.province_code == source.court_province_code
        assert (judgment.issued_on, judgment.effective_on) == (source.issued_on, source.effective_on)
        assert judgment.source_document_hash == canonical_hash(doc)
        assert [(jp.role.value, jp.party.kind.value, jp.party.full_name) for jp in judgment.parties] == \
            [(p.role, p.kind, p.name_as_written) for p in source.parties]
        for jp, party in zip(judgment.parties, source.parties, strict=True):
            written = party.person_id_as_written
            ids = (jp.party.person_id, jp.party.legacy_id, jp.party.tax_code)
            assert [i for i in ids if i] == ([written] if written else [])
            assert jp.party.addresses[0].original_text == party.address_as_written
        assert sorted(o.amount_vnd or 0 for o in judgment.obligations) == \
            sorted(d.amount_vnd or 0 for d in source.dispositions)
        assert sum(o.kind is ObligationKind.COURT_FEE for o in judgment.obligations) == \
            sum(d.kind == "court_fee" for d in source.dispositions)


def test_the_hash_is_the_canonical_hash_of_the_document_as_signed(world: World) -> None:
    doc = judgment_document(world.judgments[0])
    inside = el("TraCuuBanAnPhanHoi", copy.deepcopy(doc))
    reread = etree.fromstring(etree.tostring(inside, pretty_print=False))[0]
    assert m.judgment_from(reread).source_document_hash == canonical_hash(doc) == m.canonical_hash(doc)


def test_a_hand_written_document(xsd: CompiledSchema) -> None:
    doc = ban_an(orders=(order(1, "TRA_TIEN", 1, 2, "150000000"), order(2, "NOP_NGAN_SACH", 1, None, "5000000"),
                         order(3, "GIAO_TAI_SAN", 1, 2, None, "Giao xe ô tô."),
                         order(4, "THUC_HIEN_CONG_VIEC", 1, None, None, "Tháo dỡ tường rào.")))
    xsd.validate(doc)
    judgment = m.judgment_from(doc)
    debtor, bank = (jp.party for jp in judgment.parties)
    assert [jp.role for jp in judgment.parties] == [PartyRole.OBLIGOR, PartyRole.OBLIGEE]
    assert (debtor.kind, debtor.person_id, debtor.birth_date) == (PartyKind.INDIVIDUAL, "079090001234",
                                                                   dt.date(1990, 3, 12))
    assert (bank.kind, bank.tax_code, bank.person_id) == (PartyKind.ORGANISATION, "0100112437", None)
    assert debtor.extensions == {"ThuTu": "1"}
    assert judgment.court == Court(code="TAND-79-KV01", name="Tòa án nhân dân khu vực 1 - Thành phố Hồ Chí Minh",
                                   level=CourtLevel.REGIONAL, province_code="79")
    assert [(o.kind, o.obligor_id, o.obligee_id, o.amount_vnd) for o in judgment.obligations] == [
        (ObligationKind.PAY_MONEY, debtor.id, bank.id, 150_000_000),
        (ObligationKind.PAY_MONEY, debtor.id, None, 5_000_000),  # to the State
        (ObligationKind.HAND_OVER_ASSET, debtor.id, bank.id, None),
        (ObligationKind.PERFORM_ACT, debtor.id, None, None),
        (ObligationKind.COURT_FEE, debtor.id, None, 7_500_000)]
    assert judgment.obligations[2].description == "Giao xe ô tô."
    # an old-form address: the province it merged into, the district it named, the text as written
    [address] = debtor.addresses
    assert (address.province_code, address.former_district) == ("79", "thành phố Thuận An")
    assert address.original_text == "Ấp 7, xã Hòa Phú, thành phố Thuận An, tỉnh Bình Dương"
    assert bank.addresses[0].former_district is None and bank.addresses[0].province_code == "79"


@pytest.mark.parametrize(("number", "codes", "expected"), [
    ("21/2014/HSST", ("BAN_AN", "HINH_SU", "SO_THAM"), (CaseType.HS, Instance.ST, "judgment", True)),
    ("1750/2017/QĐPT-LĐ", ("QUYET_DINH", "LAO_DONG", "PHUC_THAM"), (CaseType.LD, Instance.PT, "decision", False)),
    ("08/2020/KDTM-GĐT", ("BAN_AN", "KINH_DOANH_THUONG_MAI", "GIAM_DOC_THAM"),
     (CaseType.KDTM, Instance.GDT, "judgment", False)),
])
def test_judgment_numbers_in_every_form(number: str, codes: tuple[str, str, str],
                                        expected: tuple[CaseType, Instance, str, bool], xsd: CompiledSchema) -> None:
    year = number.split("/")[1]
    doc = ban_an(number=number, codes=codes, issued=f"05/03/{year}", effective=f"10/04/{year}")
    xsd.validate(doc)
    parsed = m.judgment_from(doc).number
    assert (parsed.case_type, parsed.instance, parsed.kind, parsed.legacy) == expected
    assert parsed.format() == number


def test_births_and_identity_numbers_as_written() -> None:
    parties = (
        person(1, "NGUOI_PHAI_THI_HANH_AN", "Trần Thị Loan", ("NamSinh", "1945")),
        person(2, "NGUOI_DUOC_THI_HANH_AN", "Hoàng Thuỳ Linh", ("SoCMND", "056115667"), ("NgaySinh", "01/02/1985")),
        # a number whose province code does not exist: kept as written, not an identity
        person(3, "NGUOI_CO_QUYEN_LOI_NGHIA_VU_LIEN_QUAN", "Lê Văn Tám", ("SoDinhDanh", "000090001234")),
        # a valid number that contradicts the birth date written beside it
        person(4, "NGUOI_CO_QUYEN_LOI_NGHIA_VU_LIEN_QUAN", "Phạm Văn Bình", ("SoDinhDanh", "079090001234"),
               ("NgaySinh", "01/01/1991")),
        person(5, "NGUOI_CO_QUYEN_LOI_NGHIA_VU_LIEN_QUAN", "Võ Thị Hoa", ("SoDinhDanh", "079190001234"),
               ("NamSinh", "1990")),
        person(6, "NGUOI_CO_QUYEN_LOI_NGHIA_VU_LIEN_QUAN", "Đỗ Văn Cường", ("SoDinhDanh", "079090001234"),
               ("NamSinh", "1991")),
    )
    judgment = m.judgment_from(ban_an(parties=parties))
    got = [jp.party for jp in judgment.parties]
    assert (got[0].birth_date, got[0].extensions["NamSinh"], got[0].person_id) == (None, "1945", None)
    assert (got[1].legacy_id, got[1].birth_date, got[1].person_id) == ("056115667", dt.date(1985, 2, 1), None)
    assert got[2].person_id is None
    assert got[2].extensions["SoDinhDanh"] == "000090001234"
    assert got[2].extensions["SoDinhDanh/KhongHopLe"] == "province_code"
    assert got[3].person_id is None and got[3].birth_date == dt.date(1991, 1, 1)
    assert got[3].extensions["SoDinhDanh/KhongHopLe"] == "birth_year_mismatch"
    assert got[4].person_id == "079190001234" and got[4].extensions["NamSinh"] == "1990"
    assert got[5].person_id is None and got[5].extensions["SoDinhDanh"] == "079090001234"
    assert all(p.full_name == name for p, name in zip(got, ("Trần Thị Loan", "Hoàng Thuỳ Linh"), strict=False))


@pytest.mark.parametrize(("doc", "rule"), [
    (ban_an(codes=("BAN_AN", "HINH_SU", "SO_THAM")), "number_LoaiVuViec"),
    (ban_an(codes=("QUYET_DINH", "DAN_SU", "SO_THAM")), "number_LoaiVanBan"),
    (ban_an(codes=("BAN_AN", "DAN_SU", "PHUC_THAM")), "number_CapXetXu"),
    (ban_an(orders=(order(1, "TRA_TIEN", 1, None, "100"),)), "order_obligee"),
    (ban_an(orders=(order(1, "NOP_NGAN_SACH", 1, 2, "100"),)), "order_obligee"),
    (ban_an(orders=(order(1, "TRA_TIEN", 1, 3, "100"),)), "party_reference"),
    (ban_an(orders=(order(1, "TRA_TIEN", 1, 2, None),)), "canonical_obligation_money_obligation_amount"),
    (ban_an(orders=(order(1, "GIAO_TAI_SAN", 1, 2, "100"),)), "canonical_obligation_non_money_obligation_amount"),
    (ban_an(orders=(order(1, "TRA_TIEN", 1, 2, "100"), order(1, "TRA_TIEN", 1, 2, "200"))), "order_unique"),
    (ban_an(issued="05/03/2023", effective="10/04/2023"), "canonical_judgment_year_matches_issue_date"),
    (ban_an(effective="01/01/2024"), "canonical_judgment_effective_before_issued"),
    (ban_an(issued="31/02/2024"), "date_NgayBanHanh"),
    (ban_an(court=("TAND-79-KV01", "Tòa án", "KHU_VUC", "99")), "court_province"),
    (el("TraCuuBanAn"), "document_element"),
], ids=["case-type", "document-kind", "instance", "pay-without-obligee", "state-with-obligee", "unknown-party",
        "money-without-amount", "asset-with-amount", "order-twice", "number-year", "effect-before-issue",
        "not-a-date", "province", "not-a-judgment"])
def test_documents_that_break_the_rules_are_invalid(doc: etree._Element, rule: str) -> None:
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.judgment_from(doc)
    assert caught.value.rule == rule


# --- the look-ups ------------------------------------------------------------------------------------
def test_requests_are_valid_court_requests(xsd: CompiledSchema) -> None:
    get = m.judgment_request("1750/2017/QĐPT-LĐ", "tand-79-kv01")
    xsd.validate(get)
    assert [(etree.QName(c).localname, c.text) for c in get] == [("SoBanAn", "1750/2017/QĐPT-LĐ"),
                                                                  ("MaToaAn", "TAND-79-KV01")]
    stroked = "1750/2017/QD\u0335PT-LD\u0335"  # D + a combining stroke, as some legacy systems write Đ
    assert m.judgment_request(stroked, "TANDTC").findtext(q("SoBanAn")) == "1750/2017/QĐPT-LĐ"
    listing = m.effective_request(dt.date(2024, 7, 1), 3, 50)
    xsd.validate(listing)
    assert [(etree.QName(c).localname, c.text) for c in listing] == [("TuNgay", "01/07/2024"), ("Trang", "3"),
                                                                      ("SoBanGhiMoiTrang", "50")]
    for bad in (lambda: m.judgment_request("12/2024/DS", "TANDTC"), lambda: m.judgment_request("12/2024/DS-ST", "X"),
                lambda: m.effective_request(dt.date(2024, 1, 1), 0), lambda: m.effective_request(dt.date(2024, 1, 1),
                                                                                              1, 501)):
        with pytest.raises(InvalidValue):
            bad()


def test_a_judgment_answer_is_about_the_judgment_asked_for(world: World, xsd: CompiledSchema) -> None:
    source = world.judgments[0]
    answer = el("TraCuuBanAnPhanHoi", judgment_document(source))
    xsd.validate(answer)
    found = m.judgment_answer_from(answer, source.number, source.court_code)
    assert found is not None and found.number.format() == source.number
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.judgment_answer_from(answer, source.number, "TANDTC")
    assert caught.value.rule == "number_echo"
    missing = el("TraCuuBanAnPhanHoi", el("KhongTimThay", ("SoBanAn", "1/2024/DS-ST"), ("MaToaAn", "TANDTC"),
                                          ("ThongBao", "Không tìm thấy")))
    xsd.validate(missing)
    assert m.judgment_answer_from(missing, "1/2024/DS-ST", "TANDTC") is None
    with pytest.raises(AgencyInvalidResponse):
        m.judgment_answer_from(missing, "2/2024/DS-ST", "TANDTC")
    with pytest.raises(AgencyInvalidResponse):
        m.judgment_answer_from(el("DanhSachBanAnCoHieuLucPhanHoi"), "1/2024/DS-ST", "TANDTC")


def page(total: int, number: int, pages: int, size: int, *items: tuple[str, str, str],
         since: str = "01/01/2024") -> etree._Element:
    return el("DanhSachBanAnCoHieuLucPhanHoi", ("TuNgay", since), ("TongSo", str(total)), ("Trang", str(number)),
              ("SoTrang", str(pages)), ("SoBanGhiMoiTrang", str(size)),
              *(el("BanAnCoHieuLuc", ("SoBanAn", n), ("MaToaAn", c), ("NgayCoHieuLuc", d)) for n, c, d in items))


def test_a_page_of_effective_judgments(xsd: CompiledSchema) -> None:
    since = dt.date(2024, 1, 1)
    answer = page(3, 1, 2, 2, ("12/2024/DS-ST", "TAND-79-KV01", "10/04/2024"),
                  ("21/2014/HSST", "TAND-079", "11/04/2024"))
    xsd.validate(answer)
    got = m.effective_page_from(answer, since, 1, 2)
    assert (got.total, got.pages, got.page) == (3, 2, 1)
    assert got.refs == (EffectiveJudgmentRef(number="12/2024/DS-ST", court_code="TAND-79-KV01",
                                             effective_on=dt.date(2024, 4, 10)),
                        EffectiveJudgmentRef(number="21/2014/HSST", court_code="TAND-079",
                                             effective_on=dt.date(2024, 4, 11)))
    assert m.effective_page_from(page(0, 1, 0, 100), since, 1, 100).refs == ()
    assert m.effective_page_from(page(3, 3, 2, 2), since, 3, 2).refs == ()  # past the last page: empty
    for bad, rule in ((page(3, 1, 2, 2), "page_fill"), (page(3, 2, 2, 2), "page_echo"),
                      (page(3, 1, 1, 2), "page_count"), (page(0, 1, 0, 2, since="02/01/2024"), "since_echo"),
                      (page(1, 1, 1, 2, ("1/2024/DS-ST", "TANDTC", "31/12/2023")), "since_listed")):
        with pytest.raises(AgencyInvalidResponse) as caught:
            m.effective_page_from(bad, since, 1, 2)
        assert caught.value.rule == rule


# --- the hub's receipt for a pushed judgment ---------------------------------------------------------
def test_the_submit_receipt_is_a_valid_court_document(world: World, xsd: CompiledSchema) -> None:
    judgment = m.judgment_from(judgment_document(world.judgments[0]))
    at = dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC)
    first = m.submit_receipt(judgment, "TN-20260101-000001", duplicate=False, received_at=at, note="Đã nhận")
    again = m.submit_receipt(judgment, "TN-20260101-000001", duplicate=True, received_at=at)
    for receipt in (first, again):
        xsd.validate(receipt)
    assert [(etree.QName(c).localname, c.text) for c in first] == [
        ("SoBanAn", world.judgments[0].number), ("MaToaAn", world.judgments[0].court_code),
        ("MaTiepNhan", "TN-20260101-000001"), ("TrangThai", "DA_TIEP_NHAN"), ("ThoiGian", "01/01/2026 07:30:00"),
        ("GhiChu", "Đã nhận")]
    assert again.findtext(q("TrangThai")) == "TRUNG_LAP"
    with pytest.raises(InvalidValue):
        m.submit_receipt(judgment, "có dấu", duplicate=False, received_at=at)
    with pytest.raises(InvalidValue):
        m.submit_receipt(judgment, "TN-1", duplicate=False, received_at=dt.datetime(2026, 1, 1))
