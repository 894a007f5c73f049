"""The court's side of inbound intake: the capability ``JudgmentIntake``
(``JudgmentSource``, for reconciliation, is on the connector itself: it calls the court).

The hub's SubmitJudgment endpoint (hub/inbound) verifies the court's envelope; what the signed
``ba:BanAn`` means, and what the court's receipt looks like, is the court contract's business and
lives here, on the court connector, so the core never imports ``mappings.court``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lxml import etree

from adapters.xsd import CompiledSchema
from hub.model.judgment import Judgment
from mappings import court as m


class CourtIntake:
    """Mixed into CourtConnector: pure mapping, no call to the court."""

    def check_judgment_document(self, document: etree._Element) -> None:
        CompiledSchema.load(m.XSD).validate(document)

    def judgment_from_document(self, document: etree._Element) -> Judgment:
        return m.judgment_from(document)

    def judgment_receipt(self, judgment: Judgment, intake_ref: str, *, duplicate: bool,
                         received_at: dt.datetime) -> etree._Element:
        return m.submit_receipt(judgment, intake_ref, duplicate=duplicate, received_at=received_at)

    def intake_contract(self) -> Path:
        return m.CONTRACTS / "court-submit.wsdl"
