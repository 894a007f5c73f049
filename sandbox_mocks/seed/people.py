"""The population: citizens with valid IDs, households sharing an address, and namesakes.

Citizen ID layout ``PPP G YY RRRRRR`` [confirmed, docs/DOMAIN.md]: PPP the province where the birth
was registered (one of the 63 former codes), G century and gender (0/1 for 1900s male/female, 2/3 for
2000s), YY the birth year modulo 100, RRRRRR a serial (random here, unique in the world).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sandbox_mocks.seed.names import name_maker
from sandbox_mocks.seed.places import (
    HA_NOI,
    HO_CHI_MINH,
    Gazetteer,
    birth_places,
    local_birth_places,
    residence_weights,
)
from sandbox_mocks.seed.records import Address, Citizen, Gender
from sandbox_mocks.seed.sampling import Weighted, random_date
from sandbox_mocks.seed.spelling import fold, has_tone_variant, respell

FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR = 1945, 2006
# Proportions of the synthetic population.
COUPLE_SHARE = 0.30  # chance that the next record starts a married couple sharing an address
OLD_ADDRESS_SHARE = 0.30  # records that still show the pre-merger address
OLD_TONE_SHARE = 0.35  # names with a movable tone written in the old placement (Hoà)
LEGACY_ID_SHARE = 0.5  # of people born up to LEGACY_ID_LAST_YEAR, those with an old CMND on record
LEGACY_ID_LAST_YEAR = 1990
# Share of people registered at birth inside the unit they now live in; the metropolises draw more
# people born elsewhere.
LOCAL_BIRTH_SHARE = 0.75
METROPOLIS_LOCAL_BIRTH_SHARE = 0.55
_MOBILE_PREFIXES = ("32", "33", "34", "35", "36", "37", "38", "39", "56", "58", "70", "76", "77", "78",
                    "79", "81", "82", "83", "84", "85", "86", "88", "89", "90", "91", "93", "94", "96",
                    "97", "98")
_MAIL_DOMAINS = Weighted([("gmail.com", 80.0), ("yahoo.com", 10.0), ("outlook.com", 6.0), ("icloud.com", 4.0)])
# Fewer of the oldest cohorts survive; the 1975-1999 cohorts are the largest.
_BIRTH_YEARS = Weighted((y, min(3.0, 0.6 + 0.1 * (y - FIRST_BIRTH_YEAR)) if y < 2000 else 2.5)
                        for y in range(FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR + 1))


@dataclass(frozen=True, slots=True)
class Population:
    citizens: tuple[Citizen, ...]
    spouses: tuple[tuple[str, str], ...]  # (husband, wife) person IDs
    namesakes: tuple[tuple[str, str], ...]  # (original, namesake) person IDs made on purpose


def century_gender_digit(birth_year: int, gender: Gender) -> int:
    return (birth_year // 100 - 19) * 2 + (1 if gender == "female" else 0)


class _PopulationBuilder:
    def __init__(self, rng: random.Random, gazetteer: Gazetteer) -> None:
        self.rng = rng
        self.gazetteer = gazetteer
        self.names = name_maker()
        self.residences = residence_weights()
        self.citizens: list[Citizen] = []
        self.spouses: list[tuple[str, str]] = []
        self.namesakes: list[tuple[str, str]] = []
        self._ids: set[str] = set()
        self._legacy_ids: set[str] = set()

    def build(self, count: int, namesake_pairs: int) -> Population:
        rng = self.rng
        # Namesakes are placed in the second half so that each copies someone made before it.
        twin_slots = set(rng.sample(range(count // 2, count), namesake_pairs))
        twinned: set[int] = set()
        while len(self.citizens) < count:
            at = len(self.citizens)
            if at in twin_slots:
                self._namesake(rng.choice([i for i in range(at) if i not in twinned]), twinned)
            elif at + 1 < count and at + 1 not in twin_slots and rng.random() < COUPLE_SHARE:
                self._couple()
            else:
                self._single()
        return Population(citizens=tuple(self.citizens), spouses=tuple(self.spouses),
                          namesakes=tuple(self.namesakes))

    def _home(self, avoid_unit: str | None = None) -> tuple[Address, bool]:
        while True:
            unit = self.residences.pick(self.rng)
            if unit.code != avoid_unit:
                break
        commune = self.gazetteer.commune_in(self.rng, unit.code)
        return self.gazetteer.address(self.rng, commune), self.rng.random() < OLD_ADDRESS_SHARE

    def _single(self) -> None:
        gender: Gender = "male" if self.rng.random() < 0.5 else "female"
        address, show_old = self._home()
        self._add(gender, _BIRTH_YEARS.pick(self.rng), address, show_old)

    def _couple(self) -> None:
        rng = self.rng
        husband_year = _BIRTH_YEARS.pick(rng)
        while husband_year > LAST_BIRTH_YEAR - 4:  # married adults only
            husband_year = _BIRTH_YEARS.pick(rng)
        wife_year = min(LAST_BIRTH_YEAR - 2, max(FIRST_BIRTH_YEAR, husband_year + rng.randint(-2, 8)))
        address, show_old = self._home()
        husband = self._add("male", husband_year, address, show_old)
        wife = self._add("female", wife_year, address, show_old)
        self.spouses.append((husband.person_id, wife.person_id))

    def _namesake(self, original_index: int, twinned: set[int]) -> None:
        """Someone else with the same name and birth date, living in another province: the case that
        name + birth date alone cannot resolve."""
        original = self.citizens[original_index]
        twinned.add(original_index)
        twinned.add(len(self.citizens))
        address, show_old = self._home(avoid_unit=original.permanent_address.province_code)
        twin = self._add(original.gender, original.birth_date.year, address, show_old,
                         birth_date=original.birth_date, full_name=original.full_name)
        self.namesakes.append((original.person_id, twin.person_id))

    def _add(self, gender: Gender, birth_year: int, address: Address, show_old: bool, *,
             birth_date: date | None = None, full_name: str | None = None) -> Citizen:
        rng = self.rng
        unit = address.province_code
        local_share = METROPOLIS_LOCAL_BIRTH_SHARE if unit in (HA_NOI, HO_CHI_MINH) else LOCAL_BIRTH_SHARE
        birth_place = (local_birth_places(unit) if rng.random() < local_share else birth_places()).pick(rng)
        if birth_date is None:
            birth_date = random_date(rng, date(birth_year, 1, 1), date(birth_year, 12, 31))
        if full_name is None:
            full_name = self.names.make(rng, gender, birth_year, birth_place.region)
            if has_tone_variant(full_name) and rng.random() < OLD_TONE_SHARE:
                full_name = respell(full_name, "old")
        prefix = f"{birth_place.cccd_code}{century_gender_digit(birth_year, gender)}{birth_year % 100:02d}"
        person_id = self._unique(self._ids, lambda: f"{prefix}{rng.randrange(1_000_000):06d}")
        legacy_id = None
        if birth_year <= LEGACY_ID_LAST_YEAR and rng.random() < LEGACY_ID_SHARE:
            # Old CMND numbers start with a small regional code; the exact table does not matter here.
            legacy_id = self._unique(self._legacy_ids, lambda: f"{rng.randint(1, 38):02d}{rng.randrange(10**7):07d}")
        elderly = birth_year < 1960
        citizen = Citizen(
            person_id=person_id,
            full_name=full_name,
            birth_date=birth_date,
            gender=gender,
            birth_province_code=birth_place.cccd_code,
            permanent_address=address,
            old_address_text=address.old_text if show_old else None,
            legacy_id=legacy_id,
            vneid_consent=rng.random() < (0.3 if elderly else 0.65),
            phone=self._phone() if rng.random() < (0.7 if elderly else 0.9) else None,
            email=self._email(full_name, birth_year) if rng.random() < (0.12 if birth_year < 1975 else 0.45) else None,
        )
        self.citizens.append(citizen)
        return citizen

    def _unique(self, used: set[str], make: Callable[[], str]) -> str:
        while True:
            value = make()
            if value not in used:
                used.add(value)
                return value

    def _phone(self) -> str:
        return f"0{self.rng.choice(_MOBILE_PREFIXES)}{self.rng.randrange(10**7):07d}"

    def _email(self, full_name: str, birth_year: int) -> str:
        parts = fold(full_name).split()
        local = f"{parts[-1]}.{parts[0]}{birth_year % 100:02d}" if self.rng.random() < 0.6 \
            else f"{''.join(parts)}{self.rng.randint(1, 999)}"
        return f"{local}@{_MAIL_DOMAINS.pick(self.rng)}"


def build_population(rng: random.Random, gazetteer: Gazetteer, count: int, namesake_pairs: int) -> Population:
    return _PopulationBuilder(rng, gazetteer).build(count, namesake_pairs)
