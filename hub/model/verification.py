"""Verification (xác minh điều kiện thi hành án): the request, and the report built from each source.

A partial report is a report, clearly marked: an agency that failed or timed out is one SourceResult
with that status, never an exception that loses what the other agencies said. A request without a
citizen ID carries what the judgment says of the person (``SubjectHints``); the report then says how
the person was found (``IdentityResolution``), and lists where the agencies disagree about them
(``SourceMismatch``).
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
    address: str | None = Field(None, min_length=1, max_length=1000, description=(
        "The address as the judgment writes it (nơi cư trú), verbatim. Its last comma-separated part names "
        "the province, possibly one of the 63 former provinces, which is mapped to the unit it merged into."))


class VerificationRequest(CanonicalModel):
    """Every look-up of a person is bound to a case, an officer and a legal purpose (PDPL 91/2025)."""

    person_id: PersonIdStr | None = Field(None, description="The subject's citizen ID (body only, "
                                          "never in a URL).")
    hints: SubjectHints | None = Field(None, description=(
        "Without person_id: what the judgment says of the person (name, birth date or year, address). The hub "
        "searches the population database, scores the candidates and goes on only with a confidently resolved "
        "person; the report's identity_resolution says how. Ignored when person_id is given."))
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
        if self.person_id is None and self.hints is not None:
            _check_searchable(self.hints)
        if len(set(self.scopes)) != len(self.scopes):
            raise InvalidValue("a scope is listed twice", code="REQUEST_INVALID", rule="scope_unique")
        return self


def _check_searchable(hints: SubjectHints) -> None:
    # A name alone never identifies anyone with confidence, and the population database refuses to search
    # by name alone: say so before any agency is asked.
    if hints.birth_date is None and hints.birth_year is None:
        raise InvalidValue("resolving a person by name needs the birth date or at least the birth year",
                           code="REQUEST_INVALID", rule="birth_date_required")
    if hints.birth_date is not None and hints.birth_year is not None and hints.birth_date.year != hints.birth_year:
        raise InvalidValue("the birth year contradicts the birth date", code="REQUEST_INVALID",
                           rule="birth_year_mismatch")


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
    matches: int | None = Field(None, ge=0, description="How many people a search by name returned "
                                "(identity resolution); the people are in the report's identity_resolution.")


class Completeness(StrEnum):
    COMPLETE = "complete"  # every source answered (found or not found)
    PARTIAL = "partial"  # some source failed, timed out or was skipped
    EMPTY = "empty"  # no source answered


class IdentityDecision(StrEnum):
    RESOLVED = "resolved"  # one candidate, confidently: the verification went on with that person
    AMBIGUOUS = "ambiguous"  # several plausible candidates the hints cannot tell apart
    WEAK = "weak"  # the best candidate is plausible but below the confidence threshold
    NO_MATCH = "no_match"  # nobody plausible was found
    NO_ANSWER = "no_answer"  # no identity source answered the search: nothing is known either way


class MatchReason(StrEnum):
    """Why a candidate scored what it did: one reason each for the name, the birth date and the province."""

    NAME_EXACT = "name_exact"  # same letters, marks and tone placement (case and spacing aside)
    NAME_TONE_PLACEMENT = "name_same_after_tone_placement"  # Hoà / Hòa: the same name in the old or new style
    NAME_DIACRITICS_LOST = "name_same_without_diacritics"  # written without any diacritics: Hoa for Hòa
    NAME_DIACRITICS_DIFFER = "name_diacritics_differ"  # both written with marks, and they differ: Hoa vs Hòa
    NAME_DIFFERS = "name_differs"
    BIRTH_DATE_EXACT = "birth_date_exact"
    BIRTH_YEAR_MATCHES = "birth_year_matches"  # only the year was given ("sinh năm 1980"), and it matches
    BIRTH_DIFFERS = "birth_date_differs"
    BIRTH_UNKNOWN = "birth_date_unknown"
    PROVINCE_SAME = "province_same"
    PROVINCE_FORMER_SAME = "former_province_maps_to_same"  # "tỉnh Tiền Giang" and today's Đồng Tháp
    PROVINCE_DIFFERS = "province_differs"
    PROVINCE_UNKNOWN = "province_unknown"


class ScoredReason(CanonicalModel):
    reason: MatchReason
    points: int = Field(description="What this reason adds to (or takes from) the candidate's score.")
    detail: ShortText | None = None


class IdentityCandidate(CanonicalModel):
    """A person the population database returned for the hints, scored. The ID is masked: the officer
    chooses by the reasons, the name as the agency writes it and the province."""

    person_id_masked: ShortText
    full_name: FullName = Field(description="As the population database writes it.")
    province_code: ProvinceCode | None = Field(None, description="The current unit of the permanent address.")
    source: AgencyId
    score: int
    reasons: list[ScoredReason]


class IdentityResolution(CanonicalModel):
    """How a request without a citizen ID was matched to a person. Anything but ``resolved`` means nothing
    was looked up beyond the search: the candidates are listed, best first, for the officer to decide."""

    decision: IdentityDecision
    detail: ShortText
    candidates: list[IdentityCandidate] = Field(default_factory=list)


class MismatchField(StrEnum):
    FULL_NAME = "full_name"
    BIRTH_DATE = "birth_date"
    PERSON_ID = "person_id"


class SourceMismatch(CanonicalModel):
    """Two sources disagree about the subject: the population database (first) and another (second).

    ``values`` follow ``sources``, in the form they were compared in: names without diacritics in upper
    case when one side has none (banks write them so), else as written; dates ISO; citizen IDs masked.
    """

    field: MismatchField
    sources: list[AgencyId] = Field(min_length=2, max_length=2)
    values: list[ShortText] = Field(min_length=2, max_length=2)
    detail: ShortText | None = None


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
    identity_resolution: IdentityResolution | None = Field(
        None, description="Present when the request gave no citizen ID: how the person was found, or why not.")
    mismatches: list[SourceMismatch] = Field(
        default_factory=list, description="Where another source disagrees with the population database.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def completeness(self) -> Completeness:
        answered = {SourceStatus.OK, SourceStatus.NOT_FOUND}
        done = [s.status in answered for s in self.sources]
        if self.sources and all(done):
            return Completeness.COMPLETE
        return Completeness.PARTIAL if any(done) else Completeness.EMPTY
