"""The bank connector against the running sandbox, over real HTTP: three banks mounted, three connectors.

The sandbox (create_sandbox_app, a small world, the three sandbox BINs) is the real peer; each connector
(``bank-970436``, ``bank-970418``, ``bank-970405``) is built directly (no entry points) with a
ConnectorContext of real parts: the hub's key and the trust store from a fresh dev PKI, the message log on
a migrated SQLite file, and a guard over the run's Redis prefix (each connector its own breaker, so tests
do not trip each other's). The sandbox pushes its freeze confirmations to a small inbox served here, which
stands in for the hub's inbound endpoint.

World data is shared by the tests, so they keep out of each other's way: the look-up tests read the accounts
of reserved owners, the freeze tests take accounts nobody else uses, and payouts go through 970436 to
accounts at the other two banks (a payout credits only accounts at the paying bank, so no balance moves).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI, Request, Response
from lxml import etree
from sqlalchemy import select

from adapters import soap_envelope
from adapters.envelope import NS as ENV_NS
from adapters.envelope import EnvelopeSigner, EnvelopeVerifier, build_envelope, read_header
from adapters.jws_envelope import JwsSigner
from adapters.pki import load_cert, load_key
from adapters.trust_store import TrustStore
from adapters.xsd import CompiledSchema
from connectors.bank import BankConnector
from hub.agencies import AgencyConfig, BreakerPolicy, RetryPolicy
from hub.agency_ids import sandbox_agencies
from hub.audit.log import MessageLog
from hub.audit.recorder import ExchangeRecorder
from hub.audit.subjects import SubjectIndex
from hub.connector import AccountSource, ConnectorContext, collecting_provenance
from hub.errors import (
    AgencyInvalidResponse,
    AgencyRejected,
    AgencySignatureInvalid,
    AgencyTimeout,
    AgencyUnavailable,
    CircuitOpen,
    InvalidValue,
)
from hub.model.assets import BankAccount
from hub.model.measures import AccountFreeze, MeasureStatus
from hub.model.payments import Payment, PaymentDirection, PaymentStatus
from hub.resilience.context import CallContext
from hub.resilience.guard import AgencyGuard
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.store.tables import message_log
from hub.trust.pki_init import init_pki
from mappings import bank as m
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.bank import DEFAULT_OFFICE_ACCOUNT
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.seed.world import Account, World, build_world
from tests.conftest import REDIS_URL, ServedApp, free_port

T = TypeVar("T")
SEED, CITIZENS = 23, 500
BINS = ("970436", "970418", "970405")
MAIN, OTHER = BINS[0], BINS[1]
OFFICE = "Thi hành án dân sự Thành phố Hồ Chí Minh"
CASE_REF = "THADS-79-2026-0042"


# --- the pushed events' inbox (stands in for the hub's /v1/inbound/banks/{bin}/events) -------------------
@dataclass
class Inbox:
    events: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/inbound/banks/{bank_bin}/events")
        async def receive(bank_bin: str, request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.events.append((bank_bin, body))
            return Response(status_code=202)

        return app

    def wait_for(self, predicate: Callable[[str, bytes], bool], seconds: float = 10) -> bytes:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                for bank_bin, body in self.events:
                    if predicate(bank_bin, body):
                        return body
            time.sleep(0.05)
        raise AssertionError("the bank pushed no such event")


# --- the sandbox and the hub's side ------------------------------------------------------------------
@dataclass
class Env:
    sandbox: ServedApp
    world: World
    key_dir: Path
    db: Database
    log: MessageLog
    redis_prefix: str
    inbox: Inbox

    def bank(self, bank_bin: str) -> str:
        return f"{self.sandbox.url}/banks/{bank_bin}"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, redis_prefix: str) -> Iterator[Env]:
    key_dir = tmp_path_factory.mktemp("bank-connector-pki")
    init_pki(key_dir, sandbox_agencies())
    world = build_world(seed=SEED, citizens=CITIZENS, bank_bins=BINS)
    db_url = f"sqlite:///{tmp_path_factory.mktemp('bank-connector-db') / 'thads.db'}"
    upgrade(db_url)
    db = Database(db_url)
    # full bodies for the banks, so the tests can see the very bytes that went over the wire
    log = MessageLog(db, SubjectIndex.from_key_dir(key_dir), body_policy={f"bank-{b}": "full" for b in BINS})
    inbox = Inbox()
    with ServedApp(inbox.app()) as hub:
        config = SandboxConfig(key_dir=key_dir, seed=SEED, citizens=CITIZENS, hub_url=hub.url, bank_bins=BINS)
        with ServedApp(create_sandbox_app(config, world)) as sandbox:
            yield Env(sandbox, world, key_dir, db, log, redis_prefix, inbox)
    db.dispose()


@pytest.fixture(autouse=True)
def _no_faults_after(env: Env) -> Iterator[None]:
    yield
    for b in BINS:
        httpx.delete(f"{env.bank(b)}/_admin/faults", timeout=10).raise_for_status()


def set_faults(env: Env, bank_bin: str = MAIN, **changes: Any) -> None:
    httpx.put(f"{env.bank(bank_bin)}/_admin/faults", json=changes, timeout=10).raise_for_status()


def clear_faults(env: Env, bank_bin: str = MAIN) -> None:
    httpx.delete(f"{env.bank(bank_bin)}/_admin/faults", timeout=10).raise_for_status()


def mock_recorder(env: Env, bank_bin: str = MAIN) -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = httpx.get(f"{env.bank(bank_bin)}/_admin/recorder", timeout=10).json()
    return data


def received(env: Env, bank_bin: str = MAIN) -> int:
    return len(mock_recorder(env, bank_bin)["received"])


def effects(env: Env, kind: str, bank_bin: str = MAIN, **match: Any) -> list[dict[str, Any]]:
    return [e for e in mock_recorder(env, bank_bin)["effects"]
            if e["kind"] == kind and all(e.get(k) == v for k, v in match.items())]


def config(env: Env, bank_bin: str, **overrides: Any) -> AgencyConfig:
    values: dict[str, Any] = {
        "protocol": "soap", "base_url": env.bank(bank_bin), "wsdl": f"{env.bank(bank_bin)}?wsdl", "timeout_s": 10.0,
        "rate_limit_per_s": 1000.0, "retry": RetryPolicy(attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05),
        "breaker": BreakerPolicy(failures=5, reset_s=30.0), "log_body": "full"}
    values.update(overrides)
    return AgencyConfig(**values)


@asynccontextmanager
async def connector(env: Env, bank_bin: str, agency_id: str | None = None, **overrides: Any
                    ) -> AsyncIterator[BankConnector]:
    agency = agency_id or f"bank-{bank_bin}"
    redis = aioredis.Redis.from_url(REDIS_URL)
    cfg = config(env, bank_bin, **overrides)
    key, cert = load_key(env.key_dir / "hub.key"), load_cert(env.key_dir / "hub.pem")
    ctx = ConnectorContext(
        agency_id=agency, config=cfg, trust=TrustStore.load(env.key_dir), xml_signer=EnvelopeSigner(key, cert),
        jws_signer=JwsSigner(key, cert), recorder=ExchangeRecorder(env.log),
        guard=AgencyGuard(agency, cfg, redis, f"{env.redis_prefix}{agency}-{uuid.uuid4().hex[:8]}:"))
    bank = BankConnector(ctx)
    await bank.start()
    try:
        yield bank
    finally:
        await bank.aclose()
        await redis.aclose()


def run(env: Env, scenario: Callable[[BankConnector], Awaitable[T]], bank_bin: str = MAIN, **overrides: Any) -> T:
    async def main() -> T:
        async with connector(env, bank_bin, **overrides) as bank:
            return await scenario(bank)

    return asyncio.run(main())


def run_all(env: Env, scenario: Callable[[dict[str, BankConnector]], Awaitable[T]], **overrides: Any) -> T:
    """The three banks' connectors, as the core builds them from the agencies file: one per BIN."""
    async def main() -> T:
        async with AsyncExitStack() as stack:
            banks = {b: await stack.enter_async_context(connector(env, b, **overrides)) for b in BINS}
            return await scenario(banks)

    return asyncio.run(main())


