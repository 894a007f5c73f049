"""Verification without a citizen ID, against the running sandbox: the person is resolved from what a
judgment says (name, birth date or year, address) before anything else is looked up.

Subjects are picked from the seed world: a unique person with assets, namesakes with the same birth date,
a name the court wrote with the other tone placement (Hoà / Hòa), and a namesake whose judgment gives the
pre-2025 address in a province that has since merged into another.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from hub.clients import add_client
from hub.identity import place_in_text
from sandbox_mocks.seed.spelling import fold
from sandbox_mocks.seed.world import Citizen, JudgmentParty, World
from tests.api import test_verifications as served
from tests.api.test_verifications import PURPOSE, Hub, by_agency

# The sandbox and the hub of the verification API tests, served once more for this module.
sandbox_world = served.sandbox_world
hub = served.hub

ALL_SCOPES = ["identity", "residence", "bank_accounts", "land"]
BANKS = ("970436", "970418", "970405")


def by_name(hints: dict[str, Any], scopes: list[str], deadline_ms: int = 8000) -> dict[str, Any]:
    return {"hints": hints, "scopes": scopes, "deadline_ms": deadline_ms, **PURPOSE}


def born(citizen: Citizen) -> str:
    return citizen.birth_date.isoformat()


def masked(person_id: str) -> str:
    return person_id[:3] + "******" + person_id[-3:]


def alike(world: World, citizen: Citizen) -> list[Citizen]:
    """Everyone the population database returns for this name and birth date."""
    return [c for c in world.citizens if fold(c.full_name) == fold(citizen.full_name)
            and c.birth_date == citizen.birth_date]


def received(hub: Hub, agency: str) -> list[dict[str, Any]]:
    path = agency.replace("bank-", "banks/")
    answer: list[dict[str, Any]] = httpx.get(f"{hub.sandbox}/{path}/_admin/recorder").json()["received"]
    return answer


def asset_calls(hub: Hub) -> int:
    return sum(len(received(hub, a)) for a in ("land", *(f"bank-{b}" for b in BANKS)))


def reasons(candidate: dict[str, Any]) -> list[str]:
    return [r["reason"] for r in candidate["reasons"]]


def subject_entries(hub: Hub, person_id: str) -> list[dict[str, Any]]:
    answer = httpx.post(f"{hub.url}/v1/audit/subject-report", json={"person_id": person_id},
                        headers={"Authorization": f"Bearer {hub.keys['auditor']}"})
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


def test_a_unique_match_proceeds_to_the_asset_look_ups(hub: Hub) -> None:
    world = hub.world
    person = next(c for c in world.citizens if world.parcels_of(c.person_id) and world.accounts_of(c.person_id)
                  and len(alike(world, c)) == 1)
    before = asset_calls(hub)
    resp = hub.post("all", by_name({"full_name": person.full_name, "birth_date": born(person)}, ALL_SCOPES))
    assert resp.status_code == 200, resp.text
    report = resp.json()
    resolution = report["identity_resolution"]
    assert resolution["decision"] == "resolved", resolution
    (only,) = resolution["candidates"]
    assert reasons(only) == ["name_exact", "birth_date_exact", "province_unknown"] and only["score"] == 85
    assert only["person_id_masked"] == report["subject_masked"] == masked(person.person_id)
    sources = by_agency(report)
    assert sources["population"]["identity"]["person_id"] == person.person_id
    assert sources["population"]["scopes"] == ["identity", "residence"] and sources["population"]["matches"] == 1
    assert {p["certificate_serial"] for p in sources["land"]["parcels"]} == {
        p.certificate_serial.replace(" ", "") for p in world.parcels_of(person.person_id)}
    for bank in BANKS:
        found = {a["account_number"] for a in sources[f"bank-{bank}"]["accounts"]}
        assert found == {a.account_number for a in world.accounts_of(person.person_id, bank)}
    assert asset_calls(hub) == before + 1 + len(BANKS)  # the land registry and each bank, once
    # banks write the holder without diacritics: that is not a mismatch
    assert report["mismatches"] == [] and report["completeness"] == "complete"
    # the search answer served the identity scopes: the population database was asked once, by name
    assert [r["operation"] for r in received(hub, "population")][-1] == "TimKiemCongDan"
    # the look-up is answerable to the person it resolved to, and the search went out bound to the case
    assert ("hub", "response") in {(e["agency"], e["kind"]) for e in subject_entries(hub, person.person_id)}
    searches = hub.log_rows(agency="population", operation="TimKiemCongDan")
    assert searches and all(r.case_ref == PURPOSE["case_ref"] and r.purpose == PURPOSE["purpose"] for r in searches)


def test_namesakes_with_the_same_birth_date_are_ambiguous_and_nothing_else_is_asked(hub: Hub) -> None:
    world = hub.world
    pairs = world.hard_cases["namesakes"]
    a, b = next((world.citizen(x), world.citizen(y)) for x, y in zip(pairs[::2], pairs[1::2], strict=True)
                if world.accounts_of(x) or world.accounts_of(y))
    assert a is not None and b is not None and {c.person_id for c in alike(world, a)} == {a.person_id, b.person_id}
    before = asset_calls(hub)
    resp = hub.post("all", by_name({"full_name": a.full_name, "birth_date": born(a)}, ALL_SCOPES))
    assert resp.status_code == 200, resp.text
    report = resp.json()
    resolution = report["identity_resolution"]
    assert resolution["decision"] == "ambiguous"
    assert {c["person_id_masked"] for c in resolution["candidates"]} == {masked(a.person_id), masked(b.person_id)}
    for candidate in resolution["candidates"]:
        assert reasons(candidate)[1:] == ["birth_date_exact", "province_unknown"]
    assert asset_calls(hub) == before  # no bank, no land registry
    sources = report["sources"]
    assert [s["agency"] for s in sources if s["status"] != "skipped"] == ["population"]
    assert {s["scopes"][0] for s in sources if s["status"] == "skipped"} == {"residence", "bank_accounts", "land"}
    assert report["subject_masked"] is None and report["completeness"] == "partial"
    assert a.person_id not in resp.text and b.person_id not in resp.text
    stored = httpx.get(f"{hub.url}/v1/verifications/{report['id']}",
                       headers={"Authorization": f"Bearer {hub.keys['all']}"})
    assert stored.status_code == 200 and stored.json()["report"]["identity_resolution"] == resolution
    # both people's data reached the officer: each can see the look-up in their subject report
    for person in (a, b):
        assert "IdentityCandidate" in {e["operation"] for e in subject_entries(hub, person.person_id)}


def test_the_name_in_the_other_tone_placement_resolves(hub: Hub) -> None:
    world = hub.world
    written: JudgmentParty = next(p for j in world.judgments for p in j.parties
                                  if p.world_id in world.hard_cases["tone_variants"])
    person = world.citizen(written.world_id)
    assert person is not None and written.name_as_written != person.full_name
    resp = hub.post("all", by_name({"full_name": written.name_as_written, "birth_date": born(person)},
                                   ["identity", "bank_accounts"]))
    report = resp.json()
    assert report["identity_resolution"]["decision"] == "resolved", report["identity_resolution"]
    (only,) = report["identity_resolution"]["candidates"]
    assert reasons(only)[0] == "name_same_after_tone_placement" and only["score"] == 85
    assert by_agency(report)["population"]["identity"]["person_id"] == person.person_id
    assert by_agency(report)["population"]["identity"]["full_name"] == person.full_name  # as the registry spells it
    assert all(by_agency(report)[f"bank-{b}"]["status"] == "ok" for b in BANKS)


def test_a_namesake_placed_by_an_old_province_address_resolves(hub: Hub) -> None:
    world = hub.world
    namesakes = set(world.hard_cases["namesakes"])

    def merged_away(p: JudgmentParty) -> bool:
        """A judgment address naming a former province that is not today's unit of the same name."""
        citizen = world.citizen(p.world_id)
        place = place_in_text(p.address_as_written)
        return (citizen is not None and p.address_as_written == citizen.permanent_address.old_text
                and citizen.old_address_text is None and place is not None and place.former is not None)

    written = next(p for j in world.judgments for p in j.parties if p.world_id in namesakes and merged_away(p))
    person = world.citizen(written.world_id)
    assert person is not None and len(alike(world, person)) == 2
    hints = {"full_name": written.name_as_written, "birth_year": person.birth_date.year,
             "address": written.address_as_written}
    resp = hub.post("all", by_name(hints, ["identity", "land"]))
    report = resp.json()
    resolution = report["identity_resolution"]
    assert resolution["decision"] == "resolved", resolution
    best, other = resolution["candidates"]
    assert best["person_id_masked"] == masked(person.person_id)
    assert reasons(best)[1:] == ["birth_year_matches", "former_province_maps_to_same"]
    assert reasons(other)[2] == "province_differs"
    assert by_agency(report)["land"]["status"] == "ok"


