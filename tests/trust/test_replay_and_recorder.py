"""Replay protection in the real Redis, and the exchange recorder writing the log in one place."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.refusal import Refusal
from hub.audit.log import LogRecord, MessageLog
from hub.audit.recorder import ExchangeRecorder, holding_exchanges
from hub.audit.subjects import SubjectIndex
from hub.cli import app
from hub.errors import HubError
from hub.settings import Settings
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.store.tables import message_log
from hub.trust.replay import ReplayGuard
from tests.conftest import REDIS_URL
from tests.trust.conftest import header


def test_a_replayed_message_is_refused(redis_prefix: str) -> None:
    redis_prefix = f"{redis_prefix}{uuid.uuid4().hex[:8]}:"  # its own keys: other tests remember messages too
    async def scenario() -> None:
        client = aioredis.Redis.from_url(REDIS_URL)
        guard = ReplayGuard(client, redis_prefix)
        h = header("court", message_id="replay-test-1")
        await guard.admit(h)
        with pytest.raises(HubError) as caught:
            await guard.admit(h)
        assert caught.value.code == "REPLAY"
        await guard.admit(header("procuracy", message_id="replay-test-1"))  # ids are per sender
        keys = [k async for k in client.scan_iter(match=f"{redis_prefix}replay:*")]
        assert len(keys) == 2
        ttl_ms = await client.pttl(keys[0])
        assert 0 < ttl_ms <= (10 + 5) * 60 * 1000  # Expires (10 min) plus the clock skew, no longer
        await client.aclose()

    asyncio.run(scenario())


def test_an_expired_message_is_not_remembered(redis_prefix: str) -> None:
    async def scenario() -> None:
        client = aioredis.Redis.from_url(REDIS_URL)
        old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        with pytest.raises(HubError) as caught:
            await ReplayGuard(client, redis_prefix).admit(
                header("court", message_id="old-1", created=old, expires=old + dt.timedelta(minutes=5)))
        assert caught.value.code == "MESSAGE_EXPIRED"
        await client.aclose()

    asyncio.run(scenario())


@pytest.fixture
def log(tmp_path: object) -> MessageLog:
    url = f"sqlite:///{tmp_path}/log.db"
    upgrade(url)
    return MessageLog(Database(url), SubjectIndex(b"k" * 32), partition=0)


def _rows(log: MessageLog) -> list[dict[str, object]]:
    with log.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(message_log).order_by(message_log.c.seq))]


def test_recorder_logs_request_and_response_with_latency(log: MessageLog) -> None:
    with ExchangeRecorder(log).exchange("outbound", "population", "FindCitizen",
                                        subject_person_id="087084000999") as ex:
        ex.request(b'{"q": 1}', header("hub", to_agency="population"))
        ex.response(b'{"a": 1}', header("population", correlation_id="msg-0001"))
    rows = _rows(log)
    assert [(r["kind"], r["outcome"]) for r in rows] == [("request", "ok"), ("response", "ok")]
    assert rows[1]["correlation_id"] == "msg-0001" and rows[1]["latency_ms"] is not None
    assert rows[0]["subject_masked"] == "087******999"


def test_recorder_logs_a_refusal_with_its_code(log: MessageLog) -> None:
    with pytest.raises(Refusal), ExchangeRecorder(log).exchange("inbound", "court", "SubmitJudgment") as ex:
        ex.request(b"<x/>")
        raise Refusal("bad signature", code="SIGNATURE_INVALID")
    assert [(r["outcome"], r["error_code"]) for r in _rows(log)] == [("ok", None), ("refused", "SIGNATURE_INVALID")]


def test_a_cancelled_call_is_logged_as_a_timeout_never_a_success(log: MessageLog) -> None:
    async def slow_agency() -> None:
        async with ExchangeRecorder(log).exchange_async("outbound", "bank-970436", "FindAccounts") as ex:
            ex.request(b"<q/>")
            await asyncio.sleep(30)
            ex.response(b"<late/>")

    async def scenario() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(slow_agency(), 0.2)
        await asyncio.sleep(0.2)  # the shielded write finishes

    asyncio.run(scenario())
    assert [(r["kind"], r["outcome"]) for r in _rows(log)] == [("request", "ok"), ("response", "timeout")]


def test_held_exchanges_wait_for_their_unit_and_late_ones_commit_alone(log: MessageLog) -> None:
    """Inside ``holding_exchanges`` nothing is committed by the exchanges themselves: the unit writes what it
    holds in its own transaction. An exchange that ends after the unit took its entries commits on its own."""
    recorder = ExchangeRecorder(log)

    async def call(agency: str, seconds: float) -> None:
        async with recorder.exchange_async("outbound", agency, "Find") as ex:
            ex.request(b"<q/>")
            await asyncio.sleep(seconds)
            ex.response(b"<a/>")

    async def scenario() -> list[LogRecord]:
        with holding_exchanges() as held:
            late = asyncio.create_task(call("bank-970418", 0.3))
            await asyncio.gather(call("land", 0.01), call("bank-970436", 0.02))
            assert _rows(log) == []  # held, not yet written
            taken = held.close()
        log.append_many(taken)
        await late
        return taken

    taken = asyncio.run(scenario())
    assert sorted(r.agency for r in taken) == ["bank-970436", "bank-970436", "land", "land"]
    assert [r["agency"] for r in _rows(log)][-2:] == ["bank-970418", "bank-970418"]


def test_audit_cli_verifies_and_names_tampering(hub_env: Settings) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["pki", "init"]).exit_code == 0
    log = MessageLog(Database(hub_env.database_url), SubjectIndex.from_key_dir(hub_env.keys), partition=2)
    for i in range(3):
        with ExchangeRecorder(log).exchange("outbound", "land", "FindParcels") as ex:
            ex.request(f"<q n='{i}'/>".encode())
    assert runner.invoke(app, ["audit", "checkpoint"]).exit_code == 0
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.stdout
    with log.db.begin() as conn:
        conn.execute(message_log.update().where(message_log.c.seq == 2).values(officer="x"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "TAMPERED partition 2 seq 2" in bad.stderr


def test_sealing_only_when_the_log_grew(hub_env: Settings) -> None:
    from hub.audit.sealer import seal_if_grown

    runner = CliRunner()
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["pki", "init"])
    log = MessageLog(Database(hub_env.database_url), SubjectIndex.from_key_dir(hub_env.keys), partition=0)
    assert seal_if_grown(log, hub_env) is None  # nothing to seal
    with ExchangeRecorder(log).exchange("outbound", "land", "FindParcels") as ex:
        ex.request(b"<q/>")
    assert seal_if_grown(log, hub_env) == 1
    assert seal_if_grown(log, hub_env) is None  # unchanged since checkpoint 1
