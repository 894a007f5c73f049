"""Identifier checks for case systems: the same validators the hub applies to everything it receives."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from hub.api.auth import current_client
from hub.api.problems import problem_responses
from hub.clients import ApiClient
from hub.model.judgment_number import JudgmentNumber
from hub.model.person_id import Gender, check_person_id_consistency, decode_person_id, mask_person_id
from hub.model.provinces import successor_of

router = APIRouter(prefix="/v1/identifiers", tags=["identifiers"])


class PersonIdCheck(BaseModel):
    person_id: str = Field(description="12-digit citizen ID (số định danh cá nhân).")
    birth_date: date | None = None
    gender: Gender | None = None


class PersonIdFacts(BaseModel):
    masked: str
    birth_registration_province_code: str
    birth_registration_province: str
    current_province_code: str = Field(description="The provincial unit (of 34) that province merged into.")
    current_province: str
    gender: Gender
    birth_year: int


@router.post("/person-id:check", summary="Validate a citizen ID and decode what it encodes",
             responses=problem_responses("ID_INVALID", "REQUEST_INVALID", "AUTH_REQUIRED"))
def check_person_id(body: PersonIdCheck, _: ApiClient = Depends(current_client)) -> PersonIdFacts:
    info = decode_person_id(body.person_id.strip())
    check_person_id_consistency(info.value, birth_date=body.birth_date, gender=body.gender)
    now = successor_of(info.province_code)
    return PersonIdFacts(masked=mask_person_id(info.value), birth_registration_province_code=info.province_code,
                         birth_registration_province=info.province_name, current_province_code=now.code,
                         current_province=now.name, gender=info.gender, birth_year=info.birth_year)


class JudgmentNumberText(BaseModel):
    text: str = Field(examples=["12/2024/DS-ST"])


@router.post("/judgment-number:parse", summary="Parse a judgment or decision number",
             responses=problem_responses("JUDGMENT_NUMBER_INVALID", "AUTH_REQUIRED"))
def parse_judgment_number(body: JudgmentNumberText, _: ApiClient = Depends(current_client)) -> JudgmentNumber:
    return JudgmentNumber.parse(body.text)
