"""Judgments and decisions with legal effect, written the way courts write parties.

A court writes what it was told in the hearing: often no citizen ID, the name in whichever tone
placement the clerk uses, the address as the party gave it (before 1 July 2025 always in the old
province -> district -> commune form). The ground truth stays in ``JudgmentParty.world_id``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sandbox_mocks.seed.courts import court_for, reform_date
from sandbox_mocks.seed.data import load
from sandbox_mocks.seed.places import Commune, Gazetteer
from sandbox_mocks.seed.records import (
    Address,
    Citizen,
    Disposition,
    DispositionKind,
    Gender,
    Judgment,
    JudgmentParty,
    Organisation,
    Parcel,
    PartyKind,
    PartyRole,
)
from sandbox_mocks.seed.sampling import Weighted, log_uniform, random_date
from sandbox_mocks.seed.spelling import format_vnd, has_tone_variant, other_tone_placement

FIRST_ISSUE_DAY = date(2015, 1, 1)
# Proportions of how courts write parties.
ID_OMITTED_SHARE = 0.60  # individuals written without any ID number
LEGACY_ID_SHARE = 0.60  # of IDs written before LEGACY_ID_UNTIL for people who have a CMND, the CMND
LEGACY_ID_UNTIL = 2021  # chip-based căn cước became the common card that year
OTHER_TONE_SHARE = 0.50  # names with a movable tone written in the other placement than the register
LATE_OLD_ADDRESS_SHARE = 0.20  # after the merger, addresses still copied from old files
TAX_CODE_WRITTEN_SHARE = 0.50  # organisations written with their tax code
RELATED_SPOUSE_SHARE = 0.15  # civil and business cases naming the debtor's spouse as a related party
HAND_OVER_SHARE = 0.25  # civil cases against a landowner that order the land handed over
# Share of individuals among the debtors of each case type; the rest are organisations.
_INDIVIDUAL_DEBTORS = {"DS": 0.92, "HS": 1.0, "HNGĐ": 1.0, "KDTM": 0.5, "LĐ": 0.0}
# Share of organisations among the creditors of each case type (HS: the victim is a person).
_ORGANISATION_CREDITORS = {"DS": 0.25, "HS": 0.0, "HNGĐ": 0.0, "KDTM": 0.85, "LĐ": 0.0}


@dataclass(frozen=True, slots=True)
class Actor:
    """Someone who can be a party: a citizen or an organisation, with what a court may write."""

    world_id: str
    kind: PartyKind
    name: str
    address: Address
    commune: Commune
    gender: Gender | None = None
    birth_date: date | None = None
    legacy_id: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A judgment to write against ``obligor``, with what must be true of how it is written."""

    obligor: Actor
    other_tone: bool = False  # the obligor's name in the other tone placement
    old_address: bool = False  # the obligor's address in the pre-merger form, whatever the date
    omit_id: bool = False  # no ID number for the obligor


def citizen_actor(citizen: Citizen, gazetteer: Gazetteer) -> Actor:
    address = citizen.permanent_address
    return Actor(world_id=citizen.person_id, kind="individual", name=citizen.full_name, address=address,
                 commune=gazetteer.commune_of(address), gender=citizen.gender, birth_date=citizen.birth_date,
                 legacy_id=citizen.legacy_id)


def organisation_actor(organisation: Organisation, gazetteer: Gazetteer) -> Actor:
    return Actor(world_id=organisation.tax_code, kind="organisation", name=organisation.name,
                 address=organisation.address, commune=gazetteer.commune_of(organisation.address))


@dataclass(slots=True)
class _Draft:
    """A judgment being written: its parties as written, in order of appearance, and its orders."""

    case_type: str
    instance: str
    issued_on: date
    plan: Plan
    written: dict[str, JudgmentParty]
    dispositions: list[Disposition]