def call(subject: str | None = None, seconds: float = 20) -> CallContext:
    return CallContext.within(seconds, case_ref=CASE_REF, officer="Lê Văn Tám",
                              purpose="Xác minh điều kiện thi hành án", subject_person_id=subject)


def log_rows(env: Env, bank_bin: str = MAIN, after_seq: int = 0) -> list[Any]:
    with env.db.begin() as conn:
        return list(conn.execute(select(message_log).where(message_log.c.agency == f"bank-{bank_bin}",
                                                           message_log.c.seq > after_seq)
                                 .order_by(message_log.c.partition, message_log.c.seq)))


def last_seq(env: Env, bank_bin: str = MAIN) -> int:
    with env.db.begin() as conn:
        return max((r.seq for r in conn.execute(select(message_log.c.seq))), default=0)


def decision(kind: str = "QĐ-CCTHADS") -> str:
    return f"{uuid.uuid4().int % 900_000 + 100_000}/{kind}"


def vn_date(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


# --- who is used by which test -------------------------------------------------------------------------
def spread_citizen(world: World) -> str:
    """A person with accounts at several banks, one of them closed: the look-up tests read theirs."""
    for citizen in world.citizens:
        accounts = world.accounts_of(citizen.person_id)
        if len({a.bank_bin for a in accounts}) >= 2 and any(a.status == "closed" for a in accounts):
            return citizen.person_id
    raise AssertionError("the world has no such person")


def firm_with_accounts(world: World) -> str:
    return next(o.tax_code for o in world.organisations if world.accounts_of(o.tax_code, MAIN))


def reserved(world: World) -> set[str]:
    return {spread_citizen(world), firm_with_accounts(world)}


_taken: set[tuple[str, str]] = set()


def take(world: World, bank_bin: str = MAIN, *, status: str = "active", min_balance: int = 0) -> Account:
    """An account of the world no other test of this module uses."""
    keep_out = reserved(world)
    for a in world.accounts:
        key = (a.bank_bin, a.account_number)
        if (a.bank_bin == bank_bin and a.status == status and a.balance_vnd >= min_balance and key not in _taken
                and a.owner_id not in keep_out):
            _taken.add(key)
            return a
    raise AssertionError("the world ran out of suitable accounts")


def unknown_account(world: World, bank_bin: str = MAIN) -> str:
    # a leading zero: no account of the world starts with one
    return next(n for n in (f"0{i:012d}" for i in range(1, 1000)) if world.account(bank_bin, n) is None)


def freeze_of(account: Account, amount: int, **changes: Any) -> AccountFreeze:
    return AccountFreeze(decision_ref=changes.pop("decision_ref", None) or decision(), bank_bin=account.bank_bin,
                         account_number=account.account_number, amount_vnd=amount, **changes)


# --- the connector's declaration ----------------------------------------------------------------------
def test_declares_its_operations_and_capability_and_serves_one_bank_each(env: Env) -> None:
    specs = {op.name: op for op in BankConnector.operations}
    assert set(specs) == {"find_accounts", "freeze", "release", "payout"}
    assert all(op.idempotent for op in specs.values())
    for name in ("freeze", "release"):
        assert "idempotency key" in specs[name].description
        assert "(SoQuyetDinh, SoTaiKhoan)" in specs[name].description
    assert "MsgId" in specs["payout"].description
    assert BankConnector.kind == "bank"

    async def scenario(banks: dict[str, BankConnector]) -> None:
        for b, bank in banks.items():
            assert isinstance(bank, AccountSource)
            assert (bank.agency_id, bank.bank_bin) == (f"bank-{b}", b)
            health = await bank.health()
            assert (health.agency_id, health.ok, health.breaker) == (f"bank-{b}", True, "closed")
            assert health.latency_ms is not None

    run_all(env, scenario)

    async def badly_named() -> None:
        async with connector(env, MAIN, agency_id="bank-97043"):
            pass

    with pytest.raises(InvalidValue) as caught:
        asyncio.run(badly_named())
    assert caught.value.rule == "bank_agency_id"


# --- look-ups ------------------------------------------------------------------------------------------
def assert_account_is(account: BankAccount, source: Account, *, asked_at: dt.datetime) -> None:
    assert (account.bank_bin, account.account_number) == (source.bank_bin, source.account_number)
    assert account.holder_name == source.holder_name
    assert account.currency == "VND"
    assert account.balance_vnd == source.balance_vnd
    assert account.balance_at is not None
    assert asked_at - dt.timedelta(seconds=2) <= account.balance_at <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert account.frozen_vnd == 0
    assert account.extensions["TrangThai"] == ("HOAT_DONG" if source.status == "active" else "DONG")
    assert account.extensions["SoDuKhaDung"] == str(source.balance_vnd)
    assert account.extensions["NgayMoTaiKhoan"] == vn_date(source.opened_on)


def test_find_accounts_equals_the_worlds_accounts_at_every_bank(env: Env) -> None:
    person = spread_citizen(env.world)
    expected = env.world.accounts_of(person)

    async def one(bank: BankConnector) -> tuple[list[BankAccount], list[Any]]:
        with collecting_provenance() as provenance:  # as the verification service collects it, per source
            return await bank.find_accounts(person, call(person)), provenance

    async def scenario(banks: dict[str, BankConnector]) -> list[tuple[list[BankAccount], list[Any]]]:
        return list(await asyncio.gather(*(one(bank) for bank in banks.values())))

    asked_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    results = run_all(env, scenario)
    for b, (_, provenance) in zip(BINS, results, strict=True):  # each result names the bank's signed answer
        assert [p.signer for p in provenance] == [f"bank-{b}"]
        assert len(provenance[0].payload_hash) == 64 and provenance[0].envelope_id
    found = [a for per_bank, _ in results for a in per_bank]
    assert sorted((a.bank_bin, a.account_number) for a in found) == sorted((a.bank_bin, a.account_number)
                                                                          for a in expected)
    assert len({a.bank_bin for a in found}) >= 2
    by_key = {(a.bank_bin, a.account_number): a for a in expected}
    for account in found:
        assert_account_is(account, by_key[(account.bank_bin, account.account_number)], asked_at=asked_at)
        assert account.holder_id == person
        assert "MaSoThue" not in account.extensions
    assert any(a.extensions["TrangThai"] == "DONG" for a in found)  # closed accounts are kept, marked


def test_an_organisation_is_found_by_its_tax_code(env: Env) -> None:
    firm = firm_with_accounts(env.world)

    accounts = run(env, lambda bank: bank.find_accounts(firm, call()))
    expected = env.world.accounts_of(firm, MAIN)
    assert [a.account_number for a in accounts] == [a.account_number for a in expected]
    for account, source in zip(accounts, expected, strict=True):
        assert_account_is(account, source, asked_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10))
        assert account.holder_id is None
        assert account.extensions["MaSoThue"] == firm


