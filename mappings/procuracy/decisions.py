"""Decisions the enforcement offices send the procuracy for supervision (POST /v1/van-ban, operation
GuiQuyetDinh), wire <-> the hub's values. Pure functions.

- :class:`ProcuracyDecision` -> the edXML document (:func:`decision_edxml`): From the enforcement
  office, To the procuracy, Code number/notation, PromulgationInfo, DocumentType (the procuracy's code
  list: QDTHA, QDHTHA, QDDCTHA, QDPTTK, QDKBTS, QDTDDK), Subject, SignerInfo, the manifest and the
  base64 attachments, DocumentId "OrganId,yyyy/MM/dd,number/notation", and HoSoThiHanhAn (the case;
  its MaHoSo must equal the envelope's CaseRef). The same decision always gives the same document, so
  sending it again is received once (the procuracy de-duplicates by DocumentId): the DocumentId is the
  idempotency key.
- The procuracy's answer, an edXML ``Status`` -> :class:`ProcuracyReceipt` (:func:`receipt_from`):
  ``da_tiep_nhan`` with its receipt code (MaTiepNhan); ``tu_choi_tiep_nhan`` raises ``AgencyRejected``
  whose ``rule`` is the procuracy's ``MaLoi`` and whose detail carries its ``LyDo``. The Status must
  answer the very document sent (ResponseFor, HoSoThiHanhAn), or it is an invalid answer.
- An RFC 7807 XML problem document (transport, security and schema refusals) -> the typed error of its
  code (:func:`problem_error`): 5xx / AGENCY_UNAVAILABLE -> AgencyUnavailable (504 -> AgencyTimeout),
  any other code -> AgencyRejected with the code as ``rule``.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Final

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.errors import AgencyError, AgencyRejected, AgencyTimeout, AgencyUnavailable
from mappings.procuracy.edxml import (
    CODE_NOTATION,
    CODE_NUMBER,
    NSMAP,
    PROBLEM_NS,
    Attachment,
    DocumentRef,
    Name,
    Organ,
    content_id,
    document_id,
    invalid,
    organ_element,
    organ_fields,
    parse_date,
    parse_time,
    q,
    required_child,
    required_text,
    response_for_element,
    sub,
    text_of,
    vn_date,
)

OPERATION: Final = "GuiQuyetDinh"  # the envelope's Operation of a decision sent
ANSWER_OPERATION: Final = "XacNhanTiepNhan"  # the envelope's Operation of the procuracy's Status
PATH: Final = "/v1/van-ban"
RECEIVED: Final = "da_tiep_nhan"
REFUSED: Final = "tu_choi_tiep_nhan"
REFUSAL_CODES: Final = ("TRUNG_MA_VAN_BAN", "LOAI_VAN_BAN_KHONG_TIEP_NHAN", "SAI_MA_HO_SO", "SAI_NOI_NHAN")
MAX_REQUEST_BYTES: Final = 5 * 1024 * 1024


class DecisionType(StrEnum):
    """DocumentType/Type of a decision sent for supervision (the procuracy's LoaiVanBanType)."""

    QDTHA = "QDTHA"  # quyết định thi hành án
    QDHTHA = "QDHTHA"  # quyết định hoãn thi hành án
    QDDCTHA = "QDDCTHA"  # quyết định đình chỉ thi hành án
    QDPTTK = "QDPTTK"  # quyết định phong tỏa tài khoản
    QDKBTS = "QDKBTS"  # quyết định cưỡng chế kê biên tài sản
    QDTDDK = "QDTDDK"  # quyết định tạm dừng đăng ký, chuyển quyền sở hữu, sử dụng tài sản


TYPE_NAMES: Final[dict[DecisionType, str]] = {
    DecisionType.QDTHA: "Quyết định thi hành án",
    DecisionType.QDHTHA: "Quyết định hoãn thi hành án",
    DecisionType.QDDCTHA: "Quyết định đình chỉ thi hành án",
    DecisionType.QDPTTK: "Quyết định phong tỏa tài khoản",
    DecisionType.QDKBTS: "Quyết định cưỡng chế kê biên tài sản",
    DecisionType.QDTDDK: "Quyết định tạm dừng việc đăng ký, chuyển quyền sở hữu, sử dụng, thay đổi hiện trạng "
                         "tài sản",
}

_SoKyHieu = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100,
                                             pattern=r"^[0-9]{1,6}(/[0-9]{4})?/[^\W_]+(-[^\W_]+)*$")]


