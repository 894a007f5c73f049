"""Provincial units (tỉnh, thành phố trực thuộc trung ương): the 34 since 1 July 2025 and the 63 before.

Everything comes from ``data/provinces.toml`` (several codes there are still [open]). Old records
name the 63 former provinces; ``successor_of`` and ``resolve_province_name`` map them to the unit
they merged into under Resolution 202/2025/QH15.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from hub.errors import InvalidValue
from hub.model.names import fold_diacritics


class ProvinceKind(StrEnum):
    CITY = "city"  # thành phố trực thuộc trung ương
    PROVINCE = "province"  # tỉnh


@dataclass(frozen=True, slots=True)
class Province:
    """A provincial unit since 1 July 2025. ``former_codes`` are the CCCD codes of its former units."""

    code: str
    name: str
    kind: ProvinceKind
    former_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FormerProvince:
    """One of the 63 provinces before 1 July 2025, by its 3-digit birth-registration (CCCD) code."""

    cccd_code: str
    name: str
    successor_code: str


@dataclass(frozen=True, slots=True)
class _Table:
    current: Mapping[str, Province]
    former: Mapping[str, FormerProvince]
    abroad: Mapping[str, str]
    by_name: Mapping[str, Province]


# Administrative prefixes written before a name ("Tỉnh Tiền Giang", "TP. Hồ Chí Minh"), as name keys.
_PREFIXES = ("thanh pho ", "tinh ", "tp ")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def _name_key(text: str) -> str:
    key = _NOT_ALNUM.sub(" ", fold_diacritics(text).casefold()).strip()
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


@cache
def _table() -> _Table:
    raw = tomllib.loads(resources.files("hub.model").joinpath("data/provinces.toml").read_text("utf-8"))
    former = {f["cccd_code"]: FormerProvince(f["cccd_code"], f["name"], f["successor"])
              for f in raw["former"]}
    current = {
        p["code"]: Province(p["code"], p["name"], ProvinceKind(p["kind"]),
                            tuple(sorted(c for c, f in former.items() if f.successor_code == p["code"])))
        for p in raw["current"]
    }
    abroad = {str(code): str(label) for code, label in raw.get("cccd_abroad", {}).items()}
    _check(raw, current, former, abroad)
    by_name: dict[str, Province] = {}
    entries: list[tuple[Province, dict[str, Any]]] = [(current[p["code"]], p) for p in raw["current"]]
    entries += [(current[f["successor"]], f) for f in raw["former"]]
    for target, entry in entries:
        for name in (entry["name"], *entry.get("aliases", ())):
            if by_name.setdefault(_name_key(name), target) != target:
                raise RuntimeError(f"provinces.toml: name {name!r} resolves to two provinces")
    return _Table(MappingProxyType(current), MappingProxyType(former), MappingProxyType(abroad),
                  MappingProxyType(by_name))


def _check(raw: dict[str, Any], current: dict[str, Province], former: dict[str, FormerProvince],
           abroad: dict[str, str]) -> None:
    """Refuse a broken data file at first use rather than answer wrongly later."""
    problems = []
    if len(current) != len(raw["current"]) or len(former) != len(raw["former"]):
        problems.append("duplicate codes")
    problems += [f"former {f.cccd_code} merges into unknown {f.successor_code}"
                 for f in former.values() if f.successor_code not in current]
    problems += [f"{p.code} has no former province" for p in current.values() if not p.former_codes]
    problems += [f"code {c} is both a province and 'abroad'" for c in abroad if c in former]
    problems += [f"bad code {c!r}" for c in current if not re.fullmatch("[0-9]{2}", c)]
    problems += [f"bad code {c!r}" for c in (*former, *abroad) if not re.fullmatch("[0-9]{3}", c)]
    if problems:
        raise RuntimeError("provinces.toml: " + "; ".join(problems))


def current_provinces() -> tuple[Province, ...]:
    return tuple(_table().current.values())


def former_provinces() -> tuple[FormerProvince, ...]:
    return tuple(_table().former.values())


def abroad_cccd_codes() -> Mapping[str, str]:
    """PPP codes accepted for a birth registered abroad, with their labels (empty by default)."""
    return _table().abroad


def province(code: str) -> Province:
    found = _table().current.get(code)
    if found is None:
        raise InvalidValue(f"province code {code!r} is not one of the 34 provincial units",
                           code="PROVINCE_UNKNOWN", rule="province_code")
    return found


def former_province(cccd_code: str) -> FormerProvince:
    found = _table().former.get(cccd_code)
    if found is None:
        raise InvalidValue(f"code {cccd_code!r} is not one of the 63 former provinces",
                           code="PROVINCE_UNKNOWN", rule="former_province_code")
    return found


def successor_of(cccd_code: str) -> Province:
    """The current unit a former province (by its CCCD code) merged into."""
    return province(former_province(cccd_code).successor_code)


def resolve_province_name(text: str) -> Province | None:
    """The current unit a written province name denotes, or None.

    Accent-, case- and punctuation-insensitive; ignores "Tỉnh", "Thành phố", "TP"; a former
    province's name gives the unit it merged into ("Tỉnh Tiền Giang" -> Đồng Tháp).
    """
    return _table().by_name.get(_name_key(text))


def _validate_province_code(value: str) -> str:
    return province(value.strip()).code


class _ProvinceCodeSchema:
    """JSON Schema of ProvinceCode: the enum is read from the data file when a schema is built."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {
            "type": "string",
            "enum": sorted(_table().current),
            "description": "Mã đơn vị hành chính cấp tỉnh: code of one of the 34 provincial units "
                           "since 1 July 2025.",
        }


ProvinceCode = Annotated[str, AfterValidator(_validate_province_code), _ProvinceCodeSchema()]
