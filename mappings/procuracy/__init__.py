"""The procuracy (Viện kiểm sát nhân dân) mapping: its REST contract's signed edXML <-> the hub's values.

Pure functions only (lxml in, pydantic out, and back for requests); the connector in
``connectors.procuracy`` sends decisions, and the hub's inbound endpoint maps the protests and
recommendations the procuracy pushes with :func:`action_from`. The element tables declare, for every
element of the published XSDs (as a path from its global element), where it lands:

- ``DECISION_ELEMENTS`` (edxml-qcvn102-2016.xsd, a decision the hub sends): ``request:<source>``;
- ``ACTION_ELEMENTS`` (edxml-qcvn102-2016.xsd, an action the procuracy pushes): ``canonical:<Model.field>``
  of ``ProcuracyAction``, ``case:`` the case reference returned beside it, ``details:`` the
  ``ActionDetails`` kept beside it (``ProcuracyAction`` has no extensions), ``check:`` a consistency check;
- ``STATUS_ELEMENTS`` (edxml-status.xsd): ``receipt:ProcuracyReceipt.<field>``, ``check:``, ``error:``
  (a refusal, carried by ``AgencyRejected``);
- ``PROBLEM_ELEMENTS`` (problem-rfc7807.xsd): ``error:`` / ``check:``.

Tests derive the element lists from the XSDs and fail when one is missing here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from mappings.procuracy.actions import (
    ACTION_ELEMENTS,
    ACTION_KINDS,
    OPERATIONS,
    ActionDetails,
    action_details,
    action_from,
)
from mappings.procuracy.decisions import (
    ANSWER_OPERATION,
    DECISION_ELEMENTS,
    MAX_REQUEST_BYTES,
    OPERATION,
    PATH,
    PROBLEM_ELEMENTS,
    RECEIVED,
    REFUSAL_CODES,
    REFUSED,
    STATUS_ELEMENTS,
    TYPE_NAMES,
    DecisionType,
    ProcuracyDecision,
    ProcuracyReceipt,
    decision_edxml,
    idempotency_key,
    problem_error,
    receipt_from,
)
from mappings.procuracy.edxml import (
    EDXML_NS,
    PROBLEM_NS,
    Attachment,
    DocumentRef,
    Organ,
    content_id,
    document_id,
)

CONTRACTS: Final = Path(__file__).resolve().with_name("contracts")
OPENAPI: Final = CONTRACTS / "openapi.json"
EDXML_XSD: Final = CONTRACTS / "edxml-qcvn102-2016.xsd"
STATUS_XSD: Final = CONTRACTS / "edxml-status.xsd"
PROBLEM_XSD: Final = CONTRACTS / "problem-rfc7807.xsd"
SERVICE: Final = "procuracy"

__all__ = [
    "ACTION_ELEMENTS", "ACTION_KINDS", "ANSWER_OPERATION", "CONTRACTS", "DECISION_ELEMENTS", "EDXML_NS", "EDXML_XSD",
    "MAX_REQUEST_BYTES", "OPENAPI", "OPERATION", "OPERATIONS", "PATH", "PROBLEM_ELEMENTS", "PROBLEM_NS",
    "PROBLEM_XSD", "RECEIVED", "REFUSAL_CODES", "REFUSED", "SERVICE", "STATUS_ELEMENTS", "STATUS_XSD", "TYPE_NAMES",
    "ActionDetails", "Attachment", "DecisionType", "DocumentRef", "Organ", "ProcuracyDecision", "ProcuracyReceipt",
    "action_details", "action_from", "content_id", "decision_edxml", "document_id", "idempotency_key",
    "problem_error", "receipt_from",
]
