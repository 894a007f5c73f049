"""The records of the sandbox world: what each agency mock serves, as frozen dataclasses.

Every record is immutable, so one world can be shared by all mocks in a process without copying.
Text is NFC. Money is whole VND (no minor unit). Identifiers are strings, leading zeros kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Gender = Literal["male", "female"]
AccountStatus = Literal["active", "closed"]
PartyRole = Literal["obligor", "obligee", "related"]
PartyKind = Literal["individual", "organisation"]
DispositionKind = Literal["pay_money", "court_fee", "hand_over_asset", "perform_act"]


@dataclass(frozen=True, slots=True)
class Address:
    """A place as written today (province -> commune) and as it was written before 1 July 2025.

    ``province_code`` is one of the 34 current units (2 digits) and ``province_name`` its proper name
    without prefix ("Hồ Chí Minh"); ``text`` is the full line an agency writes ("Số 12 đường Lê Lợi,
    phường Bến Thành, TP Hồ Chí Minh"). ``former_province_code`` (3-digit CCCD code),
    ``former_district`` ("quận 1") and ``old_text`` describe the same place before the merger: the
    former province always merged into ``province_code``.
    """

    province_code: str
    province_name: str
    commune: str
    street: str
    text: str
    former_province_code: str
    former_district: str
    old_text: str


@dataclass(frozen=True, slots=True)
class Citizen:
    """A person in the population database (Cơ sở dữ liệu quốc gia về dân cư).

    ``old_address_text`` is set for the people whose record still shows the pre-merger address.
    ``legacy_id`` is the old 9-digit CMND of some older people.
    """

    person_id: str
    full_name: str
    birth_date: date
    gender: Gender
    birth_province_code: str
    permanent_address: Address
    old_address_text: str | None
    legacy_id: str | None
    vneid_consent: bool
    phone: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class Organisation:
    tax_code: str
    name: str
    address: Address


@dataclass(frozen=True, slots=True)
class Account:
    """A bank account. ``holder_name`` is written as banks write it: NGUYEN VAN HOA."""

    bank_bin: str
    account_number: str
    owner_id: str
    holder_name: str
    balance_vnd: int
    status: AccountStatus
    opened_on: date


@dataclass(frozen=True, slots=True)
class Parcel:
    """A land parcel (thửa đất) with its certificate.

    ``certificate_serial`` is printed as issued, with or without the space ("CS 123456", "DA123456");
    ``area_m2`` is a decimal string with at most one decimal place; ``owner_ids`` holds person IDs
    (two for spouses' joint property); ``mortgage_holder`` names the bank holding a mortgage, if any.
    """

    certificate_serial: str
    parcel_number: int
    map_sheet: int
    address: Address
    area_m2: str
    land_use: str
    owner_ids: tuple[str, ...]
    mortgage_holder: str | None


@dataclass(frozen=True, slots=True)
class JudgmentParty:
    """A party as the court wrote it, which is not always how the population database has it.

    The court often leaves out the citizen ID, may spell the name with the other tone placement, and
    may write the address in its pre-2025 form. ``person_id_as_written`` is a 12-digit ID, an old
    9-digit CMND, or for an organisation its tax code. ``birth_year_or_date`` is "1980" or
    "12/03/1980". ``world_id`` is the ground truth (person ID or tax code), for tests only: a court
    never sends it.
    """

    role: PartyRole
    kind: PartyKind
    name_as_written: str
    person_id_as_written: str | None
    birth_year_or_date: str | None
    address_as_written: str
    world_id: str


@dataclass(frozen=True, slots=True)
class Disposition:
    """One operative order of a judgment (quyết định của bản án). ``obligor`` and ``obligee`` are
    world IDs; ``obligee`` is None when the State is paid (fees, fines) or nobody is."""

    kind: DispositionKind
    obligor: str
    obligee: str | None
    amount_vnd: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Judgment:
    """A judgment or decision with legal effect. ``court_province_code`` is the current unit (2
    digits) covering the court's seat, also for courts dissolved in 2025."""

    number: str
    court_code: str
    court_name: str
    court_province_code: str
    issued_on: date
    effective_on: date
    parties: tuple[JudgmentParty, ...]
    dispositions: tuple[Disposition, ...]