def test_refusals_before_any_search(hub: Hub) -> None:
    person = hub.world.citizens[0]
    searches = len(received(hub, "population"))
    no_birth = hub.post("all", by_name({"full_name": person.full_name}, ["identity"]))
    assert no_birth.status_code == 400 and no_birth.json()["rule"] == "birth_date_required"
    contradicting = hub.post("all", by_name({"full_name": person.full_name, "birth_year": 1901,
                                             "birth_date": born(person)}, ["identity"]))
    assert contradicting.status_code == 400 and contradicting.json()["rule"] == "birth_year_mismatch"
    _, banks_only = add_client(hub.db, "case-banks-only", ["verify:bank_accounts"])
    refused = httpx.post(f"{hub.url}/v1/verifications", timeout=30, headers={"Authorization": f"Bearer {banks_only}"},
                         json=by_name({"full_name": person.full_name, "birth_date": born(person)}, ["bank_accounts"]))
    assert refused.status_code == 403 and refused.json()["missing"] == ["verify:identity"]
    assert len(received(hub, "population")) == searches


# Last: the search it leaves behind at the sandbox still answers (late) after the test.
def test_a_search_that_outlasts_the_deadline_looks_nothing_else_up(hub: Hub) -> None:
    person = hub.world.citizens[0]
    # Slow enough to miss the deadline, short enough not to hold the sandbox's shutdown for long.
    hub.faults("population", latency_ms=2500)
    before = asset_calls(hub)
    started = time.monotonic()
    resp = hub.post("all", by_name({"full_name": person.full_name, "birth_date": born(person)}, ALL_SCOPES,
                                   deadline_ms=1000))
    assert time.monotonic() - started < 1.0 + 0.5
    report = resp.json()
    assert report["identity_resolution"]["decision"] == "no_answer"
    assert by_agency(report)["population"]["status"] == "timed_out"
    assert asset_calls(hub) == before
