"""The procuracy connector against the running sandbox, over real HTTP.

The sandbox (create_sandbox_app, a small world) is the real peer, with its ``hub_url`` pointed at a
small receiver standing in for the hub's inbound endpoint, so the recommendation the procuracy pushes
after every fifth decision it receives can be mapped too. The connector is built directly (no entry
points) with a ConnectorContext of real parts: the hub's key and the trust store from a fresh dev PKI,
the message log on a migrated SQLite file, and a guard over the run's Redis prefix (each connector its
own breaker, so tests do not trip each other's).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import select

from adapters.envelope import EnvelopeSigner, EnvelopeVerifier
from adapters.jws_envelope import JwsSigner
from adapters.pki import load_cert, load_key
from adapters.trust_store import TrustStore
from connectors.procuracy import ProcuracyConnector
from hub.agencies import AgencyConfig, BreakerPolicy, RetryPolicy
from hub.agency_ids import sandbox_agencies
from hub.audit.log import MessageLog
from hub.audit.recorder import ExchangeRecorder
from hub.audit.subjects import SubjectIndex
from hub.connector import ConnectorContext
from hub.errors import (
    AgencyInvalidResponse,
    AgencyRejected,
    AgencySignatureInvalid,
    AgencyTimeout,
    AgencyUnavailable,
    CircuitOpen,
    InvalidValue,
)
from hub.model.procuracy import ProcuracyActionKind
from hub.resilience.context import CallContext
from hub.resilience.guard import AgencyGuard
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.store.tables import message_log
from hub.trust.pki_init import init_pki
from mappings.procuracy import (
    DecisionType,
    Organ,
    ProcuracyDecision,
    ProcuracyReceipt,
    action_details,
    action_from,
)
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.seed.world import World, build_world
from tests.conftest import REDIS_URL, ServedApp, free_port

T = TypeVar("T")
SEED, CITIZENS = 23, 500
CASE_REF = "THADS-79-2026-0042"
OFFICE = Organ(organ_id="G12.HCM.079", name="Thi hành án dân sự Thành phố Hồ Chí Minh", in_charge="Bộ Tư pháp")
PROCURACY = Organ(organ_id="H37.HCM.079", name="Viện kiểm sát nhân dân Thành phố Hồ Chí Minh")
_numbers = itertools.count(uuid.uuid4().int % 50_000 + 1000)


# --- the sandbox, a stand-in for the hub's inbound endpoint, and the hub's side ----------------------
class Inbound:
    """Collects what the procuracy pushes to the hub (POST /v1/inbound/procuracy), answering 202."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/inbound/procuracy")
        async def inbound(request: Request) -> Response:
            self.bodies.append(await request.body())
            return Response(status_code=202)

        return app


@dataclass
class Env:
    sandbox: ServedApp
    inbound: Inbound
    world: World
    key_dir: Path
    db: Database
    log: MessageLog
    redis_prefix: str

    @property
    def procuracy(self) -> str:
        return f"{self.sandbox.url}/procuracy"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, redis_prefix: str) -> Iterator[Env]:
    key_dir = tmp_path_factory.mktemp("procuracy-connector-pki")
    init_pki(key_dir, sandbox_agencies())
    world = build_world(seed=SEED, citizens=CITIZENS)
    db_url = f"sqlite:///{tmp_path_factory.mktemp('procuracy-connector-db') / 'thads.db'}"
    upgrade(db_url)
    db = Database(db_url)
    log = MessageLog(db, SubjectIndex.from_key_dir(key_dir), body_policy={"procuracy": "full"})
    inbound = Inbound()
    with ServedApp(inbound.app()) as hub:
        config = SandboxConfig(key_dir=key_dir, seed=SEED, citizens=CITIZENS, hub_url=hub.url)
        with ServedApp(create_sandbox_app(config, world)) as sandbox:
            yield Env(sandbox, inbound, world, key_dir, db, log, redis_prefix)
    db.dispose()


@pytest.fixture(autouse=True)
def _no_faults_after(env: Env) -> Iterator[None]:
    yield
    httpx.delete(f"{env.procuracy}/_admin/faults", timeout=10).raise_for_status()


def set_faults(env: Env, **changes: Any) -> None:
    httpx.put(f"{env.procuracy}/_admin/faults", json=changes, timeout=10).raise_for_status()


def recorder(env: Env) -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = httpx.get(f"{env.procuracy}/_admin/recorder", timeout=10).json()
    return data


