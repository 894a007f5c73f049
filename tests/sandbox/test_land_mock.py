"""The sandbox land registry over real HTTP, used the way an outside SOAP client uses it.

zeep loads the published WSDL from the running mock (``GET /land?wsdl``) and the three schemas it
imports from the mock too (a transport that refuses every other URL proves nothing comes from the
internet), and calls every operation.

How the call is made: the hub builds and signs its request envelope with ``adapters.envelope``
(``build_envelope`` + ``EnvelopeSigner``), as the hub's connector does. zeep cannot carry that element
as it is: the WSDL's message part is ``env:Envelope``, a complex type, and zeep re-renders a complex
value from Python objects (its own prefixes, its own date formatting), which breaks the signature;
only an ``xs:any`` slot accepts a raw lxml element. So the test calls
``client.service.<Operation>(Header=..., Body={"_value_1": <land request>})`` with the very header
texts of the signed envelope (zeep renders and checks them against the contract's schema), and a
zeep ``Plugin`` (``PresignedEnvelope.egress``) swaps the rendered ``env:Envelope`` for the signed one
just before zeep posts it. Everything else is zeep's own: the SOAP 1.2 binding, the address and the
action from the WSDL, the parsing of the answer against the output message, and SOAP Faults raised as
``zeep.exceptions.Fault`` with their subcodes. The raw answer bytes (kept by the transport) are what
the hub's verifier checks.
"""

from __future__ import annotations

import copy
import datetime as dt
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import zeep
from fastapi import FastAPI
from lxml import etree
from zeep import Plugin, Settings
from zeep.exceptions import Fault, TransportError
from zeep.transports import Transport
from zeep.wsdl.bindings.soap import Soap12Binding

from adapters import soap_envelope
from adapters.envelope import (
    NS as ENV_NS,
)
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
from sandbox_mocks.land import LandRegistryMock
from sandbox_mocks.seed.world import Citizen, Parcel, World, build_world
from tests.conftest import ServedApp

NS = "urn:vn:gov:tnmt:dangkydatdai:1"
SOAP12 = soap_envelope.SOAP12
PROBLEM_NS = soap_envelope.PROBLEM_NS
CONTRACTS = Path(__file__).resolve().parents[2] / "mappings" / "land" / "contracts"
WSDL_FILE = CONTRACTS / "land-registry.wsdl"
LAND_XSD = CONTRACTS / "land-registry.xsd"
OPERATIONS = ("TraCuuThuaDatTheoChuSoHuu", "TraCuuThuaDatTheoGiayChungNhan", "DangKyHanChe", "GoHanChe")
ZEEP_SETTINGS = Settings(strict=True, forbid_dtd=True, forbid_entities=True,
                         # True would refuse the schema imports themselves (they are other URLs than the
                         # WSDL's); the transport below is what keeps every load on the mock.
                         forbid_external=False)


def q(local: str) -> str:
    return f"{{{NS}}}{local}"


def land_request(local: str, **children: str) -> etree._Element:
    """A request element of land-registry.xsd, children in the order given."""
    el = etree.Element(q(local), nsmap={"dd": NS})
    for name, text in children.items():
        etree.SubElement(el, q(name)).text = text
    return el


def request_header(operation: str, *, from_agency: str = "hub", **overrides: Any) -> EnvelopeFields:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        "message_id": str(uuid.uuid4()), "from_agency": from_agency, "to_agency": "land", "service": "land",
        "operation": operation, "created": now, "expires": now + dt.timedelta(minutes=5),
        "case_ref": "THADS-79-2026-0042", "officer": "Lê Văn Tám", "purpose": "Xác minh điều kiện thi hành án"}
    values.update(overrides)
    return EnvelopeFields(**values)


def unique_decision() -> str:
    return f"{uuid.uuid4().int % 900_000 + 100_000}/QĐ-CCTHADS"


def registry_area(area_m2: str) -> str:
    """The contract's area format, written independently of the mock: decimal comma, no trailing zeros."""
    value = Decimal(area_m2).normalize()
    text = f"{value:f}"
    return text.replace(".", ",")


def squeeze(serial: str) -> str:
    return "".join(serial.split()).upper()


