"""The base of every canonical model and the small shared field types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from adapters.agency_id import AGENCY_ID_PATTERN


class CanonicalModel(BaseModel):
    """Unknown fields are refused rather than dropped: a caller's typo must not vanish silently."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False, validate_assignment=True)


AgencyId = Annotated[str, StringConstraints(pattern=AGENCY_ID_PATTERN), Field(
    description="Agency id of the Conventions: hub, court, procuracy, population, land, postal, "
                "or bank-<BIN> (one per bank).")]

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$"), Field(
    description="Lower-case hex SHA-256 digest.")]

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc), Field(
    description="A moment in time with its offset (naive times are refused); held in UTC.")]


Extensions = Annotated[dict[str, str], Field(
    description="Agency fields the canonical model has no place for, kept verbatim and keyed by the agency's "
                "element or field name, so that nothing an agency sent is silently dropped.")]
