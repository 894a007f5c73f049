"""Provinces (before and after the 2025 merger), a generated gazetteer of communes, and addresses.

The 34 current units, the 63 former ones and which former unit merged into which are copied facts
(``data/provinces.toml``). Communes and street lines are generated per world: plausible, not official.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sandbox_mocks.seed.data import load
from sandbox_mocks.seed.records import Address
from sandbox_mocks.seed.sampling import Weighted

HO_CHI_MINH = "79"
HA_NOI = "01"
Region = Literal["north", "central", "south"]
CommuneKind = Literal["phường", "xã"]

# People move to the two metropolises: their share of residents is well above their share of births.
_METROPOLIS_PULL = {HA_NOI: 1.5, HO_CHI_MINH: 1.5}
_DISTRICT_PREFIXES = ("thành phố", "thị xã", "quận", "huyện")


@dataclass(frozen=True, slots=True)
class Unit:
    """One of the 34 provincial units since 1 July 2025."""

    code: str
    kind: str
    name: str

    @property
    def display(self) -> str:
        """The unit as an address line ends: "tỉnh Đồng Tháp", "thành phố Hà Nội", "TP Hồ Chí Minh"."""
        return _display(self.code == HO_CHI_MINH, self.kind, self.name)

    @property
    def court_label(self) -> str:
        """The unit as regional court names write it: "khu vực 1 - TP Hồ Chí Minh", "... - Đồng Tháp"."""
        return "TP Hồ Chí Minh" if self.code == HO_CHI_MINH else self.name


@dataclass(frozen=True, slots=True)
class FormerUnit:
    """One of the 63 provincial units before the merger; its CCCD code is the PPP of citizen IDs."""

    cccd_code: str
    name: str
    kind: str
    successor: str
    population_k: int
    region: Region
    districts: tuple[str, ...]

    @property
    def display(self) -> str:
        return _display(self.cccd_code == "079", self.kind, self.name)


@dataclass(frozen=True, slots=True)
class Commune:
    """A commune or ward of the generated gazetteer, with the former district it lay in."""

    unit: Unit
    former: FormerUnit
    district: str
    kind: CommuneKind
    name: str
    court_region: int  # the number of the regional court (TAND khu vực) that serves it

    @property
    def label(self) -> str:
        """"Phường Bến Thành", "Xã Tân Thuận"."""
        return f"{self.kind.capitalize()} {self.name}"


def _display(saigon: bool, kind: str, name: str) -> str:
    if saigon:
        return "TP Hồ Chí Minh"
    return f"thành phố {name}" if kind == "city" else f"tỉnh {name}"


def district_kind(district: str) -> str:
    """"huyện" for "huyện Cao Lãnh"; the prefix of a district as written."""
    for prefix in _DISTRICT_PREFIXES:
        if district.startswith(prefix + " "):
            return prefix
    raise ValueError(f"district without a known prefix: {district!r}")


@dataclass(frozen=True, slots=True)
class Provinces:
    """The code lists, loaded once."""

    units: tuple[Unit, ...]
    formers: tuple[FormerUnit, ...]

    def unit(self, code: str) -> Unit:
        return _units_by_code()[code]

    def former(self, cccd_code: str) -> FormerUnit:
        return _formers_by_code()[cccd_code]

    def formers_of(self, code: str) -> tuple[FormerUnit, ...]:
        return tuple(f for f in self.formers if f.successor == code)


@cache
def provinces() -> Provinces:
    raw = load("provinces")
    units = tuple(Unit(code=u["code"], kind=u["kind"], name=u["name"]) for u in raw["current"])
    formers = tuple(_former(f) for f in raw["former"])
    codes = {u.code for u in units}
    for former in formers:
        if former.successor not in codes:
            raise ValueError(f"former province {former.cccd_code} merges into unknown unit {former.successor}")
        for district in former.districts:
            district_kind(district)
    if len(units) != 34 or len(formers) != 63:
        raise ValueError(f"expected 34 current and 63 former units, got {len(units)} and {len(formers)}")
    return Provinces(units=units, formers=formers)


def _former(raw: dict[str, Any]) -> FormerUnit:
    return FormerUnit(cccd_code=raw["cccd_code"], name=raw["name"], kind=raw["kind"], successor=raw["successor"],
                      population_k=int(raw["population_k"]), region=raw["region"],
                      districts=tuple(raw["districts"]))


@cache
def _units_by_code() -> dict[str, Unit]:
    return {u.code: u for u in provinces().units}


@cache
def _formers_by_code() -> dict[str, FormerUnit]:
    return {f.cccd_code: f for f in provinces().formers}


@cache
def birth_places() -> Weighted[FormerUnit]:
    """Where births were registered, nationwide, weighted by population."""
    return Weighted((f, float(f.population_k)) for f in provinces().formers)


@cache
def local_birth_places(unit_code: str) -> Weighted[FormerUnit]:
    """Where births were registered among the former units that make up ``unit_code``."""
    return Weighted((f, float(f.population_k)) for f in provinces().formers_of(unit_code))


def residence_weights(extra_pull: float = 1.0) -> Weighted[Unit]:
    """Where people (or, with ``extra_pull`` > 1, businesses) live: population plus the pull of the
    two metropolises."""
    p = provinces()
    weights = []
    for unit in p.units:
        population = sum(f.population_k for f in p.formers_of(unit.code))
        pull = _METROPOLIS_PULL.get(unit.code, 1.0)
        weights.append((unit, population * (pull * extra_pull if pull > 1 else 1.0)))
    return Weighted(weights)


class Gazetteer:
    """The communes of one world: generated once from the world's random stream."""

    def __init__(self, rng: random.Random) -> None:
        p = provinces()
        raw = load("places")
        self._streets: tuple[str, ...] = tuple(raw["streets"])
        self._hamlet_words: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in raw["hamlet_words"].items()}
        self._first: tuple[str, ...] = tuple(raw["commune_first"])
        self._second: tuple[str, ...] = tuple(raw["commune_second"])
        ward_share: dict[str, float] = raw["ward_share"]
        per_unit: dict[str, int] = raw["communes_per_unit"]
        total_population = sum(f.population_k for f in p.formers)
        regional_total = int(load("courts")["regional_courts_total"])
        self.communes: dict[str, tuple[Commune, ...]] = {}
        for unit in p.units:
            formers = local_birth_places(unit.code)
            population = sum(f.population_k for f in p.formers_of(unit.code))
            # About 355 regional courts shared out by population, at least a few per unit.
            regions = max(4, round(regional_total * population / total_population))
            names: list[str] = []
            communes: list[Commune] = []
            for landmark in raw["landmark_wards"]:
                if landmark["province"] == unit.code:
                    if p.former(landmark["former"]).successor != unit.code:
                        raise ValueError(f"landmark ward {landmark['name']} lies outside unit {unit.code}")
                    names.append(landmark["name"])
                    communes.append(Commune(unit=unit, former=p.former(landmark["former"]),
                                            district=landmark["district"], kind="phường", name=landmark["name"],
                                            court_region=len(communes) % regions + 1))
            wanted = int(per_unit.get(unit.code, per_unit["default"]))
            while len(communes) < wanted:
                name = self.place_name(rng)
                if name in names:
                    continue  # a commune name is unique within its unit
                former = formers.pick(rng)
                district = rng.choice(former.districts)
                kind: CommuneKind = "phường" if rng.random() < ward_share[district_kind(district)] else "xã"
                names.append(name)
                communes.append(Commune(unit=unit, former=former, district=district, kind=kind, name=name,
                                        court_region=len(communes) % regions + 1))
            self.communes[unit.code] = tuple(communes)
        self._by_label = {(c.unit.code, c.label): c for communes in self.communes.values() for c in communes}

    def place_name(self, rng: random.Random) -> str:
        """A two-syllable place name ("Tân Thuận"), never the same syllable twice."""
        while True:
            first, second = rng.choice(self._first), rng.choice(self._second)
            if first != second:
                return f"{first} {second}"

    def commune_of(self, address: Address) -> Commune:
        """The commune an address of this world lies in."""
        return self._by_label[(address.province_code, address.commune)]

    def commune_in(self, rng: random.Random, unit_code: str) -> Commune:
        return rng.choice(self.communes[unit_code])

    def street(self, rng: random.Random, commune: Commune) -> str:
        """A street line: house number and street in a ward, hamlet in a rural commune."""
        region = commune.former.region
        if commune.kind == "xã":
            word = rng.choice(self._hamlet_words[region])
            if rng.random() < 0.4:
                return f"{word} {rng.randint(1, 15)}"
            return f"{word} {self.place_name(rng)}"
        number = rng.randint(1, 399)
        street = rng.choice(self._streets)
        roll = rng.random()
        if region == "north" and roll < 0.3:
            return f"Số {number}, ngõ {rng.randint(2, 200)} phố {street}"
        if region == "south" and roll < 0.3:
            return f"{number}/{rng.randint(1, 60)} đường {street}"
        return f"Số {number} đường {street}"

    def address(self, rng: random.Random, commune: Commune, street: str | None = None) -> Address:
        return address_at(commune, street if street is not None else self.street(rng, commune))


def address_at(commune: Commune, street: str) -> Address:
    """The address of ``street`` in ``commune``, in both the current and the pre-merger form."""
    place = f"{street}, {commune.kind} {commune.name}"
    return Address(
        province_code=commune.unit.code,
        province_name=commune.unit.name,
        commune=commune.label,
        street=street,
        text=f"{place}, {commune.unit.display}",
        former_province_code=commune.former.cccd_code,
        former_district=commune.district,
        old_text=f"{place}, {commune.district}, {commune.former.display}",
    )
