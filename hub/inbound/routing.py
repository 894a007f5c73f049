"""Routing a judgment to the competent enforcement office, by the rule in ``routing.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from hub.model.case import EnforcementOffice, OfficeLevel
from hub.model.judgment import Court
from hub.model.provinces import province

DEFAULT_RULES = Path(__file__).with_name("routing.toml")


@dataclass(frozen=True)
class RoutingRules:
    code: str
    name: str
    level: OfficeLevel
    fallback_province: str
    courts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = DEFAULT_RULES) -> RoutingRules:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        office = data["office"]
        rules = cls(code=office["code"], name=office["name"], level=OfficeLevel(office["level"]),
                    fallback_province=data["fallback_province"], courts=dict(data.get("courts", {})))
        for code in {rules.fallback_province, *rules.courts.values()}:
            province(code)  # a typo in the data fails at start-up, not on the first judgment
        return rules

    def office_for(self, court: Court) -> EnforcementOffice:
        code = self.courts.get(court.code) or court.province_code or self.fallback_province
        unit = province(code)
        return EnforcementOffice(code=self.code.format(province=unit.code, province_name=unit.name),
                                 name=self.name.format(province=unit.code, province_name=unit.name),
                                 level=self.level, province_code=unit.code)
