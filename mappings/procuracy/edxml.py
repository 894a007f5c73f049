"""edXML (QCVN 102:2016 subset, the procuracy's profile) helpers shared by the decision and action
mappings: names, formats, and the organ and attachment models. Pure: lxml in and out, nothing else.

Formats of the contract: dates dd/MM/yyyy and times "dd/MM/yyyy HH:mm:ss", both Viet Nam time
(UTC+07:00); a document's number and notation written together "15/KN-VKS"; DocumentId
"OrganId,yyyy/MM/dd,CodeNumber/CodeNotation" of the issuing organ.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import unicodedata
from typing import Annotated, Any, Final

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from hub.errors import AgencyInvalidResponse

EDXML_NS: Final = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XLINK_NS: Final = "http://www.w3.org/1999/xlink"
PROBLEM_NS: Final = "urn:ietf:rfc:7807"
NSMAP: Final = {"edXML": EDXML_NS}
# Viet Nam keeps UTC+07:00 all year.
VN_TIME: Final = dt.timezone(dt.timedelta(hours=7), "ICT")
PROCURACY_ORGAN_PREFIX: Final = "H37."

# The contract's simple types, as pydantic constraints (checked before anything is sent).
ORGAN_ID: Final = r"^[A-Z0-9]{1,4}(\.[A-Z0-9]{1,6}){1,5}$"
CODE_NUMBER: Final = r"^[0-9]{1,6}$"
CODE_NOTATION: Final = r"^[^\W_]+(-[^\W_]+)*$"
CONTENT_ID: Final = re.compile(r"[A-Za-z0-9._\-]{1,100}")
MIME: Final = r"^[a-z]+/[a-z0-9.+\-]+(; ?charset=[A-Za-z0-9\-]+)?$"
FILE_NAME: Final = r'^[^/\\:*?"<>|]+$'

OrganId = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64, pattern=ORGAN_ID)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


def q(local: str) -> str:
    return f"{{{EDXML_NS}}}{local}"


def sub(parent: etree._Element, local: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, q(local))
    if text is not None:
        child.text = text
    return child


def token(text: str) -> str:
    """xs:token as the schema reads it: NFC, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def invalid(detail: str, rule: str) -> AgencyInvalidResponse:
    return AgencyInvalidResponse(f"procuracy document: {detail}", rule=rule)


def text_of(parent: etree._Element | None, local: str) -> str | None:
    """The child's text as xs:token (NFC, collapsed); None when absent or empty."""
    if parent is None:
        return None
    child = parent.find(q(local))
    value = token(child.text or "") if child is not None else ""
    return value or None


def required_text(parent: etree._Element | None, local: str) -> str:
    value = text_of(parent, local)
    if value is None:
        where = etree.QName(parent).localname if parent is not None else "?"
        raise invalid(f"{where}/{local} is missing", f"missing_{local}")
    return value


def required_child(parent: etree._Element, local: str) -> etree._Element:
    child = parent.find(q(local))
    if child is None:
        raise invalid(f"{etree.QName(parent).localname}/{local} is missing", f"missing_{local}")
    return child


def vn_date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def parse_date(text: str, where: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise invalid(f"{where} {text!r} is not a dd/MM/yyyy date", f"date_{where}") from None


def parse_time(text: str, where: str) -> dt.datetime:
    """dd/MM/yyyy HH:mm:ss, Viet Nam time -> an aware datetime in UTC."""
    try:
        local = dt.datetime.strptime(text, "%d/%m/%Y %H:%M:%S")
    except ValueError:
        raise invalid(f"{where} {text!r} is not dd/MM/yyyy HH:mm:ss", f"time_{where}") from None
    return local.replace(tzinfo=VN_TIME).astimezone(dt.UTC)


def document_id(organ_id: str, issued_on: dt.date, number: str, notation: str) -> str:
    """QCVN 102's DocumentId: "OrganId,yyyy/MM/dd,number/notation"."""
    return f"{organ_id},{issued_on:%Y/%m/%d},{number}/{notation}"


# --- organs -------------------------------------------------------------------------------------------
class Organ(BaseModel):
    """A state organ as edXML names it (OrganType): its code in the national register of organ codes
    ("G12.HCM.079" an enforcement office, "H37.HCM.079" a provincial procuracy) and name, with the
    optional contact details the standard carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organ_id: OrganId
    name: Name
    in_charge: Name | None = Field(None, description="OrganizationInCharge: the organ's superior.")
    address: Name | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254,
                                            pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    telephone: Annotated[str, StringConstraints(strip_whitespace=True,
                                                pattern=r"^[0-9 ().+\-]{6,20}$")] | None = None
    fax: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9 ().+\-]{6,20}$")] | None = None
    website: Name | None = None


_ORGAN_FIELDS: Final = (("OrganId", "organ_id"), ("OrganizationInCharge", "in_charge"), ("OrganName", "name"),
                        ("OrganAdd", "address"), ("Email", "email"), ("Telephone", "telephone"), ("Fax", "fax"),
                        ("Website", "website"))


def organ_element(parent: etree._Element, local: str, organ: Organ) -> None:
    el = sub(parent, local)
    for element, attr in _ORGAN_FIELDS:
        value = getattr(organ, attr)
        if value is not None:
            sub(el, element, value)


def organ_from(el: etree._Element) -> Organ:
    values = {attr: text_of(el, element) for element, attr in _ORGAN_FIELDS}
    try:
        return Organ.model_validate({k: v for k, v in values.items() if v is not None})
    except ValueError as exc:
        raise invalid(f"{etree.QName(el).localname} is not an organ the contract describes: {exc}",
                      "organ") from None


def organ_fields(el: etree._Element, prefix: str) -> dict[str, str]:
    """Every child of an OrganType element, verbatim, keyed ``<prefix>/<element>``."""
    return {f"{prefix}/{element}": value for element, _ in _ORGAN_FIELDS
            if (value := text_of(el, element)) is not None}


# --- documents referred to ----------------------------------------------------------------------------
class DocumentRef(BaseModel):
    """ResponseFor: a document answered or referred to (its organ, "15/KN-VKS", date, DocumentId)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organ_id: OrganId
    code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100,
                                           pattern=r"^[0-9]{1,6}(/[0-9]{4})?/[^\W_]+(-[^\W_]+)*$")]
    issued_on: dt.date
    document_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def response_for_element(parent: etree._Element, ref: DocumentRef) -> None:
    el = sub(parent, "ResponseFor")
    sub(el, "OrganId", ref.organ_id)
    sub(el, "Code", ref.code)
    sub(el, "PromulgationDate", vn_date(ref.issued_on))
    sub(el, "DocumentId", ref.document_id)