def test_a_person_without_accounts_gets_an_empty_list_from_every_bank(env: Env) -> None:
    nobody = next(c.person_id for c in env.world.citizens if not env.world.accounts_of(c.person_id))
    before = {b: last_seq(env, b) for b in BINS}

    async def scenario(banks: dict[str, BankConnector]) -> list[list[BankAccount]]:
        return [await bank.find_accounts(nobody, call(nobody)) for bank in banks.values()]

    assert run_all(env, scenario) == [[], [], []]
    for b in BINS:
        assert [(r.kind, r.outcome) for r in log_rows(env, b, before[b])] == [("request", "ok"), ("response", "ok")]


def test_every_call_is_logged_with_its_bytes_and_headers(env: Env) -> None:
    person = spread_citizen(env.world)
    bank_bin = next(a.bank_bin for a in env.world.accounts_of(person))
    before = last_seq(env, bank_bin)
    run(env, lambda bank: bank.find_accounts(person, call(person)), bank_bin=bank_bin)
    request, response = log_rows(env, bank_bin, before)
    assert (request.direction, request.kind, request.operation, request.service) == \
        ("outbound", "request", "TraCuuTaiKhoan", "bank")
    assert (request.from_agency, request.to_agency, request.case_ref, request.officer, request.purpose) == \
        ("hub", f"bank-{bank_bin}", CASE_REF, "Lê Văn Tám", "Xác minh điều kiện thi hành án")
    assert request.body.startswith("<?xml") and "TraCuuTaiKhoan" in request.body
    assert "SignatureValue" in request.body  # signed as sent
    # the answer: the bank's verified header, bound to this request
    assert (response.from_agency, response.to_agency) == (f"bank-{bank_bin}", "hub")
    assert response.correlation_id == request.message_id
    assert response.outcome == "ok" and response.size_bytes > 0
    assert "TraCuuTaiKhoanPhanHoi" in response.body
    # the person is findable by keyed hash only; the ID itself is nowhere in the row's metadata
    assert request.subject_hmac and request.subject_masked != person
    assert person not in (request.subject_masked or "")


# --- freezes -----------------------------------------------------------------------------------------------
def confirmation_for(env: Env, bank_bin: str, ref: str) -> etree._Element:
    """The XacNhanPhongToa the bank pushed for decision ``ref``, verified as the hub's inbound endpoint would:
    the signed element, checked against the contract."""
    verifier = EnvelopeVerifier(TrustStore.load(env.key_dir))

    def about(b: str, body: bytes) -> bool:
        return b == bank_bin and f">{ref}<".encode() in body

    verified = verifier.verify(env.inbox.wait_for(about), expected_to="hub")
    assert verified.signer == f"bank-{bank_bin}" and verified.header.operation == "XacNhanPhongToa"
    assert verified.header.case_ref == CASE_REF
    CompiledSchema.load(m.XSD).validate(verified.body)
    return verified.body


