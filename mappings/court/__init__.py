"""The courts (Tòa án nhân dân) mapping: their SOAP contract's elements <-> the canonical model.

Pure functions only (lxml in, canonical pydantic out, and back for requests); the connector in
``connectors.court`` does the calling, and the hub's inbound SubmitJudgment endpoint reuses
:func:`judgment_from` for the judgments courts push. ``ELEMENTS`` declares, for every element of
``contracts/court-judgments.xsd`` (as a path from its global element), where it lands:

- ``canonical:<Model.field>``: a field of the canonical model (hub.model);
- ``extensions:<Model>.extensions[<key>]``: kept verbatim in that model's extensions;
- ``ref:EffectiveJudgmentRef.<field>``: a line of the reconciliation list;
- ``request:<source>``: a request element, built from that argument;
- ``check:<what>``: an echo, a count or a restatement, verified (a mismatch is an invalid answer);
- ``receipt:<source>``: the hub's own SubmitJudgment receipt, built from that value.

A test derives the element list from the XSD and fails when one is missing here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from mappings.court.judgment import (
    BAN_AN_ELEMENTS,
    CASE_TYPES,
    COURT_LEVELS,
    DOCUMENT_KINDS,
    INSTANCES,
    NS,
    ORDER_KINDS,
    ROLES,
    address_from_text,
    canonical_hash,
    former_district,
    judgment_from,
    party_from,
)
from mappings.court.lookups import (
    DEFAULT_PAGE_SIZE,
    GET_JUDGMENT,
    LIST_EFFECTIVE,
    LOOKUP_ELEMENTS,
    MAX_PAGE_SIZE,
    EffectiveJudgmentPage,
    EffectiveJudgmentRef,
    effective_page_from,
    effective_request,
    judgment_answer_from,
    judgment_request,
    wire_court_code,
    wire_number,
)
from mappings.court.receipt import ACCEPTED, DUPLICATE, RECEIPT_ELEMENTS, submit_receipt

CONTRACTS: Final = Path(__file__).resolve().with_name("contracts")
WSDL: Final = CONTRACTS / "court-judgments.wsdl"
XSD: Final = CONTRACTS / "court-judgments.xsd"
BINDING: Final = f"{{{NS}}}BanAnToaAnSoap12Binding"
SERVICE: Final = "judgments"

ELEMENTS: Final[dict[str, str]] = {
    **{f"BanAn/{k}": v for k, v in BAN_AN_ELEMENTS.items()},
    **LOOKUP_ELEMENTS,
    **RECEIPT_ELEMENTS,
}

__all__ = [
    "ACCEPTED", "BAN_AN_ELEMENTS", "BINDING", "CASE_TYPES", "CONTRACTS", "COURT_LEVELS", "DEFAULT_PAGE_SIZE",
    "DOCUMENT_KINDS", "DUPLICATE", "ELEMENTS", "GET_JUDGMENT", "INSTANCES", "LIST_EFFECTIVE", "MAX_PAGE_SIZE", "NS",
    "ORDER_KINDS", "ROLES", "SERVICE", "WSDL", "XSD", "EffectiveJudgmentPage", "EffectiveJudgmentRef",
    "address_from_text", "canonical_hash", "effective_page_from", "effective_request", "former_district",
    "judgment_answer_from", "judgment_from", "judgment_request", "party_from", "submit_receipt", "wire_court_code",
    "wire_number",
]
