"""Which court issued a judgment and what it was called at the time.

Until 30 June 2025: district courts (first instance), provincial courts (appeal, and first instance
of larger cases) and three high courts (cassation). From 1 July 2025: regional courts (TAND khu vực)
and provincial courts of the 34 units; cassation at the Supreme People's Court.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sandbox_mocks.seed.data import load
from sandbox_mocks.seed.places import Commune

_HIGH_COURT_CODES = {"north": "TANDCC-HN", "central": "TANDCC-DN", "south": "TANDCC-HCM"}


@dataclass(frozen=True, slots=True)
class Court:
    code: str
    name: str
    province_code: str  # the current unit covering the court's seat


@cache
def _courts() -> dict[str, Any]:
    return load("courts")


def reform_date() -> date:
    value = _courts()["reform_date"]
    assert isinstance(value, date)
    return value


def court_for(commune: Commune, instance: str, issued_on: date, *, provincial_first_instance: bool = False) -> Court:
    """The court of ``instance`` ("ST", "PT", "GĐT") for a case from ``commune`` on ``issued_on``.

    ``provincial_first_instance`` sends a first-instance case to the provincial court, as larger
    cases went before the reform; it has no effect after it.

    Court codes are the sandbox's own: ``TAND-087-04`` (a district of former Đồng Tháp),
    ``TAND-087`` (a former provincial court), ``TAND-82-KV03`` (a regional court), ``TAND-82`` (a
    current provincial court), ``TANDCC-HN`` (a high court), ``TANDTC`` (the Supreme Court).
    """
    names = _courts()["names"]
    unit, former = commune.unit, commune.former
    if issued_on < reform_date():
        if instance == "GĐT":
            region = former.region
            high = _courts()["high_courts"][region]
            return Court(_HIGH_COURT_CODES[region], names["high"].format(city=high["city"]), high["province"])
        if instance == "ST" and not provincial_first_instance:
            index = former.districts.index(commune.district) + 1
            return Court(f"TAND-{former.cccd_code}-{index:02d}",
                         names["district"].format(district=commune.district, province=former.display), unit.code)
        return Court(f"TAND-{former.cccd_code}", names["provincial"].format(province=former.display), unit.code)
    if instance == "GĐT":
        return Court("TANDTC", names["supreme"], "01")
    if instance == "ST":  # since the reform every first instance is heard by a regional court
        return Court(f"TAND-{unit.code}-KV{commune.court_region:02d}",
                     names["regional"].format(number=commune.court_region, province=unit.court_label), unit.code)
    return Court(f"TAND-{unit.code}", names["provincial"].format(province=unit.display), unit.code)
