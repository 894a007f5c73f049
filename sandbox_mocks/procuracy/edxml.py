"""edXML (QCVN 102:2016 subset) as the procuracy writes and reads it, built with lxml from the element
names of mappings/procuracy/contracts/edxml-qcvn102-2016.xsd and edxml-status.xsd; and the RFC 7807 XML
problem document of problem-rfc7807.xsd.

Reading is done only after the document validated against the XSD, so the reader trusts the shape and
only converts texts (dd/MM/yyyy dates, base64).
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from adapters.refusal import Refusal
from adapters.xml_hardened import parse_xml
from sandbox_mocks.seed.places import provinces
from sandbox_mocks.seed.spelling import fold

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XLINK_NS = "http://www.w3.org/1999/xlink"
PROBLEM_NS = "urn:ietf:rfc:7807"
PROBLEM_TYPE_PREFIX = "urn:thads:problem:"
CONTRACT_DIR = Path(__file__).resolve().parents[2] / "mappings" / "procuracy" / "contracts"
EDXML_XSD = CONTRACT_DIR / "edxml-qcvn102-2016.xsd"
STATUS_XSD = CONTRACT_DIR / "edxml-status.xsd"
PROBLEM_XSD = CONTRACT_DIR / "problem-rfc7807.xsd"

# Viet Nam keeps UTC+07:00 all year: promulgation dates and status times are local.
VN_TIME = dt.timezone(dt.timedelta(hours=7), "ICT")

# DocumentType/Type, the procuracy's code list (LoaiVanBanType).
DECISION_TYPES: dict[str, str] = {
    "QDTHA": "Quyết định thi hành án",
    "QDHTHA": "Quyết định hoãn thi hành án",
    "QDDCTHA": "Quyết định đình chỉ thi hành án",
    "QDPTTK": "Quyết định phong tỏa tài khoản",
    "QDKBTS": "Quyết định cưỡng chế kê biên tài sản",
    "QDTDDK": "Quyết định tạm dừng việc đăng ký, chuyển quyền sở hữu, sử dụng, thay đổi hiện trạng tài sản",
}
PROTEST, RECOMMENDATION, REQUEST = "KN", "KNGH", "YC"
PROCURACY_TYPES: dict[str, str] = {PROTEST: "Kháng nghị", RECOMMENDATION: "Kiến nghị", REQUEST: "Yêu cầu"}
DOCUMENT_TYPES = {**DECISION_TYPES, **PROCURACY_TYPES}

ACCEPTED, REFUSED = "da_tiep_nhan", "tu_choi_tiep_nhan"
PROCURACY_ORGAN_PREFIX = "H37."


def q(local: str) -> str:
    return f"{{{EDXML_NS}}}{local}"


def _sub(parent: etree._Element, local: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, q(local))
    if text is not None:
        child.text = text
    return child


def vn_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def parse_vn_date(text: str) -> dt.date:
    return dt.datetime.strptime(text.strip(), "%d/%m/%Y").date()


def vn_timestamp(at: dt.datetime) -> str:
    return at.astimezone(VN_TIME).strftime("%d/%m/%Y %H:%M:%S")


def vn_today() -> dt.date:
    return dt.datetime.now(VN_TIME).date()


def document_id(organ_id: str, promulgated: dt.date, number: str, notation: str) -> str:
    """QCVN 102's DocumentId: "OrganId,yyyy/MM/dd,number/notation"."""
    return f"{organ_id},{promulgated:%Y/%m/%d},{number}/{notation}"


# --- organs ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Organ:
    organ_id: str
    name: str
    in_charge: str | None = None
    address: str | None = None
    email: str | None = None
    telephone: str | None = None


def _initials(name: str) -> str:
    return "".join(word[0] for word in fold(name).upper().split() if word[0].isalnum())


def procuracy_organ(province_code: str) -> Organ:
    """The provincial procuracy (Viện kiểm sát nhân dân tỉnh/thành phố): "H37.DN.075" for Đồng Nai. The
    province code in the last part keeps two provinces with the same initials apart (Đà Nẵng, Đồng Nai)."""
    unit = provinces().unit(province_code)
    return Organ(organ_id=f"{PROCURACY_ORGAN_PREFIX}{_initials(unit.name)}.{int(province_code):03d}",
                 name=f"Viện kiểm sát nhân dân {unit.display}", in_charge="Viện kiểm sát nhân dân tối cao",
                 email=f"vks.{fold(unit.name).replace(' ', '')}@vks.gov.vn")


