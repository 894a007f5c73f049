"""The procuracy's side of inbound intake (``ProcuracyIntake``): its pushed protests and recommendations
(edXML, QCVN 102:2016) read into canonical terms. Pure mapping: the hub verified the envelope already."""

from __future__ import annotations

from lxml import etree

from adapters.xsd import CompiledSchema
from hub.model.intake import InboundAction
from mappings import procuracy as m
from mappings.procuracy.actions import action_details, action_from


class ProcuracyIntake:
    """Mixed into ProcuracyConnector."""

    def check_action_document(self, document: etree._Element) -> None:
        CompiledSchema.load(m.EDXML_XSD).validate(document)

    def action_from_document(self, document: etree._Element) -> InboundAction:
        action, case_ref = action_from(document)
        details = action_details(document)
        fields = dict(details.fields)
        fields.update({f"ResponseFor[{n}]": f"{r.code} ({r.organ_id}, {r.document_id})"
                       for n, r in enumerate(details.responds_to, start=1)})
        fields.update({f"Attachment[{n}]": f"{a.name} ({a.mime}, {len(a.data)} bytes)"
                       for n, a in enumerate(details.attachments, start=1)})
        return InboundAction(action=action, document_id=details.document_id, case_ref=case_ref,
                             judgment_number=details.fields.get("HoSoThiHanhAn/SoBanAn"), details=fields)