# --- zeep as an outside client -------------------------------------------------------------------
class SandboxOnlyTransport(Transport):
    """zeep's requests transport, refusing every URL outside the sandbox and keeping the last raw answer."""

    def __init__(self, base: str) -> None:
        super().__init__(timeout=15, operation_timeout=15)
        self.base = base
        self.loaded: list[str] = []
        self.last_status: int | None = None
        self.last_answer: bytes | None = None

    def load(self, url: str) -> bytes:
        if not url.startswith(f"{self.base}/"):
            raise AssertionError(f"zeep tried to load {url} from outside the sandbox")
        self.loaded.append(url)
        return bytes(super().load(url))

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> Any:
        if not address.startswith(f"{self.base}/"):
            raise AssertionError(f"zeep tried to post to {address}")
        response = super().post(address, message, headers)
        self.last_status, self.last_answer = response.status_code, response.content
        return response


class PresignedEnvelope(Plugin):
    """Puts the hub's signed envelope where zeep rendered its unsigned copy (see the module docstring)."""

    def __init__(self) -> None:
        self.signed: etree._Element | None = None

    def egress(self, envelope: etree._Element, http_headers: dict[str, str], operation: Any,
               binding_options: Any) -> tuple[etree._Element, dict[str, str]]:
        assert self.signed is not None, "no signed envelope to send"
        body = envelope.find(f"{{{SOAP12}}}Body")
        assert body is not None and len(body) == 1
        rendered = body[0]
        assert rendered.tag == f"{{{ENV_NS}}}Envelope"
        # zeep rendered the same header texts the hub signed: the contract's schema accepts them.
        assert [(etree.QName(e).localname, e.text) for e in rendered.find(f"{{{ENV_NS}}}Header")] == \
            [(etree.QName(e).localname, e.text) for e in self.signed.find(f"{{{ENV_NS}}}Header")]
        body.replace(rendered, copy.deepcopy(self.signed))
        return envelope, http_headers


@dataclass
class Answer:
    request: etree._Element  # the signed request envelope
    verified: VerifiedEnvelope  # the registry's answer, as the hub's verifier returns it
    parsed: Any  # the business answer as zeep parsed it from the WSDL's output message

    @property
    def body(self) -> etree._Element:
        return self.verified.body


class LandClient:
    def __init__(self, base: str, key_dir: Path) -> None:
        self.base = base
        self.key_dir = key_dir
        self.transport = SandboxOnlyTransport(base)
        self.plugin = PresignedEnvelope()
        self.zeep = zeep.Client(f"{base}/land?wsdl", transport=self.transport, plugins=[self.plugin],
                                settings=ZEEP_SETTINGS)
        self.hub = EnvelopeSigner.from_key_dir(key_dir, "hub")
        self.verifier = EnvelopeVerifier(TrustStore.load(key_dir))
        self.land_xsd = CompiledSchema.load(LAND_XSD)

    def signed(self, business: etree._Element, *, signer: EnvelopeSigner | None = None,
               **header: Any) -> etree._Element:
        operation = etree.QName(business).localname
        return (signer or self.hub).sign(build_envelope(request_header(operation, **header), business))

    def send(self, signed: etree._Element) -> Any:
        """Send a signed request envelope through zeep; the operation is named by the land element in it."""
        business = signed.find(f"{{{ENV_NS}}}Body")[0]
        header = {etree.QName(e).localname: e.text for e in signed.find(f"{{{ENV_NS}}}Header")}
        self.plugin.signed = signed
        operation = getattr(self.zeep.service, etree.QName(business).localname)
        return operation(Header=header, Body={"_value_1": copy.deepcopy(business)})

    def verify_last(self) -> VerifiedEnvelope:
        assert self.transport.last_answer is not None
        return self.verifier.verify(etree.tostring(soap_envelope.unwrap(self.transport.last_answer)),
                                    expected_to="hub")

    def call(self, business: etree._Element, **header: Any) -> Answer:
        """One exchange, with every check a signed answer must pass."""
        request = self.signed(business, **header)
        result = self.send(request)
        assert self.transport.last_status == 200
        verified = self.verify_last()
        sent = etree.QName(business).localname
        assert verified.signer == "land"
        assert verified.header.from_agency == "land" and verified.header.to_agency == "hub"
        assert verified.header.correlation_id == request.findtext(f"{{{ENV_NS}}}Header/{{{ENV_NS}}}MessageId")
        assert verified.header.request_hash == canonical_hash(request)
        assert verified.header.case_ref == "THADS-79-2026-0042"
        assert etree.QName(verified.body) == etree.QName(NS, f"{sent}PhanHoi")
        self.land_xsd.validate(verified.body)  # raises SCHEMA_INVALID if the registry broke its contract
        assert result.Header.From == "land"
        return Answer(request=request, verified=verified, parsed=result.Body._value_1)


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("land-pki")
    init_pki(path, sandbox_agencies())
    return path


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, citizens=500)


