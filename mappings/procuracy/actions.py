"""Protests and recommendations the procuracy pushes to the hub (webhooks GuiKhangNghi / GuiKienNghi,
POST <hub>/v1/inbound/procuracy) -> the canonical ``ProcuracyAction``. Pure functions.

The hub's inbound endpoint verifies the procuracy-signed envelope and validates the edXML against
``edxml-qcvn102-2016.xsd``; it then hands the verified ``edXML:edXML`` element to:

- :func:`action_from` -> ``(ProcuracyAction, case_ref)``: DocumentType/Type KN -> PROTEST (kháng nghị),
  KNGH -> RECOMMENDATION (kiến nghị), YC -> REQUEST (yêu cầu); ``organ_id`` / ``organ_name`` from ``From``;
  ``document_number`` "CodeNumber/CodeNotation" ("15/KN-VKS"); ``issued_on`` from PromulgationDate;
  ``subject``. ``ProcuracyAction`` knows a case only by the hub's UUID, which the procuracy does not
  know: the case reference it writes (HoSoThiHanhAn/MaHoSo, equal to the envelope's CaseRef) is
  returned beside the action for the endpoint to resolve. ``received_at`` is the endpoint's to set.
- :func:`action_details` -> :class:`ActionDetails`: everything else the document says (the DocumentId
  the hub de-duplicates on, the documents it answers, the attachments decoded, and every other element
  verbatim, keyed by its path), because ``ProcuracyAction`` has no extensions to keep it in.

A decision type (QDTHA...) is not an action: AgencyInvalidResponse, like any document that breaks
these rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from lxml import etree
from pydantic import ValidationError

from hub.model.procuracy import ProcuracyAction, ProcuracyActionKind
from mappings.procuracy.edxml import (
    Attachment,
    DocumentRef,
    attachments_from,
    document_id,
    invalid,
    message_header,
    organ_fields,
    parse_date,
    q,
    required_child,
    required_text,
    response_for_from,
    text_of,
)

ACTION_KINDS: Final[dict[str, ProcuracyActionKind]] = {
    "KN": ProcuracyActionKind.PROTEST,  # kháng nghị
    "KNGH": ProcuracyActionKind.RECOMMENDATION,  # kiến nghị
    "YC": ProcuracyActionKind.REQUEST,  # yêu cầu
}
# The envelope's Operation of each pushed kind (openapi.json, webhooks).
OPERATIONS: Final[dict[str, str]] = {"GuiKhangNghi": "KN", "GuiKienNghi": "KNGH"}


@dataclass(frozen=True)
class ActionDetails:
    """What a pushed action says beyond the canonical ``ProcuracyAction``."""

    document_id: str  # DocumentId: unique per document, the key to de-duplicate pushes on
    responds_to: tuple[DocumentRef, ...] = ()  # ResponseFor: the decisions protested or commented on
    attachments: tuple[Attachment, ...] = ()  # decoded, in the manifest's order
    fields: dict[str, str] = field(default_factory=dict)  # every other element, verbatim, by path


def action_from(edxml: etree._Element) -> tuple[ProcuracyAction, str]:
    """The verified edXML of a pushed protest / recommendation -> (the canonical action, its case reference)."""
    header = message_header(edxml)
    type_code = required_text(required_child(header, "DocumentType"), "Type")
    kind = ACTION_KINDS.get(type_code)
    if kind is None:
        raise invalid(f"DocumentType {type_code} is not a protest, recommendation or request", "action_type")
    sender, code = required_child(header, "From"), required_child(header, "Code")
    organ_id = required_text(sender, "OrganId")
    number, notation = required_text(code, "CodeNumber"), required_text(code, "CodeNotation")
    issued = parse_date(required_text(required_child(header, "PromulgationInfo"), "PromulgationDate"),
                        "PromulgationDate")
    written_id = required_text(header, "DocumentId")
    if written_id != document_id(organ_id, issued, number, notation):
        raise invalid(f"DocumentId {written_id!r} is not the issuing organ's, date's and number's", "document_id")
    case_ref = required_text(required_child(header, "HoSoThiHanhAn"), "MaHoSo")
    try:
        action = ProcuracyAction(kind=kind, organ_id=organ_id, organ_name=required_text(sender, "OrganName"),
                                 document_number=f"{number}/{notation}", issued_on=issued,
                                 subject=required_text(header, "Subject"))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise invalid(f"the document does not fit the canonical action: {'.'.join(map(str, first['loc']))}: "
                      f"{first['msg']}", "canonical_action") from None
    return action, case_ref


def action_details(edxml: etree._Element) -> ActionDetails:
    """The rest of a pushed action's document (see :class:`ActionDetails`)."""
    header = message_header(edxml)
    # From's id and name are on the action itself
    fields = {k: v for k, v in organ_fields(required_child(header, "From"), "From").items()
              if k not in ("From/OrganId", "From/OrganName")}
    for index, organ in enumerate(header.iterfind(q("To")), start=1):
        fields.update(organ_fields(organ, f"To[{index}]"))
    plain = (("PromulgationInfo", "Place"), ("DocumentType", "TypeName"), ("SignerInfo", "Competence"),
             ("SignerInfo", "Position"), ("SignerInfo", "FullName"), ("OtherInfo", "Priority"),
             ("OtherInfo", "SphereOfPromulgation"), ("OtherInfo", "PromulgationAmount"), ("OtherInfo", "PageAmount"),
             ("HoSoThiHanhAn", "SoBanAn"), ("HoSoThiHanhAn", "SoQuyetDinhThiHanhAn"),
             ("HoSoThiHanhAn", "CoQuanThiHanhAn"))
    for parent, local in plain:
        value = text_of(header.find(q(parent)), local)
        if value is not None:
            fields[f"{parent}/{local}"] = value
    for local in ("Content", "DueDate"):
        child = header.find(q(local))
        if child is not None and child.text:
            fields[local] = child.text if local == "Content" else child.text.strip()
    for index, place in enumerate(header.iterfind(f"{q('ToPlaces')}/{q('Place')}"), start=1):
        fields[f"ToPlaces/Place[{index}]"] = " ".join((place.text or "").split())
    return ActionDetails(document_id=required_text(header, "DocumentId"),
                         responds_to=tuple(response_for_from(r) for r in header.iterfind(q("ResponseFor"))),
                         attachments=tuple(a for _, a in attachments_from(edxml)), fields=fields)