def test_a_freeze_asked_twice_is_one_freeze_and_shows_in_the_next_look_up(env: Env) -> None:
    account = take(env.world, min_balance=10_000_000)
    amount = account.balance_vnd // 2
    freeze = freeze_of(account, amount)

    async def scenario(bank: BankConnector) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["first"] = await bank.freeze(freeze, OFFICE, dt.date(2026, 11, 20), call(account.owner_id))
        out["again"] = await bank.freeze(freeze, OFFICE, dt.date(2026, 11, 20), call(account.owner_id))
        out["accounts"] = await bank.find_accounts(account.owner_id, call(account.owner_id))
        return out

    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    out = run(env, scenario)
    first: AccountFreeze = out["first"]
    assert first.status is MeasureStatus.APPLIED
    assert (first.id, first.decision_ref, first.amount_vnd) == (freeze.id, freeze.decision_ref, amount)
    assert first.frozen_vnd == amount
    assert first.confirmed_at is not None
    assert started - dt.timedelta(seconds=1) <= first.confirmed_at <= dt.datetime.now(dt.UTC)
    assert first.urgent_record is False
    # the same freeze twice: one freeze at the bank, the same values back
    assert out["again"] == first
    applied = effects(env, "freeze_applied", decision=freeze.decision_ref)
    assert len(applied) == 1
    assert (applied[0]["account_number"], applied[0]["requested"], applied[0]["held"]) == \
        (account.account_number, amount, amount)
    assert applied[0]["case_ref"] == CASE_REF
    # the look-up shows what is held, and by which decision
    held = next(a for a in out["accounts"] if a.account_number == account.account_number)
    assert held.frozen_vnd == amount
    assert held.extensions["SoDuKhaDung"] == str(account.balance_vnd - amount)
    assert held.extensions[f"PhongToa/{freeze.decision_ref}/SoTienDaPhongToa"] == str(amount)
    assert held.extensions[f"PhongToa/{freeze.decision_ref}/KhanCap"] == "false"
    # the confirmation the bank pushed maps to the same freeze
    event = confirmation_for(env, MAIN, freeze.decision_ref)
    confirmation = m.freeze_confirmation_from(event, bank_bin=MAIN)
    assert confirmation.freeze.model_dump(exclude={"id"}) == first.model_dump(exclude={"id"})
    assert m.freeze_confirmation_from(event, freeze, bank_bin=MAIN).freeze == first  # the hub's own freeze, updated
    assert confirmation.decided_on == dt.date(2026, 11, 20) and confirmation.office == OFFICE
    assert confirmation.receipt.transaction_id == held.extensions[f"PhongToa/{freeze.decision_ref}/MaGiaoDich"]


def test_a_freeze_is_capped_by_the_balance_and_released(env: Env) -> None:
    account = take(env.world, min_balance=1_000_000)
    over = account.balance_vnd + 5_000_000
    capped, second = freeze_of(account, over), freeze_of(account, 1_000_000)
    release_ref = decision("QĐ-GTPT")

    async def scenario(bank: BankConnector) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["capped"] = await bank.freeze(capped, OFFICE, dt.date(2026, 11, 20), call())
        out["nothing_left"] = await bank.freeze(second, OFFICE, dt.date(2026, 11, 21), call())
        out["held"] = await bank.find_accounts(account.owner_id, call(account.owner_id))
        out["released"] = await bank.release(out["capped"], release_ref, call(), released_on=dt.date(2026, 11, 22),
                                             office=OFFICE)
        out["released_again"] = await bank.release(out["capped"], release_ref, call())
        out["after"] = await bank.find_accounts(account.owner_id, call(account.owner_id))
        out["asked_again"] = await bank.freeze(capped, OFFICE, dt.date(2026, 11, 20), call())
        return out

    out = run(env, scenario)
    assert out["capped"].status is MeasureStatus.APPLIED
    assert out["capped"].frozen_vnd == account.balance_vnd < capped.amount_vnd  # a partial freeze
    assert out["nothing_left"].status is MeasureStatus.APPLIED and out["nothing_left"].frozen_vnd == 0
    held = next(a for a in out["held"] if a.account_number == account.account_number)
    assert (held.frozen_vnd, held.extensions["SoDuKhaDung"]) == (account.balance_vnd, "0")

    released: AccountFreeze = out["released"]
    assert released.status is MeasureStatus.LIFTED
    assert released.frozen_vnd == account.balance_vnd  # what it held until released
    assert (released.id, released.confirmed_at) == (capped.id, out["capped"].confirmed_at)
    assert out["released_again"] == released
    assert len(effects(env, "freeze_released", decision=capped.decision_ref)) == 1
    after = next(a for a in out["after"] if a.account_number == account.account_number)
    assert after.frozen_vnd == 0
    assert f"PhongToa/{capped.decision_ref}/MaGiaoDich" not in after.extensions
    assert f"PhongToa/{second.decision_ref}/MaGiaoDich" in after.extensions
    # the first decision asked again: the first receipt, telling that it was released since
    assert out["asked_again"].status is MeasureStatus.LIFTED
    assert out["asked_again"].frozen_vnd == account.balance_vnd
    assert len(effects(env, "freeze_applied", decision=capped.decision_ref)) == 1


def test_an_urgent_freeze_by_record(env: Env) -> None:
    account = take(env.world, min_balance=1_000_000)
    urgent = freeze_of(account, 500_000, decision_ref=decision("BB-THADS"), urgent_record=True)
    applied = run(env, lambda bank: bank.freeze(urgent, OFFICE, dt.date(2026, 11, 20), call()))
    assert (applied.status, applied.urgent_record, applied.frozen_vnd) == (MeasureStatus.APPLIED, True, 500_000)
    confirmation = m.freeze_confirmation_from(confirmation_for(env, MAIN, urgent.decision_ref), urgent)
    assert confirmation.freeze == applied
    assert confirmation.receipt.decision_due_at is not None and applied.confirmed_at is not None
    assert confirmation.receipt.decision_due_at - applied.confirmed_at == dt.timedelta(hours=24)


