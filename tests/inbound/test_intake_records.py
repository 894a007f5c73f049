"""Intake records: each accepted judgment opens a case in state "received" at the office the routing
rule names, readable at GET /v1/cases/{id}; parties without a citizen ID are resolved after intake and
carry the outcome."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path
from typing import Any, cast

import httpx
from lxml import etree
from sqlalchemy import select

from adapters import soap_envelope
from hub.bootstrap import build_services
from hub.clients import add_client
from hub.connector import Connector
from hub.connectors_runtime import ConnectorSet
from hub.inbound.identity import IdentityResolutionHandler
from hub.inbound.intake_store import IDENTITY_QUEUE, get_record
from hub.inbound.routing import RoutingRules
from hub.model import Party, PartyKind, SubjectHints, fold_diacritics
from hub.model.intake import ResolutionState
from hub.model.judgment import Court
from hub.resilience.context import CallContext
from hub.settings import Settings
from hub.store.database import Database
from hub.store.tables import intakes, outbox
from hub.worker.streams import Entry
from sandbox_mocks.court import judgment_push_items
from sandbox_mocks.seed.world import World
from tests.conftest import ServedApp

VN = dt.timezone(dt.timedelta(hours=7))


def push_rest(hub: ServedApp, key_dir: Path, world: World, start: int, count: int) -> None:
    for item in judgment_push_items(world, key_dir, count=count, start=start):
        answer = httpx.post(f"{hub.url}/v1/inbound/judgments", content=etree.tostring(soap_envelope.unwrap(item.body)),
                            headers={"content-type": "application/xml"})
        assert answer.status_code == 200, answer.text


def test_each_judgment_opens_a_received_case_at_the_routed_office(hub: ServedApp, key_dir: Path, world: World,
                                                                  db: Database) -> None:
    push_rest(hub, key_dir, world, 0, 4)
    _, key = add_client(db, "case-system", ["cases:read"])
    with db.engine.connect() as conn:
        case_ids = [r.case_id for r in conn.execute(select(intakes.c.case_id))]
    assert len(case_ids) == 4
    seen_numbers = set()
    for case_id in case_ids:
        answer = httpx.get(f"{hub.url}/v1/cases/{case_id}", headers={"authorization": f"Bearer {key}"})
        assert answer.status_code == 200, answer.text
        view = answer.json()
        judgment, case = view["judgment"], view["case"]
        source = next(j for j in world.judgments if j.number == judgment["number"]["text"])
        seen_numbers.add(source.number)
        assert case["status"] == "received" and case["judgment_id"] == judgment["id"]
        assert case["office"]["province_code"] == source.court_province_code  # the rule in routing.toml
        assert case["office"]["code"] == f"THADS-{source.court_province_code}"
        assert case["opened_on"] == dt.datetime.now(VN).date().isoformat()
        assert [o["obligation_id"] for o in case["obligations"]] == [o["id"] for o in judgment["obligations"]]
        assert view["case_ref"].startswith(f"THADS-{source.court_province_code}-")
        assert view["source"]["agency"] == "court" and view["source"]["channel"] == "rest"
        without_id = [jp["party"]["id"] for jp in judgment["parties"]
                      if jp["party"]["kind"] == "individual" and jp["party"]["person_id"] is None]
        assert [r["party_id"] for r in view["resolutions"]] == without_id
        assert all(r["state"] == "pending" for r in view["resolutions"])
    assert seen_numbers == {j.number for j in world.judgments[:4]}
    assert httpx.get(f"{hub.url}/v1/cases/{case_ids[0]}").status_code == 401
    missing = httpx.get(f"{hub.url}/v1/cases/00000000-0000-0000-0000-000000000000",
                        headers={"authorization": f"Bearer {key}"})
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


def test_routing_is_data_a_listed_court_goes_to_the_office_named(tmp_path: Path) -> None:
    rules = tmp_path / "routing.toml"
    rules.write_text('fallback_province = "01"\n[office]\ncode = "CTHADS-{province}"\nname = "Cục {province_name}"\n'
                     'level = "provincial"\n[courts]\n"TAND-TC" = "79"\n', encoding="utf-8")
    loaded = RoutingRules.load(rules)
    supreme = loaded.office_for(Court(code="TAND-TC", name="Tòa án nhân dân tối cao", level="supreme",
                                      province_code="01"))
    assert (supreme.code, supreme.province_code) == ("CTHADS-79", "79")
    nowhere = loaded.office_for(Court(code="TAND-X", name="Tòa án", level="high"))
    assert nowhere.code == "CTHADS-01"


class Registry:
    """The population database, in memory: one citizen for each name and birth it is given."""

    agency_id = "population"

    def __init__(self, people: list[Party]) -> None:
        self.people = people
        self.searched: list[SubjectHints] = []

    async def lookup_person(self, person_id: str, call: CallContext) -> Party | None:
        return next((p for p in self.people if p.person_id == person_id), None)

    async def search_people(self, hints: SubjectHints, call: CallContext) -> list[Party]:
        self.searched.append(hints)
        name = fold_diacritics(hints.full_name).casefold()
        return [p for p in self.people if fold_diacritics(p.full_name).casefold() == name]


def citizen_like(party: dict[str, Any], serial: int) -> Party:
    born = dt.date.fromisoformat(party["birth_date"]) if party["birth_date"] else dt.date(
        int(party["extensions"]["NamSinh"]), 1, 1)
    century = 0 if born.year < 2000 else 2
    return Party(kind=PartyKind.INDIVIDUAL, full_name=party["full_name"], birth_date=born,
                 person_id=f"079{century}{born.year % 100:02d}{serial:06d}")


def test_parties_without_an_id_are_resolved_after_intake_and_carry_the_outcome(
        hub: ServedApp, key_dir: Path, world: World, db: Database, inbound_settings: Settings) -> None:
    push_rest(hub, key_dir, world, 0, 10)
    with db.engine.connect() as conn:
        staged = [r.fields["intake_id"] for r in conn.execute(outbox.select().where(outbox.c.queue == IDENTITY_QUEUE))]
    assert staged, "the world's first judgments name someone without a citizen ID"
    record = get_record(db, intake_id=uuid.UUID(staged[0]))
    pending = [record.judgment.party(r.party_id).model_dump(mode="json") for r in record.resolutions]
    searchable = [p for p in pending if p["birth_date"] or "NamSinh" in p["extensions"]]
    registry = Registry([citizen_like(p, i) for i, p in enumerate(searchable, start=1)])

    async def run() -> None:
        services = build_services(inbound_settings)
        services.connectors = ConnectorSet({"population": cast(Connector, registry)})
        try:
            handler = IdentityResolutionHandler(services)
            await handler.handle(Entry(id="1-0", fields={"intake_id": staged[0]}, deliveries=1))
            await handler.handle(Entry(id="1-0", fields={"intake_id": staged[0]}, deliveries=2))  # redelivered
        finally:
            await services.aclose()

    asyncio.run(run())
    after = get_record(db, intake_id=record.id)
    assert len(registry.searched) == len(searchable)  # the redelivery asked nobody again
    for resolution in after.resolutions:
        party = record.judgment.party(resolution.party_id)
        if party.birth_date is None and "NamSinh" not in party.extensions:
            assert resolution.state == ResolutionState.INSUFFICIENT
        else:
            assert resolution.state == ResolutionState.RESOLVED, resolution
            assert resolution.verification_id is not None
            assert (resolution.person_id_masked or "").startswith("079")
