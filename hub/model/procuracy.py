"""What the procuracy (Viện kiểm sát) sends back: protests and recommendations."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID, uuid4

from pydantic import Field

from hub.model.base import CanonicalModel, LongText, ShortText, UtcDatetime


class ProcuracyActionKind(StrEnum):
    PROTEST = "protest"  # kháng nghị
    RECOMMENDATION = "recommendation"  # kiến nghị
    REQUEST = "request"  # yêu cầu


class ProcuracyAction(CanonicalModel):
    id: UUID = Field(default_factory=uuid4)
    kind: ProcuracyActionKind
    organ_id: ShortText = Field(description="edXML OrganId of the procuracy, e.g. H37.DN.001.")
    organ_name: ShortText
    document_number: ShortText = Field(description="Số, ký hiệu văn bản.")
    issued_on: date
    case_id: UUID | None = None
    subject: LongText = Field(description="Trích yếu: what the action is about.")
    received_at: UtcDatetime | None = None
