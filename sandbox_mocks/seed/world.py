"""The synthetic world every sandbox mock serves: one population, its assets and its judgments.

``build_world(seed)`` is a pure function of its arguments: each part of the world draws from its own
``random.Random`` stream named after the seed, so the same seed gives byte-identical records (also
across processes and hash seeds) and a different seed gives a different world. The population
database, the banks, the land registry and the courts all read the same ``World``, so a person found
in one agency is the same person in every other.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from sandbox_mocks.seed.assets import ORGANISATION_SHARE, build_accounts, build_organisations, build_parcels
from sandbox_mocks.seed.judgments import Actor, JudgmentWriter, Plan, citizen_actor, organisation_actor
from sandbox_mocks.seed.people import build_population
from sandbox_mocks.seed.places import Gazetteer
from sandbox_mocks.seed.records import (
    Account,
    Address,
    Citizen,
    Disposition,
    Judgment,
    JudgmentParty,
    Organisation,
    Parcel,
)
from sandbox_mocks.seed.spelling import fold, has_tone_variant, name_key

__all__ = [
    "DEFAULT_BANK_BINS",
    "HARD_CASES",
    "REFERENCE_DATE",
    "Account",
    "Address",
    "Citizen",
    "Disposition",
    "Judgment",
    "JudgmentParty",
    "Organisation",
    "Parcel",
    "World",
    "build_world",
    "normalise_serial",
    "shared_world",
]

# "Today" in the world: fixed, so that nothing depends on when it is built. Every judgment has taken
# effect by then and every account was opened before it.
REFERENCE_DATE = date(2026, 3, 1)
DEFAULT_BANK_BINS = ("970436", "970418", "970405")
CITIZENS_PER_JUDGMENT = 20
# Below this the guaranteed hard cases would crowd out the ordinary judgments.
MIN_CITIZENS = 500
MIN_NAMESAKE_PAIRS = 10
CITIZENS_PER_NAMESAKE_PAIR = 500
HARD_CASES = ("namesakes", "tone_variants", "no_assets", "old_address_only", "organisation_debtors",
              "legacy_id_written")
# The ones a world of any size is built to contain; legacy_id_written is only observed (rare in small worlds).
GUARANTEED_HARD_CASES = HARD_CASES[:5]


def normalise_serial(serial: str) -> str:
    """A certificate serial without spaces, upper case: "cs 123456" and "CS123456" are one serial."""
    return "".join(serial.split()).upper()


@dataclass(frozen=True, eq=False, repr=False)
class World:
    """Everything the mocks know, with look-ups indexed once at construction.

    ``hard_cases`` names the records that make identity resolution and enforcement hard, for tests:

    - ``namesakes``: person IDs in pairs (a1, b1, a2, b2, ...): same full name and birth date, living
      in different provinces;
    - ``tone_variants``: people a judgment names with the other tone placement (Hoà / Hòa);
    - ``no_assets``: judgment debtors with no account and no parcel;
    - ``old_address_only``: people a judgment places by their pre-2025 address;
    - ``organisation_debtors``: tax codes of organisations that are judgment debtors;
    - ``legacy_id_written``: people a judgment identifies by their old 9-digit CMND.

    Worlds compare by identity (ten thousand records make ``==`` a poor habit): compare ``digest()``.
    """

    seed: int
    citizens: tuple[Citizen, ...]
    organisations: tuple[Organisation, ...]
    accounts: tuple[Account, ...]
    parcels: tuple[Parcel, ...]
    judgments: tuple[Judgment, ...]
    hard_cases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    reference_date: date = REFERENCE_DATE
    _index: _Index = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _Index(self))

    def __repr__(self) -> str:
        # Counts, not records: a failing test that shows a world must not print ten thousand people.
        return (f"World(seed={self.seed}, citizens={len(self.citizens)}, organisations={len(self.organisations)}, "
                f"accounts={len(self.accounts)}, parcels={len(self.parcels)}, judgments={len(self.judgments)})")

    def citizen(self, person_id: str) -> Citizen | None:
        return self._index.citizens.get(person_id)

    def organisation(self, tax_code: str) -> Organisation | None:
        return self._index.organisations.get(tax_code)

    def accounts_of(self, owner_id: str, bank_bin: str | None = None) -> tuple[Account, ...]:
        """Accounts (closed ones too) of a person ID or tax code, at one bank or at all."""
        accounts = self._index.accounts_by_owner.get(owner_id, ())
        if bank_bin is None:
            return tuple(accounts)
        return tuple(a for a in accounts if a.bank_bin == bank_bin)

    def account(self, bank_bin: str, account_number: str) -> Account | None:
        return self._index.accounts.get((bank_bin, account_number))

    def parcels_of(self, owner_id: str) -> tuple[Parcel, ...]:
        """Parcels the person owns, alone or jointly."""
        return tuple(self._index.parcels_by_owner.get(owner_id, ()))

    def parcel_by_serial(self, serial: str) -> Parcel | None:
        return self._index.parcels_by_serial.get(normalise_serial(serial))

    def search(self, name: str, birth_date: date | None = None,
               province_code: str | None = None) -> list[Citizen]:
        """The population database's search by name: a new list on each call, the caller's to keep.

        Names compare without diacritics, case or spacing (so also across tone placements and NFC /
        NFD); people whose name matches with its tones come first, then by person ID.
        ``province_code`` filters on the current unit of the permanent address.
        """
        hits: Iterable[Citizen] = self._index.by_folded_name.get(fold(name), ())
        if birth_date is not None:
            hits = [c for c in hits if c.birth_date == birth_date]
        if province_code is not None:
            hits = [c for c in hits if c.permanent_address.province_code == province_code]
        key = name_key(name)
        return sorted(hits, key=lambda c: (name_key(c.full_name) != key, c.person_id))

    def judgments_since(self, d: date) -> tuple[Judgment, ...]:
        """Judgments that took effect on or after ``d``, oldest first: what a court reports."""
        index = self._index
        return index.by_effective[bisect_left(index.effective_dates, d):]

    def judgment(self, number: str) -> Judgment | None:
        """The judgment with ``number`` (unique in this world), compared after NFC."""
        return self._index.judgments.get(number) or self._index.judgments.get(unicodedata.normalize("NFC", number))

    def digest(self) -> str:
        """SHA-256 over every record: equal digests, identical worlds."""
        digest = hashlib.sha256()
        for part in (self.citizens, self.organisations, self.accounts, self.parcels, self.judgments,
                     sorted(self.hard_cases.items())):
            digest.update(repr(part).encode("utf-8"))
        return digest.hexdigest()


class _Index:
    def __init__(self, world: World) -> None:
        self.citizens = {c.person_id: c for c in world.citizens}
        self.organisations = {o.tax_code: o for o in world.organisations}
        self.accounts = {(a.bank_bin, a.account_number): a for a in world.accounts}
        self.accounts_by_owner: dict[str, list[Account]] = {}
        for account in world.accounts:
            self.accounts_by_owner.setdefault(account.owner_id, []).append(account)
        self.parcels_by_owner: dict[str, list[Parcel]] = {}
        for parcel in world.parcels:
            for owner in parcel.owner_ids:
                self.parcels_by_owner.setdefault(owner, []).append(parcel)
        self.parcels_by_serial = {normalise_serial(p.certificate_serial): p for p in world.parcels}
        self.by_folded_name: dict[str, list[Citizen]] = {}
        for citizen in world.citizens:
            self.by_folded_name.setdefault(fold(citizen.full_name), []).append(citizen)
        self.judgments = {j.number: j for j in world.judgments}
        self.by_effective = tuple(sorted(world.judgments, key=lambda j: (j.effective_on, j.number)))
        self.effective_dates = [j.effective_on for j in self.by_effective]


def build_world(seed: int = 2026, citizens: int = 10_000,
                bank_bins: tuple[str, ...] = DEFAULT_BANK_BINS) -> World:
    """A deterministic world of ``citizens`` people, ~3% as many organisations, their accounts at
    ``bank_bins``, their land, and one judgment per 20 people."""
    if citizens < MIN_CITIZENS:
        raise ValueError(f"a world needs at least {MIN_CITIZENS} citizens, got {citizens}")
    if not bank_bins or any(len(b) != 6 or not b.isdigit() for b in bank_bins):
        raise ValueError(f"bank BINs are 6 digits, got {bank_bins!r}")

    def stream(part: str) -> random.Random:
        # A string seed is hashed with SHA-512, not with hash(): stable across processes.
        return random.Random(f"thads-sandbox:{seed}:{part}")

    gazetteer = Gazetteer(stream("gazetteer"))
    pairs = max(MIN_NAMESAKE_PAIRS, citizens // CITIZENS_PER_NAMESAKE_PAIR)
    population = build_population(stream("citizens"), gazetteer, citizens, pairs)
    organisations = build_organisations(stream("organisations"), gazetteer, round(citizens * ORGANISATION_SHARE))
    accounts = build_accounts(stream("accounts"), population.citizens, organisations, bank_bins,
                              REFERENCE_DATE - timedelta(days=30))
    parcels = build_parcels(stream("parcels"), gazetteer, population.citizens, population.spouses, accounts,
                            bank_bins)
    judgments = _judgments(stream("judgments"), gazetteer, population.citizens, population.spouses,
                           population.namesakes, organisations, accounts, parcels)
    world = World(seed=seed, citizens=population.citizens, organisations=organisations, accounts=accounts,
                  parcels=parcels, judgments=judgments)
    # The hard cases are read off the finished world through its indexes, then attached to it.
    object.__setattr__(world, "hard_cases", _hard_cases(world, population.namesakes))
    return world


@lru_cache(maxsize=4)
def shared_world(seed: int = 2026, citizens: int = 10_000,
                 bank_bins: tuple[str, ...] = DEFAULT_BANK_BINS) -> World:
    """``build_world``, built once per process for the same arguments: the mocks running side by side
    share one immutable world instead of each building its own."""
    return build_world(seed, citizens, bank_bins)


def _judgments(rng: random.Random, gazetteer: Gazetteer, citizens: Sequence[Citizen],
               spouses: Sequence[tuple[str, str]], namesakes: Sequence[tuple[str, str]],
               organisations: Sequence[Organisation], accounts: Sequence[Account],
               parcels: Sequence[Parcel]) -> tuple[Judgment, ...]:
    people = [citizen_actor(c, gazetteer) for c in citizens]
    actors = {a.world_id: a for a in people}
    firms = [organisation_actor(o, gazetteer) for o in organisations]
    spouse_of: dict[str, Actor] = {}
    for husband, wife in spouses:
        spouse_of[husband] = actors[wife]
        spouse_of[wife] = actors[husband]
    parcels_of: dict[str, list[Parcel]] = {}
    for parcel in parcels:
        for owner in parcel.owner_ids:
            parcels_of.setdefault(owner, []).append(parcel)
    writer = JudgmentWriter(rng, people, firms, spouse_of, parcels_of,
                            last_issue_day=REFERENCE_DATE - timedelta(days=46))
    count = len(citizens) // CITIZENS_PER_JUDGMENT
    quota = max(3, count // 40)

    # The hard cases are planned first so that they exist in every world, then ordinary judgments.
    plans: list[Plan] = []
    taken: set[str] = set()

    def plan_for(actor: Actor, **how: bool) -> None:
        taken.add(actor.world_id)
        plans.append(Plan(actor, **how))

    for original, twin in namesakes[: len(namesakes) // 2]:
        # Without an ID, name and birth date fit both namesakes; only the address tells them apart.
        plan_for(actors[rng.choice((original, twin))], omit_id=True)
    variants = [a for a in people if has_tone_variant(a.name) and a.world_id not in taken]
    for actor in rng.sample(variants, min(quota, len(variants))):
        plan_for(actor, other_tone=True)
    owners = {a.owner_id for a in accounts} | {o for p in parcels for o in p.owner_ids}
    penniless = [a for a in people if a.world_id not in owners and a.world_id not in taken]
    for actor in rng.sample(penniless, min(quota, len(penniless))):
        plan_for(actor, old_address=True)
    for actor in rng.sample(firms, min(quota, len(firms))):
        plan_for(actor)
    while len(plans) < count:
        plans.append(writer.random_plan())
    return tuple(sorted((writer.write(p) for p in plans), key=lambda j: (j.issued_on, j.number)))


def _hard_cases(world: World, namesakes: Sequence[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    owners = {a.owner_id for a in world.accounts} | {o for p in world.parcels for o in p.owner_ids}
    found: dict[str, dict[str, None]] = {name: {} for name in HARD_CASES}  # dicts keep first-seen order
    for judgment in world.judgments:
        for party in judgment.parties:
            if party.kind == "organisation":
                if party.role == "obligor":
                    found["organisation_debtors"][party.world_id] = None
                continue
            citizen = world.citizen(party.world_id)
            assert citizen is not None
            if party.name_as_written != citizen.full_name and name_key(party.name_as_written) == name_key(
                    citizen.full_name):
                found["tone_variants"][party.world_id] = None
            if party.role == "obligor" and party.world_id not in owners:
                found["no_assets"][party.world_id] = None
            if party.address_as_written == citizen.permanent_address.old_text:
                found["old_address_only"][party.world_id] = None
            if party.person_id_as_written is not None and party.person_id_as_written == citizen.legacy_id:
                found["legacy_id_written"][party.world_id] = None
    hard = {name: tuple(ids) for name, ids in found.items()}
    hard["namesakes"] = _namesake_pairs(world.citizens, namesakes)
    empty = [name for name in GUARANTEED_HARD_CASES if not hard.get(name)]
    if empty or len(hard["namesakes"]) < 2 * MIN_NAMESAKE_PAIRS:
        raise RuntimeError(f"the world lacks hard cases it guarantees: {empty or ['namesakes']}")
    return hard


def _namesake_pairs(citizens: Sequence[Citizen], planted: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The planted pairs, then the pairs that chance made: two people, nobody else, sharing name (by
    key) and birth date while living in different units."""
    pairs = [pid for pair in planted for pid in pair]
    seen = set(pairs)
    groups: dict[tuple[str, date], list[Citizen]] = {}
    for citizen in citizens:
        groups.setdefault((name_key(citizen.full_name), citizen.birth_date), []).append(citizen)
    for group in groups.values():
        if len(group) == 2 and not seen & {c.person_id for c in group} \
                and group[0].permanent_address.province_code != group[1].permanent_address.province_code:
            pairs += [group[0].person_id, group[1].person_id]
    return tuple(pairs)
