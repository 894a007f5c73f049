"""The sandbox's synthetic world: deterministic, valid, consistent across agencies, and hard where
real data is hard.

The hub is used here only as an independent referee (its ID, province, name and judgment-number
rules); the seed package itself never imports it.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
import tomllib
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from hub.model.judgment_number import Instance, JudgmentNumber
from hub.model.names import names_match
from hub.model.person_id import decode_person_id
from hub.model.provinces import resolve_province_name
from sandbox_mocks.seed import (
    HARD_CASES,
    REFERENCE_DATE,
    World,
    build_world,
    fold,
    name_key,
    normalise_serial,
    other_tone_placement,
    shared_world,
    upper_ascii,
)
from sandbox_mocks.seed.assets import bank
from sandbox_mocks.seed.data import load
from sandbox_mocks.seed.places import provinces

ROOT = Path(__file__).resolve().parents[2]
SEED_PACKAGE = ROOT / "sandbox_mocks" / "seed"
SMALL = 2_000  # enough for every guaranteed hard case, quick to build several times
BINS = ("970436", "970418", "970405")


@pytest.fixture(scope="module")
def timed_world() -> tuple[World, float]:
    started = time.perf_counter()
    world = build_world()
    return world, time.perf_counter() - started


@pytest.fixture(scope="module")
def world(timed_world: tuple[World, float]) -> World:
    return timed_world[0]


def test_ten_thousand_citizens_are_built_quickly(timed_world: tuple[World, float]) -> None:
    world, seconds = timed_world
    print(f"build_world(): {len(world.citizens)} citizens, {len(world.accounts)} accounts, "
          f"{len(world.parcels)} parcels, {len(world.judgments)} judgments in {seconds:.2f} s")
    assert len(world.citizens) == 10_000
    assert seconds < 10  # about 0.6 s on a developer machine; loose so that CI never flakes


# -- determinism --------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_world() -> None:
    first, second = build_world(seed=7, citizens=SMALL), build_world(seed=7, citizens=SMALL)
    assert first.digest() == second.digest()
    assert first.citizens == second.citizens and first.judgments == second.judgments
    assert first.hard_cases == second.hard_cases


def test_the_same_seed_gives_the_same_world_in_other_processes_and_hash_seeds() -> None:
    """Nothing may depend on str hashing (set order) or on the process: the mocks run elsewhere."""
    script = ("import sys; from sandbox_mocks.seed import build_world; "
              f"w = build_world(seed=7, citizens={SMALL}); "
              "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('hub', 'mappings')); "
              "print(w.digest(), leaked)")
    expected = build_world(seed=7, citizens=SMALL).digest()
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True, timeout=120).stdout.split(maxsplit=1)
        assert out[0] == expected
        assert out[1].strip() == "[]", "building a world loaded the hub or the mappings"


def test_a_different_seed_gives_a_different_world() -> None:
    first, second = build_world(seed=1, citizens=SMALL), build_world(seed=2, citizens=SMALL)
    assert first.digest() != second.digest()
    assert {c.person_id for c in first.citizens} != {c.person_id for c in second.citizens}


def test_the_shared_world_is_built_once_per_arguments() -> None:
    assert shared_world(3, SMALL, BINS) is shared_world(3, SMALL, BINS)


def test_too_small_a_world_or_a_malformed_bin_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        build_world(citizens=100)
    with pytest.raises(ValueError, match="BIN"):
        build_world(citizens=SMALL, bank_bins=("97043",))


# -- citizens -----------------------------------------------------------------------------------


def test_every_citizen_id_is_valid_and_agrees_with_the_person(world: World) -> None:
    known = {f.cccd_code for f in provinces().formers}
    for c in world.citizens:
        pid = c.person_id
        assert len(pid) == 12 and pid.isascii() and pid.isdigit()
        assert pid[:3] in known and pid[:3] == c.birth_province_code
        century = 1900 + 100 * (int(pid[3]) // 2)
        assert century <= c.birth_date.year < century + 100
        assert (int(pid[3]) % 2 == 1) == (c.gender == "female")
        assert int(pid[4:6]) == c.birth_date.year % 100
        assert 1945 <= c.birth_date.year <= 2006
        info = decode_person_id(pid, today=REFERENCE_DATE)  # the hub's own rules agree
        assert info.birth_year == c.birth_date.year and info.gender.value == c.gender
        if c.legacy_id is not None:
            assert len(c.legacy_id) == 9 and c.legacy_id.isdigit() and c.birth_date.year <= 1990


def test_ids_are_unique(world: World) -> None:
    assert len({c.person_id for c in world.citizens}) == len(world.citizens)
    legacy = [c.legacy_id for c in world.citizens if c.legacy_id]
    assert len(set(legacy)) == len(legacy)
    assert len({o.tax_code for o in world.organisations}) == len(world.organisations)
    assert all(len(o.tax_code) == 10 and o.tax_code.isdigit() for o in world.organisations)


def test_names_are_nfc_and_vietnamese(world: World) -> None:
    families = Counter(c.full_name.split()[0] for c in world.citizens)
    for c in world.citizens:
        assert unicodedata.is_normalized("NFC", c.full_name)
        assert 3 <= len(c.full_name.split()) <= 4
    assert 0.33 < families["Nguyễn"] / len(world.citizens) < 0.43
    assert {"Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng"} <= set(families)
    assert any("Hoà" in c.full_name or "Thuỷ" in c.full_name for c in world.citizens)  # old placement
    assert any("Hòa" in c.full_name or "Thủy" in c.full_name for c in world.citizens)  # new placement


def test_addresses_name_one_of_the_34_units_now_and_its_former_province_before(world: World) -> None:
    units = {u.code: u for u in provinces().units}
    addresses = [c.permanent_address for c in world.citizens] + [o.address for o in world.organisations] \
        + [p.address for p in world.parcels]
    for a in addresses:
        unit = units[a.province_code]
        former = provinces().former(a.former_province_code)
        assert former.successor == a.province_code  # the merger mapping holds
        assert a.province_name == unit.name
        assert a.text == f"{a.street}, {a.commune[0].lower()}{a.commune[1:]}, {unit.display}"
        assert a.old_text.endswith(f", {a.former_district}, {former.display}")
        assert a.commune.startswith(("Phường ", "Xã "))
    for a in addresses[:2000]:  # the hub's resolver reads the same province from both forms
        for text in (a.text, a.old_text):
            resolved = resolve_province_name(text.rsplit(",", 1)[1])
            assert resolved is not None and resolved.code == a.province_code, text


def test_residence_spans_all_units_and_leans_to_the_two_metropolises(world: World) -> None:
    by_unit = Counter(c.permanent_address.province_code for c in world.citizens)
    assert set(by_unit) == {u.code for u in provinces().units}
    assert [code for code, _ in by_unit.most_common(2)] == ["79", "01"]


def test_some_records_keep_the_pre_merger_address(world: World) -> None:
    old = [c for c in world.citizens if c.old_address_text is not None]
    assert 0.25 < len(old) / len(world.citizens) < 0.35
    for c in old:
        assert c.old_address_text == c.permanent_address.old_text != c.permanent_address.text
        assert provinces().former(c.permanent_address.former_province_code).display in c.old_address_text


def test_the_seed_copy_of_the_province_table_matches_the_hubs() -> None:
    """The seed keeps its own copy (no import of the hub): the facts must not drift apart."""
    hub = tomllib.loads((ROOT / "hub" / "model" / "data" / "provinces.toml").read_text("utf-8"))
    ours = load("provinces")
    assert [(u["code"], u["name"]) for u in ours["current"]] == [(u["code"], u["name"]) for u in hub["current"]]
    assert [(f["cccd_code"], f["name"], f["successor"]) for f in ours["former"]] \
        == [(f["cccd_code"], f["name"], f["successor"]) for f in hub["former"]]


# -- assets -------------------------------------------------------------------------------------


def test_every_owner_and_party_exists(world: World) -> None:
    def exists(world_id: str) -> bool:
        return world.citizen(world_id) is not None or world.organisation(world_id) is not None

    assert all(exists(a.owner_id) for a in world.accounts)
    assert all(world.citizen(o) is not None for p in world.parcels for o in p.owner_ids)
    for j in world.judgments:
        ids = {p.world_id for p in j.parties}
        assert all(exists(i) for i in ids)
        for d in j.dispositions:
            assert d.obligor in ids and (d.obligee is None or d.obligee in ids)


def test_accounts_are_written_the_way_banks_write_them(world: World) -> None:
    assert {a.bank_bin for a in world.accounts} == set(BINS)
    assert len({(a.bank_bin, a.account_number) for a in world.accounts}) == len(world.accounts)
    for a in world.accounts:
        citizen, organisation = world.citizen(a.owner_id), world.organisation(a.owner_id)
        name = citizen.full_name if citizen is not None else organisation.name if organisation is not None else ""
        assert a.holder_name == upper_ascii(name) and a.holder_name.isascii() and a.holder_name.isupper()
        assert len(a.account_number) == bank(a.bank_bin).account_digits and a.account_number.isdigit()
        assert isinstance(a.balance_vnd, int) and a.balance_vnd >= 0
        assert a.status == "active" or a.balance_vnd == 0
        assert a.opened_on < REFERENCE_DATE
        if citizen is not None:
            assert a.opened_on.year >= citizen.birth_date.year + 18


def test_parcels_have_printed_serials_and_unique_plots(world: World) -> None:
    serials = [normalise_serial(p.certificate_serial) for p in world.parcels]
    assert len(set(serials)) == len(serials)
    assert any(" " in p.certificate_serial for p in world.parcels)
    assert any(" " not in p.certificate_serial for p in world.parcels)
    plots = {(p.address.province_code, p.address.commune, p.map_sheet, p.parcel_number) for p in world.parcels}
    assert len(plots) == len(world.parcels)
    bank_names = {bank(b).name for b in BINS}
    for p in world.parcels:
        letters, digits = normalise_serial(p.certificate_serial)[:2], normalise_serial(p.certificate_serial)[2:]
        assert all(ch.isupper() for ch in letters) and digits.isdigit() and 6 <= len(digits) <= 8
        whole, _, tenth = p.area_m2.partition(".")
        assert whole.isdigit() and (tenth == "" or (len(tenth) == 1 and tenth.isdigit() and tenth != "0"))
        assert p.land_use in {"ODT", "ONT", "LUC", "CLN", "BHK", "NTS", "TMD"}
        assert p.mortgage_holder is None or p.mortgage_holder in bank_names
        assert 1 <= len(p.owner_ids) <= 2
    joint = [p for p in world.parcels if len(p.owner_ids) == 2]
    assert joint
    for p in joint:  # joint land belongs to a married couple sharing the address
        first, second = (world.citizen(o) for o in p.owner_ids)
        assert first is not None and second is not None and first.gender != second.gender
        assert first.permanent_address == second.permanent_address


def test_asset_proportions(world: World) -> None:
    ids = [c.person_id for c in world.citizens]
    with_accounts = sum(bool(world.accounts_of(i)) for i in ids) / len(ids)
    with_land = sum(bool(world.parcels_of(i)) for i in ids) / len(ids)
    with_nothing = sum(not world.accounts_of(i) and not world.parcels_of(i) for i in ids) / len(ids)
    print(f"accounts {with_accounts:.1%}, land {with_land:.1%}, nothing {with_nothing:.1%}")
    assert 0.55 < with_accounts < 0.65
    assert 0.30 < with_land < 0.40
    assert 0.34 < with_nothing < 0.44
    assert len(world.organisations) == 300
    assert all(1 <= len(world.accounts_of(i)) <= 3 for i in ids if world.accounts_of(i))
    assert any(a.status == "closed" for a in world.accounts)
    assert any(p.mortgage_holder for p in world.parcels)


def test_look_ups_by_owner_bank_serial_and_number(world: World) -> None:
    account = world.accounts[0]
    assert account in world.accounts_of(account.owner_id)
    assert all(a.bank_bin == "970418" for a in world.accounts_of(account.owner_id, bank_bin="970418"))
    assert world.account(account.bank_bin, account.account_number) is account
    parcel = next(p for p in world.parcels if len(p.owner_ids) == 2)
    assert all(parcel in world.parcels_of(owner) for owner in parcel.owner_ids)
    squeezed = normalise_serial(parcel.certificate_serial)
    for written in (squeezed, f"{squeezed[:2]} {squeezed[2:]}", f" {squeezed.lower()} "):
        assert world.parcel_by_serial(written) is parcel
    assert world.parcel_by_serial("ZZ 000000") is None
    assert world.citizen("000000000000") is None and world.accounts_of("nobody") == ()


# -- judgments ----------------------------------------------------------------------------------


def test_about_one_judgment_per_twenty_citizens_with_valid_numbers(world: World) -> None:
    assert len(world.judgments) == len(world.citizens) // 20
    numbers = [j.number for j in world.judgments]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        JudgmentNumber.parse(number)  # the hub reads every form the world writes
    assert any("-" not in n.split("/")[2] for n in numbers)  # legacy 21/2014/HSST
    assert any("/QĐ" in n for n in numbers)  # decisions 1750/2017/QĐPT-LĐ
    assert world.judgment(numbers[0]) is world.judgments[0]
    assert world.judgment(unicodedata.normalize("NFD", numbers[0])) is world.judgments[0]


def test_judgment_dates_courts_and_amounts(world: World) -> None:
    units = {u.code for u in provinces().units}
    for j in world.judgments:
        assert date(2015, 1, 1) <= j.issued_on <= j.effective_on <= REFERENCE_DATE
        if JudgmentNumber.parse(j.number).instance is Instance.ST:
            assert 30 <= (j.effective_on - j.issued_on).days <= 45
        else:  # an appeal or cassation judgment takes effect when pronounced
            assert j.effective_on == j.issued_on
        assert j.court_province_code in units
        assert j.court_name.startswith("Tòa án nhân dân")
        if j.issued_on >= date(2025, 7, 1):
            assert "quận" not in j.court_name and "huyện" not in j.court_name and "cấp cao" not in j.court_name
        assert any(p.role == "obligor" for p in j.parties)
        for d in j.dispositions:
            if d.kind in ("pay_money", "court_fee"):
                assert isinstance(d.amount_vnd, int) and d.amount_vnd > 0
                assert f"{d.amount_vnd:,}".replace(",", ".") in d.text
            if d.kind == "pay_money":
                assert d.amount_vnd is not None and d.amount_vnd % 1000 == 0
    names = [j.court_name for j in world.judgments]
    assert any(n.startswith("Tòa án nhân dân khu vực ") for n in names)
    assert any(n.startswith(("Tòa án nhân dân quận ", "Tòa án nhân dân huyện ")) for n in names)


def test_courts_often_omit_the_citizen_id(world: World) -> None:
    people = [p for j in world.judgments for p in j.parties if p.kind == "individual"]
    omitted = sum(p.person_id_as_written is None for p in people) / len(people)
    assert 0.5 < omitted < 0.7
    for p in people:
        citizen = world.citizen(p.world_id)
        assert citizen is not None
        assert p.person_id_as_written in (None, citizen.person_id, citizen.legacy_id)
        assert p.address_as_written in (citizen.permanent_address.text, citizen.permanent_address.old_text)
        assert p.birth_year_or_date in (None, str(citizen.birth_date.year), citizen.birth_date.strftime("%d/%m/%Y"))


def test_judgments_since_returns_what_took_effect_from_that_day(world: World) -> None:
    since = date(2025, 7, 1)
    found = world.judgments_since(since)
    assert found and all(j.effective_on >= since for j in found)
    assert len(found) == sum(j.effective_on >= since for j in world.judgments)
    assert [j.effective_on for j in found] == sorted(j.effective_on for j in found)
    assert world.judgments_since(date(2030, 1, 1)) == ()


# -- hard cases ---------------------------------------------------------------------------------


def test_every_hard_case_is_present(world: World) -> None:
    assert set(world.hard_cases) == set(HARD_CASES)
    assert all(world.hard_cases[name] for name in HARD_CASES)


@pytest.mark.parametrize("seed", [1, 99])
def test_hard_cases_exist_in_small_worlds_of_any_seed(seed: int) -> None:
    small = build_world(seed=seed, citizens=500)
    assert all(small.hard_cases[name] for name in HARD_CASES)
    assert len(small.hard_cases["namesakes"]) >= 20


def test_namesakes_share_name_and_birth_date_but_live_in_different_provinces(world: World) -> None:
    ids = world.hard_cases["namesakes"]
    assert len(ids) % 2 == 0 and len(ids) >= 20
    for a_id, b_id in zip(ids[::2], ids[1::2], strict=True):
        a, b = world.citizen(a_id), world.citizen(b_id)
        assert a is not None and b is not None and a_id != b_id
        assert name_key(a.full_name) == name_key(b.full_name) and a.birth_date == b.birth_date
        assert a.permanent_address.province_code != b.permanent_address.province_code
        assert len(world.search(a.full_name, birth_date=a.birth_date)) >= 2
    # Some namesakes are debtors named without an ID: only the address tells who is meant.
    anonymous = {p.world_id for j in world.judgments for p in j.parties
                 if p.role == "obligor" and p.person_id_as_written is None}
    assert len(anonymous & set(ids)) >= 10


def test_tone_variants_differ_from_the_register_only_by_tone_placement(world: World) -> None:
    for pid in world.hard_cases["tone_variants"]:
        citizen = world.citizen(pid)
        assert citizen is not None
        written = {p.name_as_written for j in world.judgments for p in j.parties if p.world_id == pid}
        variant = next(w for w in written if w != citizen.full_name)
        assert other_tone_placement(variant) == citizen.full_name
        assert name_key(variant) == name_key(citizen.full_name)
        assert names_match(variant, citizen.full_name)  # the hub's rule agrees


def test_no_asset_debtors_have_nothing(world: World) -> None:
    debtors = {p.world_id for j in world.judgments for p in j.parties if p.role == "obligor"}
    for pid in world.hard_cases["no_assets"]:
        assert pid in debtors and world.citizen(pid) is not None
        assert world.accounts_of(pid) == () and world.parcels_of(pid) == ()


def test_old_address_parties_are_written_in_the_pre_merger_form(world: World) -> None:
    for pid in world.hard_cases["old_address_only"]:
        citizen = world.citizen(pid)
        assert citizen is not None
        written = {p.address_as_written for j in world.judgments for p in j.parties if p.world_id == pid}
        old = citizen.permanent_address.old_text
        assert old in written and old != citizen.permanent_address.text
        assert citizen.permanent_address.former_district in old
    late = [p for j in world.judgments if j.issued_on >= date(2025, 7, 1) for p in j.parties
            if p.kind == "individual" and p.world_id in world.hard_cases["old_address_only"]]
    assert late, "some judgments after the merger still write the old address"


def test_organisation_and_legacy_id_cases(world: World) -> None:
    debtors = {p.world_id for j in world.judgments for p in j.parties if p.role == "obligor"}
    for tax_code in world.hard_cases["organisation_debtors"]:
        assert world.organisation(tax_code) is not None and tax_code in debtors
    for pid in world.hard_cases["legacy_id_written"]:
        citizen = world.citizen(pid)
        assert citizen is not None and citizen.legacy_id is not None
        assert any(p.person_id_as_written == citizen.legacy_id for j in world.judgments for p in j.parties)


# -- search -------------------------------------------------------------------------------------


def test_search_finds_a_person_written_with_the_other_tone_placement_in_nfd(world: World) -> None:
    pid = world.hard_cases["tone_variants"][0]
    citizen = world.citizen(pid)
    assert citizen is not None
    query = unicodedata.normalize("NFD", other_tone_placement(citizen.full_name))
    assert query != citizen.full_name
    found = world.search(query, birth_date=citizen.birth_date)
    assert citizen in found
    assert found[0] == citizen or name_key(found[0].full_name) == name_key(citizen.full_name)


def test_search_ignores_diacritics_case_and_spacing(world: World) -> None:
    citizen = world.citizens[42]
    for query in (upper_ascii(citizen.full_name), f"  {fold(citizen.full_name)}  ", citizen.full_name.upper()):
        assert citizen in world.search(query)
    assert world.search("Không Có Ai Tên Này") == []


def test_search_filters_by_birth_date_and_current_province(world: World) -> None:
    citizen = next(c for c in world.citizens if c.full_name.startswith("Nguyễn Văn"))
    everyone = world.search(fold(citizen.full_name))
    here = world.search(citizen.full_name, province_code=citizen.permanent_address.province_code)
    assert citizen in here
    assert all(c.permanent_address.province_code == citizen.permanent_address.province_code for c in here)
    assert len(here) <= len(everyone)
    elsewhere = next(u.code for u in provinces().units if u.code != citizen.permanent_address.province_code)
    assert citizen not in world.search(citizen.full_name, province_code=elsewhere)
    assert world.search(citizen.full_name, birth_date=citizen.birth_date, province_code=elsewhere) \
        == [c for c in everyone if c.birth_date == citizen.birth_date
            and c.permanent_address.province_code == elsewhere]
    results = world.search(citizen.full_name)
    results.append(citizen)  # the caller owns the list; the world is untouched
    assert len(world.search(citizen.full_name)) == len(results) - 1


# -- independence -------------------------------------------------------------------------------


def test_the_seed_package_imports_neither_the_hub_nor_the_mappings() -> None:
    forbidden = {"hub", "mappings"}
    sources = sorted(SEED_PACKAGE.rglob("*.py"))
    assert sources
    for source in sources:
        tree = ast.parse(source.read_text("utf-8"), filename=str(source))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) \
                    in ("import_module", "__import__", "files"):
                modules = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in forbidden, f"{source.relative_to(ROOT)} imports {module}"
