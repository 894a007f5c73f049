"""Numbers of court judgments (bản án) and decisions (quyết định).

Forms, after Unicode NFC and with D + combining stroke read as Đ:

- judgment ``{seq}/{yyyy}/{TYPE}-{INSTANCE}``, e.g. ``01/2022/LĐ-ST``;
- legacy judgment without hyphen ``{seq}/{yyyy}/{TYPE}{INSTANCE}``, e.g. ``21/2014/HSST``;
- decision ``{seq}/{yyyy}/QĐ{INSTANCE}-{TYPE}``, e.g. ``1750/2017/QĐPT-LĐ``.

``kind`` follows the notation: a cassation decision written ``08/2020/KDTM-GĐT`` is read as the
judgment form because nothing in the number says otherwise.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from hub.errors import InvalidValue

MIN_YEAR, MAX_YEAR = 1945, 2100
_MAX_LENGTH = 64  # the store keeps the text in a 64-character column
_DECISION = "QĐ"


class CaseType(StrEnum):
    """Loại vụ việc."""

    DS = "DS"  # dân sự: civil
    HS = "HS"  # hình sự: criminal
    HNGD = "HNGĐ"  # hôn nhân và gia đình: marriage and family
    KDTM = "KDTM"  # kinh doanh, thương mại: business and commerce
    LD = "LĐ"  # lao động: labour
    HC = "HC"  # hành chính: administrative


class Instance(StrEnum):
    """Cấp xét xử / thủ tục."""

    ST = "ST"  # sơ thẩm: first instance
    PT = "PT"  # phúc thẩm: appeal
    GDT = "GĐT"  # giám đốc thẩm: cassation
    TT = "TT"  # tái thẩm: reopening


_E = TypeVar("_E", bound=StrEnum)
# Unicode gives Đ no decomposition, so NFC cannot rebuild it from D + a combining stroke overlay:
# that "decomposed Đ" is mapped explicitly. A bare D stays a D and is refused.
_STROKED_D = re.compile("D[\u0335\u0336]")
_SHAPE = re.compile(r"(?P<seq>[0-9]+)/(?P<year>[0-9]+)/(?P<notation>[^\s/]+)")


_TYPES = "|".join(CaseType)
_INSTANCES = "|".join(Instance)
_TEXT_SCHEMA = {
    "type": "string",
    "pattern": f"^[0-9]+/[0-9]{{4}}/(?:(?:{_TYPES})-?(?:{_INSTANCES})|{_DECISION}(?:{_INSTANCES})-(?:{_TYPES}))$",
    "description": "Số bản án / quyết định as written, e.g. 01/2022/LĐ-ST, 21/2014/HSST, 1750/2017/QĐPT-LĐ",
}


def _refuse(text: str, rule: str, why: str) -> InvalidValue:
    return InvalidValue(f"judgment number {text!r} breaks rule {rule}: {why}",
                        code="JUDGMENT_NUMBER_INVALID", rule=rule)


def _check_year(year: int, text: str) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _refuse(text, "year", f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return year


def _check_seq(seq: int, text: str) -> int:
    if seq < 1:
        raise _refuse(text, "seq", "the sequence number starts at 1")
    return seq


def _enum_member(enum: type[_E], value: str, text: str, rule: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise _refuse(text, rule, f"{value!r} is not one of {allowed}") from None


def _components(raw: object) -> dict[str, Any]:
    """Split a written number into model fields, or refuse it with the rule it breaks."""
    if not isinstance(raw, str):
        raise _refuse(repr(raw)[:_MAX_LENGTH], "pattern", "a judgment number is text")
    text = _STROKED_D.sub("Đ", unicodedata.normalize("NFC", raw)).strip()
    shape = _SHAPE.fullmatch(text) if len(text) <= _MAX_LENGTH else None
    if shape is None:
        raise _refuse(text[:_MAX_LENGTH], "pattern", "expected seq/yyyy/TYPE-INSTANCE")
    seq_text, year_text, notation = shape.group("seq", "year", "notation")
    if len(year_text) != 4:
        raise _refuse(text, "year", "the year has four digits")
    _check_year(int(year_text), text)
    _check_seq(int(seq_text), text)
    legacy = False
    if notation.startswith(_DECISION):
        kind = "decision"
        instance_text, hyphen, type_text = notation[len(_DECISION):].partition("-")
        if not hyphen:
            raise _refuse(text, "pattern", "a decision number reads QĐ{INSTANCE}-{TYPE}")
    else:
        kind = "judgment"
        type_text, hyphen, instance_text = notation.partition("-")
        if not hyphen:
            legacy = True
            suffix = next((i.value for i in Instance if notation.endswith(i.value)), None)
            if suffix is None:
                raise _refuse(text, "instance", "the legacy form ends with ST, PT, GĐT or TT")
            type_text, instance_text = notation[:-len(suffix)], suffix
    return {
        "seq": int(seq_text), "year": int(year_text),
        "case_type": _enum_member(CaseType, type_text, text, "case_type"),
        "instance": _enum_member(Instance, instance_text, text, "instance"),
        "kind": kind, "legacy": legacy,
        "seq_width": len(seq_text) if seq_text.startswith("0") else 0,
    }


class JudgmentNumber(BaseModel):
    """Số bản án / số quyết định: a parsed judgment or decision number.

    Wherever it is a field, a plain string is accepted and parsed. ``seq_width`` is the zero-padded
    width of the sequence as written (``01`` -> 2), 0 when written without leading zeros; it only
    exists so that ``format`` gives back the text the court wrote.
    """

    model_config = ConfigDict(frozen=True)

    seq: int = Field(json_schema_extra={"minimum": 1}, description="Số thứ tự (sequence in the year)")
    year: int = Field(json_schema_extra={"minimum": MIN_YEAR, "maximum": MAX_YEAR}, description="Năm")
    case_type: CaseType
    instance: Instance
    kind: Literal["judgment", "decision"] = Field(
        "judgment", description="judgment: bản án; decision: quyết định (QĐ notation)")
    legacy: bool = Field(False, description="The old form without hyphen, e.g. 21/2014/HSST")
    seq_width: int = Field(0, ge=0, description="Zero-padded width of the sequence as written")

    @classmethod
    def parse(cls, text: str) -> JudgmentNumber:
        return cls(**_components(text))

    @model_validator(mode="before")
    @classmethod
    def _parse_text(cls, data: Any) -> Any:
        return _components(data) if isinstance(data, str) else data

    @field_validator("seq")
    @classmethod
    def _valid_seq(cls, seq: int) -> int:
        return _check_seq(seq, str(seq))

    @field_validator("year")
    @classmethod
    def _valid_year(cls, year: int) -> int:
        return _check_year(year, str(year))

    @field_validator("seq_width")
    @classmethod
    def _canonical_width(cls, width: int, info: ValidationInfo) -> int:
        # A width the number fills anyway changes nothing in the text: keep one representation.
        seq = info.data.get("seq")
        return 0 if seq is not None and width <= len(str(seq)) else width

    @model_validator(mode="after")
    def _no_legacy_decision(self) -> JudgmentNumber:
        if self.legacy and self.kind == "decision":
            raise _refuse(self.format(), "pattern", "only judgments have a legacy form")
        return self

    def format(self) -> str:
        seq = str(self.seq).zfill(self.seq_width)
        if self.kind == "decision":
            notation = f"{_DECISION}{self.instance.value}-{self.case_type.value}"
        elif self.legacy:
            notation = f"{self.case_type.value}{self.instance.value}"
        else:
            notation = f"{self.case_type.value}-{self.instance.value}"
        return f"{seq}/{self.year}/{notation}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def text(self) -> str:
        """The number as written, e.g. 01/2022/LĐ-ST."""
        return self.format()

    def __str__(self) -> str:
        return self.format()

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # Callers send the number as text; the object form is what the hub answers with.
        json_schema = super().__get_pydantic_json_schema__(schema, handler)
        if handler.mode != "validation":
            return json_schema
        return {"anyOf": [_TEXT_SCHEMA, json_schema]}
