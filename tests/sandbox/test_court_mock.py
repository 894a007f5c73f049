"""The sandbox court over real HTTP, used the way an outside SOAP client uses it.

zeep loads the published WSDL from the running mock (``GET /court?wsdl``) and the schemas it imports
from the mock too, and calls GetJudgment and ListEffectiveJudgments the way the land test does: the
hub's request envelope is built and signed with ``adapters.envelope``, zeep renders the same header
texts (checked against the contract's schema) and ``PresignedEnvelope`` swaps in the signed envelope
just before zeep posts it. The raw answers are what the hub's verifier and xmlsec1 check.

Expected values are written here from the world's records and the contract's rules, not taken from
the mock's own helpers, so a mistake in the mock cannot agree with itself.
"""

from __future__ import annotations

import copy
import datetime as dt
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep
from fastapi import FastAPI
from lxml import etree
from zeep.exceptions import Fault
from zeep.transports import Transport
from zeep.wsdl.bindings.soap import Soap12Binding

from adapters import soap_envelope
from adapters.envelope import NS as ENV_NS
from adapters.envelope import (
    EnvelopeFields,
    EnvelopeSigner,
    EnvelopeVerifier,
    VerifiedEnvelope,
    build_envelope,
    canonical_hash,
)
from adapters.refusal import Refusal
from adapters.trust_store import TrustStore
from adapters.xml_hardened import parse_xml
from adapters.xsd import SCHEMA_DIR, CompiledSchema
from hub.agency_ids import sandbox_agencies
from hub.trust.pki_init import init_pki
from sandbox_mocks.court import CourtMock
from sandbox_mocks.court.document import judgment_document
from sandbox_mocks.seed.world import Judgment, JudgmentParty, World, build_world
from tests.conftest import ServedApp
from tests.sandbox.test_land_mock import ZEEP_SETTINGS, PresignedEnvelope, SandboxOnlyTransport

NS = "urn:vn:gov:toaan:banan:1"
SOAP12 = soap_envelope.SOAP12
PROBLEM_NS = soap_envelope.PROBLEM_NS
CONTRACTS = Path(__file__).resolve().parents[2] / "mappings" / "court" / "contracts"
COURT_XSD = CONTRACTS / "court-judgments.xsd"
OPERATIONS = {"TraCuuBanAn": "GetJudgment", "DanhSachBanAnCoHieuLuc": "ListEffectiveJudgments"}
ROLES = {"obligor": "NGUOI_PHAI_THI_HANH_AN", "obligee": "NGUOI_DUOC_THI_HANH_AN",
         "related": "NGUOI_CO_QUYEN_LOI_NGHIA_VU_LIEN_QUAN"}
ID_ELEMENTS = ("SoDinhDanh", "SoCMND", "MaSoThue")


def q(local: str) -> str:
    return f"{{{NS}}}{local}"


def court_request(local: str, **children: str) -> etree._Element:
    el = etree.Element(q(local), nsmap={"ba": NS})
    for name, text in children.items():
        etree.SubElement(el, q(name)).text = text
    return el


def request_header(operation: str, *, from_agency: str = "hub", **overrides: Any) -> EnvelopeFields:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        "message_id": str(uuid.uuid4()), "from_agency": from_agency, "to_agency": "court", "service": "judgments",
        "operation": operation, "created": now, "expires": now + dt.timedelta(minutes=5),
        "case_ref": "THADS-79-2026-0042", "purpose": "Đối soát bản án có hiệu lực pháp luật"}
    values.update(overrides)
    return EnvelopeFields(**values)