def test_bank_refusals_are_agency_rejected_with_its_code_and_not_retried(env: Env) -> None:
    closed, account = take(env.world, status="closed"), take(env.world, min_balance=10_000)
    nowhere = AccountFreeze(decision_ref=decision(), bank_bin=MAIN, account_number=unknown_account(env.world),
                            amount_vnd=1_000)
    freeze = freeze_of(account, 1_000)

    async def scenario(bank: BankConnector) -> list[tuple[str | None, int]]:
        out = []
        attempts: list[Callable[[], Awaitable[Any]]] = [
            lambda: bank.freeze(freeze_of(closed, 1_000), OFFICE, dt.date(2026, 11, 20), call()),
            lambda: bank.freeze(nowhere, OFFICE, dt.date(2026, 11, 20), call()),
            lambda: bank.release(freeze, decision(), call()),
        ]
        for make in attempts:
            before = received(env)
            with pytest.raises(AgencyRejected) as caught:
                await make()
            out.append((caught.value.rule, received(env) - before))
        await bank.freeze(freeze, OFFICE, dt.date(2026, 11, 20), call())
        for make in (lambda: bank.freeze(freeze.model_copy(update={"amount_vnd": 2_000}), OFFICE,
                                         dt.date(2026, 11, 20), call()),
                     lambda: bank.freeze(freeze, OFFICE, dt.date(2026, 11, 21), call())):
            before = received(env)
            with pytest.raises(AgencyRejected) as caught:
                await make()
            out.append((caught.value.rule, received(env) - before))
        await bank.release(freeze, decision("QĐ-GTPT"), call())
        before = received(env)
        with pytest.raises(AgencyRejected) as caught:
            await bank.release(freeze, decision("QĐ-GTPT"), call())
        out.append((caught.value.rule, received(env) - before))
        return out

    before_log = last_seq(env)
    assert run(env, scenario) == [("TAI_KHOAN_DA_DONG", 1), ("KHONG_TIM_THAY_TAI_KHOAN", 1),
                                  ("KHONG_TIM_THAY_PHONG_TOA", 1), ("TRUNG_SO_QUYET_DINH", 1),
                                  ("TRUNG_SO_QUYET_DINH", 1), ("DA_GIAI_TOA_THEO_QUYET_DINH_KHAC", 1)]
    refusals = [r for r in log_rows(env, MAIN, before_log) if r.error_code == "AGENCY_REJECTED"]
    assert refusals and all(r.outcome == "refused" for r in refusals)
    assert effects(env, "freeze_applied", account_number=closed.account_number) == []
    assert len(effects(env, "freeze_applied", decision=freeze.decision_ref)) == 1


def test_a_keyed_freeze_is_retried_through_an_error_and_freezes_once(env: Env) -> None:
    account = take(env.world, min_balance=100_000)
    freeze = freeze_of(account, 50_000)

    async def scenario(bank: BankConnector) -> tuple[AccountFreeze, AccountFreeze]:
        set_faults(env, error_rate=1)
        before = received(env)
        with pytest.raises(AgencyUnavailable):
            await bank.freeze(freeze, OFFICE, dt.date(2026, 11, 20), call())
        assert received(env) - before == 3  # retried: it carries the key the bank honours
        assert bank.ctx.guard.attempts_made == 3
        clear_faults(env)
        first = await bank.freeze(freeze, OFFICE, dt.date(2026, 11, 20), call())
        again = await bank.freeze(freeze, OFFICE, dt.date(2026, 11, 20), call())
        return first, again

    first, again = run(env, scenario)
    assert first.status is MeasureStatus.APPLIED and first == again
    assert len(effects(env, "freeze_applied", decision=freeze.decision_ref)) == 1


# --- payouts -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Planned:
    payment: Payment
    expected: str  # ACSC or the ISO reason code


def plan_payout(world: World, count: int, seed: int) -> list[Planned]:
    """``count`` payouts to the world's accounts at the other two banks: mostly good, some to closed accounts,
    some with another person's name, some to accounts that do not exist. Expectations are written here,
    from the world, not by asking the mock."""
    rng = random.Random(seed)
    keep_out = reserved(world)
    pool = [a for a in world.accounts if a.bank_bin != MAIN and a.owner_id not in keep_out]
    open_accounts = [a for a in pool if a.status == "active"]
    closed = [a for a in pool if a.status == "closed"]
    at = dt.datetime(2026, 11, 25, 2, 30, tzinfo=dt.UTC)
    planned = []
    for n in range(count):
        roll = rng.random()
        amount = rng.randint(1, 500) * 10_000
        reference = f"Chi tra tien THA theo QD {100 + n}/QD-CCTHADS"
        if roll < 0.05:
            a, name, expected = rng.choice(closed), None, "AC04"
        elif roll < 0.10:
            a = rng.choice(open_accounts)
            name = next(b.holder_name for b in rng.sample(open_accounts, 10) if b.holder_name != a.holder_name)
            expected = "BE01"
        elif roll < 0.13:
            bank_bin = rng.choice(BINS[1:])
            number = f"0{rng.randrange(10**12):012d}"  # a leading zero: no account of the world starts with one
            planned.append(Planned(Payment(direction=PaymentDirection.PAYOUT, amount_vnd=amount,
                                           counterparty_name="Nguyễn Văn Không Có", bank_bin=bank_bin,
                                           account_number=number, reference=reference, at=at), "AC01"))
            continue
        else:
            a, name, expected = rng.choice(open_accounts), None, "ACSC"
        if name is None:
            # the hub writes names with their diacritics: the connector writes them as banks do
            citizen = world.citizen(a.owner_id)
            name = citizen.full_name if citizen is not None and rng.random() < 0.7 else a.holder_name
        planned.append(Planned(Payment(direction=PaymentDirection.PAYOUT, amount_vnd=amount, counterparty_name=name,
                                       bank_bin=a.bank_bin, account_number=a.account_number, reference=reference,
                                       at=at + dt.timedelta(seconds=n)), expected))
    return planned


def batch_id() -> str:
    return f"THADS-{uuid.uuid4().hex[:24]}"


