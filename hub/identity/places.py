"""Where a person is placed, as far as telling people apart needs it: today's province, and the former
province (one of the 63 before 1 July 2025) when a text names one.

A former province is worth knowing beyond the unit it merged into: "tỉnh Tiền Giang" and "tỉnh Đồng Tháp"
both lie in today's Đồng Tháp, yet a judgment naming one and a record naming the other describe
different places.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from hub.model.names import fold_diacritics
from hub.model.party import Address
from hub.model.provinces import FormerProvince, former_provinces, province, resolve_province_name
from hub.model.verification import SubjectHints

# The prefixes resolve_province_name ignores, so that a name it resolves is also recognised here.
_PREFIXES = ("thanh pho ", "tinh ", "tp ")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True, slots=True)
class Place:
    code: str  # one of the 34 current units
    name: str  # its proper name
    former: FormerProvince | None = None  # set only when the text named a former province

    @property
    def label(self) -> str:
        """How a reason shown to the officer names the place: as the text named it."""
        return f"former {self.former.name}" if self.former else self.name


def _plain(text: str) -> str:
    key = _NOT_ALNUM.sub(" ", fold_diacritics(text).casefold()).strip()
    return next((key[len(p):] for p in _PREFIXES if key.startswith(p)), key)


@cache
def _former_by_name() -> dict[str, FormerProvince]:
    return {_plain(f.name): f for f in former_provinces()}


def place_in_text(text: str, *, pre_merger: bool = False) -> Place | None:
    """The province an address names in its last comma-separated part, where Vietnamese addresses put it.

    A name that is both a former and a current one ("Đồng Tháp") names the former province only in a text
    known to predate the merger (``pre_merger``); a name that is only a former one always does.
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        return None
    unit = resolve_province_name(parts[-1])
    if unit is None:
        return None
    former = _former_by_name().get(_plain(parts[-1]))
    if former is not None and not pre_merger and _plain(former.name) == _plain(unit.name):
        former = None
    return Place(unit.code, unit.name, former)


def place_of_hints(hints: SubjectHints) -> Place | None:
    """The explicit province code wins over the address text when they disagree; when they agree, the text
    is kept for the former province it may name."""
    written = place_in_text(hints.address) if hints.address else None
    if hints.province_code is None or (written is not None and written.code == hints.province_code):
        return written
    return Place(hints.province_code, province(hints.province_code).name)


def places_of(addresses: list[Address]) -> list[Place]:
    """The places of a record's addresses. An address with a former district (huyện) is a pre-merger text."""
    places = []
    for address in addresses:
        if address.province_code is None:
            continue
        pre_merger = address.former_district is not None
        named = place_in_text(address.original_text, pre_merger=pre_merger)
        if named is not None and named.code == address.province_code:
            places.append(named)
        else:
            places.append(Place(address.province_code, province(address.province_code).name))
    return places
