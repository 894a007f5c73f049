"""Personal identification numbers: the 12-digit căn cước (formerly CCCD) and the old 9-digit CMND.

Layout of the 12 digits: ``PPP G YY RRRRRR``: PPP the province (or country) where the birth was
registered, G century and gender, YY the last two digits of the birth year, RRRRRR a serial. There is
no check digit, so a well-formed number can still be someone else's: validation here is necessary,
never sufficient.

A full ID must never reach a log or an error message: use ``mask_person_id``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from hub.errors import InvalidValue
from hub.model.provinces import abroad_cccd_codes, former_province

_PERSON_ID = re.compile("[0-9]{12}")  # not \d: it also matches Arabic-Indic and other digits
_LEGACY_ID = re.compile("[0-9]{9}")
# Garbage can be long: the mask of something that is not an ID shows at most this many stars.
_MAX_MASK = 16


class Gender(StrEnum):
    MALE = "male"  # nam
    FEMALE = "female"  # nữ


@dataclass(frozen=True, slots=True)
class PersonIdInfo:
    """What a căn cước number says about its holder. ``repr`` leaves the number out."""

    value: str = field(repr=False)
    province_code: str
    province_name: str
    gender: Gender
    birth_year: int
    registered_abroad: bool = False

    @property
    def masked(self) -> str:
        return mask_person_id(self.value)


def mask_person_id(value: str) -> str:
    """079******123 for a căn cước, 07*****23 for a CMND, only stars for anything else."""
    text = value.strip()
    if _PERSON_ID.fullmatch(text):
        return text[:3] + "*" * 6 + text[-3:]
    if _LEGACY_ID.fullmatch(text):
        return text[:2] + "*" * 5 + text[-2:]
    return "*" * min(len(text), _MAX_MASK)


def _refuse(value: str, rule: str, why: str) -> InvalidValue:
    return InvalidValue(f"citizen ID {mask_person_id(value)} breaks rule {rule}: {why}",
                        code="ID_INVALID", rule=rule)


def decode_person_id(value: str, *, today: date | None = None) -> PersonIdInfo:
    """Validate a 12-digit căn cước / CCCD number and decode its province, gender and birth year."""
    if not _PERSON_ID.fullmatch(value):
        raise _refuse(value, "length_digits", "a citizen ID is exactly 12 ASCII digits")
    code, century_digit, year_in_century = value[:3], int(value[3]), int(value[4:6])
    abroad = abroad_cccd_codes().get(code)
    if abroad is not None:
        place = abroad
    else:
        try:
            place = former_province(code).name
        except InvalidValue:
            raise _refuse(value, "province_code",
                          f"{code} is not a birth-registration code of the 63 former provinces") from None
    if century_digit > 5:
        raise _refuse(value, "century_digit", "the 4th digit (century and gender) must be 0 to 5")
    birth_year = 1900 + 100 * (century_digit // 2) + year_in_century
    current_year = (today or date.today()).year
    if birth_year > current_year:
        raise _refuse(value, "birth_year_future", f"it encodes a birth year after {current_year}")
    return PersonIdInfo(value=value, province_code=code, province_name=place,
                        gender=Gender.MALE if century_digit % 2 == 0 else Gender.FEMALE,
                        birth_year=birth_year, registered_abroad=abroad is not None)


def check_person_id_consistency(value: str, *, birth_date: date | None, gender: Gender | None) -> None:
    """Refuse an ID whose encoded birth year or gender contradicts what the record says."""
    info = decode_person_id(value)
    if birth_date is not None and birth_date.year != info.birth_year:
        raise _refuse(value, "birth_year_mismatch",
                      f"the birth date's year {birth_date.year} differs from the year the ID encodes")
    if gender is not None and Gender(gender) != info.gender:
        raise _refuse(value, "gender_mismatch", f"the ID encodes a different gender than {gender}")


def _validate_person_id(value: str) -> str:
    text = value.strip()
    decode_person_id(text)
    return text


def _validate_legacy_id(value: str) -> str:
    text = value.strip()
    if not _LEGACY_ID.fullmatch(text):
        raise _refuse(text, "legacy_length_digits", "an old CMND number is exactly 9 ASCII digits")
    return text


PersonIdStr = Annotated[
    str,
    AfterValidator(_validate_person_id),
    WithJsonSchema({
        "type": "string", "pattern": "^[0-9]{12}$",
        "description": "Số định danh cá nhân / căn cước (12 digits): PPP province of birth "
                       "registration, G century and gender, YY birth year, 6-digit serial.",
    }),
]

LegacyIdStr = Annotated[
    str,
    AfterValidator(_validate_legacy_id),
    WithJsonSchema({
        "type": "string", "pattern": "^[0-9]{9}$",
        "description": "Số chứng minh nhân dân / CMND (9 digits): the old ID, invalid since "
                       "31/12/2024 but still found in old records.",
    }),
]