def ddmmyyyy(day: dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


@dataclass
class Answer:
    request: etree._Element
    verified: VerifiedEnvelope
    parsed: Any  # the business answer as zeep parsed it from the WSDL's output message

    @property
    def body(self) -> etree._Element:
        return self.verified.body


class CourtClient:
    def __init__(self, base: str, key_dir: Path) -> None:
        self.key_dir = key_dir
        self.transport = SandboxOnlyTransport(base)
        self.plugin = PresignedEnvelope()
        self.zeep = zeep.Client(f"{base}/court?wsdl", transport=self.transport, plugins=[self.plugin],
                                settings=ZEEP_SETTINGS)
        self.hub = EnvelopeSigner.from_key_dir(key_dir, "hub")
        self.verifier = EnvelopeVerifier(TrustStore.load(key_dir))
        self.schema = CompiledSchema.load(COURT_XSD)

    def signed(self, business: etree._Element, *, signer: EnvelopeSigner | None = None,
               **header: Any) -> etree._Element:
        operation = OPERATIONS.get(etree.QName(business).localname, "GetJudgment")
        return (signer or self.hub).sign(build_envelope(request_header(operation, **header), business))

    def send(self, signed: etree._Element) -> Any:
        business = signed.find(f"{{{ENV_NS}}}Body")[0]
        header = {etree.QName(e).localname: e.text for e in signed.find(f"{{{ENV_NS}}}Header")}
        self.plugin.signed = signed
        operation = getattr(self.zeep.service, OPERATIONS[etree.QName(business).localname])
        return operation(Header=header, Body={"_value_1": copy.deepcopy(business)})

    def verify_last(self) -> VerifiedEnvelope:
        assert self.transport.last_answer is not None
        return self.verifier.verify(etree.tostring(soap_envelope.unwrap(self.transport.last_answer)),
                                    expected_to="hub")

    def call(self, business: etree._Element) -> Answer:
        request = self.signed(business)
        result = self.send(request)
        assert self.transport.last_status == 200
        verified = self.verify_last()
        assert verified.signer == "court"
        assert (verified.header.from_agency, verified.header.to_agency) == ("court", "hub")
        assert verified.header.correlation_id == request.findtext(f"{{{ENV_NS}}}Header/{{{ENV_NS}}}MessageId")
        assert verified.header.request_hash == canonical_hash(request)
        assert etree.QName(verified.body) == etree.QName(NS, f"{etree.QName(business).localname}PhanHoi")
        self.schema.validate(verified.body)  # the court keeps its own contract
        assert result.Header.From == "court"
        return Answer(request=request, verified=verified, parsed=result.Body._value_1)

    def get(self, number: str, court_code: str) -> Answer:
        return self.call(court_request("TraCuuBanAn", SoBanAn=number, MaToaAn=court_code))


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("court-pki")
    init_pki(path, sandbox_agencies())
    return path


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, citizens=500)


@pytest.fixture(scope="module")
def court(world: World, key_dir: Path) -> CourtMock:
    return CourtMock(world=world, key_dir=key_dir, seed=11)


@pytest.fixture(scope="module")
def served(court: CourtMock) -> Iterator[ServedApp]:
    root = FastAPI()
    root.mount("/court", court.build_app())
    with ServedApp(root) as app:
        yield app


@pytest.fixture(scope="module")
def client(served: ServedApp, key_dir: Path) -> CourtClient:
    return CourtClient(served.url, key_dir)