def received(env: Env) -> int:
    return len(recorder(env)["received"])


def effects(env: Env, kind: str, document_id: str) -> list[dict[str, Any]]:
    return [e for e in recorder(env)["effects"] if e["kind"] == kind and e.get("document_id") == document_id]


def config(env: Env, **overrides: Any) -> AgencyConfig:
    values: dict[str, Any] = {
        "protocol": "rest", "base_url": env.procuracy, "openapi": f"{env.procuracy}/contracts/openapi.json",
        "timeout_s": 5.0, "rate_limit_per_s": 1000.0,
        "retry": RetryPolicy(attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05),
        "breaker": BreakerPolicy(failures=5, reset_s=30.0), "log_body": "full"}
    values.update(overrides)
    return AgencyConfig(**values)


@asynccontextmanager
async def connector(env: Env, *, signer_of: str = "hub", **overrides: Any) -> AsyncIterator[ProcuracyConnector]:
    redis = aioredis.Redis.from_url(REDIS_URL)
    cfg = config(env, **overrides)
    key, cert = load_key(env.key_dir / f"{signer_of}.key"), load_cert(env.key_dir / f"{signer_of}.pem")
    ctx = ConnectorContext(
        agency_id="procuracy", config=cfg, trust=TrustStore.load(env.key_dir), xml_signer=EnvelopeSigner(key, cert),
        jws_signer=JwsSigner(key, cert), recorder=ExchangeRecorder(env.log),
        guard=AgencyGuard("procuracy", cfg, redis, f"{env.redis_prefix}procuracy-{uuid.uuid4().hex[:8]}:"))
    procuracy = ProcuracyConnector(ctx)
    await procuracy.start()
    try:
        yield procuracy
    finally:
        await procuracy.aclose()
        await redis.aclose()


def run(env: Env, scenario: Callable[[ProcuracyConnector], Awaitable[T]], **overrides: Any) -> T:
    async def main() -> T:
        async with connector(env, **overrides) as procuracy:
            return await scenario(procuracy)

    return asyncio.run(main())


def call(seconds: float = 10, case_ref: str | None = CASE_REF) -> CallContext:
    return CallContext.within(seconds, case_ref=case_ref, officer="Chấp hành viên Lê Văn Tám",
                              purpose="Gửi quyết định để kiểm sát")