class JudgmentWriter:
    def __init__(self, rng: random.Random, people: Sequence[Actor], organisations: Sequence[Actor],
                 spouse_of: dict[str, Actor], parcels_of: dict[str, list[Parcel]], last_issue_day: date) -> None:
        self.rng = rng
        self.people = people
        self.organisations = organisations
        self.spouse_of = spouse_of
        self.parcels_of = parcels_of
        self.last_issue_day = last_issue_day
        raw = load("courts")
        self.fees: dict[str, Any] = raw["fees"]
        self.numbers: dict[str, Any] = raw["numbers"]
        self.fee_labels = {str(t["code"]): str(t["fee_label"]) for t in raw["case_types"]}
        weights = {str(t["code"]): float(t["weight"]) for t in raw["case_types"]}
        self.case_types_for: dict[PartyKind, Weighted[str]] = {
            "individual": Weighted((c, w * _INDIVIDUAL_DEBTORS[c]) for c, w in weights.items()),
            "organisation": Weighted((c, w * (1 - _INDIVIDUAL_DEBTORS[c])) for c, w in weights.items()),
        }
        individual = sum(w * _INDIVIDUAL_DEBTORS[c] for c, w in weights.items())
        self.debtor_kinds: Weighted[PartyKind] = Weighted(
            [("individual", individual), ("organisation", sum(weights.values()) - individual)])
        self.instances = Weighted(((str(code), str(label)), float(w)) for code, w, label in raw["instances"]["weights"])
        self.used_numbers: set[str] = set()
        self._orders: dict[str, Callable[[_Draft], int]] = {
            "DS": self._civil, "HS": self._criminal, "HNGĐ": self._family, "KDTM": self._business,
            "LĐ": self._labour,
        }
        if set(self._orders) != set(weights):
            raise ValueError(f"case types in courts.toml {sorted(weights)} differ from those written here")

    def random_plan(self) -> Plan:
        if not self.organisations or self.debtor_kinds.pick(self.rng) == "individual":
            return Plan(self.rng.choice(self.people))
        return Plan(self.rng.choice(self.organisations))

    def write(self, plan: Plan) -> Judgment:
        rng = self.rng
        obligor = plan.obligor
        case_type = self.case_types_for[obligor.kind].pick(rng)
        instance, instance_label = self.instances.pick(rng)
        issued_on = random_date(rng, FIRST_ISSUE_DAY, self.last_issue_day)
        # A first-instance judgment takes effect once the appeal and protest periods have run out; an
        # appeal or cassation judgment on the day it is pronounced.
        effective_on = issued_on + timedelta(days=rng.randint(30, 45)) if instance == "ST" else issued_on
        draft = _Draft(case_type=case_type, instance=instance, issued_on=issued_on, plan=plan, written={},
                       dispositions=[])
        self._add_party(draft, "obligor", obligor)
        total = self._orders[case_type](draft)
        if instance != "GĐT":  # cassation carries no court fee
            self._court_fee(draft, total, instance_label)
        # Before the reform, large claims and many business disputes started at the provincial court.
        provincial = total >= 1_000_000_000 or (case_type == "KDTM" and rng.random() < 0.5)
        court = court_for(obligor.commune, instance, issued_on, provincial_first_instance=provincial)
        return Judgment(
            number=self._number(case_type, instance, issued_on.year),
            court_code=court.code, court_name=court.name, court_province_code=court.province_code,
            issued_on=issued_on, effective_on=effective_on,
            parties=tuple(draft.written.values()),
            dispositions=tuple(draft.dispositions),
        )

    # -- parties -------------------------------------------------------------------------------------

    def _add_party(self, draft: _Draft, role: PartyRole, actor: Actor) -> None:
        if actor.world_id in draft.written:
            return
        forced = draft.plan if actor is draft.plan.obligor else Plan(actor)
        draft.written[actor.world_id] = self._as_written(role, actor, draft.issued_on, forced)

    def _as_written(self, role: PartyRole, actor: Actor, issued_on: date, plan: Plan) -> JudgmentParty:
        rng = self.rng
        old = plan.old_address or issued_on < reform_date() or rng.random() < LATE_OLD_ADDRESS_SHARE
        address = actor.address.old_text if old else actor.address.text
        if actor.kind == "organisation":
            tax_code = actor.world_id if not plan.omit_id and rng.random() < TAX_CODE_WRITTEN_SHARE else None
            return JudgmentParty(role=role, kind="organisation", name_as_written=actor.name,
                                 person_id_as_written=tax_code, birth_year_or_date=None,
                                 address_as_written=address, world_id=actor.world_id)
        name = actor.name
        if has_tone_variant(name) and (plan.other_tone or rng.random() < OTHER_TONE_SHARE):
            name = other_tone_placement(name)
        written_id = None
        if not plan.omit_id and rng.random() >= ID_OMITTED_SHARE:
            use_legacy = actor.legacy_id and issued_on.year < LEGACY_ID_UNTIL and rng.random() < LEGACY_ID_SHARE
            written_id = actor.legacy_id if use_legacy else actor.world_id
        birth = None
        if actor.birth_date is not None:
            roll = rng.random()
            if roll < 0.55:
                birth = str(actor.birth_date.year)  # "sinh năm 1980"
            elif roll < 0.9:
                birth = actor.birth_date.strftime("%d/%m/%Y")
        return JudgmentParty(role=role, kind="individual", name_as_written=name, person_id_as_written=written_id,
                             birth_year_or_date=birth, address_as_written=address, world_id=actor.world_id)

    def _creditor(self, draft: _Draft, organisation_share: float) -> Actor:
        rng = self.rng
        while True:
            if self.organisations and rng.random() < organisation_share:
                actor = rng.choice(self.organisations)
            else:
                actor = rng.choice(self.people)
            if actor.world_id not in draft.written:
                return actor

    def _ref(self, draft: _Draft, actor: Actor, accused: bool = False) -> str:
        """How the operative part names a party: "ông Nguyễn Văn Hòa", "bị cáo ...", or the company."""
        name = draft.written[actor.world_id].name_as_written
        if actor.kind == "organisation":
            return name
        if accused:
            return f"bị cáo {name}"
        return f"{'ông' if actor.gender == 'male' else 'bà'} {name}"

    def _order(self, draft: _Draft, kind: DispositionKind, obligor: Actor, obligee: Actor | None,
               amount: int | None, text: str) -> None:
        draft.dispositions.append(Disposition(kind=kind, obligor=obligor.world_id,
                                              obligee=obligee.world_id if obligee else None,
                                              amount_vnd=amount, text=text))

    def _maybe_spouse(self, draft: _Draft, debtor: Actor) -> None:
        spouse = self.spouse_of.get(debtor.world_id)
        if spouse is not None and self.rng.random() < RELATED_SPOUSE_SHARE:
            self._add_party(draft, "related", spouse)

    # -- operative orders by case type; each returns the money value the court fee is computed on --

    def _civil(self, draft: _Draft) -> int:
        rng = self.rng
        debtor = draft.plan.obligor
        creditor = self._creditor(draft, _ORGANISATION_CREDITORS["DS"])
        self._add_party(draft, "obligee", creditor)
        amount = log_uniform(rng, 5_000_000, 2_000_000_000)
        self._order(draft, "pay_money", debtor, creditor, amount,
                    f"Buộc {self._ref(draft, debtor)} phải trả cho {self._ref(draft, creditor)} "
                    f"số tiền {format_vnd(amount)} đồng.")
        parcels = self.parcels_of.get(debtor.world_id, [])
        if parcels and rng.random() < HAND_OVER_SHARE:
            self._hand_over(draft, debtor, creditor, rng.choice(parcels))
        elif rng.random() < 0.08:
            self._order(draft, "perform_act", debtor, creditor, None,
                        f"Buộc {self._ref(draft, debtor)} phải tháo dỡ toàn bộ công trình xây dựng lấn chiếm "
                        f"trên phần đất của {self._ref(draft, creditor)}.")
        self._maybe_spouse(draft, debtor)
        return amount

    def _criminal(self, draft: _Draft) -> int:
        rng = self.rng
        accused = draft.plan.obligor
        civil = 0
        if rng.random() < 0.6:
            victim = self._creditor(draft, _ORGANISATION_CREDITORS["HS"])
            self._add_party(draft, "obligee", victim)
            civil = log_uniform(rng, 5_000_000, 500_000_000)
            self._order(draft, "pay_money", accused, victim, civil,
                        f"Buộc {self._ref(draft, accused, accused=True)} phải bồi thường cho "
                        f"{self._ref(draft, victim)} số tiền {format_vnd(civil)} đồng.")
        if not civil or rng.random() < 0.3:
            fine = log_uniform(rng, 10_000_000, 200_000_000, step=1_000_000)
            self._order(draft, "pay_money", accused, None, fine,
                        f"Phạt {self._ref(draft, accused, accused=True)} số tiền {format_vnd(fine)} đồng "
                        "để sung vào ngân sách Nhà nước.")
        return civil

    def _family(self, draft: _Draft) -> int:
        rng = self.rng
        debtor = draft.plan.obligor
        spouse = self.spouse_of.get(debtor.world_id)
        if spouse is None:  # divorced long ago, or not in the household register any more
            while True:
                spouse = rng.choice(self.people)
                if spouse.gender != debtor.gender and spouse.world_id != debtor.world_id:
                    break
        self._add_party(draft, "obligee", spouse)
        parcels = [p for p in self.parcels_of.get(debtor.world_id, []) if spouse.world_id in p.owner_ids]
        if parcels and rng.random() < 0.4:
            self._hand_over(draft, debtor, spouse, rng.choice(parcels))
            return 0
        if rng.random() < 0.6:
            amount = log_uniform(rng, 30_000_000, 300_000_000)
            self._order(draft, "pay_money", debtor, spouse, amount,
                        f"Buộc {self._ref(draft, debtor)} phải cấp dưỡng nuôi con chung một lần cho "
                        f"{self._ref(draft, spouse)} số tiền {format_vnd(amount)} đồng.")
            return 0  # child support carries no fee on its value
        amount = log_uniform(rng, 100_000_000, 2_000_000_000)
        self._order(draft, "pay_money", debtor, spouse, amount,
                    f"Buộc {self._ref(draft, debtor)} phải thanh toán cho {self._ref(draft, spouse)} "
                    f"giá trị tài sản chung được chia số tiền {format_vnd(amount)} đồng.")
        return amount

    def _business(self, draft: _Draft) -> int:
        rng = self.rng
        debtor = draft.plan.obligor
        creditor = self._creditor(draft, _ORGANISATION_CREDITORS["KDTM"])
        self._add_party(draft, "obligee", creditor)
        amount = log_uniform(rng, 50_000_000, 2_000_000_000)
        self._order(draft, "pay_money", debtor, creditor, amount,
                    f"Buộc {self._ref(draft, debtor)} phải thanh toán cho {self._ref(draft, creditor)} "
                    f"tổng số tiền nợ gốc và lãi là {format_vnd(amount)} đồng.")
        self._maybe_spouse(draft, debtor)
        return amount

    def _labour(self, draft: _Draft) -> int:
        rng = self.rng
        employer = draft.plan.obligor
        worker = self._creditor(draft, _ORGANISATION_CREDITORS["LĐ"])
        self._add_party(draft, "obligee", worker)
        amount = log_uniform(rng, 10_000_000, 500_000_000)
        self._order(draft, "pay_money", employer, worker, amount,
                    f"Buộc {self._ref(draft, employer)} phải trả cho {self._ref(draft, worker)} tiền lương, "
                    f"trợ cấp thôi việc và tiền bồi thường tổng cộng {format_vnd(amount)} đồng.")
        if rng.random() < 0.3:
            self._order(draft, "perform_act", employer, worker, None,
                        f"Buộc {self._ref(draft, employer)} phải nhận {self._ref(draft, worker)} trở lại làm việc.")
        return amount

    def _hand_over(self, draft: _Draft, debtor: Actor, creditor: Actor, parcel: Parcel) -> None:
        spouse = self.spouse_of.get(debtor.world_id)
        if spouse is not None and spouse.world_id in parcel.owner_ids:
            self._add_party(draft, "related", spouse)  # a joint owner has a say in what happens to the land
        place = parcel.address.old_text if draft.issued_on < reform_date() else parcel.address.text
        self._order(draft, "hand_over_asset", debtor, creditor, None,
                    f"Buộc {self._ref(draft, debtor)} phải giao cho {self._ref(draft, creditor)} quyền sử dụng "
                    f"thửa đất số {parcel.parcel_number}, tờ bản đồ số {parcel.map_sheet}, diện tích "
                    f"{parcel.area_m2} m², tại {place}, theo Giấy chứng nhận quyền sử dụng đất số "
                    f"{parcel.certificate_serial}.")

    def _court_fee(self, draft: _Draft, value: int, instance_label: str) -> None:
        debtor = draft.plan.obligor
        case_type = draft.case_type
        fees = self.fees
        if draft.instance == "PT":
            fee = int(fees["appeal_business" if case_type == "KDTM" else "appeal"])
        elif case_type == "HS":
            fee = int(fees["criminal"])
        elif case_type == "KDTM":
            fee = tiered_fee(fees["business"], value)
        elif case_type == "LĐ":
            fee = tiered_fee(fees["labour"], value)
        elif value:
            fee = tiered_fee(fees["civil"], value)
        else:
            fee = int(fees["no_value"])
        ref = self._ref(draft, debtor, accused=case_type == "HS")
        self._order(draft, "court_fee", debtor, None, fee,
                    f"{ref[0].upper()}{ref[1:]} phải chịu {format_vnd(fee)} đồng án phí "
                    f"{self.fee_labels[case_type]} {instance_label}.")
        if case_type == "HS" and value and draft.instance == "ST":
            # The civil part of a criminal judgment pays the civil fee on the compensation.
            civil_fee = tiered_fee(fees["civil"], value)
            self._order(draft, "court_fee", debtor, None, civil_fee,
                        f"{ref[0].upper()}{ref[1:]} phải chịu {format_vnd(civil_fee)} đồng án phí dân sự sơ thẩm.")

    def _number(self, case_type: str, instance: str, year: int) -> str:
        """A number unique in the world (real numbers are unique per court only)."""
        rng = self.rng
        decision = rng.random() < float(self.numbers["decision_share"])
        legacy = year <= int(self.numbers["legacy_until"]) and rng.random() < float(self.numbers["legacy_share"])
        while True:
            seq = rng.randint(1, 2000 if decision else 600)
            if decision:
                number = f"{seq:02d}/{year}/QĐ{instance}-{case_type}"
            elif legacy:
                number = f"{seq:02d}/{year}/{case_type}{instance}"
            else:
                number = f"{seq:02d}/{year}/{case_type}-{instance}"
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number


def tiered_fee(tiers: Sequence[dict[str, int]], value: int) -> int:
    """The court fee on a money value: the first tier whose ``up_to`` the value does not exceed."""
    for tier in tiers:
        if "up_to" not in tier or value <= tier["up_to"]:
            return int(tier["fixed"]) + (value - int(tier["over"])) * int(tier["per_mille"]) // 1000
    raise ValueError("the last fee tier must have no upper bound")
