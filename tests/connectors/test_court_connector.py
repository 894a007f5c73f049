"""The courts' connector against the running sandbox, over real HTTP.

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
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from adapters.envelope import EnvelopeSigner, canonical_hash
from adapters.jws_envelope import JwsSigner
from adapters.pki import load_cert, load_key
from adapters.trust_store import TrustStore
from connectors.court import CourtConnector
from hub.agencies import AgencyConfig, BreakerPolicy, RetryPolicy
from hub.agency_ids import sandbox_agencies
from hub.audit.log import MessageLog
from hub.audit.recorder import ExchangeRecorder
from hub.audit.subjects import SubjectIndex
from hub.connector import ConnectorContext
from hub.errors import (
    AgencyInvalidResponse,
    AgencySignatureInvalid,
    AgencyTimeout,
    AgencyUnavailable,
    CircuitOpen,
    InvalidValue,
)
from hub.model.judgment import Judgment, ObligationKind
from hub.model.party import PartyKind, PartyRole
from hub.resilience.context import CallContext
from hub.resilience.guard import AgencyGuard
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.store.tables import message_log
from hub.trust.pki_init import init_pki
from mappings.court import EffectiveJudgmentRef
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.court.document import judgment_document
from sandbox_mocks.seed.records import Judgment as WorldJudgment
from sandbox_mocks.seed.world import World, build_world
from tests.conftest import REDIS_URL, ServedApp, free_port

T = TypeVar("T")
SEED, CITIZENS = 19, 500
ROLES = {"obligor": PartyRole.OBLIGOR, "obligee": PartyRole.OBLIGEE, "related": PartyRole.RELATED}


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
    def court(self) -> str:
        return f"{self.sandbox.url}/court"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, redis_prefix: str) -> Iterator[Env]:
    key_dir = tmp_path_factory.mktemp("court-connector-pki")
    init_pki(key_dir, sandbox_agencies())
    world = build_world(seed=SEED, citizens=CITIZENS)
    db_url = f"sqlite:///{tmp_path_factory.mktemp('court-connector-db') / 'thads.db'}"
    upgrade(db_url)
    db = Database(db_url)
    log = MessageLog(db, SubjectIndex.from_key_dir(key_dir), body_policy={"court": "full"})
    config = SandboxConfig(key_dir=key_dir, seed=SEED, citizens=CITIZENS,
                           hub_url=f"http://127.0.0.1:{free_port()}")
    with ServedApp(create_sandbox_app(config, world)) as sandbox:
        yield Env(sandbox, world, key_dir, db, log, redis_prefix)
    db.dispose()


@pytest.fixture(autouse=True)
def _no_faults_after(env: Env) -> Iterator[None]:
    yield
    httpx.delete(f"{env.court}/_admin/faults", timeout=10).raise_for_status()


def set_faults(env: Env, **changes: Any) -> None:
    httpx.put(f"{env.court}/_admin/faults", json=changes, timeout=10).raise_for_status()


def received(env: Env) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = httpx.get(f"{env.court}/_admin/recorder", timeout=10).json()["received"]
    return data


def config(env: Env, **overrides: Any) -> AgencyConfig:
    values: dict[str, Any] = {
        "protocol": "soap", "base_url": env.court, "wsdl": f"{env.court}?wsdl", "timeout_s": 5.0,
        "rate_limit_per_s": 1000.0, "retry": RetryPolicy(attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05),
        "breaker": BreakerPolicy(failures=5, reset_s=30.0), "log_body": "full"}
    values.update(overrides)
    return AgencyConfig(**values)


@asynccontextmanager
async def connector(env: Env, **overrides: Any) -> AsyncIterator[CourtConnector]:
    redis = aioredis.Redis.from_url(REDIS_URL)
    cfg = config(env, **overrides)
    key, cert = load_key(env.key_dir / "hub.key"), load_cert(env.key_dir / "hub.pem")
    ctx = ConnectorContext(
        agency_id="court", config=cfg, trust=TrustStore.load(env.key_dir), xml_signer=EnvelopeSigner(key, cert),
        jws_signer=JwsSigner(key, cert), recorder=ExchangeRecorder(env.log),
        guard=AgencyGuard("court", cfg, redis, f"{env.redis_prefix}court-{uuid.uuid4().hex[:8]}:"))
    court = CourtConnector(ctx)
    await court.start()
    try:
        yield court
    finally:
        await court.aclose()
        await redis.aclose()


def run(env: Env, scenario: Callable[[CourtConnector], Awaitable[T]], **overrides: Any) -> T:
    async def main() -> T:
        async with connector(env, **overrides) as court:
            return await scenario(court)

    return asyncio.run(main())


def call(seconds: float = 10) -> CallContext:
    return CallContext.within(seconds, case_ref="THADS-79-2026-0042", officer="Lê Văn Tám",
                              purpose="Đối soát bản án có hiệu lực pháp luật")


def log_rows(env: Env, after_seq: int = 0) -> list[Any]:
    with env.db.begin() as conn:
        return list(conn.execute(select(message_log).where(message_log.c.agency == "court",
                                                           message_log.c.seq > after_seq)
                                 .order_by(message_log.c.partition, message_log.c.seq)))


def last_seq(env: Env) -> int:
    return max((r.seq for r in log_rows(env)), default=0)


def unknown_number(world: World) -> str:
    return next(n for n in (f"{i}/2024/DS-ST" for i in range(1, 5000)) if world.judgment(n) is None)


def ddmmyyyy(day: dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


# --- the connector's declaration ----------------------------------------------------------------------
def test_declares_its_operations(env: Env) -> None:
    specs = {op.name: op for op in CourtConnector.operations}
    assert set(specs) == {"get_judgment", "list_effective_judgments"}
    assert all(op.idempotent for op in specs.values())
    assert CourtConnector.kind == "court"

    async def scenario(court: CourtConnector) -> None:
        health = await court.health()
        assert (health.agency_id, health.ok, health.breaker) == ("court", True, "closed")
        assert health.latency_ms is not None

    run(env, scenario)


# --- GetJudgment: every judgment of the world round-trips ---------------------------------------------
def assert_judgment_is(judgment: Judgment, source: WorldJudgment, world: World) -> None:
    assert judgment.number.format() == source.number
    assert (judgment.court.code, judgment.court.name, judgment.court.province_code) == \
        (source.court_code, source.court_name, source.court_province_code)
    assert (judgment.issued_on, judgment.effective_on) == (source.issued_on, source.effective_on)
    # the hash of the very document the court signed
    assert judgment.source_document_hash == canonical_hash(judgment_document(source))
    # parties: count, roles, kinds, names, and identity numbers only where the court wrote one
    assert [jp.role for jp in judgment.parties] == [ROLES[p.role] for p in source.parties]
    by_world_id: dict[str, uuid.UUID] = {}
    for jp, party in zip(judgment.parties, source.parties, strict=True):
        got = jp.party
        by_world_id[party.world_id] = got.id
        assert got.kind is PartyKind(party.kind)
        assert got.full_name == party.name_as_written
        written = party.person_id_as_written
        if party.kind == "organisation":
            assert (got.tax_code, got.person_id, got.legacy_id) == (written, None, None)
        else:
            assert got.person_id == (written if written and len(written) == 12 else None)
            assert got.legacy_id == (written if written and len(written) == 9 else None)
            assert got.tax_code is None
            birth = party.birth_year_or_date
            assert got.birth_date == (dt.datetime.strptime(birth, "%d/%m/%Y").date()
                                      if birth and len(birth) == 10 else None)
            assert got.extensions.get("NamSinh") == (birth if birth and len(birth) == 4 else None)
        [address] = got.addresses
        assert address.original_text == party.address_as_written
        holder = world.citizen(party.world_id) or world.organisation(party.world_id)
        assert holder is not None
        expected = holder.permanent_address if hasattr(holder, "permanent_address") else holder.address
        assert address.province_code == expected.province_code
    # obligations: kinds, amounts, obligors and obligees, wording, in the judgment's order
    orders = [d for d in source.dispositions if d.kind != "court_fee"] + \
        [d for d in source.dispositions if d.kind == "court_fee"]
    assert [(o.kind.value, o.amount_vnd, o.obligor_id, o.obligee_id, o.description) for o in judgment.obligations] == \
        [(d.kind, d.amount_vnd, by_world_id[d.obligor], by_world_id[d.obligee] if d.obligee else None, d.text)
         for d in orders]


def test_every_judgment_of_the_world_round_trips(env: Env) -> None:
    world = env.world

    async def scenario(court: CourtConnector) -> list[Judgment | None]:
        return [await court.get_judgment(j.number, j.court_code, call()) for j in world.judgments]

    before = dt.datetime.now(dt.UTC)
    found = run(env, scenario)
    assert len(found) == len(world.judgments) > 10
    for judgment, source in zip(found, world.judgments, strict=True):
        assert judgment is not None
        Judgment.model_validate(judgment.model_dump())  # a valid canonical judgment, not just a built one
        assert_judgment_is(judgment, source, world)
        assert judgment.received_at is not None and before <= judgment.received_at <= dt.datetime.now(dt.UTC)
    # the world has every shape the contract can say, and the connector kept each
    parties = [(jp.party, p) for j, s in zip(found, world.judgments, strict=True) if j
               for jp, p in zip(j.parties, s.parties, strict=True)]
    assert any(p.person_id_as_written is None and p.kind == "individual" for _, p in parties)
    assert all(got.person_id is None and got.legacy_id is None
               for got, p in parties if p.person_id_as_written is None)  # no ID written: none invented
    assert any(got.legacy_id for got, _ in parties) and any(got.tax_code for got, _ in parties)
    assert any(got.addresses[0].former_district for got, _ in parties)
    kinds = {o.kind for j in found if j for o in j.obligations}
    assert {ObligationKind.PAY_MONEY, ObligationKind.COURT_FEE} <= kinds


def test_a_number_that_court_does_not_have_is_none(env: Env) -> None:
    known = env.world.judgments[0]
    other_court = "TAND-01-KV01" if known.court_code != "TAND-01-KV01" else "TAND-79-KV01"
    before = last_seq(env)

    async def scenario(court: CourtConnector) -> list[Judgment | None]:
        return [await court.get_judgment(unknown_number(env.world), known.court_code, call()),
                await court.get_judgment(known.number, other_court, call())]

    assert run(env, scenario) == [None, None]
    assert [(r.kind, r.outcome) for r in log_rows(env, before)] == [("request", "ok"), ("response", "not_found")] * 2


def test_every_call_is_logged_with_its_bytes_and_headers(env: Env) -> None:
    judgment = env.world.judgments[0]
    before = last_seq(env)
    run(env, lambda court: court.get_judgment(judgment.number, judgment.court_code, call()))
    request, response = log_rows(env, before)
    assert (request.direction, request.kind, request.operation, request.service) == \
        ("outbound", "request", "GetJudgment", "judgments")
    assert (request.from_agency, request.to_agency, request.case_ref, request.officer, request.purpose) == \
        ("hub", "court", "THADS-79-2026-0042", "Lê Văn Tám", "Đối soát bản án có hiệu lực pháp luật")
    assert "TraCuuBanAn" in request.body and "SignatureValue" in request.body  # signed as sent
    assert (response.from_agency, response.to_agency) == ("court", "hub")
    assert response.correlation_id == request.message_id
    assert response.outcome == "ok" and judgment.number in response.body


def test_invalid_input_is_refused_before_anything_is_sent(env: Env) -> None:
    async def scenario(court: CourtConnector) -> None:
        before = len(received(env))
        for number, court_code in (("12-2024-DS", "TAND-79-KV01"), ("12/2024/DS-ST", "TOA-AN-1"),
                                   ("12/1890/DS-ST", "TAND-79-KV01")):
            with pytest.raises(InvalidValue):
                await court.get_judgment(number, court_code, call())
        with pytest.raises(InvalidValue):
            await court.list_effective_judgments(dt.date(2020, 1, 1), call(), page_size=501)
        assert len(received(env)) == before

    run(env, scenario)


# --- ListEffectiveJudgments ------------------------------------------------------------------------------
def test_list_effective_judgments_equals_the_world_through_every_page(env: Env) -> None:
    world = env.world
    days = sorted({j.effective_on for j in world.judgments})
    since_values = [dt.date(1990, 1, 1), days[len(days) // 2], days[-1], days[-1] + dt.timedelta(days=1)]
    before = last_seq(env)

    async def scenario(court: CourtConnector) -> list[list[EffectiveJudgmentRef]]:
        out = [await court.list_effective_judgments(since, call(), page_size=4) for since in since_values]
        out.append(await court.list_effective_judgments(since_values[0], call()))  # one page of 100
        return out

    listed = run(env, scenario)
    for since, refs in zip([*since_values, since_values[0]], listed, strict=True):
        expected = world.judgments_since(since)
        assert [r.number for r in refs] == [j.number for j in expected]
        assert [(r.court_code, r.effective_on) for r in refs] == [(j.court_code, j.effective_on) for j in expected]
    assert listed[3] == []
    # paged: one exchange per page, and the first listing took ceil(n / 4) of them
    pages = [r for r in log_rows(env, before) if r.kind == "request"]
    assert all(r.operation == "ListEffectiveJudgments" for r in pages)
    first = len(world.judgments_since(since_values[0]))
    assert len(pages) >= (first + 3) // 4 + 2


def test_a_listed_judgment_can_be_read(env: Env) -> None:
    async def scenario(court: CourtConnector) -> tuple[EffectiveJudgmentRef, Judgment | None]:
        refs = await court.list_effective_judgments(dt.date(2000, 1, 1), call(), page_size=10)
        return refs[-1], await court.get_judgment(refs[-1].number, refs[-1].court_code, call())

    ref, judgment = run(env, scenario)
    assert judgment is not None
    assert (judgment.number, judgment.court.code, judgment.effective_on) == \
        (ref.parsed_number, ref.court_code, ref.effective_on)


# --- error mapping -------------------------------------------------------------------------------------
def test_error_rate_retries_a_look_up_then_agency_unavailable(env: Env) -> None:
    judgment = env.world.judgments[0]
    before_log = last_seq(env)

    async def scenario(court: CourtConnector) -> None:
        set_faults(env, error_rate=1)
        before = len(received(env))
        with pytest.raises(AgencyUnavailable) as caught:
            await court.get_judgment(judgment.number, judgment.court_code, call())
        assert [e["verdict"] for e in received(env)[before:]] == ["error"] * 3
        assert court.ctx.guard.attempts_made == 3
        assert caught.value.transient

    run(env, scenario)
    rows = log_rows(env, before_log)
    assert [(r.kind, r.outcome) for r in rows] == [("request", "ok"), ("response", "failed")] * 3 + [
        ("response", "refused")]
    assert {r.error_code for r in rows if r.kind == "response"} == {"AGENCY_UNAVAILABLE"}
    assert len({r.message_id for r in rows if r.kind == "request"}) == 3  # each attempt is a new message


def test_a_bad_signature_is_agency_signature_invalid_and_not_retried(env: Env) -> None:
    judgment = env.world.judgments[0]
    before_log = last_seq(env)

    async def scenario(court: CourtConnector) -> AgencySignatureInvalid:
        set_faults(env, bad_signature_rate=1)
        before = len(received(env))
        with pytest.raises(AgencySignatureInvalid) as caught:
            await court.get_judgment(judgment.number, judgment.court_code, call())
        assert len(received(env)) - before == 1
        return caught.value

    error = run(env, scenario)
    assert (error.code, error.rule) == ("SIGNATURE_INVALID", "cryptographic")
    rows = log_rows(env, before_log)
    assert [(r.kind, r.outcome, r.error_code) for r in rows] == [
        ("request", "ok", None), ("response", "refused", "SIGNATURE_INVALID"),
        ("response", "refused", "SIGNATURE_INVALID")]
    assert rows[1].size_bytes > 0  # the refused answer's bytes are kept


def test_an_unsigned_answer_is_agency_signature_invalid(env: Env) -> None:
    async def scenario(court: CourtConnector) -> AgencySignatureInvalid:
        set_faults(env, unsigned_rate=1)
        with pytest.raises(AgencySignatureInvalid) as caught:
            await court.list_effective_judgments(dt.date(2020, 1, 1), call())
        return caught.value

    assert run(env, scenario).rule == "signature_present"


def test_a_malformed_answer_is_agency_invalid_response(env: Env) -> None:
    judgment = env.world.judgments[0]

    async def scenario(court: CourtConnector) -> AgencyInvalidResponse:
        set_faults(env, malformed_rate=1)
        before = len(received(env))
        with pytest.raises(AgencyInvalidResponse) as caught:
            await court.get_judgment(judgment.number, judgment.court_code, call())
        assert len(received(env)) - before == 1
        return caught.value

    assert run(env, scenario).code == "AGENCY_INVALID_RESPONSE"


def test_outage_opens_the_breaker_and_the_third_call_does_not_reach_the_court(env: Env) -> None:
    judgment = env.world.judgments[0]
    before_log = last_seq(env)

    async def scenario(court: CourtConnector) -> None:
        set_faults(env, outage=True)
        start = len(received(env))
        for _ in range(2):
            with pytest.raises(AgencyUnavailable):
                await court.get_judgment(judgment.number, judgment.court_code, call())
        assert len(received(env)) - start == 2
        with pytest.raises(CircuitOpen):
            await court.get_judgment(judgment.number, judgment.court_code, call())
        assert len(received(env)) - start == 2  # failed fast, nothing sent
        health = await court.health()
        assert health.breaker == "open" and health.ok

    run(env, scenario, retry=RetryPolicy(attempts=1), breaker=BreakerPolicy(failures=2, reset_s=30.0))
    closing = log_rows(env, before_log)[-1]
    assert (closing.outcome, closing.error_code) == ("refused", "CIRCUIT_OPEN")


def test_a_court_that_hangs_is_an_agency_timeout(env: Env) -> None:
    judgment = env.world.judgments[0]
    before_log = last_seq(env)

    async def scenario(court: CourtConnector) -> None:
        set_faults(env, timeout_rate=1, timeout_s=2)
        with pytest.raises(AgencyTimeout):
            await court.get_judgment(judgment.number, judgment.court_code, call(seconds=3))

    run(env, scenario, timeout_s=0.3, retry=RetryPolicy(attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02))
    rows = log_rows(env, before_log)
    assert [r.outcome for r in rows if r.kind == "response"] == ["timeout", "timeout", "refused"]
    assert rows[-1].error_code == "AGENCY_TIMEOUT"


def test_an_unreachable_court_is_agency_unavailable_and_unhealthy(env: Env) -> None:
    judgment = env.world.judgments[0]
    nowhere = f"http://127.0.0.1:{free_port()}/court"

    async def scenario(court: CourtConnector) -> None:
        with pytest.raises(AgencyUnavailable) as caught:
            await court.get_judgment(judgment.number, judgment.court_code, call())
        assert caught.value.rule == "http_transport"
        assert court.ctx.guard.attempts_made == 3
        health = await court.health()
        assert not health.ok and health.latency_ms is None

    run(env, scenario, base_url=nowhere, wsdl=f"{nowhere}?wsdl")


def test_concurrent_calls_keep_their_own_answers(env: Env) -> None:
    picks = env.world.judgments[:8]

    async def scenario(court: CourtConnector) -> list[Judgment | None]:
        return list(await asyncio.gather(*(court.get_judgment(j.number, j.court_code, call()) for j in picks)))

    for judgment, source in zip(run(env, scenario), picks, strict=True):
        assert judgment is not None and judgment.number.format() == source.number
        assert judgment.source_document_hash == canonical_hash(judgment_document(source))
