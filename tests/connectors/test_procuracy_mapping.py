"""The procuracy mapping (mappings/procuracy): pure functions, checked against the published contract
(edXML subset, status and problem XSDs) and against what the procuracy mock writes and reads."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from lxml import etree

from adapters.envelope import EnvelopeVerifier
from adapters.trust_store import TrustStore
from adapters.xsd import CompiledSchema
from hub.agency_ids import sandbox_agencies
from hub.errors import AgencyInvalidResponse, AgencyRejected, AgencyTimeout, AgencyUnavailable
from hub.model.procuracy import ProcuracyAction, ProcuracyActionKind
from hub.trust.pki_init import init_pki
from mappings import procuracy as m
from mappings.procuracy.edxml import Attachment, DocumentRef, Organ
from sandbox_mocks.procuracy import edxml as mock_edxml
from sandbox_mocks.procuracy.mock import STATUS_OF
from sandbox_mocks.procuracy.pusher import OPERATIONS, action_push_items, world_cases
from sandbox_mocks.seed.world import World, build_world

EDXML = m.EDXML_NS
KINDS = {"DECISION": ("request",), "ACTION": ("canonical", "case", "details", "check"),
         "STATUS": ("receipt", "check", "error"), "PROBLEM": ("error", "check")}
OFFICE = Organ(organ_id="G12.HCM.079", name="Thi hành án dân sự Thành phố Hồ Chí Minh", in_charge="Bộ Tư pháp",
               address="Số 1 Lý Tự Trọng, phường Sài Gòn", email="thads@hcm.gov.vn", telephone="028 3829 1234",
               fax="028 3829 1235", website="thads.hcm.gov.vn")
PROCURACY = Organ(organ_id="H37.HCM.079", name="Viện kiểm sát nhân dân Thành phố Hồ Chí Minh")


def e(local: str) -> str:
    return f"{{{EDXML}}}{local}"


def full_decision(**overrides: Any) -> m.ProcuracyDecision:
    values: dict[str, Any] = {
        "case_ref": "THADS-79-2026-0042", "number": "15", "notation": "QĐ-CCTHADS", "document_type": "QDPTTK",
        "issued_on": dt.date(2026, 11, 20), "place": "TP Hồ Chí Minh", "subject": "Phong tỏa tài khoản số 0071000",
        "office": OFFICE, "procuracy": PROCURACY, "signer_name": "Lê Văn Tám", "signer_position": "Chấp hành viên",
        "signer_competence": "Trực tiếp", "content": "Phong tỏa tài khoản của người phải thi hành án.",
        "due_date": dt.date(2026, 12, 1), "priority": 2, "sphere": "Nội bộ", "copies": 3, "pages": 2,
        "responds_to": [DocumentRef(organ_id="H37.HCM.079", code="12/KNgh-VKS", issued_on=dt.date(2026, 11, 2),
                                    document_id="H37.HCM.079,2026/11/02,12/KNgh-VKS")],
        "judgment_number": "12/2024/DS-ST", "enforcement_decision": "7/QĐ-CCTHADS",
        "attachments": [("15-QĐ-CCTHADS.pdf", b"%PDF-1.4 one", "application/pdf", "Toàn văn quyết định"),
                        Attachment(name="phu-luc.txt", data="Phụ lục".encode(), mime="text/plain; charset=utf-8")]}
    values.update(overrides)
    return m.ProcuracyDecision(**values)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=5, citizens=500)


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("procuracy-mapping-pki")
    init_pki(path, sandbox_agencies())
    return path


@pytest.fixture(scope="module")
def edxml_xsd() -> CompiledSchema:
    return CompiledSchema.load(m.EDXML_XSD)


@pytest.fixture(scope="module")
def status_xsd() -> CompiledSchema:
    return CompiledSchema.load(m.STATUS_XSD)


# --- every element of the contract lands somewhere ---------------------------------------------------
def contract_paths(xsd_file: Path, only: str | None = None) -> set[str]:
    """Every leaf element of the XSD as a path from its global element (``only``: that global element)."""
    schema = xmlschema.XMLSchema(str(xsd_file))
    paths: set[str] = set()

    def walk(element: Any, path: str) -> None:  # xmlschema's element and type classes
        if element.type.is_simple() or element.type.has_simple_content():
            paths.add(path)
            return
        for child in element.type.content.iter_elements():
            walk(child, f"{path}/{child.local_name}")

    for element in schema.elements.values():
        if only is None or element.local_name == only:
            walk(element, element.local_name)
    return paths


@pytest.mark.parametrize(("table", "xsd", "only", "at_least"), [
    ("DECISION", m.EDXML_XSD, "edXML", 45), ("ACTION", m.EDXML_XSD, "edXML", 45),
    ("STATUS", m.STATUS_XSD, "Status", 20), ("PROBLEM", m.PROBLEM_XSD, None, 6),
])
def test_every_element_of_the_contracts_is_declared_and_nothing_else(table: str, xsd: Path, only: str | None,
                                                                    at_least: int) -> None:
    declared: dict[str, str] = getattr(m, f"{table}_ELEMENTS")
    paths = contract_paths(xsd, only)
    assert len(paths) >= at_least  # the walk really went through the contract
    assert sorted(paths - set(declared)) == [], "contract elements that land nowhere"
    assert sorted(set(declared) - paths) == [], "declared elements the contract does not have"
    for path, destination in declared.items():
        kind, _, target = destination.partition(":")
        assert kind in KINDS[table] and target.strip(), (path, destination)


def test_every_declared_destination_exists() -> None:
    decision_fields = set(m.ProcuracyDecision.model_fields) | {"document_id", "code"}
    for destination in m.DECISION_ELEMENTS.values():
        target = destination.partition(":")[2].split(" ")[0]
        if target.startswith("ProcuracyDecision."):
            assert target.split(".")[1].split("[")[0] in decision_fields, target
    receipt_fields = {f.name for f in dataclasses.fields(m.ProcuracyReceipt)}
    for destination in m.STATUS_ELEMENTS.values():
        kind, _, target = destination.partition(":")
        if kind == "receipt":
            assert target.split(" ")[0].split(".")[1].split("[")[0] in receipt_fields, target
    details_fields = {f.name for f in dataclasses.fields(m.ActionDetails)}
    for destination in m.ACTION_ELEMENTS.values():
        kind, _, target = destination.partition(":")
        if kind == "canonical":
            assert target.split(" ")[0].split(".")[1] in ProcuracyAction.model_fields, target
        if kind == "details":
            assert target.split(".")[1].split("[")[0].split(" ")[0] in details_fields, target


def test_the_code_lists_are_all_mapped() -> None:
    schema = xmlschema.XMLSchema(str(m.STATUS_XSD))

    def enumeration(name: str) -> set[str]:
        simple: Any = schema.types[name]
        return {str(v) for v in simple.enumeration or []}

    assert enumeration("LoaiVanBanType") == {t.value for t in m.DecisionType} | set(m.ACTION_KINDS)
    assert set(m.TYPE_NAMES) == set(m.DecisionType)
    assert set(m.ACTION_KINDS.values()) == set(ProcuracyActionKind)
    assert enumeration("TrangThaiType") == {m.RECEIVED, m.REFUSED}
    assert enumeration("MaLoiType") == set(m.REFUSAL_CODES)
    assert {t.value: n for t, n in m.TYPE_NAMES.items()} == mock_edxml.DECISION_TYPES


# --- decisions: what the hub sends is what the procuracy reads --------------------------------------
def test_a_decision_is_a_valid_edxml_document_that_the_procuracy_reads_back(edxml_xsd: CompiledSchema) -> None:
    decision = full_decision()
    doc = m.decision_edxml(decision)
    edxml_xsd.validate(doc)
    read = mock_edxml.read_edxml(doc)  # the procuracy's own reader
    assert (read.sender.organ_id, read.sender.name, read.sender.in_charge, read.sender.address, read.sender.email,
            read.sender.telephone) == (OFFICE.organ_id, OFFICE.name, OFFICE.in_charge, OFFICE.address, OFFICE.email,
                                       OFFICE.telephone)
    assert [(o.organ_id, o.name) for o in read.recipients] == [(PROCURACY.organ_id, PROCURACY.name)]
    assert (read.number, read.notation, read.code) == ("15", "QĐ-CCTHADS", "15/QĐ-CCTHADS")
    assert (read.place, read.promulgated, read.document_type) == ("TP Hồ Chí Minh", dt.date(2026, 11, 20), "QDPTTK")
    assert (read.subject, read.content, read.signer_competence, read.signer_position, read.signer_name) == \
        (decision.subject, decision.content, "Trực tiếp", "Chấp hành viên", "Lê Văn Tám")
    assert (read.due_date, read.priority, read.page_amount) == (dt.date(2026, 12, 1), 2, 2)
    assert read.document_id == decision.document_id == "G12.HCM.079,2026/11/20,15/QĐ-CCTHADS"
    assert [(r.organ_id, r.code, r.promulgated, r.document_id) for r in read.responds_to] == [
        ("H37.HCM.079", "12/KNgh-VKS", dt.date(2026, 11, 2), "H37.HCM.079,2026/11/02,12/KNgh-VKS")]
    assert (read.case.case_ref, read.case.judgment, read.case.decision, read.case.office) == \
        ("THADS-79-2026-0042", "12/2024/DS-ST", "7/QĐ-CCTHADS", OFFICE.name)
    assert [(a.name, a.content_type, a.data, a.description) for a in read.attachments] == [
        ("15-QĐ-CCTHADS.pdf", "application/pdf", b"%PDF-1.4 one", "Toàn văn quyết định"),
        ("phu-luc.txt", "text/plain; charset=utf-8", "Phụ lục".encode(), None)]
    other = doc.find(f".//{e('OtherInfo')}")
    assert other is not None and [(etree.QName(c).localname, c.text) for c in other] == [
        ("Priority", "2"), ("SphereOfPromulgation", "Nội bộ"), ("PromulgationAmount", "3"), ("PageAmount", "2")]
    assert m.idempotency_key(decision) == decision.document_id


def test_the_same_decision_is_the_same_document(edxml_xsd: CompiledSchema) -> None:
    """What makes a re-send one receipt: the procuracy compares the canonical form per DocumentId."""
    first, again = m.decision_edxml(full_decision()), m.decision_edxml(full_decision())
    assert etree.tostring(first, method="c14n", exclusive=True) == etree.tostring(again, method="c14n", exclusive=True)
    minimal = m.decision_edxml(full_decision(signer_competence=None, content=None, due_date=None, priority=None,
                                             sphere=None, copies=None, pages=None, responds_to=[],
                                             judgment_number=None, enforcement_decision=None, attachments=[],
                                             office=Organ(organ_id="G12.HCM.079", name="THADS TP HCM")))
    edxml_xsd.validate(minimal)
    assert minimal.find(f".//{e('OtherInfo')}") is None and minimal.find(e("AttachmentEncoded")) is None


def test_a_decision_refuses_what_the_contract_cannot_carry() -> None:
    for bad in ({"number": "15a"}, {"notation": "QĐ CCTHADS"}, {"document_type": "KN"}, {"priority": 5},
                {"attachments": [("a/b.pdf", b"x", "application/pdf")]}, {"attachments": [("a.pdf", b"", "x")]},
                {"office": {"organ_id": "g12.hcm", "name": "x"}}, {"case_ref": ""}):
        with pytest.raises(ValueError):
            full_decision(**bad)


# --- the Status: receipts and refusals -------------------------------------------------------------
def status_for(decision: m.ProcuracyDecision, *, receipt: str | None = "VKS-TN-20261120-000001",
               refusal: tuple[str, str] | None = None, organ: mock_edxml.Organ | None = None) -> etree._Element:
    answered = mock_edxml.read_edxml(m.decision_edxml(decision))
    return mock_edxml.build_status(answered, organ=organ or answered.recipients[0],
                                   status=m.RECEIVED if refusal is None else m.REFUSED,
                                   description="Đã tiếp nhận văn bản để kiểm sát",
                                   at=dt.datetime(2026, 11, 20, 2, 15, tzinfo=dt.UTC),
                                   receipt=receipt if refusal is None else None, refusal=refusal,
                                   staff=("Phòng Kiểm sát thi hành án dân sự", "Văn thư"))


def test_a_receipt_from_the_procuracys_status(status_xsd: CompiledSchema) -> None:
    decision = full_decision()
    status = status_for(decision, organ=mock_edxml.Organ(organ_id="H37.HCM.079", name=PROCURACY.name,
                                                         in_charge="Viện kiểm sát nhân dân tối cao",
                                                         email="vks@hcm.gov.vn"))
    status_xsd.validate(status)
    receipt = m.receipt_from(status, decision)
    assert receipt == m.ProcuracyReceipt(
        receipt_code="VKS-TN-20261120-000001", status="da_tiep_nhan",
        received_at=dt.datetime(2026, 11, 20, 2, 15, tzinfo=dt.UTC), document_id=decision.document_id,
        organ_id="H37.HCM.079", organ_name=PROCURACY.name, description="Đã tiếp nhận văn bản để kiểm sát",
        case_ref="THADS-79-2026-0042",
        extensions={"From/OrganizationInCharge": "Viện kiểm sát nhân dân tối cao", "From/Email": "vks@hcm.gov.vn",
                    "StaffInfo/Department": "Phòng Kiểm sát thi hành án dân sự", "StaffInfo/Staff": "Văn thư"})


@pytest.mark.parametrize("code", m.REFUSAL_CODES)
def test_a_refusal_is_agency_rejected_with_the_procuracys_code_and_reason(code: str,
                                                                         status_xsd: CompiledSchema) -> None:
    decision = full_decision()
    status = status_for(decision, refusal=(code, "Lý do từ chối tiếp nhận"))
    status_xsd.validate(status)
    with pytest.raises(AgencyRejected) as caught:
        m.receipt_from(status, decision)
    assert (caught.value.code, caught.value.rule, caught.value.extra["agency_code"]) == ("AGENCY_REJECTED", code, code)
    assert "Lý do từ chối tiếp nhận" in caught.value.detail


def test_a_status_about_another_document_is_invalid() -> None:
    decision = full_decision()
    for other, rule in ((full_decision(number="16"), "echo_ResponseFor_DocumentId"),
                        (full_decision(case_ref="THADS-79-2026-0043"), "echo_HoSoThiHanhAn_MaHoSo"),
                        (full_decision(judgment_number="13/2024/DS-ST"), "echo_HoSoThiHanhAn_SoBanAn")):
        with pytest.raises(AgencyInvalidResponse) as caught:
            m.receipt_from(status_for(other), decision)
        assert caught.value.rule == rule
    inconsistent = status_for(decision)
    code = inconsistent.find(e("StatusCode"))
    assert code is not None
    code.text = m.REFUSED
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.receipt_from(inconsistent, decision)
    assert caught.value.rule == "status_choice"
    with pytest.raises(AgencyInvalidResponse):
        m.receipt_from(m.decision_edxml(decision), decision)


@pytest.mark.parametrize(("code", "status"), sorted(STATUS_OF.items()))
def test_problem_documents_are_the_typed_error_of_their_code(code: str, status: int) -> None:
    problem = etree.fromstring(mock_edxml.problem_xml(status, code, "what went wrong", "some_rule"))
    CompiledSchema.load(m.PROBLEM_XSD).validate(problem)
    error = m.problem_error(problem, status)
    assert "what went wrong" in error.detail
    if status == 504:
        assert isinstance(error, AgencyTimeout)
    elif status >= 500 or code in ("AGENCY_UNAVAILABLE", "INTERNAL"):
        assert isinstance(error, AgencyUnavailable) and error.transient and error.rule == "some_rule"
    else:
        assert isinstance(error, AgencyRejected) and not error.transient
        assert (error.rule, error.extra["problem_rule"]) == (code, "some_rule")
    assert error.extra["agency_code"] == code
    no_code = etree.fromstring(mock_edxml.problem_xml(status, code, "x"))
    for el in no_code.findall(f"{{{m.PROBLEM_NS}}}code"):
        no_code.remove(el)
    assert m.problem_error(no_code, status).extra["agency_code"] == code  # read from the type URN


# --- actions the procuracy pushes ----------------------------------------------------------------------
def test_every_pushed_action_maps_to_a_canonical_action(world: World, key_dir: Path,
                                                        edxml_xsd: CompiledSchema) -> None:
    items = action_push_items(world, key_dir, count=30, seed=3)
    verifier = EnvelopeVerifier(TrustStore.load(key_dir))
    cases = {c.case_ref for c in world_cases(world)}
    kinds = set()
    for item in items:
        verified = verifier.verify(item.body, expected_to="hub")
        assert verified.signer == "procuracy"
        edxml_xsd.validate(verified.body)
        action, case_ref = m.action_from(verified.body)
        source = mock_edxml.read_edxml(verified.body)  # what the procuracy wrote, read by its own reader
        ProcuracyAction.model_validate(action.model_dump())
        assert action.kind is m.ACTION_KINDS[source.document_type]
        assert m.OPERATIONS[verified.header.operation] == source.document_type == \
            {v: k for k, v in OPERATIONS.items()}[verified.header.operation]
        assert (action.organ_id, action.organ_name) == (source.sender.organ_id, source.sender.name)
        assert action.document_number == source.code and action.issued_on == source.promulgated
        assert action.subject == source.subject and action.case_id is None
        assert case_ref == source.case.case_ref == verified.header.case_ref
        assert case_ref in cases
        details = m.action_details(verified.body)
        assert details.document_id == source.document_id
        assert [(a.name, a.mime, a.data, a.description) for a in details.attachments] == \
            [(a.name, a.content_type, a.data, a.description) for a in source.attachments]
        assert details.fields["Content"] == source.content
        assert details.fields["SignerInfo/FullName"] == source.signer_name
        assert details.fields["To[1]/OrganId"] == source.recipients[0].organ_id
        assert details.fields["HoSoThiHanhAn/SoQuyetDinhThiHanhAn"] == source.case.decision
        assert "From/OrganId" not in details.fields
        kinds.add(action.kind)
    assert kinds == {ProcuracyActionKind.PROTEST, ProcuracyActionKind.RECOMMENDATION}


def test_actions_about_given_cases(world: World, key_dir: Path) -> None:
    refs = ["THADS-01-2026-0007", "THADS-48-2025-0113"]
    verifier = EnvelopeVerifier(TrustStore.load(key_dir))
    got = [m.action_from(verifier.verify(i.body, expected_to="hub").body)[1]
           for i in action_push_items(world, key_dir, count=4, case_refs=refs)]
    assert got == refs * 2


def test_documents_that_are_not_actions_are_invalid(world: World, key_dir: Path) -> None:
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.action_from(m.decision_edxml(full_decision()))
    assert caught.value.rule == "action_type"
    body = EnvelopeVerifier(TrustStore.load(key_dir)).verify(
        action_push_items(world, key_dir, count=1)[0].body, expected_to="hub").body
    document_id = body.find(f".//{e('MessageHeader')}/{e('DocumentId')}")
    assert document_id is not None and document_id.text
    document_id.text = document_id.text.replace(",", ",9", 1)
    with pytest.raises(AgencyInvalidResponse) as caught:
        m.action_from(body)
    assert caught.value.rule == "document_id"
    with pytest.raises(AgencyInvalidResponse):
        m.action_from(etree.Element(e("Status")))
