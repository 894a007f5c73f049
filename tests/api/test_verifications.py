"""The verification API against the running sandbox: every scope, partial reports within the deadline,
refusals, async jobs with signed callbacks, and the citizen's subject report."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import select

from adapters.jws_envelope import JwsVerifier
from adapters.trust_store import TrustStore
from hub.agencies import write_agencies
from hub.agency_ids import sandbox_agencies
from hub.api.app import create_app
from hub.clients import add_client
from hub.sandbox_cli import sandbox_agencies_config
from hub.settings import Settings
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.store.tables import message_log
from hub.trust.pki_init import init_pki
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.seed.world import World, build_world
from tests.conftest import REDIS_URL, ServedApp

SEED, CITIZENS = 29, 500
AGENCIES = ("population", "land", "bank-970436", "bank-970418", "bank-970405")
PURPOSE = {"case_ref": "THADS-79-2026-0042", "officer": "Lê Văn Tám", "purpose": "Xác minh điều kiện thi hành án"}


@dataclass
class Hub:
    url: str
    sandbox: str
    world: World
    db: Database
    key_dir: Path
    keys: dict[str, str]

    def post(self, who: str, body: dict[str, Any], timeout: float = 30) -> httpx.Response:
        return httpx.post(f"{self.url}/v1/verifications", json=body, timeout=timeout,
                          headers={"Authorization": f"Bearer {self.keys[who]}"})

    def faults(self, agency: str, **changes: Any) -> None:
        httpx.put(f"{self.sandbox}/{agency}/_admin/faults", json=changes).raise_for_status()

    def log_rows(self, **where: Any) -> list[Any]:
        with self.db.engine.connect() as conn:
            stmt = select(message_log)
            for column, value in where.items():
                stmt = stmt.where(getattr(message_log.c, column) == value)
            return list(conn.execute(stmt.order_by(message_log.c.recorded_at)))


@pytest.fixture(scope="module")
def sandbox_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApp, World, Path]]:
    data = tmp_path_factory.mktemp("verify-data")
    init_pki(data / "pki", sandbox_agencies())
    world = build_world(seed=SEED, citizens=CITIZENS)
    with ServedApp(create_sandbox_app(SandboxConfig(key_dir=data / "pki", seed=SEED, citizens=CITIZENS), world)) as sb:
        yield sb, world, data


@pytest.fixture
def hub(sandbox_world: tuple[ServedApp, World, Path], redis_prefix: str) -> Iterator[Hub]:
    sandbox, world, data = sandbox_world
    full = sandbox_agencies_config(sandbox.url, data / "pki", population_client_id="thads-hub",
                                   population_client_secret="sandbox-secret", postal_api_key="sandbox-postal-key",
                                   postal_hmac_secret="sandbox-postal-hmac")
    chosen = {name: cfg.model_copy(update={"timeout_s": 10.0, "breaker": cfg.breaker.model_copy(
        update={"failures": 2, "reset_s": 60.0})}) for name, cfg in full.items() if name in AGENCIES}
    write_agencies(data / "agencies.toml", chosen)
    db_url = f"sqlite:///{data / f'hub-{uuid.uuid4().hex[:6]}.db'}"
    upgrade(db_url)
    settings = Settings(data_dir=data, database_url=db_url, redis_url=REDIS_URL,
                        redis_key_prefix=f"{redis_prefix}{uuid.uuid4().hex[:6]}:", checkpoint_seconds=0)
    db = Database(db_url)
    keys = {"all": add_client(db, "case-all", ["verify:identity", "verify:residence", "verify:bank_accounts",
                                               "verify:land"])[1],
            "identity": add_client(db, "case-identity", ["verify:identity"])[1],
            "auditor": add_client(db, "procuracy-auditor", ["audit:read"])[1]}
    try:
        with ServedApp(create_app(settings)) as served:
            yield Hub(served.url, sandbox.url, world, db, data / "pki", keys)
    finally:
        for agency in AGENCIES:
            httpx.delete(f"{sandbox.url}/{agency.replace('bank-', 'banks/')}/_admin/faults")
        db.dispose()


def owner(world: World) -> str:
    return next(c.person_id for c in world.citizens if world.parcels_of(c.person_id))


def body(person_id: str, scopes: list[str], deadline_ms: int = 8000, **extra: Any) -> dict[str, Any]:
    return {"person_id": person_id, "scopes": scopes, "deadline_ms": deadline_ms, **PURPOSE, **extra}


def by_agency(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["agency"]: s for s in report["sources"]}


def test_all_scopes_give_a_complete_report_with_provenance(hub: Hub) -> None:
    person = owner(hub.world)
    resp = hub.post("all", body(person, ["identity", "residence", "bank_accounts", "land"]))
    assert resp.status_code == 200, resp.text
    report = resp.json()
    sources = by_agency(report)
    assert sources["population"]["status"] == "ok"
    assert sources["population"]["identity"]["person_id"] == person
    assert sources["population"]["residence"]["original_text"]
    assert sources["land"]["status"] == "ok"
    assert {p["certificate_serial"] for p in sources["land"]["parcels"]} == {
        p.certificate_serial.replace(" ", "") for p in hub.world.parcels_of(person)}
    for agency in AGENCIES:
        prov = sources[agency]["provenance"]
        assert prov["signer"] == agency and len(prov["payload_hash"]) == 64
    # the banks fan out: one source per configured bank, each with that bank's accounts of the person
    for bank in ("970436", "970418", "970405"):
        found = {a["account_number"] for a in sources[f"bank-{bank}"]["accounts"]}
        assert found == {a.account_number for a in hub.world.accounts_of(person, bank)}
    assert report["completeness"] == "complete"
    assert report["subject_masked"] == person[:3] + "******" + person[-3:]


def test_a_slow_agency_gives_a_partial_report_within_the_deadline(hub: Hub) -> None:
    person = owner(hub.world)
    hub.faults("land", latency_ms=30_000)
    started = time.monotonic()
    resp = hub.post("all", body(person, ["identity", "land"], deadline_ms=2000))
    elapsed = time.monotonic() - started
    assert resp.status_code == 200, resp.text
    assert elapsed < 2.0 + 0.1, elapsed
    sources = by_agency(resp.json())
    assert sources["land"]["status"] == "timed_out" and sources["population"]["status"] == "ok"
    assert resp.json()["completeness"] == "partial"
    time.sleep(0.3)
    land = hub.log_rows(agency="land")
    assert land and all(r.outcome != "ok" for r in land if r.kind == "response"), [(r.kind, r.outcome) for r in land]


def test_an_agency_down_and_then_an_open_breaker(hub: Hub) -> None:
    person = owner(hub.world)
    hub.faults("population", outage=True)
    first = by_agency(hub.post("all", body(person, ["identity", "land"])).json())
    # retried until the breaker (2 failures) opened: the report says which, and land is unaffected
    assert first["population"]["status"] in {"failed", "circuit_open"} and first["land"]["status"] == "ok"
    reached = len(httpx.get(f"{hub.sandbox}/population/_admin/recorder").json()["received"])
    second = by_agency(hub.post("all", body(person, ["identity"])).json())
    assert second["population"]["status"] == "circuit_open" and second["population"]["error_code"] == "CIRCUIT_OPEN"
    assert len(httpx.get(f"{hub.sandbox}/population/_admin/recorder").json()["received"]) == reached  # failed fast


def test_scope_and_purpose_refusals(hub: Hub) -> None:
    person = owner(hub.world)
    refused = hub.post("identity", body(person, ["identity", "land"]))
    assert refused.status_code == 403 and refused.json()["code"] == "SCOPE_MISSING"
    assert refused.json()["missing"] == ["verify:land"]
    no_purpose = hub.post("all", {"person_id": person, "scopes": ["identity"], "case_ref": "THADS-1"})
    assert no_purpose.status_code == 422 and no_purpose.json()["code"] == "PURPOSE_MISSING"
    logged = [r for r in hub.log_rows(error_code="PURPOSE_MISSING")]
    assert len(logged) == 1 and logged[0].subject_masked == person[:3] + "******" + person[-3:]
    bad_id = hub.post("all", body("003084000999", ["identity"]))
    assert bad_id.status_code == 422 and bad_id.json()["code"] == "ID_INVALID"
    assert "003084000999" not in bad_id.text


def test_async_mode_with_a_signed_callback(hub: Hub) -> None:
    person = owner(hub.world)
    got: list[tuple[bytes, str]] = []
    receiver = FastAPI()

    @receiver.post("/callback")
    async def callback(request: Request) -> Response:
        got.append((await request.body(), request.headers.get("x-jws-signature", "")))
        return Response(status_code=204)

    with ServedApp(receiver) as served:
        accepted = hub.post("all", body(person, ["identity"], mode="async", callback_url=f"{served.url}/callback"))
        assert accepted.status_code == 202, accepted.text
        job = accepted.json()
        for _ in range(100):
            state = httpx.get(hub.url + job["status_url"], headers={"Authorization": f"Bearer {hub.keys['all']}"})
            if state.json()["status"] == "done" and got:
                break
            time.sleep(0.05)
    assert state.json()["report"]["sources"][0]["status"] == "ok"
    payload, token = got[0]
    assert JwsVerifier(TrustStore.load(hub.key_dir)).verify(token, payload).signer == "hub"
    other = httpx.get(hub.url + job["status_url"], headers={"Authorization": f"Bearer {hub.keys['identity']}"})
    assert other.status_code == 404  # another client cannot read this result


def test_the_subject_report_lists_exactly_the_look_ups_made(hub: Hub) -> None:
    people = [c.person_id for c in hub.world.citizens if hub.world.parcels_of(c.person_id)][:2]
    a, b = people
    for _ in range(2):
        assert hub.post("all", body(a, ["identity", "land"])).status_code == 200
    assert hub.post("all", body(b, ["identity"])).status_code == 200
    report = httpx.post(f"{hub.url}/v1/audit/subject-report", json={"person_id": a},
                        headers={"Authorization": f"Bearer {hub.keys['auditor']}"})
    assert report.status_code == 200, report.text
    entries = report.json()["entries"]
    # per verification: the request and the report of the hub, and request + response at each agency
    kinds = sorted((e["agency"], e["kind"]) for e in entries)
    assert kinds == sorted([("hub", "request"), ("hub", "response"), ("population", "request"),
                            ("population", "response"), ("land", "request"), ("land", "response")] * 2)
    assert all(e["case_ref"] == PURPOSE["case_ref"] and e["purpose"] == PURPOSE["purpose"] for e in entries)
    assert {e["requested_by"] for e in entries if e["agency"] == "hub"} == {"client:case-all"}
    assert b not in report.text and a not in report.text
    denied = httpx.post(f"{hub.url}/v1/audit/subject-report", json={"person_id": a},
                        headers={"Authorization": f"Bearer {hub.keys['all']}"})
    assert denied.status_code == 403


def test_a_verification_lands_in_the_log_whole_in_one_transaction(hub: Hub) -> None:
    """The job's request entry, every agency exchange and the report are consecutive entries of one
    partition, written by one transaction once the agencies have answered."""
    person = owner(hub.world)
    r = hub.post("all", body(person, ["identity", "land", "bank_accounts"]))
    assert r.status_code == 200, r.text
    job, sources = r.json()["id"], r.json()["sources"]
    ends = sorted(hub.log_rows(message_id=job), key=lambda row: row.seq)
    assert [row.operation for row in ends] == ["VerifyPerson", "VerifyPersonReport"]
    assert ends[0].partition == ends[1].partition
    between = [row for row in hub.log_rows(partition=ends[0].partition) if ends[0].seq < row.seq < ends[1].seq]
    # every agency's request and answer (and the population DB's token fetch, when one was due), nothing else
    assert {row.agency for row in between} == {s["agency"] for s in sources}
    assert {(row.agency, row.operation) for row in between if row.case_ref != PURPOSE["case_ref"]} <= {
        ("population", "CapToken")}
    assert len([row for row in between if row.case_ref == PURPOSE["case_ref"]]) == 2 * len(sources)
    got = httpx.get(f"{hub.url}/v1/verifications/{job}", headers={"Authorization": f"Bearer {hub.keys['all']}"})
    assert got.json()["status"] == "done"