def decision(**overrides: Any) -> ProcuracyDecision:
    number = str(next(_numbers))
    values: dict[str, Any] = {
        "case_ref": CASE_REF, "number": number, "notation": "QĐ-CCTHADS", "document_type": DecisionType.QDTHA,
        "issued_on": dt.date(2026, 11, 20), "place": "TP Hồ Chí Minh",
        "subject": f"Quyết định thi hành án theo đơn yêu cầu số {number}", "office": OFFICE, "procuracy": PROCURACY,
        "signer_name": "Lê Văn Tám", "signer_position": "Chấp hành viên", "judgment_number": "12/2024/DS-ST",
        "enforcement_decision": f"{number}/QĐ-CCTHADS",
        "attachments": [(f"{number}-QD-CCTHADS.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "application/pdf")]}
    values.update(overrides)
    return ProcuracyDecision(**values)


def log_rows(env: Env, after_seq: int = 0) -> list[Any]:
    with env.db.begin() as conn:
        return list(conn.execute(select(message_log).where(message_log.c.agency == "procuracy",
                                                           message_log.c.seq > after_seq)
                                 .order_by(message_log.c.partition, message_log.c.seq)))


def last_seq(env: Env) -> int:
    return max((r.seq for r in log_rows(env)), default=0)


# --- the connector's declaration ----------------------------------------------------------------------
def test_declares_its_operation(env: Env) -> None:
    [spec] = ProcuracyConnector.operations
    assert (spec.name, spec.idempotent) == ("send_decision", True)
    assert "idempotency key" in spec.description and "DocumentId" in spec.description
    assert ProcuracyConnector.kind == "procuracy"

    async def scenario(procuracy: ProcuracyConnector) -> None:
        health = await procuracy.health()
        assert (health.agency_id, health.ok, health.breaker) == ("procuracy", True, "closed")
        assert health.latency_ms is not None

    run(env, scenario)


# --- sending decisions -----------------------------------------------------------------------------------
def test_a_decision_is_acknowledged_with_the_procuracys_receipt(env: Env) -> None:
    sent = decision(document_type=DecisionType.QDKBTS, due_date=dt.date(2026, 12, 5), priority=1, pages=3,
                    content="Cưỡng chế kê biên quyền sử dụng đất thửa số 611, tờ bản đồ số 37.",
                    signer_competence="Trực tiếp")
    before = last_seq(env)
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    receipt = run(env, lambda procuracy: procuracy.send_decision(sent, call()))
    assert isinstance(receipt, ProcuracyReceipt)
    assert receipt.status == "da_tiep_nhan" and receipt.receipt_code.startswith("VKS-TN-")
    assert started - dt.timedelta(seconds=1) <= receipt.received_at <= dt.datetime.now(dt.UTC)
    assert (receipt.document_id, receipt.organ_id, receipt.organ_name) == (sent.document_id, PROCURACY.organ_id,
                                                                          PROCURACY.name)
    assert receipt.case_ref == CASE_REF
    assert receipt.extensions["StaffInfo/Department"]
    [effect] = effects(env, "decision_received", sent.document_id)
    assert (effect["receipt"], effect["document_type"], effect["case_ref"], effect["attachments"]) == \
        (receipt.receipt_code, "QDKBTS", CASE_REF, 1)
    assert effect["code"] == sent.code
    # logged: the signed request as sent, the procuracy's verified answer bound to it
    request, response = log_rows(env, before)
    assert (request.kind, request.operation, request.service, request.from_agency, request.to_agency) == \
        ("request", "GuiQuyetDinh", "procuracy", "hub", "procuracy")
    assert request.case_ref == CASE_REF and request.officer == "Chấp hành viên Lê Văn Tám"
    assert sent.document_id in request.body and "SignatureValue" in request.body
    assert (response.from_agency, response.to_agency, response.outcome) == ("procuracy", "hub", "ok")
    assert response.correlation_id == request.message_id
    assert receipt.receipt_code in response.body


def test_the_same_decision_twice_is_one_receipt_and_one_effect(env: Env) -> None:
    sent = decision()

    async def scenario(procuracy: ProcuracyConnector) -> tuple[ProcuracyReceipt, ProcuracyReceipt]:
        return await procuracy.send_decision(sent, call()), await procuracy.send_decision(sent, call())

    first, again = run(env, scenario)
    assert (again.receipt_code, again.received_at) == (first.receipt_code, first.received_at)
    assert len(effects(env, "decision_received", sent.document_id)) == 1


def test_the_same_document_id_with_other_content_is_refused_with_the_procuracys_reason(env: Env) -> None:
    sent = decision()
    other = sent.model_copy(update={"subject": "Một nội dung khác của cùng số quyết định"})
    before_log = last_seq(env)

    async def scenario(procuracy: ProcuracyConnector) -> tuple[AgencyRejected, int]:
        await procuracy.send_decision(sent, call())
        before = received(env)
        with pytest.raises(AgencyRejected) as caught:
            await procuracy.send_decision(other, call())
        return caught.value, received(env) - before

    error, sends = run(env, scenario)
    assert (error.code, error.rule) == ("AGENCY_REJECTED", "TRUNG_MA_VAN_BAN")
    assert sent.document_id in error.detail and "nội dung khác" in error.detail  # the procuracy's LyDo
    assert sends == 1  # a refusal is an answer: not retried
    assert len(effects(env, "decision_received", sent.document_id)) == 1
    refused = [r for r in log_rows(env, before_log) if r.error_code == "AGENCY_REJECTED"]
    assert refused and all(r.outcome == "refused" for r in refused)
    assert refused[0].from_agency == "procuracy"  # the refusal is the procuracy's signed answer


def test_a_decision_not_addressed_to_a_procuracy_is_refused(env: Env) -> None:
    sent = decision(procuracy=Organ(organ_id="G12.HN.001", name="Thi hành án dân sự Thành phố Hà Nội"))
    with pytest.raises(AgencyRejected) as caught:
        run(env, lambda procuracy: procuracy.send_decision(sent, call()))
    assert caught.value.rule == "SAI_NOI_NHAN"
    assert "viện kiểm sát" in caught.value.detail
    assert effects(env, "decision_received", sent.document_id) == []


def test_a_keyed_decision_is_retried_through_errors_and_received_once(env: Env) -> None:
    sent = decision()
    before_log = last_seq(env)

    async def scenario(procuracy: ProcuracyConnector) -> tuple[ProcuracyReceipt, ProcuracyReceipt]:
        set_faults(env, error_rate=1)
        before = received(env)
        with pytest.raises(AgencyUnavailable) as caught:
            await procuracy.send_decision(sent, call())
        assert caught.value.rule == "injected_error" and caught.value.extra["agency_code"] == "AGENCY_UNAVAILABLE"
        assert received(env) - before == 3  # retried: it carries the DocumentId the procuracy honours
        assert procuracy.ctx.guard.attempts_made == 3
        httpx.delete(f"{env.procuracy}/_admin/faults", timeout=10).raise_for_status()
        return await procuracy.send_decision(sent, call()), await procuracy.send_decision(sent, call())

    first, again = run(env, scenario)
    assert first.receipt_code == again.receipt_code
    assert len(effects(env, "decision_received", sent.document_id)) == 1
    rows = log_rows(env, before_log)
    failed = rows[:7]
    assert [(r.kind, r.outcome) for r in failed] == [("request", "ok"), ("response", "failed")] * 3 + [
        ("response", "refused")]
    assert len({r.message_id for r in failed if r.kind == "request"}) == 3  # a new envelope each attempt


def test_invalid_input_is_refused_before_anything_is_sent(env: Env) -> None:
    async def scenario(procuracy: ProcuracyConnector) -> None:
        before = received(env)
        with pytest.raises(InvalidValue) as caught:
            await procuracy.send_decision(decision(), call(case_ref="THADS-01-2026-0001"))
        assert caught.value.rule == "case_ref"
        huge = decision(attachments=[("to.pdf", b"\0" * (4 * 1024 * 1024), "application/pdf")])
        with pytest.raises(InvalidValue) as caught:
            await procuracy.send_decision(huge, call())
        assert caught.value.code == "XML_TOO_LARGE"
        assert received(env) == before

    run(env, scenario)
    with pytest.raises(ValueError):
        decision(number="15a")
    with pytest.raises(ValueError):
        decision(document_type="KN")  # a protest is the procuracy's, not a decision the hub sends


# --- error mapping -------------------------------------------------------------------------------------
def test_a_problem_document_is_the_typed_error_of_its_code(env: Env) -> None:
    """Signed with the land registry's key while claiming to be the hub: the procuracy answers 403
    CERT_WRONG_AGENCY as an RFC 7807 XML problem; a refusal, not retried."""
    sent = decision()

    async def scenario(procuracy: ProcuracyConnector) -> tuple[AgencyRejected, int]:
        before = received(env)
        with pytest.raises(AgencyRejected) as caught:
            await procuracy.send_decision(sent, call())
        return caught.value, received(env) - before

    async def main() -> tuple[AgencyRejected, int]:
        async with connector(env, signer_of="land") as procuracy:
            return await scenario(procuracy)

    error, sends = asyncio.run(main())
    assert (error.rule, error.extra["agency_code"]) == ("CERT_WRONG_AGENCY", "CERT_WRONG_AGENCY")
    assert sends == 1
    assert effects(env, "decision_received", sent.document_id) == []


def test_a_bad_signature_is_agency_signature_invalid_and_not_retried(env: Env) -> None:
    before_log = last_seq(env)

    async def scenario(procuracy: ProcuracyConnector) -> AgencySignatureInvalid:
        set_faults(env, bad_signature_rate=1)
        before = received(env)
        with pytest.raises(AgencySignatureInvalid) as caught:
            await procuracy.send_decision(decision(), call())
        assert received(env) - before == 1
        return caught.value

    error = run(env, scenario)
    assert (error.code, error.rule) == ("SIGNATURE_INVALID", "cryptographic")
    rows = log_rows(env, before_log)
    assert [(r.kind, r.outcome, r.error_code) for r in rows] == [
        ("request", "ok", None), ("response", "refused", "SIGNATURE_INVALID"),
        ("response", "refused", "SIGNATURE_INVALID")]
    assert rows[1].size_bytes > 0  # the refused answer's bytes are kept


def test_an_unsigned_answer_is_agency_signature_invalid(env: Env) -> None:
    async def scenario(procuracy: ProcuracyConnector) -> AgencySignatureInvalid:
        set_faults(env, unsigned_rate=1)
        with pytest.raises(AgencySignatureInvalid) as caught:
            await procuracy.send_decision(decision(), call())
        return caught.value

    assert run(env, scenario).rule == "signature_present"


def test_a_malformed_answer_is_agency_invalid_response(env: Env) -> None:
    async def scenario(procuracy: ProcuracyConnector) -> AgencyInvalidResponse:
        set_faults(env, malformed_rate=1)
        before = received(env)
        with pytest.raises(AgencyInvalidResponse) as caught:
            await procuracy.send_decision(decision(), call())
        assert received(env) - before == 1
        return caught.value

    assert run(env, scenario).code == "AGENCY_INVALID_RESPONSE"


def test_outage_opens_the_breaker_and_the_third_call_does_not_reach_the_procuracy(env: Env) -> None:
    before_log = last_seq(env)

    async def scenario(procuracy: ProcuracyConnector) -> None:
        set_faults(env, outage=True)
        start = received(env)
        for _ in range(2):
            with pytest.raises(AgencyUnavailable):
                await procuracy.send_decision(decision(), call())
        assert received(env) - start == 2
        with pytest.raises(CircuitOpen):
            await procuracy.send_decision(decision(), call())
        assert received(env) - start == 2  # failed fast, nothing sent
        health = await procuracy.health()
        assert health.breaker == "open" and health.ok

    run(env, scenario, retry=RetryPolicy(attempts=1), breaker=BreakerPolicy(failures=2, reset_s=30.0))
    closing = log_rows(env, before_log)[-1]
    assert (closing.outcome, closing.error_code) == ("refused", "CIRCUIT_OPEN")


def test_a_procuracy_that_hangs_is_an_agency_timeout(env: Env) -> None:
    before_log = last_seq(env)

    async def scenario(procuracy: ProcuracyConnector) -> None:
        set_faults(env, timeout_rate=1, timeout_s=2)
        with pytest.raises(AgencyTimeout):
            await procuracy.send_decision(decision(), call(seconds=3))

    run(env, scenario, timeout_s=0.3, retry=RetryPolicy(attempts=2, backoff_initial_s=0.01, backoff_max_s=0.02))
    rows = log_rows(env, before_log)
    assert [r.outcome for r in rows if r.kind == "response"] == ["timeout", "timeout", "refused"]
    assert rows[-1].error_code == "AGENCY_TIMEOUT"


def test_an_unreachable_procuracy_is_agency_unavailable_and_unhealthy(env: Env) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/procuracy"

    async def scenario(procuracy: ProcuracyConnector) -> None:
        with pytest.raises(AgencyUnavailable) as caught:
            await procuracy.send_decision(decision(), call())
        assert caught.value.rule == "http_transport"
        assert procuracy.ctx.guard.attempts_made == 3
        health = await procuracy.health()
        assert not health.ok and health.latency_ms is None

    run(env, scenario, base_url=nowhere, openapi=f"{nowhere}/contracts/openapi.json")


# --- what the procuracy pushes back ----------------------------------------------------------------------
def test_the_recommendation_pushed_after_five_decisions_maps_to_an_action(env: Env) -> None:
    """The sandbox procuracy writes a recommendation about every fifth decision it receives and pushes it
    to the hub; mapped with the same pure function the hub's inbound endpoint will use."""
    sent = [decision(case_ref=f"THADS-79-2026-{next(_numbers):04d}") for _ in range(5)]
    pushed_before = len(env.inbound.bodies)

    async def scenario(procuracy: ProcuracyConnector) -> None:
        for d in sent:
            await procuracy.send_decision(d, call(case_ref=d.case_ref))

    run(env, scenario)
    deadline = time.monotonic() + 10
    while len(env.inbound.bodies) == pushed_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(env.inbound.bodies) > pushed_before, "the procuracy pushed nothing"
    verifier = EnvelopeVerifier(TrustStore.load(env.key_dir))
    actions = []
    for body in env.inbound.bodies[pushed_before:]:
        verified = verifier.verify(body, expected_to="hub")
        assert verified.signer == "procuracy"
        action, case_ref = action_from(verified.body)
        assert case_ref == verified.header.case_ref
        actions.append((action, case_ref, action_details(verified.body)))
    by_case = {d.case_ref: d for d in sent}
    matched = [(a, d, details) for a, ref, details in actions if (d := by_case.get(ref)) is not None]
    assert matched, "no pushed recommendation names a case of the decisions sent"
    action, about, details = matched[0]
    assert action.kind is ProcuracyActionKind.RECOMMENDATION
    assert (action.organ_id, action.organ_name) == (PROCURACY.organ_id, PROCURACY.name)
    assert action.document_number.endswith("/KNgh-VKS") and about.code in action.subject
    assert [r.document_id for r in details.responds_to] == [about.document_id]
    assert details.fields["HoSoThiHanhAn/SoBanAn"] == about.judgment_number