def test_a_payout_of_1500_payments_accounts_for_every_one_and_is_idempotent(env: Env) -> None:
    planned = plan_payout(env.world, 1500, seed=1)
    expected = Counter(p.expected for p in planned)
    assert all(expected[c] > 20 for c in ("AC01", "AC04", "BE01"))
    payments = [p.payment for p in planned]
    batch = batch_id()
    before_log = last_seq(env)

    async def scenario(bank: BankConnector) -> tuple[m.PayoutReport, m.PayoutReport, float]:
        started = time.perf_counter()
        first = await bank.payout(batch, DEFAULT_OFFICE_ACCOUNT, OFFICE, payments, call(seconds=60))
        elapsed = time.perf_counter() - started
        again = await bank.payout(batch, DEFAULT_OFFICE_ACCOUNT, OFFICE, list(payments), call(seconds=60))
        return first, again, elapsed

    first, again, elapsed = run(env, scenario, timeout_s=30.0)
    assert elapsed < 20, elapsed
    assert (first.batch_id, first.bank_bin, first.group_status) == (batch, MAIN, m.GroupStatus.PARTIAL)
    assert first.group_reason_code is None and first.block_reason_code is None
    assert list(first.outcomes) == [p.id for p in payments]  # every payment, in the order sent
    for plan in planned:
        outcome = first.outcomes[plan.payment.id]
        if plan.expected == "ACSC":
            assert outcome.status is PaymentStatus.SETTLED and outcome.reason_code is None
            assert outcome.bank_reference and outcome.bank_reference.startswith(f"CT{MAIN}")
        else:
            assert outcome.status is PaymentStatus.REJECTED
            assert (outcome.reason_code, outcome.bank_reference) == (plan.expected, None)
            assert outcome.reason_text
    assert len({o.bank_reference for o in first.settled}) == expected["ACSC"]
    # the same batch again: the first report, nothing paid twice
    assert again == first
    recorded = effects(env, "payout_batch", msg_id=batch)
    assert len(recorded) == 1
    assert recorded[0]["settled"] == expected["ACSC"]
    assert recorded[0]["reasons"] == {c: n for c, n in expected.items() if c != "ACSC"}
    # the report applied to the canonical payments
    paid = first.apply(payments)
    assert Counter(p.status for p in paid) == {PaymentStatus.SETTLED: expected["ACSC"],
                                               PaymentStatus.REJECTED: 1500 - expected["ACSC"]}
    assert all((p.reject_reason or "").startswith(plan.expected) for p, plan in zip(paid, planned, strict=True)
               if plan.expected != "ACSC")
    # one exchange per call, each one request and one answer
    rows = log_rows(env, MAIN, before_log)
    assert [(r.kind, r.operation, r.outcome) for r in rows] == [("request", "ChiTraHangLoat", "ok"),
                                                                ("response", "ChiTraHangLoat", "ok")] * 2


def test_the_payout_message_is_built_from_the_canonical_payments(env: Env) -> None:
    planned = [p for p in plan_payout(env.world, 40, seed=5) if p.expected == "ACSC"][:3]
    payments = [p.payment for p in planned]
    batch = batch_id()
    before_log = last_seq(env)
    report = run(env, lambda bank: bank.payout(batch, DEFAULT_OFFICE_ACCOUNT, OFFICE, payments, call()))
    assert report.group_status is m.GroupStatus.ACCEPTED
    request = next(r for r in log_rows(env, MAIN, before_log) if r.kind == "request")
    sent = soap_envelope.unwrap(request.body.encode()).find(f"{{{ENV_NS}}}Body")[0]
    ns = {"nh": m.NS}
    assert sent.findtext("nh:CstmrCdtTrfInitn/nh:GrpHdr/nh:MsgId", namespaces=ns) == batch
    assert sent.findtext("nh:CstmrCdtTrfInitn/nh:GrpHdr/nh:CtrlSum", namespaces=ns) == \
        str(sum(p.amount_vnd for p in payments))
    txs = sent.findall("nh:CstmrCdtTrfInitn/nh:PmtInf/nh:CdtTrfTxInf", namespaces=ns)
    for tx, payment in zip(txs, payments, strict=True):
        assert tx.findtext("nh:PmtId/nh:EndToEndId", namespaces=ns) == payment.id.hex
        amount = tx.find("nh:Amt/nh:InstdAmt", namespaces=ns)
        assert amount is not None and (amount.text, amount.get("Ccy")) == (str(payment.amount_vnd), "VND")
        assert tx.findtext("nh:CdtrAgt/nh:FinInstnId/nh:ClrSysMmbId/nh:MmbId", namespaces=ns) == payment.bank_bin
        assert tx.findtext("nh:Cdtr/nh:Nm", namespaces=ns) == m.bank_name(payment.counterparty_name)
        assert tx.findtext("nh:CdtrAcct/nh:Id/nh:Othr/nh:Id", namespaces=ns) == payment.account_number
        assert tx.findtext("nh:RmtInf/nh:Ustrd", namespaces=ns) == payment.reference


def test_a_payout_the_bank_rejects_whole_still_accounts_for_every_payment(env: Env) -> None:
    planned = [p for p in plan_payout(env.world, 40, seed=2) if p.expected == "ACSC"][:5]
    payments = [p.payment for p in planned]
    batch = batch_id()

    async def scenario(bank: BankConnector) -> tuple[m.PayoutReport, m.PayoutReport]:
        wrong_debtor = await bank.payout(batch_id(), "0071000000000", OFFICE, payments, call())
        await bank.payout(batch, DEFAULT_OFFICE_ACCOUNT, OFFICE, payments[:3], call())
        reused = await bank.payout(batch, DEFAULT_OFFICE_ACCOUNT, OFFICE, payments[3:], call())
        return wrong_debtor, reused

    wrong_debtor, reused = run(env, scenario)
    assert (wrong_debtor.group_status, wrong_debtor.block_reason_code) == (m.GroupStatus.REJECTED, "AC02")
    assert [(o.status, o.reason_code) for o in wrong_debtor.outcomes.values()] == [
        (PaymentStatus.REJECTED, "AC02")] * 5
    # the same MsgId with other payments: refused whole as a duplicate, nothing paid
    assert (reused.group_status, reused.group_reason_code) == (m.GroupStatus.REJECTED, "DU01")
    assert list(reused.outcomes) == [p.id for p in payments[3:]]
    assert {o.reason_code for o in reused.outcomes.values()} == {"DU01"}
    assert len(effects(env, "payout_batch", msg_id=batch)) == 1


