"""Synthetic Vietnamese personal names: family name, one or two middle names, given name.

Distributions come from ``data/names.toml``. Names are produced in the new tone placement; whether a
record keeps it or uses the old one (Hoà, Thuỷ) is the caller's choice, as with real records.
"""

from __future__ import annotations

import random
from functools import cache

from sandbox_mocks.seed.data import load
from sandbox_mocks.seed.records import Gender
from sandbox_mocks.seed.sampling import Weighted


class NameMaker:
    def __init__(self) -> None:
        raw = load("names")
        self._family = Weighted((str(name), float(w)) for name, w in raw["family"])
        regional = raw["regional_family"]
        self._regional_variants: dict[str, str] = dict(regional["variants"])
        self._regional_chance: dict[str, float] = dict(regional["chance"])
        # One middle-name table per era: before 1975, 1975-1989, from 1990.
        self._middle: dict[Gender, tuple[Weighted[str], ...]] = {
            gender: tuple(Weighted((str(row[0]), float(row[era + 1])) for row in raw["middle"][gender])
                          for era in range(3))
            for gender in ("male", "female")
        }
        self._second: tuple[str, ...] = tuple(raw["middle"]["second"])
        self._second_chance: dict[str, float] = dict(raw["middle"]["second_chance"])
        self._given: dict[Gender, Weighted[str]] = {
            gender: Weighted((str(name), float(w)) for name, w in raw["given"][gender])
            for gender in ("male", "female")
        }

    def make(self, rng: random.Random, gender: Gender, birth_year: int, region: str) -> str:
        family = self._family.pick(rng)
        variant = self._regional_variants.get(family)
        if variant is not None and rng.random() < self._regional_chance[region]:
            family = variant
        era = 0 if birth_year < 1975 else 1 if birth_year < 1990 else 2
        parts = [self._middle[gender][era].pick(rng)]
        if rng.random() < self._second_chance[gender]:
            parts.append(rng.choice(self._second))
        while True:
            given = self._given[gender].pick(rng)
            if given not in parts:  # "Minh Minh" is not a name
                break
        if len(parts) == 2 and parts[0] == parts[1]:
            parts.pop()
        return " ".join([family, *parts, given])


@cache
def name_maker() -> NameMaker:
    return NameMaker()
