"""The header fields of the signed message envelope (Conventions: urn:thads:envelope:1)."""

from __future__ import annotations

from pydantic import Field, model_validator

from hub.errors import InvalidValue
from hub.model.base import AgencyId, CanonicalModel, Sha256Hex, ShortText, UtcDatetime


class EnvelopeHeader(CanonicalModel):
    message_id: ShortText = Field(description="Unique per message; the replay-protection key.")
    correlation_id: ShortText | None = Field(None, description="On an answer: the request's MessageId.")
    from_agency: AgencyId
    to_agency: AgencyId
    service: ShortText
    operation: ShortText
    created: UtcDatetime
    expires: UtcDatetime
    case_ref: ShortText | None = None
    officer: ShortText | None = None
    purpose: ShortText | None = None
    request_hash: Sha256Hex | None = Field(
        None, description="On an answer: SHA-256 of the request's canonical form.")

    @model_validator(mode="after")
    def _window(self) -> EnvelopeHeader:
        if self.expires <= self.created:
            raise InvalidValue("Expires must be after Created", code="REQUEST_INVALID", rule="envelope_window")
        return self
