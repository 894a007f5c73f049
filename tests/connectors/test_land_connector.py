"""The land registry connector against the running sandbox, over real HTTP.

The sandbox (create_sandbox_app, a small world) is the real peer; the connector is built directly
(no entry points) with a ConnectorContext of real parts: the hub's key and the trust store from a
fresh dev PKI, the message log on a migrated SQLite file, and a guard over the run's Redis prefix
(each connector its own breaker, so tests do not trip each other's).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from adapters.envelope import EnvelopeSigner
from adapters.jws_envelope import JwsSigner
from adapters.pki import load_cert, load_key
from adapters.trust_store import TrustStore
from connectors.land import LandConnector
from hub.agencies import AgencyConfig, BreakerPolicy, RetryPolicy
from hub.agency_ids import sandbox_agencies
from hub.audit.log import MessageLog
from hub.audit.recorder import ExchangeRecorder
from hub.audit.subjects import SubjectIndex
from hub.connector import ConnectorContext, ParcelSource
from hub.errors import (
    AgencyInvalidResponse,
    AgencyRejected,
    AgencySignatureInvalid,
    AgencyTimeout,
    AgencyUnavailable,
    CircuitOpen,
    InvalidValue,
)
from hub.model.assets import EncumbranceKind, LandParcel
from hub.model.measures import LandRestriction, MeasureStatus, RestrictionKind
from hub.resilience.context import CallContext
from hub.resilience.guard import AgencyGuard
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.store.tables import message_log
from hub.trust.pki_init import init_pki
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.seed.world import Parcel, World, build_world
from tests.conftest import REDIS_URL, ServedApp, free_port

T = TypeVar("T")
SEED, CITIZENS = 17, 500
OFFICE = "Thi hành án dân sự Thành phố Hồ Chí Minh"
VN = dt.timezone(dt.timedelta(hours=7))


# --- the sandbox and the hub's side ------------------------------------------------------------------
@dataclass
class Env:
    sandbox: ServedApp
    world: World
    key_dir: Path
    db: Database
    log: MessageLog
    redis_prefix: str

    @property
    def land(self) -> str:
        return f"{self.sandbox.url}/land"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, redis_prefix: str) -> Iterator[Env]:
    key_dir = tmp_path_factory.mktemp("land-connector-pki")
    init_pki(key_dir, sandbox_agencies())
    world = build_world(seed=SEED, citizens=CITIZENS)
    db_url = f"sqlite:///{tmp_path_factory.mktemp('land-connector-db') / 'thads.db'}"
    upgrade(db_url)
    db = Database(db_url)
    # full bodies for land, so the tests can see the very bytes that went over the wire
    log = MessageLog(db, SubjectIndex.from_key_dir(key_dir), body_policy={"land": "full"})
    config = SandboxConfig(key_dir=key_dir, seed=SEED, citizens=CITIZENS)
    with ServedApp(create_sandbox_app(config, world)) as sandbox:
        yield Env(sandbox, world, key_dir, db, log, redis_prefix)
    db.dispose()


@pytest.fixture(autouse=True)
def _no_faults_after(env: Env) -> Iterator[None]:
    yield
    httpx.delete(f"{env.land}/_admin/faults", timeout=10).raise_for_status()


def set_faults(env: Env, **changes: Any) -> None:
    httpx.put(f"{env.land}/_admin/faults", json=changes, timeout=10).raise_for_status()


def mock_recorder(env: Env) -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = httpx.get(f"{env.land}/_admin/recorder", timeout=10).json()
    return data


def received(env: Env) -> int:
    return len(mock_recorder(env)["received"])


def effects(env: Env, kind: str, decision: str) -> list[dict[str, Any]]:
    return [e for e in mock_recorder(env)["effects"] if e["kind"] == kind and e.get("decision") == decision]


def config(env: Env, **overrides: Any) -> AgencyConfig:
    values: dict[str, Any] = {
        "protocol": "soap", "base_url": env.land, "wsdl": f"{env.land}?wsdl", "timeout_s": 5.0,
        "rate_limit_per_s": 1000.0, "retry": RetryPolicy(attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05),
        "breaker": BreakerPolicy(failures=5, reset_s=30.0), "log_body": "full"}
    values.update(overrides)
    return AgencyConfig(**values)


@asynccontextmanager
async def connector(env: Env, **overrides: Any) -> AsyncIterator[LandConnector]:
    redis = aioredis.Redis.from_url(REDIS_URL)
    cfg = config(env, **overrides)
    key, cert = load_key(env.key_dir / "hub.key"), load_cert(env.key_dir / "hub.pem")
    ctx = ConnectorContext(
        agency_id="land", config=cfg, trust=TrustStore.load(env.key_dir), xml_signer=EnvelopeSigner(key, cert),
        jws_signer=JwsSigner(key, cert), recorder=ExchangeRecorder(env.log),
        guard=AgencyGuard("land", cfg, redis, f"{env.redis_prefix}land-{uuid.uuid4().hex[:8]}:"))
    land = LandConnector(ctx)
    await land.start()
    try:
        yield land
    finally:
        await land.aclose()
        await redis.aclose()


def run(env: Env, scenario: Callable[[LandConnector], Awaitable[T]], **overrides: Any) -> T:
    async def main() -> T:
        async with connector(env, **overrides) as land:
            return await scenario(land)

    return asyncio.run(main())


def call(subject: str | None = None, seconds: float = 10) -> CallContext:
    return CallContext.within(seconds, case_ref="THADS-79-2026-0042", officer="Lê Văn Tám",
                              purpose="Xác minh điều kiện thi hành án", subject_person_id=subject)


def log_rows(env: Env, after_seq: int = 0) -> list[Any]:
    with env.db.begin() as conn:
        return list(conn.execute(select(message_log).where(message_log.c.agency == "land",
                                                           message_log.c.seq > after_seq)
                                 .order_by(message_log.c.partition, message_log.c.seq)))


def last_seq(env: Env) -> int:
    rows = log_rows(env)
    return max((r.seq for r in rows), default=0)


def squeeze(serial: str) -> str:
    return "".join(serial.split()).upper()


def holder_with(world: World, predicate: Callable[[Parcel], bool]) -> tuple[str, Parcel]:
    for citizen in world.citizens:
        for parcel in world.parcels_of(citizen.person_id):
            if predicate(parcel):
                return citizen.person_id, parcel
    raise AssertionError("the world has no such parcel")


_used: set[str] = set()


def fresh_parcel(world: World) -> tuple[str, Parcel]:
    """A parcel no other test of this module registered anything on."""
    owner, parcel = holder_with(world, lambda p: squeeze(p.certificate_serial) not in _used and len(p.owner_ids) == 1)
    _used.add(squeeze(parcel.certificate_serial))
    return owner, parcel


def decision() -> str:
    return f"{uuid.uuid4().int % 900_000 + 100_000}/QĐ-CCTHADS"


def landless(world: World) -> str:
    return next(c.person_id for c in world.citizens if not world.parcels_of(c.person_id))


# --- the connector's declaration ----------------------------------------------------------------------
def test_declares_its_operations_and_capability(env: Env) -> None:
    specs = {op.name: op for op in LandConnector.operations}
    assert set(specs) == {"find_parcels", "parcel_by_certificate", "register_restriction", "lift_restriction"}
    assert all(op.idempotent for op in specs.values())
    for name in ("register_restriction", "lift_restriction"):
        assert "idempotency key" in specs[name].description
        assert "(SoQuyetDinh, SoPhatHanhGCN)" in specs[name].description
    assert LandConnector.kind == "land"

    async def scenario(land: LandConnector) -> None:
        assert isinstance(land, ParcelSource)
        health = await land.health()
        assert (health.agency_id, health.ok, health.breaker) == ("land", True, "closed")
        assert health.latency_ms is not None

    run(env, scenario)


# --- look-ups ------------------------------------------------------------------------------------------
def assert_parcel_is(parcel: LandParcel, source: Parcel, world: World) -> None:
    assert parcel.certificate_serial == squeeze(source.certificate_serial)
    assert (parcel.parcel_number, parcel.map_sheet) == (source.parcel_number, source.map_sheet)
    assert parcel.address.original_text == source.address.text
    assert parcel.address.province_code == source.address.province_code
    assert parcel.address.commune == source.address.commune
    assert parcel.address.street == source.address.street
    assert parcel.address.extensions["DiaChiCu"] == source.address.old_text
    assert parcel.area_m2 == Decimal(source.area_m2)
    assert parcel.land_use == source.land_use
    assert parcel.owner_ids == list(source.owner_ids)
    for person_id in source.owner_ids:
        citizen = world.citizen(person_id)
        assert citizen is not None and parcel.extensions[f"ChuSuDung/{person_id}/HoTen"] == citizen.full_name
    holders = [e.holder for e in parcel.encumbrances if e.kind is EncumbranceKind.MORTGAGE]
    assert holders == ([source.mortgage_holder] if source.mortgage_holder else [])


def test_find_parcels_equals_the_world(env: Env) -> None:
    joint_owner, _ = holder_with(env.world, lambda p: len(p.owner_ids) > 1)
    mortgagor, _ = holder_with(env.world, lambda p: p.mortgage_holder is not None)
    people = [joint_owner, mortgagor, landless(env.world)]

    async def scenario(land: LandConnector) -> list[list[LandParcel]]:
        return [await land.find_parcels(person, call(person)) for person in people]

    found = run(env, scenario)
    for person, parcels in zip(people, found, strict=True):
        expected = env.world.parcels_of(person)
        assert [p.certificate_serial for p in parcels] == [squeeze(p.certificate_serial) for p in expected]
        for parcel, source in zip(parcels, expected, strict=True):
            assert_parcel_is(parcel, source, env.world)
    assert found[2] == []


def test_parcel_by_certificate_with_or_without_the_space_and_not_found(env: Env) -> None:
    _, source = holder_with(env.world, lambda p: True)
    key = squeeze(source.certificate_serial)
    unknown = next(s for s in (f"ZZ{n:06d}" for n in range(1000)) if env.world.parcel_by_serial(s) is None)
    before = last_seq(env)

    async def scenario(land: LandConnector) -> list[LandParcel | None]:
        return [await land.parcel_by_certificate(serial, call()) for serial in (key, f"{key[:2]} {key[2:]}", unknown)]

    spaced, squeezed, missing = run(env, scenario)
    assert spaced is not None and squeezed is not None
    assert_parcel_is(spaced, source, env.world)
    assert spaced == squeezed
    assert missing is None
    outcomes = [(r.kind, r.outcome) for r in log_rows(env, before)]
    assert outcomes == [("request", "ok"), ("response", "ok")] * 2 + [("request", "ok"), ("response", "not_found")]


def test_every_call_is_logged_with_its_bytes_and_headers(env: Env) -> None:
    owner, _ = holder_with(env.world, lambda p: True)
    before = last_seq(env)
    run(env, lambda land: land.find_parcels(owner, call(owner)))
    request, response = log_rows(env, before)
    assert (request.direction, request.kind, request.operation, request.service) == \
        ("outbound", "request", "TraCuuThuaDatTheoChuSoHuu", "land")
    assert (request.from_agency, request.to_agency, request.case_ref, request.officer, request.purpose) == \
        ("hub", "land", "THADS-79-2026-0042", "Lê Văn Tám", "Xác minh điều kiện thi hành án")
    assert request.body.startswith("<?xml") and "TraCuuThuaDatTheoChuSoHuu" in request.body
    assert "SignatureValue" in request.body  # signed as sent
    # the answer: the registry's verified header, bound to this request
    assert (response.from_agency, response.to_agency) == ("land", "hub")
    assert response.correlation_id == request.message_id
    assert response.outcome == "ok" and response.size_bytes > 0
    assert "TraCuuThuaDatTheoChuSoHuuPhanHoi" in response.body
    # the person is findable by keyed hash only; the ID itself is nowhere in the row's metadata
    assert request.subject_hmac and request.subject_masked != owner
    assert owner not in (request.subject_masked or "")


# --- restrictions ----------------------------------------------------------------------------------------
def test_a_registered_restriction_shows_in_the_next_look_up_once_and_is_lifted(env: Env) -> None:
    owner, parcel = fresh_parcel(env.world)
    ref, lift_ref = decision(), decision()
    seizure = LandRestriction(decision_ref=ref, kind=RestrictionKind.SEIZURE,
                              certificate_serial=parcel.certificate_serial)

    async def scenario(land: LandConnector) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["first"] = await land.register_restriction(seizure, OFFICE, dt.date(2026, 11, 20), call(owner))
        out["parcels"] = await land.find_parcels(owner, call(owner))
        out["again"] = await land.register_restriction(seizure, OFFICE, dt.date(2026, 11, 20), call(owner))
        out["by_serial"] = await land.parcel_by_certificate(parcel.certificate_serial, call(owner))
        out["lifted"] = await land.lift_restriction(out["first"], lift_ref, call(owner), lifted_on=dt.date(2026, 12, 1))
        out["lifted_again"] = await land.lift_restriction(out["first"], lift_ref, call(owner))
        out["after"] = await land.parcel_by_certificate(parcel.certificate_serial, call(owner))
        return out

    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    out = run(env, scenario)
    first: LandRestriction = out["first"]
    assert first.status is MeasureStatus.APPLIED
    assert first.id == seizure.id and first.decision_ref == ref
    assert first.registered_at is not None
    assert started - dt.timedelta(seconds=1) <= first.registered_at <= dt.datetime.now(dt.UTC)

    # it is an Encumbrance of the parcel in the next find_parcels
    held = next(p for p in out["parcels"] if p.certificate_serial == squeeze(parcel.certificate_serial))
    seizures = [e for e in held.encumbrances if e.reference == ref]
    assert len(seizures) == 1
    assert seizures[0].kind is EncumbranceKind.SEIZURE
    assert seizures[0].holder == OFFICE
    assert seizures[0].registered_on == first.registered_at.astimezone(VN).date()
    assert held.extensions[f"HanChe/{ref}/TrangThai"] == "DANG_HIEU_LUC"

    # the same registration twice is one effect at the registry, with the first receipt's time
    assert out["again"].status is MeasureStatus.APPLIED
    assert out["again"].registered_at == first.registered_at
    assert len(effects(env, "restriction_registered", ref)) == 1
    assert [e.reference for e in out["by_serial"].encumbrances].count(ref) == 1

    # lifted, once, and gone from the look-ups
    assert out["lifted"].status is MeasureStatus.LIFTED
    assert out["lifted"].registered_at == first.registered_at
    assert out["lifted_again"].status is MeasureStatus.LIFTED
    assert len(effects(env, "restriction_lifted", ref)) == 1
    assert ref not in [e.reference for e in out["after"].encumbrances]


def test_a_halt_is_a_transfer_restriction(env: Env) -> None:
    owner, parcel = fresh_parcel(env.world)
    ref = decision()
    halt = LandRestriction(decision_ref=ref, kind=RestrictionKind.HALT_TRANSFER,
                           certificate_serial=parcel.certificate_serial)

    async def scenario(land: LandConnector) -> LandParcel | None:
        applied = await land.register_restriction(halt, OFFICE, dt.date(2026, 11, 21), call(owner))
        assert applied.status is MeasureStatus.APPLIED
        return await land.parcel_by_certificate(parcel.certificate_serial, call(owner))

    found = run(env, scenario)
    assert found is not None
    assert [(e.kind, e.holder) for e in found.encumbrances if e.reference == ref] == [
        (EncumbranceKind.TRANSFER_RESTRICTION, OFFICE)]
    assert effects(env, "restriction_registered", ref)[0]["restriction_kind"] == "TAMDUNG"


def test_registry_refusals_are_agency_rejected_with_its_code_and_not_retried(env: Env) -> None:
    _, parcel = fresh_parcel(env.world)
    ref = decision()
    unknown = next(s for s in (f"ZZ{n:06d}" for n in range(1000)) if env.world.parcel_by_serial(s) is None)
    on_parcel = LandRestriction(decision_ref=ref, kind=RestrictionKind.HALT_TRANSFER,
                                certificate_serial=parcel.certificate_serial)

    async def refused(land: LandConnector, action: Awaitable[Any]) -> AgencyRejected:
        with pytest.raises(AgencyRejected) as caught:
            await action
        return caught.value

    async def scenario(land: LandConnector) -> list[tuple[str | None, int]]:
        out = []
        for make in (
            lambda: land.register_restriction(on_parcel.model_copy(update={"certificate_serial": unknown}), OFFICE,
                                              dt.date(2026, 11, 20), call()),
            lambda: land.lift_restriction(on_parcel, decision(), call()),
        ):
            before = received(env)
            error = await refused(land, make())
            out.append((error.rule, received(env) - before))
        await land.register_restriction(on_parcel, OFFICE, dt.date(2026, 11, 20), call())
        before = received(env)
        conflicting = on_parcel.model_copy(update={"kind": RestrictionKind.SEIZURE})
        error = await refused(land, land.register_restriction(conflicting, OFFICE, dt.date(2026, 11, 20), call()))
        out.append((error.rule, received(env) - before))
        return out

    before = last_seq(env)
    assert run(env, scenario) == [("KHONG_TIM_THAY_GCN", 1), ("KHONG_TIM_THAY_HAN_CHE", 1),
                                  ("TRUNG_SO_QUYET_DINH", 1)]
    refusals = [r for r in log_rows(env, before) if r.error_code == "AGENCY_REJECTED"]
    assert refusals and all(r.outcome == "refused" for r in refusals)
    assert len(effects(env, "restriction_registered", ref)) == 1


def test_a_keyed_registration_is_retried_through_an_error_and_registers_once(env: Env) -> None:
    _, parcel = fresh_parcel(env.world)
    ref = decision()
    seizure = LandRestriction(decision_ref=ref, kind=RestrictionKind.SEIZURE,
                              certificate_serial=parcel.certificate_serial)

    async def scenario(land: LandConnector) -> LandRestriction:
        set_faults(env, error_rate=1)
        before = received(env)
        with pytest.raises(AgencyUnavailable):
            await land.register_restriction(seizure, OFFICE, dt.date(2026, 11, 20), call())
        assert received(env) - before == 3  # retried: it carries the key the registry honours
        assert land.ctx.guard.attempts_made == 3
        httpx.delete(f"{env.land}/_admin/faults", timeout=10).raise_for_status()
        first = await land.register_restriction(seizure, OFFICE, dt.date(2026, 11, 20), call())
        again = await land.register_restriction(seizure, OFFICE, dt.date(2026, 11, 20), call())
        assert again.registered_at == first.registered_at
        return first

    assert run(env, scenario).status is MeasureStatus.APPLIED
    assert len(effects(env, "restriction_registered", ref)) == 1


# --- error mapping -------------------------------------------------------------------------------------
def test_a_bad_signature_is_agency_signature_invalid_logged_refused_and_not_retried(env: Env) -> None:
    owner, _ = holder_with(env.world, lambda p: True)
    before_log = last_seq(env)

    async def scenario(land: LandConnector) -> AgencySignatureInvalid:
        set_faults(env, bad_signature_rate=1)
        before = received(env)
        with pytest.raises(AgencySignatureInvalid) as caught:
            await land.find_parcels(owner, call(owner))
        assert received(env) - before == 1  # an answer, not a transient failure: asking again would not help
        return caught.value

    error = run(env, scenario)
    assert (error.code, error.rule) == ("SIGNATURE_INVALID", "cryptographic")
    rows = log_rows(env, before_log)
    assert [(r.kind, r.outcome, r.error_code) for r in rows] == [
        ("request", "ok", None), ("response", "refused", "SIGNATURE_INVALID"), ("response", "refused",
                                                                                 "SIGNATURE_INVALID")]
    assert rows[0].body and "TraCuuThuaDatTheoChuSoHuu" in rows[0].body  # the request as sent
    assert rows[1].size_bytes > 0  # the refused answer's bytes are kept too


def test_an_unsigned_answer_is_agency_signature_invalid(env: Env) -> None:
    owner, _ = holder_with(env.world, lambda p: True)

    async def scenario(land: LandConnector) -> AgencySignatureInvalid:
        set_faults(env, unsigned_rate=1)
        with pytest.raises(AgencySignatureInvalid) as caught:
            await land.find_parcels(owner, call(owner))
        return caught.value

    assert run(env, scenario).rule == "signature_present"


def test_a_malformed_answer_is_agency_invalid_response(env: Env) -> None:
    owner, _ = holder_with(env.world, lambda p: True)

    async def scenario(land: LandConnector) -> AgencyInvalidResponse:
        set_faults(env, malformed_rate=1)
        before = received(env)
        with pytest.raises(AgencyInvalidResponse) as caught:
            await land.find_parcels(owner, call(owner))
        assert received(env) - before == 1
        return caught.value

    assert run(env, scenario).code == "AGENCY_INVALID_RESPONSE"


def test_error_rate_retries_an_idempotent_look_up_then_agency_unavailable(env: Env) -> None:
    owner, _ = holder_with(env.world, lambda p: True)
    before_log = last_seq(env)

    async def scenario(land: LandConnector) -> None:
        set_faults(env, error_rate=1)
        before = mock_recorder(env)["received"]
        with pytest.raises(AgencyUnavailable) as caught:
            await land.find_parcels(owner, call(owner))
        after = mock_recorder(env)["received"]
        assert [e["verdict"] for e in after[len(before):]] == ["error"] * 3
        assert land.ctx.guard.attempts_made == 3
        assert caught.value.transient

    run(env, scenario)
    rows = log_rows(env, before_log)
    assert [(r.kind, r.outcome) for r in rows] == [("request", "ok"), ("response", "failed")] * 3 + [
        ("response", "refused")]
    assert {r.error_code for r in rows if r.kind == "response"} == {"AGENCY_UNAVAILABLE"}
    assert len({r.message_id for r in rows if r.kind == "request"}) == 3  # each attempt is a new message


def test_outage_opens_the_breaker_and_the_third_call_does_not_reach_the_registry(env: Env) -> None:
    owner, _ = holder_with(env.world, lambda p: True)
    before_log = last_seq(env)

    async def scenario(land: LandConnector) -> None:
        set_faults(env, outage=True)
        start = received(env)
        for _ in range(2):
            with pytest.raises(AgencyUnavailable):
                await land.find_parcels(owner, call(owner))
        assert received(env) - start == 2
        with pytest.raises(CircuitOpen):
            await land.find_parcels(owner, call(owner))
        assert received(env) - start == 2  # failed fast, nothing sent
        health = await land.health()
        assert health.breaker == "open"
        assert health.ok  # the contract is still served: the breaker, not the check, tells about the outage

    run(env, scenario, retry=RetryPolicy(attempts=1), breaker=BreakerPolicy(failures=2, reset_s=30.0))
    rows = log_rows(env, before_log)
    closing = rows[-1]
    assert (closing.outcome, closing.error_code) == ("refused", "CIRCUIT_OPEN")
    assert rows[-2].kind == "request" and rows[-2].size_bytes == 0  # logged, though nothing went out


def test_a_registry_that_hangs_is_an_agency_timeout(env: Env) -> None:
    owner, _ = holder_with(env.world, lambda p: True)
    before_log = last_seq(env)

    async def scenario(land: LandConnector) -> None:
        set_faults(env, timeout_rate=1, timeout_s=2)
        with pytest.raises(AgencyTimeout):
            await land.find_parcels(owner, call(owner, seconds=3))

    run(env, scenario, timeout_s=0.3, retry=RetryPolicy(attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02))
    rows = log_rows(env, before_log)
    assert [r.outcome for r in rows if r.kind == "response"] == ["timeout", "timeout", "refused"]
    assert rows[-1].error_code == "AGENCY_TIMEOUT"


def test_invalid_input_is_refused_before_anything_is_sent(env: Env) -> None:
    async def scenario(land: LandConnector) -> None:
        before = received(env)
        with pytest.raises(InvalidValue):
            await land.find_parcels("12345", call())
        with pytest.raises(InvalidValue):
            await land.parcel_by_certificate("not a serial", call())
        assert received(env) == before

    run(env, scenario)


def test_an_unreachable_registry_is_agency_unavailable_and_unhealthy(env: Env) -> None:
    owner, _ = holder_with(env.world, lambda p: True)
    nowhere = f"http://127.0.0.1:{free_port()}/land"

    async def scenario(land: LandConnector) -> None:
        with pytest.raises(AgencyUnavailable) as caught:
            await land.find_parcels(owner, call(owner))
        assert caught.value.rule == "http_transport"
        assert land.ctx.guard.attempts_made == 3
        health = await land.health()
        assert not health.ok and health.latency_ms is None

    run(env, scenario, base_url=nowhere, wsdl=f"{nowhere}?wsdl")


def test_concurrent_calls_keep_their_own_bytes_and_answers(env: Env) -> None:
    owners = [c.person_id for c in env.world.citizens if env.world.parcels_of(c.person_id)][:6]
    before_log = last_seq(env)

    async def scenario(land: LandConnector) -> list[list[LandParcel]]:
        return list(await asyncio.gather(*(land.find_parcels(o, call(o)) for o in owners)))

    for owner, parcels in zip(owners, run(env, scenario), strict=True):
        assert [p.certificate_serial for p in parcels] == [squeeze(p.certificate_serial)
                                                           for p in env.world.parcels_of(owner)]
    rows = log_rows(env, before_log)
    requests = {r.message_id: r for r in rows if r.kind == "request"}
    for response in (r for r in rows if r.kind == "response"):
        request = requests[response.correlation_id]
        assert request.subject_hmac == response.subject_hmac
        owner = next(o for o in owners if f">{o}<" in request.body)
        assert f">{owner}<" in response.body
