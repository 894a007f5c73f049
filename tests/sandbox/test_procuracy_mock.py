"""The sandbox procuracy over real HTTP, as the hub's connector meets it: hub-signed envelopes holding
edXML decisions POSTed to /procuracy/v1/van-ban, procuracy-signed edXML Status answers, RFC 7807 XML
problem documents for refusals.

The hub's side here is written out plainly (an edXML text template, the hub's EnvelopeSigner), not with
the mock's own builder, so the mock is held to the published XSDs rather than to itself. The helpers at
the top are shared with test_procuracy_pusher.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

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
from hub.errors import REGISTRY
from sandbox_mocks.procuracy import ProcuracyMock
from sandbox_mocks.procuracy.mock import STATUS_OF
from sandbox_mocks.seed.world import World, build_world
from tests.conftest import ServedApp
from tests.sandbox.test_population_mock import make_key_dir, serve

EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
PROBLEM = "urn:ietf:rfc:7807"
CONTRACTS = Path(__file__).resolve().parents[2] / "mappings" / "procuracy" / "contracts"
PATH = "/procuracy/v1/van-ban"
CASE_REF = "THADS-79-2026-0042"
PROCURACY_HCM = "H37.HCM.079"
OFFICE_HCM = "G12.HCM.079"
_numbers = itertools.count(int(uuid.uuid4().int % 50_000) + 1000)


def e(local: str) -> str:
    return f"{{{EDXML}}}{local}"


# ============================== the hub's side (shared) ======================================
def decision_xml(number: int, *, case_ref: str = CASE_REF, doc_type: str = "QDTHA",
                 to_organ: str = PROCURACY_HCM, date: str = "20/11/2026", subject: str | None = None,
                 attachment_ref: str = "qd-toan-van", promulgation_date: str | None = None) -> etree._Element:
    """A decision of the HCM enforcement office as edXML, written from the XSD by hand."""
    day, month, year = date.split("/")
    notation = "QĐ-CCTHADS"
    doc_id = f"{OFFICE_HCM},{year}/{month}/{day},{number}/{notation}"
    subject = subject or f"Quyết định thi hành án theo đơn yêu cầu số {number}"
    text = f"""<edXML:edXML xmlns:edXML="{EDXML}">
  <edXML:edXMLEnvelope>
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>{OFFICE_HCM}</edXML:OrganId>
          <edXML:OrganName>Thi hành án dân sự TP Hồ Chí Minh</edXML:OrganName></edXML:From>
        <edXML:To><edXML:OrganId>{to_organ}</edXML:OrganId>
          <edXML:OrganName>Viện kiểm sát nhân dân TP Hồ Chí Minh</edXML:OrganName></edXML:To>
        <edXML:Code><edXML:CodeNumber>{number}</edXML:CodeNumber><edXML:CodeNotation>{notation}</edXML:CodeNotation></edXML:Code>
        <edXML:PromulgationInfo><edXML:Place>TP Hồ Chí Minh</edXML:Place>
          <edXML:PromulgationDate>{promulgation_date or date}</edXML:PromulgationDate></edXML:PromulgationInfo>
        <edXML:DocumentType><edXML:Type>{doc_type}</edXML:Type>
          <edXML:TypeName>Quyết định thi hành án</edXML:TypeName></edXML:DocumentType>
        <edXML:Subject>{subject}</edXML:Subject>
        <edXML:SignerInfo><edXML:Position>Chấp hành viên</edXML:Position>
          <edXML:FullName>Lê Văn Tám</edXML:FullName></edXML:SignerInfo>
        <edXML:DocumentId>{doc_id}</edXML:DocumentId>
        <edXML:HoSoThiHanhAn><edXML:MaHoSo>{case_ref}</edXML:MaHoSo><edXML:SoBanAn>12/2024/DS-ST</edXML:SoBanAn></edXML:HoSoThiHanhAn>
      </edXML:MessageHeader>
    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="cid:{attachment_ref}">
          <edXML:AttachmentName>{number}-QD-CCTHADS.pdf</edXML:AttachmentName>
          <edXML:ContentType>application/pdf</edXML:ContentType>
          <edXML:ContentId>{attachment_ref}</edXML:ContentId>
        </edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <edXML:AttachmentEncoded>
    <edXML:Attachment>
      <edXML:ContentType>application/pdf</edXML:ContentType>
      <edXML:ContentId>qd-toan-van</edXML:ContentId>
      <edXML:ContentTransferEncoded>JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==</edXML:ContentTransferEncoded>
      <edXML:AttachmentName>{number}-QD-CCTHADS.pdf</edXML:AttachmentName>
    </edXML:Attachment>
  </edXML:AttachmentEncoded>