# --- where each element lands (checked against the XSD by the tests) -------------------------------
_H = "edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
_MANIFEST = "edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Reference"
_ORGAN_PARTS: Final = ("OrganizationInCharge", "OrganAdd", "Email", "Telephone", "Fax", "Website")
ACTION_ELEMENTS: Final[dict[str, str]] = {
    f"{_H}/From/OrganId": "canonical:ProcuracyAction.organ_id",
    f"{_H}/From/OrganName": "canonical:ProcuracyAction.organ_name",
    **{f"{_H}/From/{k}": f"details:ActionDetails.fields[From/{k}]" for k in _ORGAN_PARTS},
    **{f"{_H}/To/{k}": f"details:ActionDetails.fields[To[n]/{k}]" for k in ("OrganId", "OrganName", *_ORGAN_PARTS)},
    f"{_H}/Code/CodeNumber": "canonical:ProcuracyAction.document_number (number/notation)",
    f"{_H}/Code/CodeNotation": "canonical:ProcuracyAction.document_number (number/notation)",
    f"{_H}/PromulgationInfo/Place": "details:ActionDetails.fields[PromulgationInfo/Place]",
    f"{_H}/PromulgationInfo/PromulgationDate": "canonical:ProcuracyAction.issued_on",
    f"{_H}/DocumentType/Type": "canonical:ProcuracyAction.kind",
    f"{_H}/DocumentType/TypeName": "details:ActionDetails.fields[DocumentType/TypeName]",
    f"{_H}/Subject": "canonical:ProcuracyAction.subject",
    f"{_H}/Content": "details:ActionDetails.fields[Content]",
    f"{_H}/SignerInfo/Competence": "details:ActionDetails.fields[SignerInfo/Competence]",
    f"{_H}/SignerInfo/Position": "details:ActionDetails.fields[SignerInfo/Position]",
    f"{_H}/SignerInfo/FullName": "details:ActionDetails.fields[SignerInfo/FullName]",
    f"{_H}/DueDate": "details:ActionDetails.fields[DueDate]",
    f"{_H}/ToPlaces/Place": "details:ActionDetails.fields[ToPlaces/Place[n]]",
    **{f"{_H}/OtherInfo/{k}": f"details:ActionDetails.fields[OtherInfo/{k}]"
       for k in ("Priority", "SphereOfPromulgation", "PromulgationAmount", "PageAmount")},
    f"{_H}/ResponseFor/OrganId": "details:ActionDetails.responds_to[].organ_id",
    f"{_H}/ResponseFor/Code": "details:ActionDetails.responds_to[].code",
    f"{_H}/ResponseFor/PromulgationDate": "details:ActionDetails.responds_to[].issued_on",
    f"{_H}/ResponseFor/DocumentId": "details:ActionDetails.responds_to[].document_id",
    f"{_H}/DocumentId": "details:ActionDetails.document_id (checked: organ, date, number/notation)",
    f"{_H}/HoSoThiHanhAn/MaHoSo": "case:the case_ref returned beside the action (-> ProcuracyAction.case_id)",
    **{f"{_H}/HoSoThiHanhAn/{k}": f"details:ActionDetails.fields[HoSoThiHanhAn/{k}]"
       for k in ("SoBanAn", "SoQuyetDinhThiHanhAn", "CoQuanThiHanhAn")},
    f"{_MANIFEST}/Description": "details:ActionDetails.attachments[].description",
    f"{_MANIFEST}/AttachmentName": "details:ActionDetails.attachments[].name",
    f"{_MANIFEST}/ContentType": "details:ActionDetails.attachments[].mime",
    f"{_MANIFEST}/ContentId": "check:names one Attachment (pairs the manifest with its payload)",
    "edXML/AttachmentEncoded/Attachment/ContentType": "check:equals the manifest's ContentType",
    "edXML/AttachmentEncoded/Attachment/ContentId": "check:named by one manifest Reference",
    "edXML/AttachmentEncoded/Attachment/Description": "details:ActionDetails.attachments[].description "
                                                      "(when the manifest has none)",
    "edXML/AttachmentEncoded/Attachment/ContentTransferEncoded": "details:ActionDetails.attachments[].data",
    "edXML/AttachmentEncoded/Attachment/AttachmentName": "check:equals the manifest's AttachmentName",
}

__all__ = ["ACTION_ELEMENTS", "ACTION_KINDS", "OPERATIONS", "ActionDetails", "action_details", "action_from"]
