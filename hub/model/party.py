"""Parties (đương sự) and their addresses."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import Field, StringConstraints, model_validator

from hub.errors import InvalidValue
from hub.model.base import CanonicalModel, Extensions, ShortText
from hub.model.names import FullName
from hub.model.person_id import Gender, LegacyIdStr, PersonIdStr, check_person_id_consistency
from hub.model.provinces import ProvinceCode, resolve_province_name

TaxCode = Annotated[str, StringConstraints(pattern=r"^\d{10}(-\d{3})?$"), Field(
    description="Mã số thuế: 10 digits, or 10-3 for a branch.")]


class Address(CanonicalModel):
    """Địa chỉ. Since 1 July 2025 an address is province -> commune/ward (districts were abolished).

    ``original_text`` is what the agency sent, kept verbatim: old records name former provinces and
    districts, and the mapping to the new units is an interpretation that may need revisiting.
    """

    original_text: Annotated[str, StringConstraints(min_length=1, max_length=1000)] = Field(
        description="The address exactly as received (địa chỉ gốc).")
    province_code: ProvinceCode | None = Field(
        None, description="One of the 34 provincial units (tỉnh/thành phố), when it could be determined.")
    commune: ShortText | None = Field(None, description="Xã / phường / đặc khu.")
    street: ShortText | None = Field(None, description="House number, street, hamlet (số nhà, đường, thôn).")
    former_district: ShortText | None = Field(
        None, description="Huyện/quận named by an old address; kept for old records only.")
    extensions: Extensions = Field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str) -> Address:
        """An address from free text; the province is resolved from the last comma-separated part,
        where Vietnamese addresses put it, and a former province maps to its successor."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        province = resolve_province_name(parts[-1]) if parts else None
        return cls(original_text=text, province_code=province.code if province else None)


class PartyKind(StrEnum):
    INDIVIDUAL = "individual"  # cá nhân
    ORGANISATION = "organisation"  # cơ quan, tổ chức


class PartyRole(StrEnum):
    OBLIGEE = "obligee"  # người được thi hành án
    OBLIGOR = "obligor"  # người phải thi hành án
    RELATED = "related"  # người có quyền lợi, nghĩa vụ liên quan


class Party(CanonicalModel):
    """Đương sự: a person (cá nhân) or an organisation (tổ chức).

    Courts often omit the citizen ID, so ``person_id`` is optional; when it is given together with a
    birth date or gender, they must agree with what the ID encodes.
    """

    id: UUID = Field(default_factory=uuid4)
    kind: PartyKind
    full_name: FullName
    birth_date: date | None = Field(None, description="Ngày sinh.")
    gender: Gender | None = Field(None, description="Giới tính.")
    person_id: PersonIdStr | None = None
    legacy_id: LegacyIdStr | None = None
    tax_code: TaxCode | None = None
    addresses: list[Address] = Field(default_factory=list)
    extensions: Extensions = Field(default_factory=dict)

    @model_validator(mode="after")
    def _coherent(self) -> Party:
        if self.kind is PartyKind.ORGANISATION:
            if self.person_id or self.legacy_id or self.birth_date or self.gender:
                raise InvalidValue("an organisation has no citizen ID, birth date or gender",
                                   code="REQUEST_INVALID", rule="organisation_personal_fields")
        else:
            if self.tax_code and len(self.tax_code) != 10:
                raise InvalidValue("a branch tax code belongs to an organisation",
                                   code="REQUEST_INVALID", rule="individual_branch_tax_code")
            if self.birth_date and self.birth_date > date.today():
                raise InvalidValue("birth date is in the future", code="DATE_INVALID",
                                   rule="birth_date_future")
            if self.person_id:
                check_person_id_consistency(self.person_id, birth_date=self.birth_date,
                                            gender=self.gender)
        return self