@pytest.fixture(scope="module")
def land(world: World, key_dir: Path) -> LandRegistryMock:
    return LandRegistryMock(world=world, key_dir=key_dir, seed=11)


@pytest.fixture(scope="module")
def served(land: LandRegistryMock) -> Iterator[ServedApp]:
    root = FastAPI()
    root.mount("/land", land.build_app())
    with ServedApp(root) as app:
        yield app


@pytest.fixture(scope="module")
def client(served: ServedApp, key_dir: Path) -> LandClient:
    return LandClient(served.url, key_dir)


@pytest.fixture(autouse=True)
def _no_faults_after(served: ServedApp) -> Iterator[None]:
    yield
    httpx.delete(f"{served.url}/land/_admin/faults", timeout=10).raise_for_status()


def set_faults(served: ServedApp, **changes: Any) -> None:
    httpx.put(f"{served.url}/land/_admin/faults", json=changes, timeout=10).raise_for_status()


def effects(served: ServedApp, kind: str, decision: str) -> list[dict[str, Any]]:
    snapshot = httpx.get(f"{served.url}/land/_admin/recorder", timeout=10).json()
    return [e for e in snapshot["effects"] if e["kind"] == kind and e.get("decision") == decision]


def post_soap(served: ServedApp, data: bytes) -> httpx.Response:
    # The WSDL's address is <base>/land; the sandbox mounts the mock at /land/, hence the redirect.
    return httpx.post(f"{served.url}/land", content=data, headers={"Content-Type": soap_envelope.CONTENT_TYPE},
                      timeout=15, follow_redirects=True)