def enforcement_organ(province_code: str) -> Organ:
    """The provincial civil judgment enforcement office (Thi hành án dân sự tỉnh/thành phố)."""
    unit = provinces().unit(province_code)
    return Organ(organ_id=f"G12.{_initials(unit.name)}.{int(province_code):03d}",
                 name=f"Thi hành án dân sự {unit.display}", in_charge="Bộ Tư pháp")


def case_province(case_ref: str, default: str = "01") -> str:
    """The province of a THADS case reference "THADS-79-2026-0042", or ``default`` when it names none
    the code list knows."""
    parts = case_ref.split("-")
    if len(parts) >= 2 and parts[1].isdigit():
        code = parts[1].zfill(2)[-2:]
        if any(u.code == code for u in provinces().units):
            return code
    return default


# --- the document ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    data: bytes
    content_id: str
    description: str | None = None


@dataclass(frozen=True)
class ResponseFor:
    organ_id: str
    code: str  # number and notation: "15/QĐ-CCTHADS"
    promulgated: dt.date
    document_id: str


@dataclass(frozen=True)
class CaseInfo:
    case_ref: str
    judgment: str | None = None
    decision: str | None = None
    office: str | None = None


@dataclass(frozen=True)
class EdxmlDocument:
    sender: Organ
    recipients: tuple[Organ, ...]
    number: str
    notation: str
    place: str
    promulgated: dt.date
    document_type: str
    subject: str
    signer_position: str
    signer_name: str
    case: CaseInfo
    document_id: str
    content: str | None = None
    signer_competence: str | None = None
    due_date: dt.date | None = None
    priority: int | None = None
    page_amount: int | None = None
    responds_to: tuple[ResponseFor, ...] = ()
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    @property
    def code(self) -> str:
        return f"{self.number}/{self.notation}"

    @property
    def type_name(self) -> str:
        return DOCUMENT_TYPES[self.document_type]


def _organ(parent: etree._Element, local: str, organ: Organ) -> None:
    el = _sub(parent, local)
    _sub(el, "OrganId", organ.organ_id)
    if organ.in_charge:
        _sub(el, "OrganizationInCharge", organ.in_charge)
    _sub(el, "OrganName", organ.name)
    if organ.address:
        _sub(el, "OrganAdd", organ.address)
    if organ.email:
        _sub(el, "Email", organ.email)
    if organ.telephone:
        _sub(el, "Telephone", organ.telephone)


def _response_for(parent: etree._Element, answered: ResponseFor) -> None:
    el = _sub(parent, "ResponseFor")
    _sub(el, "OrganId", answered.organ_id)
    _sub(el, "Code", answered.code)
    _sub(el, "PromulgationDate", vn_date(answered.promulgated))
    _sub(el, "DocumentId", answered.document_id)


def _case(parent: etree._Element, case: CaseInfo) -> None:
    el = _sub(parent, "HoSoThiHanhAn")
    _sub(el, "MaHoSo", case.case_ref)
    if case.judgment:
        _sub(el, "SoBanAn", case.judgment)
    if case.decision:
        _sub(el, "SoQuyetDinhThiHanhAn", case.decision)
    if case.office:
        _sub(el, "CoQuanThiHanhAn", case.office)