def test_a_keyed_payout_is_retried_through_an_error_and_pays_once(env: Env) -> None:
    planned = [p for p in plan_payout(env.world, 40, seed=3) if p.expected == "ACSC"][:4]
    payments = [p.payment for p in planned]
    batch = batch_id()

    async def scenario(bank: BankConnector) -> m.PayoutReport:
        set_faults(env, error_rate=1)
        with pytest.raises(AgencyUnavailable):
            await bank.payout(batch, DEFAULT_OFFICE_ACCOUNT, OFFICE, payments, call())
        assert bank.ctx.guard.attempts_made == 3
        clear_faults(env)
        first = await bank.payout(batch, DEFAULT_OFFICE_ACCOUNT, OFFICE, payments, call())
        # another worker, later, with the same batch: the same message, the first report
        async with connector(env, MAIN) as other:
            again = await other.payout(batch, DEFAULT_OFFICE_ACCOUNT, OFFICE, payments, call())
        assert again == first
        return first

    assert run(env, scenario).group_status is m.GroupStatus.ACCEPTED
    assert len(effects(env, "payout_batch", msg_id=batch)) == 1


# --- error mapping -------------------------------------------------------------------------------------
def test_a_bad_signature_is_agency_signature_invalid_logged_refused_and_not_retried(env: Env) -> None:
    person = spread_citizen(env.world)
    before_log = last_seq(env)

    async def scenario(bank: BankConnector) -> AgencySignatureInvalid:
        set_faults(env, bad_signature_rate=1)
        before = received(env)
        with pytest.raises(AgencySignatureInvalid) as caught:
            await bank.find_accounts(person, call(person))
        assert received(env) - before == 1  # an answer, not a transient failure: asking again would not help
        return caught.value

    error = run(env, scenario)
    assert (error.code, error.rule) == ("SIGNATURE_INVALID", "cryptographic")
    rows = log_rows(env, MAIN, before_log)
    assert [(r.kind, r.outcome, r.error_code) for r in rows] == [
        ("request", "ok", None), ("response", "refused", "SIGNATURE_INVALID"),
        ("response", "refused", "SIGNATURE_INVALID")]
    assert rows[0].body and "TraCuuTaiKhoan" in rows[0].body  # the request as sent
    assert rows[1].size_bytes > 0  # the refused answer's bytes are kept too


def test_an_unsigned_answer_is_agency_signature_invalid(env: Env) -> None:
    person = spread_citizen(env.world)

    async def scenario(bank: BankConnector) -> AgencySignatureInvalid:
        set_faults(env, unsigned_rate=1)
        with pytest.raises(AgencySignatureInvalid) as caught:
            await bank.find_accounts(person, call(person))
        return caught.value

    assert run(env, scenario).rule == "signature_present"


def test_a_malformed_answer_is_agency_invalid_response(env: Env) -> None:
    person = spread_citizen(env.world)

    async def scenario(bank: BankConnector) -> AgencyInvalidResponse:
        set_faults(env, malformed_rate=1)
        before = received(env)
        with pytest.raises(AgencyInvalidResponse) as caught:
            await bank.find_accounts(person, call(person))
        assert received(env) - before == 1
        return caught.value

    assert run(env, scenario).code == "AGENCY_INVALID_RESPONSE"


def test_error_rate_retries_an_idempotent_look_up_then_agency_unavailable(env: Env) -> None:
    person = spread_citizen(env.world)
    before_log = last_seq(env)

    async def scenario(bank: BankConnector) -> None:
        set_faults(env, error_rate=1)
        before = mock_recorder(env)["received"]
        with pytest.raises(AgencyUnavailable) as caught:
            await bank.find_accounts(person, call(person))
        after = mock_recorder(env)["received"]
        assert [e["verdict"] for e in after[len(before):]] == ["error"] * 3
        assert bank.ctx.guard.attempts_made == 3
        assert caught.value.transient

    run(env, scenario)
    rows = log_rows(env, MAIN, before_log)
    assert [(r.kind, r.outcome) for r in rows] == [("request", "ok"), ("response", "failed")] * 3 + [
        ("response", "refused")]
    assert {r.error_code for r in rows if r.kind == "response"} == {"AGENCY_UNAVAILABLE"}
    assert len({r.message_id for r in rows if r.kind == "request"}) == 3  # each attempt is a new message


def test_an_outage_opens_that_banks_breaker_only(env: Env) -> None:
    person = spread_citizen(env.world)
    before_log = last_seq(env)

    async def scenario(banks: dict[str, BankConnector]) -> None:
        set_faults(env, outage=True)
        start = received(env)
        for _ in range(2):
            with pytest.raises(AgencyUnavailable):
                await banks[MAIN].find_accounts(person, call(person))
        assert received(env) - start == 2
        with pytest.raises(CircuitOpen):
            await banks[MAIN].find_accounts(person, call(person))
        assert received(env) - start == 2  # failed fast, nothing sent
        health = await banks[MAIN].health()
        assert health.breaker == "open"
        assert health.ok  # the contract is still served: the breaker, not the check, tells about the outage
        # the other banks are other agencies: their breakers stay closed and they answer
        for b in BINS[1:]:
            await banks[b].find_accounts(person, call(person))
            assert (await banks[b].health()).breaker == "closed"

    run_all(env, scenario, retry=RetryPolicy(attempts=1), breaker=BreakerPolicy(failures=2, reset_s=30.0))
    rows = log_rows(env, MAIN, before_log)
    closing = rows[-1]
    assert (closing.outcome, closing.error_code) == ("refused", "CIRCUIT_OPEN")
    assert rows[-2].kind == "request" and rows[-2].size_bytes == 0  # logged, though nothing went out


def test_a_bank_that_hangs_is_an_agency_timeout(env: Env) -> None:
    person = spread_citizen(env.world)
    before_log = last_seq(env)

    async def scenario(bank: BankConnector) -> None:
        set_faults(env, timeout_rate=1, timeout_s=2)
        with pytest.raises(AgencyTimeout):
            await bank.find_accounts(person, call(person, seconds=3))

    start = received(env)
    run(env, scenario, timeout_s=0.3, retry=RetryPolicy(attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02))
    rows = log_rows(env, MAIN, before_log)
    assert [r.outcome for r in rows if r.kind == "response"] == ["timeout", "timeout", "refused"]
    # The mock records a hung request when it finally lets go of it; wait for both, so they neither go
    # unchecked nor land in the next test's count.
    ends = time.monotonic() + 10
    while received(env) - start < 2 and time.monotonic() < ends:
        time.sleep(0.05)
    assert received(env) - start == 2
    assert rows[-1].error_code == "AGENCY_TIMEOUT"


