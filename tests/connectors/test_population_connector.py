"""The population connector against the running sandbox over real HTTP: OAuth2, JWS both ways, the
guard (real Redis), the message log (a migrated SQLite), and the mock's fault knobs.

The harness at the top (sandbox, connector context mirroring hub/connectors_runtime.py, one event loop
per scenario) is shared with test_postal_connector.py.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import select

from adapters.envelope import EnvelopeFields, EnvelopeSigner
from adapters.jws_envelope import JwsSigner
from adapters.pki import load_cert, load_key
from adapters.trust_store import TrustStore
from connectors.population import PopulationConnector
from hub.agencies import AgencyConfig, BreakerPolicy, RetryPolicy
from hub.audit.log import MessageLog
from hub.audit.recorder import ExchangeRecorder
from hub.audit.subjects import SubjectIndex
from hub.connector import Connector, ConnectorContext, IdentitySource, ResidenceSource
from hub.errors import (
    AgencyInvalidResponse,
    AgencyNotFound,
    AgencyRejected,
    AgencySignatureInvalid,
    AgencyTimeout,
    AgencyUnavailable,
    CircuitOpen,
    HubError,
    InvalidValue,
)
from hub.model import Gender, SubjectHints, decode_person_id
from hub.resilience.context import CallContext
from hub.resilience.guard import AgencyGuard
from hub.sandbox_cli import sandbox_agencies_config
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.store.tables import message_log
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.population.mock import PopulationMock
from sandbox_mocks.seed.spelling import has_tone_variant, other_tone_placement
from sandbox_mocks.seed.world import Citizen, World, build_world
from tests.conftest import REDIS_URL, ServedApp
from tests.sandbox.test_population_mock import UrlLog, make_key_dir

WORLD_SEED, WORLD_SIZE = 7, 500
T = TypeVar("T")
C = TypeVar("C", bound=Connector)


# ============================== harness (shared) ============================================
@dataclass
class Sandbox:
    url: str
    app: FastAPI
    urls: UrlLog
    key_dir: Path
    world: World

    def mock(self, agency: str) -> Any:
        return self.app.state.agencies[agency]

    def faults(self, agency: str, **knobs: Any) -> None:
        response = httpx.put(f"{self.url}/{agency}/_admin/faults", json=knobs, timeout=5)
        assert response.status_code == 200, response.text

    def reset(self) -> None:
        for agency in ("population", "postal"):
            httpx.delete(f"{self.url}/{agency}/_admin/faults", timeout=5)


def serve_sandbox(key_dir: Path, world: World, hub_url: str = "http://127.0.0.1:9") -> Iterator[Sandbox]:
    """The sandbox as `thads-hub sandbox` builds it, with a log of every URL it is asked for."""
    config = SandboxConfig(key_dir=key_dir, seed=WORLD_SEED, citizens=WORLD_SIZE, hub_url=hub_url)
    app = create_sandbox_app(config, world)
    urls = UrlLog(app)
    with ServedApp(urls) as served:
        yield Sandbox(served.url, app, urls, key_dir, world)


def agency_config(sandbox: Sandbox, agency: str, **overrides: Any) -> AgencyConfig:
    """What `thads-hub sandbox` writes to the agencies file, with test-sized timeouts and breaker."""
    config = sandbox_agencies_config(sandbox.url, sandbox.key_dir, population_client_id="thads-hub",
                                     population_client_secret="sandbox-secret", postal_api_key="sandbox-postal-key",
                                     postal_hmac_secret="sandbox-postal-hmac")[agency]
    values: dict[str, Any] = {"timeout_s": 3.0, "rate_limit_per_s": 1000.0,
                              "retry": RetryPolicy(attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05),
                              "breaker": BreakerPolicy(failures=3, reset_s=0.5)}
    values.update(overrides)
    return config.model_copy(update=values)


@dataclass
class Harness:
    """What hub/connectors_runtime.build_connectors gives a connector, built by hand for one test."""

    sandbox: Sandbox
    log_url: str
    redis_prefix: str

    def context(self, agency: str, config: AgencyConfig, redis: aioredis.Redis) -> ConnectorContext:
        key_dir = self.sandbox.key_dir
        key, cert = load_key(key_dir / "hub.key"), load_cert(key_dir / "hub.pem")
        log = MessageLog(Database(self.log_url), SubjectIndex(b"s" * 32), partition=0)
        return ConnectorContext(agency_id=agency, config=config, trust=TrustStore.load(key_dir),
                                xml_signer=EnvelopeSigner(key, cert), jws_signer=JwsSigner(key, cert),
                                recorder=ExchangeRecorder(log),
                                guard=AgencyGuard(agency, config, redis, f"{self.redis_prefix}{uuid.uuid4().hex}:"))

    def run(self, cls: type[C], config: AgencyConfig, scenario: Callable[[C], Awaitable[T]]) -> T:
        """Build, start, run ``scenario``, close: all in one event loop with its own Redis client."""
        async def main() -> T:
            redis = aioredis.Redis.from_url(REDIS_URL)
            connector = cls(self.context(cls.kind, config, redis))
            try:
                await connector.start()
                return await scenario(connector)
            finally:
                await connector.aclose()
                await redis.aclose()

        return asyncio.run(main())

    def log_rows(self) -> list[dict[str, Any]]:
        db = Database(self.log_url)
        try:
            with db.engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(select(message_log).order_by(message_log.c.seq))]
        finally:
            db.dispose()


def make_harness(sandbox: Sandbox, tmp_path: Path, redis_prefix: str) -> Harness:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    upgrade(url)
    return Harness(sandbox, url, redis_prefix)


def call_context(seconds: float = 10.0, **kw: Any) -> CallContext:
    values: dict[str, Any] = {"case_ref": "THADS-79-2026-000123", "officer": "Chấp hành viên Lê Văn Tám",
                              "purpose": "Xác minh điều kiện thi hành án"}
    values.update(kw)
    return CallContext.within(seconds, **values)


# ============================== fixtures ====================================================
@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=WORLD_SEED, citizens=WORLD_SIZE)


@pytest.fixture(scope="module")
def sandbox(key_dir: Path, world: World) -> Iterator[Sandbox]:
    yield from serve_sandbox(key_dir, world)


@pytest.fixture(autouse=True)
def clean_faults(sandbox: Sandbox) -> Iterator[None]:
    sandbox.reset()
    yield
    sandbox.reset()


@pytest.fixture
def harness(sandbox: Sandbox, tmp_path: Path, redis_prefix: str) -> Harness:
    return make_harness(sandbox, tmp_path, redis_prefix)


@pytest.fixture
def config(sandbox: Sandbox) -> AgencyConfig:
    return agency_config(sandbox, "population")


def fullest(world: World) -> Citizen:
    return max(world.citizens, key=lambda c: (bool(c.old_address_text), bool(c.legacy_id), bool(c.phone),
                                              bool(c.email), c.person_id))


def unknown_id(world: World) -> str:
    """A well-formed citizen ID (it decodes) that nobody in the world has."""
    base = world.citizens[0].person_id
    for serial in range(999_999, 0, -1):
        candidate = f"{base[:6]}{serial:06d}"
        if world.citizen(candidate) is None:
            decode_person_id(candidate)
            return candidate
    raise AssertionError("no free ID")


def pop_mock(sandbox: Sandbox) -> PopulationMock:
    mock = sandbox.mock("population")
    assert isinstance(mock, PopulationMock)
    return mock


# ============================== the connector as the core sees it ============================
def test_it_is_a_connector_with_the_identity_and_residence_capabilities(harness: Harness,
                                                                        config: AgencyConfig) -> None:
    async def scenario(c: PopulationConnector) -> None:
        assert isinstance(c, IdentitySource) and isinstance(c, ResidenceSource)
        assert {op.name: op.idempotent for op in c.operations} == {
            "TraCuuCongDan": True, "TimKiemCongDan": True, "GuiThongBaoVNeID": True}
        health = await c.health()
        assert health.ok and health.agency_id == "population" and health.breaker == "closed"

    harness.run(PopulationConnector, config, scenario)


def test_health_says_down_without_raising(harness: Harness, config: AgencyConfig) -> None:
    dead = config.model_copy(update={"base_url": "http://127.0.0.1:9/population", "openapi": None})

    async def scenario(c: PopulationConnector) -> None:
        health = await c.health()
        assert not health.ok and "ConnectError" in health.detail

    harness.run(PopulationConnector, dead, scenario)


# ============================== look-up =====================================================
def test_lookup_maps_the_citizen_as_the_world_has_them(harness: Harness, config: AgencyConfig,
                                                       world: World) -> None:
    citizen = fullest(world)

    async def scenario(c: PopulationConnector) -> Any:
        return await c.lookup_person(citizen.person_id, call_context(subject_person_id=citizen.person_id))

    party = harness.run(PopulationConnector, config, scenario)
    a = citizen.permanent_address
    assert party is not None
    assert (party.person_id, party.legacy_id, party.full_name, party.birth_date) == (
        citizen.person_id, citizen.legacy_id, citizen.full_name, citizen.birth_date)
    assert party.gender == (Gender.FEMALE if citizen.gender == "female" else Gender.MALE)
    current, old = party.addresses
    assert (current.original_text, current.province_code, current.commune, current.street) == (
        a.text, a.province_code, a.commune, a.street)
    assert (old.original_text, old.province_code, old.former_district) == (
        citizen.old_address_text, a.province_code, a.former_district)
    assert party.extensions["QueQuan.MaTinh"] == citizen.birth_province_code
    assert party.extensions.get("SoDienThoai") == citizen.phone
    assert party.extensions.get("Email") == citizen.email


def test_an_unknown_citizen_is_none_and_logged_as_not_found(harness: Harness, config: AgencyConfig,
                                                           world: World) -> None:
    missing = unknown_id(world)

    async def scenario(c: PopulationConnector) -> Any:
        return (await c.lookup_person(missing, call_context()), await c.lookup_residence(missing, call_context()))

    assert harness.run(PopulationConnector, config, scenario) == (None, None)
    rows = [r for r in harness.log_rows() if r["operation"] == "TraCuuCongDan"]
    assert [(r["kind"], r["outcome"]) for r in rows] == [("request", "ok"), ("response", "not_found")] * 2
    assert all(r["subject_masked"] == f"{missing[:3]}******{missing[-3:]}" for r in rows)


def test_residence_is_the_current_permanent_address(harness: Harness, config: AgencyConfig,
                                                    world: World) -> None:
    citizen = next(c for c in world.citizens if c.old_address_text)

    async def scenario(c: PopulationConnector) -> Any:
        return await c.lookup_residence(citizen.person_id, call_context())

    address = harness.run(PopulationConnector, config, scenario)
    a = citizen.permanent_address
    assert address is not None
    assert (address.original_text, address.province_code, address.commune, address.street) == (
        a.text, a.province_code, a.commune, a.street)


def test_the_citizen_id_travels_in_the_body_only(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                                world: World) -> None:
    citizen = world.citizens[3]
    before = len(sandbox.urls.urls)

    async def scenario(c: PopulationConnector) -> None:
        await c.lookup_person(citizen.person_id, call_context())
        await c.search_people(SubjectHints(full_name=citizen.full_name, birth_date=citizen.birth_date),
                              call_context())

    harness.run(PopulationConnector, config, scenario)
    asked = sandbox.urls.urls[before:]
    assert any("/tra-cuu" in u for u in asked) and any("/tim-kiem" in u for u in asked)
    assert not [u for u in asked if citizen.person_id in u]


# ============================== search ======================================================
def test_search_returns_every_namesake_and_the_province_narrows_it(harness: Harness, config: AgencyConfig,
                                                                  world: World) -> None:
    a, b = (world.citizen(i) for i in world.hard_cases["namesakes"][:2])
    assert a is not None and b is not None

    async def scenario(c: PopulationConnector) -> tuple[list[str], list[str]]:
        both = await c.search_people(SubjectHints(full_name=a.full_name, birth_date=a.birth_date), call_context())
        one = await c.search_people(SubjectHints(full_name=a.full_name, birth_date=a.birth_date,
                                                 province_code=a.permanent_address.province_code), call_context())
        return [p.person_id or "" for p in both], [p.person_id or "" for p in one]

    both, one = harness.run(PopulationConnector, config, scenario)
    assert {a.person_id, b.person_id} <= set(both)
    assert a.person_id in one and b.person_id not in one


def test_search_finds_a_name_written_with_the_other_tone_placement(harness: Harness, config: AgencyConfig,
                                                                   world: World) -> None:
    citizen = next(c for c in world.citizens if has_tone_variant(c.full_name))
    written = other_tone_placement(citizen.full_name)

    async def scenario(c: PopulationConnector) -> list[Any]:
        return await c.search_people(SubjectHints(full_name=written, birth_date=citizen.birth_date), call_context())

    found = harness.run(PopulationConnector, config, scenario)
    match = next(p for p in found if p.person_id == citizen.person_id)
    assert match.full_name == citizen.full_name  # the agency's spelling, not the one asked with


def test_search_by_birth_year_alone_finds_the_person(harness: Harness, config: AgencyConfig, world: World) -> None:
    citizen = world.citizens[7]

    async def scenario(c: PopulationConnector) -> list[Any]:
        return await c.search_people(SubjectHints(full_name=citizen.full_name, birth_year=citizen.birth_date.year,
                                                  province_code=citizen.permanent_address.province_code),
                                     call_context())

    found = harness.run(PopulationConnector, config, scenario)
    assert citizen.person_id in {p.person_id for p in found}


def test_search_without_a_birth_date_is_refused_before_sending(harness: Harness, config: AgencyConfig,
                                                               sandbox: Sandbox) -> None:
    before = len(sandbox.urls.urls)

    async def scenario(c: PopulationConnector) -> None:
        with pytest.raises(InvalidValue) as exc:
            await c.search_people(SubjectHints(full_name="Nguyễn Văn An"), call_context())
        assert exc.value.rule == "birth_date_required"

    harness.run(PopulationConnector, config, scenario)
    assert len(sandbox.urls.urls) == before


# ============================== VNeID =======================================================
def test_a_vneid_notification_is_sent_once_per_reference(harness: Harness, config: AgencyConfig,
                                                         sandbox: Sandbox, world: World) -> None:
    citizen = next(c for c in world.citizens if c.vneid_consent)
    reference = f"TB-{uuid.uuid4().hex[:12]}"

    async def scenario(c: PopulationConnector) -> tuple[str, str]:
        first = await c.notify_vneid(citizen.person_id, reference, "Thông báo thi hành án",
                                     "Quyết định thi hành án số 12/QĐ-CCTHADS", call_context())
        again = await c.notify_vneid(citizen.person_id, reference, "Thông báo thi hành án",
                                     "Quyết định thi hành án số 12/QĐ-CCTHADS", call_context())
        return first, again

    first, again = harness.run(PopulationConnector, config, scenario)
    assert first == again and first.startswith("TB-")
    effects = [e for e in pop_mock(sandbox).recorder.snapshot()["effects"] if e.get("reference") == reference]
    assert len(effects) == 1 and effects[0]["notification_id"] == first
    assert effects[0]["case"] == "THADS-79-2026-000123"


def test_vneid_refusals_are_typed(harness: Harness, config: AgencyConfig, world: World) -> None:
    refusing = next(c for c in world.citizens if not c.vneid_consent)
    consenting = [c for c in world.citizens if c.vneid_consent][:2]
    reference = f"TB-{uuid.uuid4().hex[:12]}"

    async def scenario(c: PopulationConnector) -> None:
        with pytest.raises(AgencyRejected) as exc:
            await c.notify_vneid(refusing.person_id, f"TB-{uuid.uuid4().hex[:12]}", "t", "n", call_context())
        assert exc.value.rule == "vneid_consent" and exc.value.extra["agency_code"] == "CHUA_DONG_Y"
        await c.notify_vneid(consenting[0].person_id, reference, "t", "n", call_context())
        with pytest.raises(AgencyRejected) as exc:
            await c.notify_vneid(consenting[1].person_id, reference, "t", "n", call_context())
        assert exc.value.rule == "reference_reused"
        with pytest.raises(AgencyNotFound):
            await c.notify_vneid(unknown_id(world), f"TB-{uuid.uuid4().hex[:12]}", "t", "n", call_context())
        # an answer is not a failure: the breaker stays closed
        assert str(await c.ctx.guard.breaker.state()) == "closed"

    harness.run(PopulationConnector, config, scenario)


def test_the_receipt_carries_the_acceptance_event(harness: Harness, config: AgencyConfig, world: World) -> None:
    citizen = next(c for c in world.citizens if c.vneid_consent)

    async def scenario(c: PopulationConnector) -> Any:
        return await c.notify_vneid_receipt(citizen.person_id, f"TB-{uuid.uuid4().hex[:12]}", "t", "n",
                                            call_context(), document_url="https://thads.vn/van-ban/1")

    receipt = harness.run(PopulationConnector, config, scenario)
    assert receipt.event.status.value == "accepted"
    assert abs((receipt.event.at - dt.datetime.now(dt.UTC)).total_seconds()) < 60


# ============================== accountability ==============================================
def test_a_lookup_without_case_and_purpose_never_leaves_the_hub(harness: Harness, config: AgencyConfig,
                                                               sandbox: Sandbox, world: World) -> None:
    before = len(sandbox.urls.urls)

    async def scenario(c: PopulationConnector) -> None:
        with pytest.raises(HubError) as exc:
            await c.lookup_person(world.citizens[0].person_id, CallContext.within(5))
        assert exc.value.code == "PURPOSE_MISSING"

    harness.run(PopulationConnector, config, scenario)
    assert len(sandbox.urls.urls) == before


def test_every_exchange_is_logged_without_the_token_or_the_secret(harness: Harness, config: AgencyConfig,
                                                                  world: World) -> None:
    citizen = world.citizens[5]
    tokens: list[str] = []

    async def scenario(c: PopulationConnector) -> None:
        await c.lookup_person(citizen.person_id, call_context(subject_person_id=citizen.person_id))
        assert c._token is not None
        tokens.append(c._token.value)

    harness.run(PopulationConnector, config, scenario)
    rows = harness.log_rows()
    assert [(r["operation"], r["kind"], r["outcome"]) for r in rows] == [
        ("CapToken", "request", "ok"), ("CapToken", "response", "ok"),
        ("TraCuuCongDan", "request", "ok"), ("TraCuuCongDan", "response", "ok")]
    request, response = rows[2], rows[3]
    assert (request["from_agency"], request["to_agency"], request["case_ref"]) == (
        "hub", "population", "THADS-79-2026-000123")
    assert response["from_agency"] == "population"
    assert response["correlation_id"] == request["message_id"]
    text = json.dumps(rows, default=str)
    assert tokens[0] not in text and "sandbox-secret" not in text and citizen.person_id not in text


# ============================== OAuth2 token ================================================
def test_the_token_is_fetched_once_and_reused(harness: Harness, config: AgencyConfig, world: World) -> None:
    async def scenario(c: PopulationConnector) -> int:
        for citizen in world.citizens[:4]:
            await c.lookup_person(citizen.person_id, call_context())
        return c.tokens_fetched

    assert harness.run(PopulationConnector, config, scenario) == 1


def test_a_refused_token_is_replaced_once_and_the_call_goes_through(harness: Harness, config: AgencyConfig,
                                                                    sandbox: Sandbox, world: World) -> None:
    mock = pop_mock(sandbox)

    async def scenario(c: PopulationConnector) -> tuple[int, Any]:
        await c.lookup_person(world.citizens[0].person_id, call_context())
        mock.tokens.clear()  # the agency forgets every token (a restart, a revocation)
        party = await c.lookup_person(world.citizens[1].person_id, call_context())
        return c.tokens_fetched, party

    fetched, party = harness.run(PopulationConnector, config, scenario)
    assert fetched == 2 and party is not None and party.person_id == world.citizens[1].person_id
    ops = [(r["operation"], r["kind"], r["outcome"]) for r in harness.log_rows()]
    assert ("TraCuuCongDan", "response", "refused") in ops  # the 401 is on record
    assert ops[-2:] == [("TraCuuCongDan", "request", "ok"), ("TraCuuCongDan", "response", "ok")]


def test_the_token_is_refreshed_before_it_expires(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                                  world: World) -> None:
    mock = pop_mock(sandbox)
    mock.recorder.clear()

    async def scenario(c: PopulationConnector) -> int:
        mock.token_ttl_s = 1.0
        try:
            await c.lookup_person(world.citizens[0].person_id, call_context())
        finally:
            mock.token_ttl_s = 3600.0
        await asyncio.sleep(0.95)  # inside the last tenth of its life: refreshed, not used until refused
        await c.lookup_person(world.citizens[1].person_id, call_context())
        return c.tokens_fetched

    assert harness.run(PopulationConnector, config, scenario) == 2
    refused = [r for r in mock.recorder.snapshot()["received"] if r["verdict"] == "refused"]
    assert refused == []


def test_wrong_client_credentials_are_a_rejection(harness: Harness, config: AgencyConfig, world: World) -> None:
    wrong = config.model_copy(update={"auth": config.auth.model_copy(update={"client_secret": "not-it"})})

    async def scenario(c: PopulationConnector) -> None:
        with pytest.raises(AgencyRejected) as exc:
            await c.lookup_person(world.citizens[0].person_id, call_context())
        assert exc.value.rule == "invalid_client"

    harness.run(PopulationConnector, wrong, scenario)


# ============================== faults ======================================================
def test_errors_are_retried_then_unavailable(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                             world: World) -> None:
    async def scenario(c: PopulationConnector) -> None:
        await c.lookup_person(world.citizens[0].person_id, call_context())  # token cached
        sandbox.faults("population", error_rate=1.0)
        before = c.ctx.guard.attempts_made
        with pytest.raises(AgencyUnavailable) as exc:
            await c.lookup_person(world.citizens[1].person_id, call_context())
        assert exc.value.rule == "http_500"
        assert c.ctx.guard.attempts_made - before == 3  # the policy's attempts, all failed

    harness.run(PopulationConnector, config, scenario)


def test_a_bad_answer_signature_is_refused(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                          world: World) -> None:
    sandbox.faults("population", bad_signature_rate=1.0)

    async def scenario(c: PopulationConnector) -> None:
        with pytest.raises(AgencySignatureInvalid) as exc:
            await c.lookup_person(world.citizens[0].person_id, call_context())
        assert exc.value.rule == "cryptographic"

    harness.run(PopulationConnector, config, scenario)


def test_an_unsigned_answer_is_refused(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                      world: World) -> None:
    sandbox.faults("population", unsigned_rate=1.0)

    async def scenario(c: PopulationConnector) -> None:
        with pytest.raises(AgencySignatureInvalid) as exc:
            await c.search_people(SubjectHints(full_name=world.citizens[0].full_name,
                                               birth_date=world.citizens[0].birth_date), call_context())
        assert exc.value.rule == "signature_present"

    harness.run(PopulationConnector, config, scenario)


def test_a_malformed_answer_is_invalid(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                       world: World) -> None:
    sandbox.faults("population", malformed_rate=1.0)

    async def scenario(c: PopulationConnector) -> None:
        with pytest.raises(AgencyInvalidResponse):
            await c.lookup_person(world.citizens[0].person_id, call_context())

    harness.run(PopulationConnector, config, scenario)


def test_an_outage_opens_the_breaker(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                     world: World) -> None:
    sandbox.faults("population", outage=True)

    async def scenario(c: PopulationConnector) -> None:
        with pytest.raises(AgencyUnavailable):  # the token request fails too: 503, three attempts
            await c.lookup_person(world.citizens[0].person_id, call_context())
        with pytest.raises(CircuitOpen):
            await c.lookup_person(world.citizens[0].person_id, call_context())
        sandbox.reset()
        await asyncio.sleep(0.6)  # the breaker half-opens; the trial call closes it
        assert await c.lookup_person(world.citizens[0].person_id, call_context()) is not None

    harness.run(PopulationConnector, config, scenario)


def test_a_slow_agency_times_out_within_the_deadline(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                                     world: World) -> None:
    async def scenario(c: PopulationConnector) -> float:
        await c.lookup_person(world.citizens[0].person_id, call_context())
        sandbox.faults("population", latency_ms=3000)
        started = time.monotonic()
        with pytest.raises(AgencyTimeout):
            await c.lookup_person(world.citizens[1].person_id, call_context(0.8))
        return time.monotonic() - started

    assert harness.run(PopulationConnector, config, scenario) < 1.5


# ============================== answers bound to the request ================================
class ForgedAgency:
    """An httpx transport answering as a (compromised or confused) agency would, for the binding checks."""

    def __init__(self, key_dir: Path, signer_agency: str, tamper: Callable[[EnvelopeFields], EnvelopeFields],
                 answer: dict[str, Any]) -> None:
        self.signer = JwsSigner(load_key(key_dir / f"{signer_agency}.key"),
                                load_cert(key_dir / f"{signer_agency}.pem"))
        self.signer_agency, self.tamper, self.answer = signer_agency, tamper, answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(200, json={"access_token": "x" * 32, "token_type": "Bearer", "expires_in": 600})
        # the request's claims, read without a trust check (the forger answers whatever it is asked)
        protected = json.loads(base64.urlsafe_b64decode(request.headers["X-JWS-Signature"].split(".")[0] + "=="))
        env = protected["env"]
        now = dt.datetime.now(dt.UTC)
        fields = EnvelopeFields(message_id=str(uuid.uuid4()), correlation_id=env["message_id"],
                                from_agency=self.signer_agency, to_agency="hub", service="population",
                                operation=env["operation"], created=now, expires=now + dt.timedelta(minutes=5),
                                request_hash=hashlib.sha256(request.content).hexdigest())
        body = json.dumps(self.answer, ensure_ascii=False).encode()
        return httpx.Response(200, content=body, headers={"X-JWS-Signature": self.signer.sign(self.tamper(fields),
                                                                                               body),
                                                          "Content-Type": "application/json"})


@pytest.mark.parametrize(("signer", "tamper", "rule"), [
    ("population", lambda f: EnvelopeFields(**{**f.__dict__, "correlation_id": "someone-else"}), "correlation_id"),
    ("population", lambda f: EnvelopeFields(**{**f.__dict__, "request_hash": "0" * 64}), "request_hash"),
    ("population", lambda f: EnvelopeFields(**{**f.__dict__, "to_agency": "land"}), "answer_addressee"),
    ("land", lambda f: f, "answer_signer"),
    ("land", lambda f: EnvelopeFields(**{**f.__dict__, "from_agency": "population"}), None),
])
def test_an_answer_not_bound_to_this_request_by_population_is_refused(
        harness: Harness, config: AgencyConfig, sandbox: Sandbox, world: World, signer: str,
        tamper: Callable[[EnvelopeFields], EnvelopeFields], rule: str | None) -> None:
    citizen = world.citizens[0]
    mock = pop_mock(sandbox)
    forged = ForgedAgency(sandbox.key_dir, signer, tamper, {"KetQua": "TIM_THAY", "CongDan": mock.record(citizen)})

    async def scenario(c: PopulationConnector) -> None:
        await c._http.aclose()  # type: ignore[union-attr]
        c._http = httpx.AsyncClient(transport=httpx.MockTransport(forged), base_url=config.base_url)
        with pytest.raises(AgencySignatureInvalid) as exc:
            await c.lookup_person(citizen.person_id, call_context())
        if rule is not None:
            assert exc.value.rule == rule
        else:  # a land certificate claiming to be population: the trust store's binding refuses it
            assert exc.value.extra["cause_code"] == "CERT_WRONG_AGENCY"

    harness.run(PopulationConnector, config, scenario)


def test_a_validly_signed_answer_that_breaks_the_schema_is_invalid(harness: Harness, config: AgencyConfig,
                                                                   sandbox: Sandbox, world: World) -> None:
    record = pop_mock(sandbox).record(world.citizens[0])
    record["GioiTinh"] = "M"
    forged = ForgedAgency(sandbox.key_dir, "population", lambda f: f, {"KetQua": "TIM_THAY", "CongDan": record})

    async def scenario(c: PopulationConnector) -> None:
        await c._http.aclose()  # type: ignore[union-attr]
        c._http = httpx.AsyncClient(transport=httpx.MockTransport(forged), base_url=config.base_url)
        with pytest.raises(AgencyInvalidResponse) as exc:
            await c.lookup_person(world.citizens[0].person_id, call_context())
        assert exc.value.rule == "answer_schema"

    harness.run(PopulationConnector, config, scenario)