def fault_of(response: httpx.Response) -> tuple[str, str, str | None]:
    """(Code, Subcode, rule) of a SOAP 1.2 Fault answer."""
    root = parse_xml(response.content)
    fault = root.find(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault")
    assert fault is not None, response.text
    return (fault.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value") or "",
            fault.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Subcode/{{{SOAP12}}}Value") or "",
            fault.findtext(f"{{{SOAP12}}}Detail/{{{PROBLEM_NS}}}rule"))


def holders(world: World) -> list[tuple[Citizen, tuple[Parcel, ...]]]:
    return [(c, parcels) for c in world.citizens if (parcels := world.parcels_of(c.person_id))]


def a_parcel(world: World, *, index: int) -> Parcel:
    """A different parcel for each test that registers restrictions, so tests stay independent."""
    parcels = sorted(world.parcels, key=lambda p: squeeze(p.certificate_serial))
    return parcels[index % len(parcels)]


def texts(el: etree._Element, path: str) -> list[str]:
    return [t.strip() for t in el.xpath(path, namespaces={"dd": NS})]


# --- the contract ----------------------------------------------------------------------------------
def test_zeep_loads_the_contract_from_the_mock_only(client: LandClient, served: ServedApp) -> None:
    assert set(client.transport.loaded) == {
        f"{served.url}/land?wsdl",
        f"{served.url}/land/contracts/thads-envelope-1.xsd",
        f"{served.url}/land/contracts/xmldsig-core-schema.xsd",
        f"{served.url}/land/contracts/land-registry.xsd",
    }
    service = client.zeep.service
    assert isinstance(service._binding, Soap12Binding)
    assert service._binding_options["address"] == f"{served.url}/land"
    assert set(service._binding._operations) == set(OPERATIONS)
    for name in OPERATIONS:  # document/literal, the signed envelope in and out
        op = service._binding._operations[name]
        assert op.soapaction == f"{NS}#{name}"
        assert op.input.body.qname == etree.QName(ENV_NS, "Envelope")
        assert op.output.body.qname == etree.QName(ENV_NS, "Envelope")
    wsdl = httpx.get(f"{served.url}/land?wsdl", timeout=10, follow_redirects=True).text
    assert "SANDBOX_BASE_URL" not in wsdl


def test_the_contract_loads_from_disk_and_its_envelope_schemas_are_the_hubs() -> None:
    class NoNetwork(Transport):
        def load(self, url: str) -> bytes:
            assert "://" not in url or url.startswith("file://"), f"zeep tried to load {url}"
            return bytes(super().load(url))

    offline = zeep.Client(str(WSDL_FILE), transport=NoNetwork(), settings=ZEEP_SETTINGS)
    assert set(offline.service._binding._operations) == set(OPERATIONS)
    assert offline.get_element(f"{{{NS}}}DangKyHanChe") is not None
    for name in ("thads-envelope-1.xsd", "xmldsig-core-schema.xsd"):  # copies must not drift
        assert (CONTRACTS / name).read_bytes() == (SCHEMA_DIR / name).read_bytes(), name
    CompiledSchema(LAND_XSD)  # the mock's own validator compiles it from local files only


# --- look-ups ----------------------------------------------------------------------------------------
def test_every_parcel_of_the_world_fits_the_contract(land: LandRegistryMock, world: World) -> None:
    """The registry can write every parcel of the world (codes, area format, name lengths) validly."""
    schema = CompiledSchema.load(LAND_XSD)
    for parcel in world.parcels:
        answer = etree.Element(q("TraCuuThuaDatTheoGiayChungNhanPhanHoi"), nsmap={"dd": NS})
        land.parcel_xml(answer, parcel)
        schema.validate(answer)


def test_parcels_of_a_holder_are_the_worlds_parcels(client: LandClient, world: World) -> None:
    known = holders(world)
    assert known, "the seeded world has no land"
    person, parcels = max(known, key=lambda item: len(item[1]))
    answer = client.call(land_request("TraCuuThuaDatTheoChuSoHuu", SoDinhDanh=person.person_id))
    body = answer.body
    assert texts(body, "dd:SoDinhDanh/text()") == [person.person_id]
    assert texts(body, "dd:TongSo/text()") == [str(len(parcels))]
    by_serial = {squeeze(el.findtext(q("SoPhatHanhGCN")) or ""): el for el in body.findall(q("ThuaDat"))}
    assert set(by_serial) == {squeeze(p.certificate_serial) for p in parcels}
    for parcel in parcels:
        el = by_serial[squeeze(parcel.certificate_serial)]
        serial = el.findtext(q("SoPhatHanhGCN")) or ""
        assert serial[2] == " " and squeeze(serial) == squeeze(parcel.certificate_serial)
        assert el.findtext(q("SoThua")) == str(parcel.parcel_number)
        assert el.findtext(q("SoToBanDo")) == str(parcel.map_sheet)
        assert el.findtext(f"{q('DiaChi')}/{q('TinhThanh')}/{q('Ma')}") == parcel.address.province_code
        assert el.findtext(f"{q('DiaChi')}/{q('TinhThanh')}/{q('Ten')}") == parcel.address.province_name
        assert el.findtext(f"{q('DiaChi')}/{q('XaPhuong')}") == parcel.address.commune
        assert el.findtext(f"{q('DiaChi')}/{q('ChiTiet')}") == parcel.address.street
        assert el.findtext(f"{q('DiaChi')}/{q('DiaChiDayDu')}") == parcel.address.text
        assert el.findtext(f"{q('DiaChi')}/{q('DiaChiCu')}") == parcel.address.old_text
        assert el.findtext(q("MucDichSuDung")) == parcel.land_use
        assert el.findtext(q("DienTich")) == registry_area(parcel.area_m2)
        assert texts(el, "dd:ChuSuDung/dd:SoDinhDanh/text()") == list(parcel.owner_ids)
        assert person.full_name in texts(el, "dd:ChuSuDung/dd:HoTen/text()")
        assert el.findtext(f"{q('TheChap')}/{q('BenNhanTheChap')}") == parcel.mortgage_holder
    # zeep read the same answer from the WSDL's types
    assert answer.parsed.TongSo == len(parcels)
    assert {squeeze(p.SoPhatHanhGCN) for p in answer.parsed.ThuaDat} == set(by_serial)


def test_a_joint_parcel_is_found_from_each_holder(client: LandClient, world: World) -> None:
    joint = next((p for _, ps in holders(world) for p in ps if len(p.owner_ids) > 1), None)
    if joint is None:
        pytest.fail("the seeded world has no jointly held parcel (spouses' property)")
    for person_id in joint.owner_ids:
        body = client.call(land_request("TraCuuThuaDatTheoChuSoHuu", SoDinhDanh=person_id)).body
        serials = texts(body, "dd:ThuaDat/dd:SoPhatHanhGCN/text()")
        assert squeeze(joint.certificate_serial) in {squeeze(s) for s in serials}


def test_a_debtor_without_assets_gets_an_empty_answer(client: LandClient, world: World) -> None:
    landless = world.hard_cases["no_assets"][0]  # a judgment debtor the world gave nothing
    assert world.citizen(landless) is not None and not world.parcels_of(landless)
    answer = client.call(land_request("TraCuuThuaDatTheoChuSoHuu", SoDinhDanh=landless))
    assert texts(answer.body, "dd:TongSo/text()") == ["0"]
    assert answer.body.findall(q("ThuaDat")) == []


def test_parcel_by_certificate_with_or_without_the_space(client: LandClient, world: World) -> None:
    parcel = a_parcel(world, index=0)
    for written in (squeeze(parcel.certificate_serial), f"{squeeze(parcel.certificate_serial)[:2]} "
                                                       f"{squeeze(parcel.certificate_serial)[2:]}"):
        body = client.call(land_request("TraCuuThuaDatTheoGiayChungNhan", SoPhatHanhGCN=written)).body
        found = body.find(q("ThuaDat"))
        assert found is not None
        assert squeeze(found.findtext(q("SoPhatHanhGCN")) or "") == squeeze(parcel.certificate_serial)
        assert texts(found, "dd:ChuSuDung/dd:SoDinhDanh/text()") == list(parcel.owner_ids)


def test_an_unknown_certificate_is_a_clean_not_found_answer(client: LandClient, world: World) -> None:
    serial = next(s for s in (f"ZZ {n:06d}" for n in range(1000)) if world.parcel_by_serial(s) is None)
    answer = client.call(land_request("TraCuuThuaDatTheoGiayChungNhan", SoPhatHanhGCN=serial))
    assert answer.body.find(q("ThuaDat")) is None
    assert texts(answer.body, "dd:KhongTimThay/dd:SoPhatHanhGCN/text()") == [serial]
    assert answer.parsed.KhongTimThay.ThongBao


# --- restrictions ------------------------------------------------------------------------------------
def _register(client: LandClient, parcel: Parcel, decision: str, kind: str = "KEBIEN",
              date: str = "20/11/2026") -> Answer:
    return client.call(land_request("DangKyHanChe", SoQuyetDinh=decision, LoaiHanChe=kind,
                                    SoPhatHanhGCN=parcel.certificate_serial, NgayQuyetDinh=date,
                                    CoQuanThiHanhAn="Thi hành án dân sự Thành phố Hồ Chí Minh"))


def _lift(client: LandClient, serial: str, decision: str, lift_decision: str) -> Answer:
    return client.call(land_request("GoHanChe", SoQuyetDinh=decision, SoPhatHanhGCN=serial,
                                    SoQuyetDinhGo=lift_decision, NgayQuyetDinhGo="22/11/2026"))


def _restrictions(client: LandClient, parcel: Parcel) -> list[str]:
    body = client.call(land_request("TraCuuThuaDatTheoGiayChungNhan", SoPhatHanhGCN=parcel.certificate_serial)).body
    return texts(body, "dd:ThuaDat/dd:HanChe/dd:SoQuyetDinh/text()")


def test_a_restriction_is_registered_once_shows_in_look_ups_and_is_lifted(
        client: LandClient, world: World, served: ServedApp) -> None:
    parcel, decision, lift_decision = a_parcel(world, index=1), unique_decision(), unique_decision()

    first = _register(client, parcel, decision)
    receipt = first.body.find(q("BienNhan"))
    assert receipt is not None
    assert receipt.findtext(q("TrangThai")) == "DANG_HIEU_LUC"
    assert receipt.findtext(q("SoQuyetDinh")) == decision
    file_number = receipt.findtext(q("MaTiepNhan")) or ""
    assert file_number.startswith("DK-")

    # the restriction shows in both look-ups, with the registry's date format
    assert decision in _restrictions(client, parcel)
    owner = parcel.owner_ids[0]
    by_owner = client.call(land_request("TraCuuThuaDatTheoChuSoHuu", SoDinhDanh=owner)).body
    held = [el for el in by_owner.findall(q("ThuaDat"))
            if squeeze(el.findtext(q("SoPhatHanhGCN")) or "") == squeeze(parcel.certificate_serial)]
    restriction = next(r for r in held[0].findall(q("HanChe")) if r.findtext(q("SoQuyetDinh")) == decision)
    assert restriction.findtext(q("LoaiHanChe")) == "KEBIEN"
    assert restriction.findtext(q("TrangThai")) == "DANG_HIEU_LUC"
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=7)))
    assert restriction.findtext(q("NgayDangKy")) in {today.strftime("%d/%m/%Y"),
                                                    (today - dt.timedelta(minutes=1)).strftime("%d/%m/%Y")}

    # the same registration again (serial written the other way): the same receipt, one effect
    again = client.call(land_request("DangKyHanChe", SoQuyetDinh=decision, LoaiHanChe="KEBIEN",
                                     SoPhatHanhGCN=squeeze(parcel.certificate_serial), NgayQuyetDinh="20/11/2026",
                                     CoQuanThiHanhAn="Thi hành án dân sự Thành phố Hồ Chí Minh"))
    assert again.body.findtext(f"{q('BienNhan')}/{q('MaTiepNhan')}") == file_number
    assert len(effects(served, "restriction_registered", decision)) == 1
    assert _restrictions(client, parcel).count(decision) == 1

    # lifting: a receipt, gone from the look-up, idempotent as well
    lifted = _lift(client, parcel.certificate_serial, decision, lift_decision)
    lift_receipt = lifted.body.find(q("BienNhan"))
    assert lift_receipt is not None
    assert lift_receipt.findtext(q("TrangThai")) == "DA_GO"
    assert lift_receipt.findtext(q("SoQuyetDinhGo")) == lift_decision
    assert (lift_receipt.findtext(q("MaTiepNhan")) or "").startswith("GO-")
    assert decision not in _restrictions(client, parcel)
    lifted_again = _lift(client, parcel.certificate_serial, decision, lift_decision)
    assert lifted_again.body.findtext(f"{q('BienNhan')}/{q('MaTiepNhan')}") == lift_receipt.findtext(q("MaTiepNhan"))
    assert len(effects(served, "restriction_lifted", decision)) == 1

    # registering the lifted decision again answers its first receipt, now in state DA_GO, and adds nothing
    late = _register(client, parcel, decision)
    assert late.body.findtext(f"{q('BienNhan')}/{q('MaTiepNhan')}") == file_number
    assert late.body.findtext(f"{q('BienNhan')}/{q('TrangThai')}") == "DA_GO"
    assert decision not in _restrictions(client, parcel)
    assert len(effects(served, "restriction_registered", decision)) == 1