</edXML:edXML>"""
    return etree.fromstring(text.encode())


def document_id_of(doc: etree._Element) -> str:
    return doc.findtext(f".//{e('DocumentId')}") or ""


def hub_header(*, case_ref: str | None = CASE_REF, **overrides: Any) -> EnvelopeFields:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        "message_id": str(uuid.uuid4()), "from_agency": "hub", "to_agency": "procuracy", "service": "procuracy",
        "operation": "GuiQuyetDinh", "created": now, "expires": now + dt.timedelta(minutes=5),
        "case_ref": case_ref, "officer": "Chấp hành viên Lê Văn Tám", "purpose": "Gửi quyết định để kiểm sát"}
    values.update(overrides)
    return EnvelopeFields(**values)


class HubSide:
    def __init__(self, base_url: str, key_dir: Path) -> None:
        self.base_url = base_url
        self.key_dir = key_dir
        self.hub = EnvelopeSigner.from_key_dir(key_dir, "hub")
        self.verifier = EnvelopeVerifier(TrustStore.load(key_dir))
        self.status_xsd = CompiledSchema(CONTRACTS / "edxml-status.xsd")
        self.problem_xsd = CompiledSchema(CONTRACTS / "problem-rfc7807.xsd")

    def signed(self, doc: etree._Element, *, signer: EnvelopeSigner | None = None, **header: Any) -> bytes:
        return (signer or self.hub).sign_bytes(build_envelope(hub_header(**header), doc))

    def post(self, data: bytes, content_type: str = "application/xml") -> httpx.Response:
        return httpx.post(f"{self.base_url}{PATH}", content=data, headers={"Content-Type": content_type}, timeout=15)

    def send(self, doc: etree._Element, **header: Any) -> tuple[bytes, httpx.Response]:
        data = self.signed(doc, **header)
        return data, self.post(data)

    def status(self, request: bytes, response: httpx.Response) -> VerifiedEnvelope:
        """Every check a signed answer must pass; the verified answer."""
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        verified = self.verifier.verify(response.content, expected_to="hub")
        sent = parse_xml(request)
        assert verified.signer == "procuracy"
        assert verified.header.from_agency == "procuracy" and verified.header.operation == "XacNhanTiepNhan"
        assert verified.header.correlation_id == sent.findtext("{urn:thads:envelope:1}Header/"
                                                               "{urn:thads:envelope:1}MessageId")
        assert verified.header.request_hash == canonical_hash(sent)
        assert verified.body.tag == e("Status")
        self.status_xsd.validate(verified.body)
        return verified

    def problem(self, response: httpx.Response) -> tuple[int, str, str | None]:
        """(status, code, rule) of a problem answer, after checking its form."""
        assert response.headers["content-type"].startswith("application/problem+xml"), response.text
        assert b"<html" not in response.content.lower()
        root = parse_xml(response.content)
        self.problem_xsd.validate(root)
        assert root.findtext(f"{{{PROBLEM}}}type") == f"urn:thads:problem:{root.findtext(f'{{{PROBLEM}}}code')}"
        assert root.findtext(f"{{{PROBLEM}}}status") == str(response.status_code)
        return response.status_code, root.findtext(f"{{{PROBLEM}}}code") or "", root.findtext(f"{{{PROBLEM}}}rule")


def effects(base_url: str, kind: str, **match: Any) -> list[dict[str, Any]]:
    snapshot = httpx.get(f"{base_url}/procuracy/_admin/recorder", timeout=10).json()
    return [x for x in snapshot["effects"] if x["kind"] == kind and all(x.get(k) == v for k, v in match.items())]


def set_faults(base_url: str, **changes: Any) -> None:
    httpx.put(f"{base_url}/procuracy/_admin/faults", json=changes, timeout=10).raise_for_status()


# ============================== fixtures ======================================================
@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=7, citizens=500)


@pytest.fixture(scope="module")
def served(world: World, key_dir: Path) -> Iterator[ServedApp]:
    with serve(ProcuracyMock(world=world, key_dir=key_dir, seed=11)) as (app, _):
        yield app


@pytest.fixture(scope="module")
def hub(served: ServedApp, key_dir: Path) -> HubSide:
    return HubSide(served.url, key_dir)


@pytest.fixture(autouse=True)
def _no_faults_after(served: ServedApp) -> Iterator[None]:
    yield
    httpx.delete(f"{served.url}/procuracy/_admin/faults", timeout=10).raise_for_status()


def text(status: VerifiedEnvelope, path: str) -> str | None:
    return status.body.findtext(path, namespaces={"edXML": EDXML})


# ============================== the contract ==================================================
def test_contract_files_are_served_and_compile(served: ServedApp) -> None:
    names = ("openapi.json", "edxml-qcvn102-2016.xsd", "edxml-status.xsd", "problem-rfc7807.xsd",
             "thads-envelope-1.xsd", "xmldsig-core-schema.xsd")
    for name in names:
        response = httpx.get(f"{served.url}/procuracy/contracts/{name}", timeout=10)
        assert response.status_code == 200, name
        assert response.content == (CONTRACTS / name).read_bytes()
    spec = json.loads((CONTRACTS / "openapi.json").read_text(encoding="utf-8"))
    assert spec["openapi"] == "3.1.0"
    post = spec["paths"]["/v1/van-ban"]["post"]
    assert post["x-thads-operation"] == "GuiQuyetDinh"
    assert post["requestBody"]["content"]["application/xml"]["x-xsd"]["body"] == "edxml-qcvn102-2016.xsd#edXML"
    assert {"200", "400", "401", "403", "413", "415", "422", "503"} <= set(post["responses"])
    assert set(spec["webhooks"]) == {"GuiKhangNghi", "GuiKienNghi"}
    for name in ("thads-envelope-1.xsd", "xmldsig-core-schema.xsd"):  # copies must not drift
        assert (CONTRACTS / name).read_bytes() == (SCHEMA_DIR / name).read_bytes(), name
    for name in names[1:]:
        CompiledSchema(CONTRACTS / name)
    edxml = (CONTRACTS / "edxml-qcvn102-2016.xsd").read_text(encoding="utf-8")
    assert "SUBSET" in edxml and "QCVN 102:2016" in edxml


def test_routing_errors_and_unknown_contracts_are_xml_problems(hub: HubSide, served: ServedApp) -> None:
    assert hub.problem(httpx.get(f"{served.url}/procuracy/contracts/secret.key", timeout=10))[:2] == \
        (404, "NOT_FOUND")
    assert hub.problem(httpx.get(f"{served.url}{PATH}", timeout=10))[:2] == (405, "METHOD_NOT_ALLOWED")
    assert hub.problem(httpx.post(f"{served.url}/procuracy/v1/khong-co", content=b"<x/>",
                                  headers={"Content-Type": "application/xml"}, timeout=10))[:2] == (404, "NOT_FOUND")


def test_status_codes_agree_with_the_hub_registry() -> None:
    assert {code: REGISTRY[code].status for code in STATUS_OF} == STATUS_OF


# ============================== receiving decisions ===========================================
def test_a_decision_is_acknowledged_with_a_signed_status(hub: HubSide, served: ServedApp, key_dir: Path,
                                                         tmp_path: Path) -> None:
    number = next(_numbers)
    doc = decision_xml(number)
    request, response = hub.send(doc)
    status = hub.status(request, response)
    assert status.header.case_ref == CASE_REF
    assert text(status, "edXML:StatusCode") == "da_tiep_nhan"
    assert text(status, "edXML:ResponseFor/edXML:DocumentId") == document_id_of(doc)
    assert text(status, "edXML:ResponseFor/edXML:Code") == f"{number}/QĐ-CCTHADS"
    assert text(status, "edXML:ResponseFor/edXML:OrganId") == OFFICE_HCM
    assert text(status, "edXML:From/edXML:OrganId") == PROCURACY_HCM
    assert text(status, "edXML:HoSoThiHanhAn/edXML:MaHoSo") == CASE_REF
    receipt = text(status, "edXML:MaTiepNhan") or ""
    assert receipt.startswith("VKS-TN-")
    [effect] = effects(served.url, "decision_received", document_id=document_id_of(doc))
    assert (effect["receipt"], effect["document_type"], effect["attachments"]) == (receipt, "QDTHA", 1)

    xmlsec1 = shutil.which("xmlsec1") or "/usr/bin/xmlsec1"
    answer = tmp_path / "answer.xml"
    answer.write_bytes(response.content)
    run = subprocess.run([xmlsec1, "--verify", "--trusted-pem", str(key_dir / "ca.pem"), str(answer)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "OK" in run.stderr
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(response.content.replace(b"da_tiep_nhan", b"tu_choi_tiep_nhan"))
    run = subprocess.run([xmlsec1, "--verify", "--trusted-pem", str(key_dir / "ca.pem"), str(tampered)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0


def test_the_same_document_twice_is_one_receipt(hub: HubSide, served: ServedApp) -> None:
    doc = decision_xml(next(_numbers))
    first = hub.status(*hub.send(doc))
    again = hub.status(*hub.send(doc))  # a new envelope (new MessageId), the same document
    assert first.header.message_id != again.header.message_id
    for path in ("edXML:MaTiepNhan", "edXML:Timestamp", "edXML:StatusCode"):
        assert text(again, path) == text(first, path)
    assert len(effects(served.url, "decision_received", document_id=document_id_of(doc))) == 1

    # the same DocumentId with other content: refused, and still one effect
    number = int(document_id_of(doc).rsplit(",", 1)[1].split("/")[0])
    other = hub.status(*hub.send(decision_xml(number, subject="Một nội dung khác")))
    assert text(other, "edXML:StatusCode") == "tu_choi_tiep_nhan"
    assert text(other, "edXML:TuChoi/edXML:MaLoi") == "TRUNG_MA_VAN_BAN"
    assert len(effects(served.url, "decision_received", document_id=document_id_of(doc))) == 1


@pytest.mark.parametrize(("kwargs", "header", "code"), [
    ({"doc_type": "KN"}, {}, "LOAI_VAN_BAN_KHONG_TIEP_NHAN"),
    ({}, {"case_ref": "THADS-79-2026-9999"}, "SAI_MA_HO_SO"),
    ({"to_organ": "G12.HN.001"}, {}, "SAI_NOI_NHAN"),
], ids=["not-a-decision", "case-mismatch", "not-for-the-procuracy"])
def test_business_refusals_are_signed_statuses(hub: HubSide, served: ServedApp, kwargs: dict[str, Any],
                                               header: dict[str, Any], code: str) -> None:
    doc = decision_xml(next(_numbers), **kwargs)
    status = hub.status(*hub.send(doc, **header))
    assert text(status, "edXML:StatusCode") == "tu_choi_tiep_nhan"
    assert text(status, "edXML:TuChoi/edXML:MaLoi") == code
    assert text(status, "edXML:TuChoi/edXML:LyDo")
    assert text(status, "edXML:MaTiepNhan") is None
    assert effects(served.url, "decision_received", document_id=document_id_of(doc)) == []


# ============================== hostile requests ==============================================
def _unsigned(hub: HubSide) -> tuple[bytes, str]:
    return etree.tostring(build_envelope(hub_header(), decision_xml(next(_numbers))), xml_declaration=True,
                          encoding="UTF-8"), "application/xml"


def _bad_signature(hub: HubSide) -> tuple[bytes, str]:
    data = hub.signed(decision_xml(next(_numbers)))
    return data.replace("Chấp hành viên</edXML:Position>".encode(), "Thẩm phán</edXML:Position>".encode()), \
        "application/xml"


def _bank_as_itself(hub: HubSide) -> tuple[bytes, str]:
    bank = EnvelopeSigner.from_key_dir(hub.key_dir, "bank-970436")
    return hub.signed(decision_xml(next(_numbers)), signer=bank, from_agency="bank-970436"), "application/xml"


def _bank_claiming_hub(hub: HubSide) -> tuple[bytes, str]:
    bank = EnvelopeSigner.from_key_dir(hub.key_dir, "bank-970436")
    return hub.signed(decision_xml(next(_numbers)), signer=bank), "application/xml"


def _schema_invalid(hub: HubSide) -> tuple[bytes, str]:
    return hub.signed(decision_xml(next(_numbers), promulgation_date="2026-11-20")), "application/xml"


def _dangling_attachment(hub: HubSide) -> tuple[bytes, str]:
    return hub.signed(decision_xml(next(_numbers), attachment_ref="khong-co-tep")), "application/xml"


def _xxe(hub: HubSide) -> tuple[bytes, str]:
    data = hub.signed(decision_xml(next(_numbers)))
    declaration, _, rest = data.partition(b"?>")
    doctype = b'<!DOCTYPE env:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return declaration + b"?>" + doctype + rest.replace("Lê Văn Tám</edXML:FullName>".encode(),
                                                        b"&xxe;</edXML:FullName>"), "application/xml"


def _not_xml_media(hub: HubSide) -> tuple[bytes, str]:
    return hub.signed(decision_xml(next(_numbers))), "application/json"


def _addressed_to_land(hub: HubSide) -> tuple[bytes, str]:
    return hub.signed(decision_xml(next(_numbers)), to_agency="land"), "application/xml"


def _wrong_operation(hub: HubSide) -> tuple[bytes, str]:
    return hub.signed(decision_xml(next(_numbers)), operation="GuiKhangNghi"), "application/xml"


@pytest.mark.parametrize(("make", "status", "code", "rule"), [
    (_unsigned, 401, "SIGNATURE_INVALID", "signature_present"),
    (_bad_signature, 401, "SIGNATURE_INVALID", "cryptographic"),
    (_bank_as_itself, 403, "CERT_WRONG_AGENCY", "caller"),  # a valid signature, but only the hub may send
    (_bank_claiming_hub, 403, "CERT_WRONG_AGENCY", None),
    (_schema_invalid, 422, "SCHEMA_INVALID", "edxml-qcvn102-2016.xsd"),
    (_dangling_attachment, 422, "SCHEMA_INVALID", "edxml-qcvn102-2016.xsd"),
    (_xxe, 400, "XML_FORBIDDEN_CONSTRUCT", "doctype"),
    (_not_xml_media, 415, "UNSUPPORTED_MEDIA_TYPE", "content_type"),
    (_addressed_to_land, 400, "REQUEST_INVALID", "addressee"),
    (_wrong_operation, 400, "REQUEST_INVALID", "operation"),
], ids=["unsigned", "bad-signature", "bank-as-itself", "bank-claiming-hub", "schema-invalid", "dangling-attachment",
        "xxe", "not-xml", "addressed-to-land", "wrong-operation"])
def test_hostile_requests_are_refused_and_the_mock_keeps_serving(
        hub: HubSide, served: ServedApp, make: Any, status: int, code: str, rule: str | None) -> None:
    data, media = make(hub)
    response = hub.post(data, media)
    got_status, got_code, got_rule = hub.problem(response)
    assert (got_status, got_code) == (status, code), response.text
    if rule is not None:
        assert got_rule == rule
    assert b"root:" not in response.content  # nothing of /etc/passwd came back
    doc = decision_xml(next(_numbers))
    assert text(hub.status(*hub.send(doc)), "edXML:StatusCode") == "da_tiep_nhan"


# ============================== injected faults ===============================================
def test_error_rate_answers_an_xml_problem(hub: HubSide, served: ServedApp) -> None:
    set_faults(served.url, error_rate=1)
    _, response = hub.send(decision_xml(next(_numbers)))
    assert hub.problem(response) == (500, "AGENCY_UNAVAILABLE", "injected_error")


def test_an_outage_answers_503_and_the_contract_stays_readable(hub: HubSide, served: ServedApp) -> None:
    set_faults(served.url, outage=True)
    doc = decision_xml(next(_numbers))
    _, response = hub.send(doc)
    assert hub.problem(response) == (503, "AGENCY_UNAVAILABLE", "injected_outage")
    assert httpx.get(f"{served.url}/procuracy/contracts/openapi.json", timeout=10).status_code == 200
    assert effects(served.url, "decision_received", document_id=document_id_of(doc)) == []
    httpx.delete(f"{served.url}/procuracy/_admin/faults", timeout=10).raise_for_status()
    assert text(hub.status(*hub.send(doc)), "edXML:StatusCode") == "da_tiep_nhan"


@pytest.mark.parametrize(("fault", "rule"), [("unsigned_rate", "signature_present"),
                                             ("bad_signature_rate", "cryptographic")])
def test_unsigned_or_corrupted_answers_fail_verification(hub: HubSide, served: ServedApp, fault: str,
                                                         rule: str) -> None:
    set_faults(served.url, **{fault: 1})
    _, response = hub.send(decision_xml(next(_numbers)))
    assert response.status_code == 200
    with pytest.raises(Refusal) as caught:
        hub.verifier.verify(response.content, expected_to="hub")
    assert (caught.value.code, caught.value.rule) == ("SIGNATURE_INVALID", rule)


def test_malformed_answers_are_refused_by_the_parser(hub: HubSide, served: ServedApp) -> None:
    set_faults(served.url, malformed_rate=1)
    _, response = hub.send(decision_xml(next(_numbers)))
    assert response.status_code == 200
    with pytest.raises(Refusal) as caught:
        parse_xml(response.content)
    assert caught.value.code == "XML_MALFORMED"