@pytest.fixture(autouse=True)
def _no_faults_after(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "served" in request.fixturenames:
        served: ServedApp = request.getfixturevalue("served")
        httpx.delete(f"{served.url}/court/_admin/faults", timeout=10).raise_for_status()


def post_soap(served: ServedApp, data: bytes) -> httpx.Response:
    return httpx.post(f"{served.url}/court", content=data, headers={"Content-Type": soap_envelope.CONTENT_TYPE},
                      timeout=15, follow_redirects=True)


def fault_of(response: httpx.Response) -> tuple[str, str, str | None]:
    root = parse_xml(response.content)
    fault = root.find(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault")
    assert fault is not None, response.text
    return (fault.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value") or "",
            fault.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Subcode/{{{SOAP12}}}Value") or "",
            fault.findtext(f"{{{SOAP12}}}Detail/{{{PROBLEM_NS}}}rule"))


def parties_by_number(doc: etree._Element) -> dict[str, etree._Element]:
    return {el.findtext(q("ThuTu")) or "": el for el in doc.iter(q("DuongSu"))}


def a_party(world: World, test: Any) -> tuple[Judgment, JudgmentParty]:
    found = next(((j, p) for j in world.judgments for p in j.parties if test(p)), None)
    if found is None:
        pytest.fail("the seeded world has no such party")
    return found


# --- the contract ----------------------------------------------------------------------------------
def test_zeep_loads_the_contract_from_the_mock_only(client: CourtClient, served: ServedApp) -> None:
    assert set(client.transport.loaded) == {
        f"{served.url}/court?wsdl",
        f"{served.url}/court/contracts/thads-envelope-1.xsd",
        f"{served.url}/court/contracts/xmldsig-core-schema.xsd",
        f"{served.url}/court/contracts/court-judgments.xsd",
    }
    service = client.zeep.service
    assert isinstance(service._binding, Soap12Binding)
    assert service._binding_options["address"] == f"{served.url}/court"
    assert set(service._binding._operations) == set(OPERATIONS.values())
    for name in OPERATIONS.values():  # document/literal, the signed envelope in and out
        op = service._binding._operations[name]
        assert op.soapaction == f"{NS}#{name}"
        assert op.input.body.qname == etree.QName(ENV_NS, "Envelope")
        assert op.output.body.qname == etree.QName(ENV_NS, "Envelope")
    assert "SANDBOX_BASE_URL" not in httpx.get(f"{served.url}/court?wsdl", timeout=10, follow_redirects=True).text
    # the hub-side contract is published next to it
    submit = httpx.get(f"{served.url}/court/contracts/court-submit.wsdl", timeout=10)
    assert submit.status_code == 200 and b"SubmitJudgment" in submit.content


def test_both_contracts_load_from_disk_and_their_envelope_schemas_are_the_hubs() -> None:
    class NoNetwork(Transport):
        def load(self, url: str) -> bytes:
            assert "://" not in url or url.startswith("file://"), f"zeep tried to load {url}"
            return bytes(super().load(url))

    served = zeep.Client(str(CONTRACTS / "court-judgments.wsdl"), transport=NoNetwork(), settings=ZEEP_SETTINGS)
    assert set(served.service._binding._operations) == set(OPERATIONS.values())
    submit = zeep.Client(str(CONTRACTS / "court-submit.wsdl"), transport=NoNetwork(), settings=ZEEP_SETTINGS)
    assert set(submit.service._binding._operations) == {"SubmitJudgment"}
    assert submit.service._binding._operations["SubmitJudgment"].soapaction == f"{NS}#SubmitJudgment"
    assert submit.service._binding_options["address"] == "SANDBOX_HUB_URL/soap/court"
    for element in ("BanAn", "BienNhanBanAn", "TraCuuBanAnPhanHoi", "DanhSachBanAnCoHieuLucPhanHoi"):
        assert submit.get_element(f"{{{NS}}}{element}") is not None
    for name in ("thads-envelope-1.xsd", "xmldsig-core-schema.xsd"):  # copies must not drift
        assert (CONTRACTS / name).read_bytes() == (SCHEMA_DIR / name).read_bytes(), name
    CompiledSchema(COURT_XSD)


def test_every_judgment_of_the_world_fits_the_contract(world: World) -> None:
    schema = CompiledSchema.load(COURT_XSD)
    for judgment in world.judgments:
        doc = judgment_document(judgment)
        schema.validate(doc)
        assert len(list(doc.iter(q("DuongSu")))) == len(judgment.parties)
        assert len(list(doc.iter(q("NghiaVu")))) + len(list(doc.iter(q("KhoanAnPhi")))) == \
            len(judgment.dispositions)


def test_the_schema_holds_orders_to_the_parties_of_the_document(world: World) -> None:
    """xs:key / xs:keyref: an order naming a party the document does not list is refused."""
    schema = CompiledSchema.load(COURT_XSD)
    judgment = next(j for j in world.judgments if any(d.kind != "court_fee" for d in j.dispositions))
    doc = judgment_document(judgment)
    order = doc.find(f"{q('PhanQuyetDinh')}/{q('NghiaVu')}")
    assert order is not None
    order.find(q("NguoiPhaiThiHanh")).text = str(len(judgment.parties) + 1)
    with pytest.raises(Refusal) as caught:
        schema.validate(doc)
    assert caught.value.code == "SCHEMA_INVALID"


# --- GetJudgment -------------------------------------------------------------------------------------
def _check_document(doc: etree._Element, judgment: Judgment) -> None:
    assert doc.findtext(f"{q('ToaAn')}/{q('MaToaAn')}") == judgment.court_code
    assert doc.findtext(f"{q('ToaAn')}/{q('TenToaAn')}") == judgment.court_name
    assert doc.findtext(f"{q('ToaAn')}/{q('MaTinhThanh')}") == judgment.court_province_code
    assert doc.findtext(q("SoBanAn")) == judgment.number
    assert doc.findtext(q("LoaiVanBan")) == ("QUYET_DINH" if "/QĐ" in judgment.number else "BAN_AN")
    assert doc.findtext(q("NgayBanHanh")) == ddmmyyyy(judgment.issued_on)
    assert doc.findtext(q("NgayCoHieuLuc")) == ddmmyyyy(judgment.effective_on)
    parties = parties_by_number(doc)
    assert list(parties) == [str(i) for i in range(1, len(judgment.parties) + 1)]
    number_of: dict[str, str] = {}
    for (number, el), party in zip(parties.items(), judgment.parties, strict=True):
        number_of[party.world_id] = number
        assert el.findtext(q("TuCach")) == ROLES[party.role]
        assert el.findtext(q("DiaChi")) == party.address_as_written
        if party.kind == "organisation":
            assert el.findtext(f"{q('ToChuc')}/{q('TenToChuc')}") == party.name_as_written
        else:
            assert el.findtext(f"{q('CaNhan')}/{q('HoTen')}") == party.name_as_written
            birth = el.findtext(f"{q('CaNhan')}/{q('NamSinh')}") or el.findtext(f"{q('CaNhan')}/{q('NgaySinh')}")
            assert birth == party.birth_year_or_date
        written = [t for t in (el.findtext(f".//{q(name)}") for name in ID_ELEMENTS) if t]
        assert written == ([party.person_id_as_written] if party.person_id_as_written else [])
    orders = [d for d in judgment.dispositions if d.kind != "court_fee"]
    fees = [d for d in judgment.dispositions if d.kind == "court_fee"]
    order_els = doc.findall(f"{q('PhanQuyetDinh')}/{q('NghiaVu')}")
    assert len(order_els) == len(orders)
    for el, order in zip(order_els, orders, strict=True):
        assert el.findtext(q("NguoiPhaiThiHanh")) == number_of[order.obligor]
        assert el.findtext(q("NguoiDuocThiHanh")) == (number_of[order.obligee] if order.obligee else None)
        assert el.findtext(q("SoTien")) == (str(order.amount_vnd) if order.amount_vnd is not None else None)
        assert el.findtext(q("NoiDung")) == order.text
        expected_kind = {"hand_over_asset": "GIAO_TAI_SAN", "perform_act": "THUC_HIEN_CONG_VIEC"}.get(
            order.kind, "TRA_TIEN" if order.obligee else "NOP_NGAN_SACH")
        assert el.findtext(q("LoaiNghiaVu")) == expected_kind
    fee_els = doc.findall(f"{q('DanhSachAnPhi')}/{q('KhoanAnPhi')}")
    assert [(e.findtext(q("NguoiPhaiNop")), e.findtext(q("SoTien")), e.findtext(q("NoiDung"))) for e in fee_els] == \
        [(number_of[f.obligor], str(f.amount_vnd), f.text) for f in fees]


def test_get_judgment_answers_the_court_document(client: CourtClient, world: World) -> None:
    # a legacy number, a decision, an organisation as a party, and the first and last judgments
    picks = {world.judgments[0].number: world.judgments[0], world.judgments[-1].number: world.judgments[-1]}
    for test in (lambda j: "-" not in j.number.split("/")[2], lambda j: "/QĐ" in j.number,
                 lambda j: any(p.kind == "organisation" for p in j.parties)):
        judgment = next((j for j in world.judgments if test(j)), None)
        assert judgment is not None, "the seeded world lacks a kind of judgment the test needs"
        picks[judgment.number] = judgment
    for judgment in picks.values():
        answer = client.get(judgment.number, judgment.court_code)
        doc = answer.body.find(q("BanAn"))
        assert doc is not None and answer.body.find(q("KhongTimThay")) is None
        _check_document(doc, judgment)
        # zeep read the same document from the WSDL's types
        assert answer.parsed.BanAn.SoBanAn == judgment.number
        assert answer.parsed.BanAn.ToaAn.MaToaAn == judgment.court_code
        assert len(answer.parsed.BanAn.DanhSachDuongSu.DuongSu) == len(judgment.parties)


def test_a_party_the_court_named_without_an_id_is_written_without_one(client: CourtClient, world: World) -> None:
    judgment, party = a_party(world, lambda p: p.kind == "individual" and p.person_id_as_written is None)
    doc = client.get(judgment.number, judgment.court_code).body.find(q("BanAn"))
    assert doc is not None
    el = next(e for e in doc.iter(q("DuongSu")) if e.findtext(f"{q('CaNhan')}/{q('HoTen')}") == party.name_as_written)
    assert [name for name in ID_ELEMENTS if el.find(f".//{q(name)}") is not None] == []
    assert party.world_id not in etree.tostring(el, encoding=str)  # the ground truth never leaks


def test_an_old_9_digit_id_is_written_as_cmnd(client: CourtClient, world: World) -> None:
    judgment, party = a_party(world, lambda p: p.kind == "individual" and len(p.person_id_as_written or "") == 9)
    doc = client.get(judgment.number, judgment.court_code).body.find(q("BanAn"))
    assert doc is not None
    el = next(e for e in doc.iter(q("DuongSu")) if e.findtext(f"{q('CaNhan')}/{q('HoTen')}") == party.name_as_written)
    assert el.findtext(f"{q('CaNhan')}/{q('SoCMND')}") == party.person_id_as_written
    assert el.find(f"{q('CaNhan')}/{q('SoDinhDanh')}") is None


def test_an_unknown_number_is_a_signed_not_found_answer(client: CourtClient, world: World) -> None:
    known = world.judgments[0]
    unknown = next(n for n in (f"{i}/2024/DS-ST" for i in range(1, 5000)) if world.judgment(n) is None)
    other_court = "TAND-01-KV01" if known.court_code != "TAND-01-KV01" else "TAND-79-KV01"
    for number, court_code in ((unknown, known.court_code), (known.number, other_court)):
        answer = client.get(number, court_code)
        assert answer.body.find(q("BanAn")) is None
        assert answer.body.findtext(f"{q('KhongTimThay')}/{q('SoBanAn')}") == number
        assert answer.body.findtext(f"{q('KhongTimThay')}/{q('MaToaAn')}") == court_code
        assert answer.body.findtext(f"{q('KhongTimThay')}/{q('ThongBao')}")
        assert answer.parsed.KhongTimThay.SoBanAn == number


# --- ListEffectiveJudgments ----------------------------------------------------------------------------
def test_list_effective_judgments_pages_through_the_worlds_judgments(client: CourtClient, world: World) -> None:
    since = dt.date(2020, 1, 1)
    expected = [(j.number, j.court_code, ddmmyyyy(j.effective_on))
                for j in sorted(world.judgments, key=lambda j: (j.effective_on, j.number)) if j.effective_on >= since]
    assert len(expected) > 10, "the seeded world has too few recent judgments to page through"
    listed: list[tuple[str, str, str]] = []
    page = 1
    while True:
        answer = client.call(court_request("DanhSachBanAnCoHieuLuc", TuNgay=ddmmyyyy(since), Trang=str(page),
                                           SoBanGhiMoiTrang="4"))
        body = answer.body
        assert body.findtext(q("TongSo")) == str(len(expected))
        assert body.findtext(q("SoTrang")) == str((len(expected) + 3) // 4)
        assert body.findtext(q("TuNgay")) == "01/01/2020"
        items = body.findall(q("BanAnCoHieuLuc"))
        if not items:
            break
        assert len(items) <= 4
        listed += [(e.findtext(q("SoBanAn")) or "", e.findtext(q("MaToaAn")) or "", e.findtext(q("NgayCoHieuLuc"))
                    or "") for e in items]
        assert answer.parsed.TongSo == len(expected)
        page += 1
    assert page == (len(expected) + 3) // 4 + 1  # the page after the last is empty, not an error
    assert listed == expected
    # without paging parameters: one page of the default size holds them all
    whole = client.call(court_request("DanhSachBanAnCoHieuLuc", TuNgay=ddmmyyyy(since))).body
    assert [e.findtext(q("SoBanAn")) for e in whole.findall(q("BanAnCoHieuLuc"))] == [n for n, _, _ in expected]
    assert whole.findtext(q("SoBanGhiMoiTrang")) == "100"


def test_a_day_after_every_judgment_lists_nothing(client: CourtClient, world: World) -> None:
    last = max(j.effective_on for j in world.judgments)
    body = client.call(court_request("DanhSachBanAnCoHieuLuc", TuNgay=ddmmyyyy(last + dt.timedelta(days=1)))).body
    assert (body.findtext(q("TongSo")), body.findtext(q("SoTrang"))) == ("0", "0")
    assert body.findall(q("BanAnCoHieuLuc")) == []


# --- signatures --------------------------------------------------------------------------------------
def test_answers_verify_in_xmlsec1(client: CourtClient, world: World, key_dir: Path, tmp_path: Path) -> None:
    xmlsec1 = shutil.which("xmlsec1") or "/usr/bin/xmlsec1"
    assert Path(xmlsec1).exists(), "xmlsec1 is not installed (Debian: apt-get install xmlsec1)"
    judgment = world.judgments[1]
    client.get(judgment.number, judgment.court_code)
    assert client.transport.last_answer is not None
    answer = tmp_path / "answer.xml"
    answer.write_bytes(etree.tostring(soap_envelope.unwrap(client.transport.last_answer), xml_declaration=True,
                                      encoding="UTF-8"))
    run = subprocess.run([xmlsec1, "--verify", "--trusted-pem", str(key_dir / "ca.pem"), str(answer)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "OK" in run.stderr

    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(answer.read_bytes().replace(b"<ba:SoTien>", b"<ba:SoTien>9", 1))
    assert tampered.read_bytes() != answer.read_bytes()
    run = subprocess.run([xmlsec1, "--verify", "--trusted-pem", str(key_dir / "ca.pem"), str(tampered)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0


# --- hostile requests ----------------------------------------------------------------------------------
def _lookup(world: World) -> etree._Element:
    judgment = world.judgments[0]
    return court_request("TraCuuBanAn", SoBanAn=judgment.number, MaToaAn=judgment.court_code)


def _bad_signature(client: CourtClient, world: World) -> bytes:
    signed = client.signed(_lookup(world))
    signed.find(f".//{q('MaToaAn')}").text = "TAND-79-KV01"  # edited after signing
    return soap_envelope.wrap(signed)


def _schema_invalid(client: CourtClient, world: World) -> bytes:
    return soap_envelope.wrap(client.signed(court_request("TraCuuBanAn", SoBanAn="12-2024-DS",
                                                          MaToaAn=world.judgments[0].court_code)))


def _not_a_date(client: CourtClient, world: World) -> bytes:
    return soap_envelope.wrap(client.signed(court_request("DanhSachBanAnCoHieuLuc", TuNgay="31/02/2024")))


def _court_as_itself(client: CourtClient, world: World) -> bytes:
    court = EnvelopeSigner.from_key_dir(client.key_dir, "court")
    return soap_envelope.wrap(client.signed(_lookup(world), signer=court, from_agency="court"))


def _land_key_claiming_hub(client: CourtClient, world: World) -> bytes:
    land = EnvelopeSigner.from_key_dir(client.key_dir, "land")
    return soap_envelope.wrap(client.signed(_lookup(world), signer=land, from_agency="hub"))


@pytest.mark.parametrize(("make", "code", "rule"), [
    (_bad_signature, "SIGNATURE_INVALID", "cryptographic"),
    (_schema_invalid, "SCHEMA_INVALID", "court-judgments.xsd"),
    (_not_a_date, "SCHEMA_INVALID", "TuNgay"),
    (_court_as_itself, "CERT_WRONG_AGENCY", "caller"),  # a valid signature, but only the hub may ask
    (_land_key_claiming_hub, "CERT_WRONG_AGENCY", None),
], ids=["bad-signature", "schema-invalid", "not-a-date", "other-agency-caller", "wrong-agency-key"])
def test_hostile_requests_are_sender_faults_and_the_court_keeps_serving(
        client: CourtClient, world: World, served: ServedApp, make: Any, code: str, rule: str | None) -> None:
    response = post_soap(served, make(client, world))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/soap+xml")
    fault_code, subcode, fault_rule = fault_of(response)
    assert (fault_code, subcode) == ("soap:Sender", f"thads:{code}")
    if rule is not None:
        assert fault_rule == rule
    assert client.call(_lookup(world)).body.find(q("BanAn")) is not None


def test_zeep_raises_the_fault_with_its_registry_subcode(client: CourtClient, world: World) -> None:
    signed = client.signed(_lookup(world))
    signed.find(f".//{q('SoBanAn')}").text = "1/2024/DS-ST"
    with pytest.raises(Fault) as caught:
        client.send(signed)
    assert caught.value.code == "soap:Sender"
    assert caught.value.subcodes == [etree.QName(PROBLEM_NS, "SIGNATURE_INVALID")]
    assert client.transport.last_status == 400


def test_a_corrupted_answer_signature_fails_verification(client: CourtClient, world: World,
                                                         served: ServedApp) -> None:
    httpx.put(f"{served.url}/court/_admin/faults", json={"bad_signature_rate": 1}, timeout=10).raise_for_status()
    client.send(client.signed(_lookup(world)))
    with pytest.raises(Refusal) as caught:
        client.verify_last()
    assert (caught.value.code, caught.value.rule) == ("SIGNATURE_INVALID", "cryptographic")