def test_restrictions_are_kept_per_parcel(client: LandClient, world: World) -> None:
    one, other = a_parcel(world, index=2), a_parcel(world, index=3)
    assert squeeze(one.certificate_serial) != squeeze(other.certificate_serial)
    decision = unique_decision()
    _register(client, one, decision, kind="TAMDUNG")
    assert decision in _restrictions(client, one)
    assert decision not in _restrictions(client, other)


def test_business_refusals_are_signed_answers_not_faults(client: LandClient, world: World,
                                                         served: ServedApp) -> None:
    parcel, decision = a_parcel(world, index=4), unique_decision()
    unknown = next(s for s in (f"ZZ {n:06d}" for n in range(1000)) if world.parcel_by_serial(s) is None)

    def refusal(answer: Answer) -> str:
        assert answer.body.find(q("BienNhan")) is None
        assert answer.body.findtext(f"{q('TuChoi')}/{q('MoTaLoi')}")
        return answer.body.findtext(f"{q('TuChoi')}/{q('MaLoi')}") or ""

    assert refusal(client.call(land_request("DangKyHanChe", SoQuyetDinh=decision, LoaiHanChe="KEBIEN",
                                            SoPhatHanhGCN=unknown, NgayQuyetDinh="20/11/2026",
                                            CoQuanThiHanhAn="Thi hành án dân sự tỉnh Lâm Đồng"))) \
        == "KHONG_TIM_THAY_GCN"
    assert refusal(_lift(client, parcel.certificate_serial, decision, unique_decision())) == "KHONG_TIM_THAY_HAN_CHE"
    assert refusal(_lift(client, unknown, decision, unique_decision())) == "KHONG_TIM_THAY_GCN"

    _register(client, parcel, decision, kind="TAMDUNG")
    assert refusal(_register(client, parcel, decision, kind="KEBIEN")) == "TRUNG_SO_QUYET_DINH"
    _lift(client, parcel.certificate_serial, decision, unique_decision())
    assert refusal(_lift(client, parcel.certificate_serial, decision, unique_decision())) == "HAN_CHE_DA_GO"
    assert len(effects(served, "restriction_registered", decision)) == 1
    assert len(effects(served, "restriction_lifted", decision)) == 1


