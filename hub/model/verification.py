"""Verification (xác minh điều kiện thi hành án): the request, and the report built from each source.

A partial report is a report, clearly marked: an agency that failed or timed out is one SourceResult
with that status, never an exception that loses what the other agencies said.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID, uuid4

from pydantic import Field, computed_field, model_validator

from hub.errors import InvalidValue
from hub.model.assets import BankAccount, LandParcel
from hub.model.base import AgencyId, CanonicalModel, Sha256Hex, ShortText, UtcDatetime
from hub.model.names import FullName
from hub.model.party import Address, Party
from hub.model.person_id import PersonIdStr
from hub.model.provinces import ProvinceCode


class VerificationScope(StrEnum):
    IDENTITY = "identity"
    RESIDENCE = "residence"
    BANK_ACCOUNTS = "bank_accounts"
    LAND = "land"


class SubjectHints(CanonicalModel):
    """What a judgment says of a person when it omits the citizen ID; used to resolve identity."""

    full_name: FullName
    birth_date: date | None = None
    birth_year: int | None = Field(None, ge=1900, le=2100, description="When only 'sinh năm ...' is known.")
    province_code: ProvinceCode | None = None


class VerificationRequest(CanonicalModel):
    """Every look-up of a person is bound to a case, an officer and a legal purpose (PDPL 91/2025)."""

    person_id: PersonIdStr | None = Field(None, description="The subject's citizen ID (body only, "
                                          "never in a URL).")
    hints: SubjectHints | None = None
    scopes: list[VerificationScope] = Field(min_length=1)
    case_ref: str | None = Field(None, description="The enforcement case (hồ sơ thi hành án).")
    officer: str | None = Field(None, description="The enforcement officer (chấp hành viên) asking.")
    purpose: str | None = Field(None, description="Purpose and legal basis of the look-up.")
    deadline_ms: int = Field(5000, ge=100, le=120_000)

    @model_validator(mode="after")
    def _accountable(self) -> VerificationRequest:
        missing = [n for n in ("case_ref", "officer", "purpose") if not (getattr(self, n) or "").strip()]
        if missing:
            raise InvalidValue(f"a look-up must name {', '.join(missing)}", code="PURPOSE_MISSING",
                               rule="accountable_lookup", missing=missing)
        if self.person_id is None and self.hints is None:
            raise InvalidValue("give the citizen ID or the name to resolve it from", code="REQUEST_INVALID",
                               rule="subject_required")
        if len(set(self.scopes)) != len(self.scopes):
            raise InvalidValue("a scope is listed twice", code="REQUEST_INVALID", rule="scope_unique")
        return self


class SourceStatus(StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CIRCUIT_OPEN = "circuit_open"
    SKIPPED = "skipped"


class Provenance(CanonicalModel):
    """Which signed answer a fact came from, so it can be shown to a court or the citizen."""

    envelope_id: ShortText
    payload_hash: Sha256Hex
    signer: AgencyId


class SourceResult(CanonicalModel):
    agency: AgencyId
    scopes: list[VerificationScope]
    status: SourceStatus
    started_at: UtcDatetime
    duration_ms: int = Field(ge=0)
    error_code: str | None = None
    detail: str | None = None
    provenance: Provenance | None = None
    identity: Party | None = None
    residence: Address | None = None
    accounts: list[BankAccount] = Field(default_factory=list)
    parcels: list[LandParcel] = Field(default_factory=list)


class Completeness(StrEnum):
    COMPLETE = "complete"  # every source answered (found or not found)
    PARTIAL = "partial"  # some source failed, timed out or was skipped
    EMPTY = "empty"  # no source answered


class VerificationReport(CanonicalModel):
    id: UUID = Field(default_factory=uuid4)
    subject_masked: ShortText | None = Field(None, description="The subject's ID, masked (079******123).")
    scopes: list[VerificationScope]
    case_ref: ShortText
    officer: ShortText
    purpose: ShortText
    requested_at: UtcDatetime
    completed_at: UtcDatetime
    sources: list[SourceResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def completeness(self) -> Completeness:
        answered = {SourceStatus.OK, SourceStatus.NOT_FOUND}
        done = [s.status in answered for s in self.sources]
        if self.sources and all(done):
            return Completeness.COMPLETE
        return Completeness.PARTIAL if any(done) else Completeness.EMPTY