class ProcuracyDecision(BaseModel):
    """A decision of an enforcement office sent to the procuracy for supervision (quyết định gửi viện kiểm
    sát). ``attachments`` are (name, bytes, mime) -- tuples are accepted -- usually the signed PDF."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)] = Field(
        description="The THADS case reference (HoSoThiHanhAn/MaHoSo and the envelope's CaseRef).")
    number: Annotated[str, StringConstraints(strip_whitespace=True, pattern=CODE_NUMBER)] = Field(
        description="CodeNumber: the number alone, '15'.")
    notation: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50, pattern=CODE_NOTATION)] = Field(
        description="CodeNotation, 'QĐ-CCTHADS'.")
    document_type: DecisionType
    issued_on: dt.date = Field(description="PromulgationDate (ngày ban hành), in Viet Nam.")
    place: Name = Field(description="PromulgationInfo/Place: where it was issued, 'TP Hồ Chí Minh'.")
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)] = Field(
        description="Trích yếu.")
    office: Organ = Field(description="The issuing enforcement office (From).")
    procuracy: Organ = Field(description="The procuracy that supervises the case (To).")
    signer_name: Name
    signer_position: Name = Field(description="Chức vụ of the signer, 'Chấp hành viên', 'Thủ trưởng'.")
    signer_competence: Name | None = Field(None, description="Thẩm quyền ký: 'Trực tiếp', 'KT. Thủ trưởng'...")
    type_name: Name | None = Field(None, description="DocumentType/TypeName; the code list's name when None.")
    content: Annotated[str, StringConstraints(min_length=1, max_length=20_000)] | None = None
    due_date: dt.date | None = None
    priority: int | None = Field(None, ge=0, le=4, description="0 thường ... 4 hỏa tốc hẹn giờ.")
    sphere: Name | None = Field(None, description="OtherInfo/SphereOfPromulgation.")
    copies: int | None = Field(None, ge=1, description="OtherInfo/PromulgationAmount.")
    pages: int | None = Field(None, ge=1, description="OtherInfo/PageAmount.")
    responds_to: tuple[DocumentRef, ...] = Field((), max_length=10, description="ResponseFor: documents answered.")
    judgment_number: _SoKyHieu | None = Field(None, description="HoSoThiHanhAn/SoBanAn: the judgment enforced.")
    enforcement_decision: _SoKyHieu | None = Field(
        None, description="HoSoThiHanhAn/SoQuyetDinhThiHanhAn: the enforcement decision of the case.")
    attachments: tuple[Attachment, ...] = Field((), max_length=20)

    @property
    def code(self) -> str:
        """Number and notation written together, '15/QĐ-CCTHADS'."""
        return f"{self.number}/{self.notation}"

    @property
    def document_id(self) -> str:
        return document_id(self.office.organ_id, self.issued_on, self.number, self.notation)


@dataclass(frozen=True)
class ProcuracyReceipt:
    """The procuracy's acknowledgement (edXML Status da_tiep_nhan) of a decision sent for supervision.
    The same decision sent again is answered with the first receipt: same code, same time."""

    receipt_code: str  # MaTiepNhan, "VKS-TN-20261123-000001"
    status: str  # StatusCode: "da_tiep_nhan"
    received_at: dt.datetime  # Timestamp, UTC
    document_id: str  # the DocumentId answered
    organ_id: str  # From/OrganId: the procuracy organ that received it
    organ_name: str
    description: str
    case_ref: str | None
    extensions: dict[str, str] = field(default_factory=dict)  # the Status's other elements, verbatim


def idempotency_key(decision: ProcuracyDecision) -> str:
    """The key the procuracy honours: the DocumentId."""
    return decision.document_id


# --- the hub's values -> wire ---------------------------------------------------------------------
def decision_edxml(decision: ProcuracyDecision) -> etree._Element:
    """The edXML document of ``decision``, in the order of edxml-qcvn102-2016.xsd."""
    root = etree.Element(q("edXML"), nsmap=NSMAP)
    envelope = sub(root, "edXMLEnvelope")
    header = sub(sub(envelope, "edXMLHeader"), "MessageHeader")
    organ_element(header, "From", decision.office)
    organ_element(header, "To", decision.procuracy)
    code = sub(header, "Code")
    sub(code, "CodeNumber", decision.number)
    sub(code, "CodeNotation", decision.notation)
    info = sub(header, "PromulgationInfo")
    sub(info, "Place", decision.place)
    sub(info, "PromulgationDate", vn_date(decision.issued_on))
    kind = sub(header, "DocumentType")
    sub(kind, "Type", decision.document_type.value)
    sub(kind, "TypeName", decision.type_name or TYPE_NAMES[decision.document_type])
    sub(header, "Subject", decision.subject)
    if decision.content:
        sub(header, "Content", decision.content)
    signer = sub(header, "SignerInfo")
    if decision.signer_competence:
        sub(signer, "Competence", decision.signer_competence)
    sub(signer, "Position", decision.signer_position)
    sub(signer, "FullName", decision.signer_name)
    if decision.due_date:
        sub(header, "DueDate", vn_date(decision.due_date))
    sub(sub(header, "ToPlaces"), "Place", decision.procuracy.name)
    other = {"Priority": decision.priority, "SphereOfPromulgation": decision.sphere,
             "PromulgationAmount": decision.copies, "PageAmount": decision.pages}
    if any(v is not None for v in other.values()):
        other_el = sub(header, "OtherInfo")
        for local, value in other.items():
            if value is not None:
                sub(other_el, local, str(value))
    for ref in decision.responds_to:
        response_for_element(header, ref)
    sub(header, "DocumentId", decision.document_id)
    case = sub(header, "HoSoThiHanhAn")
    sub(case, "MaHoSo", decision.case_ref)
    if decision.judgment_number:
        sub(case, "SoBanAn", decision.judgment_number)
    if decision.enforcement_decision:
        sub(case, "SoQuyetDinhThiHanhAn", decision.enforcement_decision)
    sub(case, "CoQuanThiHanhAn", decision.office.name)
    manifest = sub(sub(envelope, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    ids = [content_id(i, a.name) for i, a in enumerate(decision.attachments, start=1)]
    for cid, attachment in zip(ids, decision.attachments, strict=True):
        ref_el = sub(manifest, "Reference")
        if attachment.description:
            sub(ref_el, "Description", attachment.description)
        sub(ref_el, "AttachmentName", attachment.name)
        sub(ref_el, "ContentType", attachment.mime)
        sub(ref_el, "ContentId", cid)
    if decision.attachments:
        encoded = sub(root, "AttachmentEncoded")
        for cid, attachment in zip(ids, decision.attachments, strict=True):
            el = sub(encoded, "Attachment")
            sub(el, "ContentType", attachment.mime)
            sub(el, "ContentId", cid)
            if attachment.description:
                sub(el, "Description", attachment.description)
            sub(el, "ContentTransferEncoded", base64.b64encode(attachment.data).decode("ascii"))
            sub(el, "AttachmentName", attachment.name)
    return root


# --- wire -> the hub's values ---------------------------------------------------------------------
def _check(actual: str | None, expected: str | None, where: str) -> None:
    if actual != expected:
        raise invalid(f"the Status answers another document: {where} is {actual!r}, sent {expected!r}",
                      f"echo_{where.replace('/', '_')}")


def receipt_from(status: etree._Element, decision: ProcuracyDecision) -> ProcuracyReceipt:
    """The edXML Status answering ``decision`` -> its receipt; a refusal raises AgencyRejected (rule MaLoi)."""
    if status.tag != q("Status"):
        raise invalid(f"expected edXML:Status, got {status.tag}", "answer_element")
    answered = required_child(status, "ResponseFor")
    _check(required_text(answered, "DocumentId"), decision.document_id, "ResponseFor/DocumentId")
    _check(required_text(answered, "OrganId"), decision.office.organ_id, "ResponseFor/OrganId")
    _check(required_text(answered, "Code"), decision.code, "ResponseFor/Code")
    _check(vn_date(parse_date(required_text(answered, "PromulgationDate"), "PromulgationDate")),
           vn_date(decision.issued_on), "ResponseFor/PromulgationDate")
    case = status.find(q("HoSoThiHanhAn"))
    if case is not None:
        _check(required_text(case, "MaHoSo"), decision.case_ref, "HoSoThiHanhAn/MaHoSo")
        _check(text_of(case, "SoBanAn"), decision.judgment_number, "HoSoThiHanhAn/SoBanAn")
        _check(text_of(case, "SoQuyetDinhThiHanhAn"), decision.enforcement_decision,
               "HoSoThiHanhAn/SoQuyetDinhThiHanhAn")
        _check(text_of(case, "CoQuanThiHanhAn"), decision.office.name, "HoSoThiHanhAn/CoQuanThiHanhAn")
    code = required_text(status, "StatusCode")
    receipt_code, refusal = text_of(status, "MaTiepNhan"), status.find(q("TuChoi"))
    if code == REFUSED and refusal is not None and receipt_code is None:
        reason = required_text(refusal, "LyDo")
        error = required_text(refusal, "MaLoi")
        raise AgencyRejected(f"the procuracy refused decision {decision.code} ({error}): {reason}", rule=error,
                             agency_code=error, reason=reason, document_id=decision.document_id)
    if code != RECEIVED or receipt_code is None or refusal is not None:
        raise invalid(f"StatusCode {code!r} does not fit what the Status carries", "status_choice")
    sender = required_child(status, "From")
    extensions = {k: v for k, v in organ_fields(sender, "From").items()
                  if k not in ("From/OrganId", "From/OrganName")}
    staff = status.find(q("StaffInfo"))
    for local in ("Department", "Staff"):
        value = text_of(staff, local)
        if value is not None:
            extensions[f"StaffInfo/{local}"] = value
    return ProcuracyReceipt(
        receipt_code=receipt_code, status=code,
        received_at=parse_time(required_text(status, "Timestamp"), "Timestamp"),
        document_id=decision.document_id, organ_id=required_text(sender, "OrganId"),
        organ_name=required_text(sender, "OrganName"), description=required_text(status, "Description"),
        case_ref=text_of(case, "MaHoSo"), extensions=extensions)


# --- problem documents (RFC 7807, XML) ------------------------------------------------------------
def _problem_text(problem: etree._Element, local: str) -> str | None:
    value = problem.findtext(f"{{{PROBLEM_NS}}}{local}")
    return value.strip() if value and value.strip() else None


def problem_error(problem: etree._Element, http_status: int) -> AgencyError:
    """The typed error of a problem document the procuracy refused a request with."""
    code = _problem_text(problem, "code")
    kind = _problem_text(problem, "type") or ""
    if code is None and kind.startswith("urn:thads:problem:"):
        code = kind.removeprefix("urn:thads:problem:")
    code = code or f"HTTP_{http_status}"
    rule = _problem_text(problem, "rule")
    title = _problem_text(problem, "title") or code
    detail = f"procuracy: {title}: {_problem_text(problem, 'detail') or code}"
    if http_status == 504:
        return AgencyTimeout(detail, rule=rule or "http_504", agency_code=code)
    if http_status >= 500 or code in ("AGENCY_UNAVAILABLE", "INTERNAL"):
        return AgencyUnavailable(detail, rule=rule or f"http_{http_status}", agency_code=code)
    return AgencyRejected(detail, rule=code, problem_rule=rule, agency_code=code)


# --- where each element lands (checked against the XSDs by the tests) -------------------------------
_H = "edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
_ORGAN_REQUEST: Final = {"OrganId": "organ_id", "OrganizationInCharge": "in_charge", "OrganName": "name",
                         "OrganAdd": "address", "Email": "email", "Telephone": "telephone", "Fax": "fax",
                         "Website": "website"}
_MANIFEST = "edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference"
DECISION_ELEMENTS: Final[dict[str, str]] = {
    **{f"{_H}/From/{k}": f"request:ProcuracyDecision.office.{v}" for k, v in _ORGAN_REQUEST.items()},
    **{f"{_H}/To/{k}": f"request:ProcuracyDecision.procuracy.{v}" for k, v in _ORGAN_REQUEST.items()},
    f"{_H}/Code/CodeNumber": "request:ProcuracyDecision.number",
    f"{_H}/Code/CodeNotation": "request:ProcuracyDecision.notation",
    f"{_H}/PromulgationInfo/Place": "request:ProcuracyDecision.place",
    f"{_H}/PromulgationInfo/PromulgationDate": "request:ProcuracyDecision.issued_on",
    f"{_H}/DocumentType/Type": "request:ProcuracyDecision.document_type",
    f"{_H}/DocumentType/TypeName": "request:ProcuracyDecision.type_name (default: the code list's name)",
    f"{_H}/Subject": "request:ProcuracyDecision.subject",
    f"{_H}/Content": "request:ProcuracyDecision.content",
    f"{_H}/SignerInfo/Competence": "request:ProcuracyDecision.signer_competence",
    f"{_H}/SignerInfo/Position": "request:ProcuracyDecision.signer_position",
    f"{_H}/SignerInfo/FullName": "request:ProcuracyDecision.signer_name",
    f"{_H}/DueDate": "request:ProcuracyDecision.due_date",
    f"{_H}/ToPlaces/Place": "request:ProcuracyDecision.procuracy.name",
    f"{_H}/OtherInfo/Priority": "request:ProcuracyDecision.priority",
    f"{_H}/OtherInfo/SphereOfPromulgation": "request:ProcuracyDecision.sphere",
    f"{_H}/OtherInfo/PromulgationAmount": "request:ProcuracyDecision.copies",
    f"{_H}/OtherInfo/PageAmount": "request:ProcuracyDecision.pages",
    f"{_H}/ResponseFor/OrganId": "request:ProcuracyDecision.responds_to[].organ_id",
    f"{_H}/ResponseFor/Code": "request:ProcuracyDecision.responds_to[].code",
    f"{_H}/ResponseFor/PromulgationDate": "request:ProcuracyDecision.responds_to[].issued_on",
    f"{_H}/ResponseFor/DocumentId": "request:ProcuracyDecision.responds_to[].document_id",
    f"{_H}/DocumentId": "request:ProcuracyDecision.document_id (office, issued_on, number/notation)",
    f"{_H}/HoSoThiHanhAn/MaHoSo": "request:ProcuracyDecision.case_ref",
    f"{_H}/HoSoThiHanhAn/SoBanAn": "request:ProcuracyDecision.judgment_number",
    f"{_H}/HoSoThiHanhAn/SoQuyetDinhThiHanhAn": "request:ProcuracyDecision.enforcement_decision",
    f"{_H}/HoSoThiHanhAn/CoQuanThiHanhAn": "request:ProcuracyDecision.office.name",
    f"{_MANIFEST}/Description": "request:ProcuracyDecision.attachments[].description",
    f"{_MANIFEST}/AttachmentName": "request:ProcuracyDecision.attachments[].name",
    f"{_MANIFEST}/ContentType": "request:ProcuracyDecision.attachments[].mime",
    f"{_MANIFEST}/ContentId": "request:content_id(index, name)",
    "edXML/AttachmentEncoded/Attachment/ContentType": "request:ProcuracyDecision.attachments[].mime",
    "edXML/AttachmentEncoded/Attachment/ContentId": "request:content_id(index, name)",
    "edXML/AttachmentEncoded/Attachment/Description": "request:ProcuracyDecision.attachments[].description",
    "edXML/AttachmentEncoded/Attachment/ContentTransferEncoded": "request:ProcuracyDecision.attachments[].data",
    "edXML/AttachmentEncoded/Attachment/AttachmentName": "request:ProcuracyDecision.attachments[].name",
}

STATUS_ELEMENTS: Final[dict[str, str]] = {
    "Status/ResponseFor/OrganId": "check:equals ProcuracyDecision.office.organ_id",
    "Status/ResponseFor/Code": "check:equals ProcuracyDecision.code",
    "Status/ResponseFor/PromulgationDate": "check:equals ProcuracyDecision.issued_on",
    "Status/ResponseFor/DocumentId": "receipt:ProcuracyReceipt.document_id (checked: the DocumentId sent)",
    "Status/From/OrganId": "receipt:ProcuracyReceipt.organ_id",
    "Status/From/OrganName": "receipt:ProcuracyReceipt.organ_name",
    **{f"Status/From/{k}": f"receipt:ProcuracyReceipt.extensions[From/{k}]"
       for k in ("OrganizationInCharge", "OrganAdd", "Email", "Telephone", "Fax", "Website")},
    "Status/StatusCode": "receipt:ProcuracyReceipt.status (tu_choi_tiep_nhan: AgencyRejected)",
    "Status/Description": "receipt:ProcuracyReceipt.description",
    "Status/Timestamp": "receipt:ProcuracyReceipt.received_at",
    "Status/StaffInfo/Department": "receipt:ProcuracyReceipt.extensions[StaffInfo/Department]",
    "Status/StaffInfo/Staff": "receipt:ProcuracyReceipt.extensions[StaffInfo/Staff]",
    "Status/MaTiepNhan": "receipt:ProcuracyReceipt.receipt_code",
    "Status/TuChoi/MaLoi": "error:AgencyRejected.rule",
    "Status/TuChoi/LyDo": "error:AgencyRejected.detail",
    "Status/HoSoThiHanhAn/MaHoSo": "receipt:ProcuracyReceipt.case_ref (checked: ProcuracyDecision.case_ref)",
    "Status/HoSoThiHanhAn/SoBanAn": "check:equals ProcuracyDecision.judgment_number",
    "Status/HoSoThiHanhAn/SoQuyetDinhThiHanhAn": "check:equals ProcuracyDecision.enforcement_decision",
    "Status/HoSoThiHanhAn/CoQuanThiHanhAn": "check:equals ProcuracyDecision.office.name",
}

PROBLEM_ELEMENTS: Final[dict[str, str]] = {
    "problem/type": "error:the registry code when <code> is absent (urn:thads:problem:<CODE>)",
    "problem/title": "error:AgencyError.detail (prefix)",
    "problem/status": "check:the HTTP status decides transient (5xx) or refused (4xx)",
    "problem/detail": "error:AgencyError.detail",
    "problem/code": "error:AgencyRejected.rule (AgencyError.extra['agency_code'])",
    "problem/rule": "error:AgencyError.extra['problem_rule'] (transient errors: AgencyError.rule)",
}

__all__ = [
    "ANSWER_OPERATION", "DECISION_ELEMENTS", "MAX_REQUEST_BYTES", "OPERATION", "PATH", "PROBLEM_ELEMENTS",
    "RECEIVED", "REFUSAL_CODES", "REFUSED", "STATUS_ELEMENTS", "TYPE_NAMES", "Attachment", "DecisionType",
    "DocumentRef", "Organ", "ProcuracyDecision", "ProcuracyReceipt", "decision_edxml", "idempotency_key",
    "problem_error", "receipt_from",
]