# --- signatures --------------------------------------------------------------------------------------
def test_answers_verify_in_xmlsec1(client: LandClient, world: World, key_dir: Path, tmp_path: Path) -> None:
    xmlsec1 = shutil.which("xmlsec1")
    assert xmlsec1, "xmlsec1 is not installed (Debian: apt-get install xmlsec1)"
    parcel = a_parcel(world, index=5)
    client.call(land_request("TraCuuThuaDatTheoGiayChungNhan", SoPhatHanhGCN=parcel.certificate_serial))
    assert client.transport.last_answer is not None
    answer = tmp_path / "answer.xml"
    answer.write_bytes(etree.tostring(soap_envelope.unwrap(client.transport.last_answer), xml_declaration=True,
                                      encoding="UTF-8"))
    run = subprocess.run([xmlsec1, "--verify", "--trusted-pem", str(key_dir / "ca.pem"), str(answer)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "OK" in run.stderr

    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(answer.read_bytes().replace(b"<dd:SoThua>", b"<dd:SoThua>9"))
    run = subprocess.run([xmlsec1, "--verify", "--trusted-pem", str(key_dir / "ca.pem"), str(tampered)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0


# --- hostile requests ----------------------------------------------------------------------------------
def _lookup(world: World) -> etree._Element:
    person = holders(world)[0][0]
    return land_request("TraCuuThuaDatTheoChuSoHuu", SoDinhDanh=person.person_id)


def _bad_signature(client: LandClient, world: World) -> bytes:
    signed = client.signed(_lookup(world))
    person_id = signed.find(f".//{q('SoDinhDanh')}")
    assert person_id is not None and person_id.text
    person_id.text = str((int(person_id.text) + 1) % 10**12).zfill(12)  # edited after signing
    return soap_envelope.wrap(signed)


def _schema_invalid(client: LandClient, world: World) -> bytes:
    return soap_envelope.wrap(client.signed(land_request("TraCuuThuaDatTheoChuSoHuu", SoDinhDanh="12AB")))


def _court_key_claiming_hub(client: LandClient, world: World) -> bytes:
    court = EnvelopeSigner.from_key_dir(client.key_dir, "court")
    return soap_envelope.wrap(client.signed(_lookup(world), signer=court, from_agency="hub"))


def _court_as_itself(client: LandClient, world: World) -> bytes:
    court = EnvelopeSigner.from_key_dir(client.key_dir, "court")
    return soap_envelope.wrap(client.signed(_lookup(world), signer=court, from_agency="court"))


def _xxe(client: LandClient, world: World) -> bytes:
    data = soap_envelope.wrap(client.signed(_lookup(world)))
    declaration, _, rest = data.partition(b"?>")
    doctype = b'<!DOCTYPE soap:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    person_id = holders(world)[0][0].person_id.encode()
    return declaration + b"?>" + doctype + rest.replace(person_id, b"&xxe;")


@pytest.mark.parametrize(("make", "code", "rule"), [
    (_bad_signature, "SIGNATURE_INVALID", "cryptographic"),
    (_schema_invalid, "SCHEMA_INVALID", "land-registry.xsd"),
    (_court_key_claiming_hub, "CERT_WRONG_AGENCY", None),
    (_court_as_itself, "CERT_WRONG_AGENCY", "caller"),  # a valid signature, but only the hub may ask
    (_xxe, "XML_FORBIDDEN_CONSTRUCT", "doctype"),
], ids=["bad-signature", "schema-invalid", "wrong-agency-key", "other-agency-caller", "xxe"])
def test_hostile_requests_are_sender_faults_and_the_mock_keeps_serving(
        client: LandClient, world: World, served: ServedApp, make: Any, code: str, rule: str | None) -> None:
    response = post_soap(served, make(client, world))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/soap+xml")
    fault_code, subcode, fault_rule = fault_of(response)
    assert (fault_code, subcode) == ("soap:Sender", f"thads:{code}")
    if rule is not None:
        assert fault_rule == rule
    assert b"root:" not in response.content  # nothing of /etc/passwd came back
    # and the registry still answers a proper request
    assert client.call(_lookup(world)).body.findtext(q("TongSo")) != "0"


def test_zeep_raises_the_fault_with_its_registry_subcode(client: LandClient, world: World) -> None:
    signed = client.signed(_lookup(world))
    signed.find(f".//{q('SoDinhDanh')}").text = "000000000000"
    with pytest.raises(Fault) as caught:
        client.send(signed)
    assert caught.value.code == "soap:Sender"
    assert caught.value.subcodes == [etree.QName(PROBLEM_NS, "SIGNATURE_INVALID")]
    assert client.transport.last_status == 400


# --- injected faults ---------------------------------------------------------------------------------
def test_error_rate_answers_a_receiver_fault(client: LandClient, world: World, served: ServedApp) -> None:
    set_faults(served, error_rate=1)
    with pytest.raises(Fault) as caught:
        client.send(client.signed(_lookup(world)))
    assert caught.value.code == "soap:Receiver"
    assert caught.value.subcodes == [etree.QName(PROBLEM_NS, "AGENCY_UNAVAILABLE")]
    assert client.transport.last_status == 500


@pytest.mark.parametrize(("fault", "rule"), [("unsigned_rate", "signature_present"),
                                             ("bad_signature_rate", "cryptographic")])
def test_unsigned_or_corrupted_answers_fail_verification(client: LandClient, world: World, served: ServedApp,
                                                          fault: str, rule: str) -> None:
    set_faults(served, **{fault: 1})
    result = client.send(client.signed(_lookup(world)))  # zeep itself reads the answer without complaint
    assert result.Header.From == "land"
    with pytest.raises(Refusal) as caught:
        client.verify_last()
    assert (caught.value.code, caught.value.rule) == ("SIGNATURE_INVALID", rule)


def test_malformed_answers_are_refused_by_the_parser(client: LandClient, world: World, served: ServedApp) -> None:
    set_faults(served, malformed_rate=1)
    response = post_soap(served, soap_envelope.wrap(client.signed(_lookup(world))))
    assert response.status_code == 200
    with pytest.raises(Refusal) as caught:
        parse_xml(response.content)
    assert caught.value.code == "XML_MALFORMED"
    with pytest.raises(TransportError):  # and zeep gives up on it too
        client.send(client.signed(_lookup(world)))


def test_an_outage_answers_503_and_the_contract_stays_readable(client: LandClient, world: World,
                                                             served: ServedApp) -> None:
    set_faults(served, outage=True)
    response = post_soap(served, soap_envelope.wrap(client.signed(_lookup(world))))
    assert response.status_code == 503
    assert fault_of(response)[:2] == ("soap:Receiver", "thads:AGENCY_UNAVAILABLE")
    assert httpx.get(f"{served.url}/land?wsdl", timeout=10, follow_redirects=True).status_code == 200
    httpx.delete(f"{served.url}/land/_admin/faults", timeout=10).raise_for_status()
    assert client.call(_lookup(world)).verified.signer == "land"