def response_for_from(el: etree._Element) -> DocumentRef:
    try:
        return DocumentRef(organ_id=required_text(el, "OrganId"), code=required_text(el, "Code"),
                           issued_on=parse_date(required_text(el, "PromulgationDate"), "PromulgationDate"),
                           document_id=required_text(el, "DocumentId"))
    except ValueError as exc:
        raise invalid(f"ResponseFor: {exc}", "response_for") from None


# --- attachments ----------------------------------------------------------------------------------------
class Attachment(BaseModel):
    """A file carried in AttachmentEncoded (base64) and listed in the manifest: (name, bytes, mime)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=FILE_NAME)]
    data: bytes = Field(min_length=1)
    mime: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100, pattern=MIME)]
    description: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_tuple(cls, value: Any) -> Any:
        """Accept ``(name, bytes, mime)`` (and an optional description) as well as the keyword form."""
        if isinstance(value, tuple | list):
            keys = ("name", "data", "mime", "description")
            if not 3 <= len(value) <= 4:
                raise ValueError("an attachment is (name, bytes, mime) or (name, bytes, mime, description)")
            return dict(zip(keys, value, strict=False))
        return value


def content_id(index: int, name: str) -> str:
    """A ContentId for the ``index``-th attachment (from 1): stable, so the same document is the same
    bytes every time it is sent (the procuracy receives a DocumentId once per content)."""
    stem = re.sub(r"[^A-Za-z0-9._\-]", "-", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode())
    value = f"tep-{index}-{stem}"[:100].rstrip("-.") or f"tep-{index}"
    return value if CONTENT_ID.fullmatch(value) else f"tep-{index}"


def attachments_from(root: etree._Element) -> list[tuple[str, Attachment]]:
    """(ContentId, Attachment) for every manifest Reference, in the manifest's order, with its payload."""
    payloads = {required_text(a, "ContentId"): a
                for a in root.iterfind(f"{q('AttachmentEncoded')}/{q('Attachment')}")}
    found: list[tuple[str, Attachment]] = []
    manifest = root.find(f"{q('edXMLEnvelope')}/{q('edXMLBody')}/{q('edXMLManifest')}")
    for ref in manifest.iterfind(q("Reference")) if manifest is not None else ():
        cid = required_text(ref, "ContentId")
        payload = payloads.get(cid)
        if payload is None:
            raise invalid(f"the manifest names attachment {cid} that the document does not carry", "attachment_ref")
        if required_text(payload, "ContentType") != required_text(ref, "ContentType") or \
                required_text(payload, "AttachmentName") != required_text(ref, "AttachmentName"):
            raise invalid(f"attachment {cid}: the manifest and the attachment disagree", "attachment_manifest")
        encoded = "".join((payload.findtext(q("ContentTransferEncoded")) or "").split())
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(f"attachment {cid} is not base64", "attachment_base64") from None
        try:
            attachment = Attachment(name=required_text(ref, "AttachmentName"), data=data,
                                    mime=required_text(ref, "ContentType"),
                                    description=text_of(ref, "Description") or text_of(payload, "Description"))
        except ValueError as exc:
            raise invalid(f"attachment {cid}: {exc}", "attachment") from None
        found.append((cid, attachment))
    return found


def message_header(root: etree._Element) -> etree._Element:
    if root.tag != q("edXML"):
        raise invalid(f"expected edXML:edXML, got {root.tag}", "document_element")
    header = root.find(f"{q('edXMLEnvelope')}/{q('edXMLHeader')}/{q('MessageHeader')}")
    if header is None:
        raise invalid("edXML without MessageHeader", "missing_MessageHeader")
    return header
