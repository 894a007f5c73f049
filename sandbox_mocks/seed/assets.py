"""What people and businesses own: organisations, bank accounts and land parcels.

Ownership is correlated the way enforcement officers meet it: most people who own land also bank, a
large minority own nothing that can be seized, and spouses hold joint land.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

from sandbox_mocks.seed.data import load
from sandbox_mocks.seed.places import Gazetteer, residence_weights
from sandbox_mocks.seed.records import Account, Citizen, Organisation, Parcel
from sandbox_mocks.seed.sampling import Weighted, random_date
from sandbox_mocks.seed.spelling import upper_ascii

# Proportions (of citizens unless said otherwise).
ACCOUNT_SHARE = 0.60  # people with at least one account
PARCEL_SHARE_WITH_ACCOUNT = 0.58  # of account holders, those who also hold land in their own name
PARCEL_SHARE_WITHOUT_ACCOUNT = 0.02  # land but no bank: older rural owners
YOUNG_PARCEL_FACTOR = 0.3  # people born from YOUNG_FROM rarely hold land yet
YOUNG_FROM = 1998
JOINT_WITH_SPOUSE = 0.5  # of a married owner's parcels, those held jointly with the spouse
MORTGAGED_SHARE = 0.20  # of parcels
CLOSED_ACCOUNT_SHARE = 0.10  # of accounts
ORGANISATION_SHARE = 0.03  # organisations per citizen
ORGANISATION_ACCOUNT_SHARE = 0.95
_ACCOUNTS_PER_PERSON = Weighted([(1, 55.0), (2, 30.0), (3, 15.0)])
_ACCOUNTS_PER_ORGANISATION = Weighted([(1, 50.0), (2, 35.0), (3, 15.0)])
_PARCELS_PER_OWNER = Weighted([(1, 75.0), (2, 25.0)])
# Where a parcel lies relative to its owner's home: the home itself, elsewhere in the same province,
# anywhere.
_PARCEL_PLACES = Weighted([("home", 65.0), ("province", 25.0), ("anywhere", 10.0)])
# Businesses cluster in the two metropolises even more than people.
_BUSINESS_PULL = 2.0
FIRST_ACCOUNT_DAY = date(1995, 1, 1)


@dataclass(frozen=True, slots=True)
class Bank:
    bin: str
    short: str
    name: str
    account_digits: int


@cache
def banks() -> dict[str, Bank]:
    raw = load("banks")
    return {b["bin"]: Bank(bin=b["bin"], short=b["short"], name=b["name"], account_digits=int(b["account_digits"]))
            for b in raw["banks"]}


def bank(bin_code: str) -> Bank:
    """The bank of ``bin_code``; a BIN missing from the data gets a generic name and length."""
    known = banks().get(bin_code)
    if known is not None:
        return known
    return Bank(bin=bin_code, short=f"Bank {bin_code}", name=f"Ngân hàng {bin_code}",
                account_digits=int(load("banks")["default_account_digits"]))


def build_organisations(rng: random.Random, gazetteer: Gazetteer, count: int) -> tuple[Organisation, ...]:
    raw = load("places")["organisations"]
    forms = Weighted((str(form), float(w)) for form, w in raw["forms"])
    sectors: Sequence[str] = raw["sectors"]
    brands: Sequence[str] = raw["brands"]
    places = residence_weights(extra_pull=_BUSINESS_PULL)
    names: set[str] = set()
    tax_codes: set[str] = set()
    result: list[Organisation] = []
    while len(result) < count:
        brand = f"{rng.choice(brands)} {rng.choice(brands)}"
        form = forms.pick(rng)
        if form == "Doanh nghiệp tư nhân":
            name = f"{form} {brand}"
        elif form == "Hợp tác xã":
            name = f"{form} Nông nghiệp {brand}"
        else:
            name = f"{form} {rng.choice(sectors)} {brand}"
        # Tax codes are 10 digits; the real check digit is not modelled and nothing here checks it.
        tax_code = f"0{rng.randint(1, 9)}{rng.randrange(10**8):08d}"
        if name in names or tax_code in tax_codes or brand.split()[0] == brand.split()[1]:
            continue
        names.add(name)
        tax_codes.add(tax_code)
        commune = gazetteer.commune_in(rng, places.pick(rng).code)
        result.append(Organisation(tax_code=tax_code, name=name, address=gazetteer.address(rng, commune)))
    return tuple(result)


class _AccountMaker:
    def __init__(self, rng: random.Random, bank_bins: Sequence[str], until: date) -> None:
        self.rng = rng
        self.banks = [bank(b) for b in bank_bins]
        self.until = until
        self.numbers: set[tuple[str, str]] = set()
        self.accounts: list[Account] = []

    def open(self, owner_id: str, holder: str, count: int, earliest: date, business: bool) -> None:
        rng = self.rng
        for _ in range(count):
            chosen = rng.choice(self.banks)
            while True:
                rest = chosen.account_digits - 1
                number = f"{rng.randint(1, 9)}{rng.randrange(10 ** rest):0{rest}d}"
                if (chosen.bin, number) not in self.numbers:
                    self.numbers.add((chosen.bin, number))
                    break
            closed = rng.random() < CLOSED_ACCOUNT_SHARE
            if closed:
                balance = 0
            elif business:
                balance = int(rng.lognormvariate(19.0, 1.6))  # median about 180 million VND
            elif rng.random() < 0.08:
                balance = rng.randrange(100_000)  # an account kept open with almost nothing on it
            else:
                balance = int(rng.lognormvariate(16.3, 1.9))  # median about 12 million VND
            self.accounts.append(Account(
                bank_bin=chosen.bin, account_number=number, owner_id=owner_id, holder_name=holder,
                balance_vnd=min(balance, 500_000_000_000), status="closed" if closed else "active",
                opened_on=random_date(rng, max(earliest, FIRST_ACCOUNT_DAY), self.until),
            ))


def build_accounts(rng: random.Random, citizens: Iterable[Citizen], organisations: Iterable[Organisation],
                   bank_bins: Sequence[str], until: date) -> tuple[Account, ...]:
    maker = _AccountMaker(rng, bank_bins, until)
    for citizen in citizens:
        if rng.random() < ACCOUNT_SHARE:
            born = citizen.birth_date
            adult = date(born.year + 18, born.month, min(born.day, 28))
            maker.open(citizen.person_id, upper_ascii(citizen.full_name), _ACCOUNTS_PER_PERSON.pick(rng), adult,
                       business=False)
    for organisation in organisations:
        if rng.random() < ORGANISATION_ACCOUNT_SHARE:
            maker.open(organisation.tax_code, upper_ascii(organisation.name),
                       _ACCOUNTS_PER_ORGANISATION.pick(rng), date(2000, 1, 1), business=True)
    return tuple(maker.accounts)


class _ParcelMaker:
    def __init__(self, rng: random.Random, gazetteer: Gazetteer, bank_bins: Sequence[str]) -> None:
        raw = load("land")
        self.rng = rng
        self.gazetteer = gazetteer
        self.series = Weighted(((str(s["letters"]), int(s["digits"])), float(s["weight"])) for s in raw["series"])
        self.spaced_share = float(raw["spaced_share"])
        self.uses = {
            kind: Weighted(((str(code), int(low), int(high)), float(w)) for code, w, low, high in rows)
            for kind, rows in (("phường", raw["land_use"]["ward"]), ("xã", raw["land_use"]["commune"]))
        }
        self.bank_names = [bank(b).name for b in bank_bins]
        self.residences = residence_weights()
        self.serials: set[str] = set()
        self.plots: set[tuple[str, str, int, int]] = set()
        self.parcels: list[Parcel] = []

    def make(self, owners: tuple[Citizen, ...], mortgage_banks: Sequence[str]) -> None:
        rng = self.rng
        home = owners[0].permanent_address
        place = _PARCEL_PLACES.pick(rng)
        if place == "home":
            commune = self.gazetteer.commune_of(home)
            address = self.gazetteer.address(rng, commune, home.street)
        else:
            unit = home.province_code if place == "province" else self.residences.pick(rng).code
            commune = self.gazetteer.commune_in(rng, unit)
            address = self.gazetteer.address(rng, commune)
        code, low, high = self.uses[commune.kind].pick(rng)
        tenths = rng.randint(low * 10, high * 10)
        if rng.random() < 0.6:
            tenths -= tenths % 10  # most surveyed areas are whole square metres
        area = f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"
        while True:
            sheet, number = rng.randint(1, 80), rng.randint(1, 1500)
            plot = (commune.unit.code, commune.name, sheet, number)
            if plot not in self.plots:
                self.plots.add(plot)
                break
        mortgage = None
        if rng.random() < MORTGAGED_SHARE:
            # A mortgage sits with a bank the owner deals with when there is one.
            mortgage = rng.choice(mortgage_banks or self.bank_names)
        self.parcels.append(Parcel(
            certificate_serial=self._serial(), parcel_number=number, map_sheet=sheet, address=address,
            area_m2=area, land_use=code, owner_ids=tuple(o.person_id for o in owners), mortgage_holder=mortgage,
        ))

    def _serial(self) -> str:
        rng = self.rng
        while True:
            letters, digits = self.series.pick(rng)
            number = f"{rng.randrange(10 ** digits):0{digits}d}"
            if letters + number not in self.serials:
                self.serials.add(letters + number)
                separator = " " if rng.random() < self.spaced_share else ""
                return f"{letters}{separator}{number}"


def build_parcels(rng: random.Random, gazetteer: Gazetteer, citizens: Sequence[Citizen],
                  spouses: Iterable[tuple[str, str]], accounts: Iterable[Account],
                  bank_bins: Sequence[str]) -> tuple[Parcel, ...]:
    maker = _ParcelMaker(rng, gazetteer, bank_bins)
    by_id = {c.person_id: c for c in citizens}
    spouse_of: dict[str, Citizen] = {}
    for husband, wife in spouses:
        spouse_of[husband] = by_id[wife]
        spouse_of[wife] = by_id[husband]
    banking: dict[str, list[str]] = {}
    for account in accounts:
        names = banking.setdefault(account.owner_id, [])
        name = bank(account.bank_bin).name
        if account.status == "active" and name not in names:
            names.append(name)
    for citizen in citizens:
        share = PARCEL_SHARE_WITH_ACCOUNT if citizen.person_id in banking else PARCEL_SHARE_WITHOUT_ACCOUNT
        if citizen.birth_date.year >= YOUNG_FROM:
            share *= YOUNG_PARCEL_FACTOR
        if rng.random() >= share:
            continue
        for _ in range(_PARCELS_PER_OWNER.pick(rng)):
            spouse = spouse_of.get(citizen.person_id)
            # Only a spouse who banks becomes a joint holder: otherwise joint land would eat into the
            # share of people with no asset at all (about 40%), who matter most for enforcement.
            joint = spouse is not None and spouse.person_id in banking and rng.random() < JOINT_WITH_SPOUSE
            owners = (citizen, spouse) if joint and spouse is not None else (citizen,)
            maker.make(owners, banking.get(citizen.person_id, []))
    return tuple(maker.parcels)