def test_an_unreachable_bank_is_agency_unavailable_and_unhealthy(env: Env) -> None:
    person = spread_citizen(env.world)
    nowhere = f"http://127.0.0.1:{free_port()}/banks/{MAIN}"

    async def scenario(bank: BankConnector) -> None:
        with pytest.raises(AgencyUnavailable) as caught:
            await bank.find_accounts(person, call(person))
        assert caught.value.rule == "http_transport"
        assert bank.ctx.guard.attempts_made == 3
        health = await bank.health()
        assert not health.ok and health.latency_ms is None

    run(env, scenario, base_url=nowhere, wsdl=f"{nowhere}?wsdl")


# --- each bank is verified against its own certificate --------------------------------------------------
def relay_app(env: Env, target_bin: str) -> FastAPI:
    """A man in the middle that holds the hub's key (the worst case): it re-addresses what the hub sends to
    ``target_bin``'s bank and hands back that bank's genuine, signed answer."""
    signer = EnvelopeSigner.from_key_dir(env.key_dir, "hub")
    app = FastAPI()

    @app.post("/")
    async def forward(request: Request) -> Response:
        payload = soap_envelope.unwrap(await request.body())
        header = dataclasses.replace(read_header(payload), to_agency=f"bank-{target_bin}")
        business = copy.deepcopy(payload.find(f"{{{ENV_NS}}}Body")[0])
        resigned = soap_envelope.wrap(signer.sign(build_envelope(header, business)))
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(env.bank(target_bin), content=resigned,
                                       headers={"Content-Type": soap_envelope.CONTENT_TYPE})
        return Response(answer.content, status_code=answer.status_code, media_type=soap_envelope.CONTENT_TYPE)

    return app


def test_an_answer_signed_by_another_bank_is_refused(env: Env) -> None:
    person = spread_citizen(env.world)
    with ServedApp(relay_app(env, MAIN)) as relay:
        before = received(env)

        async def scenario(bank: BankConnector) -> AgencySignatureInvalid:
            with pytest.raises(AgencySignatureInvalid) as caught:
                await bank.find_accounts(person, call(person))
            return caught.value

        # a bank-970418 connector whose answers come from 970436: trusted certificate, wrong bank
        error = run(env, scenario, bank_bin=OTHER, base_url=f"{relay.url}/", wsdl=f"{env.bank(OTHER)}?wsdl")
    assert (error.code, error.rule) == ("CERT_WRONG_AGENCY", "answer_signer")
    assert received(env) - before == 1  # 970436 answered, once: the answer is refused, not retried


def test_a_connector_pointed_at_another_bank_is_refused_by_it(env: Env) -> None:
    person = spread_citizen(env.world)
    before = received(env)

    async def scenario(bank: BankConnector) -> AgencyRejected:
        with pytest.raises(AgencyRejected) as caught:
            await bank.find_accounts(person, call(person))
        return caught.value

    # bank-970418's connector, configured with 970436's address: the hub addresses it to 970418
    error = run(env, scenario, bank_bin=OTHER, base_url=env.bank(MAIN), wsdl=f"{env.bank(MAIN)}?wsdl")
    assert (error.rule, error.extra["fault_rule"]) == ("REQUEST_INVALID", "addressee")
    assert received(env) - before == 1
    assert mock_recorder(env)["received"][-1]["verdict"] == "refused"


# --- the hub's own mistakes are refused before anything is sent --------------------------------------------
def test_invalid_input_is_refused_before_anything_is_sent(env: Env) -> None:
    account = take(env.world, min_balance=1)
    good = plan_payout(env.world, 40, seed=4)[0].payment

    async def scenario(bank: BankConnector) -> None:
        before = received(env)
        refusals: list[Callable[[], Awaitable[Any]]] = [
            lambda: bank.find_accounts("12345", call()),
            lambda: bank.freeze(freeze_of(account, 1_000, decision_ref="QĐ số 12"), OFFICE, dt.date(2026, 1, 2),
                                call()),
            lambda: bank.freeze(AccountFreeze(decision_ref=decision(), bank_bin=OTHER,
                                              account_number=account.account_number, amount_vnd=1),
                                OFFICE, dt.date(2026, 1, 2), call()),
            lambda: bank.freeze(freeze_of(account, 0), OFFICE, dt.date(2026, 1, 2), call()),
            lambda: bank.payout(batch_id(), DEFAULT_OFFICE_ACCOUNT, OFFICE, [], call()),
            lambda: bank.payout(batch_id(), DEFAULT_OFFICE_ACCOUNT, OFFICE,
                                [good.model_copy(update={"direction": PaymentDirection.INCOMING})], call()),
            lambda: bank.payout(batch_id(), DEFAULT_OFFICE_ACCOUNT, OFFICE, [good, good], call()),
            lambda: bank.payout("x" * 36, DEFAULT_OFFICE_ACCOUNT, OFFICE, [good], call()),
            lambda: bank.payout(batch_id(), DEFAULT_OFFICE_ACCOUNT, OFFICE,
                                [good.model_copy(update={"reference": "R" * 150})], call()),
        ]
        for make in refusals:
            with pytest.raises(InvalidValue):
                await make()
        assert received(env) == before

    run(env, scenario)


def test_concurrent_calls_keep_their_own_bytes_and_answers(env: Env) -> None:
    owners = [c.person_id for c in env.world.citizens if env.world.accounts_of(c.person_id, MAIN)][:6]
    before_log = last_seq(env)

    async def scenario(bank: BankConnector) -> list[list[BankAccount]]:
        return list(await asyncio.gather(*(bank.find_accounts(o, call(o)) for o in owners)))

    for owner, accounts in zip(owners, run(env, scenario), strict=True):
        assert [a.account_number for a in accounts] == [a.account_number for a in env.world.accounts_of(owner, MAIN)]
        assert all(a.holder_id == owner for a in accounts)
    rows = log_rows(env, MAIN, before_log)
    requests = {r.message_id: r for r in rows if r.kind == "request"}
    for response in (r for r in rows if r.kind == "response"):
        request = requests[response.correlation_id]
        assert request.subject_hmac == response.subject_hmac
        owner = next(o for o in owners if f">{o}<" in request.body)
        assert f">{owner}<" in response.body