def build_edxml(doc: EdxmlDocument) -> etree._Element:
    """The edXML element of ``doc``, in the order of edxml-qcvn102-2016.xsd."""
    root = etree.Element(q("edXML"), nsmap={"edXML": EDXML_NS})
    envelope = _sub(root, "edXMLEnvelope")
    header = _sub(_sub(envelope, "edXMLHeader"), "MessageHeader")
    _organ(header, "From", doc.sender)
    for organ in doc.recipients:
        _organ(header, "To", organ)
    code = _sub(header, "Code")
    _sub(code, "CodeNumber", doc.number)
    _sub(code, "CodeNotation", doc.notation)
    info = _sub(header, "PromulgationInfo")
    _sub(info, "Place", doc.place)
    _sub(info, "PromulgationDate", vn_date(doc.promulgated))
    kind = _sub(header, "DocumentType")
    _sub(kind, "Type", doc.document_type)
    _sub(kind, "TypeName", doc.type_name)
    _sub(header, "Subject", doc.subject)
    if doc.content:
        _sub(header, "Content", doc.content)
    signer = _sub(header, "SignerInfo")
    if doc.signer_competence:
        _sub(signer, "Competence", doc.signer_competence)
    _sub(signer, "Position", doc.signer_position)
    _sub(signer, "FullName", doc.signer_name)
    if doc.due_date:
        _sub(header, "DueDate", vn_date(doc.due_date))
    places = _sub(header, "ToPlaces")
    for organ in doc.recipients:
        _sub(places, "Place", organ.name)
    if doc.priority is not None or doc.page_amount is not None:
        other = _sub(header, "OtherInfo")
        if doc.priority is not None:
            _sub(other, "Priority", str(doc.priority))
        if doc.page_amount is not None:
            _sub(other, "PageAmount", str(doc.page_amount))
    for answered in doc.responds_to:
        _response_for(header, answered)
    _sub(header, "DocumentId", doc.document_id)
    _case(header, doc.case)
    manifest = _sub(_sub(envelope, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    for att in doc.attachments:
        ref = etree.SubElement(manifest, q("Reference"), nsmap={"xlink": XLINK_NS})
        ref.set(f"{{{XLINK_NS}}}href", f"cid:{att.content_id}")
        ref.set(f"{{{XLINK_NS}}}type", "simple")
        if att.description:
            _sub(ref, "Description", att.description)
        _sub(ref, "AttachmentName", att.name)
        _sub(ref, "ContentType", att.content_type)
        _sub(ref, "ContentId", att.content_id)
    if doc.attachments:
        encoded = _sub(root, "AttachmentEncoded")
        for att in doc.attachments:
            el = _sub(encoded, "Attachment")
            _sub(el, "ContentType", att.content_type)
            _sub(el, "ContentId", att.content_id)
            if att.description:
                _sub(el, "Description", att.description)
            _sub(el, "ContentTransferEncoded", base64.b64encode(att.data).decode("ascii"))
            _sub(el, "AttachmentName", att.name)
    return root


def _text(el: etree._Element | None, local: str) -> str | None:
    if el is None:
        return None
    found = el.find(q(local))
    return found.text.strip() if found is not None and found.text is not None else None


def _need(el: etree._Element | None, local: str) -> str:
    value = _text(el, local)
    if value is None:
        raise ValueError(f"edXML without {local}")
    return value


def _read_organ(el: etree._Element) -> Organ:
    return Organ(organ_id=_need(el, "OrganId"), name=_need(el, "OrganName"),
                 in_charge=_text(el, "OrganizationInCharge"), address=_text(el, "OrganAdd"),
                 email=_text(el, "Email"), telephone=_text(el, "Telephone"))


def read_edxml(root: etree._Element) -> EdxmlDocument:
    """The document in an edXML element that validated against edxml-qcvn102-2016.xsd."""
    header = root.find(f"{q('edXMLEnvelope')}/{q('edXMLHeader')}/{q('MessageHeader')}")
    if header is None:
        raise ValueError("edXML without MessageHeader")
    sender = header.find(q("From"))
    if sender is None:
        raise ValueError("edXML without From")
    case_el = header.find(q("HoSoThiHanhAn"))
    payloads = {_need(a, "ContentId"): a for a in root.iterfind(f"{q('AttachmentEncoded')}/{q('Attachment')}")}
    attachments = []
    for ref in root.iterfind(f"{q('edXMLEnvelope')}/{q('edXMLBody')}/{q('edXMLManifest')}/{q('Reference')}"):
        content_id = _need(ref, "ContentId")
        payload = payloads[content_id]
        attachments.append(Attachment(name=_need(ref, "AttachmentName"), content_type=_need(ref, "ContentType"),
                                      content_id=content_id, description=_text(ref, "Description"),
                                      data=base64.b64decode("".join(_need(payload, "ContentTransferEncoded").split()))))
    other = header.find(q("OtherInfo"))
    priority, pages, due = _text(other, "Priority"), _text(other, "PageAmount"), _text(header, "DueDate")
    return EdxmlDocument(
        sender=_read_organ(sender), recipients=tuple(_read_organ(t) for t in header.iterfind(q("To"))),
        number=_need(header.find(q("Code")), "CodeNumber"), notation=_need(header.find(q("Code")), "CodeNotation"),
        place=_need(header.find(q("PromulgationInfo")), "Place"),
        promulgated=parse_vn_date(_need(header.find(q("PromulgationInfo")), "PromulgationDate")),
        document_type=_need(header.find(q("DocumentType")), "Type"), subject=_need(header, "Subject"),
        content=_text(header, "Content"), signer_competence=_text(header.find(q("SignerInfo")), "Competence"),
        signer_position=_need(header.find(q("SignerInfo")), "Position"),
        signer_name=_need(header.find(q("SignerInfo")), "FullName"),
        due_date=parse_vn_date(due) if due else None, priority=int(priority) if priority else None,
        page_amount=int(pages) if pages else None,
        responds_to=tuple(ResponseFor(organ_id=_need(r, "OrganId"), code=_need(r, "Code"),
                                      promulgated=parse_vn_date(_need(r, "PromulgationDate")),
                                      document_id=_need(r, "DocumentId"))
                          for r in header.iterfind(q("ResponseFor"))),
        document_id=_need(header, "DocumentId"),
        case=CaseInfo(case_ref=_need(case_el, "MaHoSo"), judgment=_text(case_el, "SoBanAn"),
                      decision=_text(case_el, "SoQuyetDinhThiHanhAn"), office=_text(case_el, "CoQuanThiHanhAn")),
        attachments=tuple(attachments))


# --- the status message --------------------------------------------------------------------------------
def build_status(answered: EdxmlDocument, *, organ: Organ, status: str, description: str, at: dt.datetime,
                 receipt: str | None = None, refusal: tuple[str, str] | None = None,
                 staff: tuple[str, str] | None = None) -> etree._Element:
    """edXML Status (edxml-status.xsd) answering ``answered``: with ``receipt`` when received, with
    ``refusal`` (MaLoi, LyDo) when refused."""
    if (receipt is None) == (refusal is None):
        raise ValueError("a status carries either a receipt or a refusal")
    root = etree.Element(q("Status"), nsmap={"edXML": EDXML_NS})
    _response_for(root, ResponseFor(organ_id=answered.sender.organ_id, code=answered.code,
                                    promulgated=answered.promulgated, document_id=answered.document_id))
    _organ(root, "From", organ)
    _sub(root, "StatusCode", status)
    _sub(root, "Description", description)
    _sub(root, "Timestamp", vn_timestamp(at))
    if staff:
        info = _sub(root, "StaffInfo")
        _sub(info, "Department", staff[0])
        _sub(info, "Staff", staff[1])
    if receipt is not None:
        _sub(root, "MaTiepNhan", receipt)
    elif refusal is not None:
        refused = _sub(root, "TuChoi")
        _sub(refused, "MaLoi", refusal[0])
        _sub(refused, "LyDo", refusal[1])
    _case(root, answered.case)
    return root


# --- problem documents (RFC 7807, XML) ------------------------------------------------------------------
PROBLEM_MEDIA_TYPE = "application/problem+xml; charset=utf-8"

TITLES: dict[str, str] = {
    "REQUEST_INVALID": "Request invalid", "UNSUPPORTED_MEDIA_TYPE": "Unsupported media type",
    "XML_MALFORMED": "XML malformed", "XML_FORBIDDEN_CONSTRUCT": "Forbidden XML construct",
    "XML_TOO_LARGE": "XML too large", "SCHEMA_INVALID": "Schema invalid", "SIGNATURE_INVALID": "Signature invalid",
    "CERT_UNTRUSTED": "Certificate untrusted", "CERT_EXPIRED": "Certificate expired",
    "CERT_WRONG_AGENCY": "Certificate of another agency", "CERT_REVOKED": "Certificate revoked",
    "MESSAGE_EXPIRED": "Message expired", "NOT_FOUND": "Not found", "METHOD_NOT_ALLOWED": "Method not allowed",
    "AGENCY_UNAVAILABLE": "Agency unavailable", "INTERNAL": "Internal error", "REPLAY": "Replay",
}


def problem_xml(status: int, code: str, detail: str, rule: str | None = None) -> bytes:
    root = etree.Element(f"{{{PROBLEM_NS}}}problem", nsmap={None: PROBLEM_NS})
    for local, text in (("type", PROBLEM_TYPE_PREFIX + code), ("title", TITLES.get(code, code)),
                        ("status", str(status)), ("detail", detail[:2000] or code), ("code", code),
                        ("rule", rule[:2000] if rule else None)):
        if text is not None:
            etree.SubElement(root, f"{{{PROBLEM_NS}}}{local}").text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def problem_code(data: bytes) -> tuple[str | None, str | None]:
    """(code, detail) of an XML problem document, (None, None) when ``data`` is not one."""
    try:
        root = parse_xml(data)
    except Refusal:  # a hostile or broken body is just "not a problem document" here
        return None, None
    if root.tag != f"{{{PROBLEM_NS}}}problem":
        return None, None
    code = root.findtext(f"{{{PROBLEM_NS}}}code")
    if not code:
        kind = root.findtext(f"{{{PROBLEM_NS}}}type") or ""
        code = kind.removeprefix(PROBLEM_TYPE_PREFIX) if kind.startswith(PROBLEM_TYPE_PREFIX) else None
    return (code.strip() if code else None), root.findtext(f"{{{PROBLEM_NS}}}detail")

